import Media

/// The simulated camera's picture: a scrolling gradient with a moving bright square, and
/// the frame number painted as large black/white blocks that survive lossy coding, so a
/// receiver can check order, loss and freshness of what it decodes.
///
/// The code is two rows of 16 blocks in the top-left corner: row 0 holds bits 0–15 of the
/// frame number, row 1 bits 16–23 and an 8-bit check (``checkByte(_:)``), least
/// significant bit first; white is 1. Rendering copies precomputed rows (memcpy/memset),
/// so it keeps up at 720p30 even in a debug build.
public final class TestPattern {
    public let width: Int
    public let height: Int
    /// Edge of one code block in pixels.
    public let blockSize: Int
    private let picture: UnsafeMutablePointer<UInt8>
    /// The luma background, twice as wide as the picture, scrolled by offset.
    private let background: UnsafeMutablePointer<UInt8>

    public static let bitsPerRow = 16

    public init(width: Int, height: Int) {
        precondition(width >= 64 && height >= 48 && width % 2 == 0 && height % 2 == 0, "test pattern too small")
        self.width = width
        self.height = height
        blockSize = max(4, min(height / 15, (width - 8) / (Self.bitsPerRow + 2)))
        let size = VideoFrameLayout.packedSize(width: width, height: height)
        picture = .allocate(capacity: size)
        background = .allocate(capacity: 2 * width * height)
        for y in 0..<height {
            for x in 0..<(2 * width) {
                // Diagonal bands with a little texture, like a lit scene: edges and detail for
                // the encoder to work on, but no per-pixel noise a camera would not have.
                let band = (x + y) / 32 % 2 == 0 ? 40 : 0
                background[y * 2 * width + x] = UInt8(truncatingIfNeeded: 32 + (x * 160 / (2 * width)) + band + (x ^ y) % 3)
            }
        }
        let chroma = picture + width * height
        for y in 0..<(height / 2) {
            for x in 0..<(width / 2) {
                chroma[y * width / 2 + x] = UInt8(truncatingIfNeeded: 96 + x * 64 / (width / 2))                     // U
                chroma[width * height / 4 + y * width / 2 + x] = UInt8(truncatingIfNeeded: 160 - y * 64 / (height / 2))  // V
            }
        }
    }

    deinit {
        picture.deallocate()
        background.deallocate()
    }

    /// The check byte of row 1: detects a misread after lossy coding.
    public static func checkByte(_ number: Int) -> Int {
        (number ^ number >> 8 ^ number >> 16 ^ 0x5A) & 0xFF
    }

    /// Paints frame `number` and returns its picture (valid until the next call).
    public func render(frame number: Int) -> VideoFrameLayout {
        let shift = (number * 4) % width
        for y in 0..<height {
            (picture + y * width).update(from: background + y * 2 * width + shift, count: width)
        }
        // A bright square moving across the picture.
        let side = height / 6
        let left = (number * 6) % (width - side)
        let top = height / 2 + Int(Double(height / 4) * sin(Double(number) / 15))
        for y in max(0, top - side / 2)..<min(height, top + side / 2) {
            (picture + y * width + left).update(repeating: 235, count: side)
        }
        paintCode(number & 0xFF_FFFF)
        return VideoFrameLayout.packed(.i420, width: width, height: height, base: picture)
    }

    private func paintCode(_ number: Int) {
        let bits = [number & 0xFFFF, (number >> 16 & 0xFF) | Self.checkByte(number) << 8]
        let margin = blockSize / 2
        // A mid-grey frame around the code keeps the background from bleeding into the blocks.
        for y in 0..<(2 * blockSize + 2 * margin) {
            (picture + y * width).update(repeating: 128, count: (Self.bitsPerRow + 1) * blockSize)
        }
        for row in 0..<2 {
            for bit in 0..<Self.bitsPerRow {
                let value: UInt8 = bits[row] >> bit & 1 == 1 ? 235 : 16
                let x = margin + bit * blockSize
                for y in (margin + row * blockSize)..<(margin + (row + 1) * blockSize) {
                    (picture + y * width + x).update(repeating: value, count: blockSize)
                }
            }
        }
    }

    /// Reads the frame number back from a decoded luma plane of a picture of `width`x`height`;
    /// nil when the code is not there or fails its check.
    public static func readFrameNumber(luma: UnsafePointer<UInt8>, stride: Int, width: Int, height: Int) -> Int? {
        let blockSize = max(4, min(height / 15, (width - 8) / (bitsPerRow + 2)))
        let margin = blockSize / 2
        var rows = (0, 0)  // a tuple, not an array: the receive path reads this for every picture
        for row in 0..<2 {
            for bit in 0..<bitsPerRow {
                // Average the block's central quarter, away from edges blurred by coding.
                var sum = 0
                var count = 0
                let x0 = margin + bit * blockSize + blockSize / 4
                let y0 = margin + row * blockSize + blockSize / 4
                for y in y0..<(y0 + max(1, blockSize / 2)) {
                    for x in x0..<(x0 + max(1, blockSize / 2)) {
                        sum += Int(luma[y * stride + x])
                        count += 1
                    }
                }
                if sum / count > 128 {
                    if row == 0 { rows.0 |= 1 << bit } else { rows.1 |= 1 << bit }
                }
            }
        }
        let number = rows.0 | (rows.1 & 0xFF) << 16
        return rows.1 >> 8 == checkByte(number) ? number : nil
    }
}

#if canImport(Glibc)
import Glibc
#endif

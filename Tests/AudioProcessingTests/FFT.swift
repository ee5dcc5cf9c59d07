import Foundation

/// An in-place iterative radix-2 complex FFT, enough for the room's convolution and the
/// latency search; the sizes are powers of two.
struct FFT {
    let size: Int
    private let cosines: [Double]
    private let sines: [Double]

    init(size: Int) {
        precondition(size > 1 && size & (size - 1) == 0, "power of two")
        self.size = size
        cosines = (0..<size / 2).map { cos(-2 * Double.pi * Double($0) / Double(size)) }
        sines = (0..<size / 2).map { sin(-2 * Double.pi * Double($0) / Double(size)) }
    }

    /// Forward transform, or the inverse (scaled by 1/size) when `inverse`.
    func transform(real: inout [Double], imaginary: inout [Double], inverse: Bool = false) {
        let n = size
        let direction: Double = inverse ? -1 : 1
        real.withUnsafeMutableBufferPointer { re in
            imaginary.withUnsafeMutableBufferPointer { im in
                cosines.withUnsafeBufferPointer { cosines in
                    sines.withUnsafeBufferPointer { sines in
                        var j = 0
                        for i in 1..<n {
                            var bit = n >> 1
                            while j & bit != 0 { j ^= bit; bit >>= 1 }
                            j |= bit
                            if i < j { re.swapAt(i, j); im.swapAt(i, j) }
                        }
                        var length = 2
                        while length <= n {
                            let half = length / 2
                            let step = n / length
                            var start = 0
                            while start < n {
                                var k = 0
                                for index in start..<start + half {
                                    let wr = cosines[k], wi = direction * sines[k]
                                    let other = index + half
                                    let xr = re[other] * wr - im[other] * wi
                                    let xi = re[other] * wi + im[other] * wr
                                    re[other] = re[index] - xr
                                    im[other] = im[index] - xi
                                    re[index] += xr
                                    im[index] += xi
                                    k += step
                                }
                                start += length
                            }
                            length <<= 1
                        }
                        if inverse {
                            let scale = 1 / Double(n)
                            for i in 0..<n { re[i] *= scale; im[i] *= scale }
                        }
                    }
                }
            }
        }
    }

    static func size(atLeast count: Int) -> Int {
        var size = 1
        while size < count { size <<= 1 }
        return size
    }

    /// The full linear convolution of `a` and `b`, truncated to `count` samples.
    static func convolve(_ a: [Double], _ b: [Double], count: Int) -> [Double] {
        let fft = FFT(size: size(atLeast: a.count + b.count))
        var ar = a + [Double](repeating: 0, count: fft.size - a.count), ai = [Double](repeating: 0, count: fft.size)
        var br = b + [Double](repeating: 0, count: fft.size - b.count), bi = [Double](repeating: 0, count: fft.size)
        fft.transform(real: &ar, imaginary: &ai)
        fft.transform(real: &br, imaginary: &bi)
        for i in 0..<fft.size {
            let r = ar[i] * br[i] - ai[i] * bi[i]
            ai[i] = ar[i] * bi[i] + ai[i] * br[i]
            ar[i] = r
        }
        fft.transform(real: &ar, imaginary: &ai, inverse: true)
        return Array(ar[0..<count])
    }

    /// c[lag] = Σ x[n + lag]·y[n] for lag in 0...maximumLag.
    static func crossCorrelation(_ x: [Double], _ y: [Double], maximumLag: Int) -> [Double] {
        let fft = FFT(size: size(atLeast: max(x.count, y.count) + maximumLag + 1))
        var xr = x + [Double](repeating: 0, count: fft.size - x.count), xi = [Double](repeating: 0, count: fft.size)
        var yr = y + [Double](repeating: 0, count: fft.size - y.count), yi = [Double](repeating: 0, count: fft.size)
        fft.transform(real: &xr, imaginary: &xi)
        fft.transform(real: &yr, imaginary: &yi)
        for i in 0..<fft.size {  // X · conj(Y)
            let r = xr[i] * yr[i] + xi[i] * yi[i]
            xi[i] = xi[i] * yr[i] - xr[i] * yi[i]
            xr[i] = r
        }
        fft.transform(real: &xr, imaginary: &xi, inverse: true)
        return Array(xr[0...maximumLag])
    }
}

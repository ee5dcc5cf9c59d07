import Media
import Testing
import VideoScaling

/// The camera picture scaled down for a bridge that asks fewer lines: the size chosen, and
/// the picture really scaled (a bright left half stays the left half), in both formats.
@Suite struct VideoScalerTests {
    @Test func theSendSizeKeepsTheAspectAndNeverScalesUp() {
        #expect(VideoScaler.sendSize(width: 1280, height: 720, maxHeight: -1) == (1280, 720))
        #expect(VideoScaler.sendSize(width: 1280, height: 720, maxHeight: 1080) == (1280, 720))
        #expect(VideoScaler.sendSize(width: 1280, height: 720, maxHeight: 720) == (1280, 720))
        #expect(VideoScaler.sendSize(width: 1280, height: 720, maxHeight: 360) == (640, 360))
        #expect(VideoScaler.sendSize(width: 1280, height: 720, maxHeight: 180) == (320, 180))
        #expect(VideoScaler.sendSize(width: 640, height: 480, maxHeight: 181) == (240, 180), "even sides for 4:2:0")
    }

    @Test(arguments: [VideoFrameLayout.Format.i420, .nv12])
    func aPictureIsScaledInPlaceOfTheScalersBuffer(format: VideoFrameLayout.Format) throws {
        let (width, height) = (640, 360)
        let source = UnsafeMutablePointer<UInt8>.allocate(capacity: VideoFrameLayout.packedSize(width: width, height: height))
        defer { source.deallocate() }
        let picture = VideoFrameLayout.packed(format, width: width, height: height, base: source)
        for row in 0..<height {
            for column in 0..<width { picture.planes.0[row * picture.strides.0 + column] = column < width / 2 ? 235 : 16 }
        }
        (picture.planes.1).update(repeating: 128, count: width * height / 2)
        let scaler = VideoScaler(maxWidth: width, maxHeight: height)
        let scaled = try #require(scaler.scale(picture, width: 320, height: 180))
        #expect(scaled.width == 320 && scaled.height == 180 && scaled.format == format && scaled.strides.0 == 320)
        let luma = { (row: Int, column: Int) in Int(scaled.planes.0[row * scaled.strides.0 + column]) }
        #expect(luma(90, 10) == 235 && luma(90, 310) == 16, "the left half bright, the right dark: \(luma(90, 10)), \(luma(90, 310))")
        #expect(luma(0, 159) > 200 && luma(0, 160) < 50, "the edge stays in the middle")
        #expect(scaler.scale(picture, width: 1280, height: 720) == nil, "larger than the scaler holds")
        #expect(scaler.scale(picture, width: 321, height: 180) == nil, "odd sides")
    }
}

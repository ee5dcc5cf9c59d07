import Capture
import JitterBuffer
import Logging
import Media
import RTP
import Runtime
import Synchronization

/// What the video receive thread tells the rest of the box: atomics for the status line, and
/// per source (by kind and SSRC, never its owner's name) what was decoded — counts, sizes,
/// and the frame numbers a test pattern painted
/// into the pictures (the simulated participants paint them as the box's own test pattern
/// does). Counts and sizes only: no picture is kept.
///
/// The per-source records are touched only on the receive thread (`frameDecoded`,
/// `sourceEnded`); the atomics are read anywhere.
final class VideoReceiveMonitor: @unchecked Sendable {
    let decodedFrames = Atomic<Int>(0)
    let decodeErrors = Atomic<Int>(0)
    /// Sources with a receive chain now.
    let streams = Atomic<Int>(0)
    let packetsWithoutStream = Atomic<Int>(0)
    /// Sources with a picture decoded in the last second (updated about once a second).
    let seenSources = Atomic<Int>(0)

    /// One source's decoded pictures, as the receive thread saw them.
    struct SourceRecord {
        var frames = 0
        var keyframes = 0
        var width = 0
        var height = 0
        var sizeChanges = 0
        var firstPainted: Int?
        var lastPainted: Int?
        /// Pictures whose painted number was read (the others carry none, or it was misread).
        var paintedRead = 0
        /// Painted numbers skipped between consecutive decoded pictures, and pictures whose
        /// number was not above the one before (decoded out of order or twice).
        var paintedMissing = 0
        var outOfOrder = 0
        var firstDecoded: UInt64?
        var lastDecoded: UInt64?
        /// The longest time between two decoded pictures, from the source's second second on
        /// (the first holds the wait for its first key frame).
        var longestInterval: UInt64 = 0
    }

    private var records: [UInt32: SourceRecord] = [:]

    init() {
        records.reserveCapacity(VideoReceiver.maximumStreams)
    }

    /// Receive thread: one decoded picture of `stream`.
    func frameDecoded(stream: RemoteVideoStream, picture: VideoFrameLayout, frame: VP8Frame, logger: Logger) {
        decodedFrames.wrappingAdd(1, ordering: .relaxed)
        let now = Monotonic.nanoseconds()
        let painted = TestPattern.readFrameNumber(luma: picture.planes.0, stride: picture.strides.0, width: picture.width, height: picture.height)
        var record = records[stream.ssrc] ?? SourceRecord()
        record.frames += 1
        if frame.isKeyframe { record.keyframes += 1 }
        if let last = record.lastDecoded, let first = record.firstDecoded, now - first > 1_000_000_000 {
            record.longestInterval = max(record.longestInterval, now - last)
        }
        record.firstDecoded = record.firstDecoded ?? now
        record.lastDecoded = now
        if let painted {
            record.paintedRead += 1
            if let last = record.lastPainted {
                if painted > last { record.paintedMissing += painted - last - 1 } else { record.outOfOrder += 1 }
            }
            record.firstPainted = record.firstPainted ?? painted
            record.lastPainted = painted
        }
        if picture.width != record.width || picture.height != record.height {
            if record.width != 0 { record.sizeChanges += 1 }
            record.width = picture.width
            record.height = picture.height
            logger.info("video: \(stream.label) decoded at \(picture.width)x\(picture.height)",
                        metadata: ["event": "video.size", "ssrc": "\(stream.ssrc)", "width": "\(picture.width)",
                                   "height": "\(picture.height)", "painted": "\(painted.map { "\($0)" } ?? "-")"])
        }
        records[stream.ssrc] = record
    }

    /// Receive thread, about once a second: how many sources are seen now.
    func countSeen(now: UInt64) {
        var seen = 0
        for record in records.values where record.lastDecoded.map({ now - $0 < 1_000_000_000 }) == true { seen += 1 }
        seenSources.store(seen, ordering: .relaxed)
    }

    /// Receive thread: the source's chain ended; its record goes to the log.
    func sourceEnded(_ stream: RemoteVideoStream, logger: Logger) {
        let record = records.removeValue(forKey: stream.ssrc) ?? SourceRecord()
        let name = stream.label
        let painted = record.firstPainted.map { "painted \($0)…\(record.lastPainted ?? $0) (\(record.paintedMissing) skipped, \(record.outOfOrder) out of order)" } ?? "nothing painted read"
        logger.info("video from \(name): \(record.frames) frames decoded (\(record.keyframes) key frames) at \(record.width)x\(record.height), \(painted), longest pause \(record.longestInterval / 1_000_000) ms, \(stream.buffer.statistics.freezes) freezes",
                    metadata: ["event": "video.source", "ssrc": "\(stream.ssrc)", "frames": "\(record.frames)",
                               "keyframes": "\(record.keyframes)", "width": "\(record.width)", "height": "\(record.height)",
                               "size_changes": "\(record.sizeChanges)", "painted_first": "\(record.firstPainted ?? -1)",
                               "painted_last": "\(record.lastPainted ?? -1)", "painted_read": "\(record.paintedRead)",
                               "painted_missing": "\(record.paintedMissing)", "out_of_order": "\(record.outOfOrder)",
                               "longest_pause_ms": "\(record.longestInterval / 1_000_000)",
                               "freezes": "\(stream.buffer.statistics.freezes)", "decode_errors": "\(stream.decodeErrors)"])
    }
}

/// The call's receive counters over every source, for the summary at its end.
struct VideoReceiveTotals {
    var sources = 0
    var assembler = VP8FrameAssemblerStatistics()
    var buffer = VideoFrameBufferStatistics()
    var decodeErrors = 0

    mutating func add(_ stream: RemoteVideoStream) {
        sources += 1
        let a = stream.assembler.statistics, b = stream.buffer.statistics
        assembler.packets += a.packets
        assembler.duplicates += a.duplicates
        assembler.late += a.late
        assembler.malformed += a.malformed
        assembler.framesCompleted += a.framesCompleted
        assembler.framesDroppedIncomplete += a.framesDroppedIncomplete
        assembler.packetsWithoutSlot += a.packetsWithoutSlot
        assembler.streamRestarts += a.streamRestarts
        buffer.decoded += b.decoded
        buffer.dropped += b.dropped
        buffer.keyframeRequests += b.keyframeRequests
        buffer.freezes += b.freezes
        decodeErrors += stream.decodeErrors
    }

    var summary: String {
        "\(sources) sources, \(assembler.packets) packets into \(assembler.framesCompleted) frames, \(buffer.decoded) decoded, "
            + "\(buffer.dropped) dropped, \(assembler.framesDroppedIncomplete) incomplete, \(buffer.freezes) freezes, "
            + "\(buffer.keyframeRequests) key frame requests, \(decodeErrors) decode errors, \(assembler.late) late, "
            + "\(assembler.duplicates) duplicate, \(assembler.malformed) malformed packets"
    }

    var metadata: Logger.Metadata {
        ["event": "video.received", "sources": "\(sources)", "packets": "\(assembler.packets)", "decoded": "\(buffer.decoded)",
         "dropped": "\(buffer.dropped)", "incomplete": "\(assembler.framesDroppedIncomplete)", "freezes": "\(buffer.freezes)",
         "keyframe_requests": "\(buffer.keyframeRequests)", "decode_errors": "\(decodeErrors)", "late": "\(assembler.late)",
         "duplicates": "\(assembler.duplicates)", "malformed": "\(assembler.malformed)"]
    }
}

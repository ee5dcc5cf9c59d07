internal import CALSA

/// An ALSA PCM as alsa-lib's name hints describe it.
public struct PCMInfo: Sendable, Equatable {
    public enum Direction: String, Sendable, Equatable {
        case capture, playback, both
    }

    public var name: String
    public var description: String
    public var direction: Direction
}

/// Lists the PCMs alsa-lib knows (`snd_device_name_hint`), the names that go into
/// `audio.capture` / `audio.playback`. Nothing is opened.
public enum PCMProbe {
    public static func list() throws(CaptureError) -> [PCMInfo] {
        var hints: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        let result = snd_device_name_hint(-1, "pcm", &hints)
        guard result == 0, let hints else {
            throw .alsa("snd_device_name_hint", code: result, reason: String(cString: snd_strerror(result)))
        }
        defer { snd_device_name_free_hint(hints) }
        var pcms: [PCMInfo] = []
        var cursor = hints
        while let hint = cursor.pointee {
            defer { cursor += 1 }
            guard let name = hintValue(hint, "NAME") else { continue }
            let description = hintValue(hint, "DESC")?.split(separator: "\n").joined(separator: " / ") ?? ""
            let direction: PCMInfo.Direction
            switch hintValue(hint, "IOID") {
            case "Input": direction = .capture
            case "Output": direction = .playback
            default: direction = .both
            }
            pcms.append(PCMInfo(name: name, description: description, direction: direction))
        }
        return pcms
    }

    private static func hintValue(_ hint: UnsafeMutableRawPointer, _ id: String) -> String? {
        guard let value = snd_device_name_get_hint(hint, id) else { return nil }
        defer { free(value) }
        return String(cString: value)
    }
}

import Foundation

/// Speech for the synthetic room: espeak-ng writes a WAV, sox converts it to 48 kHz mono
/// int16. espeak is clean and robotic: fine for levels and alignment (research §7).
enum Speech {
    static let tools = ["/usr/bin/espeak-ng", "/usr/bin/sox"]
    static var available: Bool { tools.allSatisfy { FileManager.default.isExecutableFile(atPath: $0) } }

    static let farText = """
        Good morning everyone, and welcome back to the geography lesson. Today we look at rivers, \
        how they start as small streams high in the hills, and how they carry sand and stones down \
        to the sea. Please open your books at page forty two. Who can tell me the name of the longest \
        river in Europe? Take a moment to think about it, and then raise your hand. While you think, \
        look at the map on the board and follow the blue line from the mountains to the coast.
        """
    static let nearText = """
        I think it is the Volga, it flows into the Caspian Sea, and it is very long indeed.
        """

    /// Samples at 48 kHz as Double in [-1, 1).
    static func synthesize(_ text: String, voice: String, wordsPerMinute: Int) throws -> [Double] {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("classbox-aec-\(ProcessInfo.processInfo.processIdentifier)-\(voice)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let wav = directory.appendingPathComponent("speech.wav").path
        let raw = directory.appendingPathComponent("speech.raw").path
        try run(tools[0], ["-v", voice, "-s", "\(wordsPerMinute)", "-w", wav, text])
        try run(tools[1], [wav, "-t", "raw", "-r", "48000", "-e", "signed-integer", "-b", "16", "-c", "1", raw])
        let data = try Data(contentsOf: URL(fileURLWithPath: raw))
        return data.withUnsafeBytes { bytes in
            bytes.bindMemory(to: Int16.self).map { Double(Int16(littleEndian: $0)) / 32768 }
        }
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "\(tool) \(arguments) failed"])
        }
    }
}

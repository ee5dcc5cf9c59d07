// libFuzzer harness for the provisioning file: TOML parsing, schema decoding and every
// check, and the same bytes as a Jitsi token (JitsiToken reads a JWT's claims). Built by `make fuzz` together with Sources/Provisioning as one module, so it is
// not a SwiftPM target. A crash, trap or sanitizer report is a bug; errors are expected.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let token = JitsiToken(String(decoding: bytes, as: UTF8.self)) {
        precondition(token.expiresAt.map { $0 >= 0 } ?? true, "an expiry is a time after 1970")
    }
    switch ConfigLoader.check(bytes, file: "fuzz.toml", directory: "/nonexistent-classbox-fuzz") {
    case .valid(let config, _):
        // A valid result must not lose the room name it was given.
        precondition(!config.room.name.isEmpty)
    case .invalid(let diagnostics):
        precondition(!diagnostics.isEmpty, "an invalid file must say why")
        for diagnostic in diagnostics {
            precondition(diagnostic.line >= 1, "lines are 1-based")
            _ = diagnostic.description
        }
    case .unreadable:
        preconditionFailure("in-memory input cannot be unreadable")
    }
    return 0
}

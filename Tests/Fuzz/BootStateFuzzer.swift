// libFuzzer harness for the A/B boot state: `grub-editenv list` output and the kernel
// command line as they are read (Sources/Updater/BootState.swift, the one file, built by
// `make fuzz`). Input: the listing, a NUL, the command line. Whatever the block held, the
// marks RAUC sets must mean what they say afterwards.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBootState(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let split = bytes.firstIndex(of: 0) ?? bytes.endIndex
    let listing = String(decoding: bytes[..<split], as: UTF8.self)
    let commandLine = split < bytes.endIndex ? String(decoding: bytes[(split + 1)...], as: UTF8.self) : ""
    let variables = BootState.variables(listing: listing)
    for (key, _) in variables { precondition(!key.isEmpty && !key.contains("\n"), "a variable needs a name on one line") }
    var state = BootState(variables: variables)
    if let primary = state.primary { precondition(state.isGood(primary)) }
    _ = state.assignments
    let booted = BootState.bootedSlot(commandLine: commandLine)
    if let booted { precondition(!booted.contains(where: \.isWhitespace)) }
    for name in state.bootnames {
        state.mark(name, good: false)
        precondition(!state.isGood(name) && state.primary != name)
    }
    state.makePrimary("B")
    precondition(state.primary == "B" && state.order == ["B", "A"] && state.isGood("B") && !state.isGood("A"))
    let lost = BootState.afterLoss(booted: booted == "A" ? "A" : "B")
    precondition(lost.primary == (booted == "A" ? "A" : "B") && BootState.names(bootnames: lost.bootnames).allSatisfy { lost.variables[$0] != nil })
    return 0
}

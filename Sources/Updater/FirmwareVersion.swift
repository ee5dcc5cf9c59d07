/// A firmware version as bundles carry it: dot-separated numbers (`0.1.57`), optionally a
/// pre-release after `-` (which sorts before the release) and build metadata after `+`
/// (ignored when comparing, as in SemVer).
public struct FirmwareVersion: Comparable, Sendable, CustomStringConvertible {
    public let numbers: [Int]
    public let preRelease: String?
    public let description: String

    public init?(_ text: String) {
        let core = text.split(separator: "+", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let parts = core.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let numbers = parts[0].split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard !numbers.isEmpty, numbers.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
        self.numbers = numbers.map { $0! }
        preRelease = parts.count > 1 ? String(parts[1]) : nil
        description = text
    }

    public static func < (a: FirmwareVersion, b: FirmwareVersion) -> Bool {
        for index in 0..<max(a.numbers.count, b.numbers.count) {
            let x = index < a.numbers.count ? a.numbers[index] : 0
            let y = index < b.numbers.count ? b.numbers[index] : 0
            if x != y { return x < y }
        }
        switch (a.preRelease, b.preRelease) {
        case (nil, nil), (nil, _): return false
        case (_, nil): return true
        case (let x?, let y?): return x < y
        }
    }

    public static func == (a: FirmwareVersion, b: FirmwareVersion) -> Bool { !(a < b) && !(b < a) }
}

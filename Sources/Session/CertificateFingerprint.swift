/// A certificate fingerprint as signalled (RFC 8122 §5): hash name and digest.
public struct CertificateFingerprint: Sendable, Hashable, CustomStringConvertible {
    public var algorithm: String
    public var digest: [UInt8]

    public init(algorithm: String, digest: [UInt8]) {
        self.algorithm = algorithm.lowercased()
        self.digest = digest
    }

    /// Parses `sha-256 AB:CD:...` or (algorithm given separately) `AB:CD:...`.
    public init?(algorithm: String, hex: String) {
        let parts = hex.split(separator: ":")
        let bytes = parts.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
        guard !parts.isEmpty, bytes.count == parts.count else { return nil }
        self.init(algorithm: algorithm, digest: bytes)
    }

    /// The digest as upper-case hex pairs joined by colons.
    public var hex: String {
        digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined(separator: ":")
    }

    public var description: String { "\(algorithm) \(hex)" }
}

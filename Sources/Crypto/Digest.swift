internal import COpenSSL

/// Hashes and MACs the protocols need (STUN integrity, certificate fingerprints), on the
/// system's libcrypto. Not for per-media-packet use: each call allocates its result.
public enum Digest {
    /// HMAC-SHA1 (RFC 2104) of `data` under `key`: 20 bytes.
    public static func hmacSHA1(key: [UInt8], _ data: UnsafeRawBufferPointer) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 0
        _ = HMAC(EVP_sha1(), key, Int32(key.count), data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count, &output, &length)
        return output
    }

    /// MD5, where a protocol still names it: TURN's long-term credential key (RFC 8489
    /// §9.2.2, MD5(username ":" realm ":" password)), never for anything secret on its own.
    public static func md5(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 16)
        var length: UInt32 = 0
        _ = EVP_Digest(data.baseAddress, data.count, &output, &length, EVP_md5(), nil)
        return output
    }

    /// SHA-1, where a protocol still names it (the WebSocket handshake, XEP-0115 caps).
    public static func sha1(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 20)
        _ = SHA1(data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count, &output)
        return output
    }

    public static func sha256(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        _ = SHA256(data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count, &output)
        return output
    }

    /// Constant-time comparison, for checking MACs.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return CRYPTO_memcmp(a, b, a.count) == 0
    }

    /// `count` bytes from the system's cryptographic random generator.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        precondition(RAND_bytes(&bytes, Int32(count)) == 1, "RAND_bytes failed")
        return bytes
    }
}

/// CRC-32 (ISO 3309, the polynomial of zlib and Ethernet), for STUN's FINGERPRINT.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    public static func checksum(_ data: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

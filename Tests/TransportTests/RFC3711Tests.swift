import COpenSSL
import Testing
@testable import Transport

/// SRTP AES-CM/HMAC-SHA1-80 recomputed from RFC 3711 with plain OpenSSL primitives, checked
/// against the RFC's own key-derivation vectors (App. B.3) and then against what the box's
/// SRTPSession (libsrtp2 on the OpenSSL backend) puts on the wire.
@Suite struct RFC3711Tests {
    static func hex(_ text: String) -> [UInt8] { SRTPCryptoBackend.hex(text) }

    /// AES-128 in counter mode: `count` bytes of keystream from a 16-byte initial counter.
    static func keystream(key: [UInt8], counter: [UInt8], count: Int) -> [UInt8] {
        let context = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(context) }
        EVP_EncryptInit_ex(context, EVP_aes_128_ctr(), nil, key, counter)
        var output = [UInt8](repeating: 0, count: count)
        var written: Int32 = 0
        EVP_EncryptUpdate(context, &output, &written, [UInt8](repeating: 0, count: count), Int32(count))
        return output
    }

    /// RFC 3711 §4.3.1 with key_derivation_rate 0: x = (label << 48) XOR salt, IV = x · 2^16.
    static func derive(label: UInt8, masterKey: [UInt8], masterSalt: [UInt8], count: Int) -> [UInt8] {
        var x = masterSalt
        x[7] ^= label
        return keystream(key: masterKey, counter: x + [0, 0], count: count)
    }

    static func hmacSHA1(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 0
        HMAC(EVP_sha1(), key, Int32(key.count), data, data.count, &digest, &length)
        return digest
    }

    @Test func keyDerivationMatchesAppendixB3() {
        let masterKey = Self.hex("E1F97A0D3E018BE0D64FA32C06DE4139")
        let masterSalt = Self.hex("0EC675AD498AFEEBB6960B3AABE6")
        #expect(Self.derive(label: 0, masterKey: masterKey, masterSalt: masterSalt, count: 16) == Self.hex("C61E7A93744F39EE10734AFE3FF7A087"))
        #expect(Self.derive(label: 2, masterKey: masterKey, masterSalt: masterSalt, count: 14) == Self.hex("30CBBC08863D8C85D49DB34A9AE1"))
        #expect(Self.derive(label: 1, masterKey: masterKey, masterSalt: masterSalt, count: 20) == Self.hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"))
    }

    @Test func protectedPacketsMatchAnIndependentComputation() throws {
        let masterKey = Self.hex("E1F97A0D3E018BE0D64FA32C06DE4139"), masterSalt = Self.hex("0EC675AD498AFEEBB6960B3AABE6")
        let sessionKey = Self.derive(label: 0, masterKey: masterKey, masterSalt: masterSalt, count: 16)
        let sessionSalt = Self.derive(label: 2, masterKey: masterKey, masterSalt: masterSalt, count: 14)
        let authKey = Self.derive(label: 1, masterKey: masterKey, masterSalt: masterSalt, count: 20)
        let session = try SRTPSession(profile: .aes128CmHmacSha1_80, masterKey: masterKey + masterSalt, direction: .outbound)
        let ssrc: [UInt8] = [0xDE, 0xCA, 0xFB, 0xAD]
        for sequence in [UInt16(1), 2, 500] {
            let header: [UInt8] = [0x80, 0x60, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0x30, 0x39] + ssrc
            let payload = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7 + Int(sequence)) }
            // §4.1.1: IV = (salt · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16), index = ROC · 2^16 + SEQ (ROC 0).
            var iv = sessionSalt + [0, 0]
            for (offset, byte) in ssrc.enumerated() { iv[4 + offset] ^= byte }
            iv[12] ^= UInt8(sequence >> 8)
            iv[13] ^= UInt8(sequence & 0xFF)
            let encrypted = zip(payload, Self.keystream(key: sessionKey, counter: iv, count: payload.count)).map { $0 ^ $1 }
            // §4.2: the tag authenticates the packet followed by the 32-bit ROC, truncated to 80 bits.
            let tag = Array(Self.hmacSHA1(key: authKey, data: header + encrypted + [0, 0, 0, 0]).prefix(10))

            var buffer = header + payload + [UInt8](repeating: 0, count: 16)
            let length = try buffer.withUnsafeMutableBytes { try session.protect($0, length: header.count + payload.count) }
            #expect(Array(buffer[0..<length]) == header + encrypted + tag, "sequence \(sequence)")
        }
    }
}

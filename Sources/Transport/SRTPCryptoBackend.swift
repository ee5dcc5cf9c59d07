internal import COpenSSL
internal import CSRTP

/// Puts OpenSSL under libsrtp2's AES-CM, AES-GCM and HMAC-SHA1.
///
/// Debian builds libsrtp2 on NSS, whose AES-CM creates a new crypto context for every
/// packet (about 14 heap allocations each): the send path could never be allocation-free.
/// libsrtp keeps doing SRTP itself (key derivation, packet index, replay window, tag
/// placement); through its documented extension point `srtp_replace_cipher_type` /
/// `srtp_replace_auth_type` only the primitives change, to OpenSSL contexts that are set
/// up once per stream and re-keyed per packet with nothing allocated. libsrtp self-tests
/// each replacement with the test vectors below (RFC 3711 App. B.2, the GCM specification's
/// test case 4, RFC 2202) before it is used; if one fails, libsrtp's own stays in place.
enum SRTPCryptoBackend {
    /// Installs the replacements once; returns whether all three took.
    static func install() -> Bool {
        srtp_replace_cipher_type(ICM.type, srtp_cipher_type_id_t(SRTP_AES_ICM_128)) == srtp_err_status_ok
            && srtp_replace_cipher_type(GCM.type, srtp_cipher_type_id_t(SRTP_AES_GCM_128)) == srtp_err_status_ok
            && srtp_replace_auth_type(HMACSHA1.type, srtp_auth_type_id_t(SRTP_HMAC_SHA1)) == srtp_err_status_ok
    }

    /// Memory that lives as long as the process: libsrtp keeps pointers to the type tables.
    static func permanent(_ bytes: [UInt8]) -> UnsafeMutablePointer<UInt8> {
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
        pointer.initialize(from: bytes, count: bytes.count)
        return pointer
    }

    static func permanent(_ text: String) -> UnsafePointer<CChar> {
        UnsafePointer(permanent(Array(text.utf8) + [0])).withMemoryRebound(to: CChar.self, capacity: text.utf8.count + 1) { $0 }
    }

    static func hex(_ text: String) -> [UInt8] {
        stride(from: 0, to: text.count, by: 2).map { offset in
            let start = text.index(text.startIndex, offsetBy: offset)
            return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)!
        }
    }
}

/// AES-128 in counter mode (RFC 3711 §4.1.1), also libsrtp's key-derivation PRF.
/// The counter is the 14-byte session salt, padded with two zero bytes, XOR the IV.
enum ICM {
    struct State {
        var context: OpaquePointer?
        var offset: (UInt64, UInt64) = (0, 0)
    }

    nonisolated(unsafe) static let type: UnsafeMutablePointer<srtp_cipher_type_t> = {
        // RFC 3711 App. B.2: session key, salt, and the keystream for index 0 (two blocks).
        let test = UnsafeMutablePointer<srtp_cipher_test_case_t>.allocate(capacity: 1)
        let keystream = SRTPCryptoBackend.hex("E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB")
        test.initialize(to: srtp_cipher_test_case_t(
            key_length_octets: 30,
            key: SRTPCryptoBackend.permanent(SRTPCryptoBackend.hex("2B7E151628AED2A6ABF7158809CF4F3CF0F1F2F3F4F5F6F7F8F9FAFBFCFD")),
            idx: SRTPCryptoBackend.permanent([UInt8](repeating: 0, count: 16)),
            plaintext_length_octets: 32, plaintext: SRTPCryptoBackend.permanent([UInt8](repeating: 0, count: 32)),
            ciphertext_length_octets: 32, ciphertext: SRTPCryptoBackend.permanent(keystream),
            aad_length_octets: 0, aad: nil, tag_length_octets: 0, next_test_case: nil))
        let type = UnsafeMutablePointer<srtp_cipher_type_t>.allocate(capacity: 1)
        type.initialize(to: srtp_cipher_type_t(
            alloc: { cipher, keyLength, _ in
                guard keyLength == 30, let cipher else { return srtp_err_status_bad_param }
                let state = UnsafeMutablePointer<State>.allocate(capacity: 1)
                state.initialize(to: State(context: EVP_CIPHER_CTX_new()))
                let allocated = UnsafeMutablePointer<srtp_cipher_t>.allocate(capacity: 1)
                allocated.initialize(to: srtp_cipher_t(type: ICM.type, state: state, key_len: keyLength, algorithm: Int32(SRTP_AES_ICM_128)))
                cipher.pointee = allocated
                return state.pointee.context == nil ? srtp_err_status_alloc_fail : srtp_err_status_ok
            },
            dealloc: { cipher in
                guard let cipher else { return srtp_err_status_bad_param }
                let state = cipher.pointee.state.assumingMemoryBound(to: State.self)
                EVP_CIPHER_CTX_free(state.pointee.context)
                state.pointee.offset = (0, 0)
                state.deallocate()
                cipher.deallocate()
                return srtp_err_status_ok
            },
            init: { raw, key in
                let state = raw!.assumingMemoryBound(to: State.self)
                withUnsafeMutableBytes(of: &state.pointee.offset) { offset in
                    offset.copyMemory(from: UnsafeRawBufferPointer(start: key! + 16, count: 14))
                    offset[14] = 0
                    offset[15] = 0
                }
                return EVP_EncryptInit_ex(state.pointee.context, EVP_aes_128_ctr(), nil, key, nil) == 1
                    ? srtp_err_status_ok : srtp_err_status_init_fail
            },
            set_aad: nil,
            encrypt: { raw, buffer, length in ICM.crypt(raw, buffer, length) },
            decrypt: { raw, buffer, length in ICM.crypt(raw, buffer, length) },
            set_iv: { raw, iv, _ in
                let state = raw!.assumingMemoryBound(to: State.self)
                var counter = state.pointee.offset
                withUnsafeMutableBytes(of: &counter) { bytes in
                    for index in 0..<16 { bytes[index] ^= iv![index] }
                }
                let result = withUnsafeBytes(of: &counter) {
                    EVP_EncryptInit_ex(state.pointee.context, nil, nil, nil, $0.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
                return result == 1 ? srtp_err_status_ok : srtp_err_status_init_fail
            },
            get_tag: nil,
            description: SRTPCryptoBackend.permanent("AES-128 counter mode (OpenSSL, via classbox)"),
            test_data: test,
            id: srtp_cipher_type_id_t(SRTP_AES_ICM_128)))
        return type
    }()

    static func crypt(_ raw: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UInt8>?,
                      _ length: UnsafeMutablePointer<UInt32>?) -> srtp_err_status_t {
        let state = raw!.assumingMemoryBound(to: State.self)
        var written: Int32 = 0
        return EVP_EncryptUpdate(state.pointee.context, buffer, &written, buffer, Int32(length!.pointee)) == 1
            ? srtp_err_status_ok : srtp_err_status_cipher_fail
    }
}

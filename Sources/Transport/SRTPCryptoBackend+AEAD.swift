internal import COpenSSL
internal import CSRTP

/// AES-128-GCM (RFC 7714). libsrtp computes the 12-byte IV from salt and packet index and
/// hands it over per packet; the key schedule is set up once, in `init`.
enum GCM {
    struct State {
        var context: OpaquePointer?
        var tagLength: Int32
    }

    nonisolated(unsafe) static let type: UnsafeMutablePointer<srtp_cipher_type_t> = {
        // The GCM specification's test case 4 (McGrew & Viega), as libsrtp also uses it; the
        // 12 bytes after the key are the SRTP salt, which the cipher itself does not use.
        let test = UnsafeMutablePointer<srtp_cipher_test_case_t>.allocate(capacity: 1)
        let plaintext = SRTPCryptoBackend.hex("D9313225F88406E5A55909C5AFF5269A86A7A9531534F7DA2E4C303D8A318A721C3C0C95956809532FCF0E2449A6B525B16AEDF5AA0DE657BA637B39")
        let ciphertextAndTag = SRTPCryptoBackend.hex("42831EC2217774244B7221B784D0D49CE3AA212F2C02A4E035C17E2329ACA12E21D514B25466931C7D8F6A5AAC84AA051BA30B396A0AAC973D58E091"
                                                     + "5BC94FBC3221A5DB94FAE95AE7121A47")
        let aad = SRTPCryptoBackend.hex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
        test.initialize(to: srtp_cipher_test_case_t(
            key_length_octets: 28,
            key: SRTPCryptoBackend.permanent(SRTPCryptoBackend.hex("FEFFE9928665731C6D6A8F9467308308") + Array(1...12)),
            idx: SRTPCryptoBackend.permanent(SRTPCryptoBackend.hex("CAFEBABEFACEDBADDECAF888")),
            plaintext_length_octets: UInt32(plaintext.count), plaintext: SRTPCryptoBackend.permanent(plaintext),
            ciphertext_length_octets: UInt32(ciphertextAndTag.count), ciphertext: SRTPCryptoBackend.permanent(ciphertextAndTag),
            aad_length_octets: Int32(aad.count), aad: SRTPCryptoBackend.permanent(aad), tag_length_octets: 16, next_test_case: nil))
        let type = UnsafeMutablePointer<srtp_cipher_type_t>.allocate(capacity: 1)
        type.initialize(to: srtp_cipher_type_t(
            alloc: { cipher, keyLength, tagLength in
                guard keyLength == 28, tagLength == 16 || tagLength == 8, let cipher else { return srtp_err_status_bad_param }
                let state = UnsafeMutablePointer<State>.allocate(capacity: 1)
                state.initialize(to: State(context: EVP_CIPHER_CTX_new(), tagLength: tagLength))
                let allocated = UnsafeMutablePointer<srtp_cipher_t>.allocate(capacity: 1)
                allocated.initialize(to: srtp_cipher_t(type: GCM.type, state: state, key_len: keyLength, algorithm: Int32(SRTP_AES_GCM_128)))
                cipher.pointee = allocated
                return state.pointee.context == nil ? srtp_err_status_alloc_fail : srtp_err_status_ok
            },
            dealloc: { cipher in
                guard let cipher else { return srtp_err_status_bad_param }
                let state = cipher.pointee.state.assumingMemoryBound(to: State.self)
                EVP_CIPHER_CTX_free(state.pointee.context)
                state.deallocate()
                cipher.deallocate()
                return srtp_err_status_ok
            },
            init: { raw, key in
                let state = raw!.assumingMemoryBound(to: State.self)
                return EVP_CipherInit_ex(state.pointee.context, EVP_aes_128_gcm(), nil, key, nil, 1) == 1
                    ? srtp_err_status_ok : srtp_err_status_init_fail
            },
            set_aad: { raw, aad, length in
                let state = raw!.assumingMemoryBound(to: State.self)
                var written: Int32 = 0
                return EVP_CipherUpdate(state.pointee.context, nil, &written, aad, Int32(length)) == 1
                    ? srtp_err_status_ok : srtp_err_status_algo_fail
            },
            encrypt: { raw, buffer, length in
                let state = raw!.assumingMemoryBound(to: State.self)
                var written: Int32 = 0
                return EVP_CipherUpdate(state.pointee.context, buffer, &written, buffer, Int32(length!.pointee)) == 1
                    ? srtp_err_status_ok : srtp_err_status_cipher_fail
            },
            decrypt: { raw, buffer, length in
                // The tag is the last `tagLength` bytes; only what precedes it is ciphertext.
                let state = raw!.assumingMemoryBound(to: State.self)
                let tagLength = state.pointee.tagLength
                guard Int32(length!.pointee) >= tagLength else { return srtp_err_status_bad_param }
                let dataLength = Int32(length!.pointee) - tagLength
                var written: Int32 = 0
                guard EVP_CIPHER_CTX_ctrl(state.pointee.context, EVP_CTRL_GCM_SET_TAG, tagLength, buffer! + Int(dataLength)) == 1,
                      EVP_CipherUpdate(state.pointee.context, buffer, &written, buffer, dataLength) == 1 else {
                    return srtp_err_status_cipher_fail
                }
                var final: (UInt64, UInt64) = (0, 0)
                let verified = withUnsafeMutableBytes(of: &final) {
                    EVP_CipherFinal_ex(state.pointee.context, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), &written)
                }
                guard verified == 1 else { return srtp_err_status_auth_fail }
                length!.pointee = UInt32(dataLength)
                return srtp_err_status_ok
            },
            set_iv: { raw, iv, direction in
                guard direction == srtp_direction_encrypt || direction == srtp_direction_decrypt else { return srtp_err_status_bad_param }
                let state = raw!.assumingMemoryBound(to: State.self)
                // Cipher and key stay; only the IV and the direction are set, which allocates nothing.
                return EVP_CipherInit_ex(state.pointee.context, nil, nil, nil, iv, direction == srtp_direction_encrypt ? 1 : 0) == 1
                    ? srtp_err_status_ok : srtp_err_status_init_fail
            },
            get_tag: { raw, tag, length in
                let state = raw!.assumingMemoryBound(to: State.self)
                var written: Int32 = 0
                var final: (UInt64, UInt64) = (0, 0)
                let finished = withUnsafeMutableBytes(of: &final) {
                    EVP_CipherFinal_ex(state.pointee.context, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), &written)
                }
                guard finished == 1,
                      EVP_CIPHER_CTX_ctrl(state.pointee.context, EVP_CTRL_GCM_GET_TAG, state.pointee.tagLength, tag) == 1 else {
                    return srtp_err_status_algo_fail
                }
                length!.pointee = UInt32(state.pointee.tagLength)
                return srtp_err_status_ok
            },
            description: SRTPCryptoBackend.permanent("AES-128 GCM (OpenSSL, via classbox)"),
            test_data: test,
            id: srtp_cipher_type_id_t(SRTP_AES_GCM_128)))
        return type
    }()
}

/// HMAC-SHA1 (RFC 2104). The SHA-1 states after absorbing K⊕ipad and K⊕opad are computed
/// once per key; each packet starts from a copy of them (a plain struct copy), so a tag costs
/// no key-pad hashing and no allocation.
enum HMACSHA1 {
    struct State {
        var innerStart = SHA_CTX()
        var outerStart = SHA_CTX()
        var running = SHA_CTX()
    }

    nonisolated(unsafe) static let type: UnsafeMutablePointer<srtp_auth_type_t> = {
        // RFC 2202 test case 1.
        let test = UnsafeMutablePointer<srtp_auth_test_case_t>.allocate(capacity: 1)
        test.initialize(to: srtp_auth_test_case_t(
            key_length_octets: 20, key: SRTPCryptoBackend.permanent([UInt8](repeating: 0x0B, count: 20)),
            data_length_octets: 8, data: SRTPCryptoBackend.permanent(Array("Hi There".utf8)),
            tag_length_octets: 20, tag: SRTPCryptoBackend.permanent(SRTPCryptoBackend.hex("B617318655057264E28BC0B6FB378C8EF146BE00")),
            next_test_case: nil))
        let type = UnsafeMutablePointer<srtp_auth_type_t>.allocate(capacity: 1)
        type.initialize(to: srtp_auth_type_t(
            alloc: { auth, keyLength, outputLength in
                guard let auth, keyLength <= 64, outputLength <= 20 else { return srtp_err_status_bad_param }
                let state = UnsafeMutablePointer<State>.allocate(capacity: 1)
                state.initialize(to: State())
                let allocated = UnsafeMutablePointer<srtp_auth_t>.allocate(capacity: 1)
                allocated.initialize(to: srtp_auth_t(type: HMACSHA1.type, state: state, out_len: outputLength, key_len: keyLength, prefix_len: 0))
                auth.pointee = allocated
                return srtp_err_status_ok
            },
            dealloc: { auth in
                guard let auth else { return srtp_err_status_bad_param }
                let state = auth.pointee.state.assumingMemoryBound(to: State.self)
                state.pointee = State()  // no key material left behind
                state.deallocate()
                auth.deallocate()
                return srtp_err_status_ok
            },
            init: { raw, key, keyLength in
                let state = raw!.assumingMemoryBound(to: State.self)
                var innerPad = [UInt8](repeating: 0x36, count: 64)
                var outerPad = [UInt8](repeating: 0x5C, count: 64)
                for index in 0..<Int(keyLength) {
                    innerPad[index] ^= key![index]
                    outerPad[index] ^= key![index]
                }
                defer {
                    for index in 0..<64 { innerPad[index] = 0; outerPad[index] = 0 }
                }
                let ok = cssl_sha1_init(&state.pointee.innerStart) == 1 && cssl_sha1_update(&state.pointee.innerStart, innerPad, 64) == 1
                    && cssl_sha1_init(&state.pointee.outerStart) == 1 && cssl_sha1_update(&state.pointee.outerStart, outerPad, 64) == 1
                return ok ? srtp_err_status_ok : srtp_err_status_init_fail
            },
            compute: { raw, data, length, tagLength, tag in
                let state = raw!.assumingMemoryBound(to: State.self)
                var digest: (UInt64, UInt64, UInt64) = (0, 0, 0)
                let ok = withUnsafeMutableBytes(of: &digest) { bytes -> Bool in
                    let out = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    guard cssl_sha1_update(&state.pointee.running, data, Int(length)) == 1,
                          cssl_sha1_final(out, &state.pointee.running) == 1 else { return false }
                    state.pointee.running = state.pointee.outerStart
                    return cssl_sha1_update(&state.pointee.running, out, 20) == 1 && cssl_sha1_final(out, &state.pointee.running) == 1
                }
                guard ok else { return srtp_err_status_auth_fail }
                withUnsafeBytes(of: &digest) { bytes in
                    for index in 0..<Int(min(tagLength, 20)) { tag![index] = bytes[index] }
                }
                return srtp_err_status_ok
            },
            update: { raw, data, length in
                let state = raw!.assumingMemoryBound(to: State.self)
                return cssl_sha1_update(&state.pointee.running, data, Int(length)) == 1 ? srtp_err_status_ok : srtp_err_status_auth_fail
            },
            start: { raw in
                let state = raw!.assumingMemoryBound(to: State.self)
                state.pointee.running = state.pointee.innerStart
                return srtp_err_status_ok
            },
            description: SRTPCryptoBackend.permanent("HMAC-SHA1 (OpenSSL, via classbox)"),
            test_data: test,
            id: srtp_auth_type_id_t(SRTP_HMAC_SHA1)))
        return type
    }()
}

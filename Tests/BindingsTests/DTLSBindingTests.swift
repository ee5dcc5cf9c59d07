import COpenSSL
import Testing

/// OpenSSL 3: a DTLS 1.2 handshake with use_srtp between two peers over memory BIOs,
/// the way the box will run it over its UDP socket.
@Suite struct DTLSBindingTests {
    /// A fresh ECDSA P-256 key and self-signed certificate, as the box makes at each boot.
    static func identity() throws -> (key: OpaquePointer, certificate: OpaquePointer) {
        let context = try #require(EVP_PKEY_CTX_new_from_name(nil, "EC", nil))
        defer { EVP_PKEY_CTX_free(context) }
        try #require(EVP_PKEY_keygen_init(context) == 1)
        try #require(EVP_PKEY_CTX_set_group_name(context, "P-256") == 1)
        var key: OpaquePointer?
        try #require(EVP_PKEY_generate(context, &key) == 1)
        let certificate = try #require(X509_new())
        X509_set_version(certificate, 2)
        ASN1_INTEGER_set(X509_get_serialNumber(certificate), Int(arc4random_uniform(1 << 30)))
        X509_gmtime_adj(X509_getm_notBefore(certificate), -3600)
        X509_gmtime_adj(X509_getm_notAfter(certificate), 86400)
        X509_set_pubkey(certificate, key)
        let name = X509_get_subject_name(certificate)
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, Array("classbox".utf8), -1, -1, 0)
        X509_set_issuer_name(certificate, name)
        try #require(X509_sign(certificate, key, EVP_sha256()) > 0)
        return (try #require(key), certificate)
    }

    static func fingerprint(_ certificate: OpaquePointer) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        X509_digest(certificate, EVP_sha256(), &digest, &length)
        return Array(digest[0..<Int(length)])
    }

    final class Peer {
        let context: OpaquePointer
        let ssl: OpaquePointer
        let incoming: OpaquePointer
        let outgoing: OpaquePointer
        let certificate: OpaquePointer
        let key: OpaquePointer

        init(client: Bool) throws {
            (key, certificate) = try DTLSBindingTests.identity()
            context = try #require(SSL_CTX_new(DTLS_method()))
            #expect(cssl_CTX_set_min_proto_version(context, DTLS1_2_VERSION) == 1)
            #expect(SSL_CTX_use_certificate(context, certificate) == 1)
            #expect(SSL_CTX_use_PrivateKey(context, key) == 1)
            // The peer's identity is its certificate fingerprint from signalling, checked after the handshake.
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) { _, _ in 1 }
            #expect(SSL_CTX_set_tlsext_use_srtp(context, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") == 0)
            ssl = try #require(SSL_new(context))
            incoming = try #require(BIO_new(BIO_s_mem()))
            outgoing = try #require(BIO_new(BIO_s_mem()))
            cssl_BIO_set_mem_eof_return(incoming, -1)
            SSL_set_bio(ssl, incoming, outgoing)
            SSL_set_options(ssl, CSSL_OP_NO_QUERY_MTU)
            cssl_set_mtu(ssl, 1200)
            if client { SSL_set_connect_state(ssl) } else { SSL_set_accept_state(ssl) }
        }

        deinit {
            SSL_free(ssl)  // frees both BIOs
            SSL_CTX_free(context)
            X509_free(certificate)
            EVP_PKEY_free(key)
        }

        func step() { _ = SSL_do_handshake(ssl) }

        /// Moves what this peer wrote to the other peer's input.
        func send(to other: Peer) -> Int {
            var buffer = [UInt8](repeating: 0, count: 16384)
            var moved = 0
            while true {
                let count = BIO_read(outgoing, &buffer, Int32(buffer.count))
                if count <= 0 { return moved }
                BIO_write(other.incoming, buffer, count)
                moved += Int(count)
            }
        }

        var finished: Bool { SSL_is_init_finished(ssl) == 1 }

        func exported() -> [UInt8] {
            var material = [UInt8](repeating: 0, count: 56)
            let label = "EXTRACTOR-dtls_srtp"
            #expect(SSL_export_keying_material(ssl, &material, material.count, label, label.utf8.count, nil, 0, 0) == 1)
            return material
        }
    }

    @Test func handshakeNegotiatesSRTPAndAgreesOnKeys() throws {
        let client = try Peer(client: true)
        let server = try Peer(client: false)
        var rounds = 0
        while !(client.finished && server.finished) && rounds < 10 {
            client.step()
            _ = client.send(to: server)
            server.step()
            _ = server.send(to: client)
            rounds += 1
        }
        #expect(client.finished && server.finished, "handshake did not finish in \(rounds) rounds")
        #expect(String(cString: SSL_get_version(client.ssl)) == "DTLSv1.2")
        let profile = try #require(SSL_get_selected_srtp_profile(client.ssl))
        #expect(String(cString: profile.pointee.name) == "SRTP_AEAD_AES_128_GCM")
        #expect(String(cString: try #require(SSL_get_selected_srtp_profile(server.ssl)).pointee.name) == "SRTP_AEAD_AES_128_GCM")
        // RFC 5764 §4.2: both sides derive the same SRTP keying material.
        #expect(client.exported() == server.exported())
        #expect(client.exported() != [UInt8](repeating: 0, count: 56))
        // Each side sees the other's certificate: what the signalled fingerprint is checked against.
        let peer = try #require(SSL_get1_peer_certificate(client.ssl))
        defer { X509_free(peer) }
        #expect(Self.fingerprint(peer) == Self.fingerprint(server.certificate))
        #expect(Self.fingerprint(peer).count == 32)
    }
}

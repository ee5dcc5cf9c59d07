#if canImport(Glibc)
import Glibc
#endif
internal import COpenSSL
import Session

/// DTLS 1.2 with the use_srtp extension (RFC 5764) over OpenSSL, driven through memory BIOs:
/// it does no I/O. Datagrams in, datagrams out; the caller owns the socket.
///
/// The peer's identity is its certificate fingerprint from the signalling: OpenSSL accepts
/// any certificate during the handshake, and the connection fails afterwards, before any
/// SRTP key leaves it, unless the certificate's digest equals the signalled one.
///
/// OpenSSL writes a whole flight into the memory BIO at once; ``drain()`` splits it at DTLS
/// record boundaries into datagrams no larger than the MTU (a BIO would otherwise lose the
/// boundaries, and one oversized datagram would be dropped on the way).
public final class DTLSConnection {
    public enum Role: Sendable, Equatable {
        /// Sends the ClientHello: SDP `setup:active`, what Jitsi's bridge expects of us.
        case client
        /// Waits for it: `setup:passive`.
        case server
    }

    /// What the handshake produced for SRTP (RFC 5764 §4.2).
    public struct Keys: Sendable, Equatable {
        /// OpenSSL's profile name, e.g. `SRTP_AEAD_AES_128_GCM`.
        public var profile: String
        /// Master key and salt for what we send, and for what we receive.
        public var localMasterKey: [UInt8]
        public var remoteMasterKey: [UInt8]
    }

    public enum State: Sendable, Equatable {
        case handshaking
        case connected(Keys)
        case failed(DTLSError)
    }

    public let role: Role
    public private(set) var state: State = .handshaking
    public let remoteFingerprint: CertificateFingerprint
    let mtu: Int
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    private let incoming: OpaquePointer
    private let outgoing: OpaquePointer
    /// Records read and not yet taken; a DTLS record holds at most 16 KiB.
    private var applicationData: [[UInt8]] = []
    private var readBuffer = [UInt8](repeating: 0, count: 16_384)

    /// The SRTP profiles offered, best first (Jitsi's bridge prefers GCM too).
    public static let profiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"

    public init(role: Role, certificate: DTLSCertificate, remoteFingerprint: CertificateFingerprint, mtu: Int = 1200) throws(DTLSError) {
        guard let context = SSL_CTX_new(DTLS_method()) else { throw .openSSL("SSL_CTX_new") }
        self.context = context
        self.role = role
        self.remoteFingerprint = remoteFingerprint
        self.mtu = mtu
        // Peers present self-signed certificates: accept at this layer, check the fingerprint after.
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) { _, _ in 1 }
        guard cssl_CTX_set_min_proto_version(context, DTLS1_2_VERSION) == 1,
              SSL_CTX_use_certificate(context, certificate.certificate) == 1,
              SSL_CTX_use_PrivateKey(context, certificate.key) == 1,
              SSL_CTX_set_tlsext_use_srtp(context, Self.profiles) == 0,
              SSL_CTX_set_cipher_list(context, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256") == 1,
              let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw .openSSL("DTLS context setup")
        }
        self.ssl = ssl
        incoming = BIO_new(BIO_s_mem())
        outgoing = BIO_new(BIO_s_mem())
        cssl_BIO_set_mem_eof_return(incoming, -1)
        SSL_set_bio(ssl, incoming, outgoing)
        SSL_set_options(ssl, CSSL_OP_NO_QUERY_MTU | CSSL_OP_NO_TICKET)
        cssl_set_mtu(ssl, mtu - 28)  // IP and UDP headers are not the DTLS layer's
        // Retransmit after 100 ms, doubling to 3.2 s (OpenSSL starts at 1 s, slow on a lossy Wi-Fi).
        DTLS_set_timer_cb(ssl) { _, previous in previous == 0 ? 100_000 : min(previous * 2, 3_200_000) }
        if role == .client { SSL_set_connect_state(ssl) } else { SSL_set_accept_state(ssl) }
    }

    deinit {
        SSL_free(ssl)  // frees both BIOs
        SSL_CTX_free(context)
    }

    /// The client's first flight (empty for a server).
    public func start() -> [[UInt8]] {
        guard role == .client else { return [] }
        return advance()
    }

    /// A DTLS datagram from the peer; returns what to send back. Application data it carried
    /// (SCTP packets of the data channel, RFC 8261) is kept for ``takeApplicationData()``.
    public func handle(datagram: [UInt8]) -> [[UInt8]] {
        datagram.withUnsafeBytes { _ = BIO_write(incoming, $0.baseAddress, Int32($0.count)) }
        guard case .handshaking = state else {
            if case .connected = state { readApplicationData() }
            return drain()
        }
        let replies = advance()
        // The peer's first application data may share a datagram with its last flight.
        if case .connected = state { readApplicationData() }
        return replies + drain()
    }

    /// The application data records received since the last call, oldest first.
    public func takeApplicationData() -> [[UInt8]] {
        defer { applicationData.removeAll(keepingCapacity: true) }
        return applicationData
    }

    /// One application data record (an SCTP packet) to the peer; returns the datagram(s) to
    /// send. Nothing before the handshake is done or after it failed.
    public func send(applicationData bytes: UnsafeRawBufferPointer) -> [[UInt8]] {
        guard case .connected = state, let base = bytes.baseAddress, !bytes.isEmpty else { return [] }
        guard SSL_write(ssl, base, Int32(bytes.count)) > 0 else { return [] }
        return drain()
    }

    /// Retransmits the last flight if its timer ran out (OpenSSL keeps that timer).
    public func handleTimeout() -> [[UInt8]] {
        guard case .handshaking = state else { return [] }
        if cssl_DTLSv1_handle_timeout(ssl) < 0 {
            state = .failed(.handshakeFailed("retransmissions exhausted"))
            return []
        }
        return drain()
    }

    /// Time until ``handleTimeout()`` should run, in nanoseconds; nil when no timer runs.
    public var timeoutRemaining: UInt64? {
        guard case .handshaking = state else { return nil }
        var remaining = timeval()
        guard cssl_DTLSv1_get_timeout(ssl, &remaining) == 1 else { return nil }
        return UInt64(remaining.tv_sec) * 1_000_000_000 + UInt64(remaining.tv_usec) * 1000
    }

    /// A close_notify alert, to tell the peer we are leaving.
    public func close() -> [[UInt8]] {
        SSL_shutdown(ssl)
        return drain()
    }

    private func advance() -> [[UInt8]] {
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            finishHandshake()
        } else {
            let error = SSL_get_error(ssl, result)
            if error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE {
                state = .failed(.handshakeFailed(Self.errorQueue()))
            }
        }
        return drain()
    }

    /// Checks the fingerprint, then exports the SRTP keys.
    private func finishHandshake() {
        guard let peer = SSL_get1_peer_certificate(ssl) else {
            state = .failed(.handshakeFailed("the peer sent no certificate"))
            return
        }
        defer { X509_free(peer) }
        let digest = DTLSCertificate.digest(peer, algorithm: remoteFingerprint.algorithm) ?? []
        guard !digest.isEmpty, digest == remoteFingerprint.digest else {
            state = .failed(.fingerprintMismatch(expected: remoteFingerprint.hex,
                                                 got: CertificateFingerprint(algorithm: remoteFingerprint.algorithm, digest: digest).hex))
            return
        }
        guard let profile = SSL_get_selected_srtp_profile(ssl) else {
            state = .failed(.noSRTPProfile)
            return
        }
        let name = String(cString: profile.pointee.name)
        let (keyLength, saltLength) = name == "SRTP_AEAD_AES_128_GCM" ? (16, 12) : (16, 14)
        var material = [UInt8](repeating: 0, count: 2 * (keyLength + saltLength))
        let label = "EXTRACTOR-dtls_srtp"
        guard SSL_export_keying_material(ssl, &material, material.count, label, label.utf8.count, nil, 0, 0) == 1 else {
            state = .failed(.openSSL("SSL_export_keying_material"))
            return
        }
        // RFC 5764 §4.2: client key, server key, client salt, server salt.
        let clientKey = Array(material[0..<keyLength]), serverKey = Array(material[keyLength..<(2 * keyLength)])
        let clientSalt = Array(material[(2 * keyLength)..<(2 * keyLength + saltLength)])
        let serverSalt = Array(material[(2 * keyLength + saltLength)...])
        let client = clientKey + clientSalt, server = serverKey + serverSalt
        state = .connected(Keys(profile: name, localMasterKey: role == .client ? client : server,
                                remoteMasterKey: role == .client ? server : client))
        for index in material.indices { material[index] = 0 }
    }

    private func readApplicationData() {
        while true {
            let count = SSL_read(ssl, &readBuffer, Int32(readBuffer.count))
            if count > 0 {
                applicationData.append(Array(readBuffer[0..<Int(count)]))
                continue
            }
            if SSL_get_error(ssl, count) == SSL_ERROR_ZERO_RETURN { state = .failed(.closed) }
            return
        }
    }

    /// What OpenSSL wrote, as datagrams of whole records, each at most `mtu` bytes.
    func drain() -> [[UInt8]] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = BIO_read(outgoing, &chunk, Int32(chunk.count))
            if count <= 0 { break }
            bytes += chunk[0..<Int(count)]
        }
        return Self.packRecords(bytes, limit: mtu - 28)
    }

    /// Splits concatenated DTLS records (13-byte header, length at offset 11) and packs
    /// whole records into datagrams of at most `limit` bytes.
    static func packRecords(_ bytes: [UInt8], limit: Int) -> [[UInt8]] {
        var datagrams: [[UInt8]] = []
        var current: [UInt8] = []
        var offset = 0
        while offset + 13 <= bytes.count {
            let length = Int(bytes[offset + 11]) << 8 | Int(bytes[offset + 12])
            let end = min(bytes.count, offset + 13 + length)
            let record = bytes[offset..<end]
            if !current.isEmpty && current.count + record.count > limit {
                datagrams.append(current)
                current = []
            }
            current += record
            offset = end
        }
        if !current.isEmpty { datagrams.append(current) }
        return datagrams
    }

    static func errorQueue() -> String {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons.isEmpty ? "handshake error" : reasons.joined(separator: "; ")
    }
}

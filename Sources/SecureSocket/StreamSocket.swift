#if canImport(Glibc)
import Glibc
#endif
internal import COpenSSL

/// Why a connection could not be made or broke, in words for the status line.
public struct StreamSocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What a person must look at: the network (or the server being down), or trust (the
    /// server's certificate, or the CA bundle that should vouch for it).
    public enum Kind: Sendable, Equatable {
        case network, trust
    }

    public var description: String
    public var kind: Kind
    public init(_ description: String, kind: Kind = .network) {
        self.description = description
        self.kind = kind
    }
}

/// How to check the server of a TLS connection. There is no way to turn checking off.
public struct TLSVerification: Sendable, Equatable {
    /// A PEM file of trusted CAs (the district's own CA); nil means the system trust store.
    public var caBundle: String?
    /// Checks chain and name but not the certificates' validity period: only for asking the
    /// district's server for the time while the box's own clock cannot be trusted yet (a
    /// clock at its floor would find every certificate "not yet valid").
    public var ignoresValidityPeriod: Bool
    public init(caBundle: String? = nil, ignoresValidityPeriod: Bool = false) {
        (self.caBundle, self.ignoresValidityPeriod) = (caBundle, ignoresValidityPeriod)
    }
}

/// A TCP connection to one server, optionally with TLS (OpenSSL, the library the box
/// already uses for DTLS): TLS 1.2 or newer, the certificate chain checked against the
/// district's CA bundle or the system store, and the certificate's name against the host
/// we dialled (SNI and RFC 6125 matching by OpenSSL). Non-blocking underneath; one thread
/// owns it (an OpenSSL connection must not be read and written from two threads at once).
public final class StreamSocket: @unchecked Sendable {
    public let fd: Int32
    let ssl: OpaquePointer?
    let context: OpaquePointer?
    private var closed = false

    /// Connects to `host:port` within `timeout` nanoseconds, trying each resolved address.
    public init(host: String, port: Int, tls: TLSVerification?, timeout: UInt64 = 10_000_000_000) throws(StreamSocketError) {
        signal(SIGPIPE, SIG_IGN)  // a peer that vanished must be an error, not the end of the process
        let deadline = Self.now() + timeout
        let fd = try Self.connect(host: host, port: port, deadline: deadline)
        self.fd = fd
        guard let tls else {
            ssl = nil
            context = nil
            return
        }
        do {
            (context, ssl) = try Self.handshake(fd: fd, host: host, verification: tls, deadline: deadline)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    deinit { close() }

    public var isSecure: Bool { ssl != nil }

    /// Bytes OpenSSL has decrypted but not handed out yet: read them before polling again.
    public var hasBufferedData: Bool { ssl.map { SSL_pending($0) > 0 } ?? false }

    public enum ReadResult: Equatable {
        case bytes(Int)
        case wouldBlock
        case endOfStream
    }

    /// Reads what is available without blocking.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(StreamSocketError) -> ReadResult {
        guard !closed else { return .endOfStream }
        if let ssl {
            ERR_clear_error()
            let count = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
            if count > 0 { return .bytes(Int(count)) }
            switch SSL_get_error(ssl, count) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wouldBlock
            case SSL_ERROR_ZERO_RETURN: return .endOfStream
            case SSL_ERROR_SYSCALL where errno == 0 || errno == ECONNRESET: return .endOfStream
            case SSL_ERROR_SSL where Self.isUnexpectedEOF(): return .endOfStream
            default: throw StreamSocketError("TLS read failed: \(Self.openSSLError())")
            }
        }
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count > 0 { return .bytes(count) }
            if count == 0 { return .endOfStream }
            switch errno {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            case ECONNRESET: return .endOfStream
            default: throw StreamSocketError("read: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Writes all of `bytes`, waiting for the socket at most `timeout` nanoseconds.
    public func write(_ bytes: [UInt8], timeout: UInt64 = 10_000_000_000) throws(StreamSocketError) {
        guard !closed else { throw StreamSocketError("write on a closed connection") }
        let deadline = Self.now() + timeout
        var offset = 0
        while offset < bytes.count {
            var wait: Int16 = Int16(POLLOUT)
            let written: Int = bytes.withUnsafeBytes { buffer in
                let start = buffer.baseAddress! + offset
                if let ssl {
                    ERR_clear_error()
                    let count = SSL_write(ssl, start, Int32(bytes.count - offset))
                    if count > 0 { return Int(count) }
                    switch SSL_get_error(ssl, count) {
                    case SSL_ERROR_WANT_READ: wait = Int16(POLLIN); return 0
                    case SSL_ERROR_WANT_WRITE: return 0
                    default: return -1
                    }
                }
                let count = Glibc.write(fd, start, bytes.count - offset)
                if count >= 0 { return count }
                return errno == EAGAIN || errno == EINTR ? 0 : -1
            }
            if written < 0 { throw StreamSocketError("the connection broke while writing: \(ssl != nil ? Self.openSSLError() : String(cString: strerror(errno)))") }
            offset += written
            if offset < bytes.count && written == 0 { try Self.wait(fd: fd, events: wait, deadline: deadline, what: "writing") }
        }
    }

    /// Writes what the socket takes now, without waiting: the count written (0: it would
    /// block; the caller keeps the rest and tries again when poll says POLLOUT).
    public func writeSome(_ bytes: UnsafeRawBufferPointer) throws(StreamSocketError) -> Int {
        guard !closed else { throw StreamSocketError("write on a closed connection") }
        guard !bytes.isEmpty else { return 0 }
        if let ssl {
            ERR_clear_error()
            let count = SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max))))
            if count > 0 { return Int(count) }
            switch SSL_get_error(ssl, count) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return 0
            default: throw StreamSocketError("the connection broke while writing: \(Self.openSSLError())")
            }
        }
        while true {
            let count = Glibc.write(fd, bytes.baseAddress, bytes.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            if errno == EAGAIN { return 0 }
            throw StreamSocketError("the connection broke while writing: \(String(cString: strerror(errno)))")
        }
    }

    /// Sends TLS close_notify (best effort) and closes the socket.
    public func close() {
        guard !closed else { return }
        closed = true
        if let ssl {
            SSL_shutdown(ssl)
            SSL_free(ssl)
        }
        if let context { SSL_CTX_free(context) }
        Glibc.close(fd)
    }

    // MARK: Connecting

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    static func wait(fd: Int32, events: Int16, deadline: UInt64, what: String) throws(StreamSocketError) {
        while true {
            let now = now()
            guard now < deadline else { throw StreamSocketError("timed out \(what)") }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let result = poll(&entry, 1, Int32(min((deadline - now) / 1_000_000 + 1, 60_000)))
            if result > 0 { return }
            if result < 0 && errno != EINTR { throw StreamSocketError("poll: \(String(cString: strerror(errno)))") }
        }
    }

    static func connect(host: String, port: Int, deadline: UInt64) throws(StreamSocketError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw StreamSocketError("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(first) }
        var lastError = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            cursor = entry.pointee.ai_next
            let fd = socket(entry.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, entry.pointee.ai_addr, entry.pointee.ai_addrlen) == 0 { return fd }
            if errno == EINPROGRESS {
                do {
                    try wait(fd: fd, events: Int16(POLLOUT), deadline: deadline, what: "connecting to \(host):\(port)")
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error == 0 { return fd }
                    lastError = String(cString: strerror(error))
                } catch {
                    lastError = error.description
                }
            } else {
                lastError = String(cString: strerror(errno))
            }
            Glibc.close(fd)
        }
        throw StreamSocketError("cannot connect to \(host):\(port): \(lastError)")
    }

    static func handshake(fd: Int32, host: String, verification: TLSVerification,
                          deadline: UInt64) throws(StreamSocketError) -> (OpaquePointer, OpaquePointer) {
        if let bundle = verification.caBundle {
            guard let file = fopen(bundle, "r") else { throw StreamSocketError("cannot read the CA bundle \(bundle): \(String(cString: strerror(errno)))", kind: .trust) }
            fclose(file)
        }
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw StreamSocketError("TLS: \(openSSLError())") }
        _ = cssl_CTX_set_min_proto_version(context, TLS1_2_VERSION)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        let loaded = verification.caBundle.map { SSL_CTX_load_verify_locations(context, $0, nil) } ?? SSL_CTX_set_default_verify_paths(context)
        guard loaded == 1 else {
            SSL_CTX_free(context)
            throw StreamSocketError("cannot load the CA bundle \(verification.caBundle ?? "of the system"): \(openSSLError())", kind: .trust)
        }
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw StreamSocketError("TLS: \(openSSLError())")
        }
        let isAddress = host.contains(":") || host.split(separator: ".").allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
        if isAddress {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            SSL_set1_host(ssl, host)
            _ = cssl_set_tlsext_host_name(ssl, host)
        }
        if verification.ignoresValidityPeriod {
            X509_VERIFY_PARAM_set_flags(SSL_get0_param(ssl), UInt(X509_V_FLAG_NO_CHECK_TIME))
        }
        SSL_set_fd(ssl, fd)
        while true {
            ERR_clear_error()
            let result = SSL_connect(ssl)
            if result == 1 {
                // Partial writes (a non-blocking writer keeps the rest and goes on later), from a
                // buffer that may have moved in between.
                _ = cssl_set_mode(ssl, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
                return (context, ssl)
            }
            let code = SSL_get_error(ssl, result)
            if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE {
                do {
                    try wait(fd: fd, events: Int16(code == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), deadline: deadline, what: "in the TLS handshake with \(host)")
                    continue
                } catch {
                    SSL_free(ssl)
                    SSL_CTX_free(context)
                    throw error
                }
            }
            let verify = SSL_get_verify_result(ssl)
            let reason = verify != X509_V_OK
                ? "the server's certificate is not trusted: \(String(cString: X509_verify_cert_error_string(verify)))"
                : openSSLError()
            SSL_free(ssl)
            SSL_CTX_free(context)
            throw StreamSocketError("TLS handshake with \(host) failed: \(reason)", kind: verify != X509_V_OK ? .trust : .network)
        }
    }

    static func openSSLError() -> String {
        var last: UInt = 0
        while case let code = ERR_get_error(), code != 0 { last = code }
        guard last != 0 else { return errno != 0 ? String(cString: strerror(errno)) : "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(last, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// OpenSSL 3 reports a peer that closed without close_notify as an error.
    static func isUnexpectedEOF() -> Bool {
        let code = ERR_peek_error()
        return ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING
    }
}

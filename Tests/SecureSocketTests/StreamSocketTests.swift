import ClassboxTestSupport
import Foundation
import Testing
@testable import SecureSocket

/// TLS against `openssl s_server`, a TLS server nobody here wrote: a certificate from the
/// configured CA is accepted, anything else is refused with a reason a person can act on.
@Suite(.serialized, .enabled(if: ExternalProcess.which("openssl") != nil, "needs the openssl tool (make deps installs it)"))
struct StreamSocketTests {
    /// `openssl s_server -www` on a free port, answering GET with a status page.
    final class TLSServer {
        let port: Int
        let process: SpawnedProcess

        init(certificates: TestCertificates) throws {
            port = Int(ExternalProcess.freeTCPPort())
            process = try SpawnedProcess(ExternalProcess.which("openssl")!, [
                "s_server", "-accept", "127.0.0.1:\(port)", "-cert", certificates.serverCertificate, "-key", certificates.serverKey, "-www", "-quiet",
            ], environment: ProcessInfo.processInfo.environment)
            try ExternalProcess.waitForTCP(port: port)
        }

        deinit {
            process.signal(SIGTERM)
            _ = process.wait(timeout: 5)
        }
    }

    func request(_ socket: StreamSocket) throws -> String {
        try socket.write(Array("GET / HTTP/1.0\r\n\r\n".utf8))
        var response: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { buffer.deallocate() }
        let deadline = Date().addingTimeInterval(10)
        reading: while Date() < deadline {
            switch try socket.read(into: buffer) {
            case .bytes(let count): response += buffer[0..<count]
            case .wouldBlock: usleep(10_000)
            case .endOfStream: break reading
            }
        }
        return String(decoding: response, as: UTF8.self)
    }

    @Test func aCertificateFromTheConfiguredCAIsAccepted() throws {
        let certificates = try TestCertificates(names: ["DNS:localhost", "IP:127.0.0.1"])
        let server = try TLSServer(certificates: certificates)
        for host in ["localhost", "127.0.0.1"] {
            let socket = try StreamSocket(host: host, port: server.port, tls: TLSVerification(caBundle: certificates.caCertificate))
            #expect(socket.isSecure)
            let page = try request(socket)
            #expect(page.hasPrefix("HTTP/1.0 200 ok"), "\(page.prefix(200))")
            #expect(page.contains("TLSv1.3") || page.contains("TLSv1.2"), "a modern protocol was negotiated")
        }
    }

    @Test func theSystemStoreDoesNotTrustAPrivateCA() throws {
        let certificates = try TestCertificates(names: ["DNS:localhost"])
        let server = try TLSServer(certificates: certificates)
        #expect(throws: StreamSocketError(
            "TLS handshake with localhost failed: the server's certificate is not trusted: unable to get local issuer certificate", kind: .trust)) {
            try StreamSocket(host: "localhost", port: server.port, tls: TLSVerification())
        }
    }

    @Test func aCertificateForAnotherNameIsRefused() throws {
        let certificates = try TestCertificates(names: ["DNS:meet.other-district.example"])
        let server = try TLSServer(certificates: certificates)
        for host in ["localhost", "127.0.0.1"] {
            #expect(throws: StreamSocketError(
                "TLS handshake with \(host) failed: the server's certificate is not trusted: \(host == "localhost" ? "hostname" : "IP address") mismatch",
                kind: .trust)) {
                try StreamSocket(host: host, port: server.port, tls: TLSVerification(caBundle: certificates.caCertificate))
            }
        }
    }

    @Test func connectionFailuresSayWhere() throws {
        let port = ExternalProcess.freeTCPPort()
        #expect(throws: StreamSocketError("cannot connect to 127.0.0.1:\(port): Connection refused")) {
            try StreamSocket(host: "127.0.0.1", port: Int(port), tls: nil)
        }
        #expect(throws: StreamSocketError.self) { try StreamSocket(host: "no-such-host.invalid", port: 443, tls: nil) }
        #expect(throws: StreamSocketError("cannot read the CA bundle /nonexistent/ca.pem: No such file or directory", kind: .trust)) {
            let certificates = try TestCertificates(names: ["DNS:localhost"])
            let server = try TLSServer(certificates: certificates)
            _ = try StreamSocket(host: "localhost", port: server.port, tls: TLSVerification(caBundle: "/nonexistent/ca.pem"))
        }
    }
}

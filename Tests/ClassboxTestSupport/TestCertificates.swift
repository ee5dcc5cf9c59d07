import Foundation

/// A throwaway CA and a server certificate signed by it, made with the openssl command
/// line tool (an implementation independent of our code) in a scratch directory.
public struct TestCertificates {
    public let directory: String
    public var caCertificate: String { directory + "/ca.pem" }
    public var serverCertificate: String { directory + "/server.pem" }
    public var serverKey: String { directory + "/server.key" }

    /// `names` become the subjectAltName of the server certificate, e.g. ["DNS:localhost", "IP:127.0.0.1"].
    public init(names: [String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("certs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let openssl = ExternalProcess.which("openssl") ?? "/usr/bin/openssl"
        try "subjectAltName=\(names.joined(separator: ","))\n".write(toFile: directory + "/san.ext", atomically: true, encoding: .utf8)
        for arguments in [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=Classbox Test CA",
             "-keyout", directory + "/ca.key", "-out", caCertificate],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=classbox test server",
             "-keyout", serverKey, "-out", directory + "/server.csr"],
            ["x509", "-req", "-in", directory + "/server.csr", "-CA", caCertificate, "-CAkey", directory + "/ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", directory + "/san.ext", "-out", serverCertificate],
        ] {
            let child = try SpawnedProcess(openssl, arguments, environment: ProcessInfo.processInfo.environment)
            guard child.wait(timeout: 30).status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: ["openssl": child.stderr]) }
        }
    }
}

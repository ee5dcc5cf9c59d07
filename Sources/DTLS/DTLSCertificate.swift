internal import COpenSSL
import Session

/// The box's DTLS identity: a fresh ECDSA P-256 key and self-signed certificate made at
/// each start and kept in memory only. Peers know it by its fingerprint, which travels in
/// the signalling (Jingle or SDP `a=fingerprint`).
public final class DTLSCertificate: @unchecked Sendable {
    let key: OpaquePointer
    let certificate: OpaquePointer
    /// SHA-256 fingerprint, as signalled: upper-case hex pairs joined by colons.
    public let fingerprint: CertificateFingerprint

    public init() throws(DTLSError) {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw .openSSL("EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(context) }
        var generated: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_group_name(context, "P-256") == 1,
              EVP_PKEY_generate(context, &generated) == 1, let key = generated else { throw .openSSL("P-256 key generation") }
        guard let certificate = X509_new() else {
            EVP_PKEY_free(key)
            throw .openSSL("X509_new")
        }
        var serial = [UInt8](repeating: 0, count: 8)
        RAND_bytes(&serial, 8)
        let bignum = BN_bin2bn(serial, 8, nil)
        BN_to_ASN1_INTEGER(bignum, X509_get_serialNumber(certificate))
        BN_free(bignum)
        X509_set_version(certificate, 2)
        X509_gmtime_adj(X509_getm_notBefore(certificate), -86400)
        X509_gmtime_adj(X509_getm_notAfter(certificate), 30 * 86400)
        X509_set_pubkey(certificate, key)
        let name = X509_get_subject_name(certificate)
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, Array("classbox".utf8), -1, -1, 0)
        X509_set_issuer_name(certificate, name)
        guard X509_sign(certificate, key, EVP_sha256()) > 0 else {
            X509_free(certificate)
            EVP_PKEY_free(key)
            throw .openSSL("X509_sign")
        }
        self.key = key
        self.certificate = certificate
        fingerprint = CertificateFingerprint(algorithm: "sha-256", digest: Self.digest(certificate, algorithm: "sha-256")!)
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(key)
    }

    /// The certificate's digest under a signalled hash name (`sha-1`, `sha-256`, `sha-384`, `sha-512`).
    static func digest(_ certificate: OpaquePointer, algorithm: String) -> [UInt8]? {
        let md: OpaquePointer?
        switch algorithm.lowercased() {
        case "sha-1": md = EVP_sha1()
        case "sha-256": md = EVP_sha256()
        case "sha-384": md = EVP_sha384()
        case "sha-512": md = EVP_sha512()
        default: return nil
        }
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(certificate, md, &output, &length) == 1 else { return nil }
        return Array(output[0..<Int(length)])
    }
}

public enum DTLSError: Error, Equatable, Sendable, CustomStringConvertible {
    case openSSL(String)
    case handshakeFailed(String)
    case fingerprintMismatch(expected: String, got: String)
    case noSRTPProfile
    case closed

    public var description: String {
        switch self {
        case .openSSL(let what): return "OpenSSL: \(what) failed"
        case .handshakeFailed(let reason): return "DTLS handshake failed: \(reason)"
        case .fingerprintMismatch(let expected, let got):
            return "the peer's certificate does not match the signalled fingerprint (expected \(expected), got \(got))"
        case .noSRTPProfile: return "the peer negotiated no SRTP protection profile"
        case .closed: return "the peer closed the DTLS session"
        }
    }
}

internal import CSRTP
import Synchronization

/// The SRTP protection profiles the box negotiates (RFC 5764 §4.1.2, RFC 7714 §14.2).
public enum SRTPProfile: Sendable, Equatable, CaseIterable {
    case aes128CmHmacSha1_80
    case aeadAes128Gcm

    public var keyLength: Int { 16 }
    public var saltLength: Int { self == .aeadAes128Gcm ? 12 : 14 }
    /// Bytes SRTP appends to an RTP packet (the authentication tag).
    public var rtpOverhead: Int { self == .aeadAes128Gcm ? 16 : 10 }
    /// Bytes SRTCP appends (tag plus the 4-byte SRTCP index).
    public var rtcpOverhead: Int { rtpOverhead + 4 }
    public var masterKeyLength: Int { keyLength + saltLength }
}

public enum SRTPError: Error, Equatable, CustomStringConvertible {
    case badKeyLength(expected: Int, got: Int)
    case library(String, status: Int32)
    /// The packet failed authentication: forged, corrupted or keyed differently.
    case authenticationFailed
    /// The packet was seen before (RFC 3711 §3.3.2 replay protection).
    case replayed
    case tooLarge

    public var description: String {
        switch self {
        case .badKeyLength(let expected, let got): return "SRTP master key+salt must be \(expected) bytes, not \(got)"
        case .library(let call, let status): return "\(call) failed with libsrtp status \(status)"
        case .authenticationFailed: return "SRTP authentication failed"
        case .replayed: return "SRTP replay"
        case .tooLarge: return "packet too large for its buffer"
        }
    }
}

/// One direction of SRTP/SRTCP over libsrtp2, protecting and unprotecting in place.
///
/// A session belongs to one thread (libsrtp creates per-SSRC state on first use); the box
/// gives each sending stream its own session with the same master key.
public final class SRTPSession {
    public enum Direction: Sendable { case outbound, inbound }

    public let profile: SRTPProfile
    private let session: srtp_t

    /// libsrtp must be initialised once per process; a second `srtp_init` reports
    /// `bad_param` (its debug module is already loaded), so the result is not an error in
    /// itself: a session that cannot be created says so below. The OpenSSL primitives
    /// (``SRTPCryptoBackend``) are put in right after.
    private static let initialized = Mutex<Bool?>(nil)

    /// True when libsrtp runs on OpenSSL's primitives (allocation-free per packet); false
    /// when it kept the ones it was built with.
    public static var usesOpenSSLPrimitives: Bool {
        initializeLibrary()
        return initialized.withLock { $0 ?? false }
    }

    private static func initializeLibrary() {
        initialized.withLock { state in
            guard state == nil else { return }
            _ = srtp_init()
            state = SRTPCryptoBackend.install()
        }
    }

    public init(profile: SRTPProfile, masterKey: [UInt8], direction: Direction) throws(SRTPError) {
        Self.initializeLibrary()
        guard masterKey.count == profile.masterKeyLength else {
            throw .badKeyLength(expected: profile.masterKeyLength, got: masterKey.count)
        }
        var policy = srtp_policy_t()
        switch profile {
        case .aes128CmHmacSha1_80:
            csrtp_policy_aes_cm_128_hmac_sha1_80(&policy.rtp)
            csrtp_policy_aes_cm_128_hmac_sha1_80(&policy.rtcp)
        case .aeadAes128Gcm:
            csrtp_policy_aes_gcm_128_16_auth(&policy.rtp)
            csrtp_policy_aes_gcm_128_16_auth(&policy.rtcp)
        }
        policy.ssrc.type = direction == .outbound ? ssrc_any_outbound : ssrc_any_inbound
        policy.window_size = 1024  // tolerate reordering on lossy school networks
        policy.allow_repeat_tx = 1  // a NACKed packet may be resent unchanged
        var created: srtp_t?
        var key = masterKey
        let status = key.withUnsafeMutableBufferPointer { buffer in
            policy.key = buffer.baseAddress
            return srtp_create(&created, &policy)
        }
        for index in key.indices { key[index] = 0 }
        guard status == srtp_err_status_ok, let created else { throw .library("srtp_create", status: Int32(bitPattern: status.rawValue)) }
        self.profile = profile
        session = created
    }

    deinit { srtp_dealloc(session) }

    /// Protects the RTP packet in `buffer[0..<length]` in place; the buffer must have
    /// `profile.rtpOverhead` spare bytes. Returns the SRTP length.
    public func protect(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        guard length + profile.rtpOverhead <= buffer.count else { throw .tooLarge }
        var size = Int32(length)
        let status = srtp_protect(session, buffer.baseAddress, &size)
        guard status == srtp_err_status_ok else { throw Self.error("srtp_protect", status) }
        return Int(size)
    }

    public func protectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        guard length + profile.rtcpOverhead <= buffer.count else { throw .tooLarge }
        var size = Int32(length)
        let status = srtp_protect_rtcp(session, buffer.baseAddress, &size)
        guard status == srtp_err_status_ok else { throw Self.error("srtp_protect_rtcp", status) }
        return Int(size)
    }

    /// Checks and decrypts an SRTP packet in place; returns the RTP length.
    public func unprotect(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        var size = Int32(length)
        let status = srtp_unprotect(session, buffer.baseAddress, &size)
        guard status == srtp_err_status_ok else { throw Self.error("srtp_unprotect", status) }
        return Int(size)
    }

    public func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        var size = Int32(length)
        let status = srtp_unprotect_rtcp(session, buffer.baseAddress, &size)
        guard status == srtp_err_status_ok else { throw Self.error("srtp_unprotect_rtcp", status) }
        return Int(size)
    }

    private static func error(_ call: String, _ status: srtp_err_status_t) -> SRTPError {
        switch status {
        case srtp_err_status_auth_fail: return .authenticationFailed
        case srtp_err_status_replay_fail, srtp_err_status_replay_old: return .replayed
        default: return .library(call, status: Int32(bitPattern: status.rawValue))
        }
    }
}

import CSRTP
import Testing

/// libsrtp2: protect and unprotect in place with both profiles the box negotiates.
@Suite(.serialized) struct SRTPBindingTests {
    /// Once per process; a second call (another suite got there first) reports bad_param,
    /// so success is judged by srtp_create below.
    static let initialized: Bool = {
        let status = srtp_init()
        return status == srtp_err_status_ok || status == srtp_err_status_bad_param
    }()

    func session(outbound: Bool, gcm: Bool, key: [UInt8]) throws -> srtp_t {
        var policy = srtp_policy_t()
        if gcm {
            csrtp_policy_aes_gcm_128_16_auth(&policy.rtp)
            csrtp_policy_aes_gcm_128_16_auth(&policy.rtcp)
        } else {
            csrtp_policy_aes_cm_128_hmac_sha1_80(&policy.rtp)
            csrtp_policy_aes_cm_128_hmac_sha1_80(&policy.rtcp)
        }
        policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound
        var session: srtp_t?
        let status = key.withUnsafeBufferPointer { keyBytes in
            policy.key = UnsafeMutablePointer(mutating: keyBytes.baseAddress)
            return srtp_create(&session, &policy)
        }
        try #require(status == srtp_err_status_ok)
        return try #require(session)
    }

    @Test(arguments: [false, true])
    func protectUnprotectTamperReplay(gcm: Bool) throws {
        try #require(Self.initialized)
        let key = (0..<(gcm ? 28 : 30)).map { UInt8($0 * 7 & 0xFF) }
        let sender = try session(outbound: true, gcm: gcm, key: key)
        let receiver = try session(outbound: false, gcm: gcm, key: key)
        defer { srtp_dealloc(sender); srtp_dealloc(receiver) }

        // RTP header: V=2, PT 96, seq 0x1234, timestamp, SSRC 0xCAFEBABE; then a payload.
        let rtp: [UInt8] = [0x80, 0x60, 0x12, 0x34, 0, 0, 0x03, 0xE8, 0xCA, 0xFE, 0xBA, 0xBE] + Array("classbox payload".utf8)
        var buffer = rtp + [UInt8](repeating: 0, count: Int(SRTP_MAX_TRAILER_LEN))
        var length = Int32(rtp.count)
        #expect(srtp_protect(sender, &buffer, &length) == srtp_err_status_ok)
        #expect(Int(length) == rtp.count + (gcm ? 16 : 10))
        #expect(Array(buffer[12..<rtp.count]) != Array(rtp[12...]), "the payload is encrypted")
        let wire = Array(buffer[0..<Int(length)])

        var tampered = wire
        tampered[14] ^= 0x01
        var tamperedLength = length
        #expect(srtp_unprotect(receiver, &tampered, &tamperedLength) == srtp_err_status_auth_fail)

        var received = wire
        var receivedLength = length
        #expect(srtp_unprotect(receiver, &received, &receivedLength) == srtp_err_status_ok)
        #expect(Array(received[0..<Int(receivedLength)]) == rtp)

        var replayed = wire
        var replayedLength = length
        #expect(srtp_unprotect(receiver, &replayed, &replayedLength) == srtp_err_status_replay_fail)
    }
}

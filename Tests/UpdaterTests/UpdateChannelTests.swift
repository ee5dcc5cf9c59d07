import Provisioning
import Testing
@testable import Updater

struct UpdateChannelTests {
    typealias Request = UpdateChannel.Request

    @Test func theAdminsCommandLineBecomesARequest() {
        #expect(Request.parse("") == .success(.install(allowDowngrade: false)))
        #expect(Request.parse("update") == .success(.install(allowDowngrade: false)))
        #expect(Request.parse("classbox update --allow-downgrade") == .success(.install(allowDowngrade: true)))
        #expect(Request.parse("status") == .success(.status))
        #expect(Request.parse("status --json") == .success(.statusJSON) && Request.parse(Request.statusJSON.line) == .success(.statusJSON))
        #expect(Request.parse("config") == .success(.config(rollback: false)) && Request.parse("config rollback") == .success(.config(rollback: true)))
        #expect(Request.parse(Request.config(rollback: true).line) == .success(.config(rollback: true)))
        for typed in ["rm -rf /", "update --force", "status now", "sh", "config /etc/passwd", "config rollback now"] {
            guard case .failure(let error) = Request.parse(typed) else {
                Issue.record("'\(typed)' was accepted")
                continue
            }
            #expect(error.description.contains("ssh update@<box>"), "the refusal shows how to use it")
        }
        #expect(Request.parse(Request.install(allowDowngrade: true).line) == .success(.install(allowDowngrade: true)))
    }

    @Test func everyKeyIsRestrictedToTheUpdateCommand() throws {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDv0cQmZ5tN0k2m3l4j5h6g7f8e9d0c1b2a3z4y5x6w7 it@district"
        let network = try #require(IPNetwork("10.20.0.0/16"))
        let text = AuthorizedKeys.render(.init(authorizedKeys: [key, key], allowFrom: [network]))
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0 == "restrict,command=\"/usr/bin/classbox update\",from=\"10.20.0.0/16\" \(key)" })
        #expect(AuthorizedKeys.render(.init(authorizedKeys: [], allowFrom: [])).isEmpty, "no keys: no SSH way in")
    }

    @Test func rauclogLinesAreLeftOutOfErrors() {
        let lines = ["rauc-Message: 02:49:37.246: Reading bundle: /data/update/incoming.raucb",
                     "rauc-Message: 02:49:37.253: Verifying bundle signature... ",
                     "signature verification failed: Verify error: self-signed certificate"]
        #expect(RAUC.essence(of: lines) == "signature verification failed: Verify error: self-signed certificate")
    }
}

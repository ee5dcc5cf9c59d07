import Foundation
import Testing
@testable import Provisioning

/// `login = "token"`: the JWT file, what the box reads of it (never its content in a message).
@Suite struct TokenLoginTests {
    /// A token shaped as Jitsi's: HS256 header, claims, a signature the box does not check.
    static func jwt(_ payload: String, header: String = #"{"alg":"HS256","typ":"JWT"}"#) -> String {
        func part(_ text: String) -> String {
            Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        return part(header) + "." + part(payload) + "." + part("signature-bytes-\(payload.count)")
    }

    @Test func theClaimsTheBoxNeedsAreRead() {
        let token = JitsiToken(Self.jwt(#"{"iss":"district","aud":"jitsi","room":"klasse-4b","exp":1797206400,"nbf":1765670400,"context":{"user":{}}}"#))
        #expect(token == JitsiToken(expiresAt: 1_797_206_400, notBefore: 1_765_670_400, room: "klasse-4b"))
        #expect(JitsiToken(Self.jwt(#"{"room":"*"}"#)) == JitsiToken(expiresAt: nil, notBefore: nil, room: "*"))
    }

    @Test func whatIsNotAJWTIsRefused() {
        for text in ["", "a.b", "a.b.c.d", Self.jwt("[1,2]"), Self.jwt("{}", header: "{}"), Self.jwt("{}") + "=", "e30.e30.", "e30+.e30.c2ln",
                     Self.jwt(#"{"exp":"tomorrow"}"#).replacingOccurrences(of: ".", with: "..")] {
            #expect(JitsiToken(text) == nil, "\(text)")
        }
        #expect(JitsiToken(Self.jwt(#"{"exp":"tomorrow"}"#))?.expiresAt == nil, "a claim of the wrong type is no expiry")
    }

    @Test func tokenLoginReadsItsFile() {
        var fixture = ConfigFixture()
        let token = Self.jwt(#"{"room":"klasse-4b","exp":1797206400}"#)
        fixture.writeSecret("district-token", token + "\n")
        fixture.add("server", "login = \"token\"")
        fixture.add("server", "token_file = \"district-token\"")
        let config = fixture.valid()
        #expect(config?.server.login == .token && config?.server.token?.reveal() == token)
        #expect(config?.server.tokenClaims?.expiresAt == 1_797_206_400)
        #expect(config.map { "\($0.server)" }?.contains(token) == false, "the token never prints")
    }

    @Test func aTokenLoginWithoutAGoodTokenNamesTheLineButNotTheContent() {
        var missing = ConfigFixture()
        missing.add("server", "login = \"token\"")
        missing.expectSingleError(line: missing.line(of: "[server]"), key: "server.token_file", message: "missing required key")

        var broken = ConfigFixture()
        broken.writeSecret("district-token", "not-a-token-but-a-secret\n")
        broken.add("server", "login = \"token\"")
        broken.add("server", "token_file = \"district-token\"")
        broken.expectSingleError(line: broken.line(of: "token_file"), key: "server.token_file", message: "does not hold a JWT")
        #expect(!broken.problems().contains { $0.description.contains("not-a-token-but-a-secret") })

        var open = ConfigFixture()
        open.writeSecret("district-token", Self.jwt("{}"), mode: 0o644)
        open.add("server", "login = \"token\"")
        open.add("server", "token_file = \"district-token\"")
        open.expectSingleError(line: open.line(of: "token_file"), key: "server.token_file", message: "accessible by group or others")

        var stray = ConfigFixture()
        stray.writeSecret("district-token", Self.jwt("{}"))
        stray.add("server", "token_file = \"district-token\"")
        stray.expectSingleError(line: stray.line(of: "token_file"), key: "server.token_file", message: "only used with login = \"token\"")
    }
}

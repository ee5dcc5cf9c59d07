import Testing
@testable import Provisioning

/// TOML 1.0 values and structure, each with the line it must be reported on.
@Suite struct TOMLParserTests {
    func parse(_ text: String) throws -> TOMLTable {
        let (document, errors) = TOMLParser.parse(text)
        #expect(errors.isEmpty, "unexpected errors: \(errors)")
        return document.root
    }

    func value(_ text: String, key: String = "v") throws -> TOMLNode.Value {
        let root = try parse(text)
        return try #require(root.entry(at: key.split(separator: ".").map(String.init))).node.value
    }

    @Test(arguments: [
        ("v = \"plain\"", "plain"),
        (#"v = "tab\there \"q\" back\\slash""#, "tab\there \"q\" back\\slash"),
        (#"v = "\u00e4\U0001F600 \b\f\r\n""#, "ä😀 \u{08}\u{0C}\r\n"),
        ("v = 'C:\\path\\no escapes'", "C:\\path\\no escapes"),
        ("v = \"Grüße 4b\"", "Grüße 4b"),
        ("v = \"\"\"\nfirst\nsecond\"\"\"", "first\nsecond"),
        ("v = \"\"\"one \\\n    two\"\"\"", "one two"),
        ("v = \"\"\"quote \"\" inside\"\"\"\"", "quote \"\" inside\""),
        ("v = '''\nraw \\n ''\n'''", "raw \\n ''\n"),
        ("v = \"\"", ""),
    ])
    func strings(text: String, expected: String) throws {
        #expect(try value(text) == .string(expected))
    }

    @Test(arguments: [
        ("v = 42", Int64(42)), ("v = +17", 17), ("v = -5", -5), ("v = 0", 0), ("v = 1_000_000", 1_000_000),
        ("v = 0xDEAD_beef", 0xDEAD_BEEF), ("v = 0o755", 0o755), ("v = 0b1101", 13),
        ("v = 9223372036854775807", Int64.max), ("v = -9223372036854775808", Int64.min),
    ])
    func integers(text: String, expected: Int64) throws {
        #expect(try value(text) == .integer(expected))
    }

    @Test(arguments: [
        ("v = 1.5", 1.5), ("v = -0.25", -0.25), ("v = 6.02e23", 6.02e23), ("v = 1E-3", 0.001),
        ("v = 1_000.5", 1000.5), ("v = inf", Double.infinity), ("v = -inf", -Double.infinity), ("v = 3e+2", 300),
    ])
    func floats(text: String, expected: Double) throws {
        #expect(try value(text) == .float(expected))
    }

    @Test func nanAndBooleans() throws {
        guard case .float(let nan) = try value("v = nan") else { Issue.record("nan is not a float"); return }
        #expect(nan.isNaN)
        #expect(try value("v = true") == .boolean(true))
        #expect(try value("v = false") == .boolean(false))
    }

    @Test func arraysOverSeveralLinesKeepEachElementsLine() throws {
        let root = try parse("""
            a = [
              "one",   # comment
              "two",

              [1, 2],
            ]
            """)
        let entry = try #require(root["a"])
        #expect(entry.keyLine == 1)
        guard case .array(let elements) = entry.node.value else { Issue.record("not an array"); return }
        #expect(elements.map(\.line) == [2, 3, 5])
        #expect(elements[0].value == .string("one"))
        #expect(elements[2].value == .array([TOMLNode(.integer(1), line: 5), TOMLNode(.integer(2), line: 5)]))
    }

    @Test func tablesDottedKeysAndInlineTables() throws {
        let root = try parse("""
            top = 1
            [server]
            host = "a"   # trailing comment
            "quoted key" = 2
            site.name = "x"
            [server.tls]
            verify = true
            [inline]
            point = { x = 1, y.z = 2 }
            """)
        #expect(root.keys == ["top", "server", "inline"])
        #expect(root.entry(at: ["server", "host"])?.node == TOMLNode(.string("a"), line: 3))
        #expect(root.entry(at: ["server", "quoted key"])?.keyLine == 4)
        #expect(root.entry(at: ["server", "site", "name"])?.node.line == 5)
        #expect(root.entry(at: ["server", "tls", "verify"])?.node.value == .boolean(true))
        #expect(root["server"]?.node.line == 2)
        #expect(root.entry(at: ["server", "tls"])?.node.line == 6)
        #expect(root.entry(at: ["inline", "point", "y", "z"])?.node.value == .integer(2))
    }

    @Test func arraysOfTables() throws {
        let root = try parse("""
            [[network.turn]]
            url = "a"
            [[network.turn]]
            url = "b"
            [network.turn.extra]
            x = 1
            """)
        guard case .array(let turns) = try #require(root.entry(at: ["network", "turn"])).node.value else {
            Issue.record("turn is not an array"); return
        }
        #expect(turns.map(\.line) == [1, 3])
        guard case .table(let second) = turns[1].value else { Issue.record("element is not a table"); return }
        #expect(second["url"]?.node == TOMLNode(.string("b"), line: 4))
        #expect(second.entry(at: ["extra", "x"])?.node.line == 6)
    }

    @Test func headerForImplicitParentIsAllowedOnce() throws {
        let root = try parse("[a.b]\nx = 1\n[a]\ny = 2\n")
        #expect(root.entry(at: ["a", "y"])?.node.line == 4)
        #expect(root.entry(at: ["a", "b", "x"])?.node.line == 2)
    }

    @Test func crlfLineEndingsAndByteOrderMark() throws {
        let root = try parse("\u{FEFF}a = 1\r\nb = \"x\"\r\n")
        #expect(root["b"]?.node == TOMLNode(.string("x"), line: 2))
    }

    /// Every syntax error: the line it must be reported on and what the message says.
    @Test(arguments: [
        ("a = \"open\nb = 1", 1, "unterminated string"),
        ("a = 'open", 1, "unterminated string"),
        ("x = 1\na = \"bad \\q escape\"", 2, "invalid escape"),
        ("a = \"\\uD800\"", 1, "invalid unicode escape"),
        ("a = \"\\u12\"", 1, "invalid unicode escape"),
        ("x = 1\n\na 1", 3, "missing '='"),
        ("a =", 1, "missing value"),
        ("a = # nothing", 1, "missing value"),
        ("a = 1\nb = 2\na = 3", 3, "duplicate key 'a' (first on line 1)"),
        ("[t]\nx = 1\n[t]", 3, "table [t] is defined twice (first on line 1)"),
        ("[t]\n[[t]]", 2, "already a table"),
        ("[[t]]\n[t]", 2, "already an array of tables"),
        ("a = 1\n[a.b]", 2, "'a' already holds a integer"),
        ("a.b = 1\n[a]", 2, "defined twice"),
        ("[a.b]\n[a]\nb.c = 1", 3, "dotted key 'b.c' extends 'b'"),
        ("a = 01", 1, "invalid value '01'"),
        ("a = 1__0", 1, "invalid value '1__0'"),
        ("a = _1", 1, "invalid value '_1'"),
        ("a = 1.", 1, "invalid value '1.'"),
        ("a = +0x10", 1, "invalid value '+0x10'"),
        ("a = 9223372036854775808", 1, "does not fit in 64 bits"),
        ("a = 1979-05-27", 1, "dates and times are not used"),
        ("a = 07:32:00", 1, "dates and times are not used"),
        ("label = Klasse", 1, "text must be quoted"),
        ("a = 1 2", 1, "unexpected '2' after the value"),
        ("a = [1, 2", 1, "unterminated array"),
        ("a = [1 2]", 1, "missing ',' or ']'"),
        ("a = { x = 1", 1, "missing ',' or '}'"),
        ("a = { x = 1,\n y = 2 }", 1, "unexpected end of line"),
        ("a = \"ctl\u{01}\"", 1, "control character"),
        ("# ctl \u{7F} in comment", 1, "control character"),
        ("a = 1\rb = 2", 1, "carriage return without line feed"),
        ("\n\na = \"\"\"never\nclosed", 3, "unterminated multi-line string"),
        ("\"\"\"k\"\"\" = 1", 1, "multi-line string"),
        ("x = 1\n[server", 2, "unterminated table header"),
        ("= 1", 1, "unexpected '='"),
        ("a = \"x\"\"\"\"\"\"\"", 1, "unexpected"),
    ])
    func syntaxErrors(text: String, line: Int, message: String) {
        let (_, errors) = TOMLParser.parse(text)
        let first = errors.first
        #expect(first?.line == line, "\(errors)")
        #expect(first?.message.contains(message) == true, "\(errors)")
    }

    @Test func invalidUTF8IsReportedOnItsLine() {
        let bytes = Array("a = 1\nb = \"".utf8) + [0xC3, 0x28] + Array("\"\n".utf8)
        let (_, errors) = TOMLParser.parse(bytes)
        #expect(errors == [TOMLSyntaxError(line: 2, message: "the file is not valid UTF-8", expected: "UTF-8 text")])
    }

    @Test func errorsInSeveralLinesAreAllReported() {
        let (document, errors) = TOMLParser.parse("a = \"x\nb = 2\nc = ?\nd = 4\n[t\ne = 5\n")
        #expect(errors.map(\.line) == [1, 3, 5])
        // What parsed cleanly is kept; keys under the broken header are not misfiled at the top.
        #expect(document.root.keys == ["b", "d"])
    }

    @Test func errorsNameTheKeyWithItsTable() {
        let (_, errors) = TOMLParser.parse("[camera]\nfps = 3o\n")
        #expect(errors.first?.key == "camera.fps")
    }

    @Test func theNumberOfReportedErrorsIsBounded() {
        let (_, errors) = TOMLParser.parse(String(repeating: "a b\n", count: 500))
        #expect(errors.count == TOMLParser.maximumErrors)
    }

    /// Every prefix of a valid file parses or fails cleanly, and never traps.
    @Test func everyTruncatedPrefixFailsCleanly() {
        let text = Array("""
            config_version = 1 # c
            [server]
            host = "meet.schule.example"
            s = '''multi
            line'''
            list = [ "a", 'b', 0x1F, 1.5e3, { k = true } ]
            [[network.turn]]
            url = "turn:t.schule.example"
            """.utf8)
        for length in 0...text.count {
            let (document, errors) = TOMLParser.parse(Array(text[0..<length]))
            #expect(errors.allSatisfy { $0.line >= 1 && $0.line <= 8 })
            _ = document
        }
    }
}

import Testing
@testable import JSON

struct JSONValueTests {
    @Test func jitsiDocumentsAreRead() throws {
        let sourceInfo = try #require(JSONValue(parsing: #"{"a1b2c3d4-a0":{"muted":false},"a1b2c3d4-v0":{"muted":true,"videoType":"camera"}}"#))
        #expect(sourceInfo["a1b2c3d4-v0"]?["videoType"]?.stringValue == "camera")
        #expect(sourceInfo["a1b2c3d4-a0"]?["muted"]?.boolValue == false)
        let sources = try #require(JSONValue(parsing: #" {"sources":{"a1b2c3d4":[[{"s":1122334455,"n":"a1b2c3d4-v0","m":"m t"}],[["f",1,2]],[]]}} "#))
        #expect(sources["sources"]?["a1b2c3d4"]?[0]?[0]?["s"]?.doubleValue == 1122334455)
        #expect(sources["sources"]?["a1b2c3d4"]?[1]?[0]?[0]?.stringValue == "f")
    }

    @Test func stringsNumbersAndEscapes() throws {
        #expect(JSONValue(parsing: #""a\"b\\c\/d\n\u00e9\ud83d\ude00""#) == .string("a\"b\\c/d\né😀"))
        #expect(JSONValue(parsing: "-0.5e2") == .number(-50))
        #expect(JSONValue(parsing: "[1,2.5,true,null]") == .array([.number(1), .number(2.5), .bool(true), .null]))
        let round = try #require(JSONValue(parsing: #"{"k":["x\n",1,{"n":null}]}"#))
        #expect(JSONValue(parsing: round.serialized) == round)
        #expect(JSONValue.object([("colibriClass", .string("ReceiverVideoConstraints")), ("lastN", .number(-1))]).serialized
                == #"{"colibriClass":"ReceiverVideoConstraints","lastN":-1}"#)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "tru", "\"\u{1}\"", "\"\\ud800\"", "{} x", "[\"a\",]", "--1", "1e"])
    func malformedTextIsRefused(text: String) {
        #expect(JSONValue(parsing: text) == nil)
    }

    @Test func nestingIsBounded() {
        #expect(JSONValue(parsing: String(repeating: "[", count: 40) + String(repeating: "]", count: 40)) == nil)
        #expect(JSONValue(parsing: String(repeating: "[", count: 30) + String(repeating: "]", count: 30)) != nil)
    }
}

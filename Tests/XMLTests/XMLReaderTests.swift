import Testing
@testable import XML

struct XMLReaderTests {
    let reader = XMLReader()

    @Test func namespacesAreResolvedWhateverThePrefix() throws {
        let features = try reader.parse("""
            <stream:features xmlns:stream='http://etherx.jabber.org/streams'>
              <mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>ANONYMOUS</mechanism><mechanism>PLAIN</mechanism></mechanisms>
              <stream:bind-like/>
            </stream:features>
            """)
        #expect(features.name == "features" && features.namespace == "http://etherx.jabber.org/streams")
        let mechanisms = try #require(features.element("mechanisms", namespace: "urn:ietf:params:xml:ns:xmpp-sasl"))
        #expect(mechanisms.elements("mechanism").map(\.text) == ["ANONYMOUS", "PLAIN"])
        #expect(mechanisms.elements.allSatisfy { $0.namespace == "urn:ietf:params:xml:ns:xmpp-sasl" }, "default namespace is inherited")
        #expect(features.element("bind-like")?.namespace == "http://etherx.jabber.org/streams")
        #expect(features.elements.count == 2, "layout whitespace between elements is dropped")
    }

    @Test func referencesCDATAAndAttributeNormalisation() throws {
        let element = try reader.parse("<body a=\"x&amp;y&#x41;&#66;&lt;\" b='tab\there'>1 &lt; 2 &amp;&amp; <![CDATA[<not-a-tag>&amp;]]> &#x1F600;</body>")
        #expect(element["a"] == "x&yAB<")
        #expect(element["b"] == "tab here")
        #expect(element.text == "1 < 2 && <not-a-tag>&amp; 😀")
    }

    @Test func theXMLDeclarationIsSkippedAndUTF8Kept() throws {
        let element = try reader.parse("<?xml version='1.0'?>\n<nick xmlns='http://jabber.org/protocol/nick'>Klasse 4b – Grünwald</nick>")
        #expect(element.text == "Klasse 4b – Grünwald")
    }

    @Test(arguments: [
        ("<a><!-- no --></a>", "comments are not allowed in XMPP"),
        ("<!DOCTYPE a [<!ENTITY x 'y'>]><a/>", "DTDs are not allowed in XMPP"),
        ("<a>&x;</a>", "entity &x; is not allowed in XMPP"),
        ("<a><?pi x?></a>", "processing instructions are not allowed in XMPP"),
        ("<a></b>", "</b> closes <a>"),
        ("<a b='1' b='2'/>", "attribute b appears twice"),
        ("<p:a/>", "undeclared namespace prefix in <p:a>"),
        ("<a/><b/>", "content after the element"),
        ("<a>", "document ends inside <a>"),
        ("<a b='<'/>", "'<' in an attribute value"),
        ("<a>&#0;</a>", "&#0; is not a valid character"),
        ("<a>\u{1}</a>", "character U+1 is not allowed in XML"),
        ("<a b='1'c='2'/>", "expected a space before an attribute"),
        ("text", "text outside the element"),
        ("", "no element"),
        ("<s:2a xmlns:s='urn:x'/>", "<s:2a> is not a valid element name"),
        ("<a b:='1'/>", "b: is not a valid attribute name"),
    ])
    func forbiddenOrBrokenInputIsRefused(input: String, reason: String) {
        #expect(throws: XMLError.self) { try reader.parse(input) }
        do {
            _ = try reader.parse(input)
        } catch {
            #expect(error.reason == reason)
        }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: XMLError(offset: 3, reason: "invalid UTF-8")) { try reader.parse([0x3C, 0x61, 0x3E, 0xC3, 0x28, 0x3C, 0x2F, 0x61, 0x3E]) }
    }

    @Test func deepNestingIsBounded() {
        let deep = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect(throws: XMLError.self) { try reader.parse(deep) }
        let fine = String(repeating: "<a>", count: 64) + String(repeating: "</a>", count: 64)
        #expect(throws: Never.self) { try reader.parse(fine) }
    }

    @Test func everyTruncatedPrefixFailsCleanly() throws {
        let stanza = "<iq xmlns='jabber:client' type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>a@b/c</jid></bind></iq>"
        let bytes = Array(stanza.utf8)
        for count in 0..<bytes.count {
            #expect(throws: XMLError.self) { try reader.parse(Array(bytes[0..<count])) }
        }
        #expect(try reader.parse(bytes).element("bind")?.element("jid")?.text == "a@b/c")
    }

    @Test func writingAndReadingRoundTrip() throws {
        var iq = XMLElement("iq", namespace: "jabber:client", attributes: ["type": "set", "id": "a'1\"<&>"])
        iq.append(XMLElement("query", namespace: "http://jabber.org/protocol/muc#owner", children: [
            XMLElement("x", namespace: "jabber:x:data", attributes: ["type": "submit"], children: [
                XMLElement("field", namespace: "jabber:x:data", attributes: ["var": "muc#roomconfig_roomsecret"],
                           children: [XMLElement("value", namespace: "jabber:x:data", text: "p&ss<wörd>\n'\"")]),
            ]),
        ]))
        let text = iq.serialized()
        #expect(text.hasPrefix("<iq xmlns='jabber:client' type='set' id='a&apos;1&quot;&lt;&amp;&gt;'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var="))
        #expect(try reader.parse(text) == iq)
        #expect(iq.serialized(parentNamespace: "jabber:client").hasPrefix("<iq type='set'"), "a stanza inherits the stream's namespace")
    }

    @Test func attributeSubscriptSetsAndRemoves() {
        var element = XMLElement("a", attributes: ["x": "1"])
        element["y"] = "2"
        element["x"] = nil
        #expect(element.attributes.map(\.name) == ["y"] && element["y"] == "2")
    }
}

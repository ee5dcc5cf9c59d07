import JSON

/// Bridge-channel messages to and from their JSON text (PPID 51, one message per SCTP
/// message). Field names and types as JVB's Jackson classes read and write them
/// (`message/BridgeChannelMessage.kt`); unknown fields are ignored, as there.
extension BridgeChannelMessage {
    /// Reads one message. Unknown classes are `.other`; what cannot be a message throws.
    public init(json text: String) throws(BridgeChannelError) {
        guard let value = JSONValue(parsing: text) else { throw .malformedJSON }
        guard value.members != nil, let colibriClass = value["colibriClass"]?.stringValue else { throw .notAMessage }
        let fields = Fields(value: value, colibriClass: colibriClass)
        switch colibriClass {
        case "ClientHello":
            self = .clientHello
        case "ServerHello":
            self = .serverHello(version: try fields.optionalString("version"))
        case "ReceiverVideoConstraints":
            self = .receiverVideoConstraints(try ReceiverVideoConstraints(fields: fields))
        case "SourceVideoTypeMessage":
            let type = try fields.string("videoType")
            guard let videoType = VideoType(rawValue: type.lowercased()) else { throw fields.invalid("videoType") }
            self = .sourceVideoType(sourceName: try fields.string("sourceName"), videoType: videoType)
        case "LastNChangedEvent":
            self = .lastNChanged(lastN: try fields.integer("lastN"))
        case "DominantSpeakerEndpointChangeEvent":
            self = .dominantSpeakerChange(DominantSpeakerChange(
                dominantSpeakerEndpoint: try fields.string("dominantSpeakerEndpoint"),
                previousSpeakers: try fields.optionalStrings("previousSpeakers") ?? [],
                silence: try fields.optionalBool("silence") ?? false))
        case "ForwardedSources":
            self = .forwardedSources(try fields.strings("forwardedSources"))
        case "LastNEndpointsChangeEvent":
            self = .lastNEndpointsChange(try fields.strings("lastNEndpoints"))
        case "SenderSourceConstraints":
            self = .senderSourceConstraints(sourceName: try fields.string("sourceName"), maxHeight: try fields.integer("maxHeight"))
        case "EndpointConnectivityStatusChangeEvent":
            // JVB writes the flag as a string ("true"/"false"); a boolean is taken too.
            let active: Bool
            switch fields.value["active"] {
            case .string("true")?, .bool(true)?: active = true
            case .string("false")?, .bool(false)?: active = false
            default: throw fields.invalid("active")
            }
            self = .endpointConnectivityStatus(endpoint: try fields.string("endpoint"), active: active)
        case "ConnectionStats":
            self = .connectionStats(estimatedDownlinkBandwidth: try fields.integer("estimatedDownlinkBandwidth"))
        default:
            self = .other(colibriClass: colibriClass)
        }
    }

    /// The message as compact JSON text, `colibriClass` first. `.other` has no body to write
    /// and gives just its class.
    public var json: String {
        var members: [(String, JSONValue)] = [("colibriClass", .string(colibriClass))]
        switch self {
        case .clientHello, .other: break
        case .serverHello(let version):
            if let version { members.append(("version", .string(version))) }
        case .receiverVideoConstraints(let constraints):
            members += constraints.jsonMembers
        case .sourceVideoType(let sourceName, let videoType):
            members += [("videoType", .string(videoType.rawValue)), ("sourceName", .string(sourceName))]
        case .lastNChanged(let lastN):
            members.append(("lastN", .number(Double(lastN))))
        case .dominantSpeakerChange(let change):
            members += [("dominantSpeakerEndpoint", .string(change.dominantSpeakerEndpoint)),
                        ("previousSpeakers", .array(change.previousSpeakers.map(JSONValue.string))),
                        ("silence", .bool(change.silence))]
        case .forwardedSources(let sources):
            members.append(("forwardedSources", .array(sources.map(JSONValue.string))))
        case .lastNEndpointsChange(let endpoints):
            members.append(("lastNEndpoints", .array(endpoints.map(JSONValue.string))))
        case .senderSourceConstraints(let sourceName, let maxHeight):
            members += [("sourceName", .string(sourceName)), ("maxHeight", .number(Double(maxHeight)))]
        case .endpointConnectivityStatus(let endpoint, let active):
            members += [("endpoint", .string(endpoint)), ("active", .string(active ? "true" : "false"))]
        case .connectionStats(let bandwidth):
            members.append(("estimatedDownlinkBandwidth", .number(Double(bandwidth))))
        }
        return JSONValue.object(members).serialized
    }

    /// The `colibriClass` this message has on the wire.
    public var colibriClass: String {
        switch self {
        case .clientHello: "ClientHello"
        case .serverHello: "ServerHello"
        case .receiverVideoConstraints: "ReceiverVideoConstraints"
        case .sourceVideoType: "SourceVideoTypeMessage"
        case .lastNChanged: "LastNChangedEvent"
        case .dominantSpeakerChange: "DominantSpeakerEndpointChangeEvent"
        case .forwardedSources: "ForwardedSources"
        case .lastNEndpointsChange: "LastNEndpointsChangeEvent"
        case .senderSourceConstraints: "SenderSourceConstraints"
        case .endpointConnectivityStatus: "EndpointConnectivityStatusChangeEvent"
        case .connectionStats: "ConnectionStats"
        case .other(let colibriClass): colibriClass
        }
    }
}

extension ReceiverVideoConstraints {
    init(fields: Fields) throws(BridgeChannelError) {
        self.init()
        lastN = try fields.optionalInteger("lastN")
        selectedSources = try fields.optionalStrings("selectedSources")
        onStageSources = try fields.optionalStrings("onStageSources")
        if let value = fields.value["defaultConstraints"], value != .null {
            defaultConstraints = try VideoConstraints(value, fields: fields, field: "defaultConstraints")
        }
        if let value = fields.value["constraints"], value != .null {
            guard let members = value.members else { throw fields.invalid("constraints") }
            var list: [(source: String, constraints: VideoConstraints)] = []
            for (source, entry) in members {
                list.append((source, try VideoConstraints(entry, fields: fields, field: "constraints.\(source)")))
            }
            constraints = list
        }
        assumedBandwidthBps = try fields.optionalInteger("assumedBandwidthBps")
    }

    var jsonMembers: [(String, JSONValue)] {
        var members: [(String, JSONValue)] = []
        if let lastN { members.append(("lastN", .number(Double(lastN)))) }
        if let selectedSources { members.append(("selectedSources", .array(selectedSources.map(JSONValue.string)))) }
        if let onStageSources { members.append(("onStageSources", .array(onStageSources.map(JSONValue.string)))) }
        if let defaultConstraints { members.append(("defaultConstraints", defaultConstraints.json)) }
        if let constraints { members.append(("constraints", .object(constraints.map { ($0.source, $0.constraints.json) }))) }
        if let assumedBandwidthBps { members.append(("assumedBandwidthBps", .number(Double(assumedBandwidthBps)))) }
        return members
    }
}

extension VideoConstraints {
    init(_ value: JSONValue, fields: Fields, field: String) throws(BridgeChannelError) {
        guard value.members != nil, let height = value["maxHeight"].flatMap(Fields.integer) else { throw fields.invalid(field + ".maxHeight") }
        var rate: Double?
        if let frameRate = value["maxFrameRate"], frameRate != .null {
            guard let number = frameRate.doubleValue else { throw fields.invalid(field + ".maxFrameRate") }
            rate = number
        }
        self.init(maxHeight: height, maxFrameRate: rate)
    }

    var json: JSONValue {
        var members: [(String, JSONValue)] = [("maxHeight", .number(Double(maxHeight)))]
        if let maxFrameRate { members.append(("maxFrameRate", .number(maxFrameRate))) }
        return .object(members)
    }
}

/// Typed access to a message's fields, naming the field in the error.
struct Fields {
    let value: JSONValue
    let colibriClass: String

    func invalid(_ field: String) -> BridgeChannelError { .invalidField(colibriClass: colibriClass, field: field) }

    /// A JSON number that is a whole number an `Int` holds exactly (JVB's Int/Long fields).
    static func integer(_ value: JSONValue) -> Int? {
        guard let number = value.doubleValue, number.rounded() == number, abs(number) <= 9_007_199_254_740_992 else { return nil }
        return Int(number)
    }

    func string(_ name: String) throws(BridgeChannelError) -> String {
        guard let text = value[name]?.stringValue else { throw invalid(name) }
        return text
    }

    func optionalString(_ name: String) throws(BridgeChannelError) -> String? {
        guard let field = value[name], field != .null else { return nil }
        guard let text = field.stringValue else { throw invalid(name) }
        return text
    }

    func integer(_ name: String) throws(BridgeChannelError) -> Int {
        guard let number = value[name].flatMap(Self.integer) else { throw invalid(name) }
        return number
    }

    func optionalInteger(_ name: String) throws(BridgeChannelError) -> Int? {
        guard let field = value[name], field != .null else { return nil }
        guard let number = Self.integer(field) else { throw invalid(name) }
        return number
    }

    func optionalBool(_ name: String) throws(BridgeChannelError) -> Bool? {
        guard let field = value[name], field != .null else { return nil }
        guard let flag = field.boolValue else { throw invalid(name) }
        return flag
    }

    func strings(_ name: String) throws(BridgeChannelError) -> [String] {
        guard let list = try optionalStrings(name) else { throw invalid(name) }
        return list
    }

    func optionalStrings(_ name: String) throws(BridgeChannelError) -> [String]? {
        guard let field = value[name], field != .null else { return nil }
        guard let elements = field.arrayValue else { throw invalid(name) }
        var texts: [String] = []
        texts.reserveCapacity(elements.count)
        for element in elements {
            guard let text = element.stringValue else { throw invalid(name) }
            texts.append(text)
        }
        return texts
    }
}

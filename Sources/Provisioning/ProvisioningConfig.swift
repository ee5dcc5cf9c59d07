/// The box's whole configuration, as district IT provisions it in `classbox.toml`.
///
/// A value of this type only exists for a file that passed every check (see
/// ``ConfigLoader``): there is no half-read configuration. Every key is documented in
/// the README's configuration reference; ``ConfigSchema`` lists them for tests.
public struct ProvisioningConfig: Sendable, Equatable {
    /// The schema version this firmware reads.
    public static let supportedVersion = 1

    public var server: Server
    public var room: Room
    public var camera: Camera
    public var audio: Audio
    public var privacy: Privacy
    public var network: Network
    public var update: Update
    public var log: Log
    public var display: Display

    /// The district's Jitsi Meet deployment.
    public struct Server: Sendable, Equatable {
        public enum Login: String, Sendable, Equatable, CaseIterable {
            /// SASL ANONYMOUS, the Jitsi default.
            case anonymous
            /// SASL PLAIN with a box account, for "secure domain" deployments.
            case account
            /// A JWT on the WebSocket URL and SASL ANONYMOUS: Jitsi's token authentication.
            case token
        }

        public var host: String
        public var xmppDomain: String
        public var mucDomain: String
        public var focus: String
        public var websocketURL: WebSocketURL
        /// PEM bundle of the district's CA; nil means the system trust store.
        public var caBundle: String?
        public var login: Login
        public var account: String?
        public var accountPassword: Secret?
        /// With `login = "token"`: the JWT (from `token_file`) and what the box can read of it.
        public var token: Secret?
        public var tokenClaims: JitsiToken?
    }

    /// The conference room the box joins at power-on.
    public struct Room: Sendable, Equatable {
        public var name: String
        public var password: Secret
        /// What the others see, e.g. "Klasse 4b": a room label, never a person's name.
        public var label: String
        /// The box owns the room: sets its password and ends it for all when the lesson ends.
        public var organiser: Bool
        /// As organiser, ask Jitsi to start every participant with the camera off.
        public var startVideoMuted: Bool
        public var startAudioMuted: Bool
    }

    public struct Camera: Sendable, Equatable {
        public enum Source: Sendable, Equatable {
            case device(path: String)
            /// A generated moving picture with the frame number painted in (no hardware).
            case testPattern
        }

        public var source: Source
        public var width: Int
        public var height: Int
        public var fps: Int
        public var maxBitrateKbps: Int
        /// libvpx encoder threads; 0: as libwebrtc chooses them (by size and cores).
        public var encoderThreads: Int
        /// libvpx `cpu-used`; negative values fix the speed (see the README).
        public var encoderCpuUsed: Int
        public var errorResilient: Bool
        public var temporalLayers: Int
    }

    public struct Audio: Sendable, Equatable {
        public enum Capture: Sendable, Equatable {
            case pcm(String)
            /// A generated sine tone, for machines without a microphone.
            case tone
            case null
        }

        public enum Playback: Sendable, Equatable {
            case pcm(String)
            case null
        }

        public var capture: Capture
        public var playback: Playback
        public var bitrateKbps: Int
        public var dtx: Bool
        public var toneHz: Int
        /// Loudness of what the box plays, 0–100 (a dB curve, see the README).
        public var volume: Int
        /// Cancel the loudspeaker's echo from the microphone (the played mix is the reference).
        public var echoCancellation: Bool
        public var noiseSuppression: Bool
    }

    /// The physical privacy switch and the LEDs.
    public struct Privacy: Sendable, Equatable {
        public enum Switch: Sendable, Equatable {
            /// No switch: the camera can never be turned on.
            case none
            /// A Linux input device reporting `SW_CAMERA_LENS_COVER`.
            case inputDevice(String)
            /// The simulated board's switch (`classbox switch open|close`), test pattern only.
            case simulated
        }

        public var cameraSwitch: Switch
        /// Input device reporting `KEY_MICMUTE`; nil means the switch's device, if any.
        public var muteButton: String?
        public var startMicMuted: Bool
        public var cameraLED: String?
        public var micMutedLED: String?
        public var statusLED: String?
    }

    public struct Network: Sendable, Equatable {
        public var districtDomains: [String]
        public var mediaNetworks: [IPNetwork]
        public var stun: [HostPort]
        public var turn: [TURNServer]
        /// The district's NTP servers (host names or addresses) for systemd-timesyncd. Without
        /// them, or when UDP 123 is blocked, the box takes the time from its server over HTTPS.
        public var ntp: [String]
        /// Also use the TURN servers (and their short-lived credentials) the conference server
        /// names in its XEP-0215 answer, those inside the district's domains.
        public var turnFromServer: Bool
        public var ipv6: Bool
        public var interfaces: [String]
        /// Offer loopback ICE candidates; only for test rigs on one machine.
        public var loopback: Bool
    }

    public struct TURNServer: Sendable, Equatable {
        public var url: TURNURL
        public var username: String
        public var password: Secret
    }

    public struct Update: Sendable, Equatable {
        public var authorizedKeys: [String]
        public var allowFrom: [IPNetwork]
        /// How long a freshly installed slot has to come up healthy before the box goes back
        /// to the previous one.
        public var trialSeconds: Int

        public init(authorizedKeys: [String], allowFrom: [IPNetwork], trialSeconds: Int = 300) {
            (self.authorizedKeys, self.allowFrom, self.trialSeconds) = (authorizedKeys, allowFrom, trialSeconds)
        }
    }

    /// The classroom screen.
    public struct Display: Sendable, Equatable {
        /// How many of the others' videos the screen shows at once (the speaker or a share
        /// on stage, the rest in tiles): the `lastN` the box asks the bridge for.
        public var maxParticipants: Int
        /// The language of the status screens (`de`, the default, or `en`).
        public var language: Language
        /// The screen mode to use instead of the screen's preferred one (nil: preferred):
        /// a 4K TV driven at 1080p, a projector that reports a wrong preference.
        public var mode: Mode?
        /// Where the screen is drawn.
        public var device: Device

        /// What a file without a `[display]` table gets.
        public static let defaults = Display(maxParticipants: 6, language: .de, mode: nil, device: .automatic)

        public enum Device: Sendable, Equatable {
            /// The first DRM card with a connected screen; none: the box runs without one.
            case automatic
            /// No screen, even if one is connected.
            case none
            /// The simulated board's: the composed screen as a PNG in the runtime directory.
            case snapshot
            case card(path: String)
        }

        public enum Language: String, Sendable, Equatable, CaseIterable {
            case de, en
        }

        /// `WIDTHxHEIGHT` or `WIDTHxHEIGHT@HZ` (any refresh rate when none is given).
        public struct Mode: Sendable, Equatable, CustomStringConvertible {
            public var width: Int
            public var height: Int
            public var refreshHertz: Int?

            public init(width: Int, height: Int, refreshHertz: Int? = nil) {
                (self.width, self.height, self.refreshHertz) = (width, height, refreshHertz)
            }

            public init?(_ text: String) {
                let parts = text.split(separator: "@", omittingEmptySubsequences: false)
                guard parts.count <= 2 else { return nil }
                let size = parts[0].split(separator: "x", omittingEmptySubsequences: false)
                guard size.count == 2, let width = Self.number(size[0]), let height = Self.number(size[1]),
                      (320...7680).contains(width), (200...4320).contains(height) else { return nil }
                var refresh: Int?
                if parts.count == 2 {
                    guard let hertz = Self.number(parts[1]), (1...240).contains(hertz) else { return nil }
                    refresh = hertz
                }
                self.init(width: width, height: height, refreshHertz: refresh)
            }

            /// Digits only (no sign, no spaces), at most 5.
            private static func number(_ text: Substring) -> Int? {
                guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                return Int(text)
            }

            public var description: String { "\(width)x\(height)" + (refreshHertz.map { "@\($0)" } ?? "") }
        }

        public init(maxParticipants: Int = 6, language: Language = .de, mode: Mode? = nil, device: Device = .automatic) {
            self.maxParticipants = maxParticipants
            self.language = language
            self.mode = mode
            self.device = device
        }
    }

    public struct Log: Sendable, Equatable {
        public enum Level: String, Sendable, Equatable, CaseIterable {
            case trace, debug, info, notice, warning, error, critical
        }

        public var level: Level
    }
}

extension ProvisioningConfig {
    /// Every host name the box may contact, for the allow-list checks at run time.
    public var districtHosts: [String] {
        var hosts = [server.host, server.websocketURL.host]
        hosts += network.stun.map(\.host)
        hosts += network.turn.map(\.url.host)
        var seen = Set<String>()
        return hosts.filter { seen.insert($0).inserted }
    }
}

import ClassboxTestSupport
import Foundation
import Testing

extension RealPeers {
    /// The data-protection audit (the seed): a whole call, with the camera live, under strace.
    /// Nothing may be written outside the box's runtime directory (no audio, video or chat is
    /// stored), every network destination must be inside the provisioning file's allow-list,
    /// and the log must hold no other participant's name, address or JID.
    @Suite(.serialized, .enabled(if: LocalConferenceServer.available && ExternalProcess.which("strace") != nil,
                                 "needs strace and the local conference server's tools (make deps installs them)"))
    struct AuditTests {
        /// What strace saw, read from its output file.
        struct Trace {
            var written: [String] = []
            var destinations: [String] = []
            var unixPeers: [String] = []

            init(_ text: String) {
                for line in text.split(separator: "\n") where !line.contains("= -1 ") && !line.contains("<unfinished") {
                    let call = String(line.drop { $0.isNumber || $0 == " " })
                    if call.hasPrefix("openat(") || call.hasPrefix("open(") || call.hasPrefix("creat(") {
                        let flags = call.split(separator: ",").dropFirst(call.hasPrefix("openat(") ? 2 : 1).first ?? ""
                        if call.hasPrefix("creat(") || ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"].contains(where: flags.contains) {
                            written += Self.paths(call)
                        }
                    } else if ["rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "link", "symlink"]
                                .contains(where: { call.hasPrefix($0 + "(") }) {
                        written += Self.paths(call)
                    } else if call.hasPrefix("connect(") || call.hasPrefix("sendto(") || call.hasPrefix("sendmsg(") || call.hasPrefix("bind(") {
                        for marker in ["inet_addr(\"", "inet_pton(AF_INET6, \""] {
                            var rest = Substring(call)
                            while let range = rest.range(of: marker) {
                                let tail = rest[range.upperBound...]
                                destinations.append(String(tail.prefix { $0 != "\"" }))
                                rest = tail
                            }
                        }
                        if call.hasPrefix("connect("), let range = call.range(of: "sun_path=\"") {
                            unixPeers.append(String(call[range.upperBound...].prefix { $0 != "\"" }))
                        }
                    }
                }
            }

            static func paths(_ call: String) -> [String] {
                call.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            }
        }

        @Test func aWholeCallStoresNothingAndTalksOnlyToTheDistrict() throws {
            let server = try LocalConferenceServer(roomSecrets: ["klasse-4b": "tafel-und-kreide"])
            let config = try server.boxConfig(password: "tafel-und-kreide")
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let runtime = scratch + "/run", traceFile = scratch + "/trace"
            let box = try SpawnedProcess(ExternalProcess.which("strace")!, [
                "-f", "-qq", "--seccomp-bpf", "-s", "256", "-o", traceFile,
                "-e", "trace=open,openat,creat,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,link,symlink,connect,sendto,sendmsg,bind",
                ClassboxProcess.executable, "run", "--config", config,
            ], environment: ProcessInfo.processInfo.environment.merging(["CLASSBOX_RUNTIME_DIR": runtime]) { $1 })
            let joined = server.wait(timeout: 40) { events in events.contains { $0["event"] as? String == "session-accept" && $0["valid"] as? Bool == true } }
            #expect(joined, "the call started under strace: \(box.stderr.suffix(2000))")
            var switched = false
            for _ in 0..<50 where !switched {
                switched = (try? ClassboxProcess.run(["switch", "open"], environment: ["CLASSBOX_RUNTIME_DIR": runtime]))?.stdout.contains("ok") == true
                if !switched { usleep(100_000) }
            }
            #expect(switched)
            #expect(server.wait(timeout: 30) { events in
                events.contains { $0["event"] as? String == "media" && ($0["decoded_numbers_count"] as? Int ?? 0) > 60 }
            }, "video and audio flowed during the audit")
            // The end of the lesson goes to classbox, not to strace (which would detach and leave
            // it running); strace ends when it does, with the way out traced too.
            let traced = box.children
            #expect(traced.count == 1, "strace runs classbox: \(traced)")
            for child in traced { kill(child, SIGTERM) }
            let ended = box.wait(timeout: 30)
            #expect(ended == (0, false), "classbox ended cleanly under strace: \(ended) \(box.stderr.suffix(1000))")

            let trace = Trace(try String(contentsOfFile: traceFile, encoding: .utf8))
            let allowedWrites = [runtime, "/dev/null", "/sys/class/leds"]  // LED control is no storage
            let stray = trace.written.filter { path in !allowedWrites.contains { path == $0 || path.hasPrefix($0 + "/") } }
            #expect(stray.isEmpty, "files created or written outside the runtime directory: \(Set(stray).sorted())")
            let allowedHosts: Set<String> = ["127.0.0.1", "::1", "0.0.0.0", "::"]  // the sim file: localhost and 127.0.0.1 only (loopback rig)
            let outside = Set(trace.destinations).subtracting(allowedHosts)
            #expect(outside.isEmpty, "network destinations outside the allow-list: \(outside.sorted())")
            #expect(trace.unixPeers.allSatisfy { $0.hasPrefix(runtime) || $0.hasPrefix("/var/run/nscd") || $0.hasPrefix("/run/nscd") },
                    "local sockets: \(trace.unixPeers)")

            let log = box.stderr
            let participant = try #require(server.events("participant-connected").last)
            let others = [participant["endpoint"] as? String, (participant["jid"] as? String)?.split(separator: "@").first.map(String.init),
                          "Fernunterricht 7a"].compactMap { $0 }
            for secret in others { #expect(!log.contains(secret), "the log names another participant: \(secret)") }
            #expect(!log.contains("tafel-und-kreide"), "no secret in the log")
            print("audit: \(trace.written.count) writes (all in the runtime directory), \(Set(trace.destinations).sorted()) as destinations, "
                  + "no participant data in \(log.split(separator: "\n").count) log lines")
        }
    }
}

import ArgumentParser
import Device
import Provisioning
import TimeKeeping
import Updater
#if canImport(Glibc)
import Glibc
#endif

/// `classbox clock`: classbox-clock.service, before systemd-timesyncd. See ``ClockKeeper``.
struct ClockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clock",
        abstract: "Keep the clock: the district's NTP servers for systemd-timesyncd, else the server's Date over HTTPS (forward only).",
        discussion: "Runs until stopped. The box signs in only once NTP or the server has given the time (/run/classbox-clock/state).")

    @Option(name: .long, help: "The provisioning file.")
    var config = "/boot/classbox/classbox.toml"

    @Option(name: .long, help: "Where the state and timesyncd's drop-in go (tests).")
    var runDirectory = "/run"

    func run() throws {
        var keeperConfiguration = ClockKeeper.Configuration(ntpServers: [], server: nil)
        if case .valid(let loaded, _) = ConfigLoader.load(path: config) {
            // The signalling server itself: the box must reach it anyway, so a school's "443 only"
            // firewall lets this through too.
            let url = loaded.server.websocketURL
            keeperConfiguration = ClockKeeper.Configuration(ntpServers: loaded.network.ntp,
                                                            server: url.secure ? ServerClock(host: url.host, port: url.port, caBundle: loaded.server.caBundle) : nil)
        } else {
            // The box will not start either (its screen says why); NTP stays off, nothing is asked.
            printError("classbox clock: \(config) is not valid (classbox check-config \(config)); no time source")
        }
        keeperConfiguration.runDirectory = runDirectory
        let keeper = ClockKeeper(configuration: keeperConfiguration, log: { printError("classbox clock: \($0)") },
                                 utc: { UpdateStatusReport.utc(Int($0)) })
        do {
            try keeper.writeTimesyncdDropIn()
        } catch {
            printError("classbox clock: \(error)")
        }
        try? SystemdNotifier(environment: ProcessEnvironment.current).ready(status: "time from \(keeperConfiguration.sources)")
        keeper.run()
    }
}

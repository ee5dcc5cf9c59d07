import ICE
import Provisioning
import Transport
import Wire

/// Where media may go (the seed: the box talks to the district's servers only). With
/// `network.media_networks` set, only into those ranges; otherwise to the school's own
/// network (private and loopback addresses), to addresses named in `district_domains`, and
/// to the addresses the district's server name resolves to.
struct MediaDestinations {
    let config: ProvisioningConfig
    let resolved: [SocketAddress]

    init(config: ProvisioningConfig) {
        self.config = config
        resolved = config.network.mediaNetworks.isEmpty ? HostResolver.udpAddresses(host: config.server.host, port: 0) : []
    }

    func allows(_ address: SocketAddress) -> Bool {
        if !config.network.mediaNetworks.isEmpty { return config.network.mediaNetworks.contains { $0.contains(address.bytes) } }
        if address.isPrivate || (address.isLoopback && config.network.loopback) { return true }
        if DistrictPolicy(domains: config.network.districtDomains).allows(host: address.host) { return true }
        return resolved.contains { $0.bytes == address.bytes }
    }

    /// The candidates media may be sent to, and those refused.
    func filter(_ candidates: [ICECandidate]) -> (allowed: [ICECandidate], refused: [ICECandidate]) {
        (candidates.filter { allows($0.address) }, candidates.filter { !allows($0.address) })
    }
}

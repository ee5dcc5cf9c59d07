"""The videobridge double: one aiortc peer connection per Jingle session with a box.

Like the Jitsi Videobridge (jitsi-protocol.md section 8): the bridge's side is the offerer, so
aiortc is the controlling full ICE agent (jvb IceTransport.kt; Jicofo hard-codes
ice-controlling) and offers DTLS setup actpass (DtlsTransport.kt describe()); everything is
BUNDLEd with rtcp-mux on one UDP port. aiortc's codec and header-extension tables are set to
Jicofo's numbers before any offer, because the box sends with the payload types of the Jingle
offer. RTP from SSRCs the box did not signal is counted and dropped, as the bridge drops
packets of unknown sources (jvb cc/allocation/PacketHandler.kt "Dropping an RTP packet for
an unknown SSRC"; audio is only routed for sources Jicofo signalled over colibri2).

It is not a router: media of the simulated participant is generated here, and the box's media
is decoded and measured, never forwarded.
"""
import asyncio

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs import CODECS, HEADER_EXTENSIONS
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters

import jingle
import media

# aioice never offers loopback addresses (test-rig.md part E): the rig lives on 127.0.0.1.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []

_VIDEO_FB = [RTCRtcpFeedback(type="ccm", parameter="fir"), RTCRtcpFeedback(type="nack"),
             RTCRtcpFeedback(type="nack", parameter="pli")]
CODECS["audio"][:] = [RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111,
                                            parameters={"minptime": 10, "useinbandfec": 1})]
CODECS["video"][:] = [
    RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=100, rtcpFeedback=list(_VIDEO_FB)),
    RTCRtpCodecParameters(mimeType="video/rtx", clockRate=90000, payloadType=96, parameters={"apt": 100}),
]
# sdes:mid (10) is left out: without rtp-mid-demux the bridge does not stamp mids on media it
# forwards (jicofo Participant.kt useRtpMidDemux() needs SSRC rewriting), receivers demux by SSRC.
HEADER_EXTENSIONS["audio"][:] = [RTCRtpHeaderExtensionParameters(id=1, uri=jingle.URI_AUDIO_LEVEL)]
HEADER_EXTENSIONS["video"][:] = [RTCRtpHeaderExtensionParameters(id=3, uri=jingle.URI_ABS_SEND_TIME)]


class BridgeSession:
    """One box endpoint on the bridge: offer, answer from the box's session-accept, media checks."""

    def __init__(self, nick, sid, remote, events):
        self.nick, self.sid, self.remote, self.events = nick, sid, remote, events
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.received = media.ReceivedMedia()
        self.allowed_ssrcs = set()
        self.unsignalled = {}
        self.offer_sdp = None
        self.accepted = False
        self._tasks = []
        self._closed = False
        self._tracks = {}
        self.pc.on("track", self._on_track)

    async def create_offer(self):
        """Returns the bridge transport (ufrag, pwd, fingerprint, candidates) for the Jingle offer."""
        direction = "sendrecv" if self.remote else "recvonly"
        audio = self.pc.addTransceiver("audio", direction=direction)
        video = self.pc.addTransceiver("video", direction=direction)
        if self.remote:
            self._use_ssrcs(audio, self.remote.audio_ssrc, None)
            self._use_ssrcs(video, self.remote.video_ssrc, self.remote.rtx_ssrc)
            self._tracks = {"audio": media.ToneAudioTrack(), "video": media.PatternVideoTrack()}
        self._filter_unsignalled(audio.receiver.transport)
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(RTCSessionDescription(sdp=self._name_mids(offer.sdp), type="offer"))
        self.offer_sdp = self.pc.localDescription.sdp
        return jingle.sdp_transport(self.offer_sdp)

    @staticmethod
    def _name_mids(sdp):
        """Use the Jingle content names as mids (audio, video) instead of aiortc's 0 and 1."""
        names = {"0": "audio", "1": "video"}
        lines = []
        for line in sdp.split("\r\n"):
            if line.startswith("a=mid:"):
                line = "a=mid:" + names.get(line[6:], line[6:])
            elif line.startswith("a=group:BUNDLE"):
                line = "a=group:BUNDLE " + " ".join(names.get(m, m) for m in line.split()[1:])
            lines.append(line)
        return "\r\n".join(lines)

    def set_remote_active(self, active):
        """Send the participant's media only while its sources are in the conference."""
        if not self.remote or self._closed:
            return
        for transceiver in self.pc.getTransceivers():
            transceiver.sender.replaceTrack(self._tracks[transceiver.kind] if active else None)

    @staticmethod
    def _use_ssrcs(transceiver, ssrc, rtx_ssrc):
        transceiver.sender._ssrc = ssrc
        if rtx_ssrc:
            transceiver.sender._rtx_ssrc = rtx_ssrc
        transceiver.receiver._set_rtcp_ssrc(ssrc)

    def _filter_unsignalled(self, dtls_transport):
        """Replace aiortc's routing-by-payload-type fallback: unknown SSRCs are dropped."""
        router = dtls_transport._rtp_router
        route = router.route_rtp

        def route_signalled_only(packet):
            if packet.ssrc in self.allowed_ssrcs:
                return route(packet)
            count = self.unsignalled.get(packet.ssrc, 0) + 1
            self.unsignalled[packet.ssrc] = count
            if count == 1:
                self.events.emit("unsignalled-ssrc", nick=self.nick, sid=self.sid, ssrc=packet.ssrc,
                                 payload_type=packet.payload_type, count=count)
            return None

        router.route_rtp = route_signalled_only

    async def accept(self, transport, box_sources):
        """Apply the box's session-accept: its transport and the SSRCs the bridge will accept."""
        self.allowed_ssrcs = box_sources.ssrcs()
        box_media = {s.media for s in box_sources.sources}
        directions = {}
        for kind in ("audio", "video"):
            sends, receives = kind in box_media, self.remote is not None
            directions[kind] = {(True, True): "sendrecv", (True, False): "sendonly",
                                (False, True): "recvonly", (False, False): "inactive"}[(sends, receives)]
        answer = jingle.sdp_answer(self.offer_sdp, transport, box_sources, directions)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        self.accepted = True
        self._tasks.append(asyncio.ensure_future(self._report_every_second()))

    def set_sources(self, box_sources):
        """After source-add/source-remove from the box."""
        self.allowed_ssrcs = box_sources.ssrcs()

    def _on_track(self, track):
        self._tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track):
        add = self.received.add_video if track.kind == "video" else self.received.add_audio
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            add(frame)

    async def _box_receive_report(self):
        """Packets the box received, from its last RTCP receiver report (approximate)."""
        sent = lost = 0
        seen = False
        for sender in self.pc.getSenders():
            if sender.track is None:
                continue
            for stat in (await sender.getStats()).values():
                if stat.type == "outbound-rtp":
                    sent += stat.packetsSent
                elif stat.type == "remote-inbound-rtp":
                    seen = True
                    lost += stat.packetsLost
        return sent - lost if seen else None

    async def report(self, full=False):
        summary = self.received.summary(full)
        summary.update(nick=self.nick, sid=self.sid, state=self.pc.connectionState,
                       unsignalled_packets=sum(self.unsignalled.values()))
        if self.remote and self.accepted:
            summary["packets_received_by_box"] = await self._box_receive_report()
        if full:
            summary["unsignalled"] = {str(k): v for k, v in self.unsignalled.items()}
        return summary

    async def _report_every_second(self):
        while not self._closed:
            await asyncio.sleep(1)
            if not self._closed:
                self.events.emit("media", **await self.report())

    async def close(self, reason):
        """Stop media and emit the session summary (event session-ended)."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        summary = await self.report(full=True) if self.accepted else None
        try:
            await asyncio.wait_for(self.pc.close(), 5)
        except Exception as error:
            self.events.info(f"closing peer connection of {self.nick}: {error!r}")
        if summary is not None:
            summary["state"] = "closed"
            self.events.emit("session-ended", reason=reason, **summary)
        else:
            self.events.emit("session-ended", nick=self.nick, sid=self.sid, reason=reason, accepted=False)

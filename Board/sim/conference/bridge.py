"""The videobridge double: one aiortc peer connection per Jingle session with a box.

Like the Jitsi Videobridge (jitsi-protocol.md section 8): the bridge's side is the offerer, so
aiortc is the controlling full ICE agent (jvb IceTransport.kt; Jicofo hard-codes
ice-controlling) and offers DTLS setup actpass (DtlsTransport.kt describe()); everything is
BUNDLEd with rtcp-mux on one UDP port. aiortc's codec and header-extension tables are set to
Jicofo's numbers before any offer, because the box sends with the payload types of the Jingle
offer. RTP from SSRCs the box did not signal is counted and dropped, as the bridge drops
packets of unknown sources (jvb cc/allocation/PacketHandler.kt "Dropping an RTP packet for
an unknown SSRC"; audio is only routed for sources Jicofo signalled over colibri2).

It is not a router: media of the simulated participants is generated here, and the box's media
is decoded and measured, never forwarded. Like the JVB, every remote speaker reaches the box
unmixed on its own SSRC over the one BUNDLEd transport (Opus 111 with ssrc-audio-level id 1,
VP8 100 + rtx 96): one aiortc RTCRtpSender per participant and source (audio, camera, a screen
share while it shares; remote_stream.py), created on the session's
DTLS transport outside SDP negotiation and started by hand with the negotiated parameters of
the audio/video transceiver (which itself only receives). The bridge's own RTCP (receiver
reports, NACK, PLI) goes out from its feedback SSRCs jvb-a0/jvb-v0, which Jicofo signals.

When Jicofo offered the box the `data` content, the session also runs the bridge channel
(bridge_channel.py): SCTP on the same DTLS transport, the data channel the box opens, and the
JVB's video allocation (allocation.py), which holds the participants' video back until the
box's first ReceiverVideoConstraints and picks the simulcast layer each source is forwarded at.
Without it every participant's video is forwarded from the start (cameras at 640x360).
"""
import asyncio

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.codecs import CODECS, HEADER_EXTENSIONS
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtcrtpparameters import (RTCRtcpFeedback, RTCRtcpParameters, RTCRtpCodecParameters,
                                     RTCRtpHeaderExtensionParameters, RTCRtpSendParameters)

import bridge_transport
import jingle
import media
from bridge_channel import BridgeChannel
from remote_stream import RemoteStream
from events import now as events_now

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


async def _no_rtcp(_packets):
    """Replaces a stopped sender's RTCP: no more sender reports and no BYE for a departed
    endpoint (the bridge terminates RTCP; it does not invent a BYE)."""


# --downlink-jitter: the simulated network between this bridge and a box delays each RTP
# packet to the box by a uniform random 0..DOWNLINK_JITTER_MS ms (a userspace relay inside the
# double: netem is not in the host kernel). 0 = sent at once.
DOWNLINK_JITTER_MS = 0.0
# Participant INDEX paints its frame numbers from INDEX × this (0: all from 0), so that a test
# reading the screen knows whose picture it sees (--frame-number-offset).
FRAME_NUMBER_OFFSET = 0
# The bridge's address as a box behind a NAT reaches it (--advertise-address): each host
# candidate is also offered as a server-reflexive one at this address, as JVB does with
# ice4j's static mappings (ice4j.harvest.mapping.static-mappings, StaticMappingCandidateHarvester).
ADVERTISED_ADDRESS = None


class BridgeSession:
    """One box endpoint on the bridge: offer, answer from the box's session-accept, media checks."""

    def __init__(self, nick, sid, jvb_sources, events, bridge_channel=False):
        """bridge_channel: the offer had the data content (sctp + json-encoded-sources)."""
        self.nick, self.sid, self.events = nick, sid, events
        self.feedback_ssrcs = {s.media: s.ssrc for s in jvb_sources.sources}  # jvb-a0, jvb-v0
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.received = media.ReceivedMedia()
        self.allowed_ssrcs = set()
        self.unsignalled = {}
        self.offer_sdp = None
        self.accepted = False
        self._tasks = []
        self._closed = False
        self.remotes = {}  # endpoint -> RemoteStream, in the order they were added
        self.box_sources = None  # EndpointSources of the box once accepted
        self.channel = BridgeChannel(self) if bridge_channel else None
        self.on_channel_open = None  # callable: the box opened its bridge channel (conference.py)
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_connection_state)

    async def create_offer(self):
        """Returns the bridge transport (ufrag, pwd, fingerprint, candidates) for the Jingle offer."""
        # The transceivers only receive; the participants' media goes out on senders of their own.
        audio = self.pc.addTransceiver("audio", direction="recvonly")
        video = self.pc.addTransceiver("video", direction="recvonly")
        for transceiver in (audio, video):
            if transceiver.kind in self.feedback_ssrcs:
                transceiver.receiver._set_rtcp_ssrc(self.feedback_ssrcs[transceiver.kind])
        dtls = audio.receiver.transport
        bridge_transport.filter_unsignalled(dtls, lambda: self.allowed_ssrcs, self._count_unsignalled)
        self.applied_delays_ms, self.wire_departures = [], []
        if DOWNLINK_JITTER_MS > 0:
            bridge_transport.delay_downlink(dtls, DOWNLINK_JITTER_MS, self.applied_delays_ms, self.wire_departures,
                                            CODECS["audio"][0].payloadType)
        # Outermost, so the markers follow the order the senders produced the packets in.
        bridge_transport.browser_audio_markers(dtls, CODECS["audio"][0].payloadType)
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(RTCSessionDescription(sdp=self._name_mids(offer.sdp), type="offer"))
        self.offer_sdp = self.pc.localDescription.sdp
        transport = jingle.sdp_transport(self.offer_sdp)
        if ADVERTISED_ADDRESS:
            mapped = [dict(c, type="srflx", ip=ADVERTISED_ADDRESS, foundation=f"{c['foundation']}m", id=f"{c['id']}m",
                           priority=c["priority"] - 256, **{"rel-addr": c["ip"], "rel-port": c["port"]})
                      for c in transport["candidates"] if c["type"] == "host"]
            transport["candidates"] += mapped
        return transport

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

    # ----- the simulated participants' media -----

    def add_remote(self, endpoint, remote):
        """A simulated participant's sources are in the conference: forward (generate) its media
        on its SSRCs from when the transport is up until remove_remote()."""
        if self._closed or endpoint in self.remotes:
            return
        self.remotes[endpoint] = RemoteStream(endpoint, remote, self._report, held_back=self.channel is not None)
        if self.channel:
            self.channel.remotes_changed("participant joined")
        if self.pc.connectionState == "connected":
            asyncio.ensure_future(self._start_remote(self.remotes[endpoint]))

    def remove_remote(self, endpoint):
        """Its endpoint expired (left, or terminated): no more RTP or RTCP on its SSRCs."""
        stream = self.remotes.get(endpoint)
        if stream is not None and self._mark_stopped(stream):
            for video in stream.videos.values():
                video.remove("participant left")
            asyncio.ensure_future(self._stop_senders(stream))
            if self.channel:
                self.channel.remotes_changed("participant left")

    def add_remote_source(self, endpoint, spec):
        """A participant's new video source (a screen share's source-add; colibri2 tells the JVB
        of the endpoint's new source): the allocation may forward it from now on."""
        stream = self.remotes.get(endpoint)
        if stream is None or stream.state == "stopped" or self._closed:
            return
        video = stream.videos.get(spec[0])
        if video is not None and not video.removed:
            return
        video = stream.add_video(spec)
        if self.channel:
            self.channel.remotes_changed("sources changed")
        if stream.state == "sending":
            asyncio.ensure_future(self._start_video(stream, video))

    def remove_remote_source(self, endpoint, name):
        """A participant's source-remove (the share ended): its RTP stops at once."""
        stream = self.remotes.get(endpoint)
        video = stream.videos.get(name) if stream is not None else None
        if video is None or not video.remove("source removed"):
            return
        asyncio.ensure_future(self._stop_video(video))
        if self.channel:
            self.channel.remotes_changed("sources changed")

    def video_sources(self, endpoint):
        """[(name, videoType)] of a participant's current video sources, for the allocation."""
        stream = self.remotes.get(endpoint)
        return [(v.name, v.video_type) for v in stream.active_videos()] if stream is not None else []

    def set_layers(self, layers, reason, max_heights):
        """The bridge channel's allocation: only these sources go to the box, each at its layer
        {name: (width, height)}. A held-back source's track pauses (PatternVideoTrack); when it
        is forwarded again the sender makes a keyframe, as the JVB asks the source for one before
        it forwards a resumed stream; a new layer is a new picture size, which aiortc's encoder
        starts with a keyframe (see media.PatternVideoTrack)."""
        for stream in self.remotes.values():
            for video in stream.active_videos():
                video.set_layer(layers.get(video.name), reason, max_heights.get(video.name))

    def channel_opened(self):
        if self.on_channel_open is not None:
            self.on_channel_open()

    def _report(self, event, **fields):
        self.events.emit(event, nick=self.nick, sid=self.sid, **fields)

    def box_video_sources(self):
        """Names of the box's video sources (normally <nick>-v0)."""
        if self.box_sources is None:
            return []
        return sorted({s.name or f"{self.nick}-v0" for s in self.box_sources.sources if s.media == "video"})

    @staticmethod
    def _mark_stopped(stream):
        if stream.state == "stopped":
            return False
        if stream.state == "sending":
            stream.stopped_t = events_now()
        stream.state = "stopped"
        return True

    def _on_connection_state(self):
        if self.pc.connectionState == "connected":
            if self.channel:  # synchronously: see BridgeChannel.start
                self.channel.start(self.pc.getTransceivers()[0].receiver.transport)
            for stream in list(self.remotes.values()):
                if stream.state == "waiting":
                    asyncio.ensure_future(self._start_remote(stream))

    @staticmethod
    def _send_parameters(transceiver, ssrc, cname):
        """What RTCPeerConnection gives its own senders (__localRtp), for a sender of ours."""
        return RTCRtpSendParameters(codecs=transceiver._codecs, headerExtensions=transceiver._headerExtensions,
                                    muxId=transceiver.mid, rtcp=RTCRtcpParameters(cname=cname, ssrc=ssrc, mux=True))

    def _transceiver(self, kind):
        return next((t for t in self.pc.getTransceivers() if t.kind == kind and t._codecs), None)

    async def _start_remote(self, stream):
        """Only once DTLS is up: an aiortc sender that sends before gives up for good."""
        if stream.state != "waiting" or self._closed:
            return
        stream.state = "sending"
        stream.started_t = events_now()
        audio = self._transceiver("audio")
        if audio is not None:
            track = media.ToneAudioTrack(stream.tone_hz, modulation_hz=stream.modulation_hz)
            stream.audio_sender = sender = RTCRtpSender(track, audio.receiver.transport)
            sender._ssrc = stream.audio_ssrc
            await sender.send(self._send_parameters(audio, sender._ssrc, stream.cname))
        for video in list(stream.videos.values()):
            await self._start_video(stream, video)
        if stream.state == "stopped":
            await self._stop_senders(stream)

    async def _start_video(self, stream, video):
        """A sender for one video source on its SSRC + RTX SSRC; its track paints at the layer."""
        transceiver = self._transceiver("video")
        if transceiver is None or video.sender is not None or video.removed or stream.state != "sending":
            return
        width, height = video.track_size()
        video.track = media.PatternVideoTrack(width, height, forwarding=video.forwarded, fps=video.fps,
                                              on_frame=video.on_frame, first_number=stream.index * FRAME_NUMBER_OFFSET)
        video.sender = sender = RTCRtpSender(video.track, transceiver.receiver.transport)
        sender._ssrc, sender._rtx_ssrc = video.ssrc, video.rtx_ssrc
        await sender.send(self._send_parameters(transceiver, sender._ssrc, stream.cname))
        if video.removed:
            await self._stop_video(video)

    async def _stop_senders(self, stream):
        stream.counts = await self._sent_counts(stream)
        for video in stream.videos.values():
            await self._stop_video(video)
        if stream.audio_sender is not None:
            await self._stop_sender(stream.audio_sender, stream.endpoint)

    async def _stop_video(self, video):
        if video.sender is None or video.counts is not None:
            return
        video.counts = await self._video_counts(video)
        await self._stop_sender(video.sender, video.endpoint)

    async def _stop_sender(self, sender, endpoint):
        sender._send_rtcp = _no_rtcp
        try:
            await asyncio.wait_for(sender.stop(), 2)
        except Exception as error:
            self.events.info(f"stopping sender {sender._ssrc} of {endpoint}: {error!r}")

    @staticmethod
    async def _counts_of(sender):
        sent, received = 0, None
        for stat in (await sender.getStats()).values():
            if stat.type == "outbound-rtp":
                sent = stat.packetsSent
            elif stat.type == "remote-inbound-rtp":
                received = stat.packetsReceived
        return sent, received

    async def _video_counts(self, video):
        if video.counts is not None:
            return video.counts
        return await self._counts_of(video.sender) if video.sender is not None else (0, None)

    async def _sent_counts(self, stream):
        if stream.counts is not None:
            return stream.counts
        counts = {}
        encoder = getattr(stream.audio_sender, "_RTCRtpSender__encoder", None)  # None once stopped
        if encoder is not None and hasattr(encoder, "fec_packets"):
            counts["fec_packets"] = encoder.fec_packets
        if stream.audio_sender is not None:
            counts["audio"] = await self._counts_of(stream.audio_sender)
        return counts

    async def remote_report(self):
        """Which participant sent which SSRC and tone on this session (media/session-ended)."""
        audio, video = [], []
        for stream in sorted(self.remotes.values(), key=lambda s: (s.index, s.started_t or 0)):
            video_counts = {v.name: await self._video_counts(v) for v in stream.videos.values()}
            a, v = stream.describe(await self._sent_counts(stream), video_counts)
            audio.append(a)
            video.append(v)
        return audio, video

    def _count_unsignalled(self, packet):
        count = self.unsignalled.get(packet.ssrc, 0) + 1
        self.unsignalled[packet.ssrc] = count
        if count == 1:
            self.events.emit("unsignalled-ssrc", nick=self.nick, sid=self.sid, ssrc=packet.ssrc,
                             payload_type=packet.payload_type, count=count)

    async def accept(self, transport, box_sources):
        """Apply the box's session-accept: its transport and the SSRCs the bridge will accept."""
        self.allowed_ssrcs = box_sources.ssrcs()
        box_media = {s.media for s in box_sources.sources}
        # what aiortc's (receive-only) transceivers negotiate; the participants' senders are extra
        directions = {kind: "sendonly" if kind in box_media else "inactive" for kind in ("audio", "video")}
        answer = jingle.sdp_answer(self.offer_sdp, transport, box_sources, directions)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        self.accepted = True
        self.box_sources = box_sources
        if self.channel:
            self.channel.box_sources_changed()
        self._tasks.append(asyncio.ensure_future(self._report_every_second()))

    def set_sources(self, box_sources):
        """After source-add/source-remove from the box."""
        self.allowed_ssrcs = box_sources.ssrcs()
        self.box_sources = box_sources
        if self.channel:
            self.channel.box_sources_changed()

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
        for stream in self.remotes.values():
            if stream.state != "sending":
                continue
            for sender in stream.senders():
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
        if self.accepted and any(s.state == "sending" for s in self.remotes.values()):
            summary["packets_received_by_box"] = await self._box_receive_report()
        summary["remote_audio"], summary["remote_video"] = await self.remote_report()
        delays = getattr(self, "applied_delays_ms", [])
        if delays:
            summary["downlink_jitter"] = bridge_transport.jitter_summary(delays, self.wire_departures, DOWNLINK_JITTER_MS)
        if self.channel:
            summary["bridge_channel"] = self.channel.summary()
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
        for stream in self.remotes.values():
            for video in stream.videos.values():
                video.remove("session ended")
        summary = await self.report(full=True) if self.accepted else None
        for stream in self.remotes.values():
            if self._mark_stopped(stream):
                await self._stop_senders(stream)
        if self.channel:
            await self.channel.stop(reason)
        try:
            await asyncio.wait_for(self.pc.close(), 5)
        except Exception as error:
            self.events.info(f"closing peer connection of {self.nick}: {error!r}")
        if summary is not None:
            summary["state"] = "closed"
            self.events.emit("session-ended", reason=reason, **summary)
        else:
            self.events.emit("session-ended", nick=self.nick, sid=self.sid, reason=reason, accepted=False)

"""The simulated remote participant: an ordinary anonymous XMPP client in the room.

Its presence looks like a browser's (lib-jitsi-meet ChatRoom.ts sendPresence; jitsi-protocol.md
4.2): nick = endpoint id = first 8 characters of its anonymous JID's localpart, display name,
stats-id, caps, jitsi_participant_codecList 'vp8', SourceInfo with both sources unmuted.
It sends no Jingle: the focus double accepts its sources on its behalf and the bridge double
generates its media (test pattern + a sine, 660 Hz by default) on those SSRCs. There may be
several (--participants N), each its own XMPP client, MUC occupant, endpoint and SSRCs.
"""
import asyncio
import json
import secrets
import uuid
import xml.etree.ElementTree as ET

from slixmpp import ClientXMPP
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from focus import caps_ver
from prosody import DOMAIN
from xmpp_base import CAPS, DISCO_INFO, MUC, MUC_USER, NICK, Reconnecting, child, local

CAPS_NODE = "https://jitsi.org/jitsi-meet"
FEATURES = sorted([
    "http://jabber.org/protocol/disco#info", "urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:1",
    "urn:xmpp:jingle:transports:ice-udp:1", "urn:xmpp:jingle:apps:dtls:0", "urn:xmpp:jingle:apps:rtp:audio",
    "urn:xmpp:jingle:apps:rtp:video", "urn:xmpp:jingle:transports:dtls-sctp:1", "urn:ietf:rfc:4588",
    "urn:ietf:rfc:5761", "urn:ietf:rfc:5888", "http://jitsi.org/tcc", "http://jitsi.org/source-name",
    "http://jitsi.org/receive-multiple-video-streams", "http://jitsi.org/json-encoded-sources"])
AFTER_BOX_DELAY = 2.0
AFTER_BOX_STAGGER = 2.0  # the k-th after-box participant joins AFTER_BOX_DELAY + k * this


class RemoteMedia:
    """SSRCs, msids and tone of one participant's camera and microphone for its current XMPP session."""

    def __init__(self, index=0, tone_hz=660.0, modulation_hz=0.0):
        self.index, self.tone_hz, self.modulation_hz = index, float(tone_hz), float(modulation_hz)
        self.renew(f"pending{index}")

    def renew(self, endpoint):
        self.endpoint = endpoint
        self.audio_ssrc, self.video_ssrc, self.rtx_ssrc = (secrets.randbits(31) + 1 for _ in range(3))
        self.audio_msid = f"{endpoint}-audio-0-1 {uuid.uuid4()}"
        self.video_msid = f"{endpoint}-video-0-1 {uuid.uuid4()}"
        self.cname = str(uuid.uuid4())  # one RTCP CNAME per browser peer connection
        # --share: the second video source a browser adds for a screen share. Name <ep>-v1
        # (lib-jitsi-meet SignalingLayer getSourceNameForJitsiTrack: endpoint, media letter, index
        # among the local video tracks) and msid <ep>-video-1-<pc> (LocalSdpMunger.ts
        # <endpoint_id>-<mediaType>-<trackIndex>-<tpcId>), own SSRC + RTX (a low-fps share sends
        # one encoding, which is what Jicofo forwards of a simulcast group anyway).
        self.share_ssrc, self.share_rtx_ssrc = (secrets.randbits(31) + 1 for _ in range(2))
        self.share_msid = f"{endpoint}-video-1-1 {uuid.uuid4()}"
        self.share = None  # None: never shared in this XMPP session, "on", "off" (stopped)

    @property
    def sharing(self):
        return self.share == "on"

    def video_sources(self):
        """[(name, videoType, ssrc, rtx_ssrc)] of its video sources now: camera, share while on."""
        camera = [(f"{self.endpoint}-v0", "camera", self.video_ssrc, self.rtx_ssrc)]
        return camera + ([self.share_source()] if self.sharing else [])

    def share_source(self):
        return (f"{self.endpoint}-v1", "desktop", self.share_ssrc, self.share_rtx_ssrc)

    def describe(self):
        return {"index": self.index, "endpoint": self.endpoint, "tone_hz": self.tone_hz,
                "audio_ssrc": self.audio_ssrc, "video_ssrc": self.video_ssrc, "rtx_ssrc": self.rtx_ssrc}


class SimulatedParticipant(ClientXMPP, Reconnecting):
    def __init__(self, port, mode, label, events, room_secrets, remote_media, join_delay=AFTER_BOX_DELAY,
                 stats_id="Fernunterricht-sim"):
        ClientXMPP.__init__(self, DOMAIN, "")  # no username: SASL ANONYMOUS
        self.enable_starttls = False
        self.enable_direct_tls = False
        self.enable_plaintext = True  # loopback c2s without TLS, like Jicofo's use-tls = false on loopback
        self.setup_reconnect("127.0.0.1", port, events)
        self.mode, self.label, self.events = mode, label, events
        self.room_secrets, self.remote_media = room_secrets, remote_media
        self.join_delay, self.stats_id = join_delay, stats_id
        self.index = remote_media.index
        self.endpoint = None
        self.left_for_good = False  # --leave: once it left, it never joins again
        self.leaving = set()  # rooms it is leaving on purpose
        self.rooms = {}  # room -> "joining" | "joined"
        self.wanted = set()
        self.ready = asyncio.get_event_loop().create_future()
        self.register_plugin("xep_0199", {"keepalive": True, "interval": 30, "timeout": 10})
        self.register_handler(Callback("participant disco", MatchXPath(f"{{{self.default_ns}}}iq/{{{DISCO_INFO}}}query"),
                                       self._on_disco))
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("disconnected", lambda _: self.rooms.clear())
        self.add_event_handler("presence", self._on_presence)

    def _on_session_start(self, _):
        # jitsi-meet uses the first 8 characters of the (UUID) localpart; Prosody's own anonymous
        # names may hold '-', which Jitsi's mod_muc_resource_validate would refuse.
        self.endpoint = "".join(c if c.isalnum() else "x" for c in self.boundjid.user[:8])
        self.remote_media.renew(self.endpoint)
        self.events.emit("participant-connected", jid=str(self.boundjid), endpoint=self.endpoint, index=self.index,
                         tone_hz=self.remote_media.tone_hz)
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_disco(self, iq):
        """Answers the focus's disco#info, echoing the caps node."""
        if iq["type"] != "get":
            return
        node = child(iq.xml, "query", DISCO_INFO).get("node")
        reply = iq.reply(clear=True)
        query = ET.SubElement(reply.xml, f"{{{DISCO_INFO}}}query", {"node": node} if node else {})
        ET.SubElement(query, f"{{{DISCO_INFO}}}identity", {"category": "client", "type": "web", "name": "browser"})
        for feature in FEATURES:
            ET.SubElement(query, f"{{{DISCO_INFO}}}feature", {"var": feature})
        reply.send()

    def _caps(self):
        query = ET.Element(f"{{{DISCO_INFO}}}query")
        ET.SubElement(query, f"{{{DISCO_INFO}}}identity", {"category": "client", "type": "web", "name": "browser"})
        for feature in FEATURES:
            ET.SubElement(query, f"{{{DISCO_INFO}}}feature", {"var": feature})
        return caps_ver(query)

    # ----- when to join -----

    async def room_available(self, room):
        """The focus created or confirmed the room. before-box: join before the box is answered."""
        if self.mode != "before-box":
            return
        self.wanted.add(room)
        await self._join(room)

    def box_joined(self, room):
        if self.mode == "after-box" and room not in self.rooms and not self.left_for_good:
            self.wanted.add(room)
            asyncio.get_event_loop().call_later(self.join_delay, lambda: asyncio.ensure_future(self._join(room)))

    def leave(self, room):
        """--leave: leave the room like a browser tab that is closed (unavailable presence), for good."""
        self.left_for_good = True
        self.wanted.discard(room)
        if self.rooms.get(room) is None or not self.transport:
            self.events.info(f"simulated participant {self.index} is not in {room}; it will not join again")
            return False
        self.leaving.add(room)
        self.make_presence(pto=f"{room}/{self.endpoint}", ptype="unavailable").send()
        return True

    def send_presence_update(self, room):
        """Its presence again with the current SourceInfo (lib-jitsi-meet ChatRoom.sendPresence
        after JitsiConference._updateRoomPresence), e.g. when a share starts or stops."""
        if self.rooms.get(room) != "joined" or not self.transport:
            return False
        presence = self.make_presence(pto=f"{room}/{self.endpoint}")
        self._browser_extensions(presence.xml)
        presence.send()
        return True

    def room_gone(self, room):
        """The conference ended (destroyed, emptied, or the server restarted): join again once it exists."""
        self.rooms.pop(room, None)

    # ----- MUC -----

    async def _join(self, room, timeout=3):
        if room in self.rooms or self.endpoint is None or not self.transport or self.left_for_good:
            return
        self.rooms[room] = asyncio.get_event_loop().create_future()
        presence = self.make_presence(pto=f"{room}/{self.endpoint}")
        x = ET.SubElement(presence.xml, f"{{{MUC}}}x")
        secret = self.room_secrets.get(room.split("@")[0])
        if secret:
            ET.SubElement(x, f"{{{MUC}}}password").text = secret
        self._browser_extensions(presence.xml)
        presence.send()
        try:
            await asyncio.wait_for(asyncio.shield(self.rooms[room]), timeout)
        except Exception as error:
            self.events.error(f"simulated participant could not join {room}: {error!r}")
            self.rooms.pop(room, None)

    def _browser_extensions(self, xml):
        ns = self.default_ns
        ET.SubElement(xml, f"{{{CAPS}}}c", {"hash": "sha-1", "node": CAPS_NODE, "ver": self._caps()})
        ET.SubElement(xml, f"{{{NICK}}}nick").text = self.label
        ET.SubElement(xml, f"{{{ns}}}stats-id").text = self.stats_id
        ET.SubElement(xml, f"{{{ns}}}jitsi_participant_codecList").text = "vp8"
        ep = self.endpoint
        sources = {f"{ep}-a0": {"muted": False}, f"{ep}-v0": {"muted": False, "videoType": "camera"}}
        if self.remote_media.share is not None:
            # lib-jitsi-meet SignalingLayerImpl.setTrackVideoType/setTrackMuteStatus: the share's
            # entry carries videoType desktop; when the share stops, JitsiConference.replaceTrack
            # sends muted true for it (_sendMuteStatus) and the entry stays.
            sources[f"{ep}-v1"] = {"muted": not self.remote_media.sharing, "videoType": "desktop"}
        ET.SubElement(xml, f"{{{ns}}}SourceInfo").text = json.dumps(sources, separators=(",", ":"))
        ET.SubElement(xml, f"{{{ns}}}audiomuted").text = "false"
        ET.SubElement(xml, f"{{{ns}}}videomuted").text = "false"

    def _on_presence(self, stanza):
        room, nick = stanza["from"].bare, stanza["from"].resource
        if nick != self.endpoint:
            return
        x = child(stanza.xml, "x", MUC_USER)
        if stanza["type"] == "unavailable":
            # Reported even when the focus saw the room go first and room_gone() already
            # forgot it: our own removal arrives on our own stream, later or sooner.
            self.rooms.pop(room, None)
            requested = room in self.leaving
            self.leaving.discard(room)
            self.events.emit("participant-left", room=room, nick=nick, endpoint=nick, index=self.index,
                             tone_hz=self.remote_media.tone_hz, requested=requested,
                             destroyed=x is not None and child(x, "destroy", MUC_USER) is not None)
            return
        waiter = self.rooms.get(room)
        if waiter is None:
            return
        codes = {s.get("code") for s in x if local(s.tag) == "status"} if x is not None else set()
        if stanza["type"] == "error":
            if isinstance(waiter, asyncio.Future) and not waiter.done():
                waiter.set_exception(RuntimeError(stanza["error"]["condition"]))
            return
        if "110" in codes and isinstance(waiter, asyncio.Future):
            if not waiter.done():
                waiter.set_result(True)
            self.rooms[room] = "joined"
            r = self.remote_media
            self.events.emit("participant-joined", room=room, nick=nick, endpoint=nick, label=self.label,
                             index=self.index, tone_hz=r.tone_hz, audio_ssrc=r.audio_ssrc,
                             video_ssrc=r.video_ssrc, rtx_ssrc=r.rtx_ssrc)

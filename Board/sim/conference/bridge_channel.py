"""The bridge channel of the videobridge double: SCTP on a box session's DTLS, the data channel
the box opens on it, and the colibri messages, as jitsi-videobridge a29d97d runs them.

Transport (jvb Endpoint.kt createSctpConnection + SctpCallbacks, dcsctp/DcSctpTransport.kt,
datachannel/DataChannelStack.java, RemotelyOpenedDataChannel.java, reference.conf sctp):
* SCTP port 5000 (DcSctpTransport.DEFAULT_SCTP_PORT) inside the endpoint's DTLS association,
  made when the colibri2 endpoint has SCTP, which Jicofo asks for when it offers the `data`
  content. An endpoint's socket never connects by itself (only relay/Relay.kt calls connect()):
  it answers the client's INIT and "Will wait for the remote side to open the data channel".
* The client opens the channel with DCEP; the bridge acks it and allows one channel per
  endpoint (sctp.max-channels = 1): another OPEN is logged "Data channel limit exceeded." and
  ignored, no ACK, even after the first channel closed (the stack never forgets a channel).
  Data on a stream without a channel: "Could not find data channel for sid". Binary messages
  are dropped (EndpointMessageTransport.onDataChannelMessage only reads strings).
* 30 s after the DTLS handshake without a connected message transport the bridge logs
  "EndpointMessageTransport still not connected." (Endpoint.scheduleEndpointMessageTransportTimeout)
  and nothing else happens.

Messages (message/BridgeChannelMessage.kt, EndpointMessageTransport.java):
* When the channel opens (EndpointMessageTransport.setDataChannel -> notifyTransportChannelConnected):
  Endpoint.endpointMessageTransportConnected sends SenderSourceConstraints for each own source
  that has receivers (sendAllVideoConstraints) and ForwardedSources with the current set (maybe
  empty); Conference.endpointMessageTransportConnected sends DominantSpeakerEndpointChangeEvent
  when there are recent speakers.
* ClientHello -> ServerHello without version (videobridge.version.announce = false).
* ReceiverVideoConstraints -> AllocationSettingsWrapper.setBandwidthAllocationSettings;
  LastNChangedEvent -> lastN. The other client classes EndpointMessageTransport handles
  (EndpointStats, EndpointMessage, SourceVideoTypeMessage, VideoTypeMessage,
  ReceiverAudioSubscription) are accepted and have no effect here (nothing is relayed).
  Parsing and the JVB's texts: bridge_messages.py.

Allocation (which sources, at which layer): allocation.py. ForwardedSources goes out when the
forwarded set changes (BitrateController), not before the channel is open
(EndpointMessageTransport drops and counts such messages).

Sender constraints (AbstractEndpoint.kt addReceiver/removeReceiver, ReceiverConstraintsMap.kt):
the box's own video source gets SenderSourceConstraints with the highest maxHeight its
receivers ask for, when that changes; no receivers left -> 0. Here the receivers are the
simulated participants (browsers the double imagines), who ask for --sender-max-height.
"""
import asyncio
import time
from struct import unpack_from

from aiortc.rtcsctptransport import DATA_CHANNEL_ACK, DATA_CHANNEL_OPEN, WEBRTC_DCEP, RTCSctpTransport

from allocation import AllocationSettings, allocate
from bridge_messages import CLIENT_CLASSES, KNOWN_CLASSES, InvalidMessage, class_of, parse_message, text_of, validate

SCTP_PORT = 5000  # DcSctpTransport.DEFAULT_SCTP_PORT, Jingle sctpmap number
MAX_CHANNELS = 1  # videobridge.sctp.max-channels
RECENT_SPEAKERS = 10 + 1  # speech-activity.recent-speakers-count + 1 (ConferenceSpeechActivity)
NOT_CONNECTED_AFTER = 30  # seconds, Endpoint.scheduleEndpointMessageTransportTimeout
DEFAULT_SENDER_MAX_HEIGHT = 720  # the double's choice: a browser showing the box on stage

# The double's script, set by conference_server.py (like bridge.DOWNLINK_JITTER_MS):
# [(seconds after the channel opened, value)], sorted by time.
SENDER_MAX_HEIGHT = [(0.0, DEFAULT_SENDER_MAX_HEIGHT)]  # --sender-max-height
SPEAKERS = []  # --speakers: participant indices


def parse_schedule(text, minimum=None):
    """'720,180@5,0@10' -> [(0.0, 720), (5.0, 180), (10.0, 0)]: VALUE[@SECONDS], comma separated,
    integers, SECONDS >= 0 (default 0); sorted by time, entries at the same time in the order given."""
    entries = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        value, _, seconds = item.partition("@")
        try:
            value, seconds = int(value), float(seconds) if seconds else 0.0
        except ValueError:
            raise ValueError(f"{item!r} is not VALUE[@SECONDS]")
        if seconds < 0 or (minimum is not None and value < minimum):
            raise ValueError(f"{item!r} is out of range")
        entries.append((seconds, value))
    if not entries:
        raise ValueError("empty schedule")
    return sorted(entries, key=lambda e: e[0])


# ----- SCTP -----

class BridgeSctpTransport(RTCSctpTransport):
    """aiortc's SCTP as the JVB endpoint's dcSCTP socket: it never sends INIT (aiortc's start()
    initiates from both ends, RFC 8841 section 9.3; the endpoint only answers), it refuses an
    OPEN beyond sctp.max-channels without ACK, and a malformed DCEP message or data for a stream
    without a channel is reported instead of tripping aiortc's asserts (which would end the
    DTLS transport's receive task and with it all media of the session)."""

    def __init__(self, dtls_transport, report):
        super().__init__(dtls_transport, port=SCTP_PORT)
        self._classbox_report = report  # callable(event, **fields)
        self._channels_opened = 0

    async def _init(self):
        """start() calls this to send INIT: not an endpoint of the JVB."""

    def _set_state(self, state):
        previous = self._association_state
        super()._set_state(state)
        if state != previous and state in (self.State.ESTABLISHED, self.State.CLOSED):
            self._classbox_report("bridge_channel.sctp",
                                  state="connected" if state == self.State.ESTABLISHED else "closed")

    async def _data_channel_receive(self, stream_id, pp_id, data):
        if pp_id == WEBRTC_DCEP and data:
            if data[0] == DATA_CHANNEL_OPEN:
                label, protocol = _open_fields(data)
                if self._channels_opened >= MAX_CHANNELS or stream_id in self._data_channels:
                    self._classbox_report("bridge_channel.rejected", stream_id=stream_id, label=label,
                                          protocol=protocol, reason="Data channel limit exceeded.")
                    return
                if label is None:
                    self._classbox_report("bridge_channel.dropped", stream_id=stream_id, ppid=pp_id,
                                          bytes=len(data), reason="malformed DATA_CHANNEL_OPEN")
                    return
                self._channels_opened += 1
            elif data[0] == DATA_CHANNEL_ACK and stream_id not in self._data_channels:
                self._classbox_report("bridge_channel.dropped", stream_id=stream_id, ppid=pp_id,
                                      bytes=len(data), reason=f"Could not find data channel for sid {stream_id}")
                return
        elif stream_id not in self._data_channels:
            self._classbox_report("bridge_channel.dropped", stream_id=stream_id, ppid=pp_id, bytes=len(data),
                                  reason=f"Could not find data channel for sid {stream_id}")
            return
        try:
            await super()._data_channel_receive(stream_id, pp_id, data)
        except Exception as error:  # never let the box's bytes stop the DTLS receive loop
            self._classbox_report("bridge_channel.dropped", stream_id=stream_id, ppid=pp_id, bytes=len(data),
                                  reason=f"error: {error!r}")


def _open_fields(data):
    """Label and protocol of a DATA_CHANNEL_OPEN (RFC 8832 section 5.1); (None, None) if malformed."""
    if len(data) < 12:
        return None, None
    label_length, protocol_length = unpack_from("!HH", data, 8)
    if len(data) < 12 + label_length + protocol_length:
        return None, None
    try:
        return (data[12:12 + label_length].decode("utf-8"),
                data[12 + label_length:12 + label_length + protocol_length].decode("utf-8"))
    except UnicodeDecodeError:
        return None, None


# ----- one endpoint's channel -----

class BridgeChannel:
    """The bridge channel and the video allocation of one box endpoint (one BridgeSession).

    The session provides nick, sid, events, remotes (endpoint -> RemoteStream with index and
    state), video_sources(endpoint), box_video_sources(), set_layers(layers, reason, max_heights)
    and channel_opened()."""

    def __init__(self, session):
        self.session = session
        self.sctp = None
        self.channel = None
        self.opened_at = None  # time.monotonic() when the channel opened
        self.settings = AllocationSettings()
        self.forwarded = []  # source names, in priority order
        self.promoted = []  # endpoints that spoke, most recent first (ConferenceSpeechActivity)
        self.sender_max_height = {}  # own source name -> maxHeight last signalled (maxReceiverVideoConstraints)
        self.scheduled_sender = None  # what the imagined receivers ask for now (None: nothing yet)
        self.had_receivers = False
        self.received, self.unknown, self.sent = {}, {}, {}
        self.invalid = self.dropped_outgoing = 0
        self._timers = []
        self._stopped = False
        self._close_reason = None  # why the double closes it; None: the box did
        self._closed_reported = False

    # ----- plumbing -----

    def _emit(self, event, **fields):
        self.session.events.emit(event, nick=self.session.nick, sid=self.session.sid, **fields)

    def _later(self, delay, callback, *args):
        self._timers.append(asyncio.get_event_loop().call_later(delay, callback, *args))

    @property
    def is_open(self):
        return self.channel is not None and self.channel.readyState == "open"

    def start(self, dtls_transport):
        """DTLS is connected. Call from the connection-state handler itself (not a task): the
        SCTP transport must be the DTLS transport's data receiver before aiortc's receive task
        reads the first record, or the box's INIT is dropped (and only comes again after its T1)."""
        if self.sctp is not None or self._stopped:
            return
        try:
            self.sctp = BridgeSctpTransport(dtls_transport, self._emit)
        except Exception as error:  # the DTLS transport closed meanwhile
            self.session.events.info(f"no SCTP for {self.session.nick}: {error!r}")
            return
        self.sctp.on("datachannel", self._on_datachannel)
        asyncio.ensure_future(self.sctp.start(None, SCTP_PORT))
        self._later(NOT_CONNECTED_AFTER, self._not_connected)

    def _not_connected(self):
        if self.channel is None and not self._stopped:
            self._emit("bridge_channel.not_connected", after_s=NOT_CONNECTED_AFTER,
                       log="EndpointMessageTransport still not connected.")

    async def stop(self, reason):
        """The endpoint expires: the socket is closed (an ABORT if the association is up)."""
        if self._stopped:
            return
        self._stopped = True
        self._close_reason = f"endpoint expired ({reason})"
        for timer in self._timers:
            timer.cancel()
        if self.sctp is not None:
            try:
                await asyncio.wait_for(self.sctp.stop(), 2)
            except Exception as error:
                self.session.events.info(f"stopping SCTP of {self.session.nick}: {error!r}")
        self._channel_closed()

    def _channel_closed(self):
        """Once per channel: the box reset its stream or the association ended, or the endpoint expired."""
        if self.channel is None or self._closed_reported:
            return
        self._closed_reported = True
        self._emit("bridge_channel.closed", reason=self._close_reason or "closed by the box", **self._counts())

    def _counts(self):
        return {"received": dict(self.received), "unknown": dict(self.unknown), "invalid": self.invalid,
                "sent": dict(self.sent), "dropped_outgoing": self.dropped_outgoing}

    def summary(self):
        """For the media and session-ended events."""
        return {"sctp": self.sctp.state if self.sctp else "new", "open": self.is_open,
                "stream_id": self.channel.id if self.channel else None, "forwarded": list(self.forwarded),
                "settings": self.settings.describe(), "sender_max_height": dict(self.sender_max_height),
                **self._counts()}

    # ----- the channel -----

    def _on_datachannel(self, channel):
        if self.channel is not None:  # BridgeSctpTransport lets only one through
            return
        self.channel = channel
        self.opened_at = time.monotonic()
        channel.on("message", self._on_message)
        channel.on("close", self._channel_closed)
        self._emit("bridge_channel.open", stream_id=channel.id, label=channel.label, protocol=channel.protocol,
                   ordered=channel.ordered, max_retransmits=channel.maxRetransmits,
                   max_packet_life_time=channel.maxPacketLifeTime)
        # the script's state at the opening, then its later steps
        for seconds, value in SENDER_MAX_HEIGHT:
            if seconds <= 0:
                self.scheduled_sender = value
            else:
                self._later(seconds, self._sender_step, value)
        for seconds, index in SPEAKERS:
            if seconds <= 0:
                self._promote(index)
            else:
                self._later(seconds, self._speaker_step, index)
        self._update_sender_constraints(send=False)
        # Endpoint.endpointMessageTransportConnected
        for source, height in self.sender_max_height.items():
            self._send({"colibriClass": "SenderSourceConstraints", "sourceName": source, "maxHeight": height})
        self.update_forwarding("channel opened", send=False)
        self._send({"colibriClass": "ForwardedSources", "forwardedSources": list(self.forwarded)})
        # Conference.endpointMessageTransportConnected
        speakers = self.recent_speakers()
        if speakers:
            self._send_dominant_speaker(speakers)
        self.session.channel_opened()  # the origin of --share (focus.py)

    def _send(self, message):
        """EndpointMessageTransport.sendMessage: dropped and counted while no channel is open."""
        if not self.is_open:
            self.dropped_outgoing += 1
            return
        try:
            self.channel.send(text_of(message))
        except Exception as error:
            self.dropped_outgoing += 1
            self.session.events.info(f"bridge channel send to {self.session.nick} failed: {error!r}")
            return
        name = message["colibriClass"]
        self.sent[name] = self.sent.get(name, 0) + 1
        self._emit("bridge_channel.sent", colibriClass=name, message=message)

    def _on_message(self, data):
        if isinstance(data, bytes):  # onDataChannelMessage reads DataChannelStringMessage only
            self._emit("bridge_channel.received", colibriClass=None, message=None, binary=True, bytes=len(data),
                       known=False, valid=False, handled=False)
            return
        try:
            message = parse_message(data)
            name = message["colibriClass"]
            if name not in KNOWN_CLASSES:
                self.unknown[name] = self.unknown.get(name, 0) + 1
                self._emit("bridge_channel.received", colibriClass=name, message=message, known=False, valid=False,
                           handled=False, unknown_count=sum(self.unknown.values()),
                           error=f"Could not resolve type id '{name}'")
                return
            fields = validate(name, message)
        except InvalidMessage as error:
            self.invalid += 1
            self._emit("bridge_channel.received", colibriClass=class_of(data), message=None, text=data[:500],
                       known=class_of(data) in KNOWN_CLASSES, valid=False, handled=False, error=str(error))
            return
        self.received[name] = self.received.get(name, 0) + 1
        handled = name in CLIENT_CLASSES
        extra = {} if handled else {"error": "Received a message with an unexpected type"}
        self._emit("bridge_channel.received", colibriClass=name, message=message, known=True, valid=True,
                   handled=handled, **extra)
        if name == "ClientHello":
            self._send({"colibriClass": "ServerHello"})
        elif name == "ReceiverVideoConstraints":
            if self.settings.update(fields):
                self.update_forwarding("ReceiverVideoConstraints")
        elif name == "LastNChangedEvent":
            if self.settings.set_last_n(fields["lastN"]):
                self.update_forwarding("LastNChangedEvent")

    # ----- forwarding -----

    def present_endpoints(self):
        """The simulated participants on this session now, in speech-activity order."""
        present = [e for e, s in self.session.remotes.items() if s.state != "stopped"]
        return [e for e in self.promoted if e in present] + [e for e in present if e not in self.promoted]

    def video_sources(self):
        """[(name, videoType)] of the participants' video sources in speech-activity order (an
        endpoint's sources in their order: camera, then a share)."""
        return [source for endpoint in self.present_endpoints() for source in self.session.video_sources(endpoint)]

    def update_forwarding(self, reason, send=True):
        """Run the allocation and apply it to the senders (which sources, at which layer); on a
        new forwarded set tell the box (BitrateController.forwardedSourcesChanged ->
        Endpoint.sendForwardedSourcesMessage)."""
        layers = allocate(self.video_sources(), self.settings)
        names = list(layers)
        changed = set(names) != set(self.forwarded)
        self.forwarded = names
        if changed:
            endpoints = list(dict.fromkeys(n.rsplit("-", 1)[0] for n in names))
            self._emit("video.forwarding", forwarded=names, endpoints=endpoints, reason=reason,
                       settings=self.settings.describe())
        self.session.set_layers(layers, reason, {n: self.settings.constraints_for(n)[0] for n in names})
        if changed and send:
            self._send({"colibriClass": "ForwardedSources", "forwardedSources": list(names)})

    def remotes_changed(self, reason):
        """A simulated participant joined or left this session (Conference.endpointsChanged), or
        its sources changed (a share's source-add/-remove: Endpoint.setMediaSources)."""
        present = set(self.present_endpoints())
        speakers_before = self.recent_speakers()
        self.promoted = [e for e in self.promoted if e in present]
        speakers = self.recent_speakers()
        if self.is_open and speakers != speakers_before and speakers:
            self._send_dominant_speaker(speakers)
        self.update_forwarding(reason)
        self._update_sender_constraints()

    # ----- dominant speaker -----

    def recent_speakers(self):
        return self.promoted[:RECENT_SPEAKERS]

    def _endpoint_of(self, index):
        return next((e for e, s in self.session.remotes.items() if s.index == index and s.state != "stopped"), None)

    def _promote(self, index):
        """ConferenceSpeechActivity.activeSpeakerChanged: True when the dominant speaker changed."""
        endpoint = self._endpoint_of(index)
        if endpoint is None:
            self.session.events.info(f"--speakers: participant {index} is not on {self.session.nick}'s session")
            return False
        if self.promoted and self.promoted[0] == endpoint:
            return False
        self.promoted = [endpoint] + [e for e in self.promoted if e != endpoint]
        return True

    def _speaker_step(self, index):
        if self._stopped or not self._promote(index):
            return
        self._send_dominant_speaker(self.recent_speakers())
        self.update_forwarding("dominant speaker")  # lastNEndpointsChanged

    def _send_dominant_speaker(self, speakers):
        """DominantSpeakerMessage(recentSpeakers, silence): NON_NULL, silence detection off."""
        self.session._report("dominant-speaker", endpoint=speakers[0], channel_open=self.is_open)
        self._send({"colibriClass": "DominantSpeakerEndpointChangeEvent", "dominantSpeakerEndpoint": speakers[0],
                    "previousSpeakers": speakers[1:], "silence": False})

    # ----- the box's own video -----

    def _sender_step(self, value):
        if self._stopped:
            return
        self.scheduled_sender = value
        self._update_sender_constraints()

    def box_sources_changed(self):
        """source-add/-remove of the box (AbstractEndpoint.mediaSources: sendAllVideoConstraints
        when the first source appears; sendVideoConstraints skips names the endpoint lacks)."""
        self._update_sender_constraints()

    def _update_sender_constraints(self, send=True):
        if self.scheduled_sender is None:
            return
        if any(s.state != "stopped" for s in self.session.remotes.values()):
            self.had_receivers = True
            height = self.scheduled_sender
        elif self.had_receivers:
            height = 0  # ReceiverConstraintsMap.maxHeight without receivers
        else:
            return
        for source in self.session.box_video_sources():
            if self.sender_max_height.get(source) != height:
                self.sender_max_height[source] = height
                if send:
                    self._send({"colibriClass": "SenderSourceConstraints", "sourceName": source, "maxHeight": height})

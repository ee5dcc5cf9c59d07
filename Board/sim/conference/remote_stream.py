"""A simulated participant's media on one box session of the videobridge double (bridge.py):
its audio, its video sources (camera `<ep>-v0`, a screen share `<ep>-v1` while it shares),
the layer the bridge forwards of each (allocation.py) and the record of what was sent.

The record is what a test compares the box's decoded pictures against: per video source the
painted frame numbers handed to the encoder (first, last, count), per forwarding interval, and
the picture size over time. Events (all with the session's nick and sid):
* `video.layer` when the size the bridge forwards a source at changes (0x0: no longer forwarded);
* `video.sent` with state `started` at the first picture of a forwarding interval and `stopped`
  when it ends (held back, source removed, participant left, session ended).
"""
from allocation import FRAME_RATES, LAYERS, UNSIGNALLED_LAYER
from events import now as events_now


class VideoSource:
    """One video source of a participant on one box session: SSRCs, track and sender, the
    layer forwarded now (None: held back) and what was sent."""

    def __init__(self, endpoint, spec, report, held_back):
        """spec: (name, videoType, ssrc, rtx_ssrc); report(event, **fields) emits for the session.
        held_back: the session has the bridge channel, so nothing is forwarded before its
        allocation says so; without it every source is forwarded at a fixed layer."""
        self.endpoint = endpoint
        self.name, self.video_type, self.ssrc, self.rtx_ssrc = spec
        self.report = report
        self.fps = FRAME_RATES.get(self.video_type, FRAME_RATES["camera"])
        self.layer = None if held_back else UNSIGNALLED_LAYER.get(self.video_type, UNSIGNALLED_LAYER["camera"])
        self.max_height = None  # the effective constraint the layer was chosen for
        self.track = self.sender = None
        self.removed = False  # source-remove (share ended) or the participant left
        self.counts = None  # (packets sent, received by box) frozen when the sender stops
        self.frames = 0
        self.first_number = self.last_number = None
        self.sizes = []  # [t, width, height] when the size of the pictures sent changes; [t, 0, 0] at a stop
        self.intervals = []  # one per forwarding interval, see _start_interval
        self._current = None

    @property
    def forwarded(self):
        return self.layer is not None and not self.removed

    def track_size(self):
        """The size a new track starts with: the forwarded layer, else the lowest."""
        return self.layer or LAYERS.get(self.video_type, LAYERS["camera"])[0]

    def set_layer(self, layer, reason, max_height=None):
        """The bridge forwards this source at layer (width, height), or not (None)."""
        if self.removed or layer == self.layer:
            self.max_height = max_height if layer is not None else None
            return
        previous, self.layer, self.max_height = self.layer, layer, max_height
        width, height = layer or (0, 0)
        self.report("video.layer", endpoint=self.endpoint, source=self.name, video_type=self.video_type,
                    width=width, height=height, max_height=max_height,
                    previous=list(previous) if previous else None, reason=reason)
        if self.track is None:
            return
        if layer is None:
            self.track.set_forwarding(False)
            self.end_interval(reason)
            return
        self.track.set_size(*layer)  # a new size: aiortc's encoder starts again with a keyframe
        if previous is None:
            self.track.set_forwarding(True)
            if self.sender is not None:
                # The JVB asks the sender for a keyframe before it forwards a resumed source.
                self.sender._send_keyframe()

    def remove(self, reason):
        """Its source is gone (source-remove, the participant left) or the session ends: nothing
        more is sent. True the first time."""
        if self.removed:
            return False
        if self.layer is not None:
            self.set_layer(None, reason)
        self.end_interval(reason)
        self.removed = True
        if self.track is not None:
            self.track.set_forwarding(False)
        return True

    def on_frame(self, number, width, height):
        """PatternVideoTrack hands a picture to the encoder."""
        t = events_now()
        if self._current is None:
            self._start_interval(t, number, width, height)
        if not self.sizes or self.sizes[-1][1:] != [width, height]:
            self.sizes.append([t, width, height])
        self.frames += 1
        self._current["frames"] += 1
        self._current["last_number"] = number
        if self.first_number is None:
            self.first_number = number
        self.last_number = number

    def _start_interval(self, t, number, width, height):
        self._current = {"started_t": t, "stopped_t": None, "first_number": number, "last_number": number,
                         "frames": 0}
        self.intervals.append(self._current)
        self.report("video.sent", state="started", endpoint=self.endpoint, source=self.name,
                    video_type=self.video_type, ssrc=self.ssrc, first_number=number, width=width, height=height)

    def end_interval(self, reason):
        """No more pictures of this source go to the box (until it is forwarded again)."""
        if self._current is None:
            return
        t = events_now()
        self._current["stopped_t"] = t
        self.sizes.append([t, 0, 0])
        interval, self._current = self._current, None
        self.report("video.sent", state="stopped", endpoint=self.endpoint, source=self.name,
                    video_type=self.video_type, ssrc=self.ssrc, reason=reason, **interval,
                    sizes=[s for s in self.sizes if s[0] >= interval["started_t"]])

    def describe(self, counts):
        """For remote_video in media/session-ended; counts: (packets sent, received by box)."""
        sent, received = counts
        width, height = self.layer if self.forwarded else (0, 0)
        return {"source": self.name, "video_type": self.video_type, "ssrc": self.ssrc, "rtx_ssrc": self.rtx_ssrc,
                "fps": self.fps, "forwarded": self.forwarded, "removed": self.removed, "width": width,
                "height": height, "max_height": self.max_height, "packets_sent": sent, "received_by_box": received,
                "frames": self.frames, "first_number": self.first_number, "last_number": self.last_number,
                "sizes": list(self.sizes), "intervals": [dict(i) for i in self.intervals]}


class RemoteStream:
    """One simulated participant's audio + video senders on one box session."""

    def __init__(self, endpoint, remote, report, held_back):
        self.endpoint, self.index, self.tone_hz = endpoint, remote.index, remote.tone_hz
        self.audio_ssrc = remote.audio_ssrc
        self.cname = remote.cname
        self.modulation_hz = remote.modulation_hz
        self.report, self.held_back = report, held_back
        self.audio_sender = None
        self.videos = {}  # source name -> VideoSource, the camera first
        for spec in remote.video_sources():
            self.add_video(spec)
        self.state = "waiting"  # waiting (for the transport), sending, stopped
        self.started_t = self.stopped_t = None
        self.counts = None  # frozen when its senders stop: {"audio": (sent, received), "fec_packets": n}

    def add_video(self, spec):
        """A new source, or one that was removed and comes again (a second share by the same
        participant: same name and SSRCs; its record goes on, a new track counts from 0)."""
        video = self.videos.get(spec[0])
        if video is not None and video.removed:
            video.removed, video.track, video.sender, video.counts = False, None, None, None
            video.ssrc, video.rtx_ssrc = spec[2], spec[3]
            video.layer = None if self.held_back else UNSIGNALLED_LAYER.get(video.video_type, UNSIGNALLED_LAYER["camera"])
            return video
        video = VideoSource(self.endpoint, spec, self.report, self.held_back)
        self.videos[video.name] = video
        return video

    @property
    def camera(self):
        return next(iter(self.videos.values()))

    def active_videos(self):
        """The video sources the bridge has of this endpoint now (allocation candidates)."""
        return [v for v in self.videos.values() if not v.removed]

    def senders(self):
        """Its senders not yet stopped (audio first)."""
        videos = [v.sender for v in self.videos.values() if v.sender is not None and v.counts is None]
        return ([self.audio_sender] if self.audio_sender is not None else []) + videos

    def describe(self, counts, video_counts):
        """counts: {"audio": (packets sent, received per the box's last RR or None), "fec_packets"};
        video_counts: source name -> (sent, received)."""
        base = {"index": self.index, "endpoint": self.endpoint, "sending": self.state == "sending",
                "started_t": self.started_t, "stopped_t": self.stopped_t}
        audio_sent, audio_received = counts.get("audio", (0, None))
        audio = dict(base, ssrc=self.audio_ssrc, tone_hz=self.tone_hz, packets_sent=audio_sent,
                     received_by_box=audio_received, fec_packets=counts.get("fec_packets"))
        camera = self.camera
        video_sent, video_received = video_counts.get(camera.name, (0, None))
        video = dict(base, ssrc=camera.ssrc, rtx_ssrc=camera.rtx_ssrc, packets_sent=video_sent,
                     received_by_box=video_received, forwarded=camera.forwarded,
                     sources=[v.describe(video_counts.get(v.name, (0, None))) for v in self.videos.values()])
        return audio, video

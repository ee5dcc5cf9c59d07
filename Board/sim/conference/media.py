"""Test media of the simulated remote participant, and checks of the box's media.

The frame code is the box's own (Sources/Capture/TestPattern.swift): two rows of 16 blocks
in the top-left corner, row 0 = bits 0-15 of the frame number, row 1 = bits 16-23 plus a
check byte. frame_number() is the one reader of it; Tests/Interop/aiortc_peer.py imports it.
"""
import asyncio
import fractions
import math
import time
from collections import deque

import av
import numpy
from aiortc.mediastreams import MediaStreamTrack
from events import now as events_now

VIDEO_CLOCK = 90000
VIDEO_FPS = 30
AUDIO_RATE = 48000
AUDIO_PTIME = 0.020
TONE_HZ = 660.0


def check_byte(number):
    return (number ^ number >> 8 ^ number >> 16 ^ 0x5A) & 0xFF


def block_size(height, width):
    return max(4, min(height // 15, (width - 8) // 18))


def frame_number(luma):
    """Reads the painted frame number from a luma plane; None if absent or misread."""
    height, width = luma.shape
    block = block_size(height, width)
    margin = block // 2
    rows = [0, 0]
    for row in range(2):
        for bit in range(16):
            x0 = margin + bit * block + block // 4
            y0 = margin + row * block + block // 4
            if luma[y0:y0 + max(1, block // 2), x0:x0 + max(1, block // 2)].mean() > 128:
                rows[row] |= 1 << bit
    number = rows[0] | (rows[1] & 0xFF) << 16
    return number if rows[1] >> 8 == check_byte(number) else None


def paint_frame(number, width, height):
    """An I420 picture (numpy, height*3/2 x width): moving bars, a moving square, the code."""
    x = numpy.arange(width)
    shift = (number * 4) % width
    row = ((((x + shift) // 80) % 2) * 120 + 60).astype(numpy.uint8)
    luma = numpy.tile(row, (height, 1))
    side = height // 6
    left = (number * 6) % (width - side)
    top = height // 2 + int(height // 4 * math.sin(number / 15))
    luma[max(0, top - side // 2):min(height, top + side // 2), left:left + side] = 235
    block = block_size(height, width)
    margin = block // 2
    code = number & 0xFFFFFF
    bits = [code & 0xFFFF, (code >> 16 & 0xFF) | check_byte(code) << 8]
    luma[:2 * block + 2 * margin, :17 * block] = 128
    for r in range(2):
        for bit in range(16):
            value = 235 if bits[r] >> bit & 1 else 16
            y, xx = margin + r * block, margin + bit * block
            luma[y:y + block, xx:xx + block] = value
    chroma = numpy.full((height // 2, width), 128, numpy.uint8)
    return numpy.vstack([luma, chroma])


class PatternVideoTrack(MediaStreamTrack):
    """A participant's camera or screen share: the test pattern with the frame counter painted in,
    at `fps` (30 for a camera, 5 for a share), at the size of the layer the bridge forwards.

    forwarding=False holds the frames back (the bridge does not forward this source to the box,
    see allocation.py): recv() waits until set_forwarding(True). The camera keeps running
    meanwhile, so the first frame after a pause carries the number (and pts) of the current
    time: the RTP timestamp jumps by the pause, the sequence numbers stay contiguous, as the
    JVB's forwarding of a resumed source looks to a receiver.

    set_size(): the bridge switches to another simulcast layer (allocation.py). All layers of a
    browser's simulcast carry the same pictures, so the counter runs on; only the size changes.
    aiortc 1.16's Vp8Encoder.encode (aiortc/codecs/vpx.py) drops its libvpx context when a
    frame's width or height differs from the context's and opens a new one, whose first frame
    libvpx always codes as a keyframe; the encoder object and its VP8 picture id run on. So the
    box sees, on the same SSRC, a keyframe at the new size and continuous picture ids, as the
    JVB's switch to another layer looks (it waits for the target layer's keyframe).

    on_frame(number, width, height), when given, is called for every picture handed to the
    encoder (the bridge's record of what it sent)."""

    kind = "video"

    def __init__(self, width=640, height=360, forwarding=True, fps=VIDEO_FPS, on_frame=None, first_number=0):
        super().__init__()
        self.width, self.height = width, height
        # Painted numbers start here (so a screen test can tell two participants' pictures
        # apart); the frame timing counts from 0 as before.
        self.first_number = first_number
        self.fps = fps
        self.on_frame = on_frame
        self.number = 0
        self._start = None
        self._forwarding = asyncio.Event()
        if forwarding:
            self._forwarding.set()

    @property
    def forwarding(self):
        return self._forwarding.is_set()

    def set_forwarding(self, on):
        if on:
            self._forwarding.set()
        else:
            self._forwarding.clear()

    def set_size(self, width, height):
        """The next picture has this size (the forwarded layer changed)."""
        self.width, self.height = width, height

    async def recv(self):
        while True:
            if not self._forwarding.is_set():
                await self._forwarding.wait()
                if self._start is not None:  # skip the frames the camera made while held back
                    self.number = max(self.number, int((time.monotonic() - self._start) * self.fps))
            if self._start is None:
                self._start = time.monotonic()
            else:
                wait = self._start + self.number / self.fps - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            if self._forwarding.is_set():  # not held back while waiting for the frame time
                break
        width, height = self.width, self.height
        frame = av.VideoFrame.from_ndarray(paint_frame(self.first_number + self.number, width, height), format="yuv420p")
        frame.pts = int(self.number * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        if self.on_frame is not None:
            self.on_frame(self.first_number + self.number, width, height)
        self.number += 1
        return frame


class ToneAudioTrack(MediaStreamTrack):
    """A participant's microphone: a continuous sine (660 Hz unless told), 20 ms frames, 48 kHz mono.

    modulation_hz > 0: the amplitude swings between 0.1 and 1 times amplitude at that rate, like
    syllables. Opus's SILK voice-activity detector rates a steady sine as inactive after about
    0.6 s and then codes no in-band FEC (LBRR) for it; with a 4 Hz swing about 2/3 of the packets
    carry LBRR. The carrier frequency (what tone_frequency() measures) is unchanged."""

    kind = "audio"

    def __init__(self, frequency=TONE_HZ, amplitude=0.3, modulation_hz=0.0):
        super().__init__()
        self.frequency, self.amplitude, self.modulation_hz = frequency, amplitude, modulation_hz
        self.samples = int(AUDIO_RATE * AUDIO_PTIME)
        self.sent = 0
        self._start = None

    async def recv(self):
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self.sent / AUDIO_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        n = numpy.arange(self.sent, self.sent + self.samples)
        wave = numpy.sin(2 * math.pi * self.frequency * n / AUDIO_RATE) * self.amplitude * 32767
        if self.modulation_hz:
            wave *= 0.55 + 0.45 * numpy.sin(2 * math.pi * self.modulation_hz * n / AUDIO_RATE)
        frame = av.AudioFrame.from_ndarray(wave.astype(numpy.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self.sent
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self.sent += self.samples
        return frame


def enable_opus_fec(packet_loss_percent):
    """--opus-fec: in-band FEC in every Opus encoder of this process (only the simulated
    participants encode Opus here; the box's audio is only decoded).

    aiortc 1.16's OpusEncoder (aiortc/codecs/opus.py) opens FFmpeg's libopus through PyAV with
    only application=voip at 96 kbit/s: no OPUS_SET_INBAND_FEC, no OPUS_SET_PACKET_LOSS_PERC, so
    libopus codes a steady tone in CELT-only mode, which has no LBRR at all. FFmpeg's libopusenc
    maps its AVOptions "fec" and "packet_loss" to those two CTLs; with them libopus switches to
    hybrid (SILK+CELT) and adds LBRR (the FEC copy of the previous frame) to packets whose frame
    SILK's VAD rates as active. Chrome does the same by default (useinbandfec=1 from the SDP,
    packet loss from its estimate)."""
    from aiortc.codecs import opus

    original = getattr(opus.OpusEncoder.__init__, "classbox_original", opus.OpusEncoder.__init__)

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.codec.options = dict(self.codec.options or {}, fec="1", packet_loss=str(int(packet_loss_percent)))
        self.fec_packets = 0  # packets with LBRR, read by the bridge double for its events
        encode = self.encode

        def counting_encode(frame, force_keyframe=False):
            payloads, timestamp = encode(frame, force_keyframe)
            self.fec_packets += sum(1 for payload in payloads if opus_has_fec(payload))
            return payloads, timestamp

        self.encode = counting_encode

    init.classbox_original = original
    opus.OpusEncoder.__init__ = init


def opus_has_fec(payload):
    """Whether an Opus packet carries LBRR (in-band FEC) data, via the libopus PyAV bundles
    (opus_packet_has_lbrr, libopus >= 1.5); None when that library cannot be found."""
    lib = _libopus()
    if lib is None or not payload:
        return None
    return lib.opus_packet_has_lbrr(bytes(payload), len(payload)) > 0


_LIBOPUS = []


def _libopus():
    if not _LIBOPUS:
        import ctypes
        import glob
        import os
        lib = None
        folder = os.path.join(os.path.dirname(os.path.dirname(av.__file__)), "av.libs")
        for path in sorted(glob.glob(os.path.join(folder, "libopus*"))) + ["libopus.so.0"]:
            try:
                candidate = ctypes.CDLL(path)
                candidate.opus_packet_has_lbrr.argtypes = [ctypes.c_char_p, ctypes.c_int32]
                lib = candidate
                break
            except (OSError, AttributeError):
                continue
        _LIBOPUS.append(lib)
    return _LIBOPUS[0]


def tone_frequency(samples, rate=AUDIO_RATE):
    """Frequency from rising zero crossings, interpolated (the method of aiortc_peer.py)."""
    if len(samples) < rate // 10:
        return None
    audio = numpy.asarray(samples, dtype=float)
    crossings = numpy.where((audio[:-1] < 0) & (audio[1:] >= 0))[0]
    if len(crossings) < 2:
        return None
    exact = crossings - audio[crossings] / (audio[crossings + 1] - audio[crossings])
    return round((len(exact) - 1) / ((exact[-1] - exact[0]) / rate), 2)


class ReceivedMedia:
    """What the bridge double decoded from one box session."""

    def __init__(self):
        self.video_frames = 0
        self.numbers = []
        # The longest pause between two decoded frames (ms) and when it ended (events' "t"):
        # what a viewer sees freeze, e.g. while the box's signalling reconnects.
        self.last_video_t = None
        self.video_gap_max_ms = 0
        self.video_gap_max_end_t = None
        self.audio_frames = 0
        self.recent_audio = deque(maxlen=AUDIO_RATE)  # the last second, for the tone
        self.width = self.height = None

    def add_video(self, frame):
        plane = frame.planes[0]
        luma = numpy.frombuffer(plane, numpy.uint8).reshape(frame.height, plane.line_size)[:, :frame.width]
        self.width, self.height = frame.width, frame.height
        self.video_frames += 1
        self.numbers.append(frame_number(luma))
        t = events_now()
        if self.last_video_t is not None and (t - self.last_video_t) * 1000 > self.video_gap_max_ms:
            self.video_gap_max_ms = round((t - self.last_video_t) * 1000)
            self.video_gap_max_end_t = t
        self.last_video_t = t

    def add_audio(self, frame):
        self.audio_frames += 1
        data = frame.to_ndarray()[0]
        channels = len(frame.layout.channels)
        self.recent_audio.extend(data[::channels] if frame.format.is_packed else data)

    def summary(self, full=False):
        decoded = [n for n in self.numbers if n is not None]
        report = {
            "video_frames": self.video_frames,
            "numbers_first": decoded[0] if decoded else None,
            "numbers_last": decoded[-1] if decoded else None,
            "decoded_numbers_count": len(decoded),
            "in_order": all(b > a for a, b in zip(decoded, decoded[1:])),
            "audio_frames": self.audio_frames,
            "tone_hz": tone_frequency(self.recent_audio),
            "video_size": [self.width, self.height] if self.width else None,
            "video_gap_max_ms": self.video_gap_max_ms,
            "video_gap_max_end_t": self.video_gap_max_end_t,
        }
        if full:
            report["numbers"] = self.numbers
        return report

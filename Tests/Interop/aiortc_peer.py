#!/usr/bin/env python3
"""aiortc (an independent WebRTC stack, from PyPI) as the box's peer in Tests/Interop.

    aiortc_peer.py offer  OFFER_OUT ANSWER_IN SECONDS [--pli-at S]
    aiortc_peer.py answer OFFER_IN ANSWER_OUT SECONDS [--pli-at S]

It receives the box's VP8 and Opus over ICE and DTLS-SRTP, decodes them, reads the frame
number the box's test pattern paints into every picture, and prints one line of JSON:
frames decoded, the numbers in order, audio frames and the tone's frequency, the connection
state, and (with --pli-at) how long after its PLI the next keyframe arrived.

Two changes to aiortc's defaults (see the research note test-rig.md §E): aioice offers only
non-loopback addresses and aiortc adds Google's STUN server; here candidates are loopback
(or, with CLASSBOX_PEER_ADDRESS, that address) and there are no ICE servers at all.
"""
import asyncio
import json
import os
import sys
import time

import aioice.ice

# The reader of the box's painted frame numbers lives with the local conference server.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Board", "sim", "conference"))
from media import frame_number  # noqa: E402
import numpy
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcrtpreceiver import RTCRtpReceiver

ADDRESS = os.environ.get("CLASSBOX_PEER_ADDRESS", "127.0.0.1")
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [ADDRESS] if use_ipv4 else []


KEYFRAMES = []  # arrival times (monotonic) of the first packet of each VP8 keyframe
AUDIO_PACKETS = [0]  # Opus RTP packets that reached aiortc's receiver (after SRTP)


def is_vp8_keyframe_start(payload):
    """RFC 7741: S=1 and partition 0 in the descriptor, then P=0 in the VP8 payload header."""
    if len(payload) < 2 or payload[0] & 0x1F != 0x10:
        return False
    offset = 1
    if payload[0] & 0x80:
        flags = payload[1]
        offset = 2
        if flags & 0x80:
            offset += 2 if payload[offset] & 0x80 else 1
        if flags & 0x40:
            offset += 1
        if flags & 0x30:
            offset += 1
    return offset < len(payload) and payload[offset] & 0x01 == 0


original_handle = RTCRtpReceiver._handle_rtp_packet


async def observing_handle(self, packet, arrival_time_ms):
    if self._RTCRtpReceiver__kind == "audio":
        AUDIO_PACKETS[0] += 1
    if packet.payload and is_vp8_keyframe_start(packet.payload):
        KEYFRAMES.append(time.monotonic())
    return await original_handle(self, packet, arrival_time_ms)


RTCRtpReceiver._handle_rtp_packet = observing_handle

# For a failing run's message: when aiortc asked for keyframes by itself (its jitter buffer
# gave up on a frame, or its decoder failed) and when frames were decoded or unreadable.
T0 = time.monotonic()
OWN_PLIS = []
original_pli = RTCRtpReceiver._send_rtcp_pli


async def observing_pli(self, media_ssrc):
    OWN_PLIS.append(round(time.monotonic() - T0, 2))
    return await original_pli(self, media_ssrc)


RTCRtpReceiver._send_rtcp_pli = observing_pli


async def wait_for(path, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            text = open(path).read()
            if "a=" in text:
                return text
        await asyncio.sleep(0.05)
    raise TimeoutError(path)


async def main():
    mode, offer_path, answer_path, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    pli_at = float(sys.argv[sys.argv.index("--pli-at") + 1]) if "--pli-at" in sys.argv else None
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    result = {"frames": 0, "numbers": [], "audioFrames": 0, "keyframes": 0, "pliToKeyframeMs": None}
    samples = []
    pli_sent = {"at": None}

    async def consume_video(track):
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            result["frames"] += 1
            luma = frame.to_ndarray(format="gray")
            number = frame_number(luma)
            result["numbers"].append(number)
            if number is None:
                result.setdefault("unreadableAt", []).append(round(time.monotonic() - T0, 2))

    async def consume_audio(track):
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            result["audioFrames"] += 1
            samples.append(frame.to_ndarray()[0][::frame.layout.channels.__len__()])

    @pc.on("track")
    def on_track(track):
        asyncio.ensure_future(consume_video(track) if track.kind == "video" else consume_audio(track))

    if mode == "offer":
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        open(offer_path + ".tmp", "w").write(pc.localDescription.sdp)
        os.rename(offer_path + ".tmp", offer_path)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=await wait_for(answer_path), type="answer"))
    else:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=await wait_for(offer_path), type="offer"))
        for transceiver in pc.getTransceivers():
            transceiver.direction = "recvonly"
        await pc.setLocalDescription(await pc.createAnswer())
        open(answer_path + ".tmp", "w").write(pc.localDescription.sdp)
        os.rename(answer_path + ".tmp", answer_path)

    async def send_pli():
        for receiver in pc.getReceivers():
            if receiver.track and receiver.track.kind == "video":
                for ssrc in list(getattr(receiver, "_RTCRtpReceiver__remote_streams", {})):
                    await receiver._send_rtcp_pli(ssrc)
                    pli_sent["all"].append(time.monotonic())

    # Like a real receiver, the PLI is repeated (every 250 ms, at most 5 times) until a
    # keyframe arrives: on a lossy link the PLI itself or the keyframe's first packet can be lost.
    pli_sent["all"] = []
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        await asyncio.sleep(0.05)
        if pli_at is None or time.monotonic() - start < pli_at:
            continue
        answered = pli_sent["all"] and any(t >= pli_sent["all"][0] for t in KEYFRAMES)
        if not answered and len(pli_sent["all"]) < 5 and (not pli_sent["all"] or time.monotonic() - pli_sent["all"][-1] >= 0.25):
            await send_pli()
            pli_sent["at"] = pli_sent["all"][0] if pli_sent["all"] else None
    result["state"] = pc.connectionState
    result["keyframes"] = len(KEYFRAMES)
    result["keyframesAt"] = [round(t - T0, 2) for t in KEYFRAMES]
    # Datagrams the kernel dropped because this process did not read its socket in time.
    with open("/proc/net/snmp") as f:
        udp = [line.split() for line in f if line.startswith("Udp:")]
    result["udpReceiveBufferErrors"] = int(udp[1][udp[0].index("RcvbufErrors")])
    result["plisAt"] = OWN_PLIS  # the test's own (--pli-at) included
    result["audioPackets"] = AUDIO_PACKETS[0]
    if pli_sent["at"] is not None:
        after = [t for t in KEYFRAMES if t >= pli_sent["at"]]
        if after:
            # measured from the last PLI sent before the keyframe arrived (the one that got through)
            asked = max(t for t in pli_sent["all"] if t <= after[0])
            result["pliToKeyframeMs"] = round((after[0] - asked) * 1000)
        result["plisSent"] = len(pli_sent["all"])
    if samples:
        audio = numpy.concatenate(samples).astype(float)[48000:]
        crossings = numpy.where((audio[:-1] < 0) & (audio[1:] >= 0))[0]
        if len(crossings) > 1:
            exact = crossings - audio[crossings] / (audio[crossings + 1] - audio[crossings])
            result["toneHz"] = round((len(exact) - 1) / ((exact[-1] - exact[0]) / 48000), 2)
    await pc.close()
    print(json.dumps(result))


asyncio.run(main())

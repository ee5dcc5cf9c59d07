"""What the videobridge double does to the packets on a box session's one bundled DTLS transport
(bridge.py): drop RTP of unsignalled SSRCs, set Opus markers like a browser, and the optional
downlink jitter (--downlink-jitter)."""
import asyncio
import random
import time


def filter_unsignalled(dtls_transport, allowed, on_unsignalled):
    """Replace aiortc's routing-by-payload-type fallback: RTP from SSRCs not in allowed() is
    dropped, as the bridge drops packets of unknown sources (jvb cc/allocation/PacketHandler.kt
    "Dropping an RTP packet for an unknown SSRC"); on_unsignalled(packet) counts it."""
    router = dtls_transport._rtp_router
    route = router.route_rtp

    def route_signalled_only(packet):
        if packet.ssrc in allowed():
            return route(packet)
        on_unsignalled(packet)
        return None

    router.route_rtp = route_signalled_only


def browser_audio_markers(dtls_transport, opus_payload_type):
    """The RTP marker on Opus packets as a browser sets it: only on the first packet of a
    talkspurt (libwebrtc; RFC 3551 section 4.1), which without DTX is a stream's first packet.
    aiortc 1.16 (rtcrtpsender.py _run_rtp) marks every packet of a one-packet frame, so a
    receiver would take every lost packet for a silence gap. The bridge forwards markers as
    they come. Rewritten here, before SRTP; video (end of frame) is left alone."""
    send = dtls_transport._send_rtp
    started = set()

    async def send_rtp(data):
        if len(data) >= 12 and data[1] & 0x7F == opus_payload_type:
            ssrc = int.from_bytes(data[8:12], "big")
            if ssrc in started:
                data = data[:1] + bytes([data[1] & 0x7F]) + data[2:]
            else:
                started.add(ssrc)
        return await send(data)

    dtls_transport._send_rtp = send_rtp


def delay_downlink(dtls_transport, max_ms, applied, wire, opus_payload_type):
    """--downlink-jitter: every RTP packet to the box (the one bundled DTLS transport) leaves
    after its own random delay of 0..max_ms ms (appended to applied), so later packets may
    overtake earlier ones, as on a jittery path; SRTP protection happens when it leaves
    (libsrtp takes any order). For Opus packets, (time of leaving, RTP timestamp) goes to
    wire: what a receiver actually gets includes this process's own lateness (a busy event
    loop sends late), which the applied delays do not show."""
    send = dtls_transport._send_rtp
    loop = asyncio.get_event_loop()

    async def send_later(data, delay):
        await asyncio.sleep(delay)
        if len(data) >= 12 and data[1] & 0x7F == opus_payload_type:
            wire.append((time.monotonic(), int.from_bytes(data[8:12], "big"), int.from_bytes(data[4:8], "big")))
        try:
            await send(data)
        except Exception:  # the transport closed meanwhile
            pass

    async def send_delayed(data):
        delay_ms = random.uniform(0, max_ms)
        applied.append(delay_ms)
        loop.create_task(send_later(data, delay_ms / 1000))

    dtls_transport._send_rtp = send_delayed


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None


def wire_delays(wire, rate=48000):
    """The relative delay of every Opus packet as it left (NetEq's measure, per SSRC): how much
    later than the earliest-leaving packet predicts from the RTP timestamps, in ms, with the
    time it left (seconds since the first)."""
    if not wire:
        return []
    first = wire[0][0]
    by_ssrc = {}
    for sent, ssrc, timestamp in wire:
        by_ssrc.setdefault(ssrc, []).append((sent, timestamp))
    delays = []
    for packets in by_ssrc.values():
        base = packets[0][1]
        # Signed 32-bit distance: a packet that overtook the first one has an earlier timestamp.
        offsets = [(sent, sent - (((timestamp - base + 2**31) & 0xFFFFFFFF) - 2**31) / rate) for sent, timestamp in packets]
        earliest = min(offset for _, offset in offsets)
        delays += [(sent - first, (offset - earliest) * 1000) for sent, offset in offsets]
    return delays


def jitter_summary(delays, wire, max_ms, settle_s=2.0, tolerance_ms=10.0):
    """downlink_jitter in media/session-ended: the applied delays, and what left the relay
    (wire_*): its p95, its maximum, and how many Opus packets after settle_s left later than
    the nominal max_ms + tolerance_ms (the host, not the simulated network, delayed them)."""
    summary = {"packets": len(delays), "p50_ms": round(_percentile(delays, 0.5), 1),
               "p95_ms": round(_percentile(delays, 0.95), 1), "max_ms": round(max(delays), 1)}
    relative = wire_delays(wire)
    if relative:
        values = [delay for _, delay in relative]
        summary.update(wire_packets=len(values), wire_p95_ms=round(_percentile(values, 0.95), 1),
                       wire_max_ms=round(max(values), 1),
                       wire_beyond=sum(1 for at, delay in relative if at >= settle_s and delay > max_ms + tolerance_ms))
    return summary

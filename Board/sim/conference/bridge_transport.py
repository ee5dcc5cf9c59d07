"""What the videobridge double does to the packets on a box session's one bundled DTLS transport
(bridge.py): drop RTP of unsignalled SSRCs, set Opus markers like a browser, and the optional
downlink jitter (--downlink-jitter)."""
import asyncio
import random


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


def delay_downlink(dtls_transport, max_ms, applied):
    """--downlink-jitter: every RTP packet to the box (the one bundled DTLS transport) leaves
    after its own random delay of 0..max_ms ms (appended to applied), so later packets may
    overtake earlier ones, as on a jittery path; SRTP protection happens when it leaves
    (libsrtp takes any order)."""
    send = dtls_transport._send_rtp
    loop = asyncio.get_event_loop()

    async def send_later(data, delay):
        await asyncio.sleep(delay)
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


def jitter_summary(delays):
    """downlink_jitter in media/session-ended."""
    return {"packets": len(delays), "p50_ms": round(_percentile(delays, 0.5), 1),
            "p95_ms": round(_percentile(delays, 0.95), 1), "max_ms": round(max(delays), 1)}

"""Jingle as Jicofo writes it, and the translation between Jingle and aiortc's SDP.

Offer layout mirrors jicofo JingleOfferFactory.java + jicofo-common codec/CodecUtil.kt with the
defaults of jicofo-common reference.conf (jicofo.codec): Opus 111 (minptime 10, useinbandfec 1),
telephone-event 126, AV1 41 / VP8 100 / H264 107 / VP9 101 with rtx 42 / 96 / 99 / 97,
hdrext audio-level 1, abs-send-time 3, tcc 5, sdes:mid 10, AV1 dependency descriptor 11,
extmap-allow-mixed. The transport is the bridge's (jvb transport/ice/IceTransport.kt describe(),
transport/dtls/DtlsTransport.kt describe()), copied into every content by
ParticipantInviteRunnable.updateOffer(), which also adds <rtcp-mux/> to each description and an
<sctpmap> to the data transport. Element order follows jitsi-xmpp-extensions
RtpDescriptionPacketExtension.getChildExtensions(): payload types, rtp-hdrext,
extmap-allow-mixed, then the rest.
"""
import xml.etree.ElementTree as ET

from sources import RTP, JITMEET, compact_json, add_to_descriptions

JINGLE = "urn:xmpp:jingle:1"
HDREXT = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
RTCPFB = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
ICE = "urn:xmpp:jingle:transports:ice-udp:1"
DTLS = "urn:xmpp:jingle:apps:dtls:0"
SCTP = "urn:xmpp:jingle:transports:dtls-sctp:1"
GROUPING = "urn:xmpp:jingle:apps:grouping:0"
FOCUS = "http://jitsi.org/protocol/focus"
START_MUTED = "http://jitsi.org/jitmeet/start-muted"

# Features (jicofo-common xmpp/Features.kt)
F_AUDIO = "urn:xmpp:jingle:apps:rtp:audio"
F_VIDEO = "urn:xmpp:jingle:apps:rtp:video"
F_SCTP = "urn:xmpp:jingle:transports:dtls-sctp:1"
F_RTX = "urn:ietf:rfc:4588"
F_REMB = "http://jitsi.org/remb"
F_TCC = "http://jitsi.org/tcc"
F_JSON_SOURCES = "http://jitsi.org/json-encoded-sources"
F_SSRC_REWRITING = "http://jitsi.org/ssrc-rewriting-1"
DEFAULT_FEATURES = {F_AUDIO, F_VIDEO, F_SCTP}  # Features.defaultFeatures

URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_TCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
URI_AV1_DD = "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"
VIDEO_CODECS = [("AV1", 41, 42), ("VP8", 100, 96), ("H264", 107, 99), ("VP9", 101, 97)]


def offer_options(features):
    """OfferOptions + OfferOptionsUtil.applyConstraints + ParticipantInviteRunnable.createOffer."""
    tcc = F_TCC in features
    return {
        "audio": F_AUDIO in features, "video": F_VIDEO in features, "sctp": F_SCTP in features,
        "rtx": F_RTX in features, "tcc": tcc, "remb": not tcc and F_REMB in features,
        "json_sources": F_JSON_SOURCES in features,
    }


def offers_data(options):
    """Whether the box gets the data content: sctp offered and kept by toContents(), which
    needs json-encoded-sources (see session_initiate). Then the bridge runs SCTP for it."""
    return options["sctp"] and options["json_sources"]


def accepted_data(contents):
    """The data content of the box's session-accept: (present, SCTP port from its sctpmap or
    sctp-port or None). Informational: the bridge uses port 5000 (DcSctpTransport) regardless."""
    for content in contents:
        if content.get("name") != "data":
            continue
        for transport in content.findall(f"{{{ICE}}}transport"):
            sctpmap, port = transport.find(f"{{{SCTP}}}sctpmap"), transport.find(f"{{{SCTP}}}sctp-port")
            value = sctpmap.get("number") if sctpmap is not None else \
                (port.get("value") or port.text) if port is not None else None
            try:
                return True, int(value)
            except (TypeError, ValueError):
                return True, None
        return True, None
    return False, None


def _el(parent, tag, attrs=None, text=None):
    element = ET.SubElement(parent, tag, {k: str(v) for k, v in (attrs or {}).items()})
    if text is not None:
        element.text = text
    return element


def _payload_type(parent, pt, name, clockrate, channels=None):
    attrs = {"id": pt, "name": name, "clockrate": clockrate}
    if channels:
        attrs["channels"] = channels
    return _el(parent, f"{{{RTP}}}payload-type", attrs)


def _fb(payload, fb_type, subtype=None):
    attrs = {"type": fb_type}
    if subtype:
        attrs["subtype"] = subtype
    _el(payload, f"{{{RTCPFB}}}rtcp-fb", attrs)


def _hdrext(parent, ext_id, uri):
    _el(parent, f"{{{HDREXT}}}rtp-hdrext", {"id": ext_id, "uri": uri})


def _audio_description(options):
    """JingleOfferFactory.addAudioToContent; CodecUtil.createAudio*: hdrext before payload types
    in code, but getChildExtensions() writes payload types first."""
    d = ET.Element(f"{{{RTP}}}description", {"media": "audio", "maxptime": "60"})
    opus = _payload_type(d, 111, "opus", 48000, 2)
    _el(opus, f"{{{RTP}}}parameter", {"name": "minptime", "value": "10"})
    _el(opus, f"{{{RTP}}}parameter", {"name": "useinbandfec", "value": "1"})
    if options["tcc"]:
        _fb(opus, "transport-cc")
    _payload_type(d, 126, "telephone-event", 8000)
    _hdrext(d, 1, URI_AUDIO_LEVEL)
    _hdrext(d, 10, URI_MID)
    if options["tcc"]:
        _hdrext(d, 5, URI_TCC)
    _el(d, f"{{{HDREXT}}}extmap-allow-mixed")
    return d


def _video_feedback(payload, options):
    """CodecUtil.addVideoExtensions."""
    _fb(payload, "ccm", "fir")
    _fb(payload, "nack")
    _fb(payload, "nack", "pli")
    if options["remb"]:
        _fb(payload, "goog-remb")
    if options["tcc"]:
        _fb(payload, "transport-cc")


def _video_description(options):
    d = ET.Element(f"{{{RTP}}}description", {"media": "video"})
    for name, pt, _ in VIDEO_CODECS:
        payload = _payload_type(d, pt, name, 90000)
        if name == "H264":
            _el(payload, f"{{{RTP}}}parameter", {"name": "profile-level-id",
                                                  "value": "42e01f;level-asymmetry-allowed=1;packetization-mode=1;"})
        _video_feedback(payload, options)
    if options["rtx"]:
        # CodecUtil adds rtx in the order AV1, VP8, VP9, H264 (H264's rtx without rtcp-fb)
        for name, pt, rtx in [VIDEO_CODECS[0], VIDEO_CODECS[1], VIDEO_CODECS[3], VIDEO_CODECS[2]]:
            payload = _payload_type(d, rtx, "rtx", 90000)
            _el(payload, f"{{{RTP}}}parameter", {"name": "apt", "value": str(pt)})
            if name != "H264":
                _fb(payload, "ccm", "fir")
                _fb(payload, "nack")
                _fb(payload, "nack", "pli")
    _hdrext(d, 11, URI_AV1_DD)
    _hdrext(d, 10, URI_MID)
    _hdrext(d, 3, URI_ABS_SEND_TIME)
    if options["tcc"]:
        _hdrext(d, 5, URI_TCC)
    _el(d, f"{{{HDREXT}}}extmap-allow-mixed")
    return d


def transport_element(bridge):
    """The bridge's transport: IceTransport.describe() then DtlsTransport.describe()."""
    t = ET.Element(f"{{{ICE}}}transport", {"ufrag": bridge["ufrag"], "pwd": bridge["pwd"]})
    for c in bridge["candidates"]:
        attrs = {"component": c["component"], "foundation": c["foundation"], "generation": 0,
                 "id": c["id"], "network": 0, "priority": c["priority"], "protocol": c["protocol"],
                 "type": c["type"], "ip": c["ip"], "port": c["port"]}
        if c.get("rel-addr"):
            attrs.update({"rel-addr": c["rel-addr"], "rel-port": c["rel-port"]})
        _el(t, f"{{{ICE}}}candidate", attrs)
    _el(t, f"{{{ICE}}}rtcp-mux")
    _el(t, f"{{{DTLS}}}fingerprint", {"hash": bridge["hash"], "setup": "actpass"}, bridge["fingerprint"])
    return t


def offer_contents(options, bridge):
    """JingleOfferFactory.createOffer + ParticipantInviteRunnable.updateOffer."""
    contents = []
    for name, wanted, build in (("audio", options["audio"], _audio_description),
                                ("video", options["video"], _video_description),
                                ("data", options["sctp"], None)):
        if not wanted:
            continue
        content = ET.Element(f"{{{JINGLE}}}content", {"creator": "initiator", "name": name, "senders": "both"})
        description = build(options) if build else ET.Element(f"{{{RTP}}}description", {"media": "application"})
        _el(description, f"{{{RTP}}}rtcp-mux")  # "rtcp-mux is always used"
        content.append(description)
        transport = transport_element(bridge)
        if name == "data":
            _el(transport, f"{{{SCTP}}}sctpmap", {"number": 5000, "protocol": "webrtc-datachannel",
                                                   "streams": 1024})
        content.append(transport)
        contents.append(content)
    return contents


def session_initiate(sid, initiator, contents, endpoint_sources, json_sources, start_muted, bridge_session):
    """JingleSession.initiateSession. Without json-encoded-sources, toContents() keeps only the
    audio and video contents (the data content is dropped - see the README)."""
    jingle = ET.Element(f"{{{JINGLE}}}jingle", {"action": "session-initiate", "initiator": initiator, "sid": sid})
    if json_sources:
        kept = contents
    else:
        kept = [c for c in contents if c.get("name") in ("audio", "video")]
        descriptions = {c.get("name"): c.find(f"{{{RTP}}}description") for c in kept}
        add_to_descriptions(descriptions, endpoint_sources)
    for content in kept:
        jingle.append(content)
    group = _el(jingle, f"{{{GROUPING}}}group", {"semantics": "BUNDLE"})
    for content in kept:
        _el(group, f"{{{GROUPING}}}content", {"name": content.get("name")})
    if start_muted["audio"] or start_muted["video"]:
        _el(jingle, f"{{{START_MUTED}}}startmuted", {"audio": str(start_muted["audio"]).lower(),
                                                     "video": str(start_muted["video"]).lower()})
    _el(jingle, f"{{{FOCUS}}}bridge-session", {"id": bridge_session, "region": "classbox-sim"})
    if json_sources:
        _el(jingle, f"{{{JITMEET}}}json-message", text=compact_json(endpoint_sources))
    return jingle


def source_update(action, sid, endpoint_map, json_sources):
    """JingleSession.addSource / removeSource (createAddSourceIq)."""
    jingle = ET.Element(f"{{{JINGLE}}}jingle", {"action": action, "sid": sid})
    if json_sources:
        _el(jingle, f"{{{JITMEET}}}json-message", text=compact_json(endpoint_map))
        return jingle
    descriptions = {}
    for media in ("audio", "video"):
        if any(s.media == media for e in endpoint_map.values() for s in e.sources):
            content = _el(jingle, f"{{{JINGLE}}}content", {"name": media})
            descriptions[media] = _el(content, f"{{{RTP}}}description", {"media": media})
    add_to_descriptions(descriptions, endpoint_map)
    return jingle


def session_terminate(sid, reason, text=None):
    jingle = ET.Element(f"{{{JINGLE}}}jingle", {"action": "session-terminate", "sid": sid})
    r = _el(jingle, f"{{{JINGLE}}}reason")
    _el(r, f"{{{JINGLE}}}{reason}")
    if text:
        _el(r, f"{{{JINGLE}}}text", text=text)
    return jingle


def first_transport(contents):
    """ConferenceUtil.getTransport: the first ice-udp transport of any content, as a dict."""
    for content in contents:
        t = content.find(f"{{{ICE}}}transport")
        if t is None:
            continue
        fp = t.find(f"{{{DTLS}}}fingerprint")
        candidates = []
        for c in t.findall(f"{{{ICE}}}candidate"):
            candidates.append({k: c.get(k) for k in ("component", "foundation", "priority", "protocol", "ip",
                                                      "port", "type", "rel-addr", "rel-port", "generation")})
        return {"ufrag": t.get("ufrag"), "pwd": t.get("pwd"),
                "hash": fp.get("hash") if fp is not None else None,
                "fingerprint": (fp.text or "").strip() if fp is not None else None,
                "setup": fp.get("setup") if fp is not None else None, "candidates": candidates}
    return None


def transport_problem(transport):
    """What the bridge needs to start ICE and DTLS (jvb IceTransport.startConnectivityEstablishment,
    DtlsTransport.setSetupAttribute/remote fingerprints). None when usable."""
    if transport is None:
        return "no transport"
    missing = [k for k in ("ufrag", "pwd", "hash", "fingerprint") if not transport.get(k)]
    if missing:
        return "transport without " + ", ".join(missing)
    return None


def describe_contents(contents):
    """A compact summary of offered contents for the session-initiate event."""
    result = []
    for content in contents:
        d = content.find(f"{{{RTP}}}description")
        pts = [f"{p.get('name')}/{p.get('id')}" for p in d.findall(f"{{{RTP}}}payload-type")] if d is not None else []
        result.append({"name": content.get("name"), "payload_types": pts})
    return result


def sdp_transport(sdp_text):
    """ufrag, pwd, sha-256 fingerprint and host candidates of aiortc's (bundled) offer."""
    from aiortc.sdp import SessionDescription
    description = SessionDescription.parse(sdp_text)
    media = description.media[0]
    fingerprint = next(f for f in media.dtls.fingerprints if f.algorithm == "sha-256")
    candidates = []
    for i, c in enumerate(media.ice_candidates):
        candidates.append({"component": c.component, "foundation": c.foundation, "priority": c.priority,
                           "protocol": c.protocol.lower(), "type": c.type, "ip": c.ip, "port": c.port,
                           "id": f"{c.foundation}-{i}", "rel-addr": c.relatedAddress, "rel-port": c.relatedPort})
    return {"ufrag": media.ice.usernameFragment, "pwd": media.ice.password, "hash": "sha-256",
            "fingerprint": fingerprint.value.upper(), "candidates": candidates}


def _candidate_line(c):
    line = (f"a=candidate:{c['foundation']} {c['component']} {c['protocol']} {c['priority']} "
            f"{c['ip']} {c['port']} typ {c['type']}")
    if c.get("rel-addr"):
        line += f" raddr {c['rel-addr']} rport {c['rel-port']}"
    return line


def _literal_ip(value):
    import ipaddress
    try:
        ipaddress.ip_address(value or "")
        return True
    except ValueError:
        return False


def sdp_answer(offer_sdp, transport, box_sources, directions):
    """The box's session-accept as the SDP answer aiortc needs.

    Codecs and header extensions are copied from aiortc's own offer: the bridge's payload-type
    and extension tables come from Jicofo's offer, never from the answer (jitsi-protocol.md 7.1).
    Candidates with host names are ignored (JVB resolve-remote-candidates = false). No
    end-of-candidates, so aioice keeps waiting for peer-reflexive checks from the box.
    """
    from aiortc.sdp import SessionDescription
    offer = SessionDescription.parse(offer_sdp)
    lines = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0",
             "a=group:BUNDLE " + " ".join(m.rtp.muxId for m in offer.media), "a=msid-semantic:WMS *"]
    for m in offer.media:
        pts = [c.payloadType for c in m.rtp.codecs]
        lines += [f"m={m.kind} 9 UDP/TLS/RTP/SAVPF {' '.join(map(str, pts))}", "c=IN IP4 0.0.0.0",
                  f"a=mid:{m.rtp.muxId}", f"a={directions.get(m.kind, 'inactive')}", "a=rtcp-mux",
                  f"a=ice-ufrag:{transport['ufrag']}", f"a=ice-pwd:{transport['pwd']}",
                  f"a=fingerprint:{transport['hash']} {transport['fingerprint']}",
                  f"a=setup:{'passive' if transport.get('setup') == 'passive' else 'active'}"]
        for c in m.rtp.codecs:
            channels = f"/{c.channels}" if c.channels and c.channels > 1 else ""
            lines.append(f"a=rtpmap:{c.payloadType} {c.name}/{c.clockRate}{channels}")
            for fb in c.rtcpFeedback:
                lines.append(f"a=rtcp-fb:{c.payloadType} {fb.type}" + (f" {fb.parameter}" if fb.parameter else ""))
            if c.parameters:
                lines.append(f"a=fmtp:{c.payloadType} " + ";".join(
                    f"{k}={v}" if v is not None else k for k, v in c.parameters.items()))
        for ext in m.rtp.headerExtensions:
            lines.append(f"a=extmap:{ext.id} {ext.uri}")
        for g in box_sources.groups:
            if g.media == m.kind:
                lines.append(f"a=ssrc-group:{g.semantics} " + " ".join(map(str, g.ssrcs)))
        for s in sorted(box_sources.sources, key=lambda s: s.ssrc):
            if s.media == m.kind:
                lines.append(f"a=ssrc:{s.ssrc} cname:classbox")
        for c in transport["candidates"]:
            if _literal_ip(c.get("ip")) and (c.get("protocol") or "").lower() == "udp":
                lines.append(_candidate_line(c))
    return "\r\n".join(lines) + "\r\n"

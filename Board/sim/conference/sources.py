"""Conference sources and their validation, as Jicofo keeps them.

Mirrors jicofo-common .../conference/source/: Source.kt, SsrcGroup.kt, EndpointSourceSet.kt
(fromJingle, toJingle, compactJson), ConferenceSourceMap.kt and ValidatingConferenceSourceMap.kt
(tryToAdd, tryToRemove, validateEndpointSourceSet). Limits: jicofo reference.conf
conference.max-ssrcs-per-user = 20, max-ssrc-groups-per-user = 20.
"""
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

RTP = "urn:xmpp:jingle:apps:rtp:1"
SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"
JITMEET = "http://jitsi.org/jitmeet"
MAX_SSRCS = 20
MAX_GROUPS = 20


class ValidationError(Exception):
    """Jicofo's ValidationFailedException: answered with bad-request."""


@dataclass(frozen=True)
class Source:
    ssrc: int
    media: str
    name: str = None
    msid: str = None
    video_type: str = None

    def to_dict(self):
        return {"ssrc": self.ssrc, "media": self.media, "name": self.name, "msid": self.msid,
                "videoType": self.video_type}


@dataclass(frozen=True)
class SsrcGroup:
    semantics: str  # "FID" or "SIM"
    ssrcs: tuple
    media: str

    def to_dict(self):
        return {"semantics": self.semantics, "ssrcs": list(self.ssrcs), "media": self.media}


@dataclass
class EndpointSources:
    sources: set = field(default_factory=set)
    groups: set = field(default_factory=set)

    def empty(self):
        return not self.sources and not self.groups

    def ssrcs(self):
        return {s.ssrc for s in self.sources}


def _parse_group(element, media):
    semantics = (element.get("semantics") or "").upper()
    if semantics not in ("FID", "SIM"):
        raise ValidationError(f"Unsupported ssrc-group semantics: {element.get('semantics')}")
    ssrcs = tuple(int(s.get("ssrc")) for s in element.findall(f"{{{SSMA}}}source"))
    return SsrcGroup(semantics, ssrcs, media)


def _parse_source(element, media):
    try:
        ssrc = int(element.get("ssrc"))
    except (TypeError, ValueError):
        raise ValidationError(f"Invalid SSRC: {element.get('ssrc')}.")
    msid = None
    for param in element:
        if param.tag.endswith("}parameter") and param.get("name") == "msid":
            msid = param.get("value")  # any namespace, like Smack's lenient parsing
            break
    return Source(ssrc, media, element.get("name"), msid, element.get("videoType"))


def from_jingle(contents):
    """EndpointSourceSet.fromJingle: sources and groups below <description> (or <content>)."""
    result = EndpointSources()
    for content in contents:
        description = content.find(f"{{{RTP}}}description")
        media = (description.get("media") if description is not None else None) or content.get("name")
        holders = [content] + ([description] if description is not None else [])
        for holder in holders:
            for element in holder.findall(f"{{{SSMA}}}source"):
                result.sources.add(_parse_source(element, media))
        if description is not None:
            for element in description.findall(f"{{{SSMA}}}ssrc-group"):
                result.groups.add(_parse_group(element, media))
    return result


def _extended_group(ssrc, groups):
    """ValidatingConferenceSourceMap.groupBySimulcastGroup."""
    for g in groups:
        if g.semantics == "SIM" and ssrc in g.ssrcs:
            return g
    for g in groups:
        if g.semantics == "FID" and ssrc in g.ssrcs:
            if ssrc == g.ssrcs[1]:
                for sim in groups:
                    if sim.semantics == "SIM" and g.ssrcs[0] in sim.ssrcs:
                        return sim
            return g
    return SsrcGroup("SIM", (ssrc,), "")


def validate_endpoint(endpoint):
    """validateEndpointSourceSet: FID has 2 SSRCs, grouped sources have one common msid,
    and no two (extended) groups of one media share an msid."""
    by_ssrc = {s.ssrc: s for s in endpoint.sources}
    for group in endpoint.groups:
        group_msid = None
        for ssrc in group.ssrcs:
            source = by_ssrc[ssrc]
            if group.semantics == "FID" and len(group.ssrcs) != 2:
                raise ValidationError(f"Invalid FID group: {list(group.ssrcs)}.")
            if source.msid is None:
                raise ValidationError("Required source parameter 'msid' is not present.")
            group_msid = group_msid or source.msid
            if source.msid != group_msid:
                raise ValidationError(f"SsrcGroup contains sources with different MSIDs: {list(group.ssrcs)}.")
    for media in ("audio", "video"):
        firsts = {}
        for source in sorted(endpoint.sources, key=lambda s: s.ssrc):
            if source.media == media and source.msid is not None:
                firsts.setdefault(_extended_group(source.ssrc, endpoint.groups), source)
        seen = set()
        for source in firsts.values():
            if source.msid in seen:
                raise ValidationError(f"MSID is already used: {source.msid}.")
            seen.add(source.msid)


class ConferenceSources:
    """ValidatingConferenceSourceMap: owner (endpoint id) -> EndpointSources."""

    def __init__(self):
        self.endpoints = {}

    def owner_of(self, ssrc):
        return next((o for o, e in self.endpoints.items() if ssrc in e.ssrcs()), None)

    def add_unchecked(self, owner, endpoint):
        existing = self.endpoints.setdefault(owner, EndpointSources())
        existing.sources |= endpoint.sources
        existing.groups |= endpoint.groups

    def try_add(self, owner, new):
        """tryToAdd: raises ValidationError and leaves the map unchanged on any conflict."""
        existing = self.endpoints.get(owner, EndpointSources())
        msid_owner = {s.msid: o for o, e in self.endpoints.items() for s in e.sources if s.msid}
        for source in new.sources:
            if source.ssrc <= 0 or source.ssrc >= 1 << 32:
                raise ValidationError(f"Invalid SSRC: {source.ssrc}.")
            if self.owner_of(source.ssrc) is not None:
                raise ValidationError(f"SSRC is already used: {source.ssrc}.")
            if source.msid and msid_owner.get(source.msid, owner) != owner:
                raise ValidationError(f"MSID is already used: {source.msid}.")
            if len(existing.sources) + len(new.sources) > MAX_SSRCS:
                raise ValidationError(f"SSRC limit ({MAX_SSRCS}) exceeded.")
        resulting_ssrcs = existing.ssrcs() | new.ssrcs()
        accepted_groups = set()
        for group in new.groups:
            if not group.ssrcs or group in existing.groups:
                continue  # empty and duplicate groups are silently ignored
            if not set(group.ssrcs) <= resulting_ssrcs:
                raise ValidationError("An SSRC group contains an SSRC, which hasn't been signaled as a source: "
                                      f"{list(group.ssrcs)}.")
            accepted_groups.add(group)
        if len(existing.groups) + len(accepted_groups) > MAX_GROUPS:
            raise ValidationError(f"ssrc-group limit ({MAX_GROUPS}) exceeded.")
        validate_endpoint(EndpointSources(existing.sources | new.sources, existing.groups | accepted_groups))
        accepted = EndpointSources(set(new.sources), accepted_groups)
        self.add_unchecked(owner, accepted)
        return accepted

    def try_remove(self, owner, gone):
        """tryToRemove: sources matched by SSRC only; groups touching them go too."""
        if gone.empty():
            return EndpointSources()
        existing = self.endpoints.get(owner)
        if not existing or existing.empty():
            raise ValidationError("Source does not exist or is not owned by endpoint.")
        removed = set()
        for source in gone.sources:
            match = next((s for s in existing.sources if s.ssrc == source.ssrc), None)
            if match is None:
                raise ValidationError(f"Source does not exist or is not owned by endpoint (ssrc={source.ssrc}).")
            removed.add(match)
        if not gone.groups <= existing.groups:
            raise ValidationError("Source group does not exist")
        ssrcs = {s.ssrc for s in removed}
        groups = set(gone.groups) | {g for g in existing.groups if ssrcs & set(g.ssrcs)}
        validate_endpoint(EndpointSources(existing.sources - removed, existing.groups - groups))
        existing.sources -= removed
        existing.groups -= groups
        return EndpointSources(removed, groups)

    def remove_owner(self, owner):
        return self.endpoints.pop(owner, EndpointSources())

    def copy_without(self, owner):
        return {o: e for o, e in self.endpoints.items() if o != owner and not e.empty()}


def source_element(source, owner):
    """Source.toPacketExtension: <source ssrc name [videoType]><ssrc-info owner/><parameter msid/>."""
    element = ET.Element(f"{{{SSMA}}}source", {"ssrc": str(source.ssrc)})
    if source.name:
        element.set("name", source.name)
    if source.video_type:
        element.set("videoType", source.video_type)
    if owner:
        ET.SubElement(element, f"{{{JITMEET}}}ssrc-info", {"owner": owner})
    if source.msid:
        ET.SubElement(element, f"{{{RTP}}}parameter", {"name": "msid", "value": source.msid})
    return element


def group_element(group):
    element = ET.Element(f"{{{SSMA}}}ssrc-group", {"semantics": group.semantics})
    for ssrc in group.ssrcs:
        ET.SubElement(element, f"{{{SSMA}}}source", {"ssrc": str(ssrc)})
    return element


def add_to_descriptions(descriptions, endpoint_map):
    """EndpointSourceSet.toJingle into the audio/video <description> elements given by media."""
    for owner, endpoint in endpoint_map.items():
        for source in sorted(endpoint.sources, key=lambda s: (s.media, s.ssrc)):
            if source.media in descriptions:
                descriptions[source.media].append(source_element(source, owner))
    for endpoint in endpoint_map.values():
        for group in endpoint.groups:
            if group.media in descriptions:
                descriptions[group.media].append(group_element(group))


def compact_json(endpoint_map):
    """ConferenceSourceMap.compactJson: {"owner":[[video],[videoGroups],[audio],[audioGroups]?]}."""
    def source_json(s):
        d = {"s": s.ssrc}
        if s.name:
            d["n"] = s.name
        if s.msid:
            d["m"] = s.msid
        if s.video_type == "desktop":
            d["v"] = "d"
        return d

    def group_json(g):
        return ["s" if g.semantics == "SIM" else "f", *g.ssrcs]

    result = {}
    for owner, e in endpoint_map.items():
        entry = [[source_json(s) for s in e.sources if s.media == "video"],
                 [group_json(g) for g in e.groups if g.media == "video"],
                 [source_json(s) for s in e.sources if s.media == "audio"]]
        audio_groups = [group_json(g) for g in e.groups if g.media == "audio"]
        if audio_groups:
            entry.append(audio_groups)
        result[owner] = entry
    return json.dumps({"sources": result}, separators=(",", ":"))

"""One conference as Jicofo runs it: members, participants, Jingle sessions, sources.

Mirrors jicofo JitsiMeetConferenceImpl.java (onMemberJoined, inviteAllChatMembers,
hasToStartAudioMuted, checkMinParticipants, terminateParticipant, SinglePersonTimeout,
maybeStop, acceptSession, terminateSession), Participant.kt (JingleRequestHandlerImpl:
onSessionAccept, onAddSource, onRemoveSource, onSessionTerminate and its restart rate limit),
ParticipantInviteRunnable.java (offer, sources, startmuted, bridge-session) and
xmpp/muc/ChatRoomRoleManager.kt (AutoOwnerRoleManager). Defaults from jicofo reference.conf:
min-participants 2, single-participant-timeout 20 s, initial-timeout 15 s,
restart-request-rate-limits 5 s / 5 per minute, enable-auto-owner true.
"""
import asyncio
import secrets
import time
import uuid
from collections import deque

import jingle
from bridge import BridgeSession
from sources import ConferenceSources, EndpointSources, Source, SsrcGroup, ValidationError, from_jingle

MIN_PARTICIPANTS = 2
SINGLE_PARTICIPANT_TIMEOUT = 20
INITIAL_TIMEOUT = 15
RESTART_MIN_INTERVAL, RESTART_MAX, RESTART_WINDOW = 5, 5, 60


class Member:
    """A MUC occupant other than the focus (ChatRoomMemberImpl)."""

    def __init__(self, nick, occupant_jid):
        self.nick, self.occupant_jid = nick, occupant_jid
        self.real_jid = self.label = self.role = self.affiliation = self.caps = self.stats_id = None
        self.simulated = False
        self.features = asyncio.get_event_loop().create_future()


class Participant:
    """A member that has been invited (Participant.kt); holds its current Jingle session."""

    def __init__(self, member, features):
        self.member, self.features = member, features
        self.options = jingle.offer_options(features)
        self.sid = self.bridge_session_id = None
        self.state = "none"  # pending, active, ended
        self.bridge = None
        self.restarts = deque()
        self.queued = []  # (action, {owner: EndpointSources}) waiting for the session to be active
        self.signalled = {}  # owner -> set of Source already signalled in this session

    @property
    def nick(self):
        return self.member.nick

    def accept_restart(self):
        """Participant.restartRequestsRateLimit: >= 5 s apart and at most 5 per minute."""
        now = time.monotonic()
        while self.restarts and now - self.restarts[0] > RESTART_WINDOW:
            self.restarts.popleft()
        if (self.restarts and now - self.restarts[-1] < RESTART_MIN_INTERVAL) or len(self.restarts) >= RESTART_MAX:
            return False
        self.restarts.append(now)
        return True


def _int_property(properties, name):
    try:
        return int(properties[name])
    except (KeyError, ValueError):
        return None


class Conference:
    def __init__(self, focus, room, properties):
        self.focus, self.room, self.properties = focus, room, properties
        self.events = focus.events
        self.start_audio_muted = _int_property(properties, "startAudioMuted")
        self.start_video_muted = _int_property(properties, "startVideoMuted")
        self.members = {}
        self.participants = {}
        self.sources = ConferenceSources()
        self.jvb_sources = self._bridge_feedback_sources()
        self.owner = None
        self.lock = asyncio.Lock()
        self.joined = asyncio.get_event_loop().create_future()
        self.stopped = False
        self.configuring = False
        self._timers = {}

    # ----- lifecycle -----

    @staticmethod
    def _bridge_feedback_sources():
        """The bridge's own sources jvb-a0/jvb-v0 (Colibri2 allocation, owner 'jvb')."""
        audio, video = secrets.randbits(31) + 1, secrets.randbits(31) + 1
        return EndpointSources({Source(audio, "audio", "jvb-a0", "mixedmslabel mixedlabelaudio0"),
                                Source(video, "video", "jvb-v0", "mixedmslabel mixedlabelvideo0")}, set())

    async def start(self, room_secret):
        """ChatRoomImpl.joinAs: join as 'focus', then configure whois=anyone (and the secret)."""
        created = await self.focus.join_room(self.room)
        self.configuring = True
        try:
            fields = {"muc#roomconfig_whois": "anyone"}
            if room_secret:
                fields.update({"muc#roomconfig_roomsecret": room_secret,
                               "muc#roomconfig_passwordprotectedroom": "1"})
            await self.focus.configure_room(self.room, fields)
        finally:
            self.configuring = False
        if created:
            self.events.emit("room-created", room=self.room, secret_set=bool(room_secret))
        self._schedule("start", INITIAL_TIMEOUT, self._initial_timeout)
        return created

    def _schedule(self, name, delay, callback):
        self._cancel(name)
        self._timers[name] = asyncio.get_event_loop().call_later(delay, lambda: asyncio.ensure_future(callback()))

    def _cancel(self, name):
        timer = self._timers.pop(name, None)
        if timer:
            timer.cancel()

    async def _initial_timeout(self):
        """initial-timeout: nobody joined 15 s after the conference request, stop."""
        if not self.members and not self.stopped:
            await self.stop("initial-timeout", leave=True)

    async def stop(self, reason, leave=False):
        """JitsiMeetConferenceImpl.stop: expire every session; the focus leaves the room."""
        if self.stopped:
            return
        self.stopped = True
        for name in list(self._timers):
            self._cancel(name)
        for participant in list(self.participants.values()):
            await self._terminate(participant, "gone", None, send_iq=False, send_remove=False)
        self.events.emit("conference-stopped", room=self.room, reason=reason)
        if leave:
            self.focus.leave_room(self.room)
        self.focus.conference_stopped(self)

    # ----- presence -----

    async def on_member_presence(self, nick, presence):
        """An occupant's presence (not the focus's own)."""
        member = self.members.get(nick)
        if presence.type == "unavailable":
            if member:
                await self._member_left(member)
            return
        new = member is None
        if new:
            member = Member(nick, f"{self.room}/{nick}")
            member.simulated = self.focus.is_simulated(nick)
            self.members[nick] = member
        if presence.item is not None:
            member.real_jid = presence.item.get("jid") or member.real_jid
            member.role, member.affiliation = presence.item.get("role"), presence.item.get("affiliation")
        member.label = presence.label or member.label
        member.stats_id = presence.stats_id or member.stats_id
        member.caps = presence.caps or member.caps
        if new:
            self.events.emit("occupant-joined", room=self.room, nick=nick, label=member.label,
                             real_jid=member.real_jid, role=member.role, affiliation=member.affiliation,
                             simulated=member.simulated)
            if not member.simulated:
                for simulated in self.focus.simulated:
                    simulated.box_joined(self.room)
            asyncio.ensure_future(self._member_joined(member))

    async def _member_joined(self, member):
        """onMemberJoined (+ AutoOwnerRoleManager.memberJoined)."""
        self._cancel("start")
        await self._elect_owner()
        asyncio.ensure_future(self._discover(member))
        async with self.lock:
            if self.members.get(member.nick) is not member or self.stopped:
                return
            if len(self.members) < MIN_PARTICIPANTS:
                return
            self._cancel("single")
            targets = list(self.members.values()) if not self.participants else [member]
            for target in targets:
                await self._invite_member(target)

    async def _discover(self, member):
        features = await self.focus.discover_features(member)
        if not member.features.done():
            member.features.set_result(features)

    async def _elect_owner(self):
        """AutoOwnerRoleManager.electNewOwner: the first member (in join order) becomes owner."""
        if self.owner in self.members or self.stopped:
            return
        owners = [m for m in self.members.values() if m.affiliation == "owner"]
        candidate = owners[0] if owners else next(iter(self.members.values()), None)
        if candidate is None:
            return
        self.owner = candidate.nick
        if not owners and candidate.real_jid:
            await self.focus.grant_owner(self.room, candidate.real_jid.split("/")[0])
            self.events.emit("owner-granted", room=self.room, nick=candidate.nick, real_jid=candidate.real_jid)

    async def _member_left(self, member):
        """onMemberLeft + AutoOwnerRoleManager.memberLeftOrKicked + maybeStop."""
        del self.members[member.nick]
        self.events.emit("occupant-left", room=self.room, nick=member.nick, label=member.label,
                         real_jid=member.real_jid)
        async with self.lock:
            participant = self.participants.get(member.nick)
            if participant:
                # No session-terminate and no source-remove to the others: jicofo 7ebb13d
                # JitsiMeetConferenceImpl.onMemberLeft calls terminateParticipant(GONE, sendSessionTerminate
                # false, sendSourceRemove false) - "the participant leaving the MUC will notify other
                # participants that the sources need to be removed" (since jicofo #719, 2021). The bridge
                # endpoint is expired (colibri removeParticipant), so its media stops.
                await self._terminate(participant, "gone", None, send_iq=False, send_remove=False)
            if len(self.participants) == 1:
                self._schedule("single", SINGLE_PARTICIPANT_TIMEOUT, self._single_participant_timeout)
        if member.nick == self.owner:
            self.owner = None
            await self._elect_owner()
        if not self.members:
            await self.stop("last member left", leave=True)

    async def _single_participant_timeout(self):
        async with self.lock:
            if len(self.participants) == 1:
                participant = next(iter(self.participants.values()))
                await self._terminate(participant, "expired", "Idle session timeout", send_iq=True,
                                      send_remove=False)

    async def room_destroyed(self, reason):
        """Prosody does not say who destroyed the room; only an owner can, so "by" is the owner."""
        owner = self.members.get(self.owner) if self.owner else None
        self.events.emit("room-destroyed", room=self.room, by=owner.real_jid if owner else None,
                         owner_nick=self.owner, reason=reason)
        await self.stop("room destroyed")

    # ----- invitations -----

    def _start_muted(self, limit):
        """hasToStartAudioMuted/VideoMuted: participants beyond the N-th start muted."""
        return limit is not None and len(self.participants) > limit

    async def _invite_member(self, member):
        """inviteChatMember: features first (blocks on disco), then a Participant and its invite."""
        if member.nick in self.participants:
            return
        features = await member.features
        if self.members.get(member.nick) is not member or self.stopped:
            return
        participant = Participant(member, features)
        self.participants[member.nick] = participant
        self.events.info(f"participant {member.nick} features={sorted(features)}")
        start_muted = {"audio": self._start_muted(self.start_audio_muted),
                       "video": self._start_muted(self.start_video_muted)}
        if member.simulated:
            self._accept_simulated(participant)
        else:
            asyncio.ensure_future(self._invite(participant, start_muted))

    def _accept_simulated(self, participant):
        """A simulated participant has no Jingle session: its sources are accepted at once,
        as if its browser had sent session-accept, and its media starts on the bridge (on every
        box's transport, each participant on its own SSRCs, unmixed, like the JVB forwards)."""
        r = self.focus.remote_media_of(participant.nick)
        if r is None:
            return
        sources = EndpointSources({
            Source(r.audio_ssrc, "audio", f"{r.endpoint}-a0", r.audio_msid),
            Source(r.video_ssrc, "video", f"{r.endpoint}-v0", r.video_msid, "camera"),
            Source(r.rtx_ssrc, "video", f"{r.endpoint}-v0", r.video_msid, "camera")},
            {SsrcGroup("FID", (r.video_ssrc, r.rtx_ssrc), "video")})
        if r.sharing:
            share = _share_sources(r)
            sources.sources |= share.sources
            sources.groups |= share.groups
        try:
            self.sources.try_add(participant.nick, sources)
        except ValidationError as error:
            self.events.error(f"simulated participant sources rejected: {error}")
            return
        participant.state = "active"
        self._propagate("source-add", participant, {participant.nick: sources})
        for p in self.participants.values():
            if p.bridge:
                p.bridge.add_remote(participant.nick, r)

    async def simulated_share(self, nick, on):
        """--share: a simulated participant starts (on) or stops a screen share, as a browser
        does by Jingle source-add / source-remove of its `<ep>-v1` desktop source (with its own
        SSRC + RTX, msid, name, videoType). Jicofo validates it (Participant.onAddSource /
        onRemoveSource, ValidatingConferenceSourceMap), tells the bridge (colibri2: the
        endpoint's sources change) and propagates it to every other participant. True when done."""
        async with self.lock:
            participant = self.participants.get(nick)
            r = self.focus.remote_media_of(nick)
            if self.stopped or participant is None or r is None or participant.state != "active" or r.sharing == on:
                return False
            share = _share_sources(r)
            try:
                done = self.sources.try_add(nick, share) if on else self.sources.try_remove(nick, share)
            except ValidationError as error:
                self.events.error(f"share of {nick} rejected: {error}")
                return False
            r.share = "on" if on else "off"
            name, _, ssrc, rtx_ssrc = r.share_source()
            self.events.emit("participant-share", room=self.room, nick=nick, endpoint=nick, index=r.index,
                             state="started" if on else "stopped", source=name, video_type="desktop",
                             ssrc=ssrc, rtx_ssrc=rtx_ssrc, msid=r.share_msid)
            self._propagate("source-add" if on else "source-remove", participant, {nick: done})
            for p in self.participants.values():
                if p.bridge:
                    if on:
                        p.bridge.add_remote_source(nick, r.share_source())
                    else:
                        p.bridge.remove_remote_source(nick, name)
            return True

    def _simulated_in_conference(self):
        """(endpoint, RemoteMedia) of the simulated participants whose sources are in the conference."""
        result = []
        for nick, participant in self.participants.items():
            r = self.focus.remote_media_of(nick) if participant.member.simulated else None
            if r is not None and nick in self.sources.endpoints:
                result.append((nick, r))
        return result

    async def _invite(self, participant, start_muted):
        """ParticipantInviteRunnable.doRun: bridge allocation, offer, session-initiate."""
        sid = secrets.token_hex(6)
        bridge = BridgeSession(participant.nick, sid, self.jvb_sources, self.events,
                               bridge_channel=jingle.offers_data(participant.options))
        bridge.on_channel_open = lambda: self.focus.share_origin(self.room)
        try:
            transport = await bridge.create_offer()
        except Exception as error:
            self.events.error(f"bridge offer for {participant.nick} failed: {error!r}")
            await bridge.close("bridge-error")
            return
        if self.participants.get(participant.nick) is not participant or self.stopped:
            await bridge.close("participant-left")
            return
        for nick, remote in self._simulated_in_conference():
            bridge.add_remote(nick, remote)
        participant.sid, participant.bridge, participant.state = sid, bridge, "pending"
        participant.bridge_session_id = str(uuid.uuid4())
        participant.queued = []
        participant.signalled = {}  # SourceSignaling.reset(offer sources)
        offered = {"jvb": self.jvb_sources, **self.sources.copy_without(participant.nick)}
        for owner, endpoint in offered.items():
            participant.signalled[owner] = set(endpoint.sources)
        contents = jingle.offer_contents(participant.options, transport)
        element = jingle.session_initiate(sid, self.focus.focus_jid, contents, offered,
                                          participant.options["json_sources"], start_muted,
                                          participant.bridge_session_id)
        self.events.emit("session-initiate", room=self.room, nick=participant.nick, sid=sid,
                         contents=jingle.describe_contents(element.findall(f"{{{jingle.JINGLE}}}content")),
                         sources={o: [s.to_dict() for s in e.sources] for o, e in offered.items()},
                         json_sources=participant.options["json_sources"], start_muted=start_muted,
                         bridge_session=participant.bridge_session_id)
        ok = await self.focus.send_jingle(participant.member.occupant_jid, element, wait=True)
        if not ok and self.participants.get(participant.nick) is participant and participant.sid == sid:
            # invite(): "Expiring ... channels - no RESULT for session-initiate"
            async with self.lock:
                await self._terminate(participant, "general-error", None, send_iq=False, send_remove=True)

    # ----- Jingle from a box -----

    async def on_jingle(self, nick, element):
        """Returns None (result) or (error-type, condition, text) for the IQ reply."""
        participant = self.participants.get(nick)
        action, sid = element.get("action"), element.get("sid")
        if participant is None or participant.sid is None:
            return ("cancel", "item-not-found", "unknown session")
        if participant.sid != sid:
            return ("cancel", "item-not-found", "jingle session no longer active")
        if participant.state == "ended":
            return ("cancel", "gone", "session ended")
        contents = element.findall(f"{{{jingle.JINGLE}}}content")
        async with self.lock:
            if action in ("session-accept", "transport-accept"):
                return await self._on_session_accept(participant, contents)
            if action in ("source-add", "addsource"):
                return self._on_source_change(participant, contents, add=True)
            if action in ("source-remove", "removesource"):
                return self._on_source_change(participant, contents, add=False)
            if action == "session-terminate":
                return await self._on_session_terminate(participant, element)
            if action in ("transport-info", "session-info", "transport-reject"):
                self.events.emit("jingle-ignored", nick=nick, sid=sid, action=action)
                return None
        return ("cancel", "feature-not-implemented", "Unsupported 'action'")

    async def _on_session_accept(self, participant, contents):
        """Participant.onSessionOrTransportAccept + JitsiMeetConferenceImpl.acceptSession."""
        participant.state = "active"
        transport = jingle.first_transport(contents)
        try:
            advertised = from_jingle(contents)
            accepted = self.sources.try_add(participant.nick, advertised) if not advertised.empty() \
                else EndpointSources()
        except ValidationError as error:
            participant.state = "ended"
            self._emit_accept(participant, from_jingle_safe(contents), transport, False, str(error), contents)
            return ("modify", "bad-request", str(error))
        problem = jingle.transport_problem(transport)
        self._emit_accept(participant, accepted, transport, problem is None, problem, contents)
        if problem is None:
            self.focus.session_accepted(self.room)  # starts the --leave timers
            if participant.bridge.channel is None:
                self.focus.share_origin(self.room)  # without the bridge channel --share counts from here
            try:
                await participant.bridge.accept(transport, self.sources.endpoints.get(participant.nick,
                                                                                      EndpointSources()))
            except Exception as error:
                self.events.error(f"bridge could not apply the answer of {participant.nick}: {error!r}")
        if not accepted.empty():
            self._propagate("source-add", participant, {participant.nick: accepted})
        await self._flush(participant)
        return None  # Jicofo answers result even when the bridge cannot use the transport

    def _emit_accept(self, participant, sources, transport, valid, error, contents=()):
        fields = dict(room=self.room, nick=participant.nick, sid=participant.sid,
                      sources=[s.to_dict() for s in sorted(sources.sources, key=lambda s: s.ssrc)],
                      groups=[g.to_dict() for g in sources.groups], valid=valid,
                      transport={k: transport.get(k) for k in ("ufrag", "hash", "setup")} if transport else None,
                      candidates=len(transport["candidates"]) if transport else 0,
                      data_offered=jingle.offers_data(participant.options))
        fields["data_accepted"], fields["data_sctp_port"] = jingle.accepted_data(contents)
        if error:
            fields["error"] = error
        self.events.emit("session-accept", **fields)

    def _on_source_change(self, participant, contents, add):
        """Participant.onAddSource / onRemoveSource."""
        event = "source-add" if add else "source-remove"
        try:
            change = from_jingle(contents)
            if change.empty():
                self.events.emit(event, room=self.room, nick=participant.nick, sources=[], valid=True)
                return None
            done = self.sources.try_add(participant.nick, change) if add else \
                self.sources.try_remove(participant.nick, change)
        except ValidationError as error:
            self.events.emit(event, room=self.room, nick=participant.nick, valid=False, error=str(error),
                             sources=[s.to_dict() for s in from_jingle_safe(contents).sources])
            return ("modify", "bad-request", str(error))
        self.events.emit(event, room=self.room, nick=participant.nick, valid=True,
                         sources=[s.to_dict() for s in done.sources], groups=[g.to_dict() for g in done.groups])
        if participant.bridge:
            participant.bridge.set_sources(self.sources.endpoints.get(participant.nick, EndpointSources()))
        self._propagate(event, participant, {participant.nick: done})
        return None

    async def _on_session_terminate(self, participant, element):
        """Participant.onSessionTerminate + JitsiMeetConferenceImpl.terminateSession."""
        reason_el = element.find(f"{{{jingle.JINGLE}}}reason")
        reason = next((c.tag.split("}")[1] for c in reason_el if not c.tag.endswith("}text")), None) \
            if reason_el is not None else None
        text = reason_el.findtext(f"{{{jingle.JINGLE}}}text") if reason_el is not None else None
        bs = element.find(f"{{{jingle.FOCUS}}}bridge-session")
        restart = bs is not None and bs.get("restart") == "true"
        bs_id = bs.get("id") if bs is not None else None
        self.events.emit("session-terminate", room=self.room, nick=participant.nick, sid=participant.sid,
                         reason=reason, text=text, restart=restart, bridge_session=bs_id)
        if bs_id != participant.bridge_session_id:
            return ("cancel", "item-not-found", f"{bs_id} is not a currently active session")
        reinvite = restart and participant.accept_restart()
        await self._terminate(participant, "success", "reinvite requested" if reinvite else None,
                              send_iq=False, send_remove=True, reinvite=reinvite)
        if reinvite:
            self.participants[participant.nick] = participant
            asyncio.ensure_future(self._invite(participant, {"audio": False, "video": False}))
        if restart and not reinvite:
            return ("wait", "resource-constraint", "rate-limited")
        return None

    async def _terminate(self, participant, reason, text, send_iq, send_remove, reinvite=False):
        """terminateParticipant: end the session, drop its sources, close its bridge endpoint."""
        if send_iq and participant.sid and participant.state != "ended" and not participant.member.simulated:
            element = jingle.session_terminate(participant.sid, reason, text)
            self.events.emit("session-terminate-sent", room=self.room, nick=participant.nick,
                             sid=participant.sid, reason=reason, text=text)
            asyncio.ensure_future(self.focus.send_jingle(participant.member.occupant_jid, element, wait=False))
        participant.state = "ended"
        removed = self.sources.remove_owner(participant.nick)
        if send_remove and not removed.empty():
            self._propagate("source-remove", participant, {participant.nick: removed})
        if self.participants.get(participant.nick) is participant:
            del self.participants[participant.nick]
        if participant.member.simulated:
            # colibri2 expire of its endpoint: the bridge stops forwarding its media to everyone
            for other in self.participants.values():
                if other.bridge:
                    other.bridge.remove_remote(participant.nick)
        bridge, participant.bridge = participant.bridge, None
        if bridge:
            await bridge.close(reason if not reinvite else "restart")

    # ----- source signalling -----

    def _propagate(self, action, owner, endpoint_map):
        """propagateNewSources / sendSourceRemove: to every other participant, queued until active."""
        for other in self.participants.values():
            if other is owner or other.member.simulated:
                continue
            other.queued.append((action, endpoint_map))
            if other.state == "active":
                asyncio.ensure_future(self._flush(other))

    async def _flush(self, participant):
        """Participant.sendQueuedRemoteSources."""
        queued, participant.queued = participant.queued, []
        for action, endpoint_map in queued:
            if participant.state != "active" or participant.sid is None:
                return
            endpoint_map = self._not_yet_signalled(participant, action, endpoint_map)
            if not endpoint_map:
                continue
            element = jingle.source_update(action, participant.sid, endpoint_map, participant.options["json_sources"])
            self.events.emit(action + "-sent", room=self.room, nick=participant.nick, sid=participant.sid,
                             sources={o: [s.to_dict() for s in e.sources] for o, e in endpoint_map.items()})
            await self.focus.send_jingle(participant.member.occupant_jid, element, wait=False)


    @staticmethod
    def _not_yet_signalled(participant, action, endpoint_map):
        """SourceSignaling.update: add only what the participant lacks, remove only what it has."""
        result = {}
        for owner, endpoint in endpoint_map.items():
            known = participant.signalled.setdefault(owner, set())
            changed = endpoint.sources - known if action == "source-add" else endpoint.sources & known
            if not changed:
                continue
            ssrcs = {s.ssrc for s in changed}
            groups = {g for g in endpoint.groups if set(g.ssrcs) <= ssrcs}
            result[owner] = EndpointSources(set(changed), groups)
            if action == "source-add":
                known |= changed
            else:
                known -= changed
        return result


def from_jingle_safe(contents):
    try:
        return from_jingle(contents)
    except ValidationError:
        return EndpointSources()


def _share_sources(r):
    """The screen share of a simulated participant as its browser signals it: `<ep>-v1`,
    videoType desktop, primary + RTX in a FID group, one msid."""
    name, video_type, ssrc, rtx_ssrc = r.share_source()
    return EndpointSources({Source(ssrc, "video", name, r.share_msid, video_type),
                            Source(rtx_ssrc, "video", name, r.share_msid, video_type)},
                           {SsrcGroup("FID", (ssrc, rtx_ssrc), "video")})

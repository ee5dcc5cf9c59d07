"""The focus double: an external component (XEP-0114) on focus.<domain> behaving like Jicofo.

Jicofo is reached by clients through focus.<domain> (a Prosody client_proxy component in
docker-jitsi-meet); this double *is* that component. It answers the conference request
(jicofo xmpp/ConferenceIqHandler.kt), joins and configures rooms as 'focus'
(xmpp/muc/ChatRoomImpl.kt joinAs), asks occupants for disco#info with a 15 s timeout and the
default {audio, video, sctp} (jicofo-common xmpp/XmppProvider.kt discoverFeatures, with
Smack's caps cache by node#ver), grants owner (ChatRoomImpl.grantOwnership) and carries the
Jingle IQs of each conference (conference.py). When its XMPP connection is lost it stops
every conference, as Jicofo does when it reconnects without resumption
(JitsiMeetConferenceImpl registrationChanged: "give up and stop").
"""
import asyncio
import base64
import hashlib
import xml.etree.ElementTree as ET

from slixmpp import ComponentXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import MatchXPath

import jingle
from conference import Conference
from prosody import FOCUS_DOMAIN, FOCUS_JID, MUC_DOMAIN
from xmpp_base import (CAPS, DISCO_INFO, MUC, MUC_ADMIN, MUC_OWNER, MUC_USER, NICK, XDATA, Reconnecting, child,
                       local, x_data_submit)

DISCO_TIMEOUT = 15  # jicofo.xmpp.client.reply-timeout
FOCUS_NICK = "focus"


class PresenceView:
    """The parts of an occupant presence the focus reads (ChatRoomMemberImpl.processPresence)."""

    def __init__(self, stanza):
        xml = stanza.xml
        self.type = stanza["type"]
        self.nick = stanza["from"].resource
        self.room = stanza["from"].bare
        x = child(xml, "x", MUC_USER)
        self.item = child(x, "item", MUC_USER) if x is not None else None
        self.statuses = {s.get("code") for s in x if local(s.tag) == "status"} if x is not None else set()
        self.destroy = child(x, "destroy", MUC_USER) if x is not None else None
        nick = child(xml, "nick", NICK)
        self.label = nick.text if nick is not None else None
        stats = child(xml, "stats-id")
        self.stats_id = stats.text if stats is not None else None
        caps = child(xml, "c", CAPS)
        self.caps = f"{caps.get('node')}#{caps.get('ver')}" if caps is not None and caps.get("hash") else None
        error = child(xml, "error")
        self.error = local(error[0].tag) if error is not None and len(error) else None


def caps_ver(query):
    """XEP-0115 verification string (identities and features only); None if forms are present."""
    if child(query, "x", XDATA) is not None:
        return None
    identities = sorted("/".join((i.get("category", ""), i.get("type", ""),
                                  i.get("{http://www.w3.org/XML/1998/namespace}lang", ""), i.get("name", "")))
                        for i in query if local(i.tag) == "identity")
    features = sorted(f.get("var", "") for f in query if local(f.tag) == "feature")
    text = "".join(i + "<" for i in identities) + "".join(f + "<" for f in features)
    return base64.b64encode(hashlib.sha1(text.encode()).digest()).decode()


class Focus(ComponentXMPP, Reconnecting):
    def __init__(self, secret, port, events, room_secrets, simulated, leave_plan=None, share_plan=None):
        ComponentXMPP.__init__(self, FOCUS_DOMAIN, secret, "127.0.0.1", port)
        self.setup_reconnect("127.0.0.1", port, events)
        self.events, self.room_secrets = events, room_secrets
        self.simulated = list(simulated)  # the simulated participants (maybe none), to tell their nicks apart
        self.leave_plan = dict(leave_plan or {})  # --leave: participant index -> seconds after session-accept
        self.share_plan = list(share_plan or [])  # --share: [(index, start, stop or None)] (share_origin)
        self.focus_jid = f"{FOCUS_JID}/focus"
        self.conferences = {}
        self._starting = {}
        self._join_waiters = {}
        self.caps_cache = {}
        self.connected_once = asyncio.get_event_loop().create_future()
        self.register_plugin("xep_0199")  # answers XMPP pings
        ns = self.default_ns
        self.register_handler(CoroutineCallback("focus conference", MatchXPath(f"{{{ns}}}iq/{{{jingle.FOCUS}}}conference"),
                                       self._on_conference_iq))
        self.register_handler(CoroutineCallback("focus jingle", MatchXPath(f"{{{ns}}}iq/{{{jingle.JINGLE}}}jingle"),
                                       self._on_jingle_iq))
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("disconnected", self._on_disconnected)
        self.add_event_handler("presence", self._on_presence)

    # ----- connection -----

    def _on_session_start(self, _):
        self.events.info("focus component connected")
        if not self.connected_once.done():
            self.connected_once.set_result(True)
        self.events.emit("focus-connected")

    def _on_disconnected(self, reason):
        for conference in list(self.conferences.values()):
            asyncio.ensure_future(conference.stop("focus disconnected from XMPP"))
        for waiter in self._join_waiters.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("XMPP connection lost"))

    def simulated_by_nick(self, nick):
        return next((s for s in self.simulated if s.endpoint == nick), None)

    def is_simulated(self, nick):
        return self.simulated_by_nick(nick) is not None

    def remote_media_of(self, nick):
        """The media (SSRCs, tone) of the simulated participant whose endpoint is nick, or None."""
        simulated = self.simulated_by_nick(nick)
        return simulated.remote_media if simulated else None

    def session_accepted(self, room):
        """--leave K@S: S seconds after the first valid session-accept of a box, participant K leaves
        (once per run; it does not join again)."""
        plan, self.leave_plan = self.leave_plan, {}
        for index, delay in plan.items():
            simulated = self.simulated[index]
            asyncio.get_event_loop().call_later(delay, simulated.leave, room)

    def share_origin(self, room):
        """--share INDEX@T[-T2]: the times count from the opening of the first box session's bridge
        channel in this run (the origin of --speakers and --sender-max-height for that session),
        or from its valid session-accept when it has no bridge channel. Once per run, like
        --leave: a share is a participant's act in the conference (Jingle source-add to every
        box), not replayed per session; a box session that starts later gets the share in its
        session-initiate while it lasts."""
        plan, self.share_plan = self.share_plan, []
        loop = asyncio.get_event_loop()
        for index, start, stop in plan:
            loop.call_later(start, lambda i=index: asyncio.ensure_future(self._share(room, i, True)))
            if stop is not None:
                loop.call_later(stop, lambda i=index: asyncio.ensure_future(self._share(room, i, False)))

    async def _share(self, room, index, on):
        simulated = self.simulated[index]
        conference = self.conferences.get(room)
        if conference is None or conference.stopped or simulated.endpoint not in conference.participants:
            self.events.info(f"--share: participant {index} is not in the conference {room}")
            return
        if await conference.simulated_share(simulated.endpoint, on):
            simulated.send_presence_update(room)  # after the source-add/-remove, as lib-jitsi-meet does

    def conference_stopped(self, conference):
        if self.conferences.get(conference.room) is conference:
            del self.conferences[conference.room]
        for simulated in self.simulated:
            simulated.room_gone(conference.room)

    # ----- conference request -----

    async def _on_conference_iq(self, iq):
        """ConferenceIqHandler.handleConferenceIq: create/join the room, then answer ready=true."""
        query = child(iq.xml, "conference", jingle.FOCUS)
        room = query.get("room")
        properties = {p.get("name"): p.get("value") for p in query if local(p.tag) == "property"}
        self.events.emit("conference-request", room=room, properties=properties,
                         machine_uid=query.get("machine-uid"), **{"from": str(iq["from"])})
        if not room:
            return self._error(iq, "modify", "bad-request", "No 'room' specified.")
        try:
            conference = await self._conference(room.lower(), properties)
        except Exception as error:
            self.events.error(f"conference {room}: {error!r}")
            return self._error(iq, "wait", "internal-server-error", str(error))
        if self.simulated and not conference.stopped:
            # before-box: the participants are in the room before the box gets its answer
            await asyncio.gather(*(s.room_available(conference.room) for s in self.simulated))
        reply = iq.reply(clear=True)
        answer = ET.Element(f"{{{jingle.FOCUS}}}conference", {"room": room, "ready": "true",
                                                              "focusjid": FOCUS_JID})
        for name, value in (("authentication", "false"), ("visitors-supported", "false")):
            ET.SubElement(answer, f"{{{jingle.FOCUS}}}property", {"name": name, "value": value})
        reply.append(answer)
        reply.send()

    async def _conference(self, room, properties):
        existing = self.conferences.get(room)
        if existing and not existing.stopped:
            return existing
        if room in self._starting:
            return await asyncio.shield(self._starting[room])
        conference = Conference(self, room, properties)
        task = asyncio.ensure_future(self._start_conference(conference))
        self._starting[room] = task
        try:
            return await asyncio.shield(task)
        finally:
            self._starting.pop(room, None)

    async def _start_conference(self, conference):
        self.conferences[conference.room] = conference
        try:
            await conference.start(self.room_secrets.get(conference.room.split("@")[0]))
            asyncio.ensure_future(self.watch_room_config(conference))
        except Exception:
            self.conferences.pop(conference.room, None)
            raise
        return conference

    # ----- MUC operations -----

    async def join_room(self, room):
        """Send join presence as room/focus; True if Prosody created the room (status 201)."""
        waiter = asyncio.get_event_loop().create_future()
        self._join_waiters[room] = waiter
        presence = self.make_presence(pto=f"{room}/{FOCUS_NICK}", pfrom=self.focus_jid)
        presence.append(ET.Element(f"{{{MUC}}}x"))
        presence.send()
        try:
            return await asyncio.wait_for(waiter, 10)
        finally:
            self._join_waiters.pop(room, None)

    def leave_room(self, room):
        self.make_presence(pto=f"{room}/{FOCUS_NICK}", pfrom=self.focus_jid, ptype="unavailable").send()

    async def configure_room(self, room, fields):
        get = self.make_iq_get(ito=room, ifrom=self.focus_jid)
        get.append(ET.Element(f"{{{MUC_OWNER}}}query"))
        await get.send(timeout=10)
        submit = self.make_iq_set(ito=room, ifrom=self.focus_jid)
        query = ET.Element(f"{{{MUC_OWNER}}}query")
        query.append(x_data_submit(fields))
        submit.append(query)
        await submit.send(timeout=10)

    async def room_config(self, room):
        get = self.make_iq_get(ito=room, ifrom=self.focus_jid)
        get.append(ET.Element(f"{{{MUC_OWNER}}}query"))
        result = await get.send(timeout=10)
        values = {}
        for field in result.xml.iter(f"{{{XDATA}}}field"):
            value = field.find(f"{{{XDATA}}}value")
            values[field.get("var")] = value.text if value is not None else None
        return values

    async def grant_owner(self, room, bare_jid):
        iq = self.make_iq_set(ito=room, ifrom=self.focus_jid)
        query = ET.Element(f"{{{MUC_ADMIN}}}query")
        ET.SubElement(query, f"{{{MUC_ADMIN}}}item", {"affiliation": "owner", "jid": bare_jid})
        iq.append(query)
        try:
            await iq.send(timeout=10)
        except (IqError, IqTimeout) as error:
            self.events.error(f"grant owner to {bare_jid} failed: {error!r}")

    async def discover_features(self, member):
        """disco#info to the occupant JID; defaults after 15 s or on error, like Jicofo."""
        if member.caps and member.caps in self.caps_cache:
            features = self.caps_cache[member.caps]
            self.events.emit("disco", room=member.occupant_jid.split("/")[0], nick=member.nick,
                             features=sorted(features), cached=True)
            return features
        iq = self.make_iq_get(ito=member.occupant_jid, ifrom=self.focus_jid)
        attrs = {"node": member.caps} if member.caps else {}
        iq.append(ET.Element(f"{{{DISCO_INFO}}}query", attrs))
        try:
            result = await iq.send(timeout=DISCO_TIMEOUT)
        except (IqError, IqTimeout) as error:
            features = set(jingle.DEFAULT_FEATURES)
            self.events.emit("disco", room=member.occupant_jid.split("/")[0], nick=member.nick,
                             features=sorted(features), default=True,
                             error="timeout" if isinstance(error, IqTimeout) else error.condition)
            return features
        query = child(result.xml, "query", DISCO_INFO)
        features = {f.get("var") for f in query if local(f.tag) == "feature"} if query is not None else set()
        if member.caps and query is not None and member.caps.split("#", 1)[1] == caps_ver(query):
            self.caps_cache[member.caps] = features
        self.events.emit("disco", room=member.occupant_jid.split("/")[0], nick=member.nick, features=sorted(features))
        return features

    async def send_jingle(self, to, element, wait):
        """Send a Jingle IQ from the focus; with wait, True on result or timeout (initiateSession)."""
        iq = self.make_iq_set(ito=to, ifrom=self.focus_jid)
        iq.append(element)
        if not wait:
            iq.send()
            return True
        try:
            await iq.send(timeout=15)
            return True
        except IqTimeout:
            return True
        except IqError as error:
            self.events.emit("jingle-error", to=to, action=element.get("action"), condition=error.condition,
                             text=error.text)
            return False

    # ----- incoming -----

    async def _on_presence(self, stanza):
        view = PresenceView(stanza)
        if not view.room.endswith("@" + MUC_DOMAIN):
            return
        if view.nick == FOCUS_NICK:
            return await self._on_own_presence(view)
        conference = self.conferences.get(view.room)
        if conference and not conference.stopped and view.type in ("available", "unavailable"):
            await conference.on_member_presence(view.nick, view)

    async def _on_own_presence(self, view):
        waiter = self._join_waiters.get(view.room)
        if view.type == "error":
            if waiter and not waiter.done():
                waiter.set_exception(RuntimeError(f"joining {view.room} failed: {view.error}"))
            return
        if view.type == "available" and "110" in view.statuses:
            if waiter and not waiter.done():
                waiter.set_result("201" in view.statuses)
            return
        conference = self.conferences.get(view.room)
        if view.type == "unavailable" and conference:
            if view.destroy is not None:
                reason = child(view.destroy, "reason", MUC_USER)
                await conference.room_destroyed(reason.text if reason is not None else None)
            else:
                await conference.stop("focus left or was removed")

    async def watch_room_config(self, conference):
        """Reads the room form as owner every second and reports changes (event owner-config):
        the box, when it is owner, may lock the room with a password (muc#owner form)."""
        secret = bool(self.room_secrets.get(conference.room.split("@")[0]))
        last = (secret, secret)  # as the focus configured it
        while not conference.stopped and self.conferences.get(conference.room) is conference:
            await asyncio.sleep(1)
            if conference.configuring or conference.stopped:
                continue
            try:
                config = await self.room_config(conference.room)
            except (IqError, IqTimeout):
                continue
            state = (config.get("muc#roomconfig_passwordprotectedroom") in ("1", "true")
                     or bool(config.get("muc#roomconfig_roomsecret")), bool(config.get("muc#roomconfig_roomsecret")))
            if state != last:
                self.events.emit("owner-config", room=conference.room, password_protected=state[0],
                                 secret_set=state[1])
            last = state

    async def _on_jingle_iq(self, iq):
        if iq["type"] not in ("set", "get"):
            return
        element = child(iq.xml, "jingle", jingle.JINGLE)
        room, nick = iq["from"].bare, iq["from"].resource
        conference = self.conferences.get(room)
        error = ("cancel", "item-not-found", "unknown conference") if conference is None else \
            await conference.on_jingle(nick, element)
        if error:
            return self._error(iq, *error)
        iq.reply(clear=True).send()

    @staticmethod
    def _error(iq, error_type, condition, text):
        reply = iq.reply(clear=True)
        reply["type"] = "error"
        reply["error"]["type"] = error_type
        reply["error"]["condition"] = condition
        if text:
            reply["error"]["text"] = text
        reply.send()

"""Shared XMPP plumbing of the focus component and the simulated participant.

Both reconnect by themselves when Prosody goes away (nightly restart), retrying every second
like Jicofo's Smack ReconnectionManager does with its fixed delay, instead of slixmpp's
exponential back-off (up to 300 s).
"""
import asyncio
import xml.etree.ElementTree as ET

MUC = "http://jabber.org/protocol/muc"
MUC_USER = "http://jabber.org/protocol/muc#user"
MUC_OWNER = "http://jabber.org/protocol/muc#owner"
MUC_ADMIN = "http://jabber.org/protocol/muc#admin"
DISCO_INFO = "http://jabber.org/protocol/disco#info"
CAPS = "http://jabber.org/protocol/caps"
NICK = "http://jabber.org/protocol/nick"
XDATA = "jabber:x:data"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
RETRY_SECONDS = 1.0


def local(tag):
    return tag.split("}", 1)[-1]


def child(element, name, namespace=None):
    """First child by local name (and namespace if given): browsers' presence extensions such as
    <SourceInfo> carry the stream's default namespace, which differs between c2s and components."""
    for c in element:
        if local(c.tag) == name and (namespace is None or c.tag == f"{{{namespace}}}{name}"):
            return c
    return None


class Reconnecting:
    """Mixin for slixmpp streams: reconnect 1 s after any loss until stop() is called."""

    def setup_reconnect(self, host, port, log):
        self._address, self._log, self._stopping = (host, port), log, False
        self.add_event_handler("disconnected", self._reconnect_later)

    def reschedule_connection_attempt(self):
        if self._current_connection_attempt is None:
            return None
        self._connect_loop_wait = RETRY_SECONDS
        self._current_connection_attempt = asyncio.ensure_future(self._connect_loop())
        return self._current_connection_attempt

    def start(self):
        self.connect(*self._address)

    def _reconnect_later(self, reason):
        if self._stopping:
            return
        self._log.info(f"{self.boundjid.bare or self.boundjid}: disconnected ({reason}); reconnecting")
        asyncio.get_event_loop().call_later(RETRY_SECONDS, lambda: None if self._stopping else self.start())

    async def stop(self):
        self._stopping = True
        self.cancel_connection_attempt()
        if self.transport:
            try:
                await asyncio.wait_for(self.disconnect(wait=1), 3)
            except Exception:
                self.abort()


def x_data_submit(fields):
    """A jabber:x:data submit form (XEP-0004) for muc#roomconfig."""
    form = ET.Element(f"{{{XDATA}}}x", {"type": "submit"})
    values = {"FORM_TYPE": "http://jabber.org/protocol/muc#roomconfig", **fields}
    for var, value in values.items():
        field = ET.SubElement(form, f"{{{XDATA}}}field", {"var": var})
        ET.SubElement(field, f"{{{XDATA}}}value").text = value
    return form

# SPDX-License-Identifier: GPL-3.0-or-later
"""A minimal XMPP client for the tests: plain TCP, SASL PLAIN, resource binding, stanzas in and out."""

import base64
import socket
import time
import xml.etree.ElementTree as ET

STREAM_NS = "http://etherx.jabber.org/streams"
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
BIND_NS = "urn:ietf:params:xml:ns:xmpp-bind"
STANZA_ERR_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"
PING_NS = "urn:xmpp:ping"


class XmppError(Exception):
    pass


class Client:
    """One c2s session. Stanzas are ElementTree elements with namespaced tags ({jabber:client}iq, ...)."""

    def __init__(self, host, port, domain, timeout=10):
        self.domain = domain
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.jid = None
        self.pending = []          # stanzas read while waiting for another one
        self._open_stream()

    def _open_stream(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.send("<?xml version='1.0'?><stream:stream to='%s' version='1.0' xmlns='jabber:client' "
                  "xmlns:stream='%s'>" % (self.domain, STREAM_NS))

    def send(self, text):
        self.sock.sendall(text.encode() if isinstance(text, str) else text)

    def _read_events(self, deadline):
        """Feed the parser until it yields at least one top-level stanza; return the stanzas (maybe [])."""
        out = []
        while not out:
            left = deadline - time.time()
            if left <= 0:
                return out
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return out
            if not data:
                raise XmppError("stream closed by the server")
            self.parser.feed(data)
            for event, elem in self.parser.read_events():
                if event == "start":
                    self.depth += 1
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        out.append(elem)
                    elif self.depth == 0:
                        raise XmppError("server closed the stream")
        return out

    def wait_for(self, match, timeout=10):
        """The first stanza (pending or new) for which match(stanza) is true; XmppError after timeout."""
        deadline = time.time() + timeout
        while True:
            for i, st in enumerate(self.pending):
                if match(st):
                    return self.pending.pop(i)
            new = self._read_events(deadline)
            if not new and time.time() >= deadline:
                raise XmppError("no matching stanza within %.1f s; unmatched: %s"
                                % (timeout, [ET.tostring(s)[:200] for s in self.pending]))
            for st in new:
                if st.tag == "{%s}error" % STREAM_NS:
                    raise XmppError("stream error: " + ET.tostring(st).decode())
            self.pending.extend(new)

    def login(self, user, password, resource="test"):
        features = self.wait_for(lambda s: s.tag == "{%s}features" % STREAM_NS)
        mechs = [m.text for m in features.iter("{%s}mechanism" % SASL_NS)]
        if "PLAIN" not in mechs:
            raise XmppError("server offers no SASL PLAIN: %s" % mechs)
        token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        self.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (SASL_NS, token))
        reply = self.wait_for(lambda s: s.tag in ("{%s}success" % SASL_NS, "{%s}failure" % SASL_NS))
        if reply.tag != "{%s}success" % SASL_NS:
            raise XmppError("SASL failure: " + ET.tostring(reply).decode())
        self._open_stream()
        self.wait_for(lambda s: s.tag == "{%s}features" % STREAM_NS)
        self.send("<iq type='set' id='bind1'><bind xmlns='%s'><resource>%s</resource></bind></iq>"
                  % (BIND_NS, resource))
        res = self.iq_reply("bind1")
        if res.get("type") != "result":
            raise XmppError("bind failed: " + ET.tostring(res).decode())
        self.jid = res.find("{%s}bind/{%s}jid" % (BIND_NS, BIND_NS)).text
        self.send("<presence/>")
        return self.jid

    def iq_reply(self, iq_id, timeout=10):
        return self.wait_for(lambda s: s.tag == "{jabber:client}iq" and s.get("id") == iq_id
                             and s.get("type") in ("result", "error"), timeout)

    def ping(self, to, iq_id, timeout=20):
        """Send an XEP-0199 ping; return (type, error condition or None, the reply stanza)."""
        self.send("<iq type='get' to='%s' id='%s'><ping xmlns='%s'/></iq>" % (to, iq_id, PING_NS))
        reply = self.iq_reply(iq_id, timeout)
        return reply.get("type"), error_condition(reply), reply

    def message(self, to, body, msg_id):
        self.send("<message type='chat' to='%s' id='%s'><body>%s</body></message>" % (to, msg_id, body))

    def wait_message(self, msg_id, timeout=20):
        return self.wait_for(lambda s: s.tag == "{jabber:client}message" and s.get("id") == msg_id, timeout)

    def close(self):
        try:
            self.send("</stream:stream>")
        except OSError:
            pass
        self.sock.close()


def error_condition(stanza):
    """The defined condition of a stanza error (e.g. 'remote-server-not-found'), or None."""
    err = stanza.find("{jabber:client}error")
    if err is None:
        return None
    for child in err:
        if child.tag.startswith("{%s}" % STANZA_ERR_NS) and not child.tag.endswith("}text"):
            return child.tag.split("}", 1)[1]
    return "?"

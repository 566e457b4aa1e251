#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SIP front end's bad-input table: each crafted request gets its exact answer, while a good client
registers and is redirected correctly meanwhile, and a binding published before the bad input survives it.

Two resolverd nodes with the SIP server on: "main" (min_expires 60, max_contacts 3, no users) takes most rows
and the good client; "strict" lists a user (digest authentication on every REGISTER) and runs with
policy.default: keys and no pinned key, so this node may publish for no domain at all.

Rows: 400 (missing and repeated headers, bad CSeq, CSeq method mismatch, bad Content-Length, a malformed Via,
bad Max-Forwards/Expires/Contact/To, headers in the Request-URI), 403 (too many contacts, From/To mismatch
after authenticating, the policy), 405 (a known method the server does not offer, sent to the server itself),
501 (a method it does not recognize, sent to the server itself), 416, 420 (Require), 423 (with Min-Expires),
481 (CANCEL matching no transaction), 505 (SIP/3.0); over UDP and, for some, TCP. Any method addressed to an
address of record is a lookup and gets the redirect answer."""

import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sip"))
import sipkit  # noqa: E402
import harness  # noqa: E402

MIN_EXPIRES = 60
MAX_CONTACTS = 3
USERS = {"dave": "d4ve-n0t-Secret"}
DOMAIN = "example.com"
REPLY_WAIT = 3.0  # most time a final answer may take (a REGISTER waits for a DHT lookup)

GOOD_CONTACT = "sip:good@192.0.2.77:5077"
KEEPER_CONTACT = "sip:keeper@192.0.2.78:5078"


def header(msg, name, short=None):
    """The value of a header field of a message (bytes; folded lines joined), or None."""
    names = name + ("|" + short if short else "")
    head = re.sub(rb"\r\n[ \t]+", b" ", msg.split(b"\r\n\r\n", 1)[0])
    m = re.search(rb"\r\n(?:%s)[ \t]*:[ \t]*([^\r\n]*)" % names.encode(), head, re.I)
    return m.group(1).strip() if m else None


def headers(msg, name, short=None):
    """Every value of a header field (bytes), in order."""
    names = name + ("|" + short if short else "")
    head = re.sub(rb"\r\n[ \t]+", b" ", msg.split(b"\r\n\r\n", 1)[0])
    return [v.strip() for v in re.findall(rb"\r\n(?:%s)[ \t]*:[ \t]*([^\r\n]*)" % names.encode(), head, re.I)]


def status_line(msg):
    """(code, reason phrase) of a response, or (None, None)."""
    m = re.match(rb"SIP/2\.0 (\d{3}) ([^\r\n]*)\r\n", msg or b"")
    return (int(m.group(1)), m.group(2).decode(errors="replace").strip()) if m else (None, None)


def request(method="REGISTER", uri="sip:" + DOMAIN, user="row", set_=None, add=(), version="SIP/2.0",
            body="", call_id=None, cseq=1):
    """A request as text. The Via is '{via}', filled in by exchange(). set_: header name -> new value (None
    drops it, a name not in the defaults is added); add: extra raw header lines."""
    hdrs = [["Via", "{via}"], ["Max-Forwards", "70"],
            ["From", "<sip:%s@%s>;tag=f%d" % (user, DOMAIN, time.monotonic_ns())],
            ["To", "<sip:%s@%s>" % (user, DOMAIN)],
            ["Call-ID", call_id or "bad-%s-%d@test" % (user, time.monotonic_ns())],
            ["CSeq", "%d %s" % (cseq, method)],
            ["Contact", "<sip:%s@192.0.2.40:5070>" % user]]
    if method == "REGISTER":
        hdrs.append(["Expires", "300"])
    for name, value in (set_ or {}).items():
        row = [h for h in hdrs if h[0].lower() == name.lower()]
        if row and value is None:
            hdrs.remove(row[0])
        elif row:
            row[0][1] = value
        elif value is not None:
            hdrs.append([name, value])
    lines = ["%s %s %s" % (method, uri, version)] + ["%s: %s" % (n, v) for n, v in hdrs] + list(add)
    if not any(n.lower() == "content-length" for n, _ in hdrs):
        lines.append("Content-Length: %d" % len(body.encode()))
    return "\r\n".join(lines) + "\r\n\r\n" + body


def ack_for(req, resp):
    """The ACK of a non-2xx final response to an INVITE (RFC 3261 17.1.1.3)."""
    uri = req.split(b" ", 2)[1]
    return (b"ACK " + uri + b" SIP/2.0\r\nVia: " + headers(req, "Via", "v")[0] + b"\r\nMax-Forwards: 70\r\n"
            b"From: " + header(resp, "From", "f") + b"\r\nTo: " + header(resp, "To", "t") + b"\r\nCall-ID: "
            + header(resp, "Call-ID", "i") + b"\r\nCSeq: " + header(resp, "CSeq").split()[0]
            + b" ACK\r\nContent-Length: 0\r\n\r\n")


def exchange(port, text, transport="udp", timeout=REPLY_WAIT):
    """Send one request (its '{via}' becomes a Via naming our socket, with rport and a fresh branch) and
    return (request bytes, first final response bytes or b''). A final non-2xx answer to an INVITE is
    ACKed, so the server stops repeating it."""
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.settimeout(timeout)
        s.bind(("127.0.0.1", 0))
        via = "SIP/2.0/%s 127.0.0.1:%d;rport;branch=z9hG4bK-bad%d" % (transport.upper(), s.getsockname()[1],
                                                                      time.monotonic_ns())
        req = text.replace("{via}", via).encode()
        if transport == "udp":
            s.sendto(req, ("127.0.0.1", port))
        else:
            s.connect(("127.0.0.1", port))
            s.sendall(req)
        deadline = time.time() + timeout
        final = b""
        while time.time() < deadline:
            try:
                reply = s.recv(65535) if transport == "udp" else sipkit.recv_message(s, deadline - time.time())
            except OSError:
                break
            if not reply:
                break
            if (sipkit.status_of(reply) or 0) >= 200:
                final = reply
                break
        if final and req.startswith(b"INVITE ") and sipkit.status_of(final) >= 300:
            if transport == "udp":
                s.sendto(ack_for(req, final), ("127.0.0.1", port))
            else:
                s.sendall(ack_for(req, final))
        return req, final


# ---------------------------------------------------------------------------------------------------------
# the table: (name, node, transport, request text, code, reason pattern, {header: pattern} the answer has)

def rows():
    r = []

    def row(name, code, text, reason=".", node="main", transport="udp", want=None):
        r.append((name, node, transport, text, code, reason, want or {}))

    u = "u%d" % (os.getpid() % 1000)  # users unique to this run
    row("missing_call_id", 400, request(user=u + "a", set_={"Call-ID": None}), "Call-ID")
    row("missing_call_id_tcp", 400, request(user=u + "a", set_={"Call-ID": None}), "Call-ID", transport="tcp")
    row("two_call_ids", 400, request(user=u + "b", add=["Call-ID: second@test"]), "Call-ID")
    row("missing_from", 400, request(user=u + "c", set_={"From": None}), "From")
    row("missing_cseq", 400, request(user=u + "d", set_={"CSeq": None}), "CSeq")
    row("cseq_not_a_number", 400, request(user=u + "e", set_={"CSeq": "x1 REGISTER"}), "CSeq")
    row("cseq_not_a_number_tcp", 400, request(user=u + "e", set_={"CSeq": "x1 REGISTER"}), "CSeq",
        transport="tcp")
    row("cseq_over_32_bits", 400, request(user=u + "f", set_={"CSeq": "4294967296 REGISTER"}), "CSeq")
    row("cseq_method_mismatch", 400, request(user=u + "g", set_={"CSeq": "1 INVITE"}), "CSeq method")
    row("cseq_method_mismatch_tcp", 400, request(user=u + "g", set_={"CSeq": "1 INVITE"}), "CSeq method",
        transport="tcp")
    row("content_length_not_a_number", 400, request(user=u + "h", set_={"Content-Length": "abc"}),
        "Content-Length")
    row("content_length_past_the_datagram", 400, request(user=u + "i", set_={"Content-Length": "500"}),
        "Content-Length")
    row("second_via_malformed", 400,
        request(user=u + "j", add=["Via: SIP/2.0/UDP 192.0.2.1:5060;;branch=z9hG4bK-x"]), "Via")
    row("max_forwards_over_255", 400, request(user=u + "k", set_={"Max-Forwards": "256"}), "Max-Forwards")
    row("expires_not_a_number", 400, request(user=u + "l", set_={"Expires": "soon"}), "Expires")
    row("contact_with_headers_outside_brackets", 400,
        request(user=u + "m", set_={"Contact": "sip:%sm@192.0.2.40?x=y" % u}), "Contact")
    row("to_not_a_sip_uri", 400, request(user=u + "n", set_={"To": "<tel:+15551234>"}), "To")
    row("headers_in_request_uri", 400, request(user=u + "o", uri="sip:%s?x=y" % DOMAIN), "Request-URI")
    row("star_contact_with_expires", 400, request(user=u + "p", set_={"Contact": "*"}), r"\*")
    row("too_many_contacts", 403,
        request(user=u + "q", set_={"Contact": ", ".join("<sip:%sq@192.0.2.41:%d>" % (u, 5070 + i)
                                                        for i in range(MAX_CONTACTS + 1))}),
        "contacts")
    row("too_many_contacts_tcp", 403,
        request(user=u + "r", add=["Contact: <sip:%sr@192.0.2.42:%d>" % (u, 5071 + i) for i in range(MAX_CONTACTS)]),
        "contacts", transport="tcp")
    row("expires_below_min", 423, request(user=u + "s", set_={"Expires": "30"}), ".",
        want={"Min-Expires": rb"^%d$" % MIN_EXPIRES})
    row("contact_expires_below_min_tcp", 423,
        request(user=u + "t", set_={"Contact": "<sip:%st@192.0.2.43>;expires=1" % u}), ".", transport="tcp",
        want={"Min-Expires": rb"^%d$" % MIN_EXPIRES})
    row("cancel_without_transaction", 481, request("CANCEL", uri="sip:nobody-%s@%s" % (u, DOMAIN), user=u + "u"))
    row("cancel_without_transaction_tcp", 481,
        request("CANCEL", uri="sip:nobody-%s@%s" % (u, DOMAIN), user=u + "u"), transport="tcp")
    row("require_unknown_extension", 420, request(user=u + "v", set_={"Require": "x-no-such-option"}), ".",
        want={"Unsupported": rb"x-no-such-option"})
    row("require_unknown_extension_tcp", 420,
        request("INVITE", uri="sip:%sv@%s" % (u, DOMAIN), user=u + "v", set_={"Require": "100rel, x-other"}),
        ".", transport="tcp", want={"Unsupported": rb"100rel.*x-other"})
    row("sip_3_0", 505, request(user=u + "w", version="SIP/3.0"))
    row("request_uri_scheme_http", 416, request("INVITE", uri="http://%s/" % DOMAIN, user=u + "x"))
    row("invite_to_the_server_itself", 405, request("INVITE", uri="sip:localhost", user=u + "y"), ".",
        want={"Allow": rb"REGISTER"})
    row("unknown_method_to_the_server_itself", 501, request("FROB", uri="sip:localhost", user=u + "y"), ".",
        want={"Allow": rb"REGISTER"})
    row("unknown_method_to_the_server_itself_tcp", 501, request("FROB", uri="sip:127.0.0.1", user=u + "y"), ".",
        transport="tcp", want={"Allow": rb"REGISTER"})
    row("subscribe_to_the_server_itself_tcp", 405, request("SUBSCRIBE", uri="sip:localhost", user=u + "y"), ".",
        transport="tcp", want={"Allow": rb"REGISTER"})
    # The strict node: digest first (each of these rows expects a 401 to its first attempt), then the answer.
    row("auth_from_to_mismatch", 403,
        request(user="dave", set_={"From": "<sip:eve@%s>;tag=e1" % DOMAIN}), "From/To", node="strict")
    row("policy_keys_without_the_node_key", 403, request(user="dave"), DOMAIN, node="strict")
    row("policy_keys_without_the_node_key_tcp", 403, request(user="dave"), DOMAIN, node="strict", transport="tcp")
    return r


ROWS = rows()


class GoodClient(threading.Thread):
    """Registers GOOD_CONTACT (one Call-ID, rising CSeq: refreshes of one binding) and INVITEs its AoR in a
    loop, over UDP and every third round over TCP, recording every exchange that was not right."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.rounds = 0
        self.errors = []
        self.call_id = "good-%d@test" % time.monotonic_ns()

    def run(self):
        cseq = 1
        while not self.stop.is_set():
            transport = "tcp" if self.rounds % 3 == 2 else "udp"
            try:
                _, reg = exchange(self.port, request(user="good", call_id=self.call_id, cseq=cseq,
                                                     set_={"Contact": "<%s>" % GOOD_CONTACT}), transport)
                cseq += 1
                if sipkit.status_of(reg) != 200 or not any(GOOD_CONTACT.encode() in c
                                                           for c in headers(reg, "Contact", "m")):
                    self.errors.append("round %d REGISTER over %s: %r" % (self.rounds, transport, reg[:400]))
                _, inv = exchange(self.port, request("INVITE", uri="sip:good@" + DOMAIN, user="caller",
                                                     set_={"To": "<sip:good@%s>" % DOMAIN}), transport)
                contacts = headers(inv, "Contact", "m")
                if sipkit.status_of(inv) != 302 or not any(GOOD_CONTACT.encode() in c for c in contacts):
                    self.errors.append("round %d INVITE over %s: %r" % (self.rounds, transport, inv[:400]))
            except OSError as e:
                self.errors.append("round %d over %s: %s" % (self.rounds, transport, e))
            self.rounds += 1


class SipBadInput(harness.ResolverdTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client = None
        try:
            reason = sipkit.resolverd_sip_available()
            if reason:
                raise RuntimeError("resolverd SIP server not available: " + reason)
            cls.main = sipkit.resolverd_sip_node(cls, "main", min_expires=MIN_EXPIRES, max_contacts=MAX_CONTACTS)
            cls.strict = sipkit.resolverd_sip_node(cls, "strict", min_expires=MIN_EXPIRES, users=USERS,
                                                   extra=["policy.default=keys"])
            cls.main.start()
            cls.strict.start()
            cls.ports = {"main": cls.main.sip_port, "strict": cls.strict.sip_port}
            # Published before any bad input: it must still resolve at the end.
            _, reply = exchange(cls.main.sip_port, request(user="keeper", set_={"Contact": "<%s>" % KEEPER_CONTACT,
                                                                                "Expires": "3600"}))
            if sipkit.status_of(reply) != 200:
                raise RuntimeError("the keeper's REGISTER got %r" % reply[:400])
            cls.client = GoodClient(cls.main.sip_port)
            cls.client.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "client", None):
            cls.client.stop.set()
            cls.client.join(30)
        super().tearDownClass()

    def answer(self, node, transport, text):
        """The final answer to @p text; on the strict node, after the digest challenge it must get first."""
        port = self.ports[node]
        req, reply = exchange(port, text, transport)
        if node != "strict":
            return req, reply
        self.assertEqual(sipkit.status_of(reply), 401, "the strict node must challenge first: %r" % reply[:400])
        ch = sipkit.challenges(reply)[0]
        uri = req.split(b" ", 2)[1].decode()
        auth = sipkit.digest_authorization(ch, "dave", USERS["dave"], "REGISTER", uri)
        # The same Call-ID and From tag, the next CSeq, a new branch (exchange() makes one), credentials.
        again = text.replace("\r\nCSeq: 1 REGISTER\r\n", "\r\nCSeq: 2 REGISTER\r\n", 1)
        again = again.replace("\r\nContent-Length:", "\r\nAuthorization: %s\r\nContent-Length:" % auth, 1)
        return exchange(port, again, transport)

    def check_row(self, name, node, transport, text, code, reason, want):
        req, reply = self.answer(node, transport, text)
        got, phrase = status_line(reply)
        self.assertEqual(got, code, "%s: expected %d, got %r" % (name, code, reply[:500]))
        self.assertTrue(phrase, "%s: no reason phrase in %r" % (name, reply[:200]))
        self.assertRegex(phrase, reason, "%s: reason phrase %r" % (name, phrase))
        if header(req, "Call-ID", "i") is not None:
            self.assertEqual(header(reply, "Call-ID", "i"), header(req, "Call-ID", "i"), name)
        for h, pattern in want.items():
            self.assertRegex(header(reply, h) or b"", pattern, "%s: %s in %r" % (name, h, reply[:500]))
        self.assertIsNone(getattr(self, node).proc.poll(), "%s: the node exited" % name)

    def test_89_top_via_without_host_is_dropped(self):
        """A top Via naming no host leaves nowhere to answer (server.c drops it): silence (rport would bring any
        answer back to our socket), then service."""
        text = request(user="novia", set_={"Via": "SIP/2.0/UDP ;rport;branch=z9hG4bK-nohost"})
        _, reply = exchange(self.main.sip_port, text, timeout=1.0)
        self.assertEqual(reply, b"", "answered a request whose Via names no host: %r" % reply[:300])
        self.assertEqual(sipkit.options(self.main.sip_port, "udp", timeout=2), 200)

    def test_90_incremental_contact_beyond_max(self):
        """max_contacts counts the AoR's bindings after the request: MAX_CONTACTS one by one, then one more."""
        user = "inc%d" % (os.getpid() % 1000)
        call_id = "inc-%d@test" % time.monotonic_ns()
        for i in range(MAX_CONTACTS + 1):
            _, reply = exchange(self.main.sip_port, request(user=user, call_id=call_id, cseq=i + 1, set_={
                "Contact": "<sip:%s@192.0.2.44:%d>" % (user, 5080 + i)}))
            want = 200 if i < MAX_CONTACTS else 403
            self.assertEqual(sipkit.status_of(reply), want, "contact %d: %r" % (i + 1, reply[:500]))
        self.assertTrue(status_line(reply)[1])
        # The refused one was not added: the AoR still redirects to exactly MAX_CONTACTS contacts.
        _, inv = exchange(self.main.sip_port, request("INVITE", uri="sip:%s@%s" % (user, DOMAIN), user="caller",
                                                      set_={"To": "<sip:%s@%s>" % (user, DOMAIN)}))
        self.assertEqual(sipkit.status_of(inv), 302, inv[:500])
        uris = re.findall(rb"<(sip:[^>]*)>", b",".join(headers(inv, "Contact", "m")))
        self.assertEqual(sorted(uris), [b"sip:%s@192.0.2.44:%d" % (user.encode(), 5080 + i)
                                        for i in range(MAX_CONTACTS)])

    def test_99_good_client_served_and_nothing_lost(self):
        """Runs last: the good client's every exchange was right, and the keeper's binding still resolves."""
        time.sleep(0.5)
        self.client.stop.set()
        self.client.join(30)
        self.assertFalse(self.client.is_alive(), "the good client is stuck")
        self.assertGreaterEqual(self.client.rounds, 10, "the good client barely ran")
        self.assertEqual(self.client.errors, [], "%d of %d rounds went wrong" % (len(self.client.errors),
                                                                                 self.client.rounds))
        sys.stderr.write("\ngood client: %d rounds (REGISTER + INVITE each), all right\n" % self.client.rounds)
        _, inv = exchange(self.main.sip_port, request("INVITE", uri="sip:keeper@" + DOMAIN, user="caller",
                                                      set_={"To": "<sip:keeper@%s>" % DOMAIN}))
        self.assertEqual(sipkit.status_of(inv), 302, inv[:500])
        self.assertIn(KEEPER_CONTACT.encode(), b",".join(headers(inv, "Contact", "m")))
        r = self.main.resolve("sip:keeper@" + DOMAIN)
        self.assertEqual(r.status, 200, r.body[:500])
        self.assertIn(KEEPER_CONTACT.encode(), r.body)


class SipTcpCaps(harness.ResolverdTestCase):
    """plugins.sip.tcp.max_connections and tcp.idle_timeout_ms bound the SIP server's TCP connections."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            reason = sipkit.resolverd_sip_available()
            if reason:
                raise RuntimeError("resolverd SIP server not available: " + reason)
            cls.capped = sipkit.resolverd_sip_node(cls, "capped", extra=["plugins.sip.tcp.max_connections=2",
                                                                       "plugins.sip.tcp.idle_timeout_ms=600"])
            cls.capped.start()
        except BaseException:
            cls.tearDownClass()
            raise

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.capped.sip_port), timeout=3)
        self.addCleanup(s.close)
        return s

    def closed_by_server(self, s, within):
        s.settimeout(within)
        try:
            return s.recv(1) == b""
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return True

    def test_1_connections_past_the_cap_are_closed(self):
        a, b = self.connect(), self.connect()
        time.sleep(0.2)  # both accepted before the third arrives
        c = self.connect()
        self.assertTrue(self.closed_by_server(c, 2), "a third connection stayed open past max_connections=2")
        # The two admitted ones still serve, and the listener takes a new one once a slot frees.
        a.sendall(request("OPTIONS", uri="sip:127.0.0.1", user="cap").replace(
            "{via}", "SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-cap%d" % time.monotonic_ns()).encode())
        a.settimeout(3)
        self.assertEqual(sipkit.status_of(a.recv(65536)), 200)
        b.close()
        a.close()
        time.sleep(0.3)
        self.assertEqual(sipkit.options(self.capped.sip_port, "tcp", timeout=2), 200)

    def test_2_silent_connections_are_closed(self):
        s = self.connect()
        t0 = time.monotonic()
        self.assertTrue(self.closed_by_server(s, 5), "a silent connection outlived idle_timeout_ms=600")
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)


def make_test(row_):
    def test(self):
        self.check_row(*row_)
    test.__doc__ = "%s over %s on %s: %d" % (row_[0], row_[2], row_[1], row_[4])
    return test


for i, row_ in enumerate(ROWS):
    setattr(SipBadInput, "test_%02d_%s" % (i + 10, row_[0]), make_test(row_))

if __name__ == "__main__":
    harness.main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad-input contract tables for HTTP and DNS, each held while a good client is being served.

Each table row is one bad request and the exact answer it must get: for HTTP
the status, the problem type slug and the field (and the headers that status
carries); for DNS the whole header (flags and the four counts) and the
question echoed, or no reply at all. Each table is checked twice: row by row
at rest, then in a storm, where 4 threads send its rows over and over for
about 3 s while a good client asks for a published binding (HTTP: its exact
body; DNS: the exact reply recorded at rest) and must never be failed.

The node limits HTTP to 10 requests per second per client address (burst 20),
so that 429 is one of the rows. Clients are told apart by address, and all of
127.0.0.0/8 is loopback: the good client and the bad rows spread over many
source addresses so that none of them comes near the limit, except the
addresses of the 429 row. A client over the limit is still served once its
bucket holds a token again, so the 429 row's answer is exactly the 429, or,
when a token was there, exactly the answer the same request gets unlimited.
"""

import json
import socket
import struct
import threading
import time
import urllib.parse

import harness

PROBLEM = "application/problem+json"
OPS_SECRET = "ops-secret-0123456789abcdef"   # scope sip:*@ops.example
GOOD_URI = "sip:good@badinput.example"
GOOD_CONTACT = "sip:good@192.0.2.7"
RATE, BURST = 10, 20
STORM_SECONDS = 3.0
BAD_THREADS = 4

# Source addresses. The node's read ACL is 127.0.0.0/16.
GOOD_SRC = ["127.0.%d.%d" % (a, b) for a in range(20, 28) for b in range(1, 251)]
BAD_SRC = ["127.0.%d.%d" % (a, b) for a in range(10, 18) for b in range(1, 251)]
OUTSIDE_SRC = ["127.1.%d.%d" % (a, b) for a in range(0, 2) for b in range(1, 251)]  # outside the read ACL
LIMITED_SRC = ["127.0.0.200"]                            # the 429 row's own address
SOURCES = {"bad": BAD_SRC, "outside": OUTSIDE_SRC, "limited": LIMITED_SRC}


# ---- HTTP ------------------------------------------------------------------

def http_exchange(src, port, data, timeout=10):
    """Send raw bytes from source address @p src; return a harness.Response, or None if nothing came back."""
    buf = b""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(data)
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            buf += chunk
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep:
                length = None
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if length is not None and len(body) >= length:
                    break
    if not buf:
        return None
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip()] = v.strip()
    return harness.Response(int(lines[0].split()[1]), headers, body)


def request(method, path, headers=(), body=None):
    """Raw HTTP/1.1 request bytes; Content-Length is added for a body unless a header says otherwise."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: x", "Connection: close"] + list(headers)
    if body is not None and not any(h.lower().startswith(("content-length:", "transfer-encoding:"))
                                     for h in headers):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def problem_errors(r, status, slug, field, headers):
    """What is wrong with @p r as the problem (status, slug, field) with @p headers; [] if nothing."""
    if r is None:
        return ["no response"]
    errors = []
    if r.status != status:
        errors.append("status %d, not %d" % (r.status, status))
    if r.headers.get("content-type") != PROBLEM:
        errors.append("content type %r" % r.headers.get("content-type"))
    body = r.json if isinstance(r.json, dict) else {}
    want = {"type": "urn:resolverd:problem:" + slug, "status": status}
    if field is not None:
        want["field"] = field
    got = {k: body.get(k) for k in ("type", "status", "field") if k in body}
    if got != want:
        errors.append("problem %r, not %r" % (got, want))
    if set(body) - {"type", "title", "status", "detail", "field"} or not body.get("title") or not body.get("detail"):
        errors.append("problem members %r" % sorted(body))
    for name, value in headers.items():
        if r.headers.get(name) != value:
            errors.append("header %s: %r, not %r" % (name, r.headers.get(name), value))
    return errors


def http_rows(token):
    """The HTTP contract: (name, source pool, raw request, status, slug, field, headers), or for the 429 row
    also the answer the request gets when it finds a token (status, slug, field)."""
    auth = "Authorization: Bearer " + token
    ops = "Authorization: Bearer " + OPS_SECRET
    js = "Content-Type: application/json"
    good = json.dumps({"uri": "sip:bad@badinput.example", "contact": "sip:bad@192.0.2.9"}).encode()
    q = urllib.parse.quote
    rows = [
        # 400
        ("400 bad JSON", "bad", request("POST", "/v1/bindings", [auth, js], b"{bad"),
         400, "invalid-json", None, {}),
        ("400 unknown member", "bad",
         request("POST", "/v1/bindings", [auth, js], b'{"uri":"sip:a@b.example","contact":"sip:x@y","color":1}'),
         400, "invalid-field", "color", {}),
        ("400 bad q", "bad",
         request("POST", "/v1/bindings", [auth, js], b'{"uri":"sip:a@b.example","contact":"sip:x@y","q":2}'),
         400, "invalid-field", "q", {}),
        ("400 bad uri", "bad", request("GET", "/v1/resolve?uri=" + q("no scheme")),
         400, "invalid-field", "uri", {}),
        ("400 missing instance", "bad", request("DELETE", "/v1/bindings?uri=sip%3Aa%40b.example", [auth]),
         400, "invalid-field", "instance", {}),
        ("400 bad record", "bad", request("POST", "/v1/records", [auth, js], b'{"record":"not base64!"}'),
         400, "invalid-field", "record", {}),
        ("400 bad host name", "bad", request("PUT", "/v1/hosts/not_a_host", [auth, js], b'{"address":"192.0.2.1"}'),
         400, "invalid-field", "name", {}),
        ("400 bad DoH parameter", "bad", request("GET", "/dns-query?dns=%21%21%21%21"),
         400, "invalid-field", "dns", {}),
        # 401
        ("401 no token", "bad", request("POST", "/v1/bindings", [js], good),
         401, "unauthorized", None, {"www-authenticate": 'Bearer realm="resolverd"'}),
        ("401 wrong token", "bad", request("DELETE", "/v1/hosts/a.p2p?instance=x",
                                           ["Authorization: Bearer wrong-token-0123456789"]),
         401, "unauthorized", None, {"www-authenticate": 'Bearer realm="resolverd"'}),
        # 403
        ("403 read ACL", "outside", request("GET", "/v1/resolve?uri=" + q(GOOD_URI)),
         403, "forbidden", None, {}),
        ("403 token scope", "bad", request("POST", "/v1/bindings", [ops, js], good),
         403, "out-of-scope", "uri", {}),
        # 404
        ("404 no such path", "bad", request("GET", "/v2/resolve"), 404, "not-found", None, {}),
        ("404 no binding", "bad", request("GET", "/v1/resolve?uri=sip%3Anobody%40badinput.example"),
         404, "no-binding", None, {}),
        ("404 no publication", "bad", request("DELETE", "/v1/bindings?uri=sip%3Aghost%40badinput.example&instance=x",
                                              [auth]),
         404, "no-publication", None, {}),
        # 405
        ("405 method", "bad", request("PUT", "/v1/resolve", [js], b"{}"),
         405, "method-not-allowed", None, {"allow": "GET, HEAD"}),
        ("405 unknown method", "bad", request("BREW", "/v1/status"),
         405, "method-not-allowed", None, {"allow": "GET, HEAD"}),
        # 411
        ("411 no length", "bad", request("POST", "/v1/bindings", [auth, js]), 411, "length-required", None, {}),
        # 413: refused from the headers, and counted as a chunked body comes
        ("413 Content-Length", "bad", request("POST", "/v1/bindings", [auth, js, "Content-Length: 16385"]),
         413, "body-too-large", None, {}),
        ("413 chunked", "bad", request("POST", "/v1/bindings", [auth, js, "Transfer-Encoding: chunked"],
                                       b"4e20\r\n" + b"a" * 20000 + b"\r\n0\r\n\r\n"),
         413, "body-too-large", None, {}),
        # 415
        ("415 media type", "bad", request("POST", "/v1/bindings", [auth, "Content-Type: text/plain"], good),
         415, "unsupported-media-type", None, {}),
        ("415 DoH media type", "bad", request("POST", "/dns-query", [js], b"\0" * 12),
         415, "unsupported-media-type", None, {}),
    ]
    # 429: the first check after routing; with a token to spare, the request is answered as it deserves.
    limited = ("429 rate limited", "limited", request("GET", "/v1/resolve?uri=" + q("no scheme")),
               429, "rate-limited", None, {"retry-after": "1"})
    return rows, limited, (400, "invalid-field", "uri", {})


# ---- DNS -------------------------------------------------------------------

QTYPE = {"A": 1, "TXT": 16, "OPT": 41, "AXFR": 252, "MAILB": 253, "URI": 256}


def dns_packet(qid, name="example.com", qtype="A", flags=0x0100, opcode=0, qdcount=1, arcount=0, qclass=1):
    hdr = struct.pack("!HHHHHH", qid, flags | opcode << 11, qdcount, 0, 0, arcount)
    qname = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".") if label) + b"\0"
    return hdr + qname + struct.pack("!HH", QTYPE[qtype], qclass)


def dns_rows():
    """The DNS contract: (name, make(qid) -> packet, expected) where expected is None (no reply) or
    (flags, (qdcount, ancount, nscount, arcount)); a reply with QDCOUNT 1 echoes the question."""
    return [
        ("FORMERR two questions", lambda i: dns_packet(i, qdcount=2), (0x8101, (0, 0, 0, 0))),
        ("FORMERR no question", lambda i: struct.pack("!HHHHHH", i, 0x0100, 0, 0, 0, 0), (0x8101, (0, 0, 0, 0))),
        ("FORMERR cut question", lambda i: dns_packet(i)[:20], (0x8101, (0, 0, 0, 0))),
        ("FORMERR missing additional", lambda i: dns_packet(i, arcount=1), (0x8101, (1, 0, 0, 0))),
        ("FORMERR OPT as QTYPE", lambda i: dns_packet(i, qtype="OPT"), (0x8101, (1, 0, 0, 0))),
        ("NOTIMP opcode STATUS", lambda i: dns_packet(i, opcode=2), (0x9004, (0, 0, 0, 0))),
        ("NOTIMP opcode NOTIFY", lambda i: dns_packet(i, opcode=4), (0xA004, (0, 0, 0, 0))),
        ("NOTIMP opcode UPDATE", lambda i: dns_packet(i, opcode=5), (0xA804, (0, 0, 0, 0))),
        ("NOTIMP MAILB", lambda i: dns_packet(i, qtype="MAILB"), (0x8104, (1, 0, 0, 0))),
        ("REFUSED class CH", lambda i: dns_packet(i, "version.bind", "TXT", qclass=3), (0x8105, (1, 0, 0, 0))),
        ("REFUSED AXFR", lambda i: dns_packet(i, qtype="AXFR"), (0x8105, (1, 0, 0, 0))),
        ("REFUSED not ours, no forwarding", lambda i: dns_packet(i, "www.example.invalid"), (0x8105, (1, 0, 0, 0))),
        ("no reply: empty", lambda i: b"", None),
        ("no reply: 3 bytes", lambda i: struct.pack("!HB", i, 1), None),
        ("no reply: 11 bytes", lambda i: dns_packet(i)[:11], None),
        ("no reply: a response", lambda i: dns_packet(i, flags=0x8000), None),
        ("no reply: a response with an error", lambda i: dns_packet(i, flags=0x8105), None),
    ]


def dns_errors(reply, pkt, qid, expected):
    """What is wrong with @p reply to @p pkt (id @p qid) against @p expected; [] if nothing."""
    if reply is None:
        return ["no reply"]
    if len(reply) < 12:
        return ["reply of %d bytes" % len(reply)]
    rid, flags, *counts = struct.unpack("!HHHHHH", reply[:12])
    want_flags, want_counts = expected
    errors = []
    if (rid, flags, tuple(counts)) != (qid, want_flags, want_counts):
        errors.append("header id=%#x flags=%#06x counts=%r, not id=%#x flags=%#06x counts=%r"
                      % (rid, flags, tuple(counts), qid, want_flags, want_counts))
    body = pkt[12:] if want_counts[0] == 1 else b""
    if reply[12:] != body:
        errors.append("after the header %r, not %r" % (reply[12:80], body[:68]))
    return errors


class BadInput(harness.ResolverdTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.n = cls.node("bad", extra=[
            "http.read_acl=127.0.0.0/16",
            "http.rate_limit.requests_per_second=%d" % RATE,
            "http.rate_limit.burst=%d" % BURST,
            "http.tokens.ops.token=" + OPS_SECRET,
            "http.tokens.ops.scopes=sip:*@ops.example",
            "dns.rrl.responses_per_second=0",
            "dns.max_ttl=60",
        ]).start()
        r = cls.n.publish(GOOD_URI, GOOD_CONTACT, instance="g", q=0.5)
        assert r.status == 201, r
        cls.expires_at = r.json["expires_at"]
        cls.publisher = r.json["publisher"]
        cls.token = cls.n.token()
        cls.good_query = dns_packet(0, "good._sip.badinput.example", "URI")
        cls.good_reply = cls.dns_exchange(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), cls.good_query)
        assert cls.good_reply and cls.good_reply[3] & 0x0f == 0, cls.good_reply

    @classmethod
    def dns_exchange(cls, sock, pkt, timeout=2.0):
        with sock:
            sock.settimeout(timeout)
            sock.sendto(pkt, ("127.0.0.1", cls.n.dns_port))
            try:
                return sock.recv(65535)
            except socket.timeout:
                return None

    # ---- the good clients ----

    def good_http(self, i):
        """One resolve of the published binding from a good address; [] if its answer is exact."""
        before = int(time.time())
        r = http_exchange(GOOD_SRC[i % len(GOOD_SRC)], self.n.http_port,
                          request("GET", "/v1/resolve?uri=" + urllib.parse.quote(GOOD_URI)))
        after = int(time.time())
        if r is None:
            return ["no response"]
        bodies = [('{"uri":"%s","bindings":[{"contact":"%s","q":0.5,"expires":%d,"expires_at":%d,"instance":"g",'
                   '"publisher":"%s"}],"source":"%s"}' % (GOOD_URI, GOOD_CONTACT, self.expires_at - now,
                                                        self.expires_at, self.publisher, source)).encode()
                  for now in range(before, after + 1) for source in ("cache", "local")]
        if (r.status, r.headers.get("content-type"), r.body in bodies) != (200, "application/json", True):
            return ["resolve answered %d %r %r" % (r.status, r.headers.get("content-type"), r.body[:300])]
        return []

    def good_dns(self, i):
        """One URI query for the published binding; [] if the reply is the one recorded at rest."""
        qid = i & 0xffff
        pkt = struct.pack("!H", qid) + self.good_query[2:]
        reply = self.dns_exchange(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), pkt)
        if reply != struct.pack("!H", qid) + self.good_reply[2:]:
            return ["URI query answered %r" % (reply[:120] if reply else reply)]
        return []

    # ---- sending rows ----

    def send_http_row(self, row, i, passing=None):
        """Send one HTTP row from the next address of its pool; return (status, problems)."""
        name, pool, data, status, slug, field, headers = row
        src = SOURCES[pool][i % len(SOURCES[pool])]
        try:
            r = http_exchange(src, self.n.http_port, data)
        except OSError as e:
            return None, ["%s: %s" % (name, e)]
        errors = problem_errors(r, status, slug, field, headers)
        if errors and passing and r is not None and r.status == passing[0]:
            errors = problem_errors(r, *passing)
        return (r.status if r is not None else None), ["%s: %s" % (name, e) for e in errors]

    def send_dns_row(self, sock, row, qid):
        """Send one DNS row; for a row that gets no reply, prove it with a good query sent right after."""
        name, make, expected = row
        pkt = make(qid)
        sock.sendto(pkt, ("127.0.0.1", self.n.dns_port))
        if expected is None:
            # The server answers in order: a reply to the bad packet would come before this one's.
            pkt, expected = struct.pack("!H", qid) + self.good_query[2:], None
            sock.sendto(pkt, ("127.0.0.1", self.n.dns_port))
        try:
            reply = sock.recv(65535)
        except socket.timeout:
            reply = None
        if expected is None:
            ok = reply == pkt[:2] + self.good_reply[2:]
            return [] if ok else ["%s: a reply came: %r" % (name, reply[:60] if reply else reply)]
        return ["%s: %s" % (name, e) for e in dns_errors(reply, pkt, qid, expected)]

    # ---- the storm ----

    def storm(self, rows, send, good):
        """Send @p rows from BAD_THREADS threads for STORM_SECONDS while @p good runs in this thread.
        @return (per-row send counts, anomalies of the rows, failures of the good client, good requests)."""
        stop = threading.Event()
        lock = threading.Lock()
        counts = {row[0]: 0 for row in rows}
        anomalies = []

        def worker(t):
            k = t
            while not stop.is_set():
                row = rows[k % len(rows)]
                errors = send(row, k, t)
                with lock:
                    counts[row[0]] += 1
                    anomalies.extend(errors)
                k += BAD_THREADS

        threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(BAD_THREADS)]
        for t in threads:
            t.start()
        failures, n = [], 0
        t0 = time.time()
        try:
            while time.time() - t0 < STORM_SECONDS:
                failures += good(n)
                n += 1
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertFalse(any(t.is_alive() for t in threads))
        return counts, anomalies, failures, n

    # ---- HTTP ----

    def drain_limited(self):
        """Use up the 429 row's bucket: ask until the answer is a 429."""
        _, limited, _ = http_rows(self.token)
        for i in range(BURST + RATE * 10):
            status, _ = self.send_http_row(limited, i)
            if status == 429:
                return
        self.fail("never rate-limited")

    def test_http_rows_at_rest(self):
        rows, limited, _ = http_rows(self.token)
        for i, row in enumerate(rows):
            with self.subTest(row=row[0]):
                _, errors = self.send_http_row(row, i)
                self.assertEqual(errors, [])
        self.drain_limited()
        _, errors = self.send_http_row(limited, 0)
        self.assertEqual(errors, [])
        # At rest, nothing of that changed what the good client gets.
        self.assertEqual(self.good_http(0), [])

    def test_http_storm_good_client_always_served(self):
        rows, limited, passing = http_rows(self.token)
        statuses = {}
        lock = threading.Lock()
        self.drain_limited()

        def send(row, k, t):
            status, errors = self.send_http_row(row, k, passing if row is limited else None)
            if row is limited:
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
            return errors

        counts, anomalies, failures, n = self.storm(rows + [limited], send, self.good_http)
        self.assertEqual(failures, [], "the good client was failed %d times of %d" % (len(failures), n))
        self.assertEqual(anomalies[:10], [], "%d rows answered wrongly" % len(anomalies))
        self.assertGreater(n, 50, "the good client made too few requests")
        self.assertTrue(all(c >= 5 for c in counts.values()), counts)
        self.assertGreaterEqual(statuses.get(429, 0), 10, statuses)
        self.assertIsNone(self.n.proc.poll(), self.n.log())
        print("\nHTTP storm: good client %d requests, 0 failures; rows sent %d (each %d..%d); 429 row %r"
              % (n, sum(counts.values()), min(counts.values()), max(counts.values()), statuses))

    # ---- DNS ----

    def test_dns_rows_at_rest(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(2.0)
            for i, row in enumerate(dns_rows()):
                with self.subTest(row=row[0]):
                    self.assertEqual(self.send_dns_row(sock, row, 0x5000 + i), [])
            # And no late reply to any of them.
            sock.settimeout(0.5)
            with self.assertRaises(socket.timeout):
                sock.recv(65535)
        self.assertEqual(self.good_dns(1), [])

    def test_dns_storm_good_client_always_served(self):
        rows = dns_rows()
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(BAD_THREADS)]
        for s in socks:
            s.settimeout(2.0)
        try:
            counts, anomalies, failures, n = self.storm(
                rows, lambda row, k, t: self.send_dns_row(socks[t], row, k & 0xffff), self.good_dns)
            late = []
            for s in socks:
                s.settimeout(0.3)
                try:
                    late.append(s.recv(65535)[:60])
                except socket.timeout:
                    pass
        finally:
            for s in socks:
                s.close()
        self.assertEqual(failures, [], "the good client was failed %d times of %d" % (len(failures), n))
        self.assertEqual(anomalies[:10], [], "%d rows answered wrongly" % len(anomalies))
        self.assertEqual(late, [], "replies that came late")
        self.assertGreater(n, 100, "the good client made too few queries")
        self.assertTrue(all(c >= 20 for c in counts.values()), counts)
        self.assertIsNone(self.n.proc.poll(), self.n.log())
        print("\nDNS storm: good client %d queries, 0 failures; rows sent %d (each %d..%d)"
              % (n, sum(counts.values()), min(counts.values()), max(counts.values())))


if __name__ == "__main__":
    harness.main()

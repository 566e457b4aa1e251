#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DNS front end, end to end: kdig, raw sockets and curl (DoH) against a three-node overlay."""

import base64
import os
import random
import socket
import struct
import subprocess
import time

import harness
from harness import wait_until

RCODE = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5}


def query(name, qtype, qid=0x1234, flags=0x0100, opcode=0, edns=None, qdcount=1):
    """A raw DNS query (edns: None or (version, payload))."""
    hdr = struct.pack("!HHHHHH", qid, flags | (opcode << 11), qdcount, 0, 0, 1 if edns else 0)
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.strip(".").split(".") if l) + b"\0"
    q += struct.pack("!HH", qtype, 1)
    if edns:
        q += b"\0" + struct.pack("!HHBBHH", 41, edns[1], 0, edns[0], 0, 0)
    return hdr + q


def udp(port, payload, timeout=1.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(payload, ("127.0.0.1", port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


class Dns(harness.ResolverdTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.knot = harness.KnotD(cls.workdir, "fwd.test", "www A 192.0.2.80\nbig TXT " +
                                 " ".join('"%s"' % ("x" * 200) for _ in range(10)) + "\n").start()
        common = ["dns.dht_zones.p2p.ns=ns1.p2p", "dns.forward.upstreams=" + cls.knot.addr,
                  "resolve.max_bindings=64", "dns.max_ttl=120", "dns.rrl.responses_per_second=0"]
        cls.n1 = cls.node("dns1", extra=common).start()
        cls.n2 = cls.node("dns2", bootstrap=[cls.n1.dht_addr], extra=common).start()
        cls.n3 = cls.node("dns3", bootstrap=[cls.n1.dht_addr], extra=common).start()
        # A node that forwards for nobody: it must say REFUSED.
        cls.closed = cls.node("closed", extra=["dns.forward.upstreams=" + cls.knot.addr,
                                               "dns.forward.allow=10.0.0.0/8"]).start()
        # A node with tight abuse limits.
        cls.limited = cls.node("limited", extra=["dns.dht_zones.p2p.ns=ns1.p2p", "dns.rrl.responses_per_second=5",
                                                 "dns.rrl.slip=2", "dns.tcp.max_connections=2",
                                                 "dns.tcp.idle_timeout_ms=300"]).start()
        for n in (cls.n1, cls.n2, cls.n3):
            wait_until(lambda: n.status()["overlay"]["good_nodes"] >= 2, 10)

    @classmethod
    def tearDownClass(cls):
        cls.knot.stop()
        super().tearDownClass()

    def answers(self, node, name, rtype, *opts):
        r = wait_until(lambda: node.dig(name, rtype, *opts).get("answerRRs"), 5)
        return r or []

    def test_binding_uri_naptr_txt(self):
        self.assertEqual(self.n1.publish("sip:alice@example.com", "sip:alice@192.0.2.10", q=0.9,
                                         instance="desk", expires=100).status, 201)
        self.assertEqual(self.n1.publish("sip:alice@example.com", "sip:alice@192.0.2.11", q=0.5,
                                         instance="mobile", expires=100).status, 201)
        uri = self.answers(self.n3, "alice._sip.example.com", "URI")
        self.assertEqual(len(uri), 2, uri)
        self.assertEqual(uri[0]["rdataURI"].split()[0:2], ["100", "1"])
        self.assertIn('"sip:alice@192.0.2.10"', uri[0]["rdataURI"])
        self.assertEqual(uri[1]["rdataURI"].split()[0], "500")
        self.assertTrue(all(0 < rr["TTL"] <= 100 for rr in uri), uri)
        naptr = self.answers(self.n3, "alice._sip.example.com", "NAPTR")
        self.assertEqual(naptr[0]["rdataNAPTR"], '100 10 "u" "E2U+sip" "!^.*$!sip:alice@192.0.2.10!" .')
        txt = self.answers(self.n2, "alice._sip.example.com", "TXT")
        self.assertEqual(sorted(rr["rdataTXT"] for rr in txt),
                         ['"sip:alice@192.0.2.10"', '"sip:alice@192.0.2.11"'])
        r = self.n3.dig("alice._sip.example.com", "URI")
        self.assertEqual((r["AA"], r["RD"], r["RA"]), (0, 1, 1), "not authoritative for example.com")

    def test_uri_without_user(self):
        self.assertEqual(self.n1.publish("sip:conference.example.com", "sip:conf@192.0.2.20").status, 201)
        uri = self.answers(self.n2, "_sip.conference.example.com", "URI")
        self.assertIn("sip:conf@192.0.2.20", uri[0]["rdataURI"])

    def test_enum(self):
        # (Visual separators in tel: URIs are the tel plugin's business: issue 4.)
        self.assertEqual(self.n1.publish("tel:+15551234", "sip:+15551234@example.com").status, 201)
        naptr = self.answers(self.n3, "4.3.2.1.5.5.5.1.e164.arpa", "NAPTR")
        self.assertEqual(len(naptr), 1, naptr)
        self.assertEqual(naptr[0]["rdataNAPTR"], '0 10 "u" "E2U+sip" "!^.*$!sip:+15551234@example.com!" .')

    def test_dht_zone_service_and_hosts(self):
        self.assertIn(self.n1.put("services", "_xmpp-server._tcp.a.p2p",
                                  {"target": "xmpp.a.p2p", "port": 5269, "priority": 5, "weight": 10}).status,
                      (200, 201))
        self.assertIn(self.n1.put("hosts", "xmpp.a.p2p", {"address": "127.0.0.1"}).status, (200, 201))
        self.assertIn(self.n1.put("hosts", "xmpp.a.p2p", {"address": "::1"}).status, (200, 201))
        srv = self.answers(self.n3, "_xmpp-server._tcp.a.p2p", "SRV")
        self.assertEqual(srv[0]["rdataSRV"], "5 10 5269 xmpp.a.p2p.")
        a = self.answers(self.n3, "xmpp.a.p2p", "A")
        self.assertEqual([rr["rdataA"] for rr in a], ["127.0.0.1"])
        aaaa = self.answers(self.n3, "xmpp.a.p2p", "AAAA")
        self.assertEqual([rr["rdataAAAA"] for rr in aaaa], ["::1"])
        r = self.n3.dig("xmpp.a.p2p", "A")
        self.assertEqual(r["AA"], 1)
        # The apex, and negative answers with the SOA.
        soa = self.n2.dig("p2p", "SOA")
        self.assertEqual(soa["RCODE"], 0)
        self.assertTrue(soa["answerRRs"][0]["rdataSOA"].startswith("ns1.p2p. hostmaster.p2p."))
        self.assertEqual(self.n2.dig("p2p", "NS")["answerRRs"][0]["rdataNS"], "ns1.p2p.")
        nx = self.n2.dig("nothere.p2p", "A")
        self.assertEqual((nx["RCODE"], nx["AA"]), (RCODE["NXDOMAIN"], 1))
        self.assertEqual(nx["authorityRRs"][0]["TYPEname"], "SOA")
        nodata = self.n3.dig("xmpp.a.p2p", "TXT")
        self.assertEqual((nodata["RCODE"], nodata["ANCOUNT"]), (0, 0))
        self.assertEqual(nodata["authorityRRs"][0]["TYPEname"], "SOA")

    def test_truncation_then_tcp(self):
        for i in range(40):
            r = self.n1.publish("sip:crowd@example.com", "sip:crowd-%02d@192.0.2.%d:5060" % (i, i + 1),
                                instance="dev%02d" % i, q=0.5)
            self.assertEqual(r.status, 201)
        wait_until(lambda: len(self.n2.dig("crowd._sip.example.com", "URI", "+tcp").get("answerRRs", [])) == 40, 5)
        udp_r = self.n2.dig("crowd._sip.example.com", "URI", "+ignore")
        self.assertEqual(udp_r["TC"], 1)
        self.assertEqual(udp_r["ANCOUNT"], 0, "truncated answers are minimal")
        tcp_r = self.n2.dig("crowd._sip.example.com", "URI", "+tcp")
        self.assertEqual((tcp_r["TC"], tcp_r["ANCOUNT"]), (0, 40))
        # kdig falls back to TCP by itself after TC.
        self.assertEqual(self.n2.dig("crowd._sip.example.com", "URI")["ANCOUNT"], 40)

    def test_protocol_errors(self):
        port = self.n1.dns_port
        r = self.n1.dig("alice._sip.example.com", "URI", "+edns=1")
        opt = [rr for rr in r.get("additionalRRs", []) if rr["TYPE"] == 41]
        self.assertEqual(len(opt), 1, r)
        # The extended RCODE is the OPT TTL's top byte (RFC 6891): BADVERS = 16, and our version is 0.
        self.assertEqual((opt[0]["TTL"] >> 24) << 4 | r["RCODE"], 16, r)
        self.assertEqual((opt[0]["TTL"] >> 16) & 0xff, 0)
        notimp = udp(port, query("example.com", 1, opcode=2))
        self.assertEqual(notimp, struct.pack("!HHHHHH", 0x1234, 0x8000 | (2 << 11) | 4, 0, 0, 0, 0))
        formerr = udp(port, query("example.com", 1, qdcount=2))
        self.assertEqual(formerr[3] & 0x0f, RCODE["FORMERR"])
        self.assertIsNone(udp(port, b"\x12\x34\x01"), "a packet shorter than a header gets no reply")
        self.assertIsNone(udp(port, query("example.com", 1, flags=0x8000)), "responses are not answered")
        refused = self.closed.dig("www.fwd.test", "A")
        self.assertEqual((refused["RCODE"], refused["RA"]), (RCODE["REFUSED"], 0))
        any_r = self.n1.dig("p2p", "ANY")
        self.assertEqual(any_r["answerRRs"][0]["TYPEname"], "HINFO")

    def test_forwarding_to_knot(self):
        r = self.n1.dig("www.fwd.test", "A")
        self.assertEqual((r["RCODE"], r["answerRRs"][0]["rdataA"]), (0, "192.0.2.80"))
        self.assertEqual(r["RA"], 1)
        nx = self.n1.dig("missing.fwd.test", "A")
        self.assertEqual(nx["RCODE"], RCODE["NXDOMAIN"], "upstream errors pass through")
        self.assertEqual(self.n1.dig("example.invalid", "A")["RCODE"], RCODE["REFUSED"],
                         "knotd refuses what it does not serve, and so do we")
        big = self.n1.dig("big.fwd.test", "TXT")
        self.assertEqual(big["ANCOUNT"], 1, "a truncated upstream answer is fetched over TCP")
        time.sleep(1.5)
        again = self.n1.dig("www.fwd.test", "A")
        self.assertLess(again["answerRRs"][0]["TTL"], 300, "the forwarding cache counts TTLs down")

    def test_unpublish_reaches_cached_dns_answers(self):
        self.assertEqual(self.n1.publish("sip:bob@example.com", "sip:bob@192.0.2.30", instance="b").status, 201)
        self.assertEqual(len(self.answers(self.n3, "bob._sip.example.com", "URI")), 1)
        self.assertEqual(self.n1.unpublish("sip:bob@example.com", "b").status, 204)
        gone = wait_until(lambda: self.n3.dig("bob._sip.example.com", "URI").get("ANCOUNT") == 0, 1.0, 0.01)
        self.assertTrue(gone)

    def test_doh(self):
        self.assertEqual(self.n1.publish("sip:doh@example.com", "sip:doh@192.0.2.40").status, 201)
        wire = query("doh._sip.example.com", 256, qid=0)
        b64 = base64.urlsafe_b64encode(wire).rstrip(b"=").decode()
        got = wait_until(lambda: harness.http("GET", self.n2.url + "/dns-query?dns=" + b64), 1)
        deadline = time.time() + 5
        while struct.unpack("!H", got.body[6:8])[0] == 0 and time.time() < deadline:
            time.sleep(0.05)
            got = harness.http("GET", self.n2.url + "/dns-query?dns=" + b64)
        self.assertEqual(got.status, 200)
        self.assertEqual(got.headers["content-type"], "application/dns-message")
        self.assertEqual(struct.unpack("!H", got.body[6:8])[0], 1)
        self.assertIn(b"sip:doh@192.0.2.40", got.body)
        post = harness.http("POST", self.n2.url + "/dns-query", wire, {"Content-Type": "application/dns-message"})
        self.assertEqual((post.status, post.body[:2]), (200, b"\0\0"))
        bad = harness.http("GET", self.n2.url + "/dns-query?dns=!!!")
        self.assertEqual((bad.status, bad.json["field"]), (400, "dns"))

    def test_c_ares_client(self):
        """c-ares, the library SIP and XMPP servers resolve with, parses what resolverd answers."""
        self.assertEqual(self.n1.publish("tel:+4930123456", "sip:+4930123456@pbx.example.com").status, 201)
        self.assertIn(self.n1.put("services", "_sip._udp.b.p2p", {"target": "pbx.b.p2p", "port": 5060}).status,
                      (200, 201))
        self.answers(self.n2, "6.5.4.3.2.1.0.3.9.4.e164.arpa", "NAPTR")
        self.answers(self.n2, "_sip._udp.b.p2p", "SRV")

        def probe(name, rtype):
            r = subprocess.run([os.environ.get("ARES_PROBE", os.path.join(harness.BUILD_ROOT, "tests", "tools",
                                                                           "ares_probe")),
                                "127.0.0.1", str(self.n2.dns_port), name, rtype],
                               capture_output=True, text=True, timeout=30)
            return r.returncode, r.stdout.splitlines()
        rc, lines = probe("6.5.4.3.2.1.0.3.9.4.e164.arpa", "NAPTR")
        self.assertEqual(rc, 0, lines)
        self.assertEqual(lines[0], "NAPTR 0 10 u E2U+sip !^.*$!sip:+4930123456@pbx.example.com!")
        rc, lines = probe("_sip._udp.b.p2p", "SRV")
        self.assertEqual((rc, lines[0]), (0, "SRV 0 0 5060 pbx.b.p2p"))
        rc, lines = probe("www.fwd.test", "A")
        self.assertEqual(rc, 0, lines)
        self.assertTrue(lines[0].startswith("A 192.0.2.80 "), lines)
        rc, lines = probe("nothing.p2p", "A")
        self.assertEqual((rc, lines[-1]), (1, "status Domain name not found"))

    def test_response_rate_limiting(self):
        """Over the rate a prefix gets no answer, except every slip-th: truncated, so TCP still works."""
        port = self.limited.dns_port
        got = tc = 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            for i in range(40):
                s.sendto(query("p2p", 6, qid=i), ("127.0.0.1", port))
            try:
                while True:
                    r = s.recv(65535)
                    got += 1
                    tc += bool(r[2] & 0x02)
            except socket.timeout:
                pass
        # A burst of 5 passes; of the 35 limited responses every 2nd slips out truncated.
        self.assertEqual(got - tc, 5, (got, tc))
        self.assertEqual(tc, 17, (got, tc))
        st = self.limited.status()["dns"]
        self.assertGreaterEqual(st["rrl_dropped"], 18)
        self.assertGreaterEqual(st["rrl_slipped"], 17)
        # TCP is not limited: the client that got TC=1 is answered in full.
        self.assertEqual(self.limited.dig("p2p", "SOA", "+tcp")["RCODE"], 0)
        time.sleep(1.1)  # the bucket refills
        self.assertEqual(self.limited.dig("p2p", "SOA")["TC"], 0)

    def test_tcp_connection_cap_and_idle_timeout(self):
        port = self.limited.dns_port
        a = socket.create_connection(("127.0.0.1", port))
        b = socket.create_connection(("127.0.0.1", port))
        wait_until(lambda: self.limited.status()["dns"]["tcp_connections"] == 2, 2)
        c = socket.create_connection(("127.0.0.1", port))
        c.settimeout(2)
        self.assertEqual(c.recv(10), b"", "a third connection is closed at once")
        self.assertGreaterEqual(self.limited.status()["dns"]["tcp_refused"], 1)
        for s in (a, b):
            s.settimeout(2)
            self.assertEqual(s.recv(10), b"", "idle connections are closed after dns.tcp.idle_timeout_ms")
        for s in (a, b, c):
            s.close()
        # Once they are gone, new clients are served.
        self.assertEqual(self.limited.dig("p2p", "SOA", "+tcp")["RCODE"], 0)

    def test_zz_malformed_packets_never_stop_the_server(self):
        """10,000 random and mutated queries over UDP, some over TCP; then normal service."""
        port = self.n2.dns_port
        rng = random.Random(4475)
        seeds = [query("alice._sip.example.com", 256, edns=(0, 1232)), query("4.3.2.1.5.5.5.1.e164.arpa", 35),
                 query("_xmpp-server._tcp.a.p2p", 33), query("www.fwd.test", 1)]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(10000):
                if i % 3 == 0:
                    pkt = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 80)))
                else:
                    pkt = bytearray(rng.choice(seeds))
                    for _ in range(rng.randint(1, 6)):
                        pkt[rng.randrange(len(pkt))] = rng.getrandbits(8)
                    pkt = bytes(pkt[:rng.randint(1, len(pkt))]) if i % 7 == 0 else bytes(pkt)
                s.sendto(pkt, ("127.0.0.1", port))
                if i % 500 == 0:
                    time.sleep(0.01)  # let the server keep up; this is about robustness, not load
        for i in range(50):
            with socket.create_connection(("127.0.0.1", port), timeout=2) as t:
                junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
                t.sendall(struct.pack("!H", len(junk)) + junk)
        self.assertIsNone(self.n2.proc.poll(), "the daemon is alive")
        r = self.n2.dig("www.fwd.test", "A")
        self.assertEqual(r.get("RCODE"), 0, r)
        self.assertEqual(harness.http("GET", self.n2.url + "/healthz").status, 200)


if __name__ == "__main__":
    harness.main()

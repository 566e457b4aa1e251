#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The sip plugin's RFC 3263 fallback end to end: knotd serves NAPTR/SRV/A records, resolverd answers /v1/resolve."""

import socket
import threading
import time

import harness
from harness import wait_until

ZONE = "sipfb.test"

# naptr:  NAPTR to SIPS+D2T (order 10) and SIP+D2U (order 20); an ENUM record and a flag-"a" record to ignore.
# srv:    no NAPTR; _sip._tcp and _sips._tcp; an A record that must not be used.
# aonly:  only A and AAAA.
# empty:  exists (TXT) but has no SIP records.
# nx:     does not exist.
RECORDS = """
naptr 120 NAPTR 20 10 "s" "SIP+D2U" "" _sip._udp.naptr
naptr 120 NAPTR 10 10 "s" "SIPS+D2T" "" _sips._tcp.naptr
naptr 120 NAPTR 5 10 "u" "E2U+sip" "!^.*$!sip:x@example.net!" .
naptr 120 NAPTR 1 10 "a" "SIP+D2U" "" naptr
naptr A 192.0.2.10
_sips._tcp.naptr SRV 10 0 5061 tls.naptr
_sip._udp.naptr 60 SRV 10 50 5060 b.naptr
_sip._udp.naptr 60 SRV 10 100 5060 a.naptr
_sip._udp.naptr 60 SRV 20 0 5080 c.naptr
_sip._tcp.srv SRV 0 0 5070 pbx.srv
_sips._tcp.srv SRV 0 0 5071 pbx.srv
srv A 192.0.2.20
aonly 200 A 192.0.2.30
aonly 100 AAAA 2001:db8::30
empty TXT "no sip here"
"""


def dead_udp_port():
    """A loopback UDP port where nothing answers (bound and kept silent by the caller)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


class SipFallback(harness.ResolverdTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.knot = harness.KnotD(cls.workdir, ZONE, RECORDS).start()
        cls.silent = dead_udp_port()
        only_sip = ["plugins.sip.enabled=true", "plugins.xmpp.enabled=false", "plugins.h323.enabled=false",
                    "plugins.tel.enabled=false"]
        cls.n1 = cls.node("fb_on", extra=only_sip + ["fallback.servers=" + cls.knot.addr]).start()
        cls.n2 = cls.node("fb_off", bootstrap=[cls.n1.dht_addr],
                          extra=only_sip + ["fallback.servers=" + cls.knot.addr, "plugins.sip.fallback=false"]).start()
        cls.n3 = cls.node("fb_slow", extra=only_sip + [
            "fallback.servers=127.0.0.1:%d" % cls.silent.getsockname()[1], "fallback.timeout_ms=200"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.knot.stop()
        cls.silent.close()
        super().tearDownClass()

    def resolve(self, uri, node=None):
        r = (node or self.n1).resolve(uri)
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(r.json, r)
        return r.json

    def contacts(self, answer):
        return [b["contact"] for b in answer["bindings"]]

    def test_naptr_domain(self):
        a = self.resolve("sip:bob@naptr." + ZONE)
        self.assertEqual(a["source"], "dns", a)
        self.assertEqual(a["uri"], "sip:bob@naptr." + ZONE)
        self.assertEqual(self.contacts(a), [
            "sips:tls.naptr.%s:5061" % ZONE,
            "sip:a.naptr.%s:5060;transport=udp" % ZONE,
            "sip:b.naptr.%s:5060;transport=udp" % ZONE,
            "sip:c.naptr.%s:5080;transport=udp" % ZONE,
        ])
        self.assertEqual([b["q"] for b in a["bindings"]], [1.0, 0.75, 0.5, 0.25])
        self.assertEqual(a["bindings"][0]["via"], "NAPTR SIPS+D2T -> SRV _sips._tcp.naptr." + ZONE)
        self.assertEqual(a["bindings"][1]["via"], "NAPTR SIP+D2U -> SRV _sip._udp.naptr." + ZONE)
        # ttl: the smallest on the path (NAPTR 120 s, SRV 300 s or 60 s), counted down from the answer.
        self.assertTrue(100 <= a["bindings"][0]["expires"] <= 120, a)
        for b in a["bindings"][1:]:
            self.assertTrue(40 <= b["expires"] <= 60, a)

    def test_sips_follows_only_tls(self):
        a = self.resolve("sips:bob@naptr." + ZONE)
        self.assertEqual(a["source"], "dns", a)
        self.assertEqual(self.contacts(a), ["sips:tls.naptr.%s:5061" % ZONE])

    def test_spellings_share_the_answer(self):
        a = self.resolve("SIP:bob@NAPTR.%s.;transport=tcp?subject=x" % ZONE.upper())
        self.assertEqual(a["uri"], "sip:bob@naptr." + ZONE)
        self.assertEqual(a["source"], "dns", a)
        self.assertEqual(len(a["bindings"]), 4)

    def test_srv_only_domain(self):
        a = self.resolve("sip:bob@srv." + ZONE)
        self.assertEqual(a["source"], "dns", a)
        self.assertEqual(self.contacts(a), ["sip:pbx.srv.%s:5070;transport=tcp" % ZONE,
                                            "sips:pbx.srv.%s:5071" % ZONE])
        self.assertEqual([b["via"] for b in a["bindings"]], ["SRV _sip._tcp.srv." + ZONE,
                                                             "SRV _sips._tcp.srv." + ZONE])
        self.assertEqual([b["q"] for b in a["bindings"]], [1.0, 0.5])

    def test_address_only_domain(self):
        a = self.resolve("sip:bob@aonly." + ZONE)
        self.assertEqual(a["source"], "dns", a)
        self.assertEqual(self.contacts(a), ["sip:aonly.%s:5060;transport=udp" % ZONE])
        self.assertEqual(a["bindings"][0]["via"], "A+AAAA")
        self.assertTrue(80 <= a["bindings"][0]["expires"] <= 100, a)
        a = self.resolve("sips:bob@aonly." + ZONE)
        self.assertEqual(self.contacts(a), ["sips:aonly.%s:5061" % ZONE])

    def test_explicit_port_uses_addresses_only(self):
        # naptr has NAPTR and SRV, but with a port RFC 3263 goes straight to A/AAAA.
        a = self.resolve("sip:bob@naptr.%s:5090" % ZONE)
        self.assertEqual(a["uri"], "sip:bob@naptr.%s:5090" % ZONE)
        self.assertEqual(a["source"], "dns", a)
        self.assertEqual(self.contacts(a), ["sip:naptr.%s:5090;transport=udp" % ZONE])
        self.assertEqual(a["bindings"][0]["via"], "A")

    def test_ip_address(self):
        a = self.resolve("sip:bob@[2001:DB8::7]")
        self.assertEqual(a["source"], "dns", a)
        self.assertEqual(self.contacts(a), ["sip:[2001:db8::7]:5060;transport=udp"])

    def assert_no_binding(self, uri, node=None):
        """The daemon's empty answer: 404 no-binding, and no fallback failure reported."""
        r = (node or self.n1).resolve(uri)
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.json.get("type"), "urn:resolverd:problem:no-binding", r)
        self.assertNotIn("fallback", r.json, r)

    def test_no_records_give_an_empty_answer(self):
        for host in ("empty." + ZONE, "nx." + ZONE):
            self.assert_no_binding("sip:bob@" + host)

    def test_dht_binding_wins_over_dns(self):
        uri = "sip:carol@naptr." + ZONE
        self.assertEqual(self.resolve(uri)["source"], "dns")
        r = self.n1.publish(uri, "sip:carol@192.0.2.99:5060", instance="desk", expires=600)
        self.assertIn(r.status, (200, 201), r)
        a = wait_until(lambda: (lambda j: j if j["source"] != "dns" else None)(self.resolve(uri)), 10)
        self.assertTrue(a, "the published binding never replaced the DNS answer")
        self.assertEqual(self.contacts(a), ["sip:carol@192.0.2.99:5060"])
        # The DNS front end maps carol._sip.naptr.sipfb.test to the same AoR.
        rrs = wait_until(lambda: self.n1.dig("carol._sip.naptr." + ZONE, "URI").get("answerRRs"), 5)
        self.assertTrue(rrs, "the DNS front end does not find the AoR the sip plugin normalized")
        self.assertIn('"sip:carol@192.0.2.99:5060"', rrs[0]["rdataURI"])

    def test_fallback_off(self):
        # The same name has DNS servers (test_naptr_domain), but this node does not look.
        self.assert_no_binding("sip:bob@naptr." + ZONE, node=self.n2)
        self.assertEqual(self.resolve("sip:bob@naptr." + ZONE)["source"], "dns")

    def test_dns_timeout(self):
        r = self.n3.resolve("sip:bob@naptr." + ZONE)
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.json.get("fallback"), "timeout", r)

    def test_stop_with_a_fallback_in_flight(self):
        # The DNS server never answers and the timeout is long: the fallback is still waiting at SIGTERM.
        node = self.node("fb_stop", extra=["plugins.xmpp.enabled=false", "plugins.h323.enabled=false",
                                           "plugins.tel.enabled=false", "fallback.timeout_ms=10000",
                                           "fallback.servers=127.0.0.1:%d" % self.silent.getsockname()[1]]).start()
        done = []
        t = threading.Thread(target=lambda: done.append(node.resolve("sip:bob@naptr." + ZONE)))
        t.start()
        time.sleep(0.5)
        self.assertEqual(done, [], "the fallback ended before the stop")
        self.assertEqual(node.stop(), 0, "unclean exit with a fallback in flight:\n" + node.log())
        t.join(20)
        self.assertFalse(t.is_alive())
        if done:
            self.assertNotEqual(done[0].status, 200, done[0])

    def test_normalize_rejects(self):
        for uri in ("sip:", "sip:alice@exa_mple.com", "sip:alice@example.com:0", "sip:a@b@c.com"):
            r = self.n1.resolve(uri)
            self.assertEqual(r.status, 400, "%s: %r" % (uri, r))


if __name__ == "__main__":
    harness.main()

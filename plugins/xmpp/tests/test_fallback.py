# SPDX-License-Identifier: GPL-3.0-or-later
"""The xmpp plugin in a real resolverd: RFC 6120 SRV fallback answered by a real Knot DNS on loopback."""

import os
import socket
import sys
import threading
import time

import harness
from harness import KnotD, ResolverdTestCase

PLUGIN = os.path.join(harness.BUILD_ROOT, "plugins", "xmpp", "rd_xmpp.so")
ZONE = "xmpp.test"

# xmpp.test: both services by SRV; plain.xmpp.test: no SRV, addresses only;
# off.xmpp.test: "." for both services (decidedly none), though it has an address;
# half.xmpp.test: client SRV only, so the server service falls back to its address;
# xn--bcher-kva.xmpp.test: the ASCII form of bücher.xmpp.test.
RECORDS = """
_xmpp-client._tcp 300 SRV 10 0 5222 c1.xmpp.test.
_xmpp-client._tcp 200 SRV 5 0 5223 c0.xmpp.test.
_xmpp-client._tcp 300 SRV 10 50 5224 c2.xmpp.test.
_xmpp-server._tcp 100 SRV 0 0 5269 s.xmpp.test.
plain 120 A 127.0.0.9
plain 90 AAAA ::9
_xmpp-client._tcp.off SRV 0 0 0 .
_xmpp-server._tcp.off SRV 0 0 0 .
off A 127.0.0.10
_xmpp-client._tcp.half 60 SRV 0 0 5222 chat.half.xmpp.test.
half 70 A 127.0.0.11
_xmpp-client._tcp.xn--bcher-kva 60 SRV 0 0 5222 idn.xmpp.test.
_xmpp-server._tcp.xn--bcher-kva 60 SRV 0 0 5269 idn.xmpp.test.
"""


def contacts(resp):
    return [b["contact"] for b in resp.json["bindings"]]


class XmppFallback(ResolverdTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.knot = KnotD(cls.workdir, ZONE, RECORDS).start()
        common = ["fallback.servers=" + cls.knot.addr, "plugins.xmpp.path=" + PLUGIN,
                  "plugins.sip.enabled=false", "plugins.h323.enabled=false", "plugins.tel.enabled=false"]
        cls.a = cls.node("a", extra=common).start()
        cls.b = cls.node("b", extra=common + ["plugins.xmpp.fallback=false"]).start()
        # a DNS server that never answers
        cls.hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        cls.hole.bind(("127.0.0.1", 0))
        mute = common[1:] + ["fallback.servers=127.0.0.1:%d" % cls.hole.getsockname()[1]]
        cls.c = cls.node("c", extra=mute + ["fallback.timeout_ms=200"]).start()
        cls.d = cls.node("d", extra=mute + ["fallback.timeout_ms=10000"]).start()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.knot.stop()
            cls.hole.close()

    def test_srv_targets_client_first_in_priority_order(self):
        r = self.a.resolve("xmpp:bob@xmpp.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["source"], "dns", r)
        self.assertEqual(r.json["uri"], "xmpp:bob@xmpp.test")
        self.assertEqual(contacts(r), ["tcp://c0.xmpp.test:5223", "tcp://c2.xmpp.test:5224",
                                       "tcp://c1.xmpp.test:5222", "tcp://s.xmpp.test:5269"])
        qs = [b["q"] for b in r.json["bindings"]]
        self.assertEqual(qs, sorted(qs, reverse=True), r)
        self.assertEqual(len(set(qs)), len(qs), r)
        self.assertEqual(qs[0], 1.0, r)
        # the smallest TTL on the path: the server SRV's 100 s
        for b in r.json["bindings"]:
            self.assertTrue(0 < b["expires"] <= 100, r)
        self.assertEqual(r.json["bindings"][0]["via"], "SRV _xmpp-client._tcp.xmpp.test", r)

    def test_equivalent_spellings_reach_the_same_fallback(self):
        want = self.a.resolve("xmpp:bob@xmpp.test")
        for uri in ["xmpp:Bob@XMPP.Test", "xmpp:%62ob@xmpp.test.", "xmpp:bob@xmpp.test/Phone?message;body=hi",
                    "xmpp://guest@elsewhere.example/bob@xmpp.test"]:
            r = self.a.resolve(uri)
            self.assertEqual(r.status, 200, (uri, r))
            self.assertEqual(r.json["uri"], "xmpp:bob@xmpp.test", (uri, r))
            self.assertEqual(contacts(r), contacts(want), uri)

    def test_no_srv_falls_back_to_addresses(self):
        r = self.a.resolve("xmpp:bob@plain.xmpp.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["source"], "dns", r)
        self.assertEqual(contacts(r), ["tcp://[::9]:5222", "tcp://127.0.0.9:5222",
                                       "tcp://[::9]:5269", "tcp://127.0.0.9:5269"])
        for b in r.json["bindings"]:
            self.assertTrue(0 < b["expires"] <= 90, r)

    def test_one_service_by_srv_the_other_by_address(self):
        r = self.a.resolve("xmpp:bob@half.xmpp.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(contacts(r), ["tcp://chat.half.xmpp.test:5222", "tcp://127.0.0.11:5269"])

    def test_idn_domain_is_asked_in_its_ascii_form(self):
        for uri in ["xmpp:bob@b\u00fccher.xmpp.test", "xmpp:bob@B%C3%9Ccher.xmpp.test",
                    "xmpp:bob@xn--bcher-kva.xmpp.test"]:
            r = self.a.resolve(uri)
            self.assertEqual(r.status, 200, (uri, r))
            self.assertEqual(r.json["uri"], "xmpp:bob@xn--bcher-kva.xmpp.test", (uri, r))
            self.assertEqual(contacts(r), ["tcp://idn.xmpp.test:5222", "tcp://idn.xmpp.test:5269"], uri)

    def test_dot_target_means_no_service(self):
        r = self.a.resolve("xmpp:bob@off.xmpp.test")
        self.assertEqual(r.status, 404, r)

    def test_unknown_domain_is_404(self):
        r = self.a.resolve("xmpp:bob@nowhere.xmpp.test")
        self.assertEqual(r.status, 404, r)

    def test_bad_jid_is_400_with_the_plugins_reason(self):
        r = self.a.resolve("xmpp:a'b@xmpp.test")
        self.assertEqual(r.status, 400, r)
        self.assertIn("nodeprep", r.body.decode(), r)

    def test_dht_binding_wins_over_fallback(self):
        p = self.a.publish("xmpp:Carol@XMPP.test", "tcp://198.51.100.7:5222")
        self.assertIn(p.status, (200, 201), p)
        r = harness.wait_until(
            lambda: (lambda x: x if x.status == 200 and x.json["source"] != "dns" else None)(
                self.a.resolve("xmpp:carol@xmpp.test")), 10, 0.1)
        self.assertTrue(r, "the published binding never replaced the fallback")
        self.assertEqual(contacts(r), ["tcp://198.51.100.7:5222"], r)
        # the DNS front end builds "xmpp:carol@xmpp.test" and normalizes it with the plugin
        d = self.a.dig("carol._xmpp.xmpp.test", "URI")
        self.assertIn("tcp://198.51.100.7:5222", str(d.get("answerRRs", d)), d)
        # the name without a binding still falls back
        r = self.a.resolve("xmpp:dave@xmpp.test")
        self.assertEqual(r.json["source"], "dns", r)

    def test_fallback_false_turns_it_off(self):
        r = self.b.resolve("xmpp:bob@xmpp.test")
        self.assertEqual(r.status, 404, r)
        # normalization is still the plugin's
        r = self.b.resolve("xmpp:a'b@xmpp.test")
        self.assertEqual(r.status, 400, r)

    def test_dns_timeout_is_reported(self):
        r = self.c.resolve("xmpp:bob@xmpp.test")
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.json.get("fallback"), "timeout", r)

    def test_stop_during_fallback_is_clean(self):
        got = {}

        def ask():
            try:
                got["r"] = self.d.resolve("xmpp:bob@xmpp.test")
            except OSError as e:
                got["e"] = e

        t = threading.Thread(target=ask)
        t.start()
        time.sleep(0.3)  # the fallback is in flight: its DNS server never answers, and 10 s is far off
        self.assertTrue(t.is_alive(), got)
        started = time.time()
        self.assertEqual(self.d.stop(), 0, self.d.log())
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertLess(time.time() - started, 5, "stopping waited for the DNS timeout")
        self.assertNotEqual(got.get("r") and got["r"].status, 200, got)


if __name__ == "__main__":
    if not os.path.exists(PLUGIN):
        print("missing %s: build plugins/xmpp first" % PLUGIN, file=sys.stderr)
        sys.exit(1)
    harness.main()

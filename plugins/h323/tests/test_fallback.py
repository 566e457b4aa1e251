#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The h323 plugin's Annex O fallback end to end: resolverd loads rd_h323.so and asks a Knot zone."""

import harness
from harness import wait_until

ZONE = "h323.test"
RECORDS = """
_h323ls._udp SRV 20 0 1719 gk2.h323.test.
_h323ls._udp SRV 10 60 1719 gk1.h323.test.
_h323cs._tcp SRV 0 0 1720 cs.h323.test.
_h323rs._udp SRV 0 0 1719 gk1.h323.test.
gk1 A 192.0.2.11
plain A 192.0.2.20
plain AAAA 2001:db8::20
_h323ls._udp.none SRV 0 0 0 .
none A 192.0.2.30
"""

# Annex O: location service first (by priority), then call signalling, then registration.
ANNEX_O = [
    ("h323:carol@gk1.h323.test:1719", "SRV _h323ls._udp"),
    ("h323:carol@gk2.h323.test:1719", "SRV _h323ls._udp"),
    ("h323:carol@cs.h323.test:1720", "SRV _h323cs._tcp"),
    ("h323:carol@gk1.h323.test:1719", "SRV _h323rs._udp"),
]


class H323Fallback(harness.ResolverdTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.knot = harness.KnotD(cls.workdir, ZONE, RECORDS).start()
        common = ["fallback.servers=" + cls.knot.addr, "fallback.timeout_ms=1000"]
        cls.on = cls.node("on", extra=common + ["plugins.h323.enabled=true", "plugins.h323.fallback=true"]).start()
        cls.off = cls.node("off", extra=common + ["plugins.h323.fallback=false"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.knot.stop()
        super().tearDownClass()

    def contacts(self, r):
        return [(b["contact"], b.get("via")) for b in r.json["bindings"]]

    def test_plugin_is_loaded(self):
        self.assertIn("plugin h323: loaded", self.on.log())
        self.assertRegex(self.on.log(), r"plugin h323: loaded .*rd_h323\.so.*fallback on")
        self.assertRegex(self.off.log(), r"plugin h323: loaded .*fallback off")

    def test_annex_o_targets_in_order(self):
        r = self.on.resolve("h323:carol@h323.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["source"], "dns")
        self.assertEqual(self.contacts(r), ANNEX_O)
        qs = [b["q"] for b in r.json["bindings"]]
        self.assertEqual(qs[0], 1.0)
        self.assertEqual(qs, sorted(qs, reverse=True))
        self.assertEqual(len(set(qs)), len(qs), "q strictly decreasing")
        self.assertTrue(all(0 < b["expires"] <= 300 for b in r.json["bindings"]), r.json)

    def test_equivalent_spellings_fall_back_alike(self):
        for spelling in ("H323:carol@H323.TEST", "h323:carol@h323.test:1720", "h323:%63arol@h323.test.;x=y"):
            r = self.on.resolve(spelling)
            self.assertEqual(r.status, 200, (spelling, r))
            self.assertEqual(r.json["uri"], "h323:carol@h323.test")
            self.assertEqual(self.contacts(r), ANNEX_O, spelling)

    def test_alias_less_url(self):
        r = self.on.resolve("h323:@h323.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["bindings"][0]["contact"], "h323:@gk1.h323.test:1719")

    def test_no_srv_uses_addresses_on_1720(self):
        r = self.on.resolve("h323:dave@plain.h323.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.contacts(r), [("h323:dave@192.0.2.20:1720", "A"),
                                            ("h323:dave@[2001:db8::20]:1720", "AAAA")])

    def test_explicit_port_skips_srv(self):
        r = self.on.resolve("h323:dave@plain.h323.test:1731")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.contacts(r)[0], ("h323:dave@192.0.2.20:1731", "A"))

    def test_no_service_and_no_domain_are_404(self):
        for uri in ("h323:erin@none.h323.test", "h323:erin@nosuch.h323.test"):
            r = self.on.resolve(uri)
            self.assertEqual(r.status, 404, (uri, r))
            self.assertNotEqual((r.json or {}).get("source"), "dns")

    def test_a_dht_binding_wins(self):
        uri = "h323:frank@h323.test"
        r = self.on.resolve(uri)
        self.assertEqual((r.status, r.json["source"]), (200, "dns"), r)
        self.assertEqual(self.on.publish(uri, "h323:frank@192.0.2.99", instance="desk").status, 201)
        r = wait_until(lambda: (lambda x: x if x.status == 200 and x.json["source"] != "dns" else None)(
            self.on.resolve("H323:frank@H323.test")), 10, 0.1)
        self.assertTrue(r, "the published binding never replaced the DNS answer")
        self.assertEqual([b["contact"] for b in r.json["bindings"]], ["h323:frank@192.0.2.99"])

    def test_fallback_false_turns_it_off(self):
        r = self.off.resolve("h323:carol@h323.test")
        self.assertEqual(r.status, 404, r)
        # Normalization is still the plugin's: the 404 names the normalized URL.
        self.assertEqual(self.off.publish("h323:Gina@H323.test:1720", "h323:gina@192.0.2.5").status, 201)
        r = wait_until(lambda: self.off.resolve("h323:Gina@h323.test").status == 200, 10, 0.1)
        self.assertTrue(r)
        self.assertEqual(self.off.resolve("h323:gina@h323.test").status, 404, "the alias keeps its case")


if __name__ == "__main__":
    harness.main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""H.323 gatekeepers and SIP proxies plug in through DNS: ENUM NAPTRs per scheme, Annex O and SIP SRV, A records."""

import os
import subprocess

import harness
from harness import wait_until

# Numbers, their contacts, and the ENUM service each contact's scheme gives.
NUMBERS = [
    # (published as, normalized, contact, ENUM name, NAPTR service)
    ("tel:+15551234", "tel:+15551234", "sip:alice@example.com", "4.3.2.1.5.5.5.1.e164.arpa", "E2U+sip"),
    ("tel:+1-555-0002", "tel:+15550002", "h323:carol@example.net", "2.0.0.0.5.5.5.1.e164.arpa", "E2U+h323"),
    ("tel:0003;phone-context=+1.555", "tel:+15550003", "xmpp:bob@example.org", "3.0.0.0.5.5.5.1.e164.arpa",
     "E2U+xmpp"),
]

# Service records: (name, target, port, priority, weight, published with urictl?)
SERVICES = [
    ("_h323cs._tcp.example.net", "gk.example.net", 1720, 0, 0, False),
    ("_h323ls._udp.example.net", "gk.example.net", 1719, 10, 5, True),
    ("_h323rs._udp.example.net", "gk.example.net", 1719, 0, 0, False),
    ("_sip._udp.example.com", "sip.example.com", 5060, 10, 20, False),
    ("_sips._tcp.example.com", "sip.example.com", 5061, 10, 20, True),
]


class DnsPlugins(harness.ResolverdTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        common = ["dns.dht_zones.example.net.ns=ns1.example.net", "dns.dht_zones.example.com.ns=ns1.example.com",
                  "dns.rrl.responses_per_second=0", "dns.max_ttl=120", "plugins.tel.enabled=true",
                  "plugins.h323.enabled=true"]
        cls.n1 = cls.node("pub", extra=common).start()
        cls.n2 = cls.node("gk", bootstrap=[cls.n1.dht_addr], extra=common).start()
        for n in (cls.n1, cls.n2):
            wait_until(lambda: n.status()["overlay"]["good_nodes"] >= 1, 10)
        cls.token_file = os.path.join(cls.workdir, "token")
        with open(cls.token_file, "w") as f:
            f.write(cls.n1.token())

    def urictl(self, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESOLVERD_")}
        env.update(RESOLVERD_URL=self.n1.url, RESOLVERD_TOKEN_FILE=self.token_file)
        r = subprocess.run([harness.URICTL] + list(args), capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(r.returncode, 0, "urictl %s: stdout=%r stderr=%r" % (args, r.stdout, r.stderr))
        return r

    def answers(self, name, rtype, count=1):
        """The answer RRs from the second node, once at least @p count are there."""
        r = wait_until(lambda: (lambda a: a if len(a) >= count else None)(
            self.n2.dig(name, rtype).get("answerRRs", [])), 10, 0.05)
        self.assertTrue(r, "no %s answer for %s" % (rtype, name))
        return r

    def test_1_plugins_are_loaded(self):
        log = self.n1.log()
        self.assertRegex(log, r"plugin tel: loaded .*rd_tel\.so")
        self.assertRegex(log, r"plugin h323: loaded .*rd_h323\.so")

    def test_2_enum_naptr_per_contact_scheme(self):
        for i, (spelling, uri, contact, enum, service) in enumerate(NUMBERS):
            if i == 1:
                self.urictl("publish", spelling, contact, "--instance", "n%d" % i)
            else:
                r = self.n1.publish(spelling, contact, instance="n%d" % i)
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.json["uri"], uri)
        for spelling, uri, contact, enum, service in NUMBERS:
            naptr = self.answers(enum, "NAPTR")
            self.assertEqual(len(naptr), 1, naptr)
            self.assertEqual(naptr[0]["rdataNAPTR"], '0 10 "u" "%s" "!^.*$!%s!" .' % (service, contact))
            self.assertTrue(0 < naptr[0]["TTL"] <= 120)

    def test_3_separators_reach_the_same_enum_name(self):
        spellings = ["tel:+1-555-1234", "TEL:+1.555.1234", "tel:+1(555)123-4", "tel:1234;phone-context=+1-555",
                     "tel:+15551234;npdi"]
        self.assertEqual(self.n1.publish("tel:+1-555-1234", "sip:alice@192.0.2.77", q=0.5,
                                         instance="desk").status, 201)
        for s in spellings:
            r = wait_until(lambda: (lambda x: x if x.status == 200 and len(x.json["bindings"]) == 2 else None)(
                self.n2.resolve(s)), 10, 0.05)
            self.assertTrue(r, s)
            self.assertEqual(r.json["uri"], "tel:+15551234", s)
        naptr = self.answers("4.3.2.1.5.5.5.1.e164.arpa", "NAPTR", 2)
        self.assertEqual([rr["rdataNAPTR"] for rr in naptr],
                         ['0 10 "u" "E2U+sip" "!^.*$!sip:alice@example.com!" .',
                          '500 10 "u" "E2U+sip" "!^.*$!sip:alice@192.0.2.77!" .'])
        # A local number without a global context is refused with the plugin's reason.
        r = self.n1.publish("tel:5551234", "sip:x@192.0.2.1")
        self.assertEqual(r.status, 400, r)
        self.assertIn("phone-context that is a global number prefix", r.json["detail"])

    def test_4_annex_o_and_sip_srv(self):
        for name, target, port, prio, weight, cli in SERVICES:
            if cli:
                self.urictl("service", name, target, str(port), "--priority", str(prio), "--weight", str(weight))
            else:
                r = self.n1.put("services", name, {"target": target, "port": port, "priority": prio,
                                                   "weight": weight})
                self.assertIn(r.status, (200, 201), r)
        for name, target, port, prio, weight, cli in SERVICES:
            srv = self.answers(name, "SRV")
            self.assertEqual([rr["rdataSRV"] for rr in srv], ["%d %d %d %s." % (prio, weight, port, target)], name)
            self.assertEqual(self.n2.dig(name, "SRV")["AA"], 1, "authoritative inside dns.dht_zones")

    def test_5_target_addresses(self):
        self.assertIn(self.n1.put("hosts", "gk.example.net", {"address": "192.0.2.40"}).status, (200, 201))
        self.urictl("host", "sip.example.com", "192.0.2.50", "--instance", "v4")
        self.urictl("host", "sip.example.com", "2001:db8::50", "--instance", "v6")
        self.assertEqual([rr["rdataA"] for rr in self.answers("gk.example.net", "A")], ["192.0.2.40"])
        self.assertEqual([rr["rdataA"] for rr in self.answers("sip.example.com", "A")], ["192.0.2.50"])
        self.assertEqual([rr["rdataAAAA"] for rr in self.answers("sip.example.com", "AAAA")], ["2001:db8::50"])

    def test_6_a_gatekeeper_walks_enum_srv_a(self):
        """What GnuGk does with ENUM and Annex O, step by step with kdig: number -> URL -> gatekeeper -> address."""
        naptr = self.answers("2.0.0.0.5.5.5.1.e164.arpa", "NAPTR")
        regexp = naptr[0]["rdataNAPTR"].split('"')[5]
        url = regexp.split("!")[2]
        self.assertEqual(url, "h323:carol@example.net")
        domain = url.split("@")[1]
        srv = self.answers("_h323ls._udp." + domain, "SRV")
        target = srv[0]["rdataSRV"].split()[3].rstrip(".")
        self.assertEqual(target, "gk.example.net")
        self.assertEqual(self.answers(target, "A")[0]["rdataA"], "192.0.2.40")

    def test_7_h323_binding_by_name(self):
        self.assertEqual(self.n1.publish("h323:carol@Example.NET:1720", "h323:carol@192.0.2.41",
                                         instance="ep").status, 201)
        naptr = self.answers("carol._h323.example.net", "NAPTR")
        self.assertEqual(naptr[0]["rdataNAPTR"], '0 10 "u" "E2U+h323" "!^.*$!h323:carol@192.0.2.41!" .')
        uri = self.answers("carol._h323.example.net", "URI")
        self.assertIn('"h323:carol@192.0.2.41"', uri[0]["rdataURI"])


if __name__ == "__main__":
    harness.main()

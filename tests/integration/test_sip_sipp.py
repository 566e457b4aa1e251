#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SIP registrar and redirect server driven by sipp, over UDP and over TCP: REGISTER on node 1, INVITE on
node 2 gets a 302 naming the registered contact; Expires: 0 then 404; 423; digest 401 then success.

SIP_TARGET=kamailio runs the same scenarios against Kamailio's registrar (tests/integration/sip/registrar.cfg.in)
instead, which is how the scenarios themselves are checked."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sip"))
import sipkit  # noqa: E402
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

MIN_EXPIRES = 60
USERS = {"carol": "n0t-a-Secret"}


class SippBase(harness.ResolverdTestCase):
    """Three registrars: node 1 takes REGISTERs, node 2 answers INVITEs (over one overlay), node 3 wants
    digest authentication from the users it lists."""

    TRANSPORT = "u1"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kamailios = []
        cls.tag = cls.TRANSPORT[0]
        try:
            if sipkit.target() == "kamailio":
                reg = cls.kamailio(sipkit.kamailio_registrar(cls.workdir, "kreg", min_expires=MIN_EXPIRES))
                auth = cls.kamailio(sipkit.kamailio_registrar(cls.workdir, "kauth", min_expires=MIN_EXPIRES,
                                                              users=USERS))
                cls.port1 = cls.port2 = reg.port
                cls.auth_port = auth.port
                cls.node1 = cls.node2 = None
                return
            reason = sipkit.resolverd_sip_available()
            if reason:
                raise RuntimeError("resolverd SIP server not available: " + reason)
            dht = cls.dhtnode()
            cls.node1 = sipkit.resolverd_sip_node(cls, "sip1", bootstrap=[dht.addr], min_expires=MIN_EXPIRES)
            cls.node2 = sipkit.resolverd_sip_node(cls, "sip2", bootstrap=[dht.addr], min_expires=MIN_EXPIRES)
            node3 = sipkit.resolverd_sip_node(cls, "sip3", bootstrap=[dht.addr], min_expires=MIN_EXPIRES,
                                              users=USERS)
            for n in (cls.node1, cls.node2, node3):
                n.start()
            for n in (cls.node1, cls.node2, node3):
                wait_until(lambda: n.status()["overlay"]["good_nodes"] >= 2, 10)
            cls.port1, cls.port2, cls.auth_port = cls.node1.sip_port, cls.node2.sip_port, node3.sip_port
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def kamailio(cls, k):
        cls.kamailios.append(k)
        return k.start()

    @classmethod
    def tearDownClass(cls):
        for k in getattr(cls, "kamailios", []):
            k.stop()
        super().tearDownClass()

    # helpers

    def aors(self, name, n, host="192.0.2.20"):
        """n distinct (user, domain, contact) rows, unique to this test and transport."""
        return [("%s-%s%d" % (name, self.tag, i), "example.com", "sip:%s-%s%d@%s:%d" % (name, self.tag, i, host,
                                                                                     5070 + i))
                for i in range(n)]

    def inf(self, name, rows):
        return sipkit.write_injection(os.path.join(self.workdir, "%s-%s.csv" % (name, self.tag)), rows)

    def run_sipp(self, scen, port, inf, calls, **kw):
        return sipkit.sipp(self.workdir, sipkit.scenario(scen), port, inf=inf, calls=calls,
                           transport=self.TRANSPORT, **kw)

    def assert_all_ok(self, res, calls):
        self.assertEqual(res.rc, 0, res)
        self.assertEqual(res.counter("SuccessfulCall"), calls, res)
        self.assertEqual(res.counter("FailedCall"), 0, res)

    def wait_resolvable(self, node, rows, present):
        """On resolverd, wait until node's DHT view has (or no longer has) each row's binding."""
        if node is None:
            return
        for user, domain, contact in rows:
            uri = "sip:%s@%s" % (user, domain)

            def state():
                r = node.resolve(uri)
                contacts = [b["contact"] for b in r.json["bindings"]] if r.status == 200 else []
                return (contact in contacts) == present
            self.assertTrue(wait_until(state, 5), "%s on %s: binding %s still %s" % (
                uri, node.name, contact, "missing" if present else "present"))

    # tests

    def test_1_register_on_node1_then_302_on_node2(self):
        rows = self.aors("alice", 3)
        inf = self.inf("alice", rows)
        self.assert_all_ok(self.run_sipp("register.xml", self.port1, inf, 3, keys={"expires": 300}), 3)
        self.wait_resolvable(self.node2, rows, True)
        self.assert_all_ok(self.run_sipp("invite_302.xml", self.port2, inf, 3), 3)

    def test_2_the_302_check_can_fail(self):
        # The scenario compares the 302's Contact with the injection file: a different contact must fail it.
        rows = self.aors("dan", 1)
        self.assert_all_ok(self.run_sipp("register.xml", self.port1, self.inf("dan", rows), 1,
                                         keys={"expires": 300}), 1)
        self.wait_resolvable(self.node2, rows, True)
        wrong = [(u, d, c.replace("192.0.2.20", "192.0.2.21")) for u, d, c in rows]
        res = self.run_sipp("invite_302.xml", self.port2, self.inf("dan-wrong", wrong), 1, timeout_s=10)
        self.assertNotEqual(res.rc, 0, res)
        self.assertEqual(res.counter("FailedCall"), 1, res)

    def test_3_expires_0_then_404(self):
        rows = self.aors("bob", 2)
        inf = self.inf("bob", rows)
        self.assert_all_ok(self.run_sipp("register.xml", self.port1, inf, 2, keys={"expires": 300}), 2)
        self.wait_resolvable(self.node2, rows, True)
        self.assert_all_ok(self.run_sipp("invite_302.xml", self.port2, inf, 2), 2)
        self.assert_all_ok(self.run_sipp("register.xml", self.port1, inf, 2, keys={"expires": 0}), 2)
        self.wait_resolvable(self.node2, rows, False)
        self.assert_all_ok(self.run_sipp("invite_404.xml", self.port2, inf, 2), 2)

    def test_4_never_registered_404(self):
        self.assert_all_ok(self.run_sipp("invite_404.xml", self.port2, self.inf("nobody", self.aors("nobody", 2)), 2),
                           2)

    def test_5_interval_too_brief_423(self):
        rows = self.aors("erin", 1)
        inf = self.inf("erin", rows)
        self.assert_all_ok(self.run_sipp("register_423.xml", self.port1, inf, 1, keys={"expires": MIN_EXPIRES - 1}),
                           1)
        # Nothing was registered.
        self.assert_all_ok(self.run_sipp("invite_404.xml", self.port1, inf, 1), 1)

    def test_6_digest_401_then_200(self):
        user = "carol"
        contact = "sip:carol@192.0.2.30:%d" % (5080 if self.tag == "u" else 5081)
        wrong = self.inf("carol-wrong", [(user, "example.com", contact, sipkit.auth_field(user, "guess"))])
        res = self.run_sipp("register_auth.xml", self.auth_port, wrong, 1, keys={"expires": 300}, timeout_s=10)
        self.assertNotEqual(res.rc, 0, "a wrong password was accepted: %r" % res)
        inf = self.inf("carol", [(user, "example.com", contact, sipkit.auth_field(user, USERS[user]))])
        res = self.run_sipp("register_auth.xml", self.auth_port, inf, 1, keys={"expires": 300})
        if "must use MD5" in res.errors:
            self.fail("sipp 3.6 answers only the first WWW-Authenticate of a 401 and knows only MD5, but the server "
                      "put another algorithm first:\n%r" % res)
        self.assert_all_ok(res, 1)
        self.assert_all_ok(self.run_sipp("invite_302.xml", self.auth_port, inf, 1), 1)
        # Clean up for the other transport's run of this test.
        self.assert_all_ok(self.run_sipp("register_auth.xml", self.auth_port, inf, 1, keys={"expires": 0}), 1)

    def test_7_every_offered_digest_algorithm_works(self):
        # sipp only speaks MD5: answer each challenge by hand, SHA-256 (RFC 8760) included.
        user, password = "carol", USERS["carol"]
        transport = "udp" if self.tag == "u" else "tcp"
        contact = "sip:carol@192.0.2.31:5090"
        first = sipkit.raw_request(self.auth_port, sipkit.register_text(user, "example.com", contact, 300, 1,
                                                                         "alg-%s" % self.tag), transport)
        self.assertEqual(sipkit.status_of(first), 401, first)
        offered = sipkit.challenges(first)
        algorithms = [c["algorithm"].upper() for c in offered]
        self.assertIn("MD5", algorithms, first)
        if sipkit.target() == "resolverd":
            self.assertIn("SHA-256", algorithms, first)
        cseq = 2
        for ch in offered:
            auth = sipkit.digest_authorization(ch, user, password, "REGISTER", "sip:example.com")
            ok = sipkit.raw_request(self.auth_port, sipkit.register_text(
                user, "example.com", contact, 300, cseq, "alg-%s" % self.tag, "Authorization: %s\r\n" % auth),
                transport)
            self.assertEqual(sipkit.status_of(ok), 200, "%s: %r" % (ch["algorithm"], ok))
            bad = sipkit.digest_authorization(ch, user, password + "x", "REGISTER", "sip:example.com")
            no = sipkit.raw_request(self.auth_port, sipkit.register_text(
                user, "example.com", contact, 300, cseq + 1, "alg-%s" % self.tag, "Authorization: %s\r\n" % bad),
                transport)
            self.assertEqual(sipkit.status_of(no), 401, "%s with a wrong password: %r" % (ch["algorithm"], no))
            cseq += 2
        auth = sipkit.digest_authorization(offered[0], user, password, "REGISTER", "sip:example.com")
        gone = sipkit.raw_request(self.auth_port, sipkit.register_text(
            user, "example.com", contact, 0, cseq, "alg-%s" % self.tag, "Authorization: %s\r\n" % auth), transport)
        self.assertIn(sipkit.status_of(gone), (200, 401), gone)


class SippUdp(SippBase):
    TRANSPORT = "u1"


class SippTcp(SippBase):
    TRANSPORT = "t1"


del SippBase

if __name__ == "__main__":
    harness.main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kamailio as a real proxy in front of resolverd: it sends each INVITE to resolverd's redirect server and follows
the 302 to the contact registered there, a sipp callee; a sipp caller's call completes through it.

The callee is registered on node 1 and Kamailio asks node 2, so the contact reaches Kamailio only through the
DHT. SIP_TARGET=kamailio puts a Kamailio registrar in resolverd's place (to check the test itself)."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sip"))
import sipkit  # noqa: E402
import harness  # noqa: E402
from harness import wait_until  # noqa: E402


class KamailioProxy(harness.ResolverdTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kamailios = []
        try:
            if sipkit.target() == "kamailio":
                reg = cls.kamailio(sipkit.kamailio_registrar(cls.workdir, "kreg"))
                cls.register_port = cls.redirect_port = reg.port
                cls.node2 = None
            else:
                reason = sipkit.resolverd_sip_available()
                if reason:
                    raise RuntimeError("resolverd SIP server not available: " + reason)
                dht = cls.dhtnode()
                node1 = sipkit.resolverd_sip_node(cls, "sip1", bootstrap=[dht.addr])
                cls.node2 = sipkit.resolverd_sip_node(cls, "sip2", bootstrap=[dht.addr])
                for n in (node1, cls.node2):
                    n.start()
                for n in (node1, cls.node2):
                    wait_until(lambda: n.status()["overlay"]["good_nodes"] >= 1, 10)
                cls.register_port, cls.redirect_port = node1.sip_port, cls.node2.sip_port
            cls.proxy_udp = cls.kamailio(sipkit.kamailio_proxy(cls.workdir, "proxy-udp", cls.redirect_port, "udp"))
            cls.proxy_tcp = cls.kamailio(sipkit.kamailio_proxy(cls.workdir, "proxy-tcp", cls.redirect_port, "tcp"))
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

    def register(self, user, contact):
        inf = sipkit.write_injection(os.path.join(self.workdir, user + ".csv"), [(user, "example.com", contact)])
        res = sipkit.sipp(self.workdir, sipkit.scenario("register.xml"), self.register_port, inf=inf,
                          keys={"expires": 300})
        self.assertEqual(res.rc, 0, res)
        if self.node2 is not None:
            uri = "sip:%s@example.com" % user

            def seen():
                r = self.node2.resolve(uri)
                return r.status == 200 and contact in [b["contact"] for b in r.json["bindings"]]
            self.assertTrue(wait_until(seen, 5), "node 2 never saw %s -> %s" % (uri, contact))
        return inf

    def call(self, user, proxy, transport, callee_contact=None):
        """Register a callee for user on node 1, call user@example.com through @p proxy; return
        (caller result, callee exit status, callee log)."""
        port = harness.free_port()
        contact = "sip:%s@127.0.0.1:%d" % (user, port)
        inf = self.register(user, contact)
        tag = "uas-" + user
        uas = sipkit.sipp_uas(self.workdir, port, callee_contact or contact, timeout_s=20, tag=tag)
        try:
            time.sleep(0.2)
            res = sipkit.sipp(self.workdir, sipkit.scenario("uac_call.xml"), proxy.port, inf=inf,
                              transport=transport, timeout_s=15)
            try:
                uas_rc = uas.wait(timeout=10)
            except Exception:
                uas_rc = "still running"
        finally:
            sipkit.stop_process(uas)
        return res, uas_rc, sipkit.read(os.path.join(self.workdir, tag + ".errors.log"))

    def test_1_call_through_kamailio_follows_resolverd_302(self):
        res, uas_rc, uas_log = self.call("frank", self.proxy_udp, "u1")
        self.assertEqual(res.rc, 0, "%r\n--- kamailio\n%s" % (res, self.proxy_udp.log()))
        self.assertEqual(res.counter("SuccessfulCall"), 1, res)
        self.assertEqual(uas_rc, 0, "callee: %s\n--- kamailio\n%s" % (uas_log, self.proxy_udp.log()))
        # Kamailio learned the callee's address from the redirect server's 302, and nowhere else.
        self.assertRegex(self.proxy_udp.log(), r"302 from the redirect server, Contact <sip:frank@127\.0\.0\.1:\d+>")

    def test_2_caller_over_tcp_and_kamailio_asks_over_tcp(self):
        res, uas_rc, uas_log = self.call("grace", self.proxy_tcp, "t1")
        self.assertEqual(res.rc, 0, "%r\n--- kamailio\n%s" % (res, self.proxy_tcp.log()))
        self.assertEqual(uas_rc, 0, "callee: %s\n--- kamailio\n%s" % (uas_log, self.proxy_tcp.log()))
        self.assertRegex(self.proxy_tcp.log(), r"302 from the redirect server, Contact <sip:grace@127\.0\.0\.1:\d+>")

    def test_3_the_callee_check_can_fail(self):
        # A callee that expects another Request-URI refuses the call: the caller's scenario fails.
        res, uas_rc, _ = self.call("heidi", self.proxy_udp, "u1", callee_contact="sip:someone-else@127.0.0.1:9")
        self.assertNotEqual(res.rc, 0, res)
        self.assertNotEqual(uas_rc, 0)

    def test_4_unknown_user_gets_404_through_kamailio(self):
        inf = sipkit.write_injection(os.path.join(self.workdir, "nobody.csv"),
                                     [("nobody-here", "example.com", "sip:unused@192.0.2.1")])
        res = sipkit.sipp(self.workdir, sipkit.scenario("invite_404.xml"), self.proxy_udp.port, inf=inf)
        self.assertEqual(res.rc, 0, "%r\n--- kamailio\n%s" % (res, self.proxy_udp.log()))
        self.assertFalse(re.search(r"302 from the redirect server, Contact <sip:nobody-here", self.proxy_udp.log()))


if __name__ == "__main__":
    harness.main()

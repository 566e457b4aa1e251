#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Many nodes, one overlay: five resolverd processes and OpenDHT's dhtnode on loopback."""

import os
import subprocess
import time

import harness
from harness import wait_until


class Overlay(harness.ResolverdTestCase):
    """Every node bootstraps from a plain dhtnode only: this is also the interop test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dht = cls.dhtnode()
        # A domain pinned to a key: only that key (or its delegates) may publish there.
        cls.domain_key = os.path.join(cls.workdir, "domain.key")
        out = subprocess.run([harness.URICTL, "keygen", cls.domain_key], check=True,
                             capture_output=True, text=True).stdout.split()
        cls.domain_pub = out[-1]
        policy = "policy.domains.secure.example.keys=" + cls.domain_pub
        cls.n = [cls.node("node%d" % i, bootstrap=[cls.dht.addr], extra=[policy]).start()
                 for i in range(1, 6)]
        # Let the routing tables fill before the first lookup.
        for node in cls.n:
            wait_until(lambda: node.status()["overlay"]["good_nodes"] >= 3, 10)

    def live(self, node, uri):
        r = node.resolve(uri)
        return r.json["bindings"] if r.status == 200 else []

    def test_1_publish_on_one_resolve_on_another(self):
        r = self.n[0].publish("sip:Alice@Example.COM;transport=tcp", "sip:alice@192.0.2.1:5070",
                              instance="desk", q=0.8, expires=300)
        self.assertEqual(r.status, 201, r)
        got = wait_until(lambda: self.live(self.n[4], "sip:Alice@example.com"), 5)
        self.assertEqual(len(got), 1, self.n[4].log())
        self.assertEqual(got[0]["contact"], "sip:alice@192.0.2.1:5070")
        self.assertEqual(got[0]["instance"], "desk")
        self.assertEqual(got[0]["publisher"], self.n[0].status()["public_key"])
        self.assertAlmostEqual(got[0]["q"], 0.8)

    def test_2_unpublish_is_gone_everywhere_within_one_second(self):
        uri = "xmpp:bob@example.org"
        self.assertEqual(self.n[0].publish(uri, "xmpp:bob@example.org/phone", instance="phone").status, 201)
        self.assertEqual(len(wait_until(lambda: self.live(self.n[4], uri), 5)), 1)
        # node 5 now has the name cached and listened to: the tombstone must reach it.
        r = self.n[0].unpublish(uri, "phone")
        self.assertEqual(r.status, 204, r)
        t0 = time.time()
        gone = wait_until(lambda: self.n[4].resolve(uri).status == 404, 1.0, interval=0.01)
        self.assertTrue(gone, "binding still served by node 5 %.2fs after unpublish" % (time.time() - t0))
        # A node that never saw the name agrees.
        self.assertEqual(self.n[2].resolve(uri).status, 404)

    def test_3_kill9_and_restart_keeps_bindings(self):
        uri = "h323:carol@example.net"
        self.assertEqual(self.n[1].publish(uri, "h323:carol@192.0.2.3", instance="gk").status, 201)
        self.n[1].kill9()
        self.n[1].start()
        # The restarted node still owns and announces it...
        listed = [b for b in harness.http("GET", self.n[1].url + "/v1/bindings").json["bindings"]
                  if b["uri"] == uri]
        self.assertEqual(len(listed), 1)
        # ...and it resolves on other nodes, including one that joins only now.
        self.assertEqual(len(wait_until(lambda: self.live(self.n[3], uri), 5)), 1)
        late = self.node("late", bootstrap=[self.n[1].dht_addr]).start()
        self.assertEqual(len(wait_until(lambda: self.live(late, uri), 5)), 1, late.log())
        # It can still withdraw what it published before the crash.
        self.assertEqual(self.n[1].unpublish(uri, "gk").status, 204)
        self.assertTrue(wait_until(lambda: self.n[3].resolve(uri).status == 404, 1.0, interval=0.01))

    def inject(self, mode, uri, count=1):
        state = os.path.join(self.workdir, "inject-" + mode)
        port = harness.free_port(harness.socket.SOCK_DGRAM)
        subprocess.run([harness.DHT_INJECT, "--bootstrap", self.dht.addr, "--network", str(harness.NETWORK),
                        "--listen", "127.0.0.1:%d" % port, "--state", state, "--uri", uri,
                        "--mode", mode, "--count", str(count)], check=True, timeout=30)

    def test_4_forged_records_are_never_returned(self):
        uri = "sip:carol@secure.example"
        # The legitimate binding: signed on the client with the pinned domain key.
        subprocess.run([harness.URICTL, "--url", self.n[0].url, "--token", self.n[0].token(), "publish",
                        uri, "sip:carol@192.0.2.7", "--instance", "legit", "--key", self.domain_key],
                       check=True, capture_output=True)
        # The node's own key is not pinned for this domain: it may not publish there.
        self.assertEqual(self.n[0].publish(uri, "sip:evil@192.0.2.66").status, 403)
        before = self.n[2].status()["records"]
        self.inject("wrongkey", uri, count=3)
        self.inject("badsig", uri, count=3)
        self.inject("garbage", uri, count=3)
        for node in (self.n[2], self.n[4]):
            got = wait_until(lambda: self.live(node, uri), 5)
            self.assertEqual([b["instance"] for b in got], ["legit"], node.name)
            self.assertEqual(got[0]["publisher"], self.domain_pub)
        after = self.n[2].status()["records"]
        self.assertGreaterEqual(after["dropped_policy"] - before["dropped_policy"], 3, after)
        self.assertGreaterEqual(after["dropped_signature"] - before["dropped_signature"], 3, after)
        # Later lookups and listens never let them in either.
        time.sleep(0.5)
        self.assertEqual([b["instance"] for b in self.live(self.n[1], uri)], ["legit"])


if __name__ == "__main__":
    harness.main()

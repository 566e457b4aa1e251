#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Two Prosody servers for DHT-only domains (a.p2p, b.p2p) federate through resolverd's DNS front end."""

import os
import signal
import socket
import subprocess
import sys
import time

import harness
from harness import wait_until

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "prosody"))
import xmpp_client  # noqa: E402

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prosody", "prosody.cfg.lua.in")


class Prosody:
    """One Prosody process in the foreground, with its own config, data and log under workdir/<domain>."""

    def __init__(self, workdir, domain, dns_port):
        self.domain = domain
        self.dir = os.path.join(workdir, "prosody-" + domain)
        for sub in ("data", "certs"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.c2s_port = harness.free_port()
        self.s2s_port = harness.free_port()
        self.config = os.path.join(self.dir, "prosody.cfg.lua")
        with open(TEMPLATE) as f:
            text = f.read()
        for key, value in (("DNS_PORT", dns_port), ("DIR", self.dir), ("C2S_PORT", self.c2s_port),
                           ("S2S_PORT", self.s2s_port), ("DOMAIN", domain)):
            text = text.replace("@%s@" % key, str(value))
        with open(self.config, "w") as f:
            f.write(text)
        self.proc = None

    def register(self, user, password):
        r = subprocess.run(["prosodyctl", "--config", self.config, "register", user, self.domain, password],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("prosodyctl register: %s %s" % (r.stdout, r.stderr))

    def start(self):
        out = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = subprocess.Popen(["prosody", "--config", self.config], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT)
        out.close()
        if not wait_until(self.listening, 15, 0.05):
            raise RuntimeError("prosody %s did not start:\n%s" % (self.domain, self.log()))
        return self

    def listening(self):
        if self.proc.poll() is not None:
            raise RuntimeError("prosody %s exited with %d:\n%s" % (self.domain, self.proc.returncode, self.log()))
        try:
            socket.create_connection(("127.0.0.1", self.c2s_port), timeout=1).close()
            socket.create_connection(("127.0.0.1", self.s2s_port), timeout=1).close()
            return True
        except OSError:
            return False

    def client(self):
        return xmpp_client.Client("127.0.0.1", self.c2s_port, self.domain)

    def log(self):
        text = ""
        for name in ("stdout.log", "prosody.log"):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    text += "--- %s\n%s\n" % (name, f.read().decode(errors="replace")[-6000:])
            except OSError:
                pass
        return text

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Federation(harness.ResolverdTestCase):
    """a.p2p publishes on node 1 and asks node 1; b.p2p publishes on node 2 and asks node 2."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.servers = []
        cls.clients = []
        try:
            # negative_ttl=0: the "before publishing" NXDOMAIN must not stay in libunbound's cache.
            zone = ["dns.dht_zones.p2p.ns=ns1.p2p", "dns.dht_zones.p2p.negative_ttl=0"]
            cls.n1 = cls.node("n1", extra=zone).start()
            cls.n2 = cls.node("n2", bootstrap=[cls.n1.dht_addr], extra=zone).start()
            for n in (cls.n1, cls.n2):
                if not wait_until(lambda: n.status()["overlay"]["good_nodes"] >= 1, 15, 0.1):
                    raise RuntimeError("overlay did not form")
            cls.a = Prosody(cls.workdir, "a.p2p", cls.n1.dns_port)
            cls.b = Prosody(cls.workdir, "b.p2p", cls.n2.dns_port)
            cls.servers = [cls.a, cls.b]
            cls.a.register("alice", "alice-secret")
            cls.b.register("bob", "bob-secret")
            cls.a.start()
            cls.b.start()
            cls.alice = cls.a.client()
            cls.clients.append(cls.alice)
            cls.alice.login("alice", "alice-secret")
            cls.bob = cls.b.client()
            cls.clients.append(cls.bob)
            cls.bob.login("bob", "bob-secret")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for c in cls.clients:
            c.close()
        for s in cls.servers:
            s.stop()
        super().tearDownClass()

    def publish_http(self, node, domain, server):
        """The records a domain's XMPP server needs, over HTTP: SRV for s2s, and the A record of its target."""
        target = "xmpp." + domain
        r = node.put("services", "_xmpp-server._tcp." + domain,
                     {"target": target, "port": server.s2s_port, "priority": 0, "weight": 5})
        self.assertIn(r.status, (200, 201), r)
        r = node.put("hosts", target, {"address": "127.0.0.1"})
        self.assertIn(r.status, (200, 201), r)

    def publish_urictl(self, node, domain, server):
        """The same records with urictl."""
        env = dict(os.environ, RESOLVERD_URL=node.url,
                   RESOLVERD_TOKEN_FILE=os.path.join(node.state_dir, "admin.token"))
        target = "xmpp." + domain
        for args in (["service", "_xmpp-server._tcp." + domain, target, str(server.s2s_port),
                      "--priority", "0", "--weight", "5"],
                     ["host", target, "127.0.0.1"]):
            r = subprocess.run([harness.URICTL] + args, env=env, capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, (args, r.stdout, r.stderr))

    def logs(self):
        return "\n".join("=== %s\n%s" % (s.domain, s.log()) for s in self.servers)

    def test_federation_through_dht_dns(self):
        # Before anything is published: the DHT zone says NXDOMAIN, so a.p2p cannot find b.p2p.
        self.assertEqual(self.n1.dig("_xmpp-server._tcp.b.p2p", "SRV").get("RCODE"), 3)
        kind, cond, reply = self.alice.ping("b.p2p", "ping-before", timeout=30)
        self.assertEqual((kind, cond), ("error", "remote-server-not-found"),
                         xmpp_client.ET.tostring(reply))
        self.assertEqual(reply.get("from"), "b.p2p")

        # Each domain publishes on its own node (a.p2p with urictl, b.p2p over HTTP); the other node finds the
        # records through the DHT.
        self.publish_urictl(self.n1, "a.p2p", self.a)
        self.publish_http(self.n2, "b.p2p", self.b)
        want_b = "0 5 %d xmpp.b.p2p." % self.b.s2s_port
        srv = wait_until(lambda: self.n1.dig("_xmpp-server._tcp.b.p2p", "SRV").get("answerRRs"), 10, 0.1)
        self.assertEqual([rr["rdataSRV"] for rr in srv or []], [want_b])
        a_rr = wait_until(lambda: self.n1.dig("xmpp.b.p2p", "A").get("answerRRs"), 10, 0.1)
        self.assertEqual([rr["rdataA"] for rr in a_rr or []], ["127.0.0.1"])
        want_a = "0 5 %d xmpp.a.p2p." % self.a.s2s_port
        srv = wait_until(lambda: self.n2.dig("_xmpp-server._tcp.a.p2p", "SRV").get("answerRRs"), 10, 0.1)
        self.assertEqual([rr["rdataSRV"] for rr in srv or []], [want_a])

        # a.p2p -> b.p2p: the server ping crosses s2s (b.p2p checks a.p2p by dialback, through node 2).
        start = time.time()
        kind, cond, reply = self.alice.ping("b.p2p", "ping-after", timeout=30)
        self.assertEqual((kind, cond), ("result", None), xmpp_client.ET.tostring(reply).decode() + self.logs())
        self.assertEqual(reply.get("from"), "b.p2p")
        print("ping a.p2p -> b.p2p answered in %.2f s" % (time.time() - start))

        # A message from alice@a.p2p reaches bob@b.p2p ...
        self.alice.message("bob@b.p2p", "hello from a.p2p", "m-ab")
        msg = self.bob.wait_message("m-ab")
        self.assertEqual(msg.findtext("{jabber:client}body"), "hello from a.p2p")
        self.assertEqual(msg.get("from"), self.alice.jid)
        # ... and the answer goes the other way, over b.p2p's own outgoing s2s (resolved through node 2).
        self.bob.message("alice@a.p2p", "hello from b.p2p", "m-ba")
        msg = self.alice.wait_message("m-ba")
        self.assertEqual(msg.findtext("{jabber:client}body"), "hello from b.p2p")
        self.assertEqual(msg.get("from"), self.bob.jid)
        kind, cond, reply = self.bob.ping("a.p2p", "ping-ba", timeout=30)
        self.assertEqual((kind, cond), ("result", None), xmpp_client.ET.tostring(reply))

        # A domain nobody published stays unreachable.
        kind, cond, reply = self.alice.ping("c.p2p", "ping-c", timeout=30)
        self.assertEqual((kind, cond), ("error", "remote-server-not-found"), xmpp_client.ET.tostring(reply))


if __name__ == "__main__":
    harness.main()

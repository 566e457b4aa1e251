#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Three resolverd nodes under valgrind's memcheck: publish, resolve across nodes, DNS, unpublish, SIGTERM.

Each node must exit with status 0 (valgrind's --error-exitcode is 99) and its
valgrind log must report no definitely lost bytes and no errors. Third-party
noise is suppressed in tests/valgrind.supp, never our own code.

valgrind cannot run a binary built with AddressSanitizer. When RESOLVERD is
one (tests/run --sanitize), the same scenario runs without valgrind and
AddressSanitizer and LeakSanitizer are the checkers: each node must still exit
with status 0 and print no sanitizer report.
"""

import os
import subprocess
import urllib.parse

import harness
from harness import wait_until

SUPPRESSIONS = os.path.join(harness.SOURCE_ROOT, "tests", "valgrind.supp")
VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite", "--track-origins=no", "--suppressions=" + SUPPRESSIONS]
# valgrind runs the daemon some 20 to 50 times slower.
START_TIMEOUT = 180
STOP_TIMEOUT = 180


def sanitized(binary):
    """Is @p binary linked with AddressSanitizer?"""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30).stdout
    return "libasan" in out


ASAN = sanitized(harness.RESOLVERD)


class VgNode(harness.Node):
    """A resolverd node whose process is valgrind (unless the binary is an ASan build)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.vg_log = os.path.join(os.path.dirname(self.log_path), self.name + ".valgrind")

    def argv(self):
        if ASAN:
            return super().argv()
        return VALGRIND + ["--log-file=" + self.vg_log] + super().argv()

    def wait_ready(self, timeout=START_TIMEOUT):
        super().wait_ready(timeout)

    def stop(self):
        """SIGTERM, then wait for valgrind's leak check; return the exit status."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("%s did not stop on SIGTERM" % self.name)
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc

    def report(self):
        path = self.log_path if ASAN else self.vg_log
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Valgrind(harness.ResolverdTestCase):

    def setUp(self):
        self.n1 = self.node_vg("vg1", extra=["dns.dht_zones.p2p.ns=ns1.p2p"])
        self.n2 = self.node_vg("vg2", bootstrap=[self.n1.dht_addr],
                               extra=["http.rate_limit.requests_per_second=5", "http.rate_limit.burst=5"])
        self.n3 = self.node_vg("vg3", bootstrap=[self.n1.dht_addr], extra=["dns.dht_zones.p2p.ns=ns1.p2p"])
        # Start all three before waiting: valgrind's start-up is the slow part.
        for n in (self.n1, self.n2, self.n3):
            n.start(wait=False)
        for n in (self.n1, self.n2, self.n3):
            n.wait_ready()

    @classmethod
    def node_vg(cls, name, **kw):
        n = VgNode(cls.workdir, name, **kw)
        cls.nodes.append(n)
        return n

    def wait_overlay(self):
        for n in (self.n2, self.n3):
            ok = wait_until(lambda: n.status()["overlay"]["good_nodes"] >= 1, 60, 0.5)
            self.assertTrue(ok, "%s joined no overlay: %s" % (n.name, n.status()))

    def test_publish_resolve_dns_unpublish_then_clean_exit(self):
        n1, n2, n3 = self.n1, self.n2, self.n3
        self.wait_overlay()
        uri = "sip:vg@valgrind.example"
        r = n1.publish(uri, "sip:vg@192.0.2.50", instance="vg", q=0.7)
        self.assertEqual(r.status, 201, r)
        # Resolve on another node: a DHT get, then the cache.
        r = wait_until(lambda: (lambda x: x if x.status == 200 else None)(n3.resolve(uri)), 60, 0.5)
        self.assertTrue(r, "not resolved on vg3")
        self.assertEqual([b["contact"] for b in r.json["bindings"]], ["sip:vg@192.0.2.50"])
        self.assertEqual(n3.resolve(uri).json["source"], "cache")
        # DNS on the third node: the URI record, and a few error paths.
        d = wait_until(lambda: n2.dig("vg._sip.valgrind.example", "URI").get("answerRRs"), 60, 0.5)
        self.assertTrue(d, "no URI answer from vg2")
        self.assertIn('"sip:vg@192.0.2.50"', d[0]["rdataURI"])
        self.assertEqual(n2.dig("www.example.invalid", "A").get("RCODE"), 5)
        self.assertEqual(n2.dig("vg._sip.valgrind.example", "URI", "+tcp").get("ANCOUNT"), 1)
        # Names, DoH and HTTP errors on the first node.
        self.assertIn(n1.put("hosts", "h.p2p", {"address": "192.0.2.51"}).status, (200, 201))
        self.assertEqual(n1.dig("h.p2p", "A").get("answerRRs", [{}])[0].get("rdataA"), "192.0.2.51")
        self.assertEqual(harness.http("GET", n1.url + "/v1/resolve?uri=nonsense").status, 400)
        self.assertEqual(harness.http("POST", n1.url + "/v1/bindings", b"{bad", n1.auth()).status, 400)
        self.assertEqual(harness.http("GET", n1.url + "/nowhere").status, 404)
        # Rate limiting on the second node (5 a second, which the polls above stay under): then 429.
        statuses = [harness.http("GET", n2.url + "/v1/status").status for _ in range(20)]
        self.assertIn(429, statuses)
        # Unpublish: the tombstone reaches the other node.
        self.assertEqual(n1.unpublish(uri, "vg").status, 204)
        gone = wait_until(lambda: n3.resolve(uri).status == 404, 60, 0.5)
        self.assertTrue(gone, "vg3 still resolves after unpublish")
        q = urllib.parse.urlencode({"uri": uri, "instance": "vg"})
        self.assertEqual(harness.http("DELETE", n1.url + "/v1/bindings?" + q, None, n1.auth()).status, 404)
        # SIGTERM each; a clean exit and a clean report.
        for n in (n3, n2, n1):
            with self.subTest(node=n.name):
                rc = n.stop()
                report = n.report()
                self.assertEqual(rc, 0, "%s exited with %d\n%s" % (n.name, rc, report[-6000:]))
                if ASAN:
                    self.assertNotIn("Sanitizer", report, report[-6000:])
                else:
                    self.assertTrue("definitely lost: 0 bytes" in report or "no leaks are possible" in report,
                                    report[-6000:])
                    self.assertIn("ERROR SUMMARY: 0 errors", report, report[-6000:])


if __name__ == "__main__":
    harness.main()

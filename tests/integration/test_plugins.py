#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The daemon side of the plugin ABI, with the mock plugin (tests/unit/mock_plugins/mock.c) loaded into a real
resolverd: its normalizer for GET /v1/resolve and publishing, its DNS fallback (source "dns", cached), its config
section checked through the host's getters (--check-config, --set, file:line:column), and the ABI refusals."""

import os
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import http, wait_until
from test_api import openapi_errors

MOCK_DIR = os.path.join(harness.BUILD_ROOT, "tests", "unit")
MOCK = os.path.join(MOCK_DIR, "rd_mock.so")


def mock_settings(*more):
    return ["plugins.mock.path=" + MOCK, "plugins.mock.greeting=hi",
            "plugins.mock.users.alice.password=secret"] + list(more)


def check_config(*sets, path=None):
    """Run resolverd --check-config; return (exit status, stdout + stderr)."""
    argv = [harness.RESOLVERD, "--check-config", path or os.path.join(harness.SOURCE_ROOT, "etc", "resolverd.yaml")]
    for s in sets:
        argv += ["--set", s]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return p.returncode, p.stdout.decode(errors="replace")


class PluginHostTest(harness.ResolverdTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.udp_port = harness.free_port(socket.SOCK_DGRAM)
        cls.a = cls.node("a", extra=mock_settings("plugins.mock.listen=127.0.0.1:%d" % cls.udp_port)).start()
        cls.off = cls.node("off", extra=mock_settings("plugins.mock.fallback=false")).start()

    def resolve(self, node, uri):
        resp = node.resolve(uri)
        _, errors = openapi_errors("GET", node.url + "/v1/resolve", resp)
        self.assertEqual(errors, [], "GET /v1/resolve?uri=%s -> %r does not match openapi.yaml" % (uri, resp))
        return resp

    def fallback_calls(self, node, name):
        with open(node.log_path, "rb") as f:  # all of it: Node.log() keeps only the tail
            lines = f.read().decode(errors="replace").splitlines()
        return sum(1 for line in lines if "mock fallback call" in line and line.endswith(" for " + name))

    def test_plugin_loaded_and_config_read(self):
        with open(self.a.log_path, "rb") as f:
            log = f.read().decode(errors="replace")
        self.assertIn("plugin mock: loaded %s (ABI 1.0" % MOCK, log)
        self.assertIn("mock ready: greeting=hi limit=5 flag=0 listen=1", log)

    def test_two_spellings_resolve_to_one_binding(self):
        r = self.a.publish("MOCK:Alice+home@Example.ORG", "sip:alice@192.0.2.10:5060", instance="phone-1")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["uri"], "mock:alice@example.org", "the plugin's normalizer named it")
        for spelling in ("mock:alice@example.org", "mock:ALICE+work@example.org", "Mock:alice@EXAMPLE.org"):
            resp = self.resolve(self.a, spelling)
            self.assertEqual(resp.status, 200, (spelling, resp))
            self.assertEqual(resp.json["uri"], "mock:alice@example.org")
            self.assertEqual([b["contact"] for b in resp.json["bindings"]], ["sip:alice@192.0.2.10:5060"])
            self.assertNotEqual(resp.json["source"], "dns")
        bad = self.resolve(self.a, "mock:nobody")
        self.assertEqual(bad.status, 400, bad)
        self.assertIn("a mock URI is mock:user@host", bad.json["detail"])

    def test_fallback_answers_with_source_dns_and_is_cached(self):
        name = "mock:dns-bob@example.net"
        resp = self.resolve(self.a, "mock:DNS-Bob+x@Example.NET")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["source"], "dns")
        self.assertEqual(resp.json["uri"], name)
        first = resp.json["bindings"][0]
        self.assertEqual(first["contact"], "sip:example.net:5060;transport=udp")
        self.assertEqual(first["via"], "SRV _sip._udp")
        self.assertEqual(first["q"], 1.0)
        self.assertTrue(0 < first["expires"] <= 60, first)
        self.assertEqual(first["expires_at"] - int(time.time()), first["expires"], first)
        self.assertEqual(resp.json["bindings"][1]["via"], "A")
        for _ in range(20):
            again = self.resolve(self.a, name)
            self.assertEqual(again.status, 200)
            self.assertEqual(again.json["source"], "dns")
        self.assertEqual(self.fallback_calls(self.a, name), 1, "21 requests, one fallback call")

    def test_fallback_failures(self):
        timeout = self.resolve(self.a, "mock:slow-bob@example.net")
        self.assertEqual(timeout.status, 404, timeout)
        self.assertEqual(timeout.json.get("fallback"), "timeout")
        error = self.resolve(self.a, "mock:err-bob@example.net")
        self.assertEqual(error.status, 404, error)
        self.assertEqual(error.json.get("fallback"), "error")
        none = self.resolve(self.a, "mock:nx-bob@example.net")
        self.assertEqual(none.status, 404, none)
        self.assertNotIn("fallback", none.json)
        self.assertEqual(none.json["type"], "urn:resolverd:problem:no-binding")
        for _ in range(5):
            self.assertEqual(self.resolve(self.a, "mock:nx-bob@example.net").status, 404)
            self.assertEqual(self.resolve(self.a, "mock:slow-bob@example.net").json.get("fallback"), "timeout")
        self.assertEqual(self.fallback_calls(self.a, "mock:nx-bob@example.net"), 1, "failures are cached too")
        self.assertEqual(self.fallback_calls(self.a, "mock:slow-bob@example.net"), 1)

    def test_a_published_binding_replaces_the_fallback(self):
        name = "mock:dns-carol@example.net"
        self.assertEqual(self.resolve(self.a, name).json["source"], "dns")
        r = self.a.publish(name, "sip:carol@192.0.2.11", instance="desk")
        self.assertEqual(r.status, 201, r)

        def from_dht():
            resp = self.resolve(self.a, name)
            return resp.status == 200 and resp.json["source"] != "dns" and resp
        resp = wait_until(from_dht, 5)
        self.assertTrue(resp, "the DHT binding must win over the cached fallback")
        self.assertEqual([b["contact"] for b in resp.json["bindings"]], ["sip:carol@192.0.2.11"])
        # Unpublished: the name has no live binding again, and the precomputed 404 must not hide the fallback.
        self.assertEqual(self.a.unpublish(name, "desk").status, 204)
        resp = wait_until(lambda: self.resolve(self.a, name).json.get("source") == "dns", 5)
        self.assertTrue(resp, "after the tombstone, the fallback answers again")

    def test_fallback_off_is_the_plain_404(self):
        resp = self.resolve(self.off, "mock:dns-bob@example.net")
        self.assertEqual(resp.status, 404, resp)
        self.assertNotIn("fallback", resp.json)
        self.assertEqual(self.fallback_calls(self.off, "mock:dns-bob@example.net"), 0)
        # Its normalizer still works.
        self.assertEqual(self.off.publish("mock:Zed+1@x.example", "sip:z@192.0.2.9", instance="z").json["uri"],
                         "mock:zed@x.example")

    def test_plugin_socket_through_the_host(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        try:
            s.sendto(b"ping", ("127.0.0.1", self.udp_port))
            data, _ = s.recvfrom(100)
        finally:
            s.close()
        self.assertEqual(data, b"ping")


class UrictlNormalizesLikeTheDaemonTest(harness.ResolverdTestCase):
    """urictl signs records itself (--key): it must name them as the daemon's plugins do, or the daemon refuses."""

    def test_signed_publish_of_a_sip_uri(self):
        node = self.node("u").start()
        key = os.path.join(self.workdir, "phone.key")
        p = subprocess.run([harness.URICTL, "keygen", key], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr)
        spelling = "SIP:Bob@Example.COM;transport=tcp"
        daemon_name = node.publish(spelling, "sip:bob@192.0.2.1", instance="probe").json["uri"]
        p = subprocess.run([harness.URICTL, "--url", node.url, "--token", node.token(), "--json", "publish", spelling,
                            "sip:bob@192.0.2.2",
                            "--key", key, "--instance", "signed"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        self.assertEqual(p.stderr, b"", "every default plugin loads in the build tree")
        resp = node.resolve(daemon_name)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(sorted(b["contact"] for b in resp.json["bindings"]),
                         ["sip:bob@192.0.2.1", "sip:bob@192.0.2.2"])


class PluginConfigTest(unittest.TestCase):
    def test_check_config_runs_the_plugins_checks(self):
        rc, out = check_config(*mock_settings())
        self.assertEqual(rc, 0, out)
        self.assertIn(": OK", out)
        rc, out = check_config(*mock_settings("plugins.mock.limit=11"))
        self.assertEqual(rc, 1, out)
        self.assertIn("--set plugins.mock.limit: 11 is out of range 1..10", out)
        self.assertNotIn(": OK", out)
        rc, out = check_config(*mock_settings("plugins.mock.bogus=1"))
        self.assertEqual(rc, 1, out)
        self.assertIn("--set plugins.mock.bogus: unknown option", out)
        rc, out = check_config(*mock_settings("plugins.mock.users.bob.password=abc"))
        self.assertEqual(rc, 1, out)
        self.assertIn("--set plugins.mock.users.bob.password: at least 4 characters", out)
        rc, out = check_config(*mock_settings("plugins.mock.enabled=false", "plugins.mock.bogus=1"))
        self.assertEqual(rc, 0, "a disabled plugin is not loaded, so not checked: " + out)
        # --check-config binds nothing: a port in use does not fail it.
        busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        busy.bind(("127.0.0.1", 0))
        try:
            rc, out = check_config(*mock_settings("plugins.mock.listen=127.0.0.1:%d" % busy.getsockname()[1]))
        finally:
            busy.close()
        self.assertEqual(rc, 0, out)
        rc, out = check_config(*mock_settings("plugins.mock.listen=localhost:1"))
        self.assertEqual(rc, 1, "the endpoint's syntax is still checked: " + out)

    def test_file_errors_point_at_line_and_column(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("http:\n  listen: [\"127.0.0.1:7380\"]\nplugins:\n  mock:\n    path: %s\n"
                    "    limit: 0\n    users:\n      alice: {password: \"ab\"}\n" % MOCK)
            path = f.name
        try:
            rc, out = check_config(path=path)
            self.assertEqual(rc, 1, out)
            self.assertIn("%s:6:12: plugins.mock.limit: 0 is out of range 1..10" % path, out)
            rc, out = check_config("plugins.mock.limit=2", path=path)
            self.assertEqual(rc, 1, out)
            self.assertIn("%s:8:25: plugins.mock.users.alice.password: at least 4 characters" % path, out)
        finally:
            os.unlink(path)

    def test_abi_refusals_name_both_versions(self):
        rc, out = check_config("plugins.mock.path=" + os.path.join(MOCK_DIR, "rd_mock_major2.so"))
        self.assertEqual(rc, 1, out)
        self.assertIn("plugin mock: built for plugin ABI 2.0, this daemon speaks 1.0", out)
        rc, out = check_config("plugins.mock.path=" + os.path.join(MOCK_DIR, "rd_mock_nomust.so"))
        self.assertEqual(rc, 1, out)
        self.assertIn("MUST member NULL (normalize)", out)
        rc, out = check_config("plugins.mock.path=/nonexistent/rd_mock.so")
        self.assertEqual(rc, 1, "an explicit path must exist: " + out)

    def test_daemon_refuses_to_start_on_a_plugin_error(self):
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o700)
            p = subprocess.run([harness.RESOLVERD, "-c", os.path.join(harness.SOURCE_ROOT, "etc", "resolverd.yaml"),
                                "--set", "state_dir=" + d,
                                "--set", "http.listen=127.0.0.1:%d" % harness.free_port(),
                                "--set", "dns.listen=127.0.0.1:%d" % harness.free_port(),
                                "--set", "dht.listen=127.0.0.1:%d" % harness.free_port(socket.SOCK_DGRAM)]
                               + sum((["--set", s] for s in mock_settings("plugins.mock.limit=99")), []),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        out = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 3, out)
        self.assertIn("--set plugins.mock.limit: 99 is out of range 1..10", out)


if __name__ == "__main__":
    harness.main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The command-line side: urictl, the Python example client, resolverd --check-config, the README walkthrough."""

import hashlib
import json
import os
import re
import subprocess
import tempfile

import jsonschema
import yaml

import harness

EXAMPLE = os.path.join(harness.SOURCE_ROOT, "clients", "examples", "resolve.py")
README = os.path.join(harness.SOURCE_ROOT, "README.md")
ETC = os.path.join(harness.SOURCE_ROOT, "etc", "resolverd.yaml")
HEX64 = "[0-9a-f]{64}"

with open(os.path.join(harness.SOURCE_ROOT, "schemas", "openapi.yaml"), encoding="utf-8") as _f:
    OPENAPI = yaml.safe_load(_f)


def schema_errors(name, instance):
    validator = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/" + name},
                                                resolver=jsonschema.RefResolver.from_schema(OPENAPI))
    return [e.message for e in validator.iter_errors(instance)]


class Cli(harness.ResolverdTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.n = cls.node("cli", extra=["http.tokens.ops.token=ops-secret-0123456789abcdef",
                                       "http.tokens.ops.scopes=sip:*@ops.example"]).start()
        cls.token_file = os.path.join(cls.n.state_dir, "admin.token")
        cls.pub = cls.n.status()["public_key"]

    def env(self, **extra):
        """A clean environment: the daemon's URL, the token only through its file."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESOLVERD_")}
        env.update(RESOLVERD_URL=self.n.url, RESOLVERD_TOKEN_FILE=self.token_file)
        env.update(extra)
        return env

    def urictl(self, *args, env=None):
        return subprocess.run([harness.URICTL] + list(args), capture_output=True, text=True, timeout=30,
                              env=env if env is not None else self.env())

    def example(self, *args, env=None):
        return subprocess.run(["/usr/bin/python3", EXAMPLE] + list(args), capture_output=True, text=True,
                              timeout=30, env=env if env is not None else self.env())

    def assert_exit(self, r, code):
        self.assertEqual(r.returncode, code, "stdout=%r stderr=%r" % (r.stdout, r.stderr))

    # ---- urictl ----

    def test_1_urictl_publish_resolve_list_unpublish(self):
        uri = "sip:kim@cli.example"
        r = self.urictl("publish", "SIP:kim@CLI.example;transport=tcp", "sip:kim@192.0.2.1:5062", "--instance", "k1",
                        "--q", "0.5", "--expires", "300")
        self.assert_exit(r, 0)
        self.assertRegex(r.stdout, r"^sip:kim@cli\.example sip:kim@192\.0\.2\.1:5062 q=0\.5 expires=(300|299) "
                                   r"instance=k1 publisher=%s seq=\d+\n$" % self.pub)
        self.assertEqual(r.stderr, "")
        # Options may come before the command; the token came from $RESOLVERD_TOKEN_FILE only.
        r = self.urictl("--q", "0.25", "publish", uri, "sip:kim@192.0.2.2", "--instance", "k2")
        self.assert_exit(r, 0)
        r = self.urictl("resolve", "sip:kim@cli.EXAMPLE")
        self.assert_exit(r, 0)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2, r.stdout)
        self.assertRegex(lines[0], r"^sip:kim@192\.0\.2\.1:5062 q=0\.5 expires=(300|299|298) instance=k1 "
                                   r"publisher=%s$" % self.pub)
        self.assertRegex(lines[1], r"^sip:kim@192\.0\.2\.2 q=0\.25 expires=(3600|3599|3598) instance=k2 "
                                   r"publisher=%s$" % self.pub)
        r = self.urictl("--json", "resolve", uri)
        self.assert_exit(r, 0)
        doc = json.loads(r.stdout)
        self.assertEqual(schema_errors("Resolution", doc), [])
        self.assertEqual(doc["uri"], uri)
        self.assertEqual([b["instance"] for b in doc["bindings"]], ["k1", "k2"])
        r = self.urictl("list")
        self.assert_exit(r, 0)
        mine = [ln for ln in r.stdout.splitlines() if ln.startswith(uri + " ")]
        self.assertEqual(len(mine), 2, r.stdout)
        r = self.urictl("list", "--json")
        self.assert_exit(r, 0)
        doc = json.loads(r.stdout)
        self.assertEqual(schema_errors("PublicationList", doc), [])
        self.assertEqual(sorted(p["instance"] for p in doc["bindings"] if p["uri"] == uri), ["k1", "k2"])
        r = self.urictl("unpublish", uri, "k1")
        self.assert_exit(r, 0)
        self.assertEqual(r.stdout, "unpublished %s instance=k1\n" % uri)
        r = self.urictl("resolve", uri)
        self.assert_exit(r, 0)
        self.assertEqual([ln.split()[0] for ln in r.stdout.splitlines()], ["sip:kim@192.0.2.2"])
        self.assert_exit(self.urictl("unpublish", uri, "k2"), 0)
        # Not found: exit 1, the problem on stderr.
        r = self.urictl("resolve", uri)
        self.assert_exit(r, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, "urictl: 404 Not Found: no live binding for this URI\n")
        r = self.urictl("--json", "resolve", uri)
        self.assert_exit(r, 1)
        doc = json.loads(r.stdout)
        self.assertEqual(schema_errors("Problem", doc), [])
        self.assertEqual((doc["status"], doc["type"]), (404, "urn:resolverd:problem:no-binding"))
        r = self.urictl("unpublish", uri, "k2")
        self.assert_exit(r, 1)
        self.assertIn("404 Not Found", r.stderr)

    def test_1b_urictl_services_and_hosts(self):
        name, target = "_xmpp-server._tcp.cli.p2p", "xmpp.cli.p2p"
        pub = self.pub
        # Any spelling of the names; the daemon stores them in lower case without the trailing dot.
        r = self.urictl("service", "_XMPP-Server._tcp.CLI.p2p.", "XMPP.cli.p2p", "5269", "--priority", "5",
                        "--weight", "10", "--expires", "600", "--instance", "s1")
        self.assert_exit(r, 0)
        self.assertRegex(r.stdout, r"^_xmpp-server\._tcp\.cli\.p2p xmpp\.cli\.p2p port=5269 priority=5 weight=10 "
                                   r"expires=(600|599) instance=s1 publisher=%s seq=\d+\n$" % pub)
        self.assertEqual(r.stderr, "")
        # Options may come first; priority and weight default to 0; the daemon derives the instance.
        derived = "s-" + hashlib.sha256(b"0 0 5222 xmpp.cli.p2p").hexdigest()[:16]
        r = self.urictl("--expires", "300", "service", name, target, "5222")
        self.assert_exit(r, 0)
        self.assertRegex(r.stdout, r"^_xmpp-server\._tcp\.cli\.p2p xmpp\.cli\.p2p port=5222 priority=0 weight=0 "
                                   r"expires=(300|299) instance=%s publisher=%s seq=\d+\n$" % (derived, pub))
        r = self.urictl("lookup-service", name.upper())
        self.assert_exit(r, 0)
        self.assertEqual(r.stderr, "")
        lines = sorted(r.stdout.splitlines())
        self.assertEqual(len(lines), 2, r.stdout)
        self.assertRegex(lines[0], r"^xmpp\.cli\.p2p port=5222 priority=0 weight=0 expires=(300|299|298) "
                                   r"instance=%s publisher=%s$" % (derived, pub))
        self.assertRegex(lines[1], r"^xmpp\.cli\.p2p port=5269 priority=5 weight=10 expires=(600|599|598) "
                                   r"instance=s1 publisher=%s$" % pub)
        # The same instance again replaces the record.
        r = self.urictl("--json", "service", name, ".", "0", "--instance", "s1")
        self.assert_exit(r, 0)
        doc = json.loads(r.stdout)
        self.assertEqual(schema_errors("ServicePublication", doc), [])
        self.assertEqual((doc["name"], doc["target"], doc["port"], doc["instance"], doc["publisher"]),
                         (name, ".", 0, "s1", pub))
        r = self.urictl("--json", "lookup-service", name)
        self.assert_exit(r, 0)
        doc = json.loads(r.stdout)
        self.assertEqual(schema_errors("ServiceLookup", doc), [])
        self.assertEqual(sorted((x["instance"], x["target"], x["port"]) for x in doc["records"]),
                         sorted([("s1", ".", 0), (derived, target, 5222)]))
        # Withdraw them one by one.
        r = self.urictl("unservice", name, "s1")
        self.assert_exit(r, 0)
        self.assertEqual((r.stdout, r.stderr), ("unpublished %s instance=s1\n" % name, ""))
        r = self.urictl("lookup-service", name)
        self.assert_exit(r, 0)
        self.assertEqual([ln.split()[:2] for ln in r.stdout.splitlines()], [[target, "port=5222"]])
        r = self.urictl("unservice", name, "s1")
        self.assert_exit(r, 1)
        self.assertEqual((r.stdout, r.stderr),
                         ("", "urictl: 404 Not Found: this node publishes no record for that name and instance\n"))
        self.assert_exit(self.urictl("unservice", name, derived), 0)
        r = self.urictl("lookup-service", name)
        self.assert_exit(r, 1)
        self.assertEqual((r.stdout, r.stderr), ("", "urictl: 404 Not Found: no live record for this name\n"))
        r = self.urictl("--json", "lookup-service", name)
        self.assert_exit(r, 1)
        doc = json.loads(r.stdout)
        self.assertEqual(schema_errors("Problem", doc), [])
        self.assertEqual((doc["status"], doc["type"]), (404, "urn:resolverd:problem:no-record"))

        # Host records: one address each, IPv6 in canonical form.
        r = self.urictl("host", "XMPP.cli.p2p", "2001:DB8:0::0:1", "--instance", "v6", "--expires", "120")
        self.assert_exit(r, 0)
        self.assertRegex(r.stdout, r"^xmpp\.cli\.p2p 2001:db8::1 expires=(120|119) instance=v6 publisher=%s "
                                   r"seq=\d+\n$" % pub)
        derived = "a-" + hashlib.sha256(b"192.0.2.7").hexdigest()[:16]
        r = self.urictl("host", target, "192.0.2.7")
        self.assert_exit(r, 0)
        self.assertRegex(r.stdout, r"^xmpp\.cli\.p2p 192\.0\.2\.7 expires=(3600|3599) instance=%s publisher=%s "
                                   r"seq=\d+\n$" % (derived, pub))
        r = self.urictl("--json", "host", target, "192.0.2.8", "--instance", "v4")
        self.assert_exit(r, 0)
        doc = json.loads(r.stdout)
        self.assertEqual(schema_errors("HostPublication", doc), [])
        self.assertEqual((doc["name"], doc["address"], doc["instance"]), (target, "192.0.2.8", "v4"))
        r = self.urictl("lookup-host", target + ".")
        self.assert_exit(r, 0)
        lines = sorted(r.stdout.splitlines())
        self.assertEqual(len(lines), 3, r.stdout)
        self.assertRegex(lines[0], r"^192\.0\.2\.7 expires=(3600|3599|3598) instance=%s publisher=%s$" % (derived, pub))
        self.assertRegex(lines[1], r"^192\.0\.2\.8 expires=(3600|3599|3598) instance=v4 publisher=%s$" % pub)
        self.assertRegex(lines[2], r"^2001:db8::1 expires=(120|119|118) instance=v6 publisher=%s$" % pub)
        r = self.urictl("--json", "lookup-host", target)
        self.assert_exit(r, 0)
        doc = json.loads(r.stdout)
        self.assertEqual(schema_errors("HostLookup", doc), [])
        self.assertEqual(sorted(x["instance"] for x in doc["records"]), sorted(["v4", "v6", derived]))
        for inst in ("v4", "v6", derived):
            r = self.urictl("unhost", target, inst)
            self.assert_exit(r, 0)
            self.assertEqual(r.stdout, "unpublished %s instance=%s\n" % (target, inst))
        r = self.urictl("unhost", target, "v4")
        self.assert_exit(r, 1)
        self.assertEqual(r.stderr, "urictl: 404 Not Found: this node publishes no record for that name and instance\n")
        r = self.urictl("lookup-host", target)
        self.assert_exit(r, 1)
        self.assertEqual((r.stdout, r.stderr), ("", "urictl: 404 Not Found: no live record for this name\n"))
        # --json withdraws silently.
        self.assert_exit(self.urictl("host", target, "192.0.2.9", "--instance", "j"), 0)
        r = self.urictl("--json", "unhost", target, "j")
        self.assert_exit(r, 0)
        self.assertEqual((r.stdout, r.stderr), ("", ""))

    def test_1c_urictl_services_and_hosts_errors_exit_3(self):
        cases = [
            (["host", "x.cli.p2p", "192.0.2"],
             'urictl: 400 Bad Request: address: an IPv4 or IPv6 address (required) (field "address")\n'),
            (["service", "_sip._udp.cli.p2p", "bad_host", "5060"],
             'urictl: 400 Bad Request: target: a host name such as sip.example.com (or "." for no service) '
             '(field "target")\n'),
            (["service", "sip.cli.p2p", "x.cli.p2p", "5060"],
             'urictl: 400 Bad Request: name: a service name such as _sip._udp.example.com (field "name")\n'),
            (["host", "bad_name.p2p", "192.0.2.1"],
             'urictl: 400 Bad Request: name: a host name such as host.example.com (field "name")\n'),
            (["lookup-host", "_sip._udp.cli.p2p"],
             'urictl: 400 Bad Request: name: a host name such as host.example.com (field "name")\n'),
            (["lookup-service", "x.cli.p2p"],
             'urictl: 400 Bad Request: name: a service name such as _sip._udp.example.com (field "name")\n'),
            (["unhost", "x.cli.p2p", "a b"],
             'urictl: 400 Bad Request: instance: 1 to 128 printable characters (field "instance")\n'),
            (["--token", "ops-secret-0123456789abcdef", "host", "x.cli.p2p", "192.0.2.1"],
             'urictl: 403 Forbidden: the token\'s scopes do not cover this name (field "name")\n'),
            (["--token", "ops-secret-0123456789abcdef", "unservice", "_sip._udp.cli.p2p", "x"],
             'urictl: 403 Forbidden: the token\'s scopes do not cover this name (field "name")\n'),
            (["--token", "wrong-token-0123456789", "service", "_sip._udp.cli.p2p", "x.cli.p2p", "5060"],
             "urictl: 401 Unauthorized: the bearer token is not valid\n"),
            (["--token", "wrong-token-0123456789", "unhost", "x.cli.p2p", "x"],
             "urictl: 401 Unauthorized: the bearer token is not valid\n"),
        ]
        for args, stderr in cases:
            with self.subTest(args=args):
                r = self.urictl(*args)
                self.assert_exit(r, 3)
                self.assertEqual((r.stdout, r.stderr), ("", stderr))
        r = self.urictl("host", "x.cli.p2p", "192.0.2.1", env=self.env(RESOLVERD_TOKEN_FILE="/nonexistent/t"))
        self.assert_exit(r, 3)
        self.assertIn("cannot read token file /nonexistent/t", r.stderr)
        port = harness.free_port()
        r = self.urictl("--url", "http://127.0.0.1:%d" % port, "lookup-host", "x.cli.p2p")
        self.assert_exit(r, 3)
        self.assertIn("http://127.0.0.1:%d" % port, r.stderr)
        # Nothing of that was published.
        self.assert_exit(self.urictl("lookup-host", "x.cli.p2p"), 1)
        self.assert_exit(self.urictl("lookup-service", "_sip._udp.cli.p2p"), 1)

    def test_2_urictl_status_and_json(self):
        r = self.urictl("status")
        self.assert_exit(r, 0)
        self.assertIn("public_key: %s\n" % self.pub, r.stdout)
        self.assertIn("network: %d\n" % harness.NETWORK, r.stdout)
        self.assertRegex(r.stdout, r"(?m)^overlay:\n  good_nodes: \d+$")
        self.assertRegex(r.stdout, r"(?m)^  hits: \d+$")
        r = self.urictl("--json", "status")
        self.assert_exit(r, 0)
        doc = json.loads(r.stdout)
        self.assertEqual(schema_errors("Status", doc), [])
        self.assertEqual((doc["public_key"], doc["network"]), (self.pub, harness.NETWORK))
        r = self.urictl("--json", "publish", "sip:json@cli.example", "sip:json@192.0.2.3", "--instance", "j")
        self.assert_exit(r, 0)
        doc = json.loads(r.stdout)
        self.assertEqual(schema_errors("Publication", doc), [])
        self.assertEqual((doc["uri"], doc["contact"], doc["instance"], doc["publisher"]),
                         ("sip:json@cli.example", "sip:json@192.0.2.3", "j", self.pub))

    def test_3_urictl_usage_errors_exit_2(self):
        cases = [
            [],
            ["frobnicate"],
            ["resolve"],
            ["resolve", "sip:a@b", "sip:c@d"],
            ["publish", "sip:a@cli.example"],
            ["publish", "sip:a@cli.example", "sip:a@192.0.2.1", "--q", "1.5"],
            ["publish", "sip:a@cli.example", "sip:a@192.0.2.1", "--q", "abc"],
            ["publish", "sip:a@cli.example", "sip:a@192.0.2.1", "--expires", "0"],
            ["publish", "sip:a@cli.example", "sip:a@192.0.2.1", "--cert", "x.cert"],
            ["resolve", "sip:a@cli.example", "--instance", "x"],
            ["unpublish", "sip:a@cli.example", "x", "--expires", "5"],
            ["--token", "t" * 20, "--token-file", "/dev/null", "status"],
            ["--no-such-option", "status"],
            ["delegate", "--key", "k"],
            ["service", "_sip._udp.cli.p2p", "x.cli.p2p"],
            ["service", "_sip._udp.cli.p2p", "x.cli.p2p", "5060", "extra"],
            ["service", "_sip._udp.cli.p2p", "x.cli.p2p", "65536"],
            ["service", "_sip._udp.cli.p2p", "x.cli.p2p", "-1"],
            ["service", "_sip._udp.cli.p2p", "x.cli.p2p", "http"],
            ["service", "_sip._udp.cli.p2p", "x.cli.p2p", "5060", "--priority", "65536"],
            ["service", "_sip._udp.cli.p2p", "x.cli.p2p", "5060", "--weight", "w"],
            ["service", "_sip._udp.cli.p2p", "x.cli.p2p", "5060", "--expires", "0"],
            ["service", "_sip._udp.cli.p2p", "x.cli.p2p", "5060", "--q", "0.5"],
            ["service", "_sip._udp.cli.p2p", "x.cli.p2p", "5060", "--key", "k.key"],
            ["host", "x.cli.p2p"],
            ["host", "x.cli.p2p", "192.0.2.1", "--priority", "1"],
            ["host", "x.cli.p2p", "192.0.2.1", "--weight", "1"],
            ["host", "x.cli.p2p", "192.0.2.1", "--expires", "soon"],
            ["unservice", "_sip._udp.cli.p2p"],
            ["unservice", "_sip._udp.cli.p2p", "i", "--expires", "5"],
            ["unhost", "x.cli.p2p", "i", "--instance", "j"],
            ["unhost", "x.cli.p2p", "i", "j"],
            ["lookup-service"],
            ["lookup-host", "x.cli.p2p", "y.cli.p2p"],
            ["lookup-host", "x.cli.p2p", "--instance", "i"],
            ["lookup-service", "_sip._udp.cli.p2p", "--priority", "1"],
        ]
        for args in cases:
            with self.subTest(args=args):
                r = self.urictl(*args)
                self.assert_exit(r, 2)
                self.assertEqual(r.stdout, "")
                self.assertIn("urictl --help", r.stderr)
        self.assertEqual(self.urictl("resolve", "sip:a@cli.example").returncode, 1, "no usage error published")
        self.assertEqual(self.urictl("lookup-service", "_sip._udp.cli.p2p").returncode, 1, "no usage error published")
        self.assertEqual(self.urictl("lookup-host", "x.cli.p2p").returncode, 1, "no usage error published")
        # --help names every command.
        r = self.urictl("--help")
        self.assert_exit(r, 0)
        for line in ("  service NAME TARGET PORT [--priority P] [--weight W] [--expires S] [--instance I]\n",
                     "  host NAME ADDRESS [--expires S] [--instance I]\n", "  unservice NAME INSTANCE\n",
                     "  unhost NAME INSTANCE\n", "  lookup-service NAME\n", "  lookup-host NAME\n"):
            self.assertIn(line, r.stdout)

    def test_4_urictl_errors_exit_3(self):
        uri = "sip:err@cli.example"
        # A bad token given three ways; each takes precedence over the token file.
        for args, env in ((["--token", "wrong-token-0123456789"], None),
                          ([], self.env(RESOLVERD_TOKEN="wrong-token-0123456789"))):
            with self.subTest(args=args):
                r = self.urictl(*args, "publish", uri, "sip:err@192.0.2.4", env=env)
                self.assert_exit(r, 3)
                self.assertEqual(r.stderr, "urictl: 401 Unauthorized: the bearer token is not valid\n")
        bad = os.path.join(self.workdir, "bad.token")
        with open(bad, "w") as f:
            f.write("wrong-token-0123456789\n")
        r = self.urictl("--token-file", bad, "publish", uri, "sip:err@192.0.2.4")
        self.assert_exit(r, 3)
        self.assertIn("401 Unauthorized", r.stderr)
        # A missing token file.
        r = self.urictl("publish", uri, "sip:err@192.0.2.4", env=self.env(RESOLVERD_TOKEN_FILE="/nonexistent/t"))
        self.assert_exit(r, 3)
        self.assertIn("cannot read token file /nonexistent/t", r.stderr)
        # The daemon refuses: out of scope (403), invalid URI (400, with the field).
        r = self.urictl("--token", "ops-secret-0123456789abcdef", "publish", uri, "sip:err@192.0.2.4")
        self.assert_exit(r, 3)
        self.assertEqual(r.stderr, "urictl: 403 Forbidden: the token's scopes do not cover this URI (field \"uri\")\n")
        r = self.urictl("publish", "no-scheme", "sip:err@192.0.2.4")
        self.assert_exit(r, 3)
        self.assertEqual(r.stderr, "urictl: 400 Bad Request: uri: missing scheme (field \"uri\")\n")
        # Nothing listens there.
        port = harness.free_port()
        r = self.urictl("--url", "http://127.0.0.1:%d" % port, "status")
        self.assert_exit(r, 3)
        self.assertIn("http://127.0.0.1:%d" % port, r.stderr)
        r = self.urictl("resolve", uri)
        self.assert_exit(r, 1)
        # The scoped token works inside its scope.
        r = self.urictl("--token", "ops-secret-0123456789abcdef", "publish", "sip:in@ops.example", "sip:in@192.0.2.5")
        self.assert_exit(r, 0)

    def test_5_urictl_keygen_pubkey(self):
        key = os.path.join(self.workdir, "k.key")
        r = self.urictl("keygen", key)
        self.assert_exit(r, 0)
        self.assertRegex(r.stdout, "^%s\n$" % HEX64)
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        self.assertEqual(self.urictl("pubkey", key).stdout, r.stdout)
        self.assert_exit(self.urictl("keygen", key), 3)  # exists
        r2 = self.urictl("keygen", key, "--force")
        self.assert_exit(r2, 0)
        self.assertNotEqual(r2.stdout, r.stdout)
        os.chmod(key, 0o644)
        r = self.urictl("pubkey", key)
        self.assert_exit(r, 3)
        self.assertIn("chmod 600", r.stderr)

    # ---- the example client ----

    def test_6_example_client(self):
        uri = "sip:lou@cli.example"
        r = self.example("publish", "sip:lou@CLI.EXAMPLE;transport=udp", "sip:lou@192.0.2.6", "--expires", "300", "--q", "0.7")
        self.assert_exit(r, 0)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 3, r.stdout)
        self.assertRegex(lines[0], r"^published sip:lou@cli\.example -> sip:lou@192\.0\.2\.6 "
                                   r"instance=c-[0-9a-f]{16} seq=\d+ expires=(300|299)$")
        self.assertEqual(lines[1], "resolving sip:lou@cli.example:")
        self.assertRegex(lines[2], r"^sip:lou@192\.0\.2\.6 q=0\.7 expires=(300|299|298) instance=c-[0-9a-f]{16} "
                                   r"publisher=%s$" % self.pub)
        r = self.example("--url", self.n.url, "resolve", uri, env=self.env(RESOLVERD_URL="http://127.0.0.1:1"))
        self.assert_exit(r, 0)
        # The same binding; its remaining lifetime may have crossed a second boundary since.
        again = r.stdout.splitlines()
        self.assertEqual(len(again), 1, r.stdout)
        strip = re.compile(r" expires=(\d+) ")
        self.assertEqual(strip.sub(" expires=N ", again[0]), strip.sub(" expires=N ", lines[2]))
        self.assertLessEqual(int(strip.search(lines[2]).group(1)) - int(strip.search(again[0]).group(1)), 1)
        r = self.example("resolve", "sip:nobody@cli.example")
        self.assert_exit(r, 1)
        self.assertEqual(r.stderr, "resolve.py: 404 Not Found: no live binding for this URI\n")
        bad = os.path.join(self.workdir, "bad2.token")
        with open(bad, "w") as f:
            f.write("wrong-token-0123456789\n")
        r = self.example("publish", uri, "sip:lou@192.0.2.7", "--token-file", bad)
        self.assert_exit(r, 3)
        self.assertEqual(r.stderr, "resolve.py: 401 Unauthorized: the bearer token is not valid\n")
        self.assert_exit(self.example("publish", uri), 2)
        self.assert_exit(self.example(), 2)

    # ---- resolverd --check-config ----

    def check_config(self, *args):
        return subprocess.run([harness.RESOLVERD, "--check-config"] + list(args), capture_output=True, text=True,
                              timeout=30)

    def write(self, name, text):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_7_check_config_good(self):
        r = self.check_config(ETC)
        self.assert_exit(r, 0)
        self.assertEqual(r.stdout, "%s: OK\n" % ETC)
        self.assertEqual(r.stderr, "")
        r = self.check_config(ETC, "--set", "dht.bootstrap=a:1,b:2", "--set", "http.threads=64",
                              "--set", "http.tokens.x.token=0123456789abcdef", "--set", "http.tokens.x.scopes=sip:*")
        self.assert_exit(r, 0)
        self.assertEqual(r.stdout, "%s: OK\n" % ETC)
        path = self.write("good.yaml", "dht:\n  bootstrap: [\"node.example:4222\", \"[2001:db8::1]:4222\"]\n"
                                       "http:\n  listen: [\"127.0.0.1:7380\", \"[::1]:7380\"]\n")
        r = self.check_config(path)
        self.assert_exit(r, 0)
        self.assertEqual(r.stdout, "%s: OK\n" % path)

    def test_8_check_config_bad_files(self):
        cases = [
            ("threads.yaml", "http:\n  threads: 0\n", "2:12: http.threads: 0 is out of range 1..64"),
            ("typo.yaml", "# typo\nhttp:\n  thredas: 2\n", "3:3: unknown key 'http.thredas'"),
            ("level.yaml", "log:\n  level: loud\n", "2:10: log.level: 'loud' is not one of error|warn|info|debug"),
            ("dup.yaml", "dht:\n  network: 1\n  network: 2\n", "3:3: duplicate key 'dht.network'"),
            ("type.yaml", "dht:\n  listen: [1,\n    2]\n", "2:11: dht.listen: expected a string"),
            ("port.yaml", "http:\n  listen: [\"127.0.0.1:99999\"]\n",
             "2:12: http.listen: '127.0.0.1:99999': the port is out of range 1..65535"),
            ("key.yaml", "policy:\n  domains:\n    example.com:\n      keys: [\"zz\"]\n",
             "4:14: policy.domains.example.com.keys: 'zz' is not a 64-digit hex key"),
            ("body.yaml", "http:\n  max_body: 100\n", "2:13: http.max_body: 100 is out of range 256..1048576"),
            ("alias.yaml", "dht:\n  listen: &a \"127.0.0.1:1\"\n  bootstrap: [*a]\n",
             "3:15: YAML aliases are not supported"),
            ("tag.yaml", "dht:\n  network: !!int 5\n", "2:12: YAML tags are not supported"),
            ("acl.yaml", "http:\n  read_acl: [\"10.0.0.0/33\"]\n",
             "2:14: http.read_acl: '10.0.0.0/33' is not a CIDR (ADDR/PREFIX or ADDR)"),
            ("empty.yaml", "state_dir: \"\"\n", "1:12: state_dir: must not be empty"),
            ("token.yaml", "http:\n  tokens:\n    ops:\n      token: \"short\"\n",
             "4:14: http.tokens.ops.token: the token must be at least 16 characters long"),
        ]
        for name, text, want in cases:
            with self.subTest(name=name):
                path = self.write(name, text)
                r = self.check_config(path)
                self.assert_exit(r, 1)
                self.assertEqual(r.stdout, "")
                self.assertEqual(r.stderr, "%s:%s\n" % (path, want))
        # YAML syntax errors: libyaml's words, at the right place.
        for name, text, where in (("quote.yaml", "dht:\n  listen: \"127.0.0.1:1\n", "3:1"),
                                  ("indent.yaml", "dht:\n  network: 5\n bad: 1\n", "3:2")):
            with self.subTest(name=name):
                path = self.write(name, text)
                r = self.check_config(path)
                self.assert_exit(r, 1)
                self.assertRegex(r.stderr, r"^%s:%s: \S.*\n$" % (re.escape(path), where))
        r = self.check_config(os.path.join(self.workdir, "missing.yaml"))
        self.assert_exit(r, 1)
        self.assertEqual(r.stderr, "%s: No such file or directory\n" % os.path.join(self.workdir, "missing.yaml"))

    def test_8b_check_config_cross_field_errors_have_a_location(self):
        # etc/resolverd.yaml: "out-of-range values are errors reported as FILE:LINE:COLUMN: reason";
        # default_expires is documented as "at most max_expires".
        path = self.write("expires.yaml", "publish:\n  default_expires: 100\n  max_expires: 10\n")
        r = self.check_config(path)
        self.assert_exit(r, 1)
        self.assertRegex(r.stderr, r"^%s:[23]:\d+: publish\.default_expires: 100 is greater than "
                                   r"publish\.max_expires \(10\)\n$" % re.escape(path))

    def test_8c_check_config_refuses_anchors(self):
        # etc/resolverd.yaml: "YAML anchors and aliases (&x, *x) and tags (!!str) are not accepted."
        path = self.write("anchor.yaml", "dht:\n  listen: &a \"127.0.0.1:1\"\n")
        r = self.check_config(path)
        self.assert_exit(r, 1)
        self.assertRegex(r.stderr, r"^%s:2:11: .*anchor.*\n$" % re.escape(path))

    def test_9_check_config_set_overrides(self):
        cases = [
            ("http.threads=0", "--set http.threads: 0 is out of range 1..64"),
            ("http.threads=65", "--set http.threads: 65 is out of range 1..64"),
            ("http.threads=abc", "--set http.threads: expected an integer"),
            ("http.nope=1", "--set http.nope: unknown key"),
            ("http.threads", "--set http.threads: expected KEY=VALUE"),
            ("dht.bootstrap=a:0", "--set dht.bootstrap: 'a:0': the port is out of range 1..65535"),
            ("log.level=loud", "--set log.level: 'loud' is not one of error|warn|info|debug"),
            ("policy.domains.example.com.keys=abc",
             "--set policy.domains.example.com.keys: 'abc' is not a 64-digit hex key"),
        ]
        for setting, want in cases:
            with self.subTest(setting=setting):
                r = self.check_config(ETC, "--set", setting)
                self.assert_exit(r, 1)
                self.assertEqual(r.stdout, "")
                self.assertEqual(r.stderr, want + "\n")
        # The same checks whether or not a file is checked: the daemon itself refuses too.
        r = subprocess.run([harness.RESOLVERD, "--set", "http.threads=0"], capture_output=True, text=True, timeout=30)
        self.assert_exit(r, 1)
        self.assertEqual(r.stderr, "--set http.threads: 0 is out of range 1..64\n")

    def test_9b_check_config_set_that_empties_a_list(self):
        # An override that empties a required list is named like every other bad override.
        r = self.check_config(ETC, "--set", "http.listen=")
        self.assert_exit(r, 1)
        self.assertEqual(r.stderr, "--set http.listen: at least one address is required\n")

    # ---- the README walkthrough ----

    def test_99_readme_walkthrough(self):
        with open(README, encoding="utf-8") as f:
            text = f.read()
        m = re.search(r"^<!-- walkthrough:begin -->\n(.*?)^<!-- walkthrough:end -->$", text, re.S | re.M)
        self.assertIsNotNone(m, "README.md has no walkthrough block")
        blocks = re.findall(r"^```sh\n(.*?)^```$", m.group(1), re.S | re.M)
        self.assertEqual(len(blocks), 1, "expected one ```sh block between the walkthrough markers")
        script = blocks[0]
        contacts = re.findall(r'\\?"contact\\?"\s*:\s*\\?"([^"\\]+)', script)
        self.assertTrue(contacts, "the walkthrough publishes no contact")
        # It uses only $RESOLVERD_URL and $TOKEN from its environment.
        self.assertEqual(set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", script)) - {"RESOLVERD_URL", "TOKEN"}, set())
        node = self.node("walkthrough").start()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "RESOLVERD_URL": node.url, "TOKEN": node.token()}
        with tempfile.NamedTemporaryFile("w", suffix=".sh", dir=self.workdir, delete=False) as f:
            f.write(script)
        r = subprocess.run(["bash", "-euo", "pipefail", f.name], capture_output=True, text=True, timeout=60, env=env)
        self.assert_exit(r, 0)
        self.assertTrue(any(c in r.stdout for c in contacts), r.stdout)


if __name__ == "__main__":
    harness.main()

# SPDX-License-Identifier: GPL-3.0-or-later
"""Integration-test harness: start real resolverd and dhtnode processes on loopback and talk to them."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

SOURCE_ROOT = os.environ.get(
    "RESOLVERD_SOURCE_ROOT",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_ROOT = os.environ.get("RESOLVERD_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))
RESOLVERD = os.environ.get("RESOLVERD", os.path.join(BUILD_ROOT, "resolverd", "resolverd"))
URICTL = os.environ.get("URICTL", os.path.join(BUILD_ROOT, "clients", "urictl"))
DHT_INJECT = os.environ.get("DHT_INJECT", os.path.join(BUILD_ROOT, "tests", "tools", "dht_inject"))
# Every test run gets its own overlay id, so concurrent runs never meet.
NETWORK = 40000 + os.getpid() % 20000


def free_port(kind=socket.SOCK_STREAM):
    """A port that is free for both TCP and UDP on 127.0.0.1 right now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        try:
            with socket.socket(socket.AF_INET, other) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


class Response:
    """An HTTP response: status, headers (lower-case keys), raw body and parsed JSON (or None)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


def http(method, url, body=None, headers=None, timeout=10):
    """One request; HTTP errors are returned, not raised."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Response(r.status, dict(r.headers), r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, dict(e.headers), e.read())


class Node:
    """One resolverd process with its own state_dir and loopback ports."""

    def __init__(self, workdir, name, bootstrap=(), extra=(), dns=False):
        self.name = name
        self.state_dir = os.path.join(workdir, name)
        self.http_port = free_port()
        self.dht_port = free_port(socket.SOCK_DGRAM)
        self.dns_port = free_port()
        self.bootstrap = list(bootstrap)
        self.extra = list(extra)
        self.log_path = os.path.join(workdir, name + ".log")
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.http_port

    @property
    def dht_addr(self):
        return "127.0.0.1:%d" % self.dht_port

    def argv(self):
        args = [RESOLVERD, "-c", os.path.join(SOURCE_ROOT, "etc", "resolverd.yaml"),
                "--set", "state_dir=" + self.state_dir,
                "--set", "dht.listen=" + self.dht_addr,
                "--set", "dht.network=%d" % NETWORK,
                "--set", "http.listen=127.0.0.1:%d" % self.http_port,
                "--set", "dns.listen=127.0.0.1:%d" % self.dns_port,
                "--set", "log.level=debug"]
        if self.bootstrap:
            args += ["--set", "dht.bootstrap=" + ",".join(self.bootstrap)]
        for e in self.extra:
            args += ["--set", e]
        return args

    def start(self, wait=True):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %d; log:\n%s" % (self.name, self.proc.returncode, self.log()))
            try:
                if http("GET", self.url + "/healthz", timeout=1).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("%s not ready; log:\n%s" % (self.name, self.log()))

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-6000:]
        except OSError:
            return ""

    def token(self):
        with open(os.path.join(self.state_dir, "admin.token")) as f:
            return f.read().strip()

    def auth(self):
        return {"Authorization": "Bearer " + self.token()}

    def stop(self):
        """SIGTERM and wait; the exit status must be 0 (a clean shutdown)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("%s did not stop on SIGTERM" % self.name)
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    # API shortcuts
    def publish(self, uri, contact, **fields):
        body = dict(uri=uri, contact=contact, **fields)
        return http("POST", self.url + "/v1/bindings", body, self.auth())

    def unpublish(self, uri, instance):
        q = urllib.parse.urlencode({"uri": uri, "instance": instance})
        return http("DELETE", self.url + "/v1/bindings?" + q, None, self.auth())

    def resolve(self, uri):
        return http("GET", self.url + "/v1/resolve?" + urllib.parse.urlencode({"uri": uri}))

    def status(self):
        return http("GET", self.url + "/v1/status").json

    def dig(self, name, rtype, *opts):
        return kdig("127.0.0.1", self.dns_port, name, rtype, *opts)

    def put(self, kind, name, body):
        return http("PUT", "%s/v1/%s/%s" % (self.url, kind, name), body, self.auth())


class DhtNode:
    """OpenDHT's own dhtnode on loopback, with the test network id."""

    def __init__(self, workdir):
        self.port = free_port(socket.SOCK_DGRAM)
        self.log_path = os.path.join(workdir, "dhtnode.log")
        self.proc = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["dhtnode", "-s", "-n", str(NETWORK), "-p", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        time.sleep(0.3)
        if self.proc.poll() is not None:
            raise RuntimeError("dhtnode exited")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_until(predicate, timeout, interval=0.02):
    """Poll predicate until it returns a truthy value or timeout passes; return the last value."""
    deadline = time.time() + timeout
    value = predicate()
    while not value and time.time() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


class ResolverdTestCase(unittest.TestCase):
    """Gives each test class a work directory and stops every process it started."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="resolverd-it-")
        cls.nodes = []
        cls.dhtnodes = []

    @classmethod
    def tearDownClass(cls):
        failed = []
        for n in cls.nodes:
            try:
                if n.proc and n.stop() != 0:
                    failed.append(n.name)
            except RuntimeError:
                failed.append(n.name)
        for d in cls.dhtnodes:
            d.stop()
        if failed:
            logs = "\n".join("--- %s\n%s" % (n.name, n.log()) for n in cls.nodes if n.name in failed)
            raise AssertionError("unclean shutdown of %s\n%s" % (failed, logs))
        if not os.environ.get("RESOLVERD_KEEP"):
            shutil.rmtree(cls.workdir, ignore_errors=True)

    @classmethod
    def node(cls, name, **kw):
        n = Node(cls.workdir, name, **kw)
        cls.nodes.append(n)
        return n

    @classmethod
    def dhtnode(cls):
        d = DhtNode(cls.workdir).start()
        cls.dhtnodes.append(d)
        return d


def main():
    """Run the calling module's tests; print the plain 'N passed, N failed' line CI reads."""
    import sys
    import __main__
    suite = unittest.defaultTestLoader.loadTestsFromModule(__main__)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.skipped)
    print("%d passed, %d failed" % (max(0, result.testsRun - failed), failed))
    sys.exit(0 if result.wasSuccessful() and not result.skipped else 1)


class KnotD:
    """Knot DNS serving one small zone on loopback: the upstream for forwarding tests."""

    def __init__(self, workdir, zone, records):
        self.dir = os.path.join(workdir, "knotd")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.zone = zone
        with open(os.path.join(self.dir, zone + ".zone"), "w") as f:
            f.write("$ORIGIN %s.\n$TTL 300\n" % zone)
            f.write("@ SOA ns.%s. hostmaster.%s. 1 3600 600 604800 60\n@ NS ns.%s.\n" % (zone, zone, zone))
            f.write(records)
        with open(os.path.join(self.dir, "knot.conf"), "w") as f:
            f.write('server:\n    rundir: "%s"\n    listen: 127.0.0.1@%d\n' % (self.dir, self.port))
            f.write('database:\n    storage: "%s"\n' % self.dir)
            f.write('zone:\n  - domain: %s\n    file: "%s/%s.zone"\n    storage: "%s"\n'
                    % (zone, self.dir, zone, self.dir))
            f.write("log:\n  - target: stderr\n    any: warning\n")
        self.proc = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        log = open(os.path.join(self.dir, "knotd.log"), "ab")
        self.proc = subprocess.Popen(["knotd", "-c", os.path.join(self.dir, "knot.conf")],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        ok = wait_until(lambda: kdig("127.0.0.1", self.port, self.zone, "SOA").get("RCODE") == 0, 10, 0.1)
        if not ok:
            raise RuntimeError("knotd did not start")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def kdig(server, port, name, rtype, *opts):
    """One kdig query; returns RFC 8427 JSON as a dict ({} when kdig got no answer)."""
    args = ["kdig", "@%s" % server, "-p", str(port), "+json", "+timeout=2", "+retry=0"]
    args += list(opts) + [name, rtype]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30).stdout
    start = out.find("{")
    try:
        return json.loads(out[start:]) if start >= 0 else {}
    except ValueError:
        return {}

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP API of one resolverd, held to schemas/openapi.yaml.

Every response the tests receive goes through check(), which validates it
against the operation that schemas/openapi.yaml documents for its path and
method (status, content type, body schema, documented headers). The last test
asserts that every documented operation was exercised. Binary bodies (DNS over
HTTPS) are checked as strings of their bytes, so minLength and maxLength count
bytes; their content is checked with parse_dns().
"""

import base64
import hashlib
import http.client
import http.server
import json
import os
import random
import re
import socket
import stat
import struct
import subprocess
import threading
import time
import urllib.parse

import jsonschema
import yaml

import harness
from harness import Response

OPENAPI_PATH = os.path.join(harness.SOURCE_ROOT, "schemas", "openapi.yaml")
with open(OPENAPI_PATH, encoding="utf-8") as _f:
    OPENAPI = yaml.safe_load(_f)
RESOLVER = jsonschema.RefResolver.from_schema(OPENAPI)

PROBLEM = "application/problem+json"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
OPS_SECRET = "ops-secret-0123456789abcdef"
SIP_ALL_SECRET = "sip-all-secret-0123456789"    # scope sip:*, which covers no DNS name
NAMES_SECRET = "names-secret-0123456789abc"     # scope *.ops.p2p
DNS_MESSAGE = "application/dns-message"
RCODE = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5}
QTYPE = {"A": 1, "NS": 2, "SOA": 6, "TXT": 16, "AAAA": 28, "SRV": 33}
ABSENT = object()

# (operationId, method, path, status) of every response validated so far.
VALIDATED = []
_validated_lock = threading.Lock()


def deref(obj):
    """Follow OpenAPI $ref objects (responses, headers) within the document."""
    while isinstance(obj, dict) and "$ref" in obj:
        obj = RESOLVER.resolve(obj["$ref"])[1]
    return obj


def schema_errors(schema, instance):
    validator = jsonschema.Draft202012Validator(schema, resolver=RESOLVER)
    return ["%s at %s" % (e.message, list(e.absolute_path)) for e in validator.iter_errors(instance)]


def path_item(path):
    """The spec's path item for a request path, matching templates such as /v1/hosts/{name}."""
    if path in OPENAPI["paths"]:
        return OPENAPI["paths"][path]
    for template, item in OPENAPI["paths"].items():
        if "{" in template:
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path):
                return item
    return None


def openapi_errors(method, url, resp):
    """Validate one response against the spec; return (operation id, list of problems)."""
    path = urllib.parse.urlsplit(url).path
    method = method.upper()
    errors = []
    item = path_item(path)
    if item is None:
        # Not a documented resource: the only right answer is a 404 problem.
        if resp.status != 404:
            errors.append("undocumented path %s answered %d, not 404" % (path, resp.status))
        if resp.headers.get("content-type") != PROBLEM:
            errors.append("404 for %s is not %s" % (path, PROBLEM))
        elif resp.json is None:
            errors.append("404 body is not JSON")
        else:
            errors += schema_errors({"$ref": "#/components/schemas/Problem"}, resp.json)
        return "<no such path>", errors
    op = item.get(method.lower())
    if op is None:
        # A documented path with a method it does not take: the path's 405.
        if resp.status != 405:
            return "<%s %s>" % (method, path), ["%s %s answered %d, not 405" % (method, path, resp.status)]
        any_op = next(v for v in item.values() if isinstance(v, dict) and "responses" in v)
        definition = deref(any_op["responses"]["405"])
        op_id = "<%s %s>" % (method, path)
    else:
        op_id = op["operationId"]
        definition = op["responses"].get(str(resp.status))
        if definition is None:
            return op_id, ["status %d is not documented for %s %s (documented: %s)"
                           % (resp.status, method, path, sorted(op["responses"]))]
        definition = deref(definition)
    for name, header in definition.get("headers", {}).items():
        header = deref(header)
        value = resp.headers.get(name.lower())
        if value is None:
            errors.append("missing documented header %s" % name)
        else:
            errors += ["header %s: %s" % (name, e) for e in schema_errors(header["schema"], value)]
    content = definition.get("content")
    if not content:
        if resp.body:
            errors.append("status %d documents no body, got %r" % (resp.status, resp.body[:200]))
        return op_id, errors
    ctype = resp.headers.get("content-type", "")
    media = ctype.split(";")[0].strip().lower()
    if media not in content:
        errors.append("content type %r is not one of %s" % (ctype, sorted(content)))
        return op_id, errors
    schema = content[media]["schema"]
    if media.endswith("json"):
        try:
            instance = json.loads(resp.body)
        except ValueError as e:
            return op_id, errors + ["body is not JSON: %s" % e]
    elif deref(schema).get("format") == "binary":
        # One character per byte, so that the length keywords count bytes.
        instance = resp.body.decode("latin-1")
    else:
        instance = resp.body.decode("utf-8")
    errors += schema_errors(schema, instance)
    return op_id, errors


def raw_exchange(port, data, timeout=10, read=True):
    """Send raw bytes on a new connection; return a Response (or None if the server sent nothing)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if not read:
            return None
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            buf += chunk
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
                if m and len(body) >= int(m.group(1)):
                    break
    if not buf:
        return None
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip()] = v.strip()
    return Response(status, headers, body)


class CaptureServer:
    """A fake daemon that keeps the JSON bodies POSTed to it: how to get urictl's signed records."""

    def __init__(self):
        captured = self.captured = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                captured.append((self.path, json.loads(self.rfile.read(n))))
                body = json.dumps({"type": "urn:resolverd:problem:captured", "title": "Captured",
                                   "status": 503, "detail": "capture server"}).encode()
                self.send_response(503)
                self.send_header("Content-Type", PROBLEM)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def dns_query(name, qtype, qid, flags=0x0100):
    """A DNS query message for one question (class IN); flags default to RD."""
    qname = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".") if label) + b"\0"
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + qname + struct.pack("!HH", QTYPE[qtype], 1)


def b64url(data):
    """base64url without padding (RFC 8484 section 4.1)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def dns_name(msg, off):
    """Read a possibly compressed name at off; return (name without the final dot, offset after it)."""
    labels, end = [], None
    for _ in range(128):
        n = msg[off]
        if n >= 0xC0:
            end = off + 2 if end is None else end
            off = (n & 0x3F) << 8 | msg[off + 1]
        elif n == 0:
            return ".".join(labels), off + 1 if end is None else end
        else:
            labels.append(msg[off + 1:off + 1 + n].decode("ascii"))
            off += 1 + n
    raise ValueError("compression loop")


def parse_dns(msg):
    """Decode a whole DNS response: header fields, the question, and A/AAAA/SRV/other records."""
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    off, question, records = 12, [], []
    for _ in range(qd):
        name, off = dns_name(msg, off)
        question.append((name,) + struct.unpack("!HH", msg[off:off + 4]))
        off += 4
    for _ in range(an + ns + ar):
        name, off = dns_name(msg, off)
        rtype, _rclass, ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        if rtype == QTYPE["A"]:
            value = socket.inet_ntop(socket.AF_INET, rdata)
        elif rtype == QTYPE["AAAA"]:
            value = socket.inet_ntop(socket.AF_INET6, rdata)
        elif rtype == QTYPE["SRV"]:
            value = struct.unpack("!HHH", rdata[:6]) + (dns_name(msg, off + 6)[0],)
        else:
            value = rdata
        records.append((name, rtype, ttl, value))
        off += rdlen
    if off != len(msg):
        raise ValueError("%d bytes after the last record" % (len(msg) - off))
    return {"id": qid, "qr": flags >> 15, "opcode": flags >> 11 & 0xF, "aa": flags >> 10 & 1,
            "tc": flags >> 9 & 1, "rd": flags >> 8 & 1, "ra": flags >> 7 & 1, "rcode": flags & 0xF,
            "question": question, "answer": records[:an], "authority": records[an:an + ns],
            "additional": records[an + ns:]}


def urictl(*args, env=None):
    return subprocess.run([harness.URICTL] + list(args), capture_output=True, text=True, timeout=30,
                          env=env)


def quote(s):
    return urllib.parse.quote(s, safe="")


class Api(harness.ResolverdTestCase):
    """One main node (with a scoped token and pinned domains), plus small nodes for caps and the ACL."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.capture = CaptureServer()
        cls.lock_key = os.path.join(cls.workdir, "locked.key")
        cls.lock_pub = cls.keygen(cls.lock_key)
        cls.domain_key = os.path.join(cls.workdir, "domain.key")
        cls.domain_pub = cls.keygen(cls.domain_key)
        cls.main = cls.node("main", extra=[
            "http.tokens.ops.token=" + OPS_SECRET,
            "http.tokens.ops.scopes=sip:*@ops.example,tel:+4930*",
            "http.tokens.sipall.token=" + SIP_ALL_SECRET,
            "http.tokens.sipall.scopes=sip:*",
            "http.tokens.names.token=" + NAMES_SECRET,
            "http.tokens.names.scopes=*.ops.p2p",
            "policy.domains.locked.example.keys=" + cls.lock_pub,
            "policy.domains.deleg.example.keys=" + cls.domain_pub,
            "dns.dht_zones.p2p.ns=ns1.p2p",
        ]).start()
        cls.cap = cls.node("cap", extra=["resolve.max_bindings=2", "publish.max_publications=3",
                                         "dht.max_record_size=256"]).start()
        cls.acl = cls.node("acl", extra=["http.read_acl=10.0.0.0/8"]).start()
        # One request per second per client, three at once: a few requests empty the bucket.
        cls.limited = cls.node("limited", extra=["http.rate_limit.requests_per_second=1",
                                                 "http.rate_limit.burst=3"]).start()
        cls.pub = cls.main.status()["public_key"]

    @classmethod
    def tearDownClass(cls):
        cls.capture.close()
        super().tearDownClass()

    @classmethod
    def keygen(cls, path):
        r = urictl("keygen", path)
        assert r.returncode == 0, r.stderr
        return r.stdout.split()[-1]

    # ---- requests, all validated against the spec ----

    def check(self, method, url, resp):
        op_id, errors = openapi_errors(method, url, resp)
        self.assertEqual(errors, [], "%s %s -> %r does not match openapi.yaml" % (method, url, resp))
        with _validated_lock:
            VALIDATED.append((op_id, method.upper(), urllib.parse.urlsplit(url).path, resp.status))
        return resp

    def req(self, method, path, body=None, headers=None, node=None, token=None, validate=True):
        """One request. With validate=False the caller must pass the response to check() itself."""
        node = node or self.main
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        url = node.url + path
        resp = harness.http(method, url, body, headers)
        return self.check(method, url, resp) if validate else resp

    def raw(self, data, node=None, path=None, method=None):
        """A raw request; when path and method are given, the response is validated too."""
        node = node or self.main
        resp = raw_exchange(node.http_port, data)
        self.assertIsNotNone(resp, "no response to %r" % data[:80])
        if path:
            self.check(method, node.url + path, resp)
        return resp

    def publish(self, uri, contact, node=None, token=None, **fields):
        node = node or self.main
        return self.req("POST", "/v1/bindings", dict(uri=uri, contact=contact, **fields), node=node,
                        token=token if token is not None else node.token())

    def unpublish(self, uri, instance, node=None, token=None):
        node = node or self.main
        q = urllib.parse.urlencode({"uri": uri, "instance": instance})
        return self.req("DELETE", "/v1/bindings?" + q, node=node,
                        token=token if token is not None else node.token())

    def resolve(self, uri, node=None):
        return self.req("GET", "/v1/resolve?" + urllib.parse.urlencode({"uri": uri}), node=node)

    def status(self, node=None):
        r = self.req("GET", "/v1/status", node=node)
        self.assertEqual(r.status, 200, r)
        return r.json

    def listed(self, node=None):
        r = self.req("GET", "/v1/bindings", node=node)
        self.assertEqual(r.status, 200, r)
        return r.json["bindings"]

    def submit(self, record_b64, node=None, token=None):
        node = node or self.main
        return self.req("POST", "/v1/records", {"record": record_b64}, node=node,
                        token=token if token is not None else node.token())

    def signed(self, *args):
        """A record signed by urictl (publish/unpublish ... --key), captured instead of submitted."""
        before = len(self.capture.captured)
        r = urictl("--url", self.capture.url, "--token", "x" * 20, *args)
        self.assertEqual(len(self.capture.captured), before + 1, r.stderr)
        path, body = self.capture.captured[-1]
        self.assertEqual(path, "/v1/records")
        self.assertEqual(list(body), ["record"])
        return body["record"]

    def put_name(self, kind, name, body, node=None, token=None, **kw):
        """PUT /v1/services/NAME or /v1/hosts/NAME (kind "services" or "hosts")."""
        node = node or self.main
        return self.req("PUT", "/v1/%s/%s" % (kind, name), body, node=node,
                        token=token if token is not None else node.token(), **kw)

    def get_name(self, kind, name, node=None):
        return self.req("GET", "/v1/%s/%s" % (kind, name), node=node)

    def delete_name(self, kind, name, instance, node=None, token=None):
        node = node or self.main
        return self.req("DELETE", "/v1/%s/%s?instance=%s" % (kind, name, quote(instance)), node=node,
                        token=token if token is not None else node.token())

    def doh_get(self, wire, node=None):
        return self.req("GET", "/dns-query?dns=" + b64url(wire), node=node)

    def doh_post(self, wire, node=None, ctype=DNS_MESSAGE):
        return self.req("POST", "/dns-query", wire, headers={"Content-Type": ctype}, node=node)

    # ---- assertions ----

    def assert_problem(self, r, status, slug, field=ABSENT):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.headers.get("content-type"), PROBLEM, r)
        self.assertIsInstance(r.json, dict, r)
        self.assertEqual(r.json["status"], status, r)
        self.assertEqual(r.json["type"], "urn:resolverd:problem:" + slug, r)
        self.assertIsInstance(r.json["title"], str)
        self.assertTrue(r.json["title"])
        self.assertIsInstance(r.json["detail"], str)
        self.assertTrue(r.json["detail"], r)
        if field is ABSENT:
            self.assertNotIn("field", r.json, r)
        else:
            self.assertEqual(r.json.get("field"), field, r)

    def assert_binding(self, b, contact, instance, q, publisher, expires=None, expires_at=None):
        """A resolved binding; its lifetime either fresh (expires) or known (expires_at)."""
        self.assertEqual(set(b), {"contact", "q", "expires", "expires_at", "instance", "publisher"}, b)
        self.assertEqual(b["contact"], contact)
        self.assertEqual(b["instance"], instance)
        self.assertAlmostEqual(b["q"], q, places=3)
        self.assertEqual(b["publisher"], publisher)
        now = int(time.time())
        if expires is not None:
            self.assertTrue(expires - 2 <= b["expires"] <= expires, b)
        if expires_at is not None:
            self.assertEqual(b["expires_at"], expires_at, b)
        self.assertTrue(abs(b["expires_at"] - (now + b["expires"])) <= 2, b)

    def assert_publication(self, r, uri, contact, instance, q=1.0, expires=3600, publisher=None):
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.headers.get("content-type"), "application/json", r)
        p = r.json
        self.assertEqual(set(p), {"uri", "contact", "q", "expires", "expires_at", "instance", "publisher", "seq"}, p)
        self.assertEqual(p["uri"], uri)
        self.assertEqual(p["contact"], contact)
        self.assertEqual(p["instance"], instance)
        self.assertAlmostEqual(p["q"], q, places=3)
        self.assertEqual(p["publisher"], publisher or self.pub)
        self.assertTrue(expires - 1 <= p["expires"] <= expires, p)
        self.assertTrue(abs(p["expires_at"] - (int(time.time()) + expires)) <= 2, p)
        self.assertEqual(r.headers.get("location"),
                         "/v1/bindings?uri=%s&instance=%s" % (quote(uri), quote(instance)))
        return p

    def assert_name_publication(self, r, kind, name, instance, expires=3600, **value):
        """A 200 of PUT /v1/services or /v1/hosts: exactly the record object, with @p value's members."""
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"), "application/json", r)
        self.assertNotIn("location", r.headers)
        p = r.json
        members = ({"target", "port", "priority", "weight"} if kind == "services" else {"address"})
        self.assertEqual(set(p), members | {"name", "expires", "expires_at", "instance", "publisher", "seq"}, p)
        self.assertEqual(set(value), members)
        self.assertEqual({k: p[k] for k in members}, value)
        self.assertEqual((p["name"], p["instance"], p["publisher"]), (name, instance, self.pub))
        self.assertTrue(expires - 1 <= p["expires"] <= expires, p)
        self.assertTrue(abs(p["expires_at"] - (int(time.time()) + expires)) <= 2, p)
        self.assertIsInstance(p["seq"], int)
        return p

    def assert_dns_response(self, r, qid, rcode, question):
        """A 200 application/dns-message answering @p question = (name, type) with @p rcode; returns it parsed."""
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"), DNS_MESSAGE, r)
        m = parse_dns(r.body)
        self.assertEqual((m["id"], m["qr"], m["opcode"], m["rcode"]), (qid, 1, 0, RCODE[rcode]), m)
        self.assertEqual(m["question"], [(question[0], QTYPE[question[1]], 1)], m)
        return m

    # ================= (a) the happy path =================

    def test_a01_publish_resolve_dht_then_cache_list_unpublish(self):
        uri = "sip:alice@happy.example"
        before = self.status()
        self.assertEqual(self.resolve(uri).status, 404)
        uri2 = "sip:alice2@happy.example"  # never looked up before its publication
        p = self.assert_publication(self.publish(uri2, "sip:alice@192.0.2.10:5070", instance="desk",
                                                 q=0.75, expires=600),
                                    uri2, "sip:alice@192.0.2.10:5070", "desk", q=0.75, expires=600)
        first = self.resolve(uri2)
        self.assertEqual(first.status, 200, first)
        self.assertEqual(first.headers["content-type"], "application/json")
        self.assertEqual(set(first.json), {"uri", "bindings", "source"})
        self.assertEqual(first.json["uri"], uri2)
        self.assertEqual(first.json["source"], "dht")
        self.assertEqual(len(first.json["bindings"]), 1)
        self.assert_binding(first.json["bindings"][0], "sip:alice@192.0.2.10:5070", "desk", 0.75, self.pub, 600)
        self.assertEqual(first.json["bindings"][0]["expires_at"], p["expires_at"])
        second = self.resolve(uri2)
        self.assertEqual(second.status, 200, second)
        self.assertEqual(second.json["source"], "cache")
        self.assertEqual(second.json["uri"], uri2)
        self.assertEqual(len(second.json["bindings"]), 1)
        self.assertEqual({k: v for k, v in second.json["bindings"][0].items() if k != "expires"},
                         {k: v for k, v in first.json["bindings"][0].items() if k != "expires"})
        # It is listed as this node's publication, exactly as the 201 said.
        mine = [b for b in self.listed() if b["uri"] == uri2]
        self.assertEqual(len(mine), 1)
        self.assertEqual({k: v for k, v in mine[0].items() if k != "expires"},
                         {k: v for k, v in p.items() if k != "expires"})
        after = self.status()
        self.assertEqual(after["publications"], before["publications"] + 1)
        self.assertGreaterEqual(after["cache"]["misses"], before["cache"]["misses"] + 2)
        self.assertGreaterEqual(after["records"]["accepted"], before["records"]["accepted"] + 1)
        self.assertGreaterEqual(after["overlay"]["searches"], before["overlay"]["searches"] + 1)
        self.assertEqual(after["public_key"], self.pub)
        self.assertEqual(after["network"], harness.NETWORK)
        # The Location of the 201 names the publication: DELETE it there.
        loc = self.publish(uri2, "sip:alice@192.0.2.10:5070", instance="desk", q=0.75, expires=600)
        self.assertEqual(loc.status, 201)
        r = self.req("DELETE", loc.headers["location"], token=self.main.token())
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"")
        self.assert_problem(self.resolve(uri2), 404, "no-binding")
        self.assertEqual([b for b in self.listed() if b["uri"] == uri2], [])
        # Unpublishing again: there is nothing left to withdraw.
        self.assert_problem(self.unpublish(uri2, "desk"), 404, "no-publication")
        # status.publications counts live publications only: the withdrawn one no longer.
        self.assertEqual(self.status()["publications"], before["publications"])

    def test_a02_equivalent_spellings_resolve_alike(self):
        # The sip plugin's address of record (RFC 3261 10.3, 19.1.4): parameters and headers dropped, host
        # case folded, unreserved escapes decoded, user case kept, an explicit port kept.
        r = self.publish("SIP:Carol@EXAMPLE.com;transport=tcp", "sip:carol@192.0.2.20", instance="c1")
        self.assert_publication(r, "sip:Carol@example.com", "sip:carol@192.0.2.20", "c1")
        spellings = ["sip:Carol@example.com", "sip:Carol@Example.COM", "sip:Carol@example.com;user=phone",
                     "Sip:%43%61rol@EXAMPLE.com", "sip:Car%6Fl@example.com?subject=hi", "SIP:%43arol@eXample.coM"]
        for s in spellings:
            r = self.resolve(s)
            self.assertEqual(r.status, 200, (s, r))
            self.assertEqual(r.json["uri"], "sip:Carol@example.com", s)
            self.assertEqual([b["contact"] for b in r.json["bindings"]], ["sip:carol@192.0.2.20"], s)
        # The user part is case-sensitive; a port, even the default one, and sips: make other URIs.
        for other in ["sip:carol@example.com", "sip:Carol@example.com:5060", "sip:Carol@example.com:5061",
                      "sips:Carol@example.com"]:
            self.assert_problem(self.resolve(other), 404, "no-binding")
        # xmpp: nodeprep folds the local part's case; unreserved escapes are decoded (~).
        r = self.publish("xmpp:D%7eve@Jabber.EXAMPLE", "xmpp:dave@jabber.example/phone", instance="x")
        self.assert_publication(r, "xmpp:d~ve@jabber.example", "xmpp:dave@jabber.example/phone", "x")
        for s in ["xmpp:d~ve@jabber.example", "XMPP:D%7EVE@JABBER.example", "xmpp:D~Ve@jabber.example?message"]:
            r = self.resolve(s)
            self.assertEqual(r.status, 200, (s, r))
            self.assertEqual(r.json["uri"], "xmpp:d~ve@jabber.example")
        # A '/' in a local part is refused by nodeprep, escaped or not.
        self.assert_problem(self.resolve("xmpp:d%2Fve@jabber.example"), 400, "invalid-field", "uri")
        # Unpublish accepts any spelling too.
        self.assertEqual(self.unpublish("sip:%43arol@EXAMPLE.COM;transport=udp", "c1").status, 204)
        self.assert_problem(self.resolve("sip:Carol@example.com"), 404, "no-binding")

    def test_a03_republish_replaces_and_instances_are_ordered_by_q(self):
        uri = "tel:+15550100"
        first = self.publish(uri, "sip:+15550100@192.0.2.30", instance="one", q=0.2)
        self.assertEqual(first.status, 201, first)
        again = self.publish(uri, "sip:+15550100@192.0.2.31", instance="one", q=0.2)
        self.assert_publication(again, uri, "sip:+15550100@192.0.2.31", "one", q=0.2)
        self.assertGreater(again.json["seq"], first.json["seq"])
        r = self.resolve(uri)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([(b["instance"], b["contact"]) for b in r.json["bindings"]],
                         [("one", "sip:+15550100@192.0.2.31")])
        self.assertEqual(len([b for b in self.listed() if b["uri"] == uri]), 1)
        self.assertEqual(self.publish(uri, "sip:+15550100@192.0.2.32", instance="two", q=0.9).status, 201)
        self.assertEqual(self.publish(uri, "sip:+15550100@192.0.2.33", instance="three", q=0.5).status, 201)
        r = self.resolve(uri)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([b["instance"] for b in r.json["bindings"]], ["two", "three", "one"])
        self.assertEqual([b["q"] for b in r.json["bindings"]], [0.9, 0.5, 0.2])
        # Without an instance, it is derived from the contact.
        contact = "sip:+15550100@192.0.2.34"
        r = self.publish(uri, contact)
        self.assert_publication(r, uri, contact, "c-" + hashlib.sha256(contact.encode()).hexdigest()[:16])

    def test_a04_max_bindings_caps_the_answer(self):
        uri = "sip:many@cap.example"
        cap_pub = self.status(self.cap)["public_key"]
        for inst, q in (("low", 0.1), ("high", 0.9), ("mid", 0.5)):
            r = self.publish(uri, "sip:many-%s@192.0.2.40" % inst, node=self.cap, instance=inst, q=q)
            self.assert_publication(r, uri, "sip:many-%s@192.0.2.40" % inst, inst, q=q, publisher=cap_pub)
        r = self.resolve(uri, node=self.cap)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([b["instance"] for b in r.json["bindings"]], ["high", "mid"])
        # publish.max_publications=3 on this node: a fourth one does not fit.
        self.assert_problem(self.publish("sip:more@cap.example", "sip:more@192.0.2.41", node=self.cap),
                            507, "storage-full")

    def test_a04b_max_record_size_caps_what_is_signed_and_accepted(self):
        # dht.max_record_size=256 on the cap node: a binding whose record would be larger is refused...
        long_contact = "sip:" + "l" * 200 + "@192.0.2.42"
        before = self.status(self.cap)["publications"]
        r = self.publish("sip:long@cap.example", long_contact, node=self.cap)
        self.assert_problem(r, 400, "invalid-field")
        self.assertIn("dht.max_record_size", r.json["detail"])
        self.assertEqual(self.status(self.cap)["publications"], before)
        self.assert_problem(self.resolve("sip:long@cap.example", node=self.cap), 404, "no-binding")
        # ...and so is the same record signed elsewhere, which a node with the format's cap takes.
        rec = self.signed("publish", "sip:long@cap.example", long_contact, "--key", self.lock_key)
        r = self.submit(rec, node=self.cap)
        self.assert_problem(r, 400, "invalid-record", "record")
        self.assertIn("dht.max_record_size", r.json["detail"])
        self.assertEqual(self.submit(rec).status, 201)

    def test_a05_expiry(self):
        uri = "sip:brief@happy.example"
        r = self.publish(uri, "sip:brief@192.0.2.50", instance="b", expires=1)
        self.assert_publication(r, uri, "sip:brief@192.0.2.50", "b", expires=1)
        r = self.resolve(uri)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([b["instance"] for b in r.json["bindings"]], ["b"])
        time.sleep(2.5)
        self.assert_problem(self.resolve(uri), 404, "no-binding")
        self.assertEqual([b for b in self.listed() if b["uri"] == uri], [])

    def test_a06_health_status_metrics(self):
        r = self.req("GET", "/healthz")
        self.assertEqual((r.status, r.json), (200, {"status": "ok"}))
        s = self.status()
        self.assertRegex(s["node_id"], "^[0-9a-f]{40}$")
        self.assertEqual(s["public_key"], self.pub)
        r = self.req("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers["content-type"].startswith("text/plain"), r.headers)
        samples = {}
        for line in r.body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        self.assertTrue(all(n.startswith("resolverd_") for n in samples), samples)
        s = self.status()
        self.assertEqual(set(s), {"version", "node_id", "public_key", "network", "uptime", "overlay", "records",
                                  "cache", "publications", "dns"})
        self.assertEqual(set(s["records"]), {"accepted", "dropped_malformed", "dropped_signature", "dropped_policy",
                                             "dropped_expired", "dropped_overflow", "dropped_name"})
        self.assertEqual(set(s["dns"]), {"udp_queries", "tcp_queries", "doh_queries", "answered_hot", "lookups",
                                         "forwarded", "dropped", "rrl_dropped", "rrl_slipped", "tcp_refused",
                                         "tcp_connections"})
        self.assertEqual(samples["resolverd_publications"], s["publications"])
        self.assertEqual(samples['resolverd_records_total{result="accepted"}'], s["records"]["accepted"])
        self.assertEqual(samples['resolverd_records_total{result="overflow"}'], s["records"]["dropped_overflow"])
        self.assertEqual(samples['resolverd_cache_lookups_total{result="miss"}'], s["cache"]["misses"])
        for transport in ("udp", "tcp", "doh"):
            self.assertEqual(samples['resolverd_dns_queries_total{transport="%s"}' % transport],
                             s["dns"][transport + "_queries"])
        self.assertEqual(samples['resolverd_dns_rrl_total{action="drop"}'], s["dns"]["rrl_dropped"])
        self.assertEqual(samples['resolverd_dns_rrl_total{action="slip"}'], s["dns"]["rrl_slipped"])

    # ================= (b) errors =================

    def test_b01_bad_json_and_members(self):
        tok = self.main.token()
        cases = [
            (b"{bad", "invalid-json", ABSENT),
            (b"[1, 2]", "invalid-json", ABSENT),
            (b"", "invalid-json", ABSENT),
            (b'{"uri":"sip:a@b.example","uri":"sip:c@b.example","contact":"sip:x@y"}', "invalid-json", ABSENT),
            ({"uri": "sip:a@b.example", "contact": "sip:x@192.0.2.1", "color": "red"}, "invalid-field", "color"),
            ({"color": "red", "uri": "sip:a@b.example", "contact": "sip:x@192.0.2.1"}, "invalid-field", "color"),
            ({"colour": "red"}, "invalid-field", "colour"),
            ({"uri": "sip:a@b.example", "contact": "sip:x@192.0.2.1", "m" * 300: 1}, "invalid-field", "m" * 300),
            ({"uri": "sip:a@b.example", "contact": "sip:x@192.0.2.1", "gr\u00fc\u00dfe": {"a": [1]}}, "invalid-field",
             "gr\u00fc\u00dfe"),
            ({"uri": 5, "contact": "sip:x@192.0.2.1"}, "invalid-field", "uri"),
            ({"contact": "sip:x@192.0.2.1"}, "invalid-field", "uri"),
            ({"uri": "sip:a@b.example"}, "invalid-field", "contact"),
            ({"uri": "sip:a@b.example", "contact": "no-colon"}, "invalid-field", "contact"),
            ({"uri": "sip:a@b.example", "contact": ["sip:x@y"]}, "invalid-field", "contact"),
            ({"uri": "sip:a@b.example", "contact": "sip:x@192.0.2.1", "q": 1.5}, "invalid-field", "q"),
            ({"uri": "sip:a@b.example", "contact": "sip:x@192.0.2.1", "q": "high"}, "invalid-field", "q"),
            ({"uri": "sip:a@b.example", "contact": "sip:x@192.0.2.1", "expires": 0}, "invalid-field", "expires"),
            ({"uri": "sip:a@b.example", "contact": "sip:x@192.0.2.1", "expires": 2.5}, "invalid-field", "expires"),
            ({"uri": "sip:a@b.example", "contact": "sip:x@192.0.2.1", "expires": 86401}, "invalid-field", "expires"),
            ({"uri": "sip:a@b.example", "contact": "sip:x@192.0.2.1", "instance": ""}, "invalid-field", "instance"),
            ({"uri": "sip:a@b.example", "contact": "sip:x@192.0.2.1", "instance": "a b"}, "invalid-field", "instance"),
            ({"uri": "sip:a@b.example", "contact": "sip:x@192.0.2.1", "instance": "i" * 129}, "invalid-field",
             "instance"),
            ({"uri": "not a uri", "contact": "sip:x@192.0.2.1"}, "invalid-field", "uri"),
            ({"uri": "nocolon", "contact": "sip:x@192.0.2.1"}, "invalid-field", "uri"),
            ({"uri": "sip:" + "a" * 520 + "@b.example", "contact": "sip:x@192.0.2.1"}, "invalid-field", "uri"),
            ({"uri": "sip:a@b.example#frag", "contact": "sip:x@192.0.2.1"}, "invalid-field", "uri"),
        ]
        for body, slug, field in cases:
            with self.subTest(body=body):
                self.assert_problem(self.req("POST", "/v1/bindings", body, token=tok), 400, slug, field)
        # Nothing of that was published.
        self.assertEqual([b for b in self.listed() if b["uri"] == "sip:a@b.example"], [])

    def test_b02_bad_query_parameters(self):
        tok = self.main.token()
        self.assert_problem(self.req("GET", "/v1/resolve"), 400, "invalid-field", "uri")
        self.assert_problem(self.req("GET", "/v1/resolve?uri="), 400, "invalid-field", "uri")
        self.assert_problem(self.resolve("no scheme here"), 400, "invalid-field", "uri")
        self.assert_problem(self.resolve("sip:a\x01@b.example"), 400, "invalid-field", "uri")
        self.assert_problem(self.req("DELETE", "/v1/bindings?uri=sip%3Aa%40b.example", token=tok),
                            400, "invalid-field", "instance")
        self.assert_problem(self.req("DELETE", "/v1/bindings?instance=x", token=tok), 400, "invalid-field", "uri")
        self.assert_problem(self.unpublish("bad uri", "x"), 400, "invalid-field", "uri")

    def test_b03_unauthorized(self):
        body = {"uri": "sip:a@auth.example", "contact": "sip:a@192.0.2.1"}
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"},
                        {"Authorization": "Basic " + base64.b64encode(b"admin:" + self.main.token().encode()).decode()},
                        {"Authorization": "Bearer"}):
            with self.subTest(headers=headers):
                for method, path, b in (("POST", "/v1/bindings", body),
                                        ("DELETE", "/v1/bindings?uri=sip%3Aa%40auth.example&instance=x", None),
                                        ("POST", "/v1/records", {"record": "AAAA"}),
                                        ("PUT", "/v1/services/_sip._udp.auth.p2p", {"target": "a.p2p", "port": 1}),
                                        ("DELETE", "/v1/services/_sip._udp.auth.p2p?instance=x", None),
                                        ("PUT", "/v1/hosts/auth.p2p", {"address": "192.0.2.1"}),
                                        ("DELETE", "/v1/hosts/auth.p2p?instance=x", None)):
                    r = self.req(method, path, b, headers=headers)
                    self.assert_problem(r, 401, "unauthorized")
                    self.assertRegex(r.headers.get("www-authenticate", ""), r'^Bearer realm="resolverd"$')
        self.assert_problem(self.resolve("sip:a@auth.example"), 404, "no-binding")
        self.assert_problem(self.get_name("services", "_sip._udp.auth.p2p"), 404, "no-record")
        self.assert_problem(self.get_name("hosts", "auth.p2p"), 404, "no-record")

    def test_b04_forbidden_token_scope(self):
        r = self.publish("sip:a@ops.example", "sip:a@192.0.2.60", token=OPS_SECRET, instance="ops")
        self.assert_publication(r, "sip:a@ops.example", "sip:a@192.0.2.60", "ops")
        r = self.publish("tel:+493012345", "sip:berlin@192.0.2.61", token=OPS_SECRET)
        self.assertEqual(r.status, 201, r)
        self.assert_problem(self.publish("sip:a@other.example", "sip:a@192.0.2.60", token=OPS_SECRET),
                            403, "out-of-scope", "uri")
        self.assert_problem(self.publish("tel:+493112345", "sip:a@192.0.2.60", token=OPS_SECRET),
                            403, "out-of-scope", "uri")
        # The scope applies to the normalized URI, so a spelling trick does not widen it.
        self.assert_problem(self.publish("sip:a@ops.example.evil", "sip:a@192.0.2.60", token=OPS_SECRET),
                            403, "out-of-scope", "uri")
        self.assertEqual(self.publish("sip:b@OPS.Example", "sip:b@192.0.2.60", token=OPS_SECRET).status, 201)
        # Unpublishing and submitting records are scoped too.
        self.assertEqual(self.publish("sip:adm@other.example", "sip:adm@192.0.2.62", instance="i").status, 201)
        self.assert_problem(self.unpublish("sip:adm@other.example", "i", token=OPS_SECRET),
                            403, "out-of-scope", "uri")
        self.assertEqual(self.resolve("sip:adm@other.example").status, 200)
        dev = os.path.join(self.workdir, "scope-dev.key")
        self.keygen(dev)
        rec = self.signed("publish", "sip:dev@other.example", "sip:dev@192.0.2.63", "--key", dev)
        self.assert_problem(self.submit(rec, token=OPS_SECRET), 403, "out-of-scope", "uri")
        self.assertEqual(self.unpublish("sip:a@ops.example", "ops", token=OPS_SECRET).status, 204)

    def test_b05_forbidden_read_acl(self):
        # The ACL (10.0.0.0/8) leaves loopback out: reads are 403, health and writes are not.
        wire = dns_query("x.acl.p2p", "A", 0x0AC1)
        reads = [("GET", path, None, None) for path in (
            "/v1/resolve?uri=sip%3Ax%40acl.example", "/v1/bindings", "/v1/status", "/metrics",
            "/v1/services/_sip._udp.acl.p2p", "/v1/hosts/x.acl.p2p",
            "/v1/hosts/not_a_host",  # the ACL is checked before anything else
            "/dns-query?dns=" + b64url(wire), "/dns-query")]
        reads.append(("POST", "/dns-query", wire, {"Content-Type": DNS_MESSAGE}))
        for method, path, body, headers in reads:
            with self.subTest(method=method, path=path):
                r = self.req(method, path, body, headers=headers, node=self.acl, validate=False)
                self.assert_problem(r, 403, "forbidden")
                self.check(method, self.acl.url + path, r)
        r = self.req("GET", "/healthz", node=self.acl)
        self.assertEqual((r.status, r.json), (200, {"status": "ok"}))
        r = self.publish("sip:x@acl.example", "sip:x@192.0.2.70", node=self.acl, instance="w")
        self.assertEqual(r.status, 201, r)
        r = self.put_name("hosts", "x.acl.p2p", {"address": "192.0.2.71", "instance": "w"}, node=self.acl)
        self.assertEqual(r.status, 200, r)
        r = self.put_name("services", "_sip._udp.acl.p2p", {"target": "x.acl.p2p", "port": 5060}, node=self.acl)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.delete_name("hosts", "x.acl.p2p", "w", node=self.acl).status, 204)

    def test_b06_forbidden_policy(self):
        self.assert_problem(self.publish("sip:a@locked.example", "sip:a@192.0.2.80"), 403, "policy-denied", "uri")
        # Subdomains are covered by the domain's keys.
        self.assert_problem(self.publish("sip:a@sub.locked.example", "sip:a@192.0.2.80"), 403, "policy-denied",
                            "uri")
        self.assert_problem(self.resolve("sip:a@locked.example"), 404, "no-binding")
        # The pinned key itself may publish there.
        rec = self.signed("publish", "sip:a@locked.example", "sip:a@192.0.2.81", "--key", self.lock_key,
                          "--instance", "pinned")
        r = self.submit(rec)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["publisher"], self.lock_pub)
        r = self.resolve("sip:a@locked.example")
        self.assertEqual(r.status, 200, r)
        self.assertEqual([(b["instance"], b["publisher"]) for b in r.json["bindings"]], [("pinned", self.lock_pub)])

    def test_b07_not_found_and_method_not_allowed(self):
        for path in ("/", "/v1", "/v1/resolve/", "/v2/resolve", "/V1/STATUS", "/v1/bindings/x", "/v1/services",
                     "/v1/hosts", "/v1/services/_sip._udp.a.p2p/x", "/v1/hosts/a.p2p/", "/dns-query/x",
                     "/v1/service/_sip._udp.a.p2p"):
            with self.subTest(path=path):
                self.assert_problem(self.req("GET", path), 404, "not-found")
        cases = [("PUT", "/v1/resolve", "GET, HEAD"), ("POST", "/v1/resolve", "GET, HEAD"),
                 ("DELETE", "/v1/status", "GET, HEAD"), ("GET", "/v1/records", "POST"),
                 ("DELETE", "/v1/records", "POST"), ("PATCH", "/v1/bindings", "GET, HEAD, POST, DELETE"),
                 ("PUT", "/v1/bindings", "GET, HEAD, POST, DELETE"), ("POST", "/healthz", "GET, HEAD"),
                 ("POST", "/metrics", "GET, HEAD"), ("OPTIONS", "/v1/status", "GET, HEAD"),
                 ("POST", "/v1/services/_sip._udp.a.p2p", "GET, HEAD, PUT, DELETE"),
                 ("PATCH", "/v1/services/_sip._udp.a.p2p", "GET, HEAD, PUT, DELETE"),
                 ("POST", "/v1/hosts/a.p2p", "GET, HEAD, PUT, DELETE"),
                 ("OPTIONS", "/v1/hosts/a.p2p", "GET, HEAD, PUT, DELETE"),
                 ("PUT", "/dns-query", "GET, HEAD, POST"), ("DELETE", "/dns-query", "GET, HEAD, POST")]
        for method, path, allow in cases:
            with self.subTest(method=method, path=path):
                r = self.req(method, path, {} if method in ("POST", "PUT", "PATCH") else None,
                             token=self.main.token())
                self.assert_problem(r, 405, "method-not-allowed")
                self.assertEqual(r.headers.get("allow"), allow)
        # A method MHD has never heard of, on a raw socket.
        r = self.raw(b"BREW /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path="/v1/status",
                     method="BREW")
        self.assert_problem(r, 405, "method-not-allowed")
        self.assertEqual(r.headers.get("allow"), "GET, HEAD")

    def test_b08_length_required(self):
        tok = self.main.token().encode()
        for method, path, ctype in (("POST", "/v1/bindings", b"application/json"),
                                    ("POST", "/v1/records", b"application/json"),
                                    ("PUT", "/v1/services/_sip._udp.len.p2p", b"application/json"),
                                    ("PUT", "/v1/hosts/len.p2p", b"application/json"),
                                    ("POST", "/dns-query", DNS_MESSAGE.encode())):
            with self.subTest(path=path):
                r = self.raw(b"%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                             b"Content-Type: %s\r\nConnection: close\r\n\r\n"
                             % (method.encode(), path.encode(), tok, ctype), path=path, method=method)
                self.assert_problem(r, 411, "length-required")
        # A chunked body is fine.
        body = json.dumps({"uri": "sip:chunked@happy.example", "contact": "sip:c@192.0.2.90",
                           "instance": "ch"}).encode()
        r = self.raw(b"POST /v1/bindings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                     b"%x\r\n%s\r\n0\r\n\r\n" % (tok, len(body), body), path="/v1/bindings", method="POST")
        self.assert_publication(r, "sip:chunked@happy.example", "sip:c@192.0.2.90", "ch")

    def test_b09_payload_too_large(self):
        tok = self.main.token()
        # Exactly http.max_body (16384) is read and judged as JSON; one byte more is refused unread.
        pad = b'{"uri":"sip:big@happy.example","contact":"sip:b@192.0.2.1","instance":"'
        at_max = pad + b"a" * (16384 - len(pad) - 2) + b'"}'
        self.assertEqual(len(at_max), 16384)
        self.assert_problem(self.req("POST", "/v1/bindings", at_max, token=tok), 400, "invalid-field", "instance")
        over = pad + b"a" * (16385 - len(pad) - 2) + b'"}'
        self.assert_problem(self.req("POST", "/v1/bindings", over, token=tok), 413, "body-too-large")
        self.assert_problem(self.req("POST", "/v1/records", b'{"record":"' + b"A" * 20000 + b'"}', token=tok),
                            413, "body-too-large")
        big = b'{"address":"192.0.2.1","instance":"' + b"a" * 16384 + b'"}'
        self.assert_problem(self.req("PUT", "/v1/hosts/big.p2p", big, token=tok), 413, "body-too-large")
        big = b'{"target":"big.p2p","port":1,"instance":"' + b"a" * 16384 + b'"}'
        self.assert_problem(self.req("PUT", "/v1/services/_sip._udp.big.p2p", big, token=tok), 413, "body-too-large")
        wire = dns_query("big.p2p", "A", 0xB16)
        self.assert_problem(self.doh_post(wire + b"\0" * (16385 - len(wire))), 413, "body-too-large")
        # Chunked bodies have no Content-Length to refuse early: they are counted as they come.
        for chunks in ([b"a" * 20000], [b"a" * 1000] * 20):
            with self.subTest(chunks=len(chunks)):
                data = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
                r = self.raw(b"POST /v1/bindings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                             b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                             b"Connection: close\r\n\r\n%s" % (tok.encode(), data), path="/v1/bindings",
                             method="POST")
                self.assert_problem(r, 413, "body-too-large")
        self.assert_problem(self.resolve("sip:big@happy.example"), 404, "no-binding")
        self.assert_problem(self.get_name("hosts", "big.p2p"), 404, "no-record")

    def test_b10_unsupported_media_type(self):
        tok = self.main.token()
        body = json.dumps({"uri": "sip:mt@happy.example", "contact": "sip:mt@192.0.2.1"}).encode()
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx",
                      "application/problem+json", None):
            with self.subTest(ctype=ctype):
                headers = {"Content-Type": ctype} if ctype else {}
                if ctype is None:
                    r = self.raw(b"POST /v1/bindings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                                 b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                                 % (tok.encode(), len(body), body), path="/v1/bindings", method="POST")
                else:
                    r = self.req("POST", "/v1/bindings", body, headers=headers, token=tok)
                self.assert_problem(r, 415, "unsupported-media-type")
                r = self.req("POST", "/v1/records", b'{"record":"AAAA"}', headers=headers or
                             {"Content-Type": "text/plain"}, token=tok)
                self.assert_problem(r, 415, "unsupported-media-type")
                r = self.req("PUT", "/v1/hosts/mt.p2p", b'{"address":"192.0.2.1"}', headers=headers or
                             {"Content-Type": "text/plain"}, token=tok)
                self.assert_problem(r, 415, "unsupported-media-type")
                r = self.req("PUT", "/v1/services/_sip._udp.mt.p2p", b'{"target":"mt.p2p","port":1}',
                             headers=headers or {"Content-Type": "text/plain"}, token=tok)
                self.assert_problem(r, 415, "unsupported-media-type")
        self.assert_problem(self.resolve("sip:mt@happy.example"), 404, "no-binding")
        self.assert_problem(self.get_name("hosts", "mt.p2p"), 404, "no-record")
        self.assert_problem(self.get_name("services", "_sip._udp.mt.p2p"), 404, "no-record")
        r = self.req("POST", "/v1/bindings", body, headers={"Content-Type": "application/json; charset=utf-8"},
                     token=tok)
        self.assertEqual(r.status, 201, r)
        r = self.req("PUT", "/v1/hosts/mt.p2p", b'{"address":"192.0.2.1"}',
                     headers={"Content-Type": "application/json; charset=utf-8"}, token=tok)
        self.assertEqual(r.status, 200, r)
        # DNS over HTTPS takes application/dns-message only.
        wire = dns_query("mt.p2p", "A", 0x415)
        for ctype in ("application/json", "text/plain", "application/dns-messages", "application/octet-stream"):
            with self.subTest(ctype=ctype):
                self.assert_problem(self.doh_post(wire, ctype=ctype), 415, "unsupported-media-type")
        r = self.raw(b"POST /dns-query HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                     % (len(wire), wire), path="/dns-query", method="POST")
        self.assert_problem(r, 415, "unsupported-media-type")

    def test_b11_too_many_requests(self):
        node = self.limited
        tok = node.token()
        wire = dns_query("x.rl.p2p", "A", 0x429)
        # Every operation but /healthz. Without a token or with a wrong media type: the limit comes first.
        ops = [("GET", "/v1/resolve?uri=sip%3Ax%40rl.example", None, {}),
               ("GET", "/v1/bindings", None, {}),
               ("POST", "/v1/bindings", {"uri": "sip:x@rl.example", "contact": "sip:x@192.0.2.42"}, {}),
               ("POST", "/v1/bindings", b"{}", {"Content-Type": "text/plain"}),
               ("DELETE", "/v1/bindings?uri=sip%3Ax%40rl.example&instance=x", None, {}),
               ("POST", "/v1/records", {"record": "AAAA"}, {}),
               ("GET", "/v1/status", None, {}),
               ("GET", "/metrics", None, {}),
               ("GET", "/v1/services/_sip._udp.rl.p2p", None, {}),
               ("PUT", "/v1/services/_sip._udp.rl.p2p", {"target": "x.rl.p2p", "port": 5060}, {}),
               ("DELETE", "/v1/services/_sip._udp.rl.p2p?instance=x", None, {}),
               ("GET", "/v1/hosts/x.rl.p2p", None, {}),
               ("PUT", "/v1/hosts/x.rl.p2p", {"address": "192.0.2.42"}, {}),
               ("DELETE", "/v1/hosts/x.rl.p2p?instance=x", None, {}),
               ("GET", "/dns-query?dns=" + b64url(wire), None, {}),
               ("POST", "/dns-query", wire, {"Content-Type": DNS_MESSAGE})]
        for method, path, body, headers in ops:
            with self.subTest(method=method, path=path):
                # The bucket refills once a second: a request may still find a token, the next one not.
                for _ in range(5):
                    r = self.req(method, path, body, headers=headers, node=node)
                    if r.status == 429:
                        break
                self.assert_problem(r, 429, "rate-limited")
                self.assertEqual(r.headers.get("retry-after"), "1", r.headers)
        # While limited: /healthz is exempt, and 404 and 405 come before the limit.
        for _ in range(5):
            r = self.req("GET", "/healthz", node=node)
            self.assertEqual((r.status, r.json), (200, {"status": "ok"}))
        self.assert_problem(self.req("GET", "/v1/nothing", node=node), 404, "not-found")
        self.assert_problem(self.req("PATCH", "/v1/status", b"{}", node=node), 405, "method-not-allowed")
        self.assert_problem(self.req("GET", "/v1/status", node=node), 429, "rate-limited")
        # Another client address has a bucket of its own.
        conn = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=10, source_address=("127.0.0.2", 0))
        try:
            for _ in range(3):
                conn.request("GET", "/v1/status")
                resp = conn.getresponse()
                r = Response(resp.status, dict(resp.getheaders()), resp.read())
                self.check("GET", node.url + "/v1/status", r)
                self.assertEqual(r.status, 200, r)
        finally:
            conn.close()
        # After Retry-After, the first client is served again; the writes were never carried out.
        time.sleep(1.1)
        self.assertEqual(self.req("GET", "/v1/status", node=node).status, 200)
        time.sleep(2.1)  # two more tokens
        self.assert_problem(self.req("GET", "/v1/resolve?uri=sip%3Ax%40rl.example", node=node), 404, "no-binding")
        self.assertEqual(self.req("POST", "/v1/bindings", {"uri": "sip:y@rl.example", "contact": "sip:y@192.0.2.43"},
                                  node=node, token=tok).status, 201)

    # ================= (g) service and host records =================

    def test_g01_service_put_get_replace_delete(self):
        name = "_xmpp-server._tcp.a.p2p"  # never looked up before its publication
        before = self.status()
        bindings_before = len(self.listed())
        p = self.assert_name_publication(
            self.put_name("services", name, {"target": "xmpp.a.p2p", "port": 5269, "priority": 5, "weight": 10,
                                             "expires": 600, "instance": "s1"}),
            "services", name, "s1", expires=600, target="xmpp.a.p2p", port=5269, priority=5, weight=10)
        first = self.get_name("services", name)
        self.assertEqual(first.status, 200, first)
        self.assertEqual(first.headers["content-type"], "application/json")
        self.assertEqual(set(first.json), {"name", "records", "source"})
        self.assertEqual((first.json["name"], first.json["source"]), (name, "dht"))
        self.assertEqual(len(first.json["records"]), 1, first)
        rec = first.json["records"][0]
        self.assertEqual(set(rec), {"target", "port", "priority", "weight", "expires", "expires_at", "instance",
                                    "publisher"})
        self.assertEqual({k: v for k, v in rec.items() if k != "expires"},
                         {k: v for k, v in p.items() if k not in ("expires", "name", "seq")})
        self.assertTrue(598 <= rec["expires"] <= 600, rec)
        second = self.get_name("services", name)
        self.assertEqual((second.status, second.json["source"]), (200, "cache"), second)
        # Any spelling of the name is the same name: case and a trailing dot do not count.
        for spelling in ("_XMPP-Server._TCP.A.P2P", name + "."):
            r = self.get_name("services", spelling)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["name"], name)
            self.assertEqual([x["instance"] for x in r.json["records"]], ["s1"])
        # Service records count as publications; the bindings list does not show them.
        self.assertEqual(self.status()["publications"], before["publications"] + 1)
        self.assertEqual(len(self.listed()), bindings_before)
        # The same instance again replaces the record, with a higher seq.
        again = self.assert_name_publication(
            self.put_name("services", name, {"target": "XMPP2.A.p2p.", "port": 5270, "instance": "s1"}),
            "services", name, "s1", target="xmpp2.a.p2p", port=5270, priority=0, weight=0)
        self.assertGreater(again["seq"], p["seq"])
        r = self.get_name("services", name)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([(x["instance"], x["target"], x["port"], x["priority"], x["weight"]) for x in r.json["records"]],
                         [("s1", "xmpp2.a.p2p", 5270, 0, 0)])
        self.assertEqual(self.status()["publications"], before["publications"] + 1)
        # Without an instance, it is derived from the record's value "PRIORITY WEIGHT PORT TARGET".
        derived = "s-" + hashlib.sha256(b"1 2 5222 xmpp.a.p2p").hexdigest()[:16]
        self.assert_name_publication(
            self.put_name("services", name, {"target": "xmpp.a.p2p", "port": 5222, "priority": 1, "weight": 2}),
            "services", name, derived, target="xmpp.a.p2p", port=5222, priority=1, weight=2)
        # "." says that there is no such service here (RFC 2782), with port 0.
        self.assert_name_publication(
            self.put_name("services", name, {"target": ".", "port": 0, "instance": "none"}),
            "services", name, "none", target=".", port=0, priority=0, weight=0)
        r = self.get_name("services", name)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sorted((x["instance"], x["target"], x["port"]) for x in r.json["records"]),
                         sorted([("s1", "xmpp2.a.p2p", 5270), (derived, "xmpp.a.p2p", 5222), ("none", ".", 0)]))
        self.assertEqual(self.status()["publications"], before["publications"] + 3)
        # DELETE withdraws one instance at a time; the last one leaves a 404.
        for i, inst in enumerate(("s1", "none", derived)):
            r = self.delete_name("services", name, inst)
            self.assertEqual((r.status, r.body), (204, b""), r)
            r = self.get_name("services", name)
            if i < 2:
                self.assertEqual(r.status, 200, r)
                self.assertNotIn(inst, [x["instance"] for x in r.json["records"]])
        self.assert_problem(r, 404, "no-record")
        self.assert_problem(self.delete_name("services", name, "s1"), 404, "no-publication")
        self.assert_problem(self.delete_name("services", name, "never"), 404, "no-publication")
        self.assertEqual(self.status()["publications"], before["publications"])

    def test_g02_host_put_get_replace_delete(self):
        name = "xmpp.a.p2p"
        before = self.status()["publications"]
        self.assert_problem(self.get_name("hosts", name), 404, "no-record")
        p4 = self.assert_name_publication(self.put_name("hosts", name, {"address": "192.0.2.5", "instance": "v4"}),
                                          "hosts", name, "v4", address="192.0.2.5")
        # IPv6 is stored in canonical form, and the default instance is derived from it.
        derived = "a-" + hashlib.sha256(b"2001:db8::1").hexdigest()[:16]
        p6 = self.assert_name_publication(self.put_name("hosts", "XMPP.A.P2P.", {"address": "2001:DB8:0::0:1",
                                                                               "expires": 120}),
                                          "hosts", name, derived, expires=120, address="2001:db8::1")
        r = self.get_name("hosts", name)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(r.json), {"name", "records", "source"})
        self.assertEqual(r.json["name"], name)
        self.assertIn(r.json["source"], ("dht", "cache"))
        got = {x["instance"]: x for x in r.json["records"]}
        self.assertEqual(set(got), {"v4", derived})
        for rec, p in ((got["v4"], p4), (got[derived], p6)):
            self.assertEqual(set(rec), {"address", "expires", "expires_at", "instance", "publisher"})
            self.assertEqual({k: v for k, v in rec.items() if k != "expires"},
                             {k: v for k, v in p.items() if k not in ("expires", "name", "seq")})
        self.assertEqual(self.status()["publications"], before + 2)
        # The same instance again replaces the address.
        again = self.assert_name_publication(self.put_name("hosts", name, {"address": "192.0.2.6", "instance": "v4"}),
                                             "hosts", name, "v4", address="192.0.2.6")
        self.assertGreater(again["seq"], p4["seq"])
        r = self.get_name("hosts", name)
        self.assertEqual(sorted((x["instance"], x["address"]) for x in r.json["records"]),
                         sorted([("v4", "192.0.2.6"), (derived, "2001:db8::1")]))
        self.assertEqual(self.status()["publications"], before + 2)
        # Service and host records of one name are apart: a host name is no service name.
        self.assert_problem(self.get_name("services", "_sip._udp." + name), 404, "no-record")
        for inst in ("v4", derived):
            r = self.delete_name("hosts", "Xmpp.A.P2p", inst)
            self.assertEqual((r.status, r.body), (204, b""), r)
        self.assert_problem(self.get_name("hosts", name), 404, "no-record")
        self.assert_problem(self.delete_name("hosts", name, "v4"), 404, "no-publication")
        self.assertEqual(self.status()["publications"], before)

    def test_g03_names_bad_input(self):
        tok = self.main.token()
        bad_services = ["sip.b.p2p", "_sip.b.p2p", "_sip._udp", "_sip._udp.", "__._udp.b.p2p", "_sip._udp.b..p2p",
                        "_sip._udp.-b.p2p", "_sip._udp.b_c.p2p", "_sip._udp.b%20c.p2p", "_s%C3%BC._udp.b.p2p",
                        "_sip._udp." + "b" * 64 + ".p2p", "_sip._udp." + ".".join(["b" * 60] * 5)]
        bad_hosts = ["_sip._udp.b.p2p", "a..p2p", "-a.p2p", "a-.p2p", "a_b.p2p", "%20a.p2p", "a.p2p..",
                     "b%C3%BC.p2p", "b" * 64 + ".p2p", ".".join(["b" * 60] * 5)]
        for kind, names, body in (("services", bad_services, {"target": "x.p2p", "port": 1}),
                                  ("hosts", bad_hosts, {"address": "192.0.2.1"})):
            for name in names:
                with self.subTest(kind=kind, name=name):
                    self.assert_problem(self.put_name(kind, name, body), 400, "invalid-field", "name")
                    self.assert_problem(self.get_name(kind, name), 400, "invalid-field", "name")
                    self.assert_problem(self.delete_name(kind, name, "x"), 400, "invalid-field", "name")
        svc = "/v1/services/_sip._udp.bad.p2p"
        service_cases = [
            ({"port": 5060}, "target"),
            ({"target": 5, "port": 5060}, "target"),
            ({"target": None, "port": 5060}, "target"),
            ({"target": "bad_host.p2p", "port": 5060}, "target"),
            ({"target": "a..p2p", "port": 5060}, "target"),
            ({"target": "", "port": 5060}, "target"),
            ({"target": "x" * 64 + ".p2p", "port": 5060}, "target"),
            ({"target": "x.p2p"}, "port"),
            ({"target": "x.p2p", "port": 65536}, "port"),
            ({"target": "x.p2p", "port": -1}, "port"),
            ({"target": "x.p2p", "port": "5060"}, "port"),
            ({"target": "x.p2p", "port": 50.5}, "port"),
            ({"target": "x.p2p", "port": 5060, "priority": 65536}, "priority"),
            ({"target": "x.p2p", "port": 5060, "priority": "1"}, "priority"),
            ({"target": "x.p2p", "port": 5060, "weight": -1}, "weight"),
            ({"target": "x.p2p", "port": 5060, "expires": 0}, "expires"),
            ({"target": "x.p2p", "port": 5060, "expires": 86401}, "expires"),
            ({"target": "x.p2p", "port": 5060, "instance": ""}, "instance"),
            ({"target": "x.p2p", "port": 5060, "instance": "a b"}, "instance"),
            ({"target": "x.p2p", "port": 5060, "instance": "i" * 129}, "instance"),
            ({"target": "x.p2p", "port": 5060, "color": "red"}, "color"),
            ({"color": "red"}, "color"),
            ({"target": "x.p2p", "port": 5060, "q": 0.5}, "q"),
            ({"target": "x.p2p", "port": 5060, "address": "192.0.2.1"}, "address"),
            ({"target": "x.p2p", "port": 5060, "m" * 300: 1}, "m" * 300),
        ]
        for body, field in service_cases:
            with self.subTest(body=body):
                self.assert_problem(self.req("PUT", svc, body, token=tok), 400, "invalid-field", field)
        host = "/v1/hosts/bad.p2p"
        host_cases = [
            ({}, "address"),
            ({"address": 3221225985}, "address"),
            ({"address": ""}, "address"),
            ({"address": "192.0.2"}, "address"),
            ({"address": "192.0.2.256"}, "address"),
            ({"address": "2001:db8::g"}, "address"),
            ({"address": "2001:db8:::1"}, "address"),
            ({"address": "host.p2p"}, "address"),
            ({"address": " 192.0.2.1"}, "address"),
            ({"address": "192.0.2.1", "expires": 2.5}, "expires"),
            ({"address": "192.0.2.1", "instance": 7}, "instance"),
            ({"address": "192.0.2.1", "port": 80}, "port"),
            ({"address": "192.0.2.1", "target": "x.p2p"}, "target"),
            ({"addresses": ["192.0.2.1"]}, "addresses"),
        ]
        for body, field in host_cases:
            with self.subTest(body=body):
                self.assert_problem(self.req("PUT", host, body, token=tok), 400, "invalid-field", field)
        for path in (svc, host):
            for body in (b"{bad", b"[1]", b"", b'{"address":"192.0.2.1","address":"192.0.2.2"}'):
                with self.subTest(path=path, body=body):
                    self.assert_problem(self.req("PUT", path, body, token=tok), 400, "invalid-json")
            # DELETE needs a good instance.
            self.assert_problem(self.req("DELETE", path, token=tok), 400, "invalid-field", "instance")
            self.assert_problem(self.req("DELETE", path + "?instance=", token=tok), 400, "invalid-field", "instance")
            self.assert_problem(self.req("DELETE", path + "?instance=a%20b", token=tok), 400, "invalid-field",
                                "instance")
        # None of that was published.
        self.assert_problem(self.get_name("services", "_sip._udp.bad.p2p"), 404, "no-record")
        self.assert_problem(self.get_name("hosts", "bad.p2p"), 404, "no-record")

    def test_g04_names_scope_and_policy(self):
        body = {"target": "x.ops.p2p", "port": 5060}
        # A token for sip: URIs covers no DNS name (the scope is matched against the name).
        for kind, name, b in (("services", "_sip._udp.a.p2p", body), ("hosts", "a.p2p", {"address": "192.0.2.1"}),
                              ("services", "_sip._udp.x.ops.p2p", body)):
            with self.subTest(kind=kind, name=name):
                # Names are not URIs: the member at fault is "name".
                self.assert_problem(self.put_name(kind, name, b, token=SIP_ALL_SECRET), 403, "out-of-scope", "name")
                self.assert_problem(self.delete_name(kind, name, "x", token=SIP_ALL_SECRET), 403, "out-of-scope",
                                    "name")
                self.assert_problem(self.get_name(kind, name), 404, "no-record")
        # A token scoped to *.ops.p2p publishes and withdraws there, and nowhere else.
        r = self.put_name("services", "_sip._udp.x.ops.p2p", body, token=NAMES_SECRET)
        p = self.assert_name_publication(r, "services", "_sip._udp.x.ops.p2p",
                                         "s-" + hashlib.sha256(b"0 0 5060 x.ops.p2p").hexdigest()[:16],
                                         target="x.ops.p2p", port=5060, priority=0, weight=0)
        r = self.put_name("hosts", "X.Ops.P2P", {"address": "192.0.2.9", "instance": "h"}, token=NAMES_SECRET)
        self.assert_name_publication(r, "hosts", "x.ops.p2p", "h", address="192.0.2.9")
        for kind, name, b in (("hosts", "ops.p2p", {"address": "192.0.2.9"}),
                              ("hosts", "x.ops.p2p.evil", {"address": "192.0.2.9"}),
                              ("services", "_sip._udp.x.other.p2p", body)):
            with self.subTest(kind=kind, name=name):
                self.assert_problem(self.put_name(kind, name, b, token=NAMES_SECRET), 403, "out-of-scope", "name")
        # Nor does it cover other URIs.
        self.assert_problem(self.publish("sip:a@ops.example", "sip:a@192.0.2.9", token=NAMES_SECRET), 403,
                            "out-of-scope", "uri")
        self.assertEqual(self.delete_name("services", "_sip._udp.x.ops.p2p", p["instance"], token=NAMES_SECRET).status,
                         204)
        self.assertEqual(self.delete_name("hosts", "x.ops.p2p", "h", token=NAMES_SECRET).status, 204)
        # The publish policy pins locked.example (and its subdomains) to another key.
        for kind, name, b in (("hosts", "locked.example", {"address": "192.0.2.9"}),
                              ("hosts", "www.sub.locked.example", {"address": "192.0.2.9"}),
                              ("services", "_sip._udp.locked.example", body)):
            with self.subTest(kind=kind, name=name):
                self.assert_problem(self.put_name(kind, name, b), 403, "policy-denied", "name")
                self.assert_problem(self.get_name(kind, name), 404, "no-record")

    def test_g05_names_storage_full(self):
        # publish.max_publications=3 on the cap node, bindings and names together.
        used = self.status(self.cap)["publications"]
        self.assertLessEqual(used, 3)
        for i in range(3 - used):
            r = self.put_name("hosts", "full.p2p", {"address": "192.0.2.%d" % (i + 1)}, node=self.cap)
            self.assertEqual(r.status, 200, r)
        self.assert_problem(self.put_name("hosts", "full.p2p", {"address": "192.0.2.99"}, node=self.cap),
                            507, "storage-full")
        self.assert_problem(self.put_name("services", "_sip._udp.full.p2p", {"target": "full.p2p", "port": 1},
                                          node=self.cap), 507, "storage-full")
        self.assertEqual(self.status(self.cap)["publications"], 3)

    # ================= (h) DNS over HTTPS =================

    def test_h01_doh_answers(self):
        self.assertEqual(self.put_name("hosts", "xmpp.doh.p2p", {"address": "192.0.2.53", "instance": "v4"}).status,
                         200)
        self.assertEqual(self.put_name("hosts", "xmpp.doh.p2p", {"address": "2001:db8::53", "instance": "v6"}).status,
                         200)
        self.assertEqual(self.put_name("services", "_xmpp-server._tcp.doh.p2p",
                                       {"target": "xmpp.doh.p2p", "port": 5269, "priority": 5, "weight": 10}).status,
                         200)
        before = self.status()["dns"]
        # GET: the query in base64url.
        m = self.assert_dns_response(self.doh_get(dns_query("xmpp.doh.p2p", "A", 0x1234)), 0x1234, "NOERROR",
                                     ("xmpp.doh.p2p", "A"))
        self.assertEqual((m["aa"], m["rd"]), (1, 1))
        self.assertEqual([(n, t, v) for n, t, _ttl, v in m["answer"]], [("xmpp.doh.p2p", QTYPE["A"], "192.0.2.53")])
        self.assertTrue(0 < m["answer"][0][2] <= 300, m)
        # POST: the query as the body.
        m = self.assert_dns_response(self.doh_post(dns_query("XMPP.doh.p2p", "AAAA", 0xBEEF)), 0xBEEF, "NOERROR",
                                     ("XMPP.doh.p2p", "AAAA"))
        self.assertEqual([(n.lower(), t, v) for n, t, _ttl, v in m["answer"]],
                         [("xmpp.doh.p2p", QTYPE["AAAA"], "2001:db8::53")])
        m = self.assert_dns_response(self.doh_post(dns_query("_xmpp-server._tcp.doh.p2p", "SRV", 0)), 0, "NOERROR",
                                     ("_xmpp-server._tcp.doh.p2p", "SRV"))
        self.assertEqual([(n, t, v) for n, t, _ttl, v in m["answer"]],
                         [("_xmpp-server._tcp.doh.p2p", QTYPE["SRV"], (5, 10, 5269, "xmpp.doh.p2p"))])
        # A charset parameter on the media type is fine.
        r = self.doh_post(dns_query("xmpp.doh.p2p", "A", 7), ctype=DNS_MESSAGE + "; charset=binary")
        self.assert_dns_response(r, 7, "NOERROR", ("xmpp.doh.p2p", "A"))
        # Negative answers carry the zone's SOA.
        m = self.assert_dns_response(self.doh_get(dns_query("nothere.doh.p2p", "A", 0xFFFF)), 0xFFFF, "NXDOMAIN",
                                     ("nothere.doh.p2p", "A"))
        self.assertEqual((m["aa"], m["answer"]), (1, []))
        self.assertEqual([(n, t) for n, t, _ttl, _v in m["authority"]], [("p2p", QTYPE["SOA"])])
        m = self.assert_dns_response(self.doh_post(dns_query("xmpp.doh.p2p", "TXT", 0x0101)), 0x0101, "NOERROR",
                                     ("xmpp.doh.p2p", "TXT"))
        self.assertEqual((m["answer"], [t for _n, t, _ttl, _v in m["authority"]]), ([], [QTYPE["SOA"]]))
        # Outside every zone, with no upstream to forward to: REFUSED.
        m = self.assert_dns_response(self.doh_get(dns_query("www.example.com", "A", 0x2222)), 0x2222, "REFUSED",
                                     ("www.example.com", "A"))
        self.assertEqual(m["answer"], [])
        # A well-formed message that is no usable query still gets a DNS answer: FORMERR.
        r = self.doh_get(struct.pack("!HHHHHH", 0x3333, 0x0100, 0, 0, 0, 0))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"), DNS_MESSAGE)
        m = parse_dns(r.body)
        self.assertEqual((m["id"], m["qr"], m["rcode"]), (0x3333, 1, RCODE["FORMERR"]))
        after = self.status()["dns"]
        self.assertEqual(after["doh_queries"] - before["doh_queries"], 8)
        self.assertEqual((after["udp_queries"], after["tcp_queries"]), (before["udp_queries"], before["tcp_queries"]))
        # Withdrawn records leave the DoH answers too.
        self.assertEqual(self.delete_name("hosts", "xmpp.doh.p2p", "v4").status, 204)
        m = self.assert_dns_response(self.doh_get(dns_query("xmpp.doh.p2p", "A", 0x4444)), 0x4444, "NOERROR",
                                     ("xmpp.doh.p2p", "A"))
        self.assertEqual(m["answer"], [])

    def test_h02_doh_errors(self):
        wire = dns_query("xmpp.doh.p2p", "A", 0x5555)
        before = self.status()["dns"]
        # The dns parameter: base64url without padding, nothing else.
        for value in ("!!!", "", "A", "AAAAA", b64url(wire) + "==", base64.b64encode(b"\xfb\xff" * 8).decode(),
                      b64url(wire) + "%20", "%00" + b64url(wire)):
            with self.subTest(value=value):
                self.assert_problem(self.req("GET", "/dns-query?dns=" + value), 400, "invalid-field", "dns")
        self.assert_problem(self.req("GET", "/dns-query"), 400, "invalid-field", "dns")
        self.assert_problem(self.req("GET", "/dns-query?name=xmpp.doh.p2p&type=A"), 400, "invalid-field", "dns")
        # Shorter than a DNS header.
        self.assert_problem(self.req("GET", "/dns-query?dns=" + b64url(wire[:11])), 400, "invalid-dns-message", "dns")
        self.assert_problem(self.doh_post(wire[:11]), 400, "invalid-dns-message", "dns")
        # (Reported: an empty body is taken for a GET without its dns parameter, so the slug is
        # invalid-field, and POST /dns-query?dns=... with an empty body answers the URL's query.)
        r = self.doh_post(b"")
        self.assertEqual((r.status, r.json["field"]), (400, "dns"), r)
        # A message the DNS core will not answer: a response (QR set).
        response = dns_query("xmpp.doh.p2p", "A", 0x6666, flags=0x8100)
        self.assert_problem(self.doh_get(response), 400, "invalid-dns-message", "dns")
        self.assert_problem(self.doh_post(response), 400, "invalid-dns-message", "dns")
        after = self.status()["dns"]
        self.assertEqual(after["doh_queries"] - before["doh_queries"], 2)
        self.assertEqual(after["dropped"] - before["dropped"], 2)

    # ================= (e) client-signed records =================

    def test_e01_urictl_publish_with_own_key(self):
        key = os.path.join(self.workdir, "phone.key")
        pub = self.keygen(key)
        self.assertRegex(pub, HEX64)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        uri = "sip:frank@records.example"
        r = urictl("--url", self.main.url, "--token", self.main.token(), "--json", "publish", uri,
                   "sip:frank@192.0.2.100", "--key", key, "--instance", "ph", "--q", "0.4", "--expires", "120")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(schema_errors({"$ref": "#/components/schemas/RecordPublication"}, out), [])
        self.assertEqual((out["uri"], out["contact"], out["instance"], out["publisher"], out["tombstone"]),
                         (uri, "sip:frank@192.0.2.100", "ph", pub, False))
        self.assertAlmostEqual(out["q"], 0.4)
        got = self.resolve(uri)
        self.assertEqual(got.status, 200, got)
        self.assert_binding(got.json["bindings"][0], "sip:frank@192.0.2.100", "ph", 0.4, pub, 120)
        # A signed tombstone withdraws it.
        rec = self.signed("unpublish", uri, "ph", "--key", key)
        r = self.submit(rec)
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["tombstone"], r.json["contact"], r.json["publisher"]), (True, "", pub))
        self.assertEqual(r.headers.get("location"), "/v1/bindings?uri=%s&instance=ph" % quote(uri))
        self.assert_problem(self.resolve(uri), 404, "no-binding")

    def test_e02_tampered_and_replayed_records(self):
        key = os.path.join(self.workdir, "replay.key")
        pub = self.keygen(key)
        uri = "sip:gina@records.example"
        old = self.signed("publish", uri, "sip:gina@192.0.2.110", "--key", key, "--instance", "g", "--seq", "1000")
        new = self.signed("publish", uri, "sip:gina@192.0.2.111", "--key", key, "--instance", "g", "--seq", "2000")
        newer = self.signed("publish", uri, "sip:gina@192.0.2.112", "--key", key, "--instance", "g",
                            "--seq", "3000")
        r = self.submit(new)
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["seq"], r.json["publisher"], r.json["tombstone"]), (2000, pub, False))
        # Replays: an older record, and the same one again.
        self.assert_problem(self.submit(old), 409, "stale-record", "record")
        self.assert_problem(self.submit(new), 409, "stale-record", "record")
        # One flipped bit in the signature.
        raw = bytearray(base64.b64decode(newer))
        raw[-1] ^= 0x01
        r = self.submit(base64.b64encode(bytes(raw)).decode())
        self.assert_problem(r, 400, "invalid-record", "record")
        # ... or in the contact.
        raw = bytearray(base64.b64decode(newer))
        i = bytes(raw).index(b"192.0.2.112")
        raw[i] = ord("9")
        self.assert_problem(self.submit(base64.b64encode(bytes(raw)).decode()), 400, "invalid-record", "record")
        got = self.resolve(uri)
        self.assertEqual([b["contact"] for b in got.json["bindings"]], ["sip:gina@192.0.2.111"])
        # The untampered record is accepted: the flipped bit was what the daemon refused.
        r = self.submit(newer)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["seq"], 3000)
        got = self.resolve(uri)
        self.assertEqual([b["contact"] for b in got.json["bindings"]], ["sip:gina@192.0.2.112"])
        # Bodies that are not a record at all.
        tok = self.main.token()
        for body, slug in (({"record": "!!!!"}, "invalid-field"), ({"record": 5}, "invalid-field"),
                           ({"record": "abc"}, "invalid-field"), ({}, "invalid-field"),
                           ({"record": base64.b64encode(b"rd\x01\x01garbage").decode()}, "invalid-record")):
            with self.subTest(body=body):
                self.assert_problem(self.req("POST", "/v1/records", body, token=tok), 400, slug, "record")
        self.assert_problem(self.req("POST", "/v1/records", b"{", token=tok), 400, "invalid-json")
        # An unknown member is named by field, whatever else the body holds.
        for body, member in (({"record": newer, "seq": 1}, "seq"), ({"seq": 1, "record": newer}, "seq"),
                             ({"note": "hi"}, "note"), ({"record": 5, "n" * 200: None}, "n" * 200)):
            with self.subTest(member=member[:10]):
                self.assert_problem(self.req("POST", "/v1/records", body, token=tok), 400, "invalid-field", member)

    def test_e03_delegation(self):
        dev = os.path.join(self.workdir, "deleg-dev.key")
        dev_pub = self.keygen(dev)
        cert = os.path.join(self.workdir, "deleg.cert")
        r = urictl("delegate", "--key", self.domain_key, "--device", dev_pub, "--pattern", "sip:*@deleg.example",
                   "--not-after", str(int(time.time()) + 3600))
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(cert, "w") as f:
            f.write(r.stdout)
        base64.b64decode(r.stdout.strip(), validate=True)
        uri = "sip:hugo@deleg.example"
        r = urictl("--url", self.main.url, "--token", self.main.token(), "--json", "publish", uri,
                   "sip:hugo@192.0.2.120", "--key", dev, "--cert", cert, "--instance", "h")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["publisher"], dev_pub)
        got = self.resolve(uri)
        self.assertEqual(got.status, 200, got)
        self.assertEqual([(b["contact"], b["publisher"]) for b in got.json["bindings"]],
                         [("sip:hugo@192.0.2.120", dev_pub)])
        # The same device key without its certificate.
        rec = self.signed("publish", "sip:ida@deleg.example", "sip:ida@192.0.2.121", "--key", dev)
        self.assert_problem(self.submit(rec), 403, "policy-denied", "uri")
        # With it, but outside the delegated pattern (same domain).
        rec = self.signed("publish", "xmpp:ida@deleg.example", "xmpp:ida@192.0.2.121", "--key", dev, "--cert", cert)
        self.assert_problem(self.submit(rec), 403, "policy-denied", "uri")
        rec = self.signed("publish", "sip:ida@sub.deleg.example", "sip:ida@192.0.2.121", "--key", dev,
                          "--cert", cert)
        self.assert_problem(self.submit(rec), 403, "policy-denied", "uri")
        # The node's own key is not the domain's either.
        self.assert_problem(self.publish("sip:ida@deleg.example", "sip:ida@192.0.2.121"), 403, "policy-denied",
                            "uri")
        for u in ("sip:ida@deleg.example", "xmpp:ida@deleg.example", "sip:ida@sub.deleg.example"):
            self.assert_problem(self.resolve(u), 404, "no-binding")
        # A certificate made for another device key is refused by urictl itself.
        other = os.path.join(self.workdir, "deleg-other.key")
        self.keygen(other)
        r = urictl("--url", self.main.url, "--token", self.main.token(), "publish", "sip:jo@deleg.example",
                   "sip:jo@192.0.2.122", "--key", other, "--cert", cert)
        self.assertEqual(r.returncode, 3, r.stderr)

    # ================= (d) concurrency =================

    def test_d01_garbage_does_not_disturb_good_clients(self):
        port = self.main.http_port
        tok = self.main.token()
        uri = "sip:steady@conc.example"
        steady = self.publish(uri, "sip:steady@192.0.2.130", instance="st", q=0.6)
        self.assertEqual(steady.status, 201, steady)
        stop = threading.Event()
        anomalies = []
        counts = {}
        lock = threading.Lock()

        def exchange(data, read=True, timeout=3):
            try:
                return raw_exchange(port, data, timeout=timeout, read=read)
            except OSError:
                return None

        def bad_json(rnd):
            body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200))) + b"{"
            r = exchange(b"POST /v1/bindings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                         b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                         % (tok.encode(), len(body), body))
            slug = (r.json or {}).get("type") if r is not None else None
            if r is not None and (r.status != 400 or slug != "urn:resolverd:problem:invalid-json"):
                anomalies.append(("bad_json", r))

        def huge_headers(rnd):
            exchange(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * rnd.choice([9000, 70000, 300000])
                     + b"\r\nConnection: close\r\n\r\n")

        def truncated(rnd):
            full = (b"POST /v1/bindings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 80\r\n\r\n{\"uri\":\"sip:t@t\"" % tok.encode())
            exchange(full[:rnd.randrange(1, len(full))], read=False)

        def bad_method(rnd):
            m = rnd.choice([b"BREW", b"FOO", b"G\x01T", b"PUT", b"X" * 300])
            r = exchange(m + b" /v1/resolve?uri=sip%3Ax%40y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if m in (b"BREW", b"FOO", b"PUT") and r is not None and r.status != 405:
                anomalies.append(("bad_method", m, r))

        def random_bytes(rnd):
            exchange(bytes(rnd.randrange(256) for _ in range(10000)), timeout=1)

        kinds = [bad_json, huge_headers, truncated, bad_method, random_bytes]

        def garbage(seed):
            rnd = random.Random(seed)
            while not stop.is_set():
                k = rnd.choice(kinds)
                k(rnd)
                with lock:
                    counts[k.__name__] = counts.get(k.__name__, 0) + 1

        threads = [threading.Thread(target=garbage, args=(i,), daemon=True) for i in range(8)]
        t0 = time.time()
        for t in threads:
            t.start()
        try:
            resolved = published = 0
            for i in range(200):
                r = self.resolve("SIP:steady@CONC.example;transport=tcp")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["uri"], uri)
                self.assertEqual(len(r.json["bindings"]), 1, r)
                self.assert_binding(r.json["bindings"][0], "sip:steady@192.0.2.130", "st", 0.6, self.pub,
                                    expires_at=steady.json["expires_at"])
                resolved += 1
                if i % 10 == 0:
                    n = i // 10
                    r = self.publish("sip:burst%d@conc.example" % n, "sip:burst%d@192.0.2.131" % n,
                                     instance="b%d" % n, q=0.5)
                    self.assert_publication(r, "sip:burst%d@conc.example" % n, "sip:burst%d@192.0.2.131" % n,
                                            "b%d" % n, q=0.5)
                    published += 1
                time.sleep(max(0.0, (t0 + 3.0 * (i + 1) / 200) - time.time()))
            while time.time() - t0 < 3.0:
                time.sleep(0.05)
        finally:
            stop.set()
            for t in threads:
                t.join(15)
        self.assertEqual((resolved, published), (200, 20))
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(anomalies, [])
        self.assertEqual(set(counts), {k.__name__ for k in kinds}, counts)
        self.assertIsNone(self.main.proc.poll(), self.main.log())
        # Afterwards the daemon still serves.
        r = self.req("GET", "/healthz")
        self.assertEqual(r.status, 200)
        s = self.status()
        self.assertEqual(s["public_key"], self.pub)
        mine = {b["uri"]: b for b in self.listed()}
        for n in range(20):
            self.assertEqual(mine["sip:burst%d@conc.example" % n]["contact"], "sip:burst%d@192.0.2.131" % n)
            r = self.resolve("sip:burst%d@conc.example" % n)
            self.assertEqual([b["instance"] for b in r.json["bindings"]], ["b%d" % n])

    # ================= (f) start-up checks on the secret files =================

    def test_f01_secret_files_are_private(self):
        node = self.node("perm")
        old = os.umask(0)  # even with a permissive umask the secrets are 0600
        try:
            node.start()
        finally:
            os.umask(old)
        key = os.path.join(node.state_dir, "node.key")
        token = os.path.join(node.state_dir, "admin.token")
        for path in (key, token):
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, path)
        pub = self.status(node)["public_key"]
        secret = node.token()
        self.assertEqual(node.stop(), 0)
        for path, needle in ((key, "can be read by group or others; refusing to start"),
                             (token, "group or others can read it")):
            with self.subTest(path=path):
                os.chmod(path, 0o644)
                node.start(wait=False)
                try:
                    rc = node.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    node.stop()
                    self.fail("started with %s mode 0644" % path)
                node.proc = None
                self.assertNotEqual(rc, 0)
                lines = [ln for ln in node.log().splitlines() if needle in ln and path in ln]
                self.assertTrue(lines, node.log())
                self.assertIn("chmod 600", lines[-1])
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o644)
                os.chmod(path, 0o600)
        # Once fixed, it starts with the same identity and token.
        node.start()
        self.assertEqual(self.status(node)["public_key"], pub)
        self.assertEqual(node.token(), secret)

    # ================= (c) the spec, once more =================

    def test_z99_every_documented_operation_was_exercised(self):
        documented = {op["operationId"] for item in OPENAPI["paths"].values()
                      for op in item.values() if isinstance(op, dict) and "operationId" in op}
        self.assertLessEqual({"resolve", "listBindings", "publishBinding", "unpublishBinding", "submitRecord",
                              "status", "health", "metrics", "lookupService", "publishService", "unpublishService",
                              "lookupHost", "publishHost", "unpublishHost", "dohGet", "dohPost"}, documented)
        seen = {v[0] for v in VALIDATED}
        self.assertEqual(documented - seen, set(), "operations never exercised")
        # Each with a success; those that take input, with errors too.
        for op_id in documented:
            statuses = {v[3] for v in VALIDATED if v[0] == op_id}
            self.assertTrue(any(s < 300 for s in statuses), (op_id, statuses))
            if op_id in ("resolve", "publishBinding", "unpublishBinding", "submitRecord", "lookupService",
                         "publishService", "unpublishService", "lookupHost", "publishHost", "unpublishHost",
                         "dohGet", "dohPost"):
                self.assertIn(400, statuses, op_id)
            # Every read answers 403 outside http.read_acl; every write, 401 without a token.
            if op_id in ("resolve", "listBindings", "status", "metrics", "lookupService", "lookupHost", "dohGet",
                         "dohPost"):
                self.assertIn(403, statuses, op_id)
            if op_id in ("publishBinding", "unpublishBinding", "submitRecord", "publishService", "unpublishService",
                         "publishHost", "unpublishHost"):
                self.assertIn(401, statuses, op_id)
            # Every operation but the liveness probe answers 429 over http.rate_limit.
            if op_id != "health":
                self.assertIn(429, statuses, op_id)
        self.assertGreater(len(VALIDATED), 300)


if __name__ == "__main__":
    harness.main()

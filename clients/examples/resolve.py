#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Example client of the resolverd HTTP API, using only the Python standard library.

Usage:
    resolve.py [--url URL] [--token-file F] publish URI CONTACT [--expires S] [--q Q]
    resolve.py [--url URL] resolve URI

publish  POSTs the binding to /v1/bindings with a bearer token, then resolves
         the URI to show that the binding is live.
resolve  GETs /v1/resolve and prints one line per live binding:
         "CONTACT q=Q expires=S instance=I publisher=HEX".

The URL defaults to $RESOLVERD_URL, else http://127.0.0.1:7380. The token is
read from --token-file, else taken from $RESOLVERD_TOKEN, else read from
$RESOLVERD_TOKEN_FILE, else from the daemon's admin token file
/var/lib/resolverd/admin.token.

Errors come back as RFC 9457 problem details (application/problem+json);
they are printed as "STATUS TITLE: DETAIL" on stderr.

Exit status: 0 success, 1 not found (HTTP 404), 2 usage error, 3 any other error.

Example:
    resolve.py publish sip:alice@example.com sip:alice@192.0.2.10:5060 --expires 600
    resolve.py resolve sip:alice@example.com
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_URL = "http://127.0.0.1:7380"
DEFAULT_TOKEN_FILE = "/var/lib/resolverd/admin.token"
EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3


class ApiError(Exception):
    """A failed request: an HTTP problem, or a transport error (status 0)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status

    def exit_status(self):
        return EXIT_NOT_FOUND if self.status == 404 else EXIT_ERROR


def problem_message(status, body):
    """Summarize an error response, RFC 9457 problem details if it has them."""
    try:
        problem = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        problem = None
    if not isinstance(problem, dict) or "title" not in problem:
        return "unexpected HTTP status %d" % status
    message = "%d %s: %s" % (status, problem.get("title"), problem.get("detail", ""))
    if "field" in problem:
        message += ' (field "%s")' % problem["field"]
    return message


def request(base_url, method, path, body=None, token=None):
    """Send one request; return the decoded JSON answer (None when empty)."""
    headers = {"Accept": "application/json, application/problem+json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(base_url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as err:
        raise ApiError(err.code, problem_message(err.code, err.read())) from None
    except (urllib.error.URLError, OSError) as err:
        raise ApiError(0, "%s: %s" % (base_url, getattr(err, "reason", err))) from None
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        raise ApiError(0, "the daemon sent a malformed JSON body") from None


def read_token(token_file):
    """Find the bearer token, as urictl does."""
    if token_file is None:
        if os.environ.get("RESOLVERD_TOKEN"):
            return os.environ["RESOLVERD_TOKEN"].strip()
        token_file = os.environ.get("RESOLVERD_TOKEN_FILE") or DEFAULT_TOKEN_FILE
    try:
        with open(token_file, encoding="ascii") as f:
            token = f.read().strip()
    except (OSError, UnicodeDecodeError) as err:
        raise ApiError(0, "cannot read token file %s: %s" % (token_file, err)) from None
    if not token:
        raise ApiError(0, "the token file %s is empty" % token_file)
    return token


def print_binding(binding):
    print("%s q=%s expires=%s instance=%s publisher=%s" % (
        binding.get("contact"), binding.get("q"), binding.get("expires"),
        binding.get("instance"), binding.get("publisher")))


def cmd_resolve(args):
    query = urllib.parse.urlencode({"uri": args.uri})
    answer = request(args.url, "GET", "/v1/resolve?" + query) or {}
    for binding in answer.get("bindings", []):
        print_binding(binding)
    return EXIT_OK


def cmd_publish(args):
    body = {"uri": args.uri, "contact": args.contact}
    if args.expires is not None:
        body["expires"] = args.expires
    if args.q is not None:
        body["q"] = args.q
    token = read_token(args.token_file)
    pub = request(args.url, "POST", "/v1/bindings", body, token) or {}
    print("published %s -> %s instance=%s seq=%s expires=%s" % (
        pub.get("uri"), pub.get("contact"), pub.get("instance"), pub.get("seq"), pub.get("expires")))
    print("resolving %s:" % pub.get("uri"))
    return cmd_resolve(args)


def add_common_options(parser, top):
    """--url and --token-file, accepted before and after the command."""
    # After the command they must not reset what was given before it, hence SUPPRESS.
    parser.add_argument("--url", default=(os.environ.get("RESOLVERD_URL") or DEFAULT_URL)
                        if top else argparse.SUPPRESS)
    parser.add_argument("--token-file", default=None if top else argparse.SUPPRESS,
                        help="file holding the bearer token (default: the admin token)")


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Publish and resolve URIs through resolverd.")
    add_common_options(parser, True)
    sub = parser.add_subparsers(dest="command", required=True)
    pub = sub.add_parser("publish", help="publish URI -> CONTACT, then resolve URI")
    add_common_options(pub, False)
    pub.add_argument("uri")
    pub.add_argument("contact")
    pub.add_argument("--expires", type=int, help="lifetime in seconds (default: the daemon's, 3600)")
    pub.add_argument("--q", type=float, help="preference 0..1 (default 1.0)")
    pub.set_defaults(run=cmd_publish)
    res = sub.add_parser("resolve", help="print the live bindings of URI")
    add_common_options(res, False)
    res.add_argument("uri")
    res.set_defaults(run=cmd_resolve)
    args = parser.parse_args(argv)  # exits with status 2 on a usage error
    args.url = args.url.rstrip("/")
    return args


def main(argv):
    args = parse_args(argv)
    try:
        return args.run(args)
    except ApiError as err:
        print("resolve.py: %s" % err, file=sys.stderr)
        return err.exit_status()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

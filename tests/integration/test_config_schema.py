#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks schemas/config.schema.json against etc/resolverd.yaml, and that it rejects bad documents."""

import copy
import json
import os
import pathlib
import unittest

import jsonschema
import yaml

SOURCE_ROOT = pathlib.Path(
    os.environ.get("RESOLVERD_SOURCE_ROOT", pathlib.Path(__file__).resolve().parents[2])
)
SCHEMA_PATH = SOURCE_ROOT / "schemas" / "config.schema.json"
CONFIG_PATH = SOURCE_ROOT / "etc" / "resolverd.yaml"

HEX_KEY = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"


def load_schema():
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


def load_config():
    with open(CONFIG_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def leaf_defaults(node, path=""):
    """Yield (dotted name, default) for every property of the schema that declares a default."""
    for name, prop in node.get("properties", {}).items():
        dotted = f"{path}.{name}" if path else name
        if "default" in prop:
            yield dotted, prop["default"]
        yield from leaf_defaults(prop, dotted)


def leaf_names(doc, options, path=""):
    """Yield the dotted names of the options set in doc: its leaves, or any name in options."""
    for name, value in doc.items():
        dotted = f"{path}.{name}" if path else name
        if isinstance(value, dict) and dotted not in options:
            yield from leaf_names(value, options, dotted)
        else:
            yield dotted


def lookup(doc, dotted):
    for part in dotted.split("."):
        doc = doc[part]
    return doc


def with_value(doc, dotted, value):
    """A deep copy of doc with the dotted key set to value (sections created as needed)."""
    doc = copy.deepcopy(doc)
    node = doc
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return doc


class ConfigSchemaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.schema = load_schema()
        cls.validator_class = jsonschema.validators.validator_for(cls.schema)
        cls.validator = cls.validator_class(cls.schema)
        cls.config = load_config()

    def assert_valid(self, doc):
        errors = [e.message for e in self.validator.iter_errors(doc)]
        self.assertEqual(errors, [], f"document should be valid: {doc!r}")

    def assert_invalid(self, doc):
        self.assertFalse(self.validator.is_valid(doc), f"document should be rejected: {doc!r}")

    def test_schema_is_a_valid_schema(self):
        self.assertEqual(self.schema["$schema"], "https://json-schema.org/draft/2020-12/schema")
        self.validator_class.check_schema(self.schema)

    def test_shipped_config_is_valid(self):
        self.assert_valid(self.config)

    def test_shipped_config_sets_every_option_to_its_default(self):
        defaults = dict(leaf_defaults(self.schema))
        # 45 options: the four maps (http.tokens, policy.domains, dns.dht_zones, plugins) count as one each.
        self.assertEqual(len(defaults), 45)
        self.assertEqual(set(leaf_names(self.config, set(defaults))), set(defaults))
        for dotted, default in defaults.items():
            with self.subTest(option=dotted):
                self.assertEqual(lookup(self.config, dotted), default)

    def test_every_object_is_closed(self):
        def walk(node, where):
            if isinstance(node, dict):
                if node.get("type") == "object":
                    self.assertIn("additionalProperties", node, where)
                    if "properties" in node:
                        self.assertIs(node["additionalProperties"], False, where)
                for key, child in node.items():
                    walk(child, f"{where}/{key}")
            elif isinstance(node, list):
                for i, child in enumerate(node):
                    walk(child, f"{where}/{i}")

        walk(self.schema, "#")

    def test_full_config_is_valid(self):
        doc = with_value(self.config, "dht.bootstrap", ["bootstrap.example.net:4222", "192.0.2.1:4222",
                                                         "[2001:db8::1]:4222"])
        doc = with_value(doc, "http.listen", ["0.0.0.0:80", "[::]:8080"])
        doc = with_value(doc, "http.read_acl", ["10.0.0.0/8", "192.0.2.7", "::1", "2001:db8::/32"])
        doc = with_value(doc, "http.tokens", {"ops": {"token": "0123456789abcdef", "scopes": ["sip:*@a.example",
                                                                                             "tel:*"]}})
        doc = with_value(doc, "policy.domains", {"Example.COM": {"keys": [HEX_KEY, HEX_KEY.upper()]}})
        doc = with_value(doc, "policy.default", "keys")
        doc = with_value(doc, "fallback.servers", ["192.0.2.53:53", "[2001:db8::53]:5353"])
        doc = with_value(doc, "plugins.sip", {"enabled": False, "fallback": False, "path": "/opt/rd_sip.so",
                                              "listen": ["127.0.0.1:5060"], "min_expires": 30, "realm": "",
                                              "users": {"alice": {"password": "s3cret"}}})
        doc = with_value(doc, "plugins.mock", {"greeting": "hello", "nested": {"a": [1, 2]}})
        self.assert_valid(doc)

    def test_bad_documents_are_rejected(self):
        bad = {
            "unknown top-level key": ("dhtt", {}),
            "unknown nested key": ("dht.listn", "127.0.0.1:1"),
            "string where an integer goes": ("dht.network", "30741"),
            "integer below range": ("http.threads", 0),
            "integer above range": ("http.threads", 65),
            "negative network id": ("dht.network", -1),
            "network id above 32 bits": ("dht.network", 4294967296),
            "float": ("http.timeout_s", 1.5),
            "scalar where a list goes": ("http.listen", "127.0.0.1:7380"),
            "address without port": ("http.listen", ["127.0.0.1"]),
            "port 0": ("http.listen", ["127.0.0.1:0"]),
            "port above 65535": ("dns.listen", ["127.0.0.1:65536"]),
            "unbracketed IPv6": ("dht.listen", "::1:4222"),
            "name where a numeric address goes": ("dht.listen", "localhost:4222"),
            "bad IPv4 octet": ("http.listen", ["127.0.0.256:80"]),
            "bootstrap without port": ("dht.bootstrap", ["bootstrap.example.net"]),
            "bootstrap numeric non-address": ("dht.bootstrap", ["1.2.3.999:4222"]),
            "CIDR prefix too long": ("http.read_acl", ["10.0.0.0/33"]),
            "IPv6 CIDR prefix too long": ("http.read_acl", ["::1/129"]),
            "CIDR garbage": ("http.read_acl", ["everyone"]),
            "bad enum": ("policy.default", "closed"),
            "bad log level": ("log.level", "loud"),
            "short hex key": ("policy.domains", {"example.com": {"keys": [HEX_KEY[:-1]]}}),
            "non-hex key": ("policy.domains", {"example.com": {"keys": ["g" * 64]}}),
            "bad domain name": ("policy.domains", {"exa mple.com": {"keys": []}}),
            "unknown domain field": ("policy.domains", {"example.com": {"key": []}}),
            "short token": ("http.tokens", {"ops": {"token": "short"}}),
            "token with a space": ("http.tokens", {"ops": {"token": "0123456789 abcdef"}}),
            "bad token name": ("http.tokens", {"o/ps": {"token": "0123456789abcdef"}}),
            "unknown token field": ("http.tokens", {"ops": {"secret": "0123456789abcdef"}}),
            "empty scope": ("http.tokens", {"ops": {"token": "0123456789abcdef", "scopes": [""]}}),
            "empty state_dir": ("state_dir", ""),
            "null section": ("http", None),
            "fallback timeout below range": ("fallback.timeout_ms", 99),
            "fallback server by name": ("fallback.servers", ["dns.example:53"]),
            "plugin name with capitals": ("plugins.Sip", {}),
            "plugin enabled not a boolean": ("plugins.xmpp.enabled", "yes"),
            "plugin path empty": ("plugins.tel.path", ""),
            "plugin key with a dot": ("plugins.mock", {"a.b": 1}),
            "sip min_expires not an integer": ("plugins.sip.min_expires", "60"),
            "sip listen by name": ("plugins.sip.listen", ["localhost:5060"]),
            "sip user without password": ("plugins.sip.users", {"alice": {}}),
        }
        for what, (dotted, value) in bad.items():
            with self.subTest(what=what):
                self.assert_invalid(with_value(self.config, dotted, value))

    def test_non_mapping_top_level_is_rejected(self):
        self.assert_invalid(["state_dir"])
        self.assert_invalid("state_dir")


if __name__ == "__main__":
    unittest.main()

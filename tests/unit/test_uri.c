/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for resolverd/core/uri.c: generic RFC 3986 normalization and the scheme registry. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/core/uri.h"

#define REASON_TOO_LONG "URI longer than 512 bytes"
#define REASON_NO_SCHEME "missing scheme"
#define REASON_BAD_SCHEME "invalid scheme: it must be a letter followed by letters, digits, '+', '-' or '.'"
#define REASON_CONTROL "control characters and spaces are not allowed in a URI"
#define REASON_NON_ASCII "URIs are ASCII (RFC 3986): percent-encode other characters"
#define REASON_BAD_CHAR "character not allowed in a URI (RFC 3986): percent-encode it"
#define REASON_FRAGMENT "fragments are not part of a URI's identity"
#define REASON_BAD_ESCAPE "invalid percent-encoding: '%' must be followed by two hex digits"
#define REASON_BAD_PORT "invalid port: it must be a number from 0 to 65535"
#define REASON_BAD_HOST "invalid character in host"
#define REASON_BAD_LITERAL "invalid IP literal in host"
#define REASON_BAD_USERINFO "invalid character in userinfo"
#define REASON_NO_HOST "missing host after '@'"
#define REASON_PATH_SLASHES "a path without an authority cannot begin with '//' once its dot-segments are removed"

/** Normalize @p in, which must succeed; returns the parts (caller deinits). */
static struct uri_parts normalize_ok(const char *in)
{
	struct uri_parts parts = {0};
	const char *reason = NULL;
	int err = uri_normalize(in, &parts, &reason);

	cr_assert_eq(err, 0, "'%s' rejected: %s", in, reason ? reason : "(no reason)");
	cr_assert_not_null(parts.uri);
	return parts;
}

/** Normalize @p in and return the URI as a new string. */
static char *normalized(const char *in)
{
	struct uri_parts parts = normalize_ok(in);
	char *uri = strdup(parts.uri);

	uri_parts_deinit(&parts);
	return uri;
}

static void expect_same(const char *in, const char *expected)
{
	char *out = normalized(in);
	char *again = normalized(out);

	cr_assert_str_eq(out, expected, "'%s'", in);
	cr_assert_str_eq(again, out, "normalization of '%s' is not idempotent", in);
	free(out);
	free(again);
}

static void expect_error(const char *in, const char *reason)
{
	struct uri_parts parts = {.uri = (char *)"untouched"};
	const char *got = NULL;
	int err = uri_normalize_generic(in, &parts, &got, NULL);

	cr_assert_eq(err, -EINVAL, "'%s' accepted", in);
	cr_assert_not_null(got, "'%s': no reason", in);
	cr_assert_str_eq(got, reason, "'%s'", in);
	cr_assert_str_eq(parts.uri, "untouched", "ret written on failure");
	got = NULL;
	cr_assert_eq(uri_normalize(in, &parts, &got), -EINVAL);
	cr_assert_str_eq(got, reason, "uri_normalize('%s')", in);
}

static void expect_host(const char *in, const char *host)
{
	struct uri_parts parts = normalize_ok(in);

	if (host == NULL)
		cr_assert_null(parts.host, "'%s' has host '%s'", in, parts.host);
	else
		cr_assert_str_eq(parts.host, host, "'%s'", in);
	cr_assert_null(parts.instance, "the generic normalizer never sets an instance");
	uri_parts_deinit(&parts);
}

Test(uri, equivalent_spellings)
{
	static const struct {
		const char *expected;
		const char *spellings[8];
	} groups[] = {
		{"http://example.com/",
		 {"http://example.com", "HTTP://EXAMPLE.COM/", "http://Example.Com:80/",
		  "http://example.com:/", "http://example.com:080/", "http://example.com/./",
		  "http://example.com/a/../", "hTTp://%65xample.COM/%2E/"}},
		{"http://User@example.com/~a/b%2Fc?Q=%C3%A9",
		 {"http://User@EXAMPLE.com:80/%7Ea/./b%2fc?Q=%c3%a9",
		  "http://User@example.com/x/../%7ea/b%2Fc?Q=%C3%A9"}},
		{"https://example.com:8443/a/c",
		 {"HTTPS://example.com:8443/a/b/../c", "https://example.com:08443/a/./c",
		  "https://example.com:8443/a/b/c/../../c"}},
		{"sip:Alice@example.com;transport=udp",
		 {"sip:Alice@Example.COM;transport=udp", "SIP:Alice@EXAMPLE.com:5060;transport=udp",
		  "sip:%41lice@example.com;transport=udp", "sip:Alice@example.com:05060;transport=udp"}},
		{"sip:alice@[2001:db8::1];transport=tcp",
		 {"sip:alice@[2001:DB8::1]:5060;transport=tcp"}},
		{"sips:alice@example.com", {"sips:alice@example.com:5061", "SIPS:alice@EXAMPLE.COM"}},
		{"xmpp:bob@example.org/phone",
		 {"XMPP:bob@Example.ORG/phone", "xmpp:bob@example.org:5222/phone"}},
		{"xmpp:bob@example.org/res@Home", {"xmpp:bob@Example.org/res@Home"}},
		{"h323:carol@example.net", {"H323:carol@EXAMPLE.net:1720", "h323:carol@example.net:"}},
		{"mailto:x@y.example", {"MAILTO:x@Y.Example", "mailto:%78@y.example"}},
		{"sip:+12125551212;phone-context=example.com@gateway.com;user=phone",
		 {"sip:+12125551212;phone-context=example.com@Gateway.COM;user=phone"}},
		{"tel:+1-555-0100", {"TEL:+1-555-0100", "tel:+1-555-0100"}},
		{"http://[2001:db8::1]/", {"http://[2001:DB8::1]:80", "HTTP://[2001:db8::1]/"}},
		{"file:///etc/hosts", {"file:///etc/./hosts", "FILE:///etc/x/../hosts"}},
		{"urn:ietf:rfc:3986", {"URN:ietf:rfc:3986"}},
		{"ws://example.com/chat", {"ws://example.com:80/chat"}},
		{"wss://example.com/", {"wss://EXAMPLE.com:443"}},
		{"ftp://ftp.example.com/", {"ftp://ftp.example.com:21"}},
		{"http://example.com/a/g", {"http://example.com/a/b/c/./../../g"}},
		{"http://example.com/a",
		 {"http://example.com/../a", "http://example.com/../../a", "http://example.com/./a"}},
		{"http://example.com/a/", {"http://example.com/a/.", "http://example.com/a/b/.."}},
		{"http://example.com/b", {"http://example.com/a/%2E%2E/b", "http://example.com/a/%2e./b"}},
		{"http://example.com/a..b/.c/..d", {"http://example.com/a..b/.c/..d"}},
		{"http://example.com/?a=~", {"http://example.com?a=%7e", "http://example.com/?a=%7E"}},
		{"http://example.com/?x=/../", {"http://example.com/?x=/../"}},
		{"http://example.com/%C3%A9", {"http://example.com/%c3%a9"}},
		{"http://example.com:8080/", {"http://example.com:8080"}},
		{"http://example.com:443/", {"http://example.com:443"}},
		{"http://example.com:0/", {"http://example.com:000/"}},
		{"sip:a@example.com:5080", {"sip:a@EXAMPLE.com:5080"}},
		{"foo:Alice@Example.COM", {"FOO:Alice@Example.COM"}},
		{"file:/a/c", {"file:/a/b/../c"}},
		{"news:comp.infosystems.www.servers.unix", {"news:comp.infosystems.www.servers.unix"}},
	};

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		expect_same(groups[g].expected, groups[g].expected);
		for (size_t i = 0; i < 8 && groups[g].spellings[i] != NULL; i++)
			expect_same(groups[g].spellings[i], groups[g].expected);
	}
}

Test(uri, different_uris_stay_different)
{
	static const char *const pairs[][2] = {
		{"sip:alice@example.com", "sip:Alice@example.com"},
		{"http://example.com/a", "http://example.com/A"},
		{"http://example.com:8080/", "http://example.com/"},
		{"sip:alice@example.com", "sips:alice@example.com"},
		{"http://example.com/a%2Fb", "http://example.com/a/b"},
		{"tel:+1-555-0100", "tel:+15550100"},
		{"http://example.com/?q", "http://example.com/"},
		{"xmpp:bob@example.org/phone", "xmpp:bob@example.org/Phone"},
		{"http://example.com:443/", "https://example.com/"},
		{"http://example.com/a/", "http://example.com/a"},
		{"mailto:a/../b@example.com", "mailto:b@example.com"},
		{"urn:ietf:rfc:3986", "urn:ietf:rfc:3987"},
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char *a = normalized(pairs[i][0]);
		char *b = normalized(pairs[i][1]);

		cr_assert_str_neq(a, b, "'%s' and '%s' both became '%s'", pairs[i][0], pairs[i][1], a);
		free(a);
		free(b);
	}
}

Test(uri, hosts)
{
	expect_host("http://User@Example.COM:8080/x", "example.com");
	expect_host("http://[2001:DB8::1]/", "2001:db8::1");
	expect_host("http://ex%41mple.com/", "example.com");
	expect_host("sip:alice@Example.COM;transport=udp", "example.com");
	expect_host("sip:alice@[::1]:5070", "::1");
	expect_host("sip:+1;phone-context=a.example@GW.example;user=phone", "gw.example");
	expect_host("xmpp:bob@Example.org/res@x", "example.org");
	expect_host("h323:carol@Example.NET:1720", "example.net");
	expect_host("mailto:x@Y.Example?subject=hi@there", "y.example");
	expect_host("tel:+1-555-0100", NULL);
	expect_host("file:///etc/hosts", NULL);
	expect_host("urn:x:y", NULL);
	expect_host("foo:alice@example.com", NULL);
	expect_host("sip:example.com", NULL);
}

Test(uri, errors)
{
	static const struct {
		const char *in;
		const char *reason;
	} cases[] = {
		{"", REASON_NO_SCHEME},
		{"example.com", REASON_NO_SCHEME},
		{":foo", REASON_NO_SCHEME},
		{"1http://x", REASON_BAD_SCHEME},
		{"ht_tp://x", REASON_BAD_SCHEME},
		{"a/b:c", REASON_BAD_SCHEME},
		{"http://exa mple.com/", REASON_CONTROL},
		{" http://example.com/", REASON_CONTROL},
		{"http://example.com/\x01", REASON_CONTROL},
		{"http://example.com/\t", REASON_CONTROL},
		{"http://example.com/\x7f", REASON_CONTROL},
		{"http://example.com/\xc3\xa9", REASON_NON_ASCII},
		{"sip:j\xc3\xbcrgen@example.com", REASON_NON_ASCII},
		{"http://example.com/#frag", REASON_FRAGMENT},
		{"sip:alice@example.com#", REASON_FRAGMENT},
		{"http://example.com/%G1", REASON_BAD_ESCAPE},
		{"http://example.com/%1G", REASON_BAD_ESCAPE},
		{"http://example.com/%4", REASON_BAD_ESCAPE},
		{"http://example.com/%", REASON_BAD_ESCAPE},
		{"sip:alice@exa%zzmple.com", REASON_BAD_ESCAPE},
		{"http://example.com/a<b", REASON_BAD_CHAR},
		{"http://example.com/\"", REASON_BAD_CHAR},
		{"http://example.com/{}", REASON_BAD_CHAR},
		{"http://example.com/a|b", REASON_BAD_CHAR},
		{"http://example.com/a\\b", REASON_BAD_CHAR},
		{"http://example.com/^", REASON_BAD_CHAR},
		{"http://example.com/`", REASON_BAD_CHAR},
		{"http://example.com:80a/", REASON_BAD_PORT},
		{"http://example.com:65536/", REASON_BAD_PORT},
		{"http://example.com:99999999999999999999/", REASON_BAD_PORT},
		{"http://example.com:-1/", REASON_BAD_PORT},
		{"sip:alice@example.com:50x0", REASON_BAD_PORT},
		{"http://exa[mple.com/", REASON_BAD_HOST},
		{"http://[::1/", REASON_BAD_LITERAL},
		{"http://[]/", REASON_BAD_LITERAL},
		{"http://[::1]x/", REASON_BAD_LITERAL},
		{"http://[::1]]/", REASON_BAD_LITERAL},
		{"http://[[::1]/", REASON_BAD_LITERAL},
		{"http://[::1@]/", REASON_BAD_USERINFO},
		{"http://a@b@example.com/", REASON_BAD_USERINFO},
		{"http://a[b@example.com/", REASON_BAD_USERINFO},
		{"sip:alice@", REASON_NO_HOST},
		{"sip:alice@;transport=udp", REASON_NO_HOST},
		{"xmpp:bob@/phone", REASON_NO_HOST},
		{"sip:alice@[::1", REASON_BAD_LITERAL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].in, cases[i].reason);
}

/*
 * Found by tests/fuzz/fuzz_uri (tests/fuzz/regressions/uri/): "http:/..//x" lost its dot-segment and
 * became "http://x", which normalizes again to a URI whose host is x, so normalization was not idempotent.
 */
Test(uri, path_that_would_read_as_an_authority)
{
	expect_error("http:/..//2exale.///exale.com/%7E%2D%2E%5Fcom/%7E%2D%2E%5F", REASON_PATH_SLASHES);
	expect_error("http:/..//example.com/", REASON_PATH_SLASHES);
	expect_error("foo:/.//x", REASON_PATH_SLASHES);
	expect_error("foo:/a/..//b", REASON_PATH_SLASHES);
	expect_same("foo:/a//b", "foo:/a//b");
	expect_same("foo:/./a//b", "foo:/a//b");
	expect_same("http://example.com/..//x", "http://example.com//x");
}

/*
 * Found by tests/fuzz/fuzz_uri (tests/fuzz/regressions/uri/): a port with no host after the '@' of
 * an authority-less URI was dropped with its ':', leaving "user@" and a URI that no longer normalizes.
 */
Test(uri, port_without_host_after_at)
{
	expect_error("sip:htatps%2e%47e%40%2F@://om:a4ople", REASON_NO_HOST);
	expect_error("sip:alice@:5060", REASON_NO_HOST);
	expect_error("sip:alice@:", REASON_NO_HOST);
	expect_error("xmpp:bob@:5222/phone", REASON_NO_HOST);
	expect_same("sip:alice@example.com:05060", "sip:alice@example.com");
}

Test(uri, highest_port_is_valid)
{
	expect_same("http://example.com:65535/", "http://example.com:65535/");
}

/** "http://" followed by 'a's up to @p len bytes in all. */
static char *long_uri(const char *prefix, size_t len)
{
	char *s = malloc(len + 1);

	cr_assert_not_null(s);
	strcpy(s, prefix);
	memset(s + strlen(prefix), 'a', len - strlen(prefix));
	s[len] = '\0';
	return s;
}

Test(uri, length_limits)
{
	char *ok = long_uri("http://example.com/", URI_MAX_LEN);
	char *too_long = long_uri("http://example.com/", URI_MAX_LEN + 1);
	char *grows = long_uri("http://", URI_MAX_LEN);
	char *shrinks = long_uri("http://example.com:80/", URI_MAX_LEN + 3);
	char *out = normalized(ok);

	cr_assert_eq(strlen(out), URI_MAX_LEN);
	free(out);
	expect_error(too_long, REASON_TOO_LONG);
	/* 512 bytes in, but the empty path becomes "/": 513 out. */
	expect_error(grows, REASON_TOO_LONG);
	grows[URI_MAX_LEN - 1] = '\0';
	out = normalized(grows);
	cr_assert_eq(strlen(out), URI_MAX_LEN);
	free(out);
	/* Over the limit before normalization is refused even if it would shrink. */
	expect_error(shrinks, REASON_TOO_LONG);
	free(ok);
	free(too_long);
	free(grows);
	free(shrinks);
}

Test(uri, parts_deinit_is_safe_twice)
{
	struct uri_parts parts = {0};

	uri_parts_deinit(&parts);
	parts = normalize_ok("http://example.com/");
	cr_assert_not_null(parts.host);
	uri_parts_deinit(&parts);
	cr_assert_null(parts.uri);
	cr_assert_null(parts.host);
	uri_parts_deinit(&parts);
}

/* ---- registry ---- */

struct fake {
	int calls;
	int result;
	const char *output;
};

static int fake_normalize(const char *in, struct uri_parts *ret, const char **ret_reason, void *ud)
{
	struct fake *f = ud;

	f->calls++;
	if (f->result < 0) {
		*ret_reason = "fake refusal";
		return f->result;
	}
	*ret = (struct uri_parts){.uri = f->output ? strdup(f->output) : NULL, .instance = strdup("inst")};
	return 0;
}

static void registry_reset(void)
{
	uri_clear_normalizers();
}

TestSuite(uri_registry, .init = registry_reset, .fini = registry_reset);

Test(uri_registry, dispatches_by_scheme_case_insensitively)
{
	struct fake f = {.output = "test:fake"};
	const struct uri_normalizer n = {.scheme = "test", .normalize = fake_normalize, .ud = &f};
	struct uri_parts parts;

	cr_assert_eq(uri_register_normalizer(&n), 0);
	parts = normalize_ok("TeSt:Anything");
	cr_assert_str_eq(parts.uri, "test:fake");
	cr_assert_str_eq(parts.instance, "inst");
	uri_parts_deinit(&parts);
	cr_assert_eq(f.calls, 1);
	parts = normalize_ok("HTTP://Example.com");
	cr_assert_str_eq(parts.uri, "http://example.com/");
	uri_parts_deinit(&parts);
	parts = normalize_ok("testing:x");
	cr_assert_str_eq(parts.uri, "testing:x", "a longer scheme must not match");
	uri_parts_deinit(&parts);
	cr_assert_eq(f.calls, 1);
}

Test(uri_registry, replaces_and_clears)
{
	struct fake a = {.output = "test:a"}, b = {.output = "test:b"};
	const struct uri_normalizer na = {.scheme = "test", .normalize = fake_normalize, .ud = &a};
	const struct uri_normalizer nb = {.scheme = "TEST", .normalize = fake_normalize, .ud = &b};
	struct uri_parts parts;

	cr_assert_eq(uri_register_normalizer(&na), 0);
	cr_assert_eq(uri_register_normalizer(&nb), 0);
	parts = normalize_ok("test:x");
	cr_assert_str_eq(parts.uri, "test:b");
	uri_parts_deinit(&parts);
	cr_assert_eq(a.calls, 0);
	uri_clear_normalizers();
	parts = normalize_ok("test:X");
	cr_assert_str_eq(parts.uri, "test:X", "generic rules after clearing");
	uri_parts_deinit(&parts);
	cr_assert_eq(b.calls, 1);
}

Test(uri_registry, full)
{
	static char schemes[33][8];
	static struct uri_normalizer n[33];
	struct fake f = {.output = "s1:x"};

	for (int i = 0; i < 33; i++) {
		snprintf(schemes[i], sizeof(schemes[i]), "s%d", i);
		n[i] = (struct uri_normalizer){.scheme = schemes[i], .normalize = fake_normalize, .ud = &f};
	}
	for (int i = 0; i < 32; i++)
		cr_assert_eq(uri_register_normalizer(&n[i]), 0, "%d", i);
	cr_assert_eq(uri_register_normalizer(&n[32]), -EEXIST);
	cr_assert_eq(uri_register_normalizer(&n[1]), 0, "replacing still works when full");
	uri_clear_normalizers();
	cr_assert_eq(uri_register_normalizer(&n[32]), 0, "room again after clearing");
}

Test(uri_registry, plugin_errors_and_limits)
{
	struct fake f = {.result = -EINVAL};
	const struct uri_normalizer n = {.scheme = "test", .normalize = fake_normalize, .ud = &f};
	struct uri_parts parts = {0};
	const char *reason = NULL;
	char *big = long_uri("test:", URI_MAX_LEN + 1);
	char *out = long_uri("test:", URI_MAX_LEN + 1);

	cr_assert_eq(uri_register_normalizer(&n), 0);
	cr_assert_eq(uri_normalize("test:x", &parts, &reason), -EINVAL);
	cr_assert_str_eq(reason, "fake refusal");
	f.result = -ENOMEM;
	cr_assert_eq(uri_normalize("test:x", &parts, &reason), -ENOMEM);
	cr_assert_eq(f.calls, 2);
	cr_assert_eq(uri_normalize(big, &parts, &reason), -EINVAL);
	cr_assert_str_eq(reason, REASON_TOO_LONG);
	cr_assert_eq(f.calls, 2, "too-long input never reaches the plugin");
	f.result = 0;
	f.output = out;
	cr_assert_eq(uri_normalize("test:x", &parts, &reason), -EINVAL);
	cr_assert_str_eq(reason, REASON_TOO_LONG, "too-long output is refused");
	f.output = NULL;
	reason = NULL;
	cr_assert_eq(uri_normalize("test:x", &parts, &reason), -EINVAL);
	cr_assert_not_null(reason);
	cr_assert_null(parts.uri, "ret untouched on failure");
	free(big);
	free(out);
}

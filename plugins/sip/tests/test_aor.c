/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for plugins/sip/aor.c: equivalence and rejection tables for sip:/sips: addresses of record. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plugins/sip/aor.h"

/** Normalize @p in, which must succeed. */
static struct rd_name normalize_ok(const char *in)
{
	struct rd_name out;
	const char *reason = NULL;
	int err;

	memset(&out, 0x55, sizeof(out));
	err = sip_aor_normalize(in, &out, &reason);
	cr_assert_eq(err, 0, "'%s' rejected (%d): %s", in, err, reason != NULL ? reason : "(no reason)");
	cr_assert_str_eq(out.instance, "", "'%s': instance", in);
	return out;
}

/** @p in normalizes to @p name with host @p host, and normalizing the result changes nothing. */
static void expect(const char *in, const char *name, const char *host)
{
	struct rd_name out = normalize_ok(in);
	struct rd_name again = normalize_ok(out.name);

	cr_assert_str_eq(out.name, name, "'%s'", in);
	cr_assert_str_eq(out.host, host, "'%s': host", in);
	cr_assert_str_eq(again.name, out.name, "normalizing '%s' is not idempotent", in);
	cr_assert_str_eq(again.host, out.host, "'%s': host changed on the second pass", in);
}

static void expect_error(const char *in, int code, const char *reason)
{
	struct rd_name out;
	const char *got = NULL;
	int err;

	strcpy(out.name, "untouched");
	err = sip_aor_normalize(in, &out, &got);
	cr_assert_eq(err, code, "'%.80s': got %d, want %d (%s)", in, err, code, got != NULL ? got : "-");
	cr_assert_str_eq(out.name, "untouched", "'%.80s': ret written on failure", in);
	if (code == -EINVAL) {
		cr_assert_not_null(got, "'%s': no reason", in);
		cr_assert_str_eq(got, reason, "'%s'", in);
	}
}

/* One row: an input, its AoR and its host. */
struct row {
	const char *in, *name, *host;
};

/*
 * Every spelling of one address gives one AoR. Ports: an explicit port is
 * kept, even the default (RFC 3261 19.1.4: sip:bob@biloxi.com and
 * sip:bob@biloxi.com:5060 are not equivalent; RFC 3263 resolves the first
 * through NAPTR/SRV and the second through A/AAAA only).
 */
static const struct row same[] = {
	/* scheme case; parameters and headers dropped (RFC 3261 10.3) */
	{"sip:alice@example.com", "sip:alice@example.com", "example.com"},
	{"SIP:alice@example.com", "sip:alice@example.com", "example.com"},
	{"Sip:alice@EXAMPLE.com", "sip:alice@example.com", "example.com"},
	{"sip:alice@Example.COM;transport=tcp", "sip:alice@example.com", "example.com"},
	{"SIP:alice@EXAMPLE.com;transport=tcp?subject=x", "sip:alice@example.com", "example.com"},
	{"sip:alice@example.com;user=phone;lr;maddr=10.0.0.1", "sip:alice@example.com", "example.com"},
	{"sip:alice@example.com?subject=project%20x&priority=urgent", "sip:alice@example.com", "example.com"},
	{"sip:alice@example.com;method=REGISTER?to=sip:bob%40biloxi.com", "sip:alice@example.com", "example.com"},
	{"sip:alice@example.com;", "sip:alice@example.com", "example.com"},
	{"sip:alice@example.com?", "sip:alice@example.com", "example.com"},
	{"sip:alice@example.com.", "sip:alice@example.com", "example.com"},
	/* escapes of unreserved characters (alphanum and mark) decoded */
	{"sip:%61lice@example.com", "sip:alice@example.com", "example.com"},
	{"sip:%61%6C%69%63%65@example.com", "sip:alice@example.com", "example.com"},
	{"sip:al%69ce@example.com;transport=udp", "sip:alice@example.com", "example.com"},
	{"sip:a%2Db%5Fc%2Ed%21e%7Ef%2Ag%27h%28i%29@example.com", "sip:a-b_c.d!e~f*g'h(i)@example.com", "example.com"},
	/* other escapes kept, hex upper-cased */
	{"sip:a%40b@example.com", "sip:a%40b@example.com", "example.com"},
	{"sip:a%3bb@example.com", "sip:a%3Bb@example.com", "example.com"},
	{"sip:a%20b@example.com", "sip:a%20b@example.com", "example.com"},
	{"sip:a%3ab@example.com", "sip:a%3Ab@example.com", "example.com"},
	{"sip:a%25b@example.com", "sip:a%25b@example.com", "example.com"},
	{"sip:a%e9b@example.com", "sip:a%E9b@example.com", "example.com"},
	/* literal characters the user grammar forbids but that are not reserved: escaped */
	{"sip:a[b]@example.com", "sip:a%5Bb%5D@example.com", "example.com"},
	{"sip:a%5Bb%5d@example.com", "sip:a%5Bb%5D@example.com", "example.com"},
	{"sip:a\"b<c>{d}|e\\f^g`h@example.com", "sip:a%22b%3Cc%3E%7Bd%7D%7Ce%5Cf%5Eg%60h@example.com", "example.com"},
	/* user-unreserved characters stay literal */
	{"sip:a&b=c+d$e,f;g?h/i@example.com", "sip:a&b=c+d$e,f;g?h/i@example.com", "example.com"},
	/* telephone-subscriber users and passwords */
	{"sip:+1-212-555-1212:1234@gateway.com;user=phone", "sip:+1-212-555-1212:1234@gateway.com", "gateway.com"},
	{"sip:alice:secretword@atlanta.com;transport=tcp", "sip:alice:secretword@atlanta.com", "atlanta.com"},
	{"sip:alice:s%65cret@atlanta.com", "sip:alice:secret@atlanta.com", "atlanta.com"},
	{"sip:alice:a&b=c+$,@atlanta.com", "sip:alice:a&b=c+$,@atlanta.com", "atlanta.com"},
	{"sip:alice:@atlanta.com", "sip:alice:@atlanta.com", "atlanta.com"},
	/* ports: kept, leading zeros dropped */
	{"sip:alice@example.com:5060", "sip:alice@example.com:5060", "example.com"},
	{"sip:alice@example.com:05060;transport=udp", "sip:alice@example.com:5060", "example.com"},
	{"sips:alice@example.com:5061", "sips:alice@example.com:5061", "example.com"},
	{"sip:alice@EXAMPLE.COM:5080", "sip:alice@example.com:5080", "example.com"},
	/* sips */
	{"sips:alice@example.com", "sips:alice@example.com", "example.com"},
	{"SIPS:alice@Example.Com;transport=tls", "sips:alice@example.com", "example.com"},
	/* IPv4 and IPv6 */
	{"sip:alice@192.0.2.1", "sip:alice@192.0.2.1", "192.0.2.1"},
	{"sip:alice@192.0.2.1:5060", "sip:alice@192.0.2.1:5060", "192.0.2.1"},
	{"sip:alice@[2001:DB8::1]", "sip:alice@[2001:db8::1]", "2001:db8::1"},
	{"sip:alice@[2001:0db8:0000:0000:0000:0000:0000:0001]", "sip:alice@[2001:db8::1]", "2001:db8::1"},
	{"sip:alice@[2001:db8:0:0:1:0:0:1]:5070", "sip:alice@[2001:db8::1:0:0:1]:5070", "2001:db8::1:0:0:1"},
	{"sip:alice@[::FFFF:192.0.2.1]", "sip:alice@[::ffff:192.0.2.1]", "::ffff:192.0.2.1"},
	{"sip:[::1]", "sip:[::1]", "::1"},
	/* no user: a domain's own AoR (the DNS front end maps _sip.example.com to sip:example.com) */
	{"sip:example.com", "sip:example.com", "example.com"},
	{"SIP:Example.COM;transport=tcp", "sip:example.com", "example.com"},
	{"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com", "sip:biloxi.com", "biloxi.com"},
	{"sip:localhost", "sip:localhost", "localhost"},
	{"sip:a-b.x1.example", "sip:a-b.x1.example", "a-b.x1.example"},
};

Test(sip_aor, spellings_give_one_name)
{
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		expect(same[i].in, same[i].name, same[i].host);
}

/* Pairs that are one address of record. */
static const char *const equal_pairs[][2] = {
	/* RFC 3261 19.1.4, "equivalent" examples */
	{"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"},
	{"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"},
	{"sip:carol@chicago.com", "sip:carol@chicago.com;security=on"},
	{"sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"},
	{"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
	 "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"},
	{"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
	 "sip:alice@atlanta.com?priority=urgent&subject=project%20x"},
	/* RFC 3261 19.1.4 calls these different as URIs, but 10.3 drops the parameters of an AoR */
	{"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"},
	{"sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"},
	/* the DNS front end's mapping: alice._sip.example.com gives sip:alice@example.com */
	{"sip:alice@example.com", "SIP:alice@EXAMPLE.COM."},
	{"sip:a~b@example.com", "sip:a%7Eb@example.com"},
	{"sip:a%3F@example.com", "sip:a%3f@example.com"},
};

Test(sip_aor, equivalent_pairs)
{
	for (size_t i = 0; i < sizeof(equal_pairs) / sizeof(equal_pairs[0]); i++) {
		struct rd_name a = normalize_ok(equal_pairs[i][0]);
		struct rd_name b = normalize_ok(equal_pairs[i][1]);

		cr_assert_str_eq(a.name, b.name, "'%s' vs '%s'", equal_pairs[i][0], equal_pairs[i][1]);
	}
}

/* Pairs that are different addresses of record. */
static const char *const different_pairs[][2] = {
	/* RFC 3261 19.1.4, "not equivalent" examples that survive 10.3 */
	{"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"},
	{"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"},
	{"sips:bob@biloxi.com", "sip:bob@biloxi.com"},
	{"sips:bob@biloxi.com:5061", "sips:bob@biloxi.com"},
	{"sip:bob@biloxi.com:5060", "sip:bob@biloxi.com:5070"},
	{"sip:bob@biloxi.com:5060", "sips:bob@biloxi.com:5060"},
	/* user and password are case-sensitive and part of the AoR */
	{"sip:alice@example.com", "sip:Alice@example.com"},
	{"sip:alice@example.com", "sip:alice2@example.com"},
	{"sip:alice:pw@example.com", "sip:alice:PW@example.com"},
	{"sip:alice:pw@example.com", "sip:alice@example.com"},
	{"sip:alice:@example.com", "sip:alice@example.com"},
	/* reserved characters are not equal to their escapes */
	{"sip:a;b@example.com", "sip:a%3Bb@example.com"},
	{"sip:a&b@example.com", "sip:a%26b@example.com"},
	{"sip:a/b@example.com", "sip:a%2Fb@example.com"},
	/* hosts */
	{"sip:alice@example.com", "sip:alice@example.org"},
	{"sip:alice@example.com", "sip:example.com"},
	{"sip:alice@192.0.2.1", "sip:alice@192.0.2.10"},
	{"sip:alice@[::1]", "sip:alice@[::2]"},
};

Test(sip_aor, different_addresses)
{
	for (size_t i = 0; i < sizeof(different_pairs) / sizeof(different_pairs[0]); i++) {
		struct rd_name a = normalize_ok(different_pairs[i][0]);
		struct rd_name b = normalize_ok(different_pairs[i][1]);

		cr_assert_str_neq(a.name, b.name, "'%s' vs '%s'", different_pairs[i][0], different_pairs[i][1]);
	}
}

#define R_SCHEME "not a sip: or sips: URI"
#define R_CONTROL "control characters and spaces are not allowed in a SIP URI"
#define R_NON_ASCII "SIP URIs are ASCII: percent-encode other characters"
#define R_FRAGMENT "fragments are not part of a SIP URI"
#define R_ESCAPE "invalid percent-encoding: '%' must be followed by two hex digits"
#define R_EMPTY "sip: URI has nothing after the scheme (write sip:user@host)"
#define R_SLASHES "sip: URIs have no '//' after the scheme (write sip:user@host)"
#define R_TWO_AT "sip: URI has more than one '@' (write '@' in the user part as %40)"
#define R_NO_USER "sip: URI has an empty user part before '@'"
#define R_PASSWORD "character not allowed in the password of a sip: URI"
#define R_NO_HOST "sip: URI has no host"
#define R_HOST_CHAR "invalid character in the host of a sip: URI (a host name, an IPv4 address or an [IPv6] reference)"
#define R_LABEL "invalid host name: labels are 1 to 63 letters, digits and inner hyphens"
#define R_TOPLABEL "invalid host name: its last label must start with a letter"
#define R_IPV4 "invalid IPv4 address in the host of a sip: URI"
#define R_IPV6 "invalid IPv6 reference in the host of a sip: URI"
#define R_PORT "invalid port: it must be a number from 1 to 65535"
#define R_PARAMS "invalid character in the parameters of a sip: URI"
#define R_HEADERS "invalid character in the headers of a sip: URI"

/* One rejected input and why. */
struct bad {
	const char *in, *reason;
};

static const struct bad rejected[] = {
	{"", R_SCHEME},
	{"alice@example.com", R_SCHEME},
	{"tel:+15551234", R_SCHEME},
	{"sipx:alice@example.com", R_SCHEME},
	{"si:alice@example.com", R_SCHEME},
	{"sip:", R_EMPTY},
	{"SIPS:", R_EMPTY},
	{"sip://alice@example.com", R_SLASHES},
	{"sip:alice@example.com#frag", R_FRAGMENT},
	{"sip:alice@example.com;x=#", R_FRAGMENT},
	{"sip:alice @example.com", R_CONTROL},
	{"sip:alice@example.com ", R_CONTROL},
	{"sip:alice\t@example.com", R_CONTROL},
	{"sip:alice\x7f" "@example.com", R_CONTROL},
	{"sip:al\xc3\xaf" "ce@example.com", R_NON_ASCII},
	{"sip:alice@ex\xc3\xa4" "mple.com", R_NON_ASCII},
	{"sip:a%4@example.com", R_ESCAPE},
	{"sip:a%G1@example.com", R_ESCAPE},
	{"sip:alice@example.com;x=%", R_ESCAPE},
	{"sip:alice%", R_ESCAPE},
	{"sip:alice@bob@example.com", R_TWO_AT},
	{"sip:@example.com", R_NO_USER},
	{"sip::secret@example.com", R_NO_USER},
	{"sip:alice:a:b@example.com", R_PASSWORD},
	{"sip:alice:a;b@example.com", R_PASSWORD},
	{"sip:alice:a/b@example.com", R_PASSWORD},
	{"sip:alice:a?b@example.com", R_PASSWORD},
	{"sip:alice@", R_NO_HOST},
	{"sip:alice@;transport=tcp", R_NO_HOST},
	{"sip:alice@?subject=x", R_NO_HOST},
	{"sip:alice@:5060", R_NO_HOST},
	{"sip:;transport=udp", R_NO_HOST},
	{"sip:alice@exa_mple.com", R_HOST_CHAR},
	{"sip:alice@ex%61mple.com", R_HOST_CHAR},
	{"sip:alice@example.com/path", R_HOST_CHAR},
	{"sip:alice@exam!ple.com", R_HOST_CHAR},
	{"sip:alice@-example.com", R_LABEL},
	{"sip:alice@example-.com", R_LABEL},
	{"sip:alice@example..com", R_LABEL},
	{"sip:alice@.example.com", R_LABEL},
	{"sip:alice@example.com..", R_LABEL},
	{"sip:alice@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", R_LABEL},
	{"sip:alice@example.123", R_TOPLABEL},
	{"sip:alice@1.2.3.4x", R_TOPLABEL},
	{"sip:alice@256.1.1.1", R_IPV4},
	{"sip:alice@1.2.3", R_IPV4},
	{"sip:alice@1.2.3.4.5", R_IPV4},
	{"sip:alice@12345", R_IPV4},
	{"sip:alice@[2001:db8::1", R_IPV6},
	{"sip:alice@[2001:db8::g]", R_IPV6},
	{"sip:alice@[]", R_IPV6},
	{"sip:alice@[1.2.3.4]", R_IPV6},
	{"sip:alice@[::1]x", R_IPV6},
	{"sip:alice@[fe80::1%25eth0]", R_IPV6},
	{"sip:alice@2001:db8::1", R_IPV4},
	{"sip:alice@example.com:", R_PORT},
	{"sip:alice@example.com:0", R_PORT},
	{"sip:alice@example.com:65536", R_PORT},
	{"sip:alice@example.com:99999999999999999999", R_PORT},
	{"sip:alice@example.com:50a", R_PORT},
	{"sip:alice@example.com:-1", R_PORT},
	{"sip:alice@[::1]:", R_PORT},
	{"sip:alice@example.com;x=<y>", R_PARAMS},
	{"sip:alice@example.com;x=\"y\"", R_PARAMS},
	{"sip:alice@example.com;x=a,b", R_PARAMS},
	{"sip:alice@example.com?x=<y>", R_HEADERS},
	{"sip:alice@example.com?x=a;b", R_HEADERS},
};

Test(sip_aor, rejects_with_reasons)
{
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++)
		expect_error(rejected[i].in, -EINVAL, rejected[i].reason);
}

Test(sip_aor, too_long)
{
	char in[2048], host[300];
	size_t n;

	/* A user of 500 bytes fits; one of 510 does not (sip: + @example.com is 16 more). */
	n = (size_t)snprintf(in, sizeof(in), "sip:%0*d@example.com", 496, 0);
	cr_assert_eq(n, 4 + 496 + 12);
	normalize_ok(in);
	snprintf(in, sizeof(in), "sip:%0*d@example.com", 497, 0);
	expect_error(in, -ENAMETOOLONG, NULL);
	/* Escaping can make a short input too long: 171 '[' become 513 bytes. */
	strcpy(in, "sip:");
	memset(in + 4, '[', 171);
	strcpy(in + 4 + 171, "@x.com");
	expect_error(in, -ENAMETOOLONG, NULL);
	/* Long parameters are dropped: only the AoR counts. */
	n = (size_t)snprintf(in, sizeof(in), "sip:alice@example.com;x=%01000d", 0);
	cr_assert_gt(n, RD_NAME_MAX);
	expect(in, "sip:alice@example.com", "example.com");
	/* A host longer than RD_HOST_MAX: four 63-byte labels and ".com" is 259 bytes. */
	memset(host, 'a', sizeof(host));
	for (int i = 63; i < 256; i += 64)
		host[i] = '.';
	strcpy(host + 256, "com");
	snprintf(in, sizeof(in), "sip:alice@%s", host);
	expect_error(in, -ENAMETOOLONG, NULL);
	/* 253 bytes is fine. */
	snprintf(in, sizeof(in), "sip:alice@%.249s.com", host + 6);
	expect(in, in, in + 10);
}

Test(sip_aor, output_is_a_valid_aor_of_itself)
{
	/* A name, its host and its instance are C strings inside their buffers. */
	struct rd_name out = normalize_ok("sips:Bob:Pw@[2001:db8::5]:5061;transport=tls?x=y");

	cr_assert_str_eq(out.name, "sips:Bob:Pw@[2001:db8::5]:5061");
	cr_assert_str_eq(out.host, "2001:db8::5");
	cr_assert_lt(strlen(out.name), sizeof(out.name));
}

/** A small deterministic generator (xorshift32): the same inputs on every run. */
static uint32_t next_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

Test(sip_aor, random_inputs_normalize_to_fixed_points)
{
	/* Pieces that make parsing interesting, glued at random after a scheme. */
	static const char *const pieces[] = {
		"alice", "A", "%61", "%3B", "%3b", "%zz", "%", "@", ":", ";", "?", "=", "&", "/", "[", "]", ".",
		"-", "_", "~", "!", "'", "example", "COM", "5060", "0", "65536", "::1", "192.0.2.1", "[::1]",
		"transport=tcp", "lr", "\"", "<", "#", " ", "\x80", "+1-555", "..", "x.y.z",
	};
	static const char *const schemes[] = {"sip:", "SIPS:", "sips:", "Sip:", "tel:", ""};
	const size_t n_pieces = sizeof(pieces) / sizeof(pieces[0]);
	uint32_t seed = 0x5eed1234;
	size_t accepted = 0;

	for (int iter = 0; iter < 200000; iter++) {
		char in[256];
		size_t len = (size_t)snprintf(in, sizeof(in), "%s", schemes[next_random(&seed) % 6]);
		int parts = 1 + (int)(next_random(&seed) % 8);
		struct rd_name out, again;
		const char *reason = NULL;
		int err;

		for (int i = 0; i < parts && len < 200; i++)
			len += (size_t)snprintf(in + len, sizeof(in) - len, "%s", pieces[next_random(&seed) % n_pieces]);
		err = sip_aor_normalize(in, &out, &reason);
		if (err == -EINVAL) {
			cr_assert_not_null(reason, "'%s': no reason", in);
			continue;
		}
		cr_assert_eq(err, 0, "'%s': %d", in, err);
		accepted++;
		cr_assert(strncmp(out.name, "sip:", 4) == 0 || strncmp(out.name, "sips:", 5) == 0, "'%s'", out.name);
		cr_assert_neq(out.host[0], '\0', "'%s' has no host", in);
		cr_assert_not_null(strstr(out.name, out.host), "'%s': host '%s' not in '%s'", in, out.host, out.name);
		cr_assert_eq(sip_aor_normalize(out.name, &again, &reason), 0, "'%s' -> '%s' rejected: %s", in, out.name,
			     reason);
		cr_assert_str_eq(again.name, out.name, "'%s' is not a fixed point", in);
		cr_assert_str_eq(again.host, out.host);
	}
	/* The generator must reach the accepting paths, or this test checks nothing. */
	cr_assert_gt(accepted, 1000, "only %zu inputs accepted", accepted);
}

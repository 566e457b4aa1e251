/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of jid.c: equivalent spellings give one name, different JIDs differ, bad URIs are refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/xmpp/jid.h"

/** One accepted URI and what it must normalize to. */
struct ok_row {
	const char *uri;
	const char *name;
	const char *host;
	const char *instance;
};

static const struct ok_row ok_rows[] = {
	/* case folding of node and domain; scheme in any case */
	{"xmpp:bob@example.org", "xmpp:bob@example.org", "example.org", ""},
	{"xmpp:Bob@Example.ORG", "xmpp:bob@example.org", "example.org", ""},
	{"XMPP:BOB@EXAMPLE.ORG", "xmpp:bob@example.org", "example.org", ""},
	{"xMpP:bOb@eXample.org", "xmpp:bob@example.org", "example.org", ""},
	/* percent-escapes, in either hex case */
	{"xmpp:%62ob@example.org", "xmpp:bob@example.org", "example.org", ""},
	{"xmpp:b%6Fb@%65xample.org", "xmpp:bob@example.org", "example.org", ""},
	{"xmpp:%42%4F%42@example.org", "xmpp:bob@example.org", "example.org", ""},
	/* the authority (the sender's account) is dropped */
	{"xmpp://guest@example.com/bob@example.org", "xmpp:bob@example.org", "example.org", ""},
	{"xmpp://guest@example.com/Bob@Example.org?message", "xmpp:bob@example.org", "example.org", ""},
	{"xmpp:///bob@example.org", "xmpp:bob@example.org", "example.org", ""},
	/* query and fragment are dropped */
	{"xmpp:bob@example.org?message;subject=Hello%20World", "xmpp:bob@example.org", "example.org", ""},
	{"xmpp:bob@example.org?join", "xmpp:bob@example.org", "example.org", ""},
	{"xmpp:bob@example.org#frag", "xmpp:bob@example.org", "example.org", ""},
	{"xmpp:bob@example.org/phone?message#x", "xmpp:bob@example.org", "example.org", "phone"},
	/* one trailing dot of the domain is dropped (RFC 6122 2.2) */
	{"xmpp:bob@example.org.", "xmpp:bob@example.org", "example.org", ""},
	/* unicode nodeprep: case folding, NFKC, mapped-to-nothing, sharp s */
	{"xmpp:\xc3\x84\xc3\x96@example.org", "xmpp:%C3%A4%C3%B6@example.org", "example.org", ""},
	{"xmpp:\xc3\xa4\xc3\xb6@example.org", "xmpp:%C3%A4%C3%B6@example.org", "example.org", ""},
	{"xmpp:%C3%84%C3%96@example.org", "xmpp:%C3%A4%C3%B6@example.org", "example.org", ""},
	{"xmpp:%c3%a4%c3%b6@example.org", "xmpp:%C3%A4%C3%B6@example.org", "example.org", ""},
	{"xmpp:Stra\xc3\x9f" "e@example.org", "xmpp:strasse@example.org", "example.org", ""},
	{"xmpp:\xef\xbc\xa2\xef\xbd\x8f\xef\xbd\x82@example.org", "xmpp:bob@example.org", "example.org", ""},
	{"xmpp:bo\xc2\xad" "b@example.org", "xmpp:bob@example.org", "example.org", ""},
	{"xmpp:a\xcc\x88@example.org", "xmpp:%C3%A4@example.org", "example.org", ""},
	/* IDN domain and its punycode spelling */
	{"xmpp:bob@b\xc3\xbc" "cher.example", "xmpp:bob@xn--bcher-kva.example", "xn--bcher-kva.example", ""},
	{"xmpp:bob@B\xc3\x9c" "CHER.example", "xmpp:bob@xn--bcher-kva.example", "xn--bcher-kva.example", ""},
	{"xmpp:bob@xn--bcher-kva.example", "xmpp:bob@xn--bcher-kva.example", "xn--bcher-kva.example", ""},
	{"xmpp:bob@XN--BCHER-KVA.example", "xmpp:bob@xn--bcher-kva.example", "xn--bcher-kva.example", ""},
	{"xmpp:bob@b%C3%BCcher.example", "xmpp:bob@xn--bcher-kva.example", "xn--bcher-kva.example", ""},
	{"xmpp:bob@b\xc3\xbc" "cher\xe3\x80\x82" "example", "xmpp:bob@xn--bcher-kva.example", "xn--bcher-kva.example",
	 ""},
	/* resource: case kept, becomes the instance, not part of the name */
	{"xmpp:bob@example.org/Phone", "xmpp:bob@example.org", "example.org", "Phone"},
	{"xmpp:bob@example.org/phone", "xmpp:bob@example.org", "example.org", "phone"},
	{"xmpp:bob@example.org/Home%20Phone", "xmpp:bob@example.org", "example.org", "Home Phone"},
	{"xmpp:bob@example.org/a/b@c", "xmpp:bob@example.org", "example.org", "a/b@c"},
	{"xmpp:bob@example.org/\xef\xbc\xa1", "xmpp:bob@example.org", "example.org", "A"},
	{"xmpp:bob@example.org/\xe2\x80\x80x", "xmpp:bob@example.org", "example.org", " x"},
	{"xmpp:bob@example.org/%F0%9F%93%B1", "xmpp:bob@example.org", "example.org", "\xf0\x9f\x93\xb1"},
	/* domain-only JIDs and IP literals */
	{"xmpp:example.org", "xmpp:example.org", "example.org", ""},
	{"xmpp:Example.org/res", "xmpp:example.org", "example.org", "res"},
	{"xmpp:bob@127.0.0.1", "xmpp:bob@127.0.0.1", "127.0.0.1", ""},
	{"xmpp:bob@[::1]", "xmpp:bob@[::1]", "::1", ""},
	{"xmpp:bob@[2001:DB8:0:0::1]", "xmpp:bob@[2001:db8::1]", "2001:db8::1", ""},
	/* node characters: nodeallow stays, the rest is percent-encoded in the name */
	{"xmpp:a!$()*+,;=b@example.org", "xmpp:a!$()*+,;=b@example.org", "example.org", ""},
	{"xmpp:a~b-c.d_e@example.org", "xmpp:a~b-c.d_e@example.org", "example.org", ""},
	{"xmpp:a%5C40b@example.org", "xmpp:a%5C40b@example.org", "example.org", ""},
	{"xmpp:a%25b@example.org", "xmpp:a%25b@example.org", "example.org", ""},
	{"xmpp:a%3Fb@example.org", "xmpp:a%3Fb@example.org", "example.org", ""},
	{"xmpp:a%23b@example.org", "xmpp:a%23b@example.org", "example.org", ""},
};

#define N_OK (sizeof(ok_rows) / sizeof(ok_rows[0]))

/** Every row: a failing row is reported with its URI, and the others still run. */
Test(jid, equivalent_spellings)
{
	cr_expect_geq(N_OK, 40);
	for (size_t i = 0; i < N_OK; i++) {
		const struct ok_row *row = &ok_rows[i];
		struct rd_name n;
		const char *reason = NULL;
		int err = jid_normalize(row->uri, &n, &reason);

		cr_expect_eq(err, 0, "%s: %d (%s)", row->uri, err, reason ? reason : "");
		if (err != 0)
			continue;
		cr_expect_str_eq(n.name, row->name, "%s", row->uri);
		cr_expect_str_eq(n.host, row->host, "%s", row->uri);
		cr_expect_str_eq(n.instance, row->instance, "%s", row->uri);
	}
}

/** A normalized name is itself accepted and normalizes to itself (idempotence). */
Test(jid, idempotent)
{
	for (size_t i = 0; i < N_OK; i++) {
		struct rd_name n;
		const char *reason = NULL;
		int err = jid_normalize(ok_rows[i].name, &n, &reason);

		cr_expect_eq(err, 0, "%s: %s", ok_rows[i].name, reason ? reason : "");
		if (err == 0)
			cr_expect_str_eq(n.name, ok_rows[i].name);
	}
}

/** Different JIDs must give different names. */
Test(jid, different_jids_differ)
{
	static const char *const uris[] = {
		"xmpp:bob@example.org",  "xmpp:bob@example.com",   "xmpp:alice@example.org", "xmpp:example.org",
		"xmpp:bob@sub.example.org", "xmpp:bo@example.org", "xmpp:b%C3%B6b@example.org", "xmpp:bob@xn--bcher-kva.example",
		"xmpp:bob@bcher.example", "xmpp:a%25b@example.org", "xmpp:a%2525b@example.org", "xmpp:a.b@example.org",
		"xmpp:ab@example.org", "xmpp:bob@[::1]", "xmpp:bob@127.0.0.1", "xmpp:bob.example.org",
	};
	const size_t n = sizeof(uris) / sizeof(uris[0]);
	struct rd_name names[sizeof(uris) / sizeof(uris[0])];
	const char *reason;

	for (size_t i = 0; i < n; i++)
		cr_assert_eq(jid_normalize(uris[i], &names[i], &reason), 0, "%s", uris[i]);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++)
			cr_expect_str_neq(names[i].name, names[j].name, "%s vs %s", uris[i], uris[j]);
	}
}

/** The resource is the instance: two resources of one JID share the name and keep their case. */
Test(jid, resources_share_the_name)
{
	struct rd_name a, b;
	const char *reason;

	cr_assert_eq(jid_normalize("xmpp:bob@example.org/Laptop", &a, &reason), 0);
	cr_assert_eq(jid_normalize("xmpp:bob@example.org/laptop", &b, &reason), 0);
	cr_expect_str_eq(a.name, b.name);
	cr_expect_str_neq(a.instance, b.instance);
}

/** One refused URI, its error and the reason it must give. */
struct bad_row {
	const char *uri;
	int err;
	const char *reason_part; /**< a substring of the reason */
};

static const struct bad_row bad_rows[] = {
	{"sip:bob@example.org", -EINVAL, "not an xmpp: URI"},
	{"xmpp", -EINVAL, "not an xmpp: URI"},
	{"", -EINVAL, "not an xmpp: URI"},
	{"xmpp:", -EINVAL, "no domain"},
	{"xmpp:bob@", -EINVAL, "no domain"},
	{"xmpp:bob@/res", -EINVAL, "no domain"},
	{"xmpp:?message", -EINVAL, "no domain"},
	{"xmpp:/bob@example.org", -EINVAL, "no domain"},
	{"xmpp:bob@.", -EINVAL, "no domain"},
	{"xmpp:@example.org", -EINVAL, "empty localpart"},
	{"xmpp:bob@example.org/", -EINVAL, "empty resource"},
	{"xmpp://guest@example.com", -EINVAL, "authority"},
	{"xmpp://guest@example.com?message", -EINVAL, "authority"},
	{"xmpp:bob smith@example.org", -EINVAL, "spaces and control"},
	{"xmpp:bob\t@example.org", -EINVAL, "spaces and control"},
	{"xmpp:bob\x7f@example.org", -EINVAL, "spaces and control"},
	{"xmpp:bob<x>@example.org", -EINVAL, "percent-encode"},
	{"xmpp:b\"ob@example.org", -EINVAL, "percent-encode"},
	{"xmpp:b{ob}@example.org", -EINVAL, "percent-encode"},
	{"xmpp:b[ob@example.org", -EINVAL, "percent-encode"},
	{"xmpp:bob@example.org/r]", -EINVAL, "percent-encode"},
	{"xmpp:bob%@example.org", -EINVAL, "percent-encoding"},
	{"xmpp:bob%4@example.org", -EINVAL, "percent-encoding"},
	{"xmpp:bob%zz@example.org", -EINVAL, "percent-encoding"},
	{"xmpp:bob@example.org%", -EINVAL, "percent-encoding"},
	{"xmpp:b\xffob@example.org", -EINVAL, "UTF-8"},
	{"xmpp:b\xc3@example.org", -EINVAL, "UTF-8"},
	{"xmpp:b\xc0\xafob@example.org", -EINVAL, "UTF-8"},
	{"xmpp:b\xed\xa0\x80@example.org", -EINVAL, "UTF-8"},
	{"xmpp:b%FFob@example.org", -EINVAL, "UTF-8"},
	{"xmpp:bob@ex%C3ample.org", -EINVAL, "UTF-8"},
	{"xmpp:bob@example.org/%C3", -EINVAL, "UTF-8"},
	{"xmpp:b%00ob@example.org", -EINVAL, "NUL"},
	{"xmpp:bob@example.org/a%00", -EINVAL, "NUL"},
	/* nodeprep prohibits "&'/:<>@ and spaces */
	{"xmpp:a%22b@example.org", -EINVAL, "nodeprep prohibits"},
	{"xmpp:a&b@example.org", -EINVAL, "nodeprep prohibits"},
	{"xmpp:a'b@example.org", -EINVAL, "nodeprep prohibits"},
	{"xmpp:a%2Fb@example.org", -EINVAL, "nodeprep prohibits"},
	{"xmpp:a:b@example.org", -EINVAL, "nodeprep prohibits"},
	{"xmpp:a%3Cb@example.org", -EINVAL, "nodeprep prohibits"},
	{"xmpp:a%3Eb@example.org", -EINVAL, "nodeprep prohibits"},
	{"xmpp:a%40b@example.org", -EINVAL, "nodeprep prohibits"},
	{"xmpp:a%20b@example.org", -EINVAL, "nodeprep prohibits"},
	{"xmpp:a%C2%A0b@example.org", -EINVAL, "nodeprep prohibits"},
	{"xmpp:a%07b@example.org", -EINVAL, "nodeprep prohibits"},
	{"xmpp:%F0%9F%98%80@example.org", -EINVAL, "unassigned in Unicode 3.2"},
	{"xmpp:%D8%A7a@example.org", -EINVAL, "right-to-left"},
	{"xmpp:%C2%AD@example.org", -EINVAL, "empty once nodeprep"},
	{"xmpp:bob@example.org/a%07", -EINVAL, "resourceprep prohibits"},
	{"xmpp:bob@example.org/%D8%A7a", -EINVAL, "right-to-left"},
	{"xmpp:bob@example.org/%C2%AD", -EINVAL, "empty once resourceprep"},
	/* domains */
	{"xmpp:bob@exa_mple.org", -EINVAL, "letters, digits"},
	{"xmpp:bob@example.org:5222", -EINVAL, "no port"},
	{"xmpp:bob@exa%20mple.org", -EINVAL, "letters, digits"},
	{"xmpp:bob@-example.org", -EINVAL, "'-'"},
	{"xmpp:bob@a..org", -EINVAL, "label is empty"},
	{"xmpp:bob@.example.org", -EINVAL, "label is empty"},
	{"xmpp:bob@example.org..", -EINVAL, "label is empty"},
	{"xmpp:bob@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org", -EINVAL, "longer than 63"},
	{"xmpp:bob@ex%F0%9F%98%80.org", -EINVAL, "nameprep"},
	{"xmpp:bob@[::1", -EINVAL, "IP literal"},
	{"xmpp:bob@[]", -EINVAL, "IP literal"},
	{"xmpp:bob@[1.2.3.4]", -EINVAL, "IP literal"},
	{"xmpp:bob@[v1.fe]", -EINVAL, "IP literal"},
	{"xmpp:bob@[::1]x", -EINVAL, "IP literal"},
	{"xmpp:bob@[::1%25eth0]", -EINVAL, "IP literal"},
};

Test(jid, refused)
{
	const size_t n_bad = sizeof(bad_rows) / sizeof(bad_rows[0]);

	cr_expect_geq(n_bad, 50);
	for (size_t i = 0; i < n_bad; i++) {
		const struct bad_row *row = &bad_rows[i];
		struct rd_name n;
		const char *reason = NULL;
		int err;

		memset(&n, 0x5a, sizeof(n));
		err = jid_normalize(row->uri, &n, &reason);
		cr_expect_eq(err, row->err, "%s: %d, want %d (%s)", row->uri, err, row->err, reason ? reason : "");
		cr_expect(reason != NULL && strstr(reason, row->reason_part) != NULL, "%s: reason \"%s\" lacks \"%s\"",
			  row->uri, reason ? reason : "(none)", row->reason_part);
		cr_expect_eq(n.name[0], 0x5a, "ret written on failure for %s", row->uri);
	}
}

/** Fill @p buf with @p n copies of @p c and a NUL. @return buf. */
static char *repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

Test(jid, length_limits)
{
	static char part[2048], label[64], uri[4096];
	struct rd_name n;
	const char *reason = NULL;

	/* the resource: 128 bytes is the longest instance */
	snprintf(uri, sizeof(uri), "xmpp:bob@example.org/%s", repeat(part, 'r', RD_INSTANCE_MAX));
	cr_assert_eq(jid_normalize(uri, &n, &reason), 0);
	cr_expect_eq(strlen(n.instance), RD_INSTANCE_MAX);
	snprintf(uri, sizeof(uri), "xmpp:bob@example.org/%s", repeat(part, 'r', RD_INSTANCE_MAX + 1));
	cr_assert_eq(jid_normalize(uri, &n, &reason), -ENAMETOOLONG);
	cr_expect(strstr(reason, "128 bytes") != NULL, "%s", reason);

	/* the name: "xmpp:" + node + "@example.org" up to 512 bytes */
	snprintf(uri, sizeof(uri), "xmpp:%s@example.org", repeat(part, 'n', RD_NAME_MAX - 17));
	cr_assert_eq(jid_normalize(uri, &n, &reason), 0, "%s", reason);
	cr_expect_eq(strlen(n.name), RD_NAME_MAX);
	snprintf(uri, sizeof(uri), "xmpp:%s@example.org", repeat(part, 'n', RD_NAME_MAX - 16));
	cr_assert_eq(jid_normalize(uri, &n, &reason), -ENAMETOOLONG);
	cr_expect(strstr(reason, "512 bytes") != NULL, "%s", reason);

	/* percent-encoding counts: 171 two-byte characters are 1026 bytes in the name */
	uri[0] = '\0';
	strcat(uri, "xmpp:");
	for (int i = 0; i < 171; i++)
		strcat(uri, "\xc3\xa4");
	strcat(uri, "@x.org");
	cr_assert_eq(jid_normalize(uri, &n, &reason), -ENAMETOOLONG);

	/* the localpart: 1023 bytes once prepared (RFC 6122) */
	snprintf(uri, sizeof(uri), "xmpp:%s@example.org", repeat(part, 'n', JID_PART_MAX + 1));
	cr_assert_eq(jid_normalize(uri, &n, &reason), -ENAMETOOLONG);
	cr_expect(strstr(reason, "1023 bytes") != NULL, "%s", reason);

	/* the domain: 253 bytes */
	repeat(label, 'd', 63);
	snprintf(uri, sizeof(uri), "xmpp:bob@%s.%s.%s.%s", label, label, label, repeat(part, 'd', 61));
	cr_assert_eq(jid_normalize(uri, &n, &reason), 0, "%s", reason);
	cr_expect_eq(strlen(n.host), RD_HOST_MAX);
	snprintf(uri, sizeof(uri), "xmpp:bob@%s.%s.%s.%s", label, label, label, repeat(part, 'd', 62));
	cr_assert_eq(jid_normalize(uri, &n, &reason), -ENAMETOOLONG);
	cr_expect(strstr(reason, "253 bytes") != NULL, "%s", reason);
	snprintf(uri, sizeof(uri), "xmpp:bob@%s", repeat(part, 'd', JID_PART_MAX + 1));
	cr_assert_eq(jid_normalize(uri, &n, &reason), -ENAMETOOLONG);
}

/** Many threads normalizing at once agree with one thread (normalize() runs on the HTTP pool). */
static void *normalize_many(void *arg)
{
	long bad = 0;

	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < N_OK; i++) {
			struct rd_name n;
			const char *reason;

			if (jid_normalize(ok_rows[i].uri, &n, &reason) != 0 || strcmp(n.name, ok_rows[i].name) != 0 ||
			    strcmp(n.instance, ok_rows[i].instance) != 0)
				bad++;
		}
	}
	return (void *)bad;
}

Test(jid, thread_safe)
{
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, normalize_many, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *bad;

		pthread_join(t[i], &bad);
		cr_expect_eq((long)bad, 0, "thread %d: %ld mismatches", i, (long)bad);
	}
}

/** Is @p s printable ASCII without space (a name must be a URI)? */
static bool is_uri_text(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	}
	return true;
}

/**
 * Random URIs built from pieces that matter to the parser: whatever is
 * accepted gives an ASCII name within bounds that normalizes to itself, and
 * whatever is refused says why. Run under ASan, this is a small fuzzer.
 */
Test(jid, random_inputs_keep_invariants)
{
	static const char *const pieces[] = {
		"xmpp:", "XMPP:", "//", "@", "/", "?", "#", ";", "%", "%4", "%41", "%C3", "%A4", "%c3%a4", "%00", "%40",
		"%2F", "\xc3\xa4", "\xc3\x84", "\xc3", "\xff", "\xe2\x80\x80", "\xef\xbc\xa1", "\xd8\xa7", "a", "B",
		"bob", ".", "..", "-", "_", "xn--", "xn--bcher-kva", "[", "]", "::1", "127.0.0.1", ":", "'", "&", "!",
		"~", "=", "example.org", "\xc2\xad", "%F0%9F%98%80",
	};
	const size_t n_pieces = sizeof(pieces) / sizeof(pieces[0]);
	unsigned seed = 12345;
	size_t accepted = 0;

	for (int round = 0; round < 30000; round++) {
		char uri[256] = "";
		int parts = 1 + (int)(rand_r(&seed) % 10);
		struct rd_name n, again;
		const char *reason = NULL;
		int err;

		strcat(uri, rand_r(&seed) % 8 != 0 ? "xmpp:" : "");
		for (int i = 0; i < parts; i++)
			strcat(uri, pieces[rand_r(&seed) % n_pieces]);
		err = jid_normalize(uri, &n, &reason);
		if (err != 0) {
			cr_expect(err == -EINVAL || err == -ENAMETOOLONG, "%s: %d", uri, err);
			cr_expect_not_null(reason, "%s: no reason", uri);
			continue;
		}
		accepted++;
		cr_expect(strncmp(n.name, "xmpp:", 5) == 0 && is_uri_text(n.name), "%s -> %s", uri, n.name);
		cr_expect(is_uri_text(n.host) && strlen(n.host) > 0, "%s -> host %s", uri, n.host);
		cr_expect_leq(strlen(n.instance), RD_INSTANCE_MAX);
		cr_expect_eq(jid_normalize(n.name, &again, &reason), 0, "%s -> %s refused", uri, n.name);
		cr_expect_str_eq(again.name, n.name, "%s", uri);
		cr_expect_str_eq(again.host, n.host, "%s", uri);
	}
	cr_expect_gt(accepted, 1000, "only %zu random URIs accepted: the generator is off", accepted);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for plugins/h323/url.c: equivalent spellings of h323: URLs, different names, rejections and why. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "resolverd/plugin.h"

const struct rd_plugin *rd_plugin_entry(void);

static int norm(const char *uri, struct rd_name *ret, const char **reason)
{
	*reason = NULL;
	return rd_plugin_entry()->normalize(NULL, uri, ret, reason);
}

static void expect(const char *uri, const char *want, const char *want_host)
{
	struct rd_name n;
	const char *reason;
	int err = norm(uri, &n, &reason);

	cr_assert_eq(err, 0, "'%s' rejected (%d): %s", uri, err, reason ? reason : "(none)");
	cr_expect_str_eq(n.name, want, "'%s' gave '%s', want '%s'", uri, n.name, want);
	cr_expect_str_eq(n.host, want_host, "'%s': host '%s', want '%s'", uri, n.host, want_host);
	cr_expect_str_eq(n.instance, "");
}

Test(h323_url, vtable)
{
	const struct rd_plugin *p = rd_plugin_entry();

	cr_assert_not_null(p);
	cr_expect_eq(p->abi_major, RD_PLUGIN_ABI_MAJOR);
	cr_expect_eq(p->abi_minor, RD_PLUGIN_ABI_MINOR);
	cr_expect_eq(p->size, sizeof(struct rd_plugin));
	cr_expect_str_eq(p->name, "h323");
	cr_expect_str_eq(p->schemes[0], "h323");
	cr_expect_null(p->schemes[1]);
	cr_expect_not_null(p->fallback);
	cr_expect_not_null(p->init);
	cr_expect_not_null(p->deinit);
}

/* Each row: the key, its host, then spellings that must all give that key. */
static const char *const equivalent[][9] = {
	{"h323:carol@example.net", "example.net", "h323:carol@example.net", "H323:carol@example.net",
	 "h323:carol@EXAMPLE.NET", "h323:carol@Example.Net.", "h323:carol@example.net:1720",
	 "h323:carol@example.net:01720", "h323:carol@example.net:"},
	{"h323:carol@example.net", "example.net", "h323:carol@example.net;type=gk", "h323:carol@example.net;x;y=z",
	 "h323:%63arol@example.net", "h323:c%61rol@example.net:1720;foo", "h323:carol@example.net;a@b",
	 "h323:carol@example.net;%41", "h323:car%6Fl@example.net"},
	{"h323:Carol@example.net", "example.net", "h323:Carol@EXAMPLE.net", "h323:%43arol@example.net",
	 "h323:%43%61rol@example.net.", "h323:Carol@example.net:1720;type=x", NULL},
	{"h323:%20bob%25@example.net", "example.net", "h323:%20bob%25@example.net", "h323:%20bob%25@example.net",
	 "h323:%20bob%25@Example.net:1720", NULL},
	{"h323:a%3Bb@example.net", "example.net", "h323:a%3bb@example.net", "h323:a%3Bb@example.net;x", NULL},
	{"h323:a%3Ab%2F%3F%23@example.net", "example.net", "h323:a:b/?#@example.net", "h323:a%3ab%2f%3f%23@example.net",
	 NULL},
	{"h323:!$&'()*+,=-._~@example.net", "example.net", "h323:%21%24%26%27%28%29%2A%2B%2C%3D%2D%2E%5F%7E@example.net",
	 "h323:!$&'()*+,=-._~@example.net", NULL},
	{"h323:+15551234@gw.example.net:1721", "gw.example.net", "h323:+15551234@GW.example.net:1721",
	 "h323:%2B15551234@gw.example.net:01721", "h323:+15551234@gw.example.net.:1721;x", NULL},
	{"h323:@gk.example.net", "gk.example.net", "h323:@GK.example.net", "H323:@gk.example.net:1720",
	 "h323:@gk.example.net.;foo", NULL},
	{"h323:carol", "", "h323:carol", "H323:carol", "h323:carol;x=y", "h323:%63arol", NULL},
	{"h323:gk.example.net", "", "h323:gk.example.net", "h323:gk.example.net;x", NULL},
	{"h323:carol@192.0.2.1", "192.0.2.1", "h323:carol@192.0.2.1:1720", "h323:carol@192.0.2.1;x", NULL},
	{"h323:carol@[2001:db8::1]", "2001:db8::1", "h323:carol@[2001:DB8::1]", "h323:carol@[2001:db8:0:0:0:0:0:1]",
	 "h323:carol@[2001:0db8::0001]:1720", NULL},
	{"h323:carol@[::ffff:192.0.2.1]:1719", "::ffff:192.0.2.1", "h323:carol@[::FFFF:192.0.2.1]:1719", NULL},
	{"h323:%C3%A9@example.net", "example.net", "h323:%c3%a9@example.net", NULL},
	{"h323:a1-b@x1.example", "x1.example", "h323:a1-b@X1.EXAMPLE", NULL},
};

Test(h323_url, equivalent_spellings_give_one_key)
{
	size_t rows = 0;

	for (size_t r = 0; r < sizeof(equivalent) / sizeof(equivalent[0]); r++) {
		for (size_t i = 2; i < 9 && equivalent[r][i] != NULL; i++, rows++)
			expect(equivalent[r][i], equivalent[r][0], equivalent[r][1]);
	}
	cr_assert_geq(rows, 40, "the table has %zu spellings", rows);
}

/* Pairs that name different entities: their keys must differ. */
static const char *const different[][2] = {
	/* RFC 3508 section 2: only the host is case-insensitive; the alias keeps its case. */
	{"h323:carol@example.net", "h323:Carol@example.net"},
	{"h323:carol@example.net", "h323:carol@example.org"},
	{"h323:carol@example.net", "h323:carol2@example.net"},
	{"h323:carol@example.net", "h323:carol@example.net:1721"},
	{"h323:carol@example.net:1719", "h323:carol@example.net:1721"},
	{"h323:carol@example.net", "h323:carol"},
	{"h323:@example.net", "h323:example.net"},
	{"h323:@example.net", "h323:carol@example.net"},
	{"h323:a%3Bb@example.net", "h323:a@example.net"},
	{"h323:a%40b@example.net", "h323:a@b@example.net"},
	{"h323:carol@gk.example.net", "h323:carol@example.net"},
	{"h323:carol@192.0.2.1", "h323:carol@192.0.2.2"},
};

Test(h323_url, different_names_give_different_keys)
{
	for (size_t r = 0; r < sizeof(different) / sizeof(different[0]); r++) {
		struct rd_name a, b;
		const char *reason;

		cr_assert_eq(norm(different[r][0], &a, &reason), 0, "%s: %s", different[r][0], reason);
		if (norm(different[r][1], &b, &reason) != 0)
			continue; /* a rejected spelling is different too; the rejection table checks why */
		cr_expect_str_neq(a.name, b.name, "'%s' and '%s' both gave '%s'", different[r][0], different[r][1],
				  a.name);
	}
}

static const struct {
	const char *uri;
	const char *reason;
} rejected[] = {
	{"sip:carol@example.net", "not an h323: URL"},
	{"h323", "not an h323: URL"},
	{"h32:carol@example.net", "not an h323: URL"},
	{"h323:", "needs an alias, '@' and a host, or both"},
	{"h323:;type=gk", "needs an alias, '@' and a host, or both"},
	{"h323:carol@", "missing host after '@'"},
	{"h323:carol@;x", "missing host after '@'"},
	{"h323:carol@:1720", "missing host after '@'"},
	{"h323:@", "missing host after '@'"},
	{"h323:carol @example.net", "percent-encoded"},
	{"h323:carol@example.net ", "percent-encoded"},
	{"h323:caro\tl@example.net", "percent-encoded"},
	{"h323:caro\x7fl@example.net", "percent-encoded"},
	{"h323:\xc3\xa9" "@example.net", "percent-encoded"},
	{"h323:carol%@example.net", "invalid percent-encoding"},
	{"h323:carol%4@example.net", "invalid percent-encoding"},
	{"h323:carol%zz@example.net", "invalid percent-encoding"},
	{"h323:carol@example.net;a%2", "invalid percent-encoding"},
	{"h323:carol@example.net;", "invalid url-parameter"},
	{"h323:carol@example.net;;x", "invalid url-parameter"},
	{"h323:carol@a@example.net", "invalid host"},
	{"h323:carol@exa_mple.net", "invalid host"},
	{"h323:carol@example..net", "invalid host"},
	{"h323:carol@.example.net", "invalid host"},
	{"h323:carol@-example.net", "invalid host"},
	{"h323:carol@example-.net", "invalid host"},
	{"h323:carol@example.123", "invalid host"},
	{"h323:carol@example.net..", "invalid host"},
	{"h323:carol@ex%61mple.net", "invalid host"},
	{"h323:carol@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.net", "invalid host"},
	{"h323:carol@192.0.2.256", "invalid IPv4"},
	{"h323:carol@192.0.2", "invalid IPv4"},
	{"h323:carol@192.0.2.01", "invalid IPv4"},
	{"h323:carol@1.2.3.4.5", "invalid IPv4"},
	{"h323:carol@[2001:db8::1", "invalid IPv6"},
	{"h323:carol@[2001:db8::g]", "invalid IPv6"},
	{"h323:carol@[192.0.2.1]", "invalid IPv6"},
	{"h323:carol@[::1]x", "invalid IPv6"},
	{"h323:carol@2001:db8::1", "invalid IPv4"},
	{"h323:carol@ex:db8::1", "invalid port"},
	{"h323:carol@example.net:0", "invalid port"},
	{"h323:carol@example.net:65536", "invalid port"},
	{"h323:carol@example.net:17a0", "invalid port"},
	{"h323:carol@example.net:-1", "invalid port"},
	{"h323:carol@example.net:1720:1720", "invalid port"},
};

Test(h323_url, rejections_say_why)
{
	size_t n = sizeof(rejected) / sizeof(rejected[0]);

	cr_assert_geq(n, 40);
	for (size_t i = 0; i < n; i++) {
		struct rd_name out;
		const char *reason;
		int err = norm(rejected[i].uri, &out, &reason);

		cr_expect_eq(err, -EINVAL, "'%s' gave %d (%s)", rejected[i].uri, err, err == 0 ? out.name : "");
		if (err == -EINVAL) {
			cr_assert_not_null(reason, "'%s': no reason", rejected[i].uri);
			cr_expect_not_null(strstr(reason, rejected[i].reason), "'%s': reason '%s' lacks '%s'",
					   rejected[i].uri, reason, rejected[i].reason);
		}
	}
}

Test(h323_url, too_long)
{
	char uri[700] = "h323:";
	struct rd_name out;
	const char *reason;

	memset(uri + 5, 'a', 520);
	strcpy(uri + 525, "@example.net");
	cr_expect_eq(norm(uri, &out, &reason), -ENAMETOOLONG);
	/* One byte becomes three when escaped: 200 spaces are 600 bytes. */
	strcpy(uri, "h323:");
	for (int i = 0; i < 200; i++)
		strcat(uri, "%20");
	strcat(uri, "@x.example");
	cr_expect_eq(norm(uri, &out, &reason), -ENAMETOOLONG);
	/* A 254-byte host. */
	strcpy(uri, "h323:a@");
	for (int i = 0; i < 4; i++)
		strcat(uri, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	strcat(uri, "abcde");
	cr_expect_eq(norm(uri, &out, &reason), -ENAMETOOLONG, "%s", uri);
}

Test(h323_url, output_untouched_on_failure)
{
	struct rd_name out;
	const char *reason;

	memset(&out, 'x', sizeof(out));
	cr_assert_eq(norm("h323:carol@", &out, &reason), -EINVAL);
	cr_expect_eq(out.name[0], 'x');
	cr_expect_eq(out.host[0], 'x');
}

/* The DNS front end builds "h323:<user>@<host>" from alice._h323.example.net: a lower-case key stays as it is. */
Test(h323_url, dns_form_is_a_fixed_point)
{
	expect("h323:carol@example.net", "h323:carol@example.net", "example.net");
	expect("h323:example.net", "h323:example.net", "");
}

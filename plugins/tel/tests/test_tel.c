/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for plugins/tel: which spellings are one number, which are different, which are rejected and why. */
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

/** Normalize @p uri, which must succeed, and compare with @p want. */
static void expect(const char *uri, const char *want)
{
	struct rd_name n;
	const char *reason;
	int err = norm(uri, &n, &reason);

	cr_assert_eq(err, 0, "'%s' rejected (%d): %s", uri, err, reason ? reason : "(none)");
	cr_expect_str_eq(n.name, want, "'%s' gave '%s', want '%s'", uri, n.name, want);
	cr_expect_str_eq(n.host, "", "tel: has no host");
	cr_expect_str_eq(n.instance, "");
}

Test(tel, vtable)
{
	const struct rd_plugin *p = rd_plugin_entry();

	cr_assert_not_null(p);
	cr_expect_eq(p->abi_major, RD_PLUGIN_ABI_MAJOR);
	cr_expect_eq(p->abi_minor, RD_PLUGIN_ABI_MINOR);
	cr_expect_eq(p->size, sizeof(struct rd_plugin));
	cr_expect_str_eq(p->name, "tel");
	cr_expect_str_eq(p->schemes[0], "tel");
	cr_expect_null(p->schemes[1]);
	cr_expect_null(p->fallback, "ENUM is the DNS front end's: no fallback");
}

/* Each row: spellings that must all give the key in [0]. */
static const char *const equivalent[][8] = {
	{"tel:+15551234", "tel:+15551234", "TEL:+15551234", "Tel:+1-555-1234", "tel:+1.555.1234",
	 "tel:+1(555)1234", "tel:+1-(555)-12.34", "tel:+15551234;foo=bar"},
	{"tel:+15551234", "tel:+1-555-1234;npdi", "tel:+1-555-1234;rn=+1-555-9999", "tel:+15551234;cic=+1-6789",
	 "tel:+15551234;tgrp=tg-1;trunk-context=example.com", "tel:+1-5-5-5-1-2-3-4", "tel:+(1)5551234",
	 "tel:+15551234;X-Custom=%41b"},
	{"tel:+4930123456", "tel:+49-30-123456", "tel:+49(30)123456", "TEL:+49.30.123.456",
	 "tel:+4930123456;npdi;rn=+493099", "tel:+49-30-12-34-56", NULL},
	{"tel:+15551234;ext=42", "tel:+15551234;ext=42", "tel:+1-555-1234;EXT=4-2", "tel:+15551234;Ext=(42)",
	 "tel:+15551234;foo;ext=42", "tel:+1.555.1234;ext=4.2;npdi", NULL},
	{"tel:+15551234;isub=abc", "tel:+15551234;isub=ABC", "tel:+15551234;ISUB=aBc", "tel:+15551234;isub=%41bc",
	 "tel:+15551234;isub=%61%62%63", NULL},
	{"tel:+15551234;ext=7;isub=x%2Fy", "tel:+15551234;isub=X%2fY;ext=7", "tel:+15551234;ext=7;isub=x%2fy",
	 NULL},
	{"tel:+15551237042", "tel:7042;phone-context=+1555123", "tel:70-42;phone-context=+1-555-123",
	 "tel:7042;PHONE-CONTEXT=+1(555)123", "tel:+1555-123-7042", NULL},
	{"tel:+441632960123", "tel:960123;phone-context=+441632", "tel:960-123;phone-context=+44-1632",
	 "tel:0123;phone-context=+44163296", NULL},
	{"tel:+123456789012345", "tel:+123-456-789-012-345", "tel:12345;phone-context=+1234567890", NULL},
	{"tel:+1", "tel:+1", "tel:+(1)", "tel:+1-", NULL},
	{"tel:+15551237042;ext=9", "tel:7042;ext=9;phone-context=+1555123", "tel:7042;phone-context=+1555123;ext=9",
	 NULL},
};

Test(tel, equivalent_spellings_give_one_key)
{
	size_t rows = 0;

	for (size_t r = 0; r < sizeof(equivalent) / sizeof(equivalent[0]); r++) {
		for (size_t i = 1; i < 8 && equivalent[r][i] != NULL; i++, rows++)
			expect(equivalent[r][i], equivalent[r][0]);
	}
	cr_assert_geq(rows, 40, "the table has %zu spellings", rows);
}

/* Pairs that are different numbers or lines: their keys must differ. */
static const char *const different[][2] = {
	{"tel:+15551234", "tel:+15551235"},
	{"tel:+15551234", "tel:+155512340"},
	{"tel:+15551234", "tel:+15551234;ext=1"},
	{"tel:+15551234;ext=1", "tel:+15551234;ext=2"},
	{"tel:+15551234", "tel:+15551234;isub=1"},
	{"tel:+15551234;isub=1", "tel:+15551234;isub=2"},
	{"tel:+15551234;ext=1", "tel:+15551234;isub=1"},
	{"tel:+15551234", "tel:+1555123"},
	{"tel:1234;phone-context=+1555", "tel:1234;phone-context=+1556"},
	{"tel:+4930123456", "tel:+493012345"},
	{"tel:+15551234", "tel:+25551234"},
	{"tel:01234;phone-context=+49", "tel:1234;phone-context=+49"},
};

Test(tel, different_numbers_give_different_keys)
{
	for (size_t r = 0; r < sizeof(different) / sizeof(different[0]); r++) {
		struct rd_name a, b;
		const char *reason;

		cr_assert_eq(norm(different[r][0], &a, &reason), 0, "%s: %s", different[r][0], reason);
		cr_assert_eq(norm(different[r][1], &b, &reason), 0, "%s: %s", different[r][1], reason);
		cr_expect_str_neq(a.name, b.name, "'%s' and '%s' both gave '%s'", different[r][0], different[r][1],
				  a.name);
	}
}

/* Rejections, with the words their reason must contain. */
static const struct {
	const char *uri;
	const char *reason;
} rejected[] = {
	{"sip:+15551234@example.com", "not a tel: URI"},
	{"tel", "not a tel: URI"},
	{"tel:", "phone-context that is a global number prefix"},
	{"tel:+", "no digits"},
	{"tel:+-.()", "no digits"},
	{"tel:+1 555 1234", "percent-encoded"},
	{"tel:+1555\t1234", "percent-encoded"},
	{"tel:+1555\xc3\xa9" "1234", "percent-encoded"},
	{"tel:+1555/1234", "global number is '+' and digits"},
	{"tel:+1555A1234", "global number is '+' and digits"},
	{"tel:+1555*1234", "global number is '+' and digits"},
	{"tel:+1555#1234", "global number is '+' and digits"},
	{"tel:+1%35551234", "global number is '+' and digits"},
	{"tel:++15551234", "global number is '+' and digits"},
	{"tel:+1234567890123456", "at most 15 digits"},
	{"tel:+1-234-567-890-123-456", "at most 15 digits"},
	{"tel:1234567;phone-context=+123456789", "at most 15 digits"},
	{"tel:5551234", "phone-context that is a global number prefix (e.g. ;phone-context=+1555)"},
	{"tel:555-1234;ext=1", "phone-context that is a global number prefix"},
	{"tel:7042;phone-context=example.com", "domain-name context"},
	{"tel:7042;phone-context=pbx.example.com", "domain-name context"},
	{"tel:7042;phone-context", "phone-context that is a global number prefix"},
	{"tel:7042;phone-context=+", "phone-context that is a global number prefix"},
	{"tel:7042;phone-context=+-()", "phone-context that is a global number prefix"},
	{"tel:7042;phone-context=+1x", "phone-context that is a global number prefix"},
	{"tel:*21#;phone-context=+1555", "decimal digits"},
	{"tel:70A2;phone-context=+1555", "decimal digits"},
	{"tel:7042/1;phone-context=+1555", "a local number is hex digits"},
	{"tel:-;phone-context=+1555", "no digits"},
	{"tel:+15551234;phone-context=+1", "must not carry a phone-context"},
	{"tel:+15551234;phone-context=example.com", "must not carry a phone-context"},
	{"tel:+15551234;ext=", "invalid parameter"},
	{"tel:+15551234;ext", ";ext= must be digits"},
	{"tel:+15551234;ext=12a", ";ext= must be digits"},
	{"tel:+15551234;ext=-", ";ext= must be digits"},
	{"tel:+15551234;ext=1;ext=2", "appears twice"},
	{"tel:+15551234;isub=1;ISUB=2", "appears twice"},
	{"tel:7042;phone-context=+1;phone-context=+2", "appears twice"},
	{"tel:+15551234;isub", "invalid ;isub= value"},
	{"tel:+15551234;isub=a%2", "percent-encoding"},
	{"tel:+15551234;isub=a\"b", "invalid parameter"},
	{"tel:+15551234;", "invalid parameter"},
	{"tel:+15551234;;npdi", "invalid parameter"},
	{"tel:+15551234;=x", "invalid parameter"},
	{"tel:+15551234;a_b=1", "invalid parameter"},
	{"tel:+15551234;rn=a\"b", "invalid parameter"},
	{"tel:+15551234;rn=%zz", "percent-encoding"},
	{"tel:+15551234;rn=a=b", "invalid parameter"},
};

Test(tel, rejections_say_why)
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

Test(tel, output_untouched_on_failure)
{
	struct rd_name out;
	const char *reason;

	memset(&out, 'x', sizeof(out));
	cr_assert_eq(norm("tel:5551234", &out, &reason), -EINVAL);
	cr_expect_eq(out.name[0], 'x');
	cr_expect_eq(out.host[0], 'x');
}

Test(tel, too_long_for_a_name)
{
	char uri[700] = "tel:+15551234;isub=";
	struct rd_name out;
	const char *reason;

	memset(uri + strlen(uri), 'a', 600);
	uri[sizeof(uri) - 1] = '\0';
	cr_expect_eq(norm(uri, &out, &reason), -ENAMETOOLONG);
}

/* The DNS front end builds "tel:+<digits>" from an ENUM name: the plugin must leave it as it is. */
Test(tel, enum_form_is_a_fixed_point)
{
	static const char *const enum_names[] = {"tel:+15551234", "tel:+4930123456", "tel:+1", "tel:+123456789012345"};

	for (size_t i = 0; i < sizeof(enum_names) / sizeof(enum_names[0]); i++)
		expect(enum_names[i], enum_names[i]);
}

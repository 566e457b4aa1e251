/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of fallback.c against a fake host whose dns_query() answers from a table. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/xmpp/fallback.h"

/* ---- the fake host -------------------------------------------------------- */

#define MAX_RRS 40

/** One canned DNS answer. */
struct canned {
	const char *name;
	enum rd_dns_type type;
	int status; /**< 0: answer rrs[0..n) */
	size_t n;
	struct rd_dns_rr rrs[MAX_RRS];
};

/** A query the plugin started and the fake has not answered yet. */
struct pending {
	char name[300];
	enum rd_dns_type type;
	rd_dns_cb cb;
	void *ud;
};

static const struct canned *table;
static size_t table_len;
static int start_error;           /**< dns_query() fails with this when nonzero */
static struct pending pending[16];
static size_t n_pending;
static char asked[32][300];       /**< "TYPE name" of every query started */
static size_t n_asked;

static void fake_log(struct rd_host *h, enum rd_log_level level, const char *fmt, ...)
{
}

static int fake_dns_query(struct rd_host *h, const char *name, enum rd_dns_type type, rd_dns_cb cb, void *ud)
{
	if (start_error != 0)
		return start_error;
	cr_assert_lt(n_pending, 16);
	snprintf(asked[n_asked++], sizeof(asked[0]), "%s %s",
		 type == RD_DNS_SRV ? "SRV" : type == RD_DNS_A ? "A" : type == RD_DNS_AAAA ? "AAAA" : "?", name);
	pending[n_pending] = (struct pending){.type = type, .cb = cb, .ud = ud};
	snprintf(pending[n_pending].name, sizeof(pending[0].name), "%s", name);
	n_pending++;
	return 0;
}

static struct rd_host_api fake_api = {
	.abi_major = RD_PLUGIN_ABI_MAJOR,
	.abi_minor = RD_PLUGIN_ABI_MINOR,
	.size = sizeof(struct rd_host_api),
	.log = fake_log,
	.dns_query = fake_dns_query,
};

static char host_dummy;
#define FAKE_HOST ((struct rd_host *)&host_dummy)

/** Answer every pending query from the table (NXDOMAIN when absent), until none is left. */
static void answer_all(void)
{
	while (n_pending > 0) {
		struct pending p = pending[0];
		const struct canned *c = NULL;

		memmove(pending, pending + 1, (n_pending - 1) * sizeof(pending[0]));
		n_pending--;
		for (size_t i = 0; i < table_len; i++) {
			if (strcmp(table[i].name, p.name) == 0 && table[i].type == p.type)
				c = &table[i];
		}
		if (c == NULL)
			p.cb(p.ud, -ENOENT, NULL, 0);
		else
			p.cb(p.ud, c->status, c->status == 0 ? c->rrs : NULL, c->status == 0 ? c->n : 0);
	}
}

/* ---- what the callback saw ------------------------------------------------- */

static struct {
	int calls;
	int status;
	size_t n;
	char url[80][300];
	char via[80][300];
	uint16_t q[80];
	uint32_t ttl[80];
} got;

static void on_done(void *ud, int status, const struct rd_target *t, size_t n)
{
	cr_assert_eq(ud, &got);
	got.calls++;
	got.status = status;
	got.n = n;
	cr_assert_leq(n, 80);
	for (size_t i = 0; i < n; i++) {
		snprintf(got.url[i], sizeof(got.url[i]), "%s", t[i].url);
		snprintf(got.via[i], sizeof(got.via[i]), "%s", t[i].via);
		got.q[i] = t[i].q;
		got.ttl[i] = t[i].ttl;
	}
}

static struct xmpp_fallback fb;

static void setup(void)
{
	memset(&got, 0, sizeof(got));
	n_pending = n_asked = 0;
	start_error = 0;
	table = NULL;
	table_len = 0;
	fallback_init(&fb, &fake_api, FAKE_HOST);
}

static void teardown(void)
{
	fallback_deinit(&fb);
}

TestSuite(fallback, .init = setup, .fini = teardown);

#define SRV(ttl_, prio, w, port_, target_) \
	{.type = RD_DNS_SRV, .ttl = (ttl_), .u.srv = {.priority = (prio), .weight = (w), .port = (port_), .target = (target_)}}
#define ADDR(type_, ttl_, addr_) {.type = (type_), .ttl = (ttl_), .u.a = {.addr = addr_}}

/** Run one fallback for xmpp:bob@@p domain against @p t, answering everything. */
static void run(const char *domain, const struct canned *t, size_t n)
{
	struct rd_name name = {0};

	table = t;
	table_len = n;
	snprintf(name.name, sizeof(name.name), "xmpp:bob@%s", domain);
	snprintf(name.host, sizeof(name.host), "%s", domain);
	cr_assert_eq(fallback_start(&fb, &name, on_done, &got), 0);
	cr_assert_eq(got.calls, 0, "callback ran before any DNS answer");
	answer_all();
	cr_assert_eq(got.calls, 1, "callback ran %d times", got.calls);
}

static bool was_asked(const char *what)
{
	for (size_t i = 0; i < n_asked; i++) {
		if (strcmp(asked[i], what) == 0)
			return true;
	}
	return false;
}

Test(fallback, srv_order_priority_then_weight_client_first)
{
	static const struct canned t[] = {
		{"_xmpp-client._tcp.example.org", RD_DNS_SRV, 0, 3,
		 {SRV(300, 20, 10, 5222, "c3.example.org"), SRV(600, 10, 5, 5223, "c2.example.org"),
		  SRV(900, 10, 50, 5224, "C1.Example.org")}},
		{"_xmpp-server._tcp.example.org", RD_DNS_SRV, 0, 1, {SRV(120, 0, 0, 5269, "s1.example.org")}},
	};

	run("example.org", t, 2);
	cr_assert_eq(got.status, 0);
	cr_assert_eq(got.n, 4);
	cr_expect_str_eq(got.url[0], "tcp://c1.example.org:5224");
	cr_expect_str_eq(got.url[1], "tcp://c2.example.org:5223");
	cr_expect_str_eq(got.url[2], "tcp://c3.example.org:5222");
	cr_expect_str_eq(got.url[3], "tcp://s1.example.org:5269");
	cr_expect_str_eq(got.via[0], "SRV _xmpp-client._tcp.example.org");
	cr_expect_str_eq(got.via[3], "SRV _xmpp-server._tcp.example.org");
	cr_expect_eq(got.q[0], 1000);
	for (size_t i = 1; i < got.n; i++)
		cr_expect_lt(got.q[i], got.q[i - 1], "q must fall by position");
	for (size_t i = 0; i < got.n; i++)
		cr_expect_eq(got.ttl[i], 120, "ttl is the smallest of all records");
	cr_expect(!was_asked("A example.org") && !was_asked("AAAA example.org"));
}

Test(fallback, equal_priority_and_weight_keep_server_order)
{
	static const struct canned t[] = {
		{"_xmpp-client._tcp.example.org", RD_DNS_SRV, 0, 3,
		 {SRV(60, 5, 5, 1, "a.example.org"), SRV(60, 5, 5, 2, "b.example.org"), SRV(60, 5, 5, 3, "c.example.org")}},
		{"_xmpp-server._tcp.example.org", RD_DNS_SRV, 0, 1, {SRV(60, 0, 0, 5269, ".")}},
	};

	run("example.org", t, 2);
	cr_assert_eq(got.n, 3);
	cr_expect_str_eq(got.url[0], "tcp://a.example.org:1");
	cr_expect_str_eq(got.url[1], "tcp://b.example.org:2");
	cr_expect_str_eq(got.url[2], "tcp://c.example.org:3");
}

Test(fallback, dot_target_means_no_service_and_no_address_fallback)
{
	static const struct canned t[] = {
		{"_xmpp-client._tcp.example.org", RD_DNS_SRV, 0, 1, {SRV(300, 0, 0, 0, ".")}},
		{"_xmpp-server._tcp.example.org", RD_DNS_SRV, 0, 1, {SRV(300, 5, 0, 5269, "s.example.org")}},
		{"example.org", RD_DNS_A, 0, 1, {ADDR(RD_DNS_A, 300, "192.0.2.1")}},
	};

	run("example.org", t, 3);
	cr_assert_eq(got.status, 0);
	cr_assert_eq(got.n, 1);
	cr_expect_str_eq(got.url[0], "tcp://s.example.org:5269");
	cr_expect(!was_asked("A example.org"), "a '.' SRV must not fall back to A");
}

Test(fallback, both_dot_is_enoent)
{
	static const struct canned t[] = {
		{"_xmpp-client._tcp.example.org", RD_DNS_SRV, 0, 1, {SRV(300, 0, 0, 0, ".")}},
		{"_xmpp-server._tcp.example.org", RD_DNS_SRV, 0, 1, {SRV(300, 0, 0, 0, "")}},
		{"example.org", RD_DNS_A, 0, 1, {ADDR(RD_DNS_A, 300, "192.0.2.1")}},
	};

	run("example.org", t, 3);
	cr_expect_eq(got.status, -ENOENT);
	cr_expect_eq(got.n, 0);
	cr_expect_eq(n_asked, 2);
}

Test(fallback, dot_among_real_targets_is_skipped)
{
	static const struct canned t[] = {
		{"_xmpp-client._tcp.example.org", RD_DNS_SRV, 0, 2,
		 {SRV(300, 0, 0, 0, "."), SRV(300, 1, 0, 5222, "x.example.org")}},
	};

	run("example.org", t, 1);
	cr_assert_eq(got.status, 0);
	/* the server service has no SRV: it falls back to addresses, and there are none */
	cr_assert_eq(got.n, 1);
	cr_expect_str_eq(got.url[0], "tcp://x.example.org:5222");
	cr_expect(was_asked("A example.org") && was_asked("AAAA example.org"));
}

Test(fallback, no_srv_falls_back_to_addresses_on_default_ports)
{
	static const struct canned t[] = {
		{"example.org", RD_DNS_A, 0, 2, {ADDR(RD_DNS_A, 500, "192.0.2.1"), ADDR(RD_DNS_A, 400, "192.0.2.2")}},
		{"example.org", RD_DNS_AAAA, 0, 1, {ADDR(RD_DNS_AAAA, 450, "2001:db8::1")}},
	};

	run("example.org", t, 2);
	cr_assert_eq(got.status, 0);
	cr_assert_eq(got.n, 6);
	cr_expect_str_eq(got.url[0], "tcp://[2001:db8::1]:5222");
	cr_expect_str_eq(got.url[1], "tcp://192.0.2.1:5222");
	cr_expect_str_eq(got.url[2], "tcp://192.0.2.2:5222");
	cr_expect_str_eq(got.url[3], "tcp://[2001:db8::1]:5269");
	cr_expect_str_eq(got.url[5], "tcp://192.0.2.2:5269");
	cr_expect_str_eq(got.via[0], "AAAA example.org, no SRV _xmpp-client._tcp");
	cr_expect_str_eq(got.via[4], "A example.org, no SRV _xmpp-server._tcp");
	cr_expect_eq(got.ttl[0], 400);
	cr_expect_eq(got.ttl[5], 400);
	cr_expect_eq(n_asked, 4);
}

Test(fallback, one_service_srv_other_addresses)
{
	static const struct canned t[] = {
		{"_xmpp-client._tcp.example.org", RD_DNS_SRV, 0, 1, {SRV(80, 0, 0, 5222, "xmpp.example.org")}},
		{"example.org", RD_DNS_A, 0, 1, {ADDR(RD_DNS_A, 90, "192.0.2.7")}},
	};

	run("example.org", t, 2);
	cr_assert_eq(got.status, 0);
	cr_assert_eq(got.n, 2);
	cr_expect_str_eq(got.url[0], "tcp://xmpp.example.org:5222");
	cr_expect_str_eq(got.url[1], "tcp://192.0.2.7:5269");
	cr_expect_eq(got.ttl[1], 80);
}

Test(fallback, nothing_is_enoent)
{
	run("nowhere.example", NULL, 0);
	cr_expect_eq(got.status, -ENOENT);
	cr_expect_eq(got.n, 0);
	cr_expect_eq(n_asked, 4);
}

Test(fallback, srv_timeout_is_etimedout_without_address_fallback)
{
	static const struct canned t[] = {
		{"_xmpp-client._tcp.example.org", RD_DNS_SRV, -ETIMEDOUT, 0, {{0}}},
		{"_xmpp-server._tcp.example.org", RD_DNS_SRV, -ETIMEDOUT, 0, {{0}}},
		{"example.org", RD_DNS_A, 0, 1, {ADDR(RD_DNS_A, 90, "192.0.2.7")}},
	};

	run("example.org", t, 3);
	cr_expect_eq(got.status, -ETIMEDOUT);
	cr_expect_eq(n_asked, 2);
}

Test(fallback, servfail_is_eio)
{
	static const struct canned t[] = {
		{"_xmpp-client._tcp.example.org", RD_DNS_SRV, -EIO, 0, {{0}}},
	};

	run("example.org", t, 1);
	cr_expect_eq(got.status, -EIO);
}

Test(fallback, address_timeout_is_etimedout)
{
	static const struct canned t[] = {
		{"example.org", RD_DNS_A, -ETIMEDOUT, 0, {{0}}},
		{"example.org", RD_DNS_AAAA, -ENOENT, 0, {{0}}},
	};

	run("example.org", t, 2);
	cr_expect_eq(got.status, -ETIMEDOUT);
}

Test(fallback, partial_failure_reports_what_was_found)
{
	static const struct canned t[] = {
		{"_xmpp-client._tcp.example.org", RD_DNS_SRV, -ETIMEDOUT, 0, {{0}}},
		{"_xmpp-server._tcp.example.org", RD_DNS_SRV, 0, 1, {SRV(30, 0, 0, 5269, "s.example.org")}},
	};

	run("example.org", t, 2);
	cr_assert_eq(got.status, 0);
	cr_assert_eq(got.n, 1);
	cr_expect_str_eq(got.url[0], "tcp://s.example.org:5269");
	cr_expect_eq(got.q[0], 1000);
	cr_expect_eq(got.ttl[0], 30);
}

Test(fallback, canceled_answer_is_ecanceled)
{
	static const struct canned t[] = {
		{"_xmpp-client._tcp.example.org", RD_DNS_SRV, -ECANCELED, 0, {{0}}},
		{"_xmpp-server._tcp.example.org", RD_DNS_SRV, 0, 1, {SRV(30, 0, 0, 5269, "s.example.org")}},
	};

	run("example.org", t, 2);
	cr_expect_eq(got.status, -ECANCELED);
	cr_expect_eq(got.n, 0);
	cr_expect_eq(n_asked, 2, "no address query after a cancel");
}

Test(fallback, deinit_completes_in_flight_with_ecanceled)
{
	struct rd_name name = {.name = "xmpp:bob@example.org", .host = "example.org"};

	cr_assert_eq(fallback_start(&fb, &name, on_done, &got), 0);
	cr_assert_eq(fallback_start(&fb, &name, on_done, &got), 0);
	cr_assert_eq(got.calls, 0);
	fallback_deinit(&fb);
	cr_expect_eq(got.calls, 2, "each fallback completes exactly once");
	cr_expect_eq(got.status, -ECANCELED);
	cr_expect_eq(got.n, 0);
	/* the host drops the queries without callbacks; deinit again must see nothing */
	n_pending = 0;
	fallback_deinit(&fb);
	cr_expect_eq(got.calls, 2);
}

Test(fallback, dns_start_failure_returns_error_without_callback)
{
	struct rd_name name = {.name = "xmpp:bob@example.org", .host = "example.org"};

	start_error = -ENOMEM;
	cr_expect_eq(fallback_start(&fb, &name, on_done, &got), -ENOMEM);
	start_error = -EINVAL;
	cr_expect_eq(fallback_start(&fb, &name, on_done, &got), -ENOTSUP);
	cr_expect_eq(got.calls, 0);
	cr_expect_null(fb.jobs);
}

Test(fallback, address_start_failure_is_eio)
{
	run("example.org", NULL, 0);
	cr_assert_eq(got.status, -ENOENT);
	memset(&got, 0, sizeof(got));
	n_asked = 0;
	{
		struct rd_name name = {.name = "xmpp:bob@example.org", .host = "example.org"};

		cr_assert_eq(fallback_start(&fb, &name, on_done, &got), 0);
		start_error = -ENOMEM; /* the SRV queries are in flight; the A/AAAA ones will fail to start */
		answer_all();
	}
	cr_expect_eq(got.calls, 1);
	cr_expect_eq(got.status, -EIO);
}

Test(fallback, ip_literals_report_at_once_without_dns)
{
	struct rd_name v6 = {.name = "xmpp:bob@[2001:db8::5]", .host = "2001:db8::5"};
	struct rd_name v4 = {.name = "xmpp:bob@192.0.2.9", .host = "192.0.2.9"};

	cr_assert_eq(fallback_start(&fb, &v6, on_done, &got), 0);
	cr_assert_eq(got.calls, 1);
	cr_assert_eq(got.n, 2);
	cr_expect_str_eq(got.url[0], "tcp://[2001:db8::5]:5222");
	cr_expect_str_eq(got.url[1], "tcp://[2001:db8::5]:5269");
	cr_assert_eq(fallback_start(&fb, &v4, on_done, &got), 0);
	cr_assert_eq(got.calls, 2);
	cr_expect_str_eq(got.url[0], "tcp://192.0.2.9:5222");
	cr_expect_eq(got.ttl[0], FALLBACK_LITERAL_TTL);
	cr_expect_eq(n_asked, 0);
}

Test(fallback, no_domain_is_enotsup)
{
	struct rd_name name = {.name = "xmpp:"};

	cr_expect_eq(fallback_start(&fb, &name, on_done, &got), -ENOTSUP);
	cr_expect_eq(got.calls, 0);
}

Test(fallback, targets_are_capped_per_service)
{
	static struct canned t[1] = {{"_xmpp-client._tcp.example.org", RD_DNS_SRV, 0, MAX_RRS, {{0}}}};
	static char names[MAX_RRS][32];

	for (int i = 0; i < MAX_RRS; i++) {
		snprintf(names[i], sizeof(names[i]), "h%d.example.org", i);
		t[0].rrs[i] = (struct rd_dns_rr)SRV(60, (uint16_t)(MAX_RRS - i), 0, 5222, names[i]);
	}
	run("example.org", t, 1);
	cr_assert_eq(got.status, 0);
	cr_assert_eq(got.n, FALLBACK_MAX_PER_KIND);
	/* the cap keeps the best records: the lowest priorities, sent last */
	cr_expect_str_eq(got.url[0], "tcp://h39.example.org:5222");
	cr_expect_str_eq(got.url[FALLBACK_MAX_PER_KIND - 1], "tcp://h8.example.org:5222");
	cr_expect_gt(got.q[FALLBACK_MAX_PER_KIND - 1], 0);
}

Test(fallback, odd_srv_target_is_skipped)
{
	static const struct canned t[] = {
		{"_xmpp-client._tcp.example.org", RD_DNS_SRV, 0, 2,
		 {SRV(60, 0, 0, 5222, "bad\\032name.example.org"), SRV(60, 1, 0, 5222, "good.example.org")}},
		{"_xmpp-server._tcp.example.org", RD_DNS_SRV, 0, 1, {SRV(300, 0, 0, 0, ".")}},
	};

	run("example.org", t, 2);
	cr_assert_eq(got.n, 1);
	cr_expect_str_eq(got.url[0], "tcp://good.example.org:5222");
}

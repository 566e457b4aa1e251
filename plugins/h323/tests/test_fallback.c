/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for plugins/h323/fallback.c: the Annex O order, q, ttl, errors and cancellation, on a fake DNS. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/plugin.h"

const struct rd_plugin *rd_plugin_entry(void);

/* ---- a fake host: dns_query answers from a table when the test says so ---- */

struct answer {
	const char *name;
	enum rd_dns_type type;
	int status;              /**< 0, or the error to deliver */
	struct rd_dns_rr rr[4];
	size_t n;
};

struct asked {
	char name[300];
	enum rd_dns_type type;
	rd_dns_cb cb;
	void *ud;
};

static const struct answer *table;
static size_t table_n;
static struct asked queue[32];
static size_t queued, asked_total;
static int fail_queries; /**< dns_query returns -ENOMEM for this many next calls */

static void fake_log(struct rd_host *h, enum rd_log_level level, const char *fmt, ...)
{
	(void)h;
	(void)level;
	(void)fmt;
}

static int fake_dns_query(struct rd_host *h, const char *name, enum rd_dns_type type, rd_dns_cb cb, void *ud)
{
	(void)h;
	if (fail_queries > 0) {
		fail_queries--;
		return -ENOMEM;
	}
	cr_assert_lt(queued, 32);
	snprintf(queue[queued].name, sizeof(queue[queued].name), "%s", name);
	queue[queued].type = type;
	queue[queued].cb = cb;
	queue[queued].ud = ud;
	queued++;
	asked_total++;
	return 0;
}

static const struct rd_host_api fake_api = {
	.abi_major = RD_PLUGIN_ABI_MAJOR,
	.abi_minor = RD_PLUGIN_ABI_MINOR,
	.size = sizeof(struct rd_host_api),
	.log = fake_log,
	.dns_query = fake_dns_query,
};

/** Answer every queued query (and those they cause) from the table; unknown names get -ENOENT. */
static void deliver_all(void)
{
	while (queued > 0) {
		struct asked a = queue[0];
		const struct answer *ans = NULL;

		memmove(queue, queue + 1, (queued - 1) * sizeof(queue[0]));
		queued--;
		for (size_t i = 0; i < table_n; i++) {
			if (strcmp(table[i].name, a.name) == 0 && table[i].type == a.type)
				ans = &table[i];
		}
		if (ans == NULL)
			a.cb(a.ud, -ENOENT, NULL, 0);
		else
			a.cb(a.ud, ans->status, ans->status == 0 ? ans->rr : NULL, ans->status == 0 ? ans->n : 0);
	}
}

/* ---- what the plugin reported ---- */

struct result {
	int calls;
	int status;
	size_t n;
	char url[8][300];
	char via[8][40];
	uint16_t q[8];
	uint32_t ttl[8];
};

static struct result res;

static void on_result(void *ud, int status, const struct rd_target *t, size_t n)
{
	struct result *r = ud;

	r->calls++;
	r->status = status;
	r->n = n;
	for (size_t i = 0; i < n && i < 8; i++) {
		snprintf(r->url[i], sizeof(r->url[i]), "%s", t[i].url);
		snprintf(r->via[i], sizeof(r->via[i]), "%s", t[i].via);
		r->q[i] = t[i].q;
		r->ttl[i] = t[i].ttl;
	}
}

static void *state;

static void setup(void)
{
	memset(&res, 0, sizeof(res));
	queued = asked_total = 0;
	fail_queries = 0;
	table = NULL;
	table_n = 0;
	cr_assert_eq(rd_plugin_entry()->init(&fake_api, (struct rd_host *)&fake_api, &state), 0);
}

static void teardown(void)
{
	rd_plugin_entry()->deinit(state);
	queued = 0; /* the host drops queries in flight after deinit, without callbacks */
}

/** Normalize @p uri and start its fallback. @return fallback()'s result. */
static int start(const char *uri)
{
	struct rd_name name;
	const char *reason;

	cr_assert_eq(rd_plugin_entry()->normalize(NULL, uri, &name, &reason), 0);
	return rd_plugin_entry()->fallback(state, &name, on_result, &res);
}

#define SRV(p, w, port, target, ttl_) \
	{.type = RD_DNS_SRV, .ttl = (ttl_), .u.srv = {(p), (w), (port), (target)}}
#define ADDR(t, text, ttl_) {.type = (t), .ttl = (ttl_), .u.a = {text}}

static const struct answer all_three[] = {
	{"_h323cs._tcp.example.net", RD_DNS_SRV, 0,
	 {SRV(10, 0, 1720, "cs1.example.net", 300), SRV(5, 0, 1720, "cs0.example.net", 200)}, 2},
	{"_h323ls._udp.example.net", RD_DNS_SRV, 0,
	 {SRV(10, 10, 1719, "ls-light.example.net", 600), SRV(10, 90, 1719, "ls-heavy.example.net", 500)}, 2},
	{"_h323rs._udp.example.net", RD_DNS_SRV, 0, {SRV(0, 0, 1719, "gk.example.net", 100)}, 1},
	{"example.net", RD_DNS_A, 0, {ADDR(RD_DNS_A, "192.0.2.99", 60)}, 1},
};

TestSuite(h323_fallback, .init = setup, .fini = teardown);

Test(h323_fallback, annex_o_order_location_then_call_then_registration)
{
	table = all_three;
	table_n = 4;
	cr_assert_eq(start("h323:carol@Example.NET"), 0);
	cr_expect_eq(res.calls, 0, "the callback never runs before the DNS answers");
	cr_expect_eq(queued, 3, "LS, CS and RS are asked at once");
	deliver_all();
	cr_assert_eq(res.calls, 1);
	cr_assert_eq(res.status, 0);
	cr_assert_eq(res.n, 5);
	cr_expect_str_eq(res.url[0], "h323:carol@ls-heavy.example.net:1719");
	cr_expect_str_eq(res.url[1], "h323:carol@ls-light.example.net:1719");
	cr_expect_str_eq(res.url[2], "h323:carol@cs0.example.net:1720");
	cr_expect_str_eq(res.url[3], "h323:carol@cs1.example.net:1720");
	cr_expect_str_eq(res.url[4], "h323:carol@gk.example.net:1719");
	cr_expect_str_eq(res.via[0], "SRV _h323ls._udp");
	cr_expect_str_eq(res.via[2], "SRV _h323cs._tcp");
	cr_expect_str_eq(res.via[4], "SRV _h323rs._udp");
	cr_expect_eq(res.q[0], RD_Q_MAX);
	for (size_t i = 1; i < 5; i++)
		cr_expect_lt(res.q[i], res.q[i - 1], "q goes down in result order");
	cr_expect_gt(res.q[4], 0);
	cr_expect_eq(res.ttl[0], 500);
	cr_expect_eq(res.ttl[2], 200);
	cr_expect_eq(asked_total, 3, "no address lookup when SRV records exist");
}

Test(h323_fallback, alias_less_name_keeps_an_empty_alias)
{
	static const struct answer cs_only[] = {
		{"_h323cs._tcp.example.net", RD_DNS_SRV, 0, {SRV(0, 0, 1720, "gw.example.net", 30)}, 1},
	};

	table = cs_only;
	table_n = 1;
	cr_assert_eq(start("h323:@example.net"), 0);
	deliver_all();
	cr_assert_eq(res.calls, 1);
	cr_assert_eq(res.status, 0);
	cr_assert_eq(res.n, 1);
	cr_expect_str_eq(res.url[0], "h323:@gw.example.net:1720");
	cr_expect_eq(res.q[0], RD_Q_MAX);
	cr_expect_eq(res.ttl[0], 30);
}

Test(h323_fallback, escaped_alias_is_carried_as_normalized)
{
	table = all_three;
	table_n = 4;
	cr_assert_eq(start("h323:%63ar%20ol@example.net"), 0);
	deliver_all();
	cr_assert_eq(res.status, 0);
	cr_expect_str_eq(res.url[0], "h323:car%20ol@ls-heavy.example.net:1719");
}

Test(h323_fallback, no_srv_means_a_and_aaaa_on_1720)
{
	static const struct answer addrs[] = {
		{"example.org", RD_DNS_A, 0, {ADDR(RD_DNS_A, "192.0.2.7", 120), ADDR(RD_DNS_A, "192.0.2.8", 90)}, 2},
		{"example.org", RD_DNS_AAAA, 0, {ADDR(RD_DNS_AAAA, "2001:db8::7", 80)}, 1},
	};

	table = addrs;
	table_n = 2;
	cr_assert_eq(start("h323:dave@example.org"), 0);
	deliver_all();
	cr_assert_eq(res.calls, 1);
	cr_assert_eq(res.status, 0);
	cr_assert_eq(res.n, 3);
	cr_expect_str_eq(res.url[0], "h323:dave@192.0.2.7:1720");
	cr_expect_str_eq(res.url[1], "h323:dave@192.0.2.8:1720");
	cr_expect_str_eq(res.url[2], "h323:dave@[2001:db8::7]:1720");
	cr_expect_str_eq(res.via[0], "A");
	cr_expect_str_eq(res.via[2], "AAAA");
	cr_expect_eq(res.ttl[1], 90);
	cr_expect_eq(asked_total, 5);
}

Test(h323_fallback, explicit_port_skips_srv)
{
	static const struct answer addrs[] = {
		{"gw.example.org", RD_DNS_A, 0, {ADDR(RD_DNS_A, "192.0.2.9", 120)}, 1},
		{"_h323cs._tcp.gw.example.org", RD_DNS_SRV, 0, {SRV(0, 0, 1720, "never.example", 30)}, 1},
	};

	table = addrs;
	table_n = 2;
	cr_assert_eq(start("h323:dave@gw.example.org:1731"), 0);
	cr_expect_eq(queued, 2, "A and AAAA only");
	deliver_all();
	cr_assert_eq(res.calls, 1);
	cr_assert_eq(res.status, 0);
	cr_assert_eq(res.n, 1);
	cr_expect_str_eq(res.url[0], "h323:dave@192.0.2.9:1731");
}

Test(h323_fallback, dot_target_means_none_and_stops)
{
	static const struct answer dot[] = {
		{"_h323ls._udp.example.com", RD_DNS_SRV, 0, {SRV(0, 0, 0, ".", 300)}, 1},
		{"example.com", RD_DNS_A, 0, {ADDR(RD_DNS_A, "192.0.2.1", 120)}, 1},
	};

	table = dot;
	table_n = 2;
	cr_assert_eq(start("h323:erin@example.com"), 0);
	deliver_all();
	cr_assert_eq(res.calls, 1);
	cr_expect_eq(res.status, -ENOENT);
	cr_expect_eq(res.n, 0);
	cr_expect_eq(asked_total, 3, "an explicit 'no service' is not a reason to try addresses");
}

Test(h323_fallback, nothing_published_is_enoent)
{
	cr_assert_eq(start("h323:erin@nowhere.example"), 0);
	deliver_all();
	cr_assert_eq(res.calls, 1);
	cr_expect_eq(res.status, -ENOENT);
	cr_expect_eq(asked_total, 5);
}

Test(h323_fallback, srv_timeout_without_targets_is_etimedout)
{
	static const struct answer slow[] = {
		{"_h323ls._udp.example.com", RD_DNS_SRV, -ETIMEDOUT, {{0}}, 0},
		{"example.com", RD_DNS_A, 0, {ADDR(RD_DNS_A, "192.0.2.1", 120)}, 1},
	};

	table = slow;
	table_n = 2;
	cr_assert_eq(start("h323:erin@example.com"), 0);
	deliver_all();
	cr_assert_eq(res.calls, 1);
	cr_expect_eq(res.status, -ETIMEDOUT);
	cr_expect_eq(asked_total, 3, "a failed SRV lookup is not an absent one: no address fallback");
}

Test(h323_fallback, srv_timeout_with_other_targets_still_answers)
{
	static const struct answer part[] = {
		{"_h323ls._udp.example.com", RD_DNS_SRV, -ETIMEDOUT, {{0}}, 0},
		{"_h323cs._tcp.example.com", RD_DNS_SRV, 0, {SRV(0, 0, 1720, "cs.example.com", 60)}, 1},
	};

	table = part;
	table_n = 2;
	cr_assert_eq(start("h323:erin@example.com"), 0);
	deliver_all();
	cr_assert_eq(res.calls, 1);
	cr_assert_eq(res.status, 0);
	cr_assert_eq(res.n, 1);
	cr_expect_str_eq(res.url[0], "h323:erin@cs.example.com:1720");
}

Test(h323_fallback, address_errors)
{
	static const struct answer bad[] = {
		{"example.com", RD_DNS_A, -EIO, {{0}}, 0},
		{"example.com", RD_DNS_AAAA, -ETIMEDOUT, {{0}}, 0},
	};

	table = bad;
	table_n = 2;
	cr_assert_eq(start("h323:erin@example.com"), 0);
	deliver_all();
	cr_assert_eq(res.calls, 1);
	cr_expect_eq(res.status, -ETIMEDOUT);
}

Test(h323_fallback, records_of_another_type_are_an_error)
{
	static const struct answer wrong[] = {
		{"_h323ls._udp.example.com", RD_DNS_SRV, 0, {ADDR(RD_DNS_A, "192.0.2.1", 1)}, 1},
	};

	table = wrong;
	table_n = 1;
	cr_assert_eq(start("h323:erin@example.com"), 0);
	deliver_all();
	cr_assert_eq(res.calls, 1);
	cr_expect_eq(res.status, -EIO);
}

Test(h323_fallback, nothing_to_look_up_is_enotsup)
{
	cr_expect_eq(start("h323:carol"), -ENOTSUP);
	cr_expect_eq(start("h323:carol@192.0.2.1"), -ENOTSUP);
	cr_expect_eq(start("h323:carol@[2001:db8::1]:1720"), -ENOTSUP);
	cr_expect_eq(asked_total, 0);
	cr_expect_eq(res.calls, 0, "no callback when fallback() returns an error");
}

Test(h323_fallback, no_state_is_enotsup)
{
	struct rd_name name;
	const char *reason;

	cr_assert_eq(rd_plugin_entry()->normalize(NULL, "h323:a@example.com", &name, &reason), 0);
	cr_expect_eq(rd_plugin_entry()->fallback(NULL, &name, on_result, &res), -ENOTSUP);
}

Test(h323_fallback, dns_out_of_memory)
{
	fail_queries = 3;
	cr_expect_eq(start("h323:erin@example.com"), -ENOMEM);
	cr_expect_eq(res.calls, 0);
	/* One of three cannot be asked: the others still answer. */
	table = all_three;
	table_n = 4;
	fail_queries = 1;
	cr_assert_eq(start("h323:carol@example.net"), 0);
	deliver_all();
	cr_assert_eq(res.calls, 1);
	cr_assert_eq(res.status, 0);
	cr_expect_eq(res.n, 3, "CS and RS, without the LS that could not be asked");
}

Test(h323_fallback, deinit_cancels_what_is_in_flight)
{
	struct result second = {0};
	struct rd_name name;
	const char *reason;

	cr_assert_eq(start("h323:carol@example.net"), 0);
	cr_assert_eq(rd_plugin_entry()->normalize(NULL, "h323:dave@example.org", &name, &reason), 0);
	cr_assert_eq(rd_plugin_entry()->fallback(state, &name, on_result, &second), 0);
	rd_plugin_entry()->deinit(state);
	cr_expect_eq(res.calls, 1);
	cr_expect_eq(res.status, -ECANCELED);
	cr_expect_eq(res.n, 0);
	cr_expect_eq(second.calls, 1);
	cr_expect_eq(second.status, -ECANCELED);
	queued = 0;
	cr_assert_eq(rd_plugin_entry()->init(&fake_api, (struct rd_host *)&fake_api, &state), 0);
}

Test(h323_fallback, many_lookups_each_answered_once)
{
	struct result r[6];

	table = all_three;
	table_n = 4;
	memset(r, 0, sizeof(r));
	for (size_t i = 0; i < 6; i++) {
		struct rd_name name;
		const char *reason;

		cr_assert_eq(rd_plugin_entry()->normalize(NULL, i % 2 ? "h323:a@example.net" : "h323:b@example.org",
							  &name, &reason), 0);
		cr_assert_eq(rd_plugin_entry()->fallback(state, &name, on_result, &r[i]), 0);
	}
	deliver_all();
	for (size_t i = 0; i < 6; i++) {
		cr_expect_eq(r[i].calls, 1);
		cr_expect_eq(r[i].status, i % 2 ? 0 : -ENOENT);
	}
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for plugins/sip/fallback.c: the RFC 3263 walk against a fake host whose DNS answers from a table. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "plugins/sip/fallback.h"

/* ---- the fake host ------------------------------------------------------- */

struct rd_host {
	int unused;
};

/** A question the plugin asked; answered later by run(), like c-ares on the loop. */
struct query {
	char name[300];
	enum rd_dns_type type;
	rd_dns_cb cb;
	void *ud;
	bool answered;
};

/** A canned answer. */
struct answer {
	const char *name;
	enum rd_dns_type type;
	int status;
	size_t n;
	struct rd_dns_rr rrs[8];
};

static struct rd_host fake_host;
static struct query queries[64];
static size_t n_queries;
static const struct answer *table;
static size_t table_len;
static int sync_error;             /* dns_query() returns this when non-zero */
static const char *sync_error_for; /* ...only for names starting with this, or all if NULL */

static int fake_dns_query(struct rd_host *h, const char *name, enum rd_dns_type type, rd_dns_cb cb, void *ud)
{
	cr_assert_eq(h, &fake_host);
	if (sync_error != 0 && (sync_error_for == NULL || strncmp(name, sync_error_for, strlen(sync_error_for)) == 0))
		return sync_error;
	cr_assert_lt(n_queries, sizeof(queries) / sizeof(queries[0]));
	snprintf(queries[n_queries].name, sizeof(queries[0].name), "%s", name);
	queries[n_queries].type = type;
	queries[n_queries].cb = cb;
	queries[n_queries].ud = ud;
	queries[n_queries].answered = false;
	n_queries++;
	return 0;
}

static void fake_log(struct rd_host *h, enum rd_log_level level, const char *fmt, ...)
{
	(void)h;
	(void)level;
	(void)fmt;
}

static const struct rd_host_api fake_api = {
	.abi_major = RD_PLUGIN_ABI_MAJOR,
	.abi_minor = RD_PLUGIN_ABI_MINOR,
	.size = sizeof(struct rd_host_api),
	.log = fake_log,
	.dns_query = fake_dns_query,
};

static const struct answer *lookup(const char *name, enum rd_dns_type type)
{
	for (size_t i = 0; i < table_len; i++) {
		if (strcmp(table[i].name, name) == 0 && table[i].type == type)
			return &table[i];
	}
	return NULL;
}

/** Answer every pending question, in asking order or the reverse, until none is left. */
static void run(bool reverse)
{
	for (;;) {
		struct query *q = NULL;

		for (size_t i = 0; i < n_queries; i++) {
			size_t k = reverse ? n_queries - 1 - i : i;

			if (!queries[k].answered) {
				q = &queries[k];
				break;
			}
		}
		if (q == NULL)
			return;
		q->answered = true;
		const struct answer *a = lookup(q->name, q->type);

		if (a == NULL)
			q->cb(q->ud, -ENOENT, NULL, 0);
		else
			q->cb(q->ud, a->status, a->status == 0 ? a->rrs : NULL, a->status == 0 ? a->n : 0);
	}
}

/** Was @p name of @p type asked? */
static bool asked(const char *name, enum rd_dns_type type)
{
	for (size_t i = 0; i < n_queries; i++) {
		if (strcmp(queries[i].name, name) == 0 && queries[i].type == type)
			return true;
	}
	return false;
}

/* ---- what the callback saw ----------------------------------------------- */

struct result {
	int calls;
	int status;
	size_t n;
	char url[16][300];
	char via[16][300];
	uint16_t q[16];
	uint32_t ttl[16];
};

static void on_done(void *ud, int status, const struct rd_target *targets, size_t n)
{
	struct result *r = ud;

	r->calls++;
	r->status = status;
	r->n = n;
	cr_assert_leq(n, 16);
	if (status != 0)
		cr_assert_eq(n, 0, "status %d with %zu targets", status, n);
	for (size_t i = 0; i < n; i++) {
		snprintf(r->url[i], sizeof(r->url[i]), "%s", targets[i].url);
		snprintf(r->via[i], sizeof(r->via[i]), "%s", targets[i].via);
		r->q[i] = targets[i].q;
		r->ttl[i] = targets[i].ttl;
	}
}

static struct sip_fallbacks fbs;

static void setup(void)
{
	n_queries = 0;
	table = NULL;
	table_len = 0;
	sync_error = 0;
	sync_error_for = NULL;
	sip_fallbacks_init(&fbs, &fake_api, &fake_host);
}

static void teardown(void)
{
	sip_fallbacks_deinit(&fbs);
	cr_assert_null(fbs.head);
}

TestSuite(sip_fallback, .init = setup, .fini = teardown);

#define USE(t) (table = (t), table_len = sizeof(t) / sizeof((t)[0]))

static struct rd_name aor(const char *name, const char *host)
{
	struct rd_name n = {0};

	snprintf(n.name, sizeof(n.name), "%s", name);
	snprintf(n.host, sizeof(n.host), "%s", host);
	return n;
}

/** Start a fallback for @p name and run the fake DNS to the end. */
static void resolve(const char *name, const char *host, struct result *r, bool reverse)
{
	struct rd_name n = aor(name, host);

	memset(r, 0, sizeof(*r));
	cr_assert_eq(sip_fallback_start(&fbs, &n, on_done, r), 0, "%s", name);
	run(reverse);
	cr_assert_eq(r->calls, 1, "%s: callback ran %d times", name, r->calls);
	cr_assert_null(fbs.head, "%s: still listed after its callback", name);
}

static void expect_target(const struct result *r, size_t i, const char *url, uint16_t q, uint32_t ttl,
			  const char *via)
{
	cr_assert_lt(i, r->n, "only %zu targets", r->n);
	cr_assert_str_eq(r->url[i], url, "target %zu", i);
	cr_assert_eq(r->q[i], q, "target %zu (%s): q %u", i, url, r->q[i]);
	cr_assert_eq(r->ttl[i], ttl, "target %zu (%s): ttl %u", i, url, r->ttl[i]);
	cr_assert_str_eq(r->via[i], via, "target %zu", i);
}

#define NAPTR(ttl_, order, pref, flags, service, repl)                                                            \
	{.type = RD_DNS_NAPTR, .ttl = (ttl_), .u.naptr = {(order), (pref), (flags), (service), "", (repl)}}
#define SRV(ttl_, prio, weight, port, target)                                                                     \
	{.type = RD_DNS_SRV, .ttl = (ttl_), .u.srv = {(prio), (weight), (port), (target)}}
#define A(ttl_, addr) {.type = RD_DNS_A, .ttl = (ttl_), .u.a = {addr}}
#define AAAA(ttl_, addr) {.type = RD_DNS_AAAA, .ttl = (ttl_), .u.a = {addr}}

/* A domain with NAPTR: order 10 is SIPS+D2T (pref 10) and SIP+D2T (pref 20), order 20 is SIP+D2U. */
static const struct answer naptr_domain[] = {
	{"example.com", RD_DNS_NAPTR, 0, 6, {
		NAPTR(100, 20, 10, "S", "SIP+D2U", "_sip._udp.example.com"),
		NAPTR(100, 10, 20, "s", "SIP+D2T", "_sip._tcp.example.com"),
		NAPTR(100, 5, 10, "u", "E2U+sip", ""),
		NAPTR(100, 10, 10, "s", "SIPS+D2T", "_sips._tcp.example.com"),
		NAPTR(100, 1, 1, "s", "SIP+D2S", "_sip._sctp.example.com"),
		NAPTR(100, 1, 1, "a", "SIP+D2U", "sip.example.com"),
	}},
	{"_sips._tcp.example.com", RD_DNS_SRV, 0, 2, {
		SRV(300, 10, 10, 5061, "tls2.example.com"),
		SRV(300, 5, 0, 5061, "tls1.example.com"),
	}},
	{"_sip._tcp.example.com", RD_DNS_SRV, 0, 1, {SRV(50, 0, 0, 5060, "tcp.example.com")}},
	{"_sip._udp.example.com", RD_DNS_SRV, 0, 3, {
		SRV(300, 0, 20, 5060, "udp2.example.com"),
		SRV(300, 0, 60, 5060, "udp1.example.com"),
		SRV(300, 0, 20, 5062, "udp3.example.com"),
	}},
	{"_sip._sctp.example.com", RD_DNS_SRV, 0, 1, {SRV(300, 0, 0, 5060, "sctp.example.com")}},
};

static void check_naptr_domain(const struct result *r)
{
	cr_assert_eq(r->status, 0);
	cr_assert_eq(r->n, 6);
	/* Five distinct (slot, priority, weight) keys: q 1000, 800, 600, 400, 200. */
	expect_target(r, 0, "sips:tls1.example.com:5061", 1000, 100, "NAPTR SIPS+D2T -> SRV _sips._tcp.example.com");
	expect_target(r, 1, "sips:tls2.example.com:5061", 800, 100, "NAPTR SIPS+D2T -> SRV _sips._tcp.example.com");
	expect_target(r, 2, "sip:tcp.example.com:5060;transport=tcp", 600, 50,
		      "NAPTR SIP+D2T -> SRV _sip._tcp.example.com");
	expect_target(r, 3, "sip:udp1.example.com:5060;transport=udp", 400, 100,
		      "NAPTR SIP+D2U -> SRV _sip._udp.example.com");
	/* Equal priority and weight: the server's order, and one q. */
	expect_target(r, 4, "sip:udp2.example.com:5060;transport=udp", 200, 100,
		      "NAPTR SIP+D2U -> SRV _sip._udp.example.com");
	expect_target(r, 5, "sip:udp3.example.com:5062;transport=udp", 200, 100,
		      "NAPTR SIP+D2U -> SRV _sip._udp.example.com");
	cr_assert(!asked("_sip._sctp.example.com", RD_DNS_SRV), "SIP+D2S followed");
	cr_assert(!asked("sip.example.com", RD_DNS_A), "flag a followed");
	cr_assert(!asked("example.com", RD_DNS_A), "went past NAPTR");
}

Test(sip_fallback, naptr_order_then_srv_priority_and_weight)
{
	struct result r;

	USE(naptr_domain);
	resolve("sip:bob@example.com", "example.com", &r, false);
	check_naptr_domain(&r);
	cr_assert_eq(n_queries, 4);
}

Test(sip_fallback, order_does_not_depend_on_answer_arrival)
{
	struct result r;

	USE(naptr_domain);
	resolve("sip:bob@example.com", "example.com", &r, true);
	check_naptr_domain(&r);
}

Test(sip_fallback, sips_follows_only_sips_d2t)
{
	struct result r;

	USE(naptr_domain);
	resolve("sips:bob@example.com", "example.com", &r, false);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.n, 2);
	expect_target(&r, 0, "sips:tls1.example.com:5061", 1000, 100, "NAPTR SIPS+D2T -> SRV _sips._tcp.example.com");
	expect_target(&r, 1, "sips:tls2.example.com:5061", 500, 100, "NAPTR SIPS+D2T -> SRV _sips._tcp.example.com");
	cr_assert(!asked("_sip._udp.example.com", RD_DNS_SRV));
	cr_assert(!asked("_sip._tcp.example.com", RD_DNS_SRV));
}

/* Six usable NAPTR records: only the best four are followed. */
static const struct answer many_naptr[] = {
	{"many.example", RD_DNS_NAPTR, 0, 6, {
		NAPTR(60, 60, 0, "s", "SIP+D2U", "_sip._udp.six.many.example"),
		NAPTR(60, 50, 0, "s", "SIP+D2U", "_sip._udp.five.many.example"),
		NAPTR(60, 10, 0, "s", "SIP+D2U", "_sip._udp.one.many.example"),
		NAPTR(60, 40, 0, "s", "SIP+D2U", "_sip._udp.four.many.example"),
		NAPTR(60, 20, 0, "s", "SIP+D2U", "_sip._udp.two.many.example"),
		NAPTR(60, 30, 0, "s", "SIP+D2U", "_sip._udp.three.many.example"),
	}},
	{"_sip._udp.one.many.example", RD_DNS_SRV, 0, 1, {SRV(60, 0, 0, 5060, "one.many.example")}},
	{"_sip._udp.two.many.example", RD_DNS_SRV, 0, 1, {SRV(60, 0, 0, 5060, "two.many.example")}},
	{"_sip._udp.three.many.example", RD_DNS_SRV, 0, 1, {SRV(60, 0, 0, 5060, "three.many.example")}},
	{"_sip._udp.four.many.example", RD_DNS_SRV, 0, 1, {SRV(60, 0, 0, 5060, "four.many.example")}},
	{"_sip._udp.five.many.example", RD_DNS_SRV, 0, 1, {SRV(60, 0, 0, 5060, "five.many.example")}},
};

Test(sip_fallback, follows_the_best_four_naptr)
{
	struct result r;

	USE(many_naptr);
	resolve("sip:many.example", "many.example", &r, false);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.n, 4);
	expect_target(&r, 0, "sip:one.many.example:5060;transport=udp", 1000, 60,
		      "NAPTR SIP+D2U -> SRV _sip._udp.one.many.example");
	expect_target(&r, 3, "sip:four.many.example:5060;transport=udp", 250, 60,
		      "NAPTR SIP+D2U -> SRV _sip._udp.four.many.example");
	cr_assert(!asked("_sip._udp.five.many.example", RD_DNS_SRV));
	cr_assert(!asked("_sip._udp.six.many.example", RD_DNS_SRV));
}

/* No NAPTR: SRV on the three names, udp then tcp then tls. */
static const struct answer srv_domain[] = {
	{"_sip._tcp.srv.example", RD_DNS_SRV, 0, 2, {
		SRV(120, 20, 0, 5070, "b.srv.example"),
		SRV(600, 10, 0, 5060, "a.srv.example"),
	}},
	{"_sips._tcp.srv.example", RD_DNS_SRV, 0, 1, {SRV(30, 0, 0, 5061, "a.srv.example")}},
	{"srv.example", RD_DNS_A, 0, 1, {A(60, "192.0.2.1")}},
};

Test(sip_fallback, srv_without_naptr)
{
	struct result r;

	USE(srv_domain);
	resolve("sip:bob@srv.example", "srv.example", &r, false);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.n, 3);
	expect_target(&r, 0, "sip:a.srv.example:5060;transport=tcp", 1000, 600, "SRV _sip._tcp.srv.example");
	expect_target(&r, 1, "sip:b.srv.example:5070;transport=tcp", 666, 120, "SRV _sip._tcp.srv.example");
	expect_target(&r, 2, "sips:a.srv.example:5061", 333, 30, "SRV _sips._tcp.srv.example");
	cr_assert(asked("srv.example", RD_DNS_NAPTR));
	cr_assert(asked("_sip._udp.srv.example", RD_DNS_SRV));
	cr_assert(!asked("srv.example", RD_DNS_A), "A asked though SRV answered");
}

Test(sip_fallback, srv_for_sips_asks_only_sips_tcp)
{
	struct result r;

	USE(srv_domain);
	resolve("sips:bob@srv.example", "srv.example", &r, false);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.n, 1);
	expect_target(&r, 0, "sips:a.srv.example:5061", 1000, 30, "SRV _sips._tcp.srv.example");
	cr_assert(!asked("_sip._udp.srv.example", RD_DNS_SRV));
	cr_assert(!asked("_sip._tcp.srv.example", RD_DNS_SRV));
}

/* NAPTR records, none usable (ENUM-style): on to SRV. NAPTR pointing at empty SRV: on to SRV too. */
static const struct answer unusable_naptr[] = {
	{"srv.example", RD_DNS_NAPTR, 0, 2, {
		NAPTR(100, 10, 10, "u", "E2U+sip", ""),
		NAPTR(100, 10, 10, "s", "SIP+D2U", "_sip._udp.gone.srv.example"),
	}},
	{"_sip._tcp.srv.example", RD_DNS_SRV, 0, 1, {SRV(600, 10, 0, 5060, "a.srv.example")}},
};

Test(sip_fallback, naptr_with_nothing_behind_falls_to_srv)
{
	struct result r;

	USE(unusable_naptr);
	resolve("sip:bob@srv.example", "srv.example", &r, false);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.n, 1);
	expect_target(&r, 0, "sip:a.srv.example:5060;transport=tcp", 1000, 600, "SRV _sip._tcp.srv.example");
	cr_assert(asked("_sip._udp.gone.srv.example", RD_DNS_SRV));
}

/* Only addresses. */
static const struct answer a_domain[] = {
	{"a.example", RD_DNS_A, 0, 2, {A(60, "192.0.2.1"), A(90, "192.0.2.2")}},
	{"a.example", RD_DNS_AAAA, 0, 1, {AAAA(45, "2001:db8::1")}},
	{"v4.example", RD_DNS_A, 0, 1, {A(70, "192.0.2.3")}},
	{"v6.example", RD_DNS_AAAA, 0, 1, {AAAA(80, "2001:db8::3")}},
};

Test(sip_fallback, addresses_when_no_srv)
{
	struct result r;

	USE(a_domain);
	resolve("sip:bob@a.example", "a.example", &r, false);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.n, 1);
	expect_target(&r, 0, "sip:a.example:5060;transport=udp", 1000, 45, "A+AAAA");
	cr_assert(asked("_sips._tcp.a.example", RD_DNS_SRV));
	resolve("sips:bob@v4.example", "v4.example", &r, true);
	expect_target(&r, 0, "sips:v4.example:5061", 1000, 70, "A");
	resolve("sip:v6.example", "v6.example", &r, false);
	expect_target(&r, 0, "sip:v6.example:5060;transport=udp", 1000, 80, "AAAA");
}

Test(sip_fallback, explicit_port_skips_naptr_and_srv)
{
	struct result r;

	USE(naptr_domain);
	resolve("sip:bob@example.com:5070", "example.com", &r, false);
	cr_assert_eq(r.status, -ENOENT, "naptr_domain has no address records");
	cr_assert_eq(n_queries, 2);
	cr_assert(asked("example.com", RD_DNS_A));
	cr_assert(asked("example.com", RD_DNS_AAAA));
	USE(a_domain);
	n_queries = 0;
	resolve("sip:bob@a.example:5060", "a.example", &r, false);
	expect_target(&r, 0, "sip:a.example:5060;transport=udp", 1000, 45, "A+AAAA");
	resolve("sips:bob:pw@v4.example:5071", "v4.example", &r, false);
	expect_target(&r, 0, "sips:v4.example:5071", 1000, 70, "A");
	cr_assert(!asked("v4.example", RD_DNS_NAPTR));
}

Test(sip_fallback, ip_address_is_its_own_server)
{
	struct rd_name n = aor("sip:alice@192.0.2.7", "192.0.2.7");
	struct result r = {0};

	/* Answered before sip_fallback_start() returns, with no DNS. */
	cr_assert_eq(sip_fallback_start(&fbs, &n, on_done, &r), 0);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(n_queries, 0);
	expect_target(&r, 0, "sip:192.0.2.7:5060;transport=udp", 1000, 86400, "IP address");
	resolve("sips:alice@[2001:db8::7]:5081", "2001:db8::7", &r, false);
	expect_target(&r, 0, "sips:[2001:db8::7]:5081", 1000, 86400, "IP address");
	resolve("sip:[::1]", "::1", &r, false);
	expect_target(&r, 0, "sip:[::1]:5060;transport=udp", 1000, 86400, "IP address");
	cr_assert_eq(n_queries, 0);
}

Test(sip_fallback, nothing_gives_enoent_after_every_step)
{
	struct result r;

	resolve("sip:bob@nothing.example", "nothing.example", &r, false);
	cr_assert_eq(r.status, -ENOENT);
	cr_assert_eq(r.n, 0);
	cr_assert_eq(n_queries, 6);
	cr_assert(asked("nothing.example", RD_DNS_NAPTR));
	cr_assert(asked("_sip._udp.nothing.example", RD_DNS_SRV));
	cr_assert(asked("_sip._tcp.nothing.example", RD_DNS_SRV));
	cr_assert(asked("_sips._tcp.nothing.example", RD_DNS_SRV));
	cr_assert(asked("nothing.example", RD_DNS_A));
	cr_assert(asked("nothing.example", RD_DNS_AAAA));
}

/* "." targets: the service is decidedly not offered; no A fallback. */
static const struct answer dot_domain[] = {
	{"_sip._udp.dot.example", RD_DNS_SRV, 0, 1, {SRV(60, 0, 0, 0, ".")}},
	{"dot.example", RD_DNS_A, 0, 1, {A(60, "192.0.2.1")}},
};

Test(sip_fallback, srv_dot_target_means_no_service)
{
	struct result r;

	USE(dot_domain);
	resolve("sip:bob@dot.example", "dot.example", &r, false);
	cr_assert_eq(r.status, -ENOENT);
	cr_assert(!asked("dot.example", RD_DNS_A));
}

static const struct answer naptr_timeout[] = {
	{"slow.example", RD_DNS_NAPTR, -ETIMEDOUT, 0, {{0}}},
	{"slow.example", RD_DNS_A, 0, 1, {A(60, "192.0.2.1")}},
};

static const struct answer srv_timeout[] = {
	{"_sip._tcp.slow.example", RD_DNS_SRV, -ETIMEDOUT, 0, {{0}}},
	{"_sips._tcp.slow.example", RD_DNS_SRV, -EIO, 0, {{0}}},
	{"slow.example", RD_DNS_A, 0, 1, {A(60, "192.0.2.1")}},
};

static const struct answer srv_partial[] = {
	{"_sip._tcp.slow.example", RD_DNS_SRV, -ETIMEDOUT, 0, {{0}}},
	{"_sips._tcp.slow.example", RD_DNS_SRV, 0, 1, {SRV(60, 0, 0, 5061, "tls.slow.example")}},
};

static const struct answer servfail[] = {
	{"slow.example", RD_DNS_NAPTR, -EIO, 0, {{0}}},
};

Test(sip_fallback, dns_failures_are_not_absence)
{
	struct result r;

	USE(naptr_timeout);
	resolve("sip:bob@slow.example", "slow.example", &r, false);
	cr_assert_eq(r.status, -ETIMEDOUT);
	cr_assert_eq(n_queries, 1, "went on after a NAPTR timeout");
	n_queries = 0;
	USE(srv_timeout);
	resolve("sip:bob@slow.example", "slow.example", &r, false);
	cr_assert_eq(r.status, -ETIMEDOUT, "a timeout outranks a server failure");
	cr_assert(!asked("slow.example", RD_DNS_A), "A asked after an SRV timeout");
	USE(srv_partial);
	resolve("sip:bob@slow.example", "slow.example", &r, true);
	cr_assert_eq(r.status, 0, "one SRV answered: its targets count");
	expect_target(&r, 0, "sips:tls.slow.example:5061", 1000, 60, "SRV _sips._tcp.slow.example");
	USE(servfail);
	resolve("sip:bob@slow.example", "slow.example", &r, false);
	cr_assert_eq(r.status, -EIO);
}

Test(sip_fallback, query_that_cannot_be_asked)
{
	struct result r;
	struct rd_name n = aor("sip:bob@a.example", "a.example");

	/* dns_query() fails at once every time: the callback still runs once, with -EIO, before return. */
	sync_error = -ENOMEM;
	memset(&r, 0, sizeof(r));
	cr_assert_eq(sip_fallback_start(&fbs, &n, on_done, &r), 0);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.status, -EIO);
	cr_assert_null(fbs.head);
	/* -EINVAL for the SRV names (too long for DNS): they have no records, so on to A. */
	sync_error = -EINVAL;
	sync_error_for = "_";
	USE(a_domain);
	resolve("sip:bob@a.example", "a.example", &r, false);
	expect_target(&r, 0, "sip:a.example:5060;transport=udp", 1000, 45, "A+AAAA");
}

Test(sip_fallback, long_host_skips_srv_names_that_cannot_exist)
{
	char host[RD_HOST_MAX + 1], name[RD_NAME_MAX + 1];
	struct result r;

	memset(host, 'a', sizeof(host));
	for (size_t i = 63; i < RD_HOST_MAX; i += 64)
		host[i] = '.';
	host[RD_HOST_MAX] = '\0';
	snprintf(name, sizeof(name), "sip:%s", host);
	resolve(name, host, &r, false);
	cr_assert_eq(r.status, -ENOENT);
	cr_assert_eq(n_queries, 3, "NAPTR, A and AAAA only");
}

Test(sip_fallback, not_a_sip_aor)
{
	struct result r = {0};
	struct rd_name n = aor("tel:+15551234", "");

	cr_assert_eq(sip_fallback_start(&fbs, &n, on_done, &r), -ENOTSUP);
	n = aor("sip:bob@", "");
	cr_assert_eq(sip_fallback_start(&fbs, &n, on_done, &r), -ENOTSUP);
	n = aor("sip:bob@example.com:99999", "example.com");
	cr_assert_eq(sip_fallback_start(&fbs, &n, on_done, &r), -ENOTSUP);
	cr_assert_eq(r.calls, 0, "callback ran for a refused name");
	cr_assert_eq(n_queries, 0);
}

Test(sip_fallback, deinit_cancels_every_fallback_in_flight)
{
	struct result r1 = {0}, r2 = {0}, r3 = {0};
	struct rd_name n1 = aor("sip:bob@example.com", "example.com");
	struct rd_name n2 = aor("sip:carol@srv.example", "srv.example");
	struct rd_name n3 = aor("sip:dave@a.example:5070", "a.example");

	USE(naptr_domain);
	cr_assert_eq(sip_fallback_start(&fbs, &n1, on_done, &r1), 0);
	cr_assert_eq(sip_fallback_start(&fbs, &n2, on_done, &r2), 0);
	cr_assert_eq(sip_fallback_start(&fbs, &n3, on_done, &r3), 0);
	/* Answer only the first NAPTR question: n1 is now waiting for its SRV answers. */
	queries[0].answered = true;
	{
		const struct answer *a = lookup(queries[0].name, queries[0].type);

		queries[0].cb(queries[0].ud, 0, a->rrs, a->n);
	}
	cr_assert(asked("_sips._tcp.example.com", RD_DNS_SRV));
	cr_assert_eq(r1.calls + r2.calls + r3.calls, 0);
	sip_fallbacks_deinit(&fbs);
	cr_assert_null(fbs.head);
	cr_assert_eq(r1.calls, 1);
	cr_assert_eq(r2.calls, 1);
	cr_assert_eq(r3.calls, 1);
	cr_assert_eq(r1.status, -ECANCELED);
	cr_assert_eq(r2.status, -ECANCELED);
	cr_assert_eq(r3.status, -ECANCELED);
	/* The host drops the remaining questions without callbacks: none is answered here. */
}

Test(sip_fallback, host_cancelling_a_query_cancels_the_fallback)
{
	struct result r = {0};
	struct rd_name n = aor("sip:bob@srv.example", "srv.example");

	cr_assert_eq(sip_fallback_start(&fbs, &n, on_done, &r), 0);
	queries[0].answered = true;
	queries[0].cb(queries[0].ud, -ENOENT, NULL, 0);
	cr_assert_eq(n_queries, 4);
	/* The daemon stops: c-ares cancels the three SRV questions. */
	for (size_t i = 1; i < 4; i++) {
		queries[i].answered = true;
		queries[i].cb(queries[i].ud, i == 2 ? -ECANCELED : -ENOENT, NULL, 0);
	}
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.status, -ECANCELED);
	cr_assert_eq(n_queries, 4, "went on to A after a cancellation");
}

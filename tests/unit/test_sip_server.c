/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for plugins/sip/server/: the registrar and redirect server against a fake host (no sockets, no timing luck). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "plugins/sip/aor.h"
#include "plugins/sip/registrar.h"

/*
 * The fake host keeps a DHT in a table, a clock the test sets, one timer the
 * test fires (each firing is one 500 ms tick), and sockets whose callbacks
 * the test calls with byte buffers; every datagram or stream write the
 * server sends is captured. Resolve answers at once, or later when
 * F.defer_resolve is set (then run_resolve() answers).
 */

#define NOW0 1700000000ull

struct rd_host {
	int unused;
};

struct rd_timer {
	rd_timer_cb cb;
	void *ud;
	bool running;
};

struct rd_sock {
	int kind; /* 0 udp, 1 tcp listener, 2 tcp connection */
	rd_recv_cb cb;
	rd_accept_cb acb;
	void *ud;
	bool closed;
};

struct sent {
	char data[70000];
	size_t len;
	struct sockaddr_in to;
	struct rd_sock *sock;
};

struct dht_entry {
	char name[600], contact[600], instance[200];
	uint16_t q;
	uint64_t expires;
};

static struct {
	uint64_t now;
	const char *listen[2];
	size_t n_listen;
	unsigned min_exp, def_exp, max_exp, max_contacts;
	const char *realm;
	const char *user_names[4], *user_pw[4];
	size_t n_users;
	struct dht_entry dht[64];
	size_t n_dht;
	int publish_calls, unpublish_calls, resolve_calls;
	bool defer_resolve;
	rd_resolve_cb pending_cb;
	void *pending_ud;
	char pending_name[600];
	struct rd_timer timer;
	bool timer_freed;
	struct rd_sock socks[128];
	size_t n_socks;
	struct sent out[8];
	size_t n_out;
	size_t n_sent; /* total, including overwritten */
} F;

static struct rd_host fake_host;
static struct sip_registrar *R;

static void fake_log(struct rd_host *h, enum rd_log_level level, const char *fmt, ...)
{
	(void)h, (void)level, (void)fmt;
}

static int fake_config_string(struct rd_host *h, const char *key, const char *dflt, const char **ret)
{
	if (strcmp(key, "realm") == 0 && F.realm) {
		*ret = F.realm;
		return 0;
	}
	for (size_t i = 0; i < F.n_users; i++) {
		char k[100];
		snprintf(k, sizeof(k), "users.%s.password", F.user_names[i]);
		if (strcmp(k, key) == 0) {
			*ret = F.user_pw[i];
			return 0;
		}
	}
	*ret = dflt;
	return -ENOENT;
}

static int fake_config_uint(struct rd_host *h, const char *key, unsigned min, unsigned max, unsigned dflt,
			    unsigned *ret)
{
	unsigned v = strcmp(key, "min_expires") == 0	 ? F.min_exp
		     : strcmp(key, "default_expires") == 0 ? F.def_exp
		     : strcmp(key, "max_expires") == 0	 ? F.max_exp
		     : strcmp(key, "max_contacts") == 0	 ? F.max_contacts
							 : 0;
	*ret = v ? v : dflt;
	return v ? 0 : -ENOENT;
}

static int fake_config_bool(struct rd_host *h, const char *key, int dflt, int *ret)
{
	*ret = dflt;
	return -ENOENT;
}

static int fake_config_list(struct rd_host *h, const char *key, const char *const **ret_v, size_t *ret_n)
{
	cr_assert_str_eq(key, "listen");
	*ret_v = F.listen;
	*ret_n = F.n_listen;
	return F.n_listen ? 0 : -ENOENT;
}

static int fake_config_keys(struct rd_host *h, const char *key, const char *const **ret_v, size_t *ret_n)
{
	cr_assert_str_eq(key, "users");
	*ret_v = F.user_names;
	*ret_n = F.n_users;
	return F.n_users ? 0 : -ENOENT;
}

static int fake_config_error(struct rd_host *h, const char *key, const char *fmt, ...)
{
	return -EINVAL;
}

/* sip: and sips: by the plugin's own rules (as the host does through the sip plugin); any other
 * scheme up to the first ';' or '?' after the host, scheme and host lower-cased */
static int fake_normalize(struct rd_host *h, const char *uri, struct rd_name *ret, const char **ret_reason)
{
	if (strncasecmp(uri, "sip:", 4) == 0 || strncasecmp(uri, "sips:", 5) == 0)
		return sip_aor_normalize(uri, ret, ret_reason);
	const char *colon = strchr(uri, ':');
	if (!colon || strlen(uri) > RD_NAME_MAX) {
		*ret_reason = "no scheme";
		return -EINVAL;
	}
	const char *at = strchr(uri, '@');
	const char *host = at ? at + 1 : colon + 1;
	size_t hl = strcspn(host, ";?:");
	size_t end = (size_t)(host - uri) + strcspn(host, ";?");
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->name, uri, end);
	for (size_t i = 0; i < (size_t)(colon - uri); i++)
		ret->name[i] = (char)tolower((unsigned char)ret->name[i]);
	for (size_t i = (size_t)(host - uri); i < end; i++)
		ret->name[i] = (char)tolower((unsigned char)ret->name[i]);
	memcpy(ret->host, ret->name + (host - uri), hl);
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct rd_binding *x = a, *y = b;
	return (int)y->q - (int)x->q;
}

static size_t collect(const char *name, struct rd_binding *out)
{
	size_t n = 0;
	for (size_t i = 0; i < F.n_dht; i++)
		if (strcmp(F.dht[i].name, name) == 0 && F.dht[i].expires > F.now)
			out[n++] = (struct rd_binding){F.dht[i].contact, F.dht[i].instance, F.dht[i].q, F.dht[i].expires};
	qsort(out, n, sizeof(*out), cmp_entry);
	return n;
}

/*
 * Like the host's cache, the strings a resolve callback gets die when the
 * callback publishes or unpublishes: the fake hands out heap copies and
 * scribbles over and frees them on publish()/unpublish() (ASan sees any use after).
 */
static char *lent[128];
static size_t n_lent;

static void lend(struct rd_binding *b, size_t n)
{
	for (size_t i = 0; i < n && n_lent + 2 <= 128; i++) {
		b[i].contact = lent[n_lent++] = strdup(b[i].contact);
		b[i].instance = lent[n_lent++] = strdup(b[i].instance);
	}
}

static void take_back(void)
{
	for (size_t i = 0; i < n_lent; i++) {
		memset(lent[i], 'X', strlen(lent[i]));
		free(lent[i]);
	}
	n_lent = 0;
}

static int fake_resolve(struct rd_host *h, const char *name, rd_resolve_cb cb, void *ud)
{
	F.resolve_calls++;
	if (F.defer_resolve) {
		cr_assert_null(F.pending_cb, "one lookup at a time in these tests");
		F.pending_cb = cb;
		F.pending_ud = ud;
		snprintf(F.pending_name, sizeof(F.pending_name), "%s", name);
		return 0;
	}
	struct rd_binding b[64];
	size_t n = collect(name, b);
	lend(b, n);
	cb(ud, 0, F.now, b, n);
	take_back();
	return 0;
}

/** Answer the deferred lookup with the bindings live at @p at (the DHT as it was then). */
static void run_resolve(uint64_t at)
{
	cr_assert_not_null(F.pending_cb);
	uint64_t keep = F.now;
	F.now = at;
	struct rd_binding b[64];
	size_t n = collect(F.pending_name, b);
	F.now = keep;
	rd_resolve_cb cb = F.pending_cb;
	F.pending_cb = NULL;
	lend(b, n);
	cb(F.pending_ud, 0, at, b, n);
	take_back();
}

static struct dht_entry *dht_find(const char *name, const char *instance)
{
	for (size_t i = 0; i < F.n_dht; i++)
		if (strcmp(F.dht[i].name, name) == 0 && strcmp(F.dht[i].instance, instance) == 0)
			return &F.dht[i];
	return NULL;
}

static int fake_publish(struct rd_host *h, const struct rd_publication *pub, const char **ret_reason)
{
	F.publish_calls++;
	take_back();
	if (pub->host && strcmp(pub->host, "forbidden.example") == 0) {
		*ret_reason = "policy";
		return -EACCES;
	}
	cr_assert(pub->instance && pub->instance[0] && strlen(pub->instance) <= RD_INSTANCE_MAX);
	cr_assert(pub->expires > F.now);
	cr_assert(pub->q <= RD_Q_MAX);
	struct dht_entry *e = dht_find(pub->name, pub->instance);
	if (!e) {
		cr_assert_lt(F.n_dht, 64);
		e = &F.dht[F.n_dht++];
	}
	snprintf(e->name, sizeof(e->name), "%s", pub->name);
	snprintf(e->contact, sizeof(e->contact), "%s", pub->contact);
	snprintf(e->instance, sizeof(e->instance), "%s", pub->instance);
	e->q = pub->q;
	e->expires = pub->expires;
	return 0;
}

static int fake_unpublish(struct rd_host *h, const char *name, const char *instance)
{
	F.unpublish_calls++;
	take_back();
	struct dht_entry *e = dht_find(name, instance);
	if (!e)
		return -ENOENT;
	*e = F.dht[--F.n_dht];
	return 0;
}

static uint64_t fake_now(struct rd_host *h)
{
	return F.now;
}

static struct rd_timer *fake_timer_new(struct rd_host *h, rd_timer_cb cb, void *ud)
{
	F.timer = (struct rd_timer){cb, ud, false};
	return &F.timer;
}

static void fake_timer_start(struct rd_timer *t, uint64_t ms, uint64_t repeat_ms)
{
	cr_assert_eq(ms, 500);
	cr_assert_eq(repeat_ms, 500);
	t->running = true;
}

static void fake_timer_stop(struct rd_timer *t)
{
	t->running = false;
}

static void fake_timer_free(struct rd_timer *t)
{
	F.timer_freed = true;
	t->running = false;
}

static struct rd_sock *new_sock(int kind)
{
	cr_assert_lt(F.n_socks, 128);
	struct rd_sock *s = &F.socks[F.n_socks++];
	*s = (struct rd_sock){.kind = kind};
	return s;
}

static int fake_udp_bind(struct rd_host *h, const char *ep, rd_recv_cb cb, void *ud, struct rd_sock **ret)
{
	struct rd_sock *s = new_sock(0);
	s->cb = cb;
	s->ud = ud;
	*ret = s;
	return 0;
}

static void record(struct rd_sock *s, const struct sockaddr *to, const uint8_t *data, size_t len)
{
	struct sent *o = &F.out[F.n_out % 8];
	cr_assert_lt(len, sizeof(o->data));
	memcpy(o->data, data, len);
	o->data[len] = '\0';
	o->len = len;
	o->sock = s;
	if (to)
		memcpy(&o->to, to, sizeof(o->to));
	F.n_out++;
	F.n_sent++;
}

static int fake_udp_send(struct rd_sock *s, const struct sockaddr *to, socklen_t to_len, const uint8_t *data,
			 size_t len)
{
	cr_assert_eq(s->kind, 0);
	cr_assert_eq(to_len, sizeof(struct sockaddr_in));
	record(s, to, data, len);
	return 0;
}

static int fake_tcp_listen(struct rd_host *h, const char *ep, rd_accept_cb on_accept, rd_recv_cb on_data, void *ud,
			   struct rd_sock **ret)
{
	struct rd_sock *s = new_sock(1);
	s->acb = on_accept;
	s->cb = on_data;
	s->ud = ud;
	*ret = s;
	return 0;
}

static int fake_tcp_send(struct rd_sock *s, const uint8_t *data, size_t len)
{
	cr_assert_eq(s->kind, 2);
	cr_assert(!s->closed);
	record(s, NULL, data, len);
	return 0;
}

static void fake_sock_close(struct rd_sock *s)
{
	if (s)
		s->closed = true;
}

static int fake_sock_name(struct rd_sock *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	struct sockaddr_in *a = (struct sockaddr_in *)ret;
	memset(ret, 0, sizeof(*ret));
	a->sin_family = AF_INET;
	a->sin_port = htons(5060);
	inet_pton(AF_INET, "127.0.0.1", &a->sin_addr);
	*ret_len = sizeof(*a);
	return 0;
}

static const struct rd_host_api fake_api = {
	.abi_major = RD_PLUGIN_ABI_MAJOR,
	.abi_minor = RD_PLUGIN_ABI_MINOR,
	.size = sizeof(struct rd_host_api),
	.log = fake_log,
	.config_string = fake_config_string,
	.config_uint = fake_config_uint,
	.config_bool = fake_config_bool,
	.config_list = fake_config_list,
	.config_keys = fake_config_keys,
	.config_error = fake_config_error,
	.normalize = fake_normalize,
	.resolve = fake_resolve,
	.publish = fake_publish,
	.unpublish = fake_unpublish,
	.now = fake_now,
	.timer_new = fake_timer_new,
	.timer_start = fake_timer_start,
	.timer_stop = fake_timer_stop,
	.timer_free = fake_timer_free,
	.udp_bind = fake_udp_bind,
	.udp_send = fake_udp_send,
	.tcp_listen = fake_tcp_listen,
	.tcp_send = fake_tcp_send,
	.sock_close = fake_sock_close,
	.sock_name = fake_sock_name,
};

/* ---- driving the server ---------------------------------------------------------- */

static void reset(void)
{
	memset(&F, 0, sizeof(F));
	F.now = NOW0;
	F.listen[0] = "127.0.0.1:5060";
	F.n_listen = 1;
}

static void start(void)
{
	cr_assert_eq(sip_registrar_new(&fake_api, &fake_host, &R), 0);
	cr_assert_not_null(R);
	cr_assert(F.timer.running);
}

static void setup(void)
{
	reset();
	start();
}

static void teardown(void)
{
	sip_registrar_free(R);
	R = NULL;
	cr_assert(F.timer_freed);
}

static struct rd_sock *udp_sock(void)
{
	for (size_t i = 0; i < F.n_socks; i++)
		if (F.socks[i].kind == 0)
			return &F.socks[i];
	cr_assert_fail("no UDP socket");
	return NULL;
}

static struct sockaddr_in peer_addr(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, "192.0.2.10", &a.sin_addr);
	return a;
}

/** Feed one datagram from 192.0.2.10:5070. @return replies sent because of it. */
static size_t udp_in(const char *msg, size_t len)
{
	struct rd_sock *s = udp_sock();
	struct sockaddr_in a = peer_addr(5070);
	size_t before = F.n_sent;
	s->cb(s->ud, s, (struct sockaddr *)&a, sizeof(a), (const uint8_t *)msg, len);
	return F.n_sent - before;
}

static size_t udp(const char *msg)
{
	return udp_in(msg, strlen(msg));
}

static const char *last(void)
{
	cr_assert_gt(F.n_out, 0);
	return F.out[(F.n_out - 1) % 8].data;
}

static int status_of(const char *resp)
{
	int code = 0;
	cr_assert_eq(sscanf(resp, "SIP/2.0 %d ", &code), 1, "not a response: %.80s", resp);
	return code;
}

static int last_status(void)
{
	return status_of(last());
}

static size_t count_lines(const char *resp, const char *prefix)
{
	size_t n = 0;
	for (const char *p = resp; (p = strstr(p, prefix)); p++)
		if (p == resp || p[-1] == '\n')
			n++;
	return n;
}

static unsigned branch_counter;

/** A REGISTER for alice@example.com from 192.0.2.10:5070. */
static const char *reg(const char *call_id, unsigned cseq, const char *contacts, const char *extra)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf),
		 "REGISTER sip:example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-reg-%u;rport\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@example.com>;tag=f1\r\n"
		 "To: <sip:alice@example.com>\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %u REGISTER\r\n"
		 "%s%s"
		 "Content-Length: 0\r\n\r\n",
		 ++branch_counter, call_id, cseq, contacts, extra ? extra : "");
	return buf;
}

static const char *req(const char *method, const char *ruri, const char *branch, const char *extra)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf),
		 "%s %s SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=%s\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:bob@example.org>;tag=b1\r\n"
		 "To: <%s>\r\n"
		 "Call-ID: call-%s\r\n"
		 "CSeq: 1 %s\r\n"
		 "%s"
		 "Content-Length: 0\r\n\r\n",
		 method, ruri, branch, ruri, branch, method, extra ? extra : "");
	return buf;
}

TestSuite(sip_server, .init = setup, .fini = teardown);

/* ---- REGISTER ---------------------------------------------------------------------- */

Test(sip_server, register_adds_a_binding_and_lists_it)
{
	cr_assert_eq(udp(reg("c1", 1, "Contact: <sip:alice@192.0.2.10:5070>;expires=600\r\n", NULL)), 1);
	cr_assert_eq(last_status(), 200, "%s", last());
	cr_assert(strstr(last(), "Contact: <sip:alice@192.0.2.10:5070>;expires=600\r\n"), "%s", last());
	cr_assert(strstr(last(), "To: <sip:alice@example.com>;tag="), "%s", last());
	cr_assert_eq(F.publish_calls, 1);
	cr_assert_eq(F.n_dht, 1);
	cr_assert_str_eq(F.dht[0].name, "sip:alice@example.com");
	cr_assert_str_eq(F.dht[0].contact, "sip:alice@192.0.2.10:5070");
	cr_assert_eq(F.dht[0].q, 1000);
	cr_assert_eq(F.dht[0].expires, NOW0 + 600);
	/* the derived instance: "c-" and 32 hex digits, the same for the same contact */
	cr_assert_eq(strlen(F.dht[0].instance), 34);
	cr_assert_eq(strncmp(F.dht[0].instance, "c-", 2), 0);
}

Test(sip_server, refresh_republishes_with_the_new_expiry)
{
	udp(reg("c1", 1, "Contact: <sip:alice@192.0.2.10:5070>;expires=600\r\n", NULL));
	char inst[200];
	snprintf(inst, sizeof(inst), "%s", F.dht[0].instance);
	F.now += 100;
	udp(reg("c1", 2, "Contact: <sip:alice@192.0.2.10:5070>\r\n", "Expires: 1200\r\n"));
	cr_assert_eq(last_status(), 200);
	cr_assert(strstr(last(), ";expires=1200\r\n"), "%s", last());
	cr_assert_eq(count_lines(last(), "Contact:"), 1);
	cr_assert_eq(F.publish_calls, 2);
	cr_assert_eq(F.n_dht, 1);
	cr_assert_str_eq(F.dht[0].instance, inst);
	cr_assert_eq(F.dht[0].expires, NOW0 + 100 + 1200);
}

Test(sip_server, expires_zero_removes_and_tombstones)
{
	udp(reg("c1", 1, "Contact: <sip:alice@192.0.2.10:5070>\r\n", NULL));
	cr_assert_eq(F.dht[0].expires, NOW0 + 3600, "default_expires applies");
	udp(reg("c1", 2, "Contact: <sip:alice@192.0.2.10:5070>;expires=0\r\n", NULL));
	cr_assert_eq(last_status(), 200);
	cr_assert_eq(count_lines(last(), "Contact:"), 0, "%s", last());
	cr_assert_eq(F.unpublish_calls, 1);
	cr_assert_eq(F.n_dht, 0);
}

Test(sip_server, star_removes_every_contact)
{
	udp(reg("c1", 1, "Contact: <sip:a@192.0.2.10>, <sip:b@192.0.2.11>\r\n", NULL));
	cr_assert_eq(count_lines(last(), "Contact:"), 2);
	cr_assert_eq(F.n_dht, 2);
	udp(reg("c2", 1, "Contact: *\r\n", "Expires: 0\r\n"));
	cr_assert_eq(last_status(), 200, "%s", last());
	cr_assert_eq(count_lines(last(), "Contact:"), 0, "%s", last());
	cr_assert_eq(F.n_dht, 0);
	cr_assert_eq(F.unpublish_calls, 2);
}

Test(sip_server, star_needs_expires_zero_and_no_other_contact)
{
	udp(reg("c1", 1, "Contact: *\r\n", NULL));
	cr_assert_eq(last_status(), 400);
	udp(reg("c1", 2, "Contact: *\r\n", "Expires: 5\r\n"));
	cr_assert_eq(last_status(), 400);
	udp(reg("c1", 3, "Contact: *, <sip:a@192.0.2.10>\r\n", "Expires: 0\r\n"));
	cr_assert_eq(last_status(), 400);
	cr_assert(strstr(last(), "SIP/2.0 400 Bad Request: "), "%s", last());
	cr_assert_eq(F.publish_calls, 0);
}

Test(sip_server, q_values_order_the_contacts)
{
	udp(reg("c1", 1, "Contact: <sip:low@192.0.2.10>;q=0.1, <sip:high@192.0.2.11>;q=0.9\r\n", NULL));
	cr_assert_eq(last_status(), 200);
	const char *hi = strstr(last(), "<sip:high@192.0.2.11>;q=0.9;");
	const char *lo = strstr(last(), "<sip:low@192.0.2.10>;q=0.1;");
	cr_assert(hi && lo && hi < lo, "%s", last());
	udp(req("INVITE", "sip:alice@example.com", "z9hG4bK-inv1", NULL));
	cr_assert_eq(last_status(), 302, "%s", last());
	hi = strstr(last(), "Contact: <sip:high@192.0.2.11>;q=0.9;expires=3600\r\n");
	lo = strstr(last(), "Contact: <sip:low@192.0.2.10>;q=0.1;expires=3600\r\n");
	cr_assert(hi && lo && hi < lo, "%s", last());
	udp(reg("c1", 2, "Contact: <sip:x@192.0.2.12>;q=1.5\r\n", NULL));
	cr_assert_eq(last_status(), 400);
}

Test(sip_server, too_brief_gets_423_and_too_long_is_clamped)
{
	udp(reg("c1", 1, "Contact: <sip:alice@192.0.2.10>;expires=30\r\n", NULL));
	cr_assert_eq(last_status(), 423);
	cr_assert(strstr(last(), "\r\nMin-Expires: 60\r\n"), "%s", last());
	cr_assert_eq(F.publish_calls, 0);
	udp(reg("c1", 2, "Contact: <sip:alice@192.0.2.10>;expires=999999\r\n", NULL));
	cr_assert_eq(last_status(), 200);
	cr_assert(strstr(last(), ";expires=86400\r\n"), "%s", last());
	cr_assert_eq(F.dht[0].expires, NOW0 + 86400);
}

Test(sip_server, more_than_max_contacts_gets_403)
{
	char c[2048] = "";
	for (int i = 0; i < 10; i++)
		snprintf(c + strlen(c), sizeof(c) - strlen(c), "Contact: <sip:d%d@192.0.2.%d>\r\n", i, i + 1);
	udp(reg("c1", 1, c, NULL));
	cr_assert_eq(last_status(), 200);
	cr_assert_eq(F.n_dht, 10);
	udp(reg("c1", 2, "Contact: <sip:eleventh@192.0.2.99>\r\n", NULL));
	cr_assert_eq(last_status(), 403);
	cr_assert(strstr(last(), "SIP/2.0 403 Too many registered contacts\r\n"), "%s", last());
	cr_assert_eq(F.n_dht, 10);
	/* a refresh of an existing one is still fine */
	udp(reg("c1", 3, "Contact: <sip:d0@192.0.2.1>\r\n", NULL));
	cr_assert_eq(last_status(), 200);
}

Test(sip_server, out_of_order_cseq_is_ignored)
{
	udp(reg("c1", 5, "Contact: <sip:alice@192.0.2.10>;expires=600\r\n", NULL));
	udp(reg("c1", 4, "Contact: <sip:alice@192.0.2.10>;expires=0\r\n", NULL));
	cr_assert_eq(last_status(), 200);
	cr_assert_eq(count_lines(last(), "Contact:"), 1, "%s", last());
	cr_assert_eq(F.n_dht, 1);
	udp(reg("c1", 5, "Contact: <sip:alice@192.0.2.10>;expires=0\r\n", NULL));
	cr_assert_eq(F.n_dht, 1, "an equal CSeq is out of order too");
	/* another Call-ID may remove it (a new UA instance) */
	udp(reg("c2", 1, "Contact: <sip:alice@192.0.2.10>;expires=0\r\n", NULL));
	cr_assert_eq(F.n_dht, 0);
}

Test(sip_server, sip_instance_names_the_binding)
{
	udp(reg("c1", 1,
		"Contact: <sip:alice@192.0.2.10>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"\r\n",
		NULL));
	cr_assert_eq(last_status(), 200);
	cr_assert_str_eq(F.dht[0].instance, "urn:uuid:00000000-0000-1000-8000-000A95A0E128");
	cr_assert(strstr(last(), "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\""), "%s", last());
	/* the same instance from a new address replaces the binding */
	udp(reg("c1", 2,
		"Contact: <sip:alice@198.51.100.7>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"\r\n",
		NULL));
	cr_assert_eq(F.n_dht, 1);
	cr_assert_str_eq(F.dht[0].contact, "sip:alice@198.51.100.7");
	cr_assert_eq(count_lines(last(), "Contact:"), 1, "%s", last());
}

Test(sip_server, derived_instance_is_stable)
{
	udp(reg("c1", 1, "Contact: <sip:alice@192.0.2.10>\r\n", NULL));
	char first[200];
	snprintf(first, sizeof(first), "%s", F.dht[0].instance);
	udp(reg("c1", 2, "Contact: <sip:alice@192.0.2.10>;expires=0\r\n", NULL));
	cr_assert_eq(F.n_dht, 0);
	udp(reg("c9", 1, "Contact: \"Alice\" <sip:alice@192.0.2.10>;q=0.5\r\n", NULL));
	cr_assert_str_eq(F.dht[0].instance, first);
	udp(reg("c9", 2, "Contact: <sip:alice@192.0.2.11>\r\n", NULL));
	cr_assert_str_neq(F.dht[1].instance, first);
}

Test(sip_server, register_without_contact_is_a_query)
{
	udp(reg("c1", 1, "Contact: <sip:alice@192.0.2.10>;expires=600\r\n", NULL));
	F.now += 60;
	udp(reg("c2", 1, "", NULL));
	cr_assert_eq(last_status(), 200);
	cr_assert(strstr(last(), "Contact: <sip:alice@192.0.2.10>;expires=540\r\n"), "%s", last());
	cr_assert_eq(F.publish_calls, 1);
}

Test(sip_server, other_nodes_bindings_are_listed)
{
	F.dht[F.n_dht++] = (struct dht_entry){"sip:alice@example.com", "sip:alice@203.0.113.5", "remote-1", 700,
					      NOW0 + 100};
	udp(reg("c1", 1, "Contact: <sip:alice@192.0.2.10>;expires=600\r\n", NULL));
	cr_assert_eq(last_status(), 200);
	cr_assert(strstr(last(), "Contact: <sip:alice@203.0.113.5>;q=0.7;expires=100\r\n"), "%s", last());
	cr_assert_eq(count_lines(last(), "Contact:"), 2);
}

Test(sip_server, policy_refusal_gets_403)
{
	const char *m = "REGISTER sip:forbidden.example SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-pol\r\n"
			"Max-Forwards: 70\r\nFrom: <sip:x@forbidden.example>;tag=1\r\nTo: <sip:x@forbidden.example>\r\n"
			"Call-ID: pol\r\nCSeq: 1 REGISTER\r\nContact: <sip:x@192.0.2.10>\r\nContent-Length: 0\r\n\r\n";
	udp(m);
	cr_assert(strstr(last(), "SIP/2.0 403 Forbidden: this node may not publish for forbidden.example\r\n"), "%s",
		  last());
}

Test(sip_server, retransmission_gets_the_same_response)
{
	const char *m = reg("c1", 1, "Contact: <sip:alice@192.0.2.10>\r\n", NULL);
	char copy[8192];
	snprintf(copy, sizeof(copy), "%s", m);
	cr_assert_eq(udp(copy), 1);
	char first[70000];
	snprintf(first, sizeof(first), "%s", last());
	cr_assert_eq(udp(copy), 1);
	cr_assert_str_eq(last(), first);
	cr_assert_eq(F.publish_calls, 1);
	cr_assert_eq(F.resolve_calls, 1);
	/* after Timer J (64 ticks) the transaction is gone: a new one (and a new tag) */
	for (int i = 0; i < 64; i++)
		F.timer.cb(F.timer.ud);
	cr_assert_eq(udp(copy), 1);
	cr_assert_str_neq(last(), first);
	cr_assert_eq(F.resolve_calls, 2);
}

Test(sip_server, pending_retransmission_is_absorbed)
{
	F.defer_resolve = true;
	cr_assert_eq(udp(req("MESSAGE", "sip:alice@example.com", "z9hG4bK-m1", NULL)), 0);
	cr_assert_eq(udp(req("MESSAGE", "sip:alice@example.com", "z9hG4bK-m1", NULL)), 0);
	run_resolve(F.now);
	cr_assert_eq(last_status(), 404);
	cr_assert_eq(F.n_sent, 1);
}

/* ---- redirect ---------------------------------------------------------------------- */

Test(sip_server, unknown_aor_gets_404)
{
	udp(req("INVITE", "sip:nobody@example.com", "z9hG4bK-404", NULL));
	cr_assert_eq(last_status(), 404, "%s", last());
	cr_assert(strstr(last(), "To: <sip:nobody@example.com>;tag="), "%s", last());
}

Test(sip_server, redirect_lists_live_contacts_of_any_node)
{
	F.dht[F.n_dht++] = (struct dht_entry){"sip:carol@example.com", "sip:carol@203.0.113.5;transport=tcp", "i1",
					      500, NOW0 + 100};
	F.dht[F.n_dht++] = (struct dht_entry){"sip:carol@example.com", "sip:carol@203.0.113.6", "i2", 1000,
					      NOW0 + 200};
	F.dht[F.n_dht++] = (struct dht_entry){"sip:carol@example.com", "sip:bad>injection@x", "i3", 1000,
					      NOW0 + 200};
	udp(req("SUBSCRIBE", "sip:carol@EXAMPLE.com;transport=udp", "z9hG4bK-sub", NULL));
	cr_assert_eq(last_status(), 302, "%s", last());
	cr_assert(strstr(last(), "SIP/2.0 302 Moved Temporarily\r\n"));
	const char *a = strstr(last(), "Contact: <sip:carol@203.0.113.6>;q=1;expires=200\r\n");
	const char *b = strstr(last(), "Contact: <sip:carol@203.0.113.5;transport=tcp>;q=0.5;expires=100\r\n");
	cr_assert(a && b && a < b, "%s", last());
	cr_assert_null(strstr(last(), "injection"), "an unsafe contact is never echoed");
}

Test(sip_server, all_expired_during_the_lookup_gets_480)
{
	F.dht[F.n_dht++] = (struct dht_entry){"sip:dave@example.com", "sip:dave@203.0.113.5", "i1", 500, NOW0 + 10};
	F.defer_resolve = true;
	cr_assert_eq(udp(req("OPTIONS", "sip:dave@example.com", "z9hG4bK-480", NULL)), 0);
	F.now += 20;
	run_resolve(NOW0);
	cr_assert_eq(last_status(), 480, "%s", last());
}

Test(sip_server, failed_lookup_gets_503)
{
	F.defer_resolve = true;
	udp(req("MESSAGE", "sip:alice@example.com", "z9hG4bK-503", NULL));
	rd_resolve_cb cb = F.pending_cb;
	F.pending_cb = NULL;
	cb(F.pending_ud, -ECANCELED, F.now, NULL, 0);
	cr_assert_eq(last_status(), 503, "%s", last());
	udp(reg("c1", 1, "Contact: <sip:alice@192.0.2.10>\r\n", NULL));
	cb = F.pending_cb;
	F.pending_cb = NULL;
	cb(F.pending_ud, -ECANCELED, F.now, NULL, 0);
	cr_assert_eq(last_status(), 503, "%s", last());
	cr_assert_eq(F.publish_calls, 0);
}

Test(sip_server, tel_uri_is_redirected_too)
{
	F.dht[F.n_dht++] = (struct dht_entry){"tel:+4930123456", "sip:+4930123456@gw.example.net", "g1", 1000,
					      NOW0 + 60};
	udp(req("MESSAGE", "tel:+4930123456", "z9hG4bK-tel", NULL));
	cr_assert_eq(last_status(), 302, "%s", last());
	cr_assert(strstr(last(), "Contact: <sip:+4930123456@gw.example.net>;q=1;expires=60\r\n"), "%s", last());
}

Test(sip_server, other_methods_to_the_server_get_405)
{
	udp(req("INVITE", "sip:127.0.0.1", "z9hG4bK-405", NULL));
	cr_assert_eq(last_status(), 405, "%s", last());
	cr_assert(strstr(last(), "\r\nAllow: "), "%s", last());
}

Test(sip_server, unknown_methods_to_the_server_get_501)
{
	udp(req("FROB", "sip:127.0.0.1", "z9hG4bK-501", NULL));
	cr_assert_eq(last_status(), 501, "%s", last());
	cr_assert(strstr(last(), "\r\nAllow: OPTIONS, REGISTER"), "%s", last());
	/* To an address of record, any method is redirected: it is a lookup. */
	udp(req("FROB", "sip:nobody@example.com", "z9hG4bK-501b", NULL));
	cr_assert_eq(last_status(), 404, "%s", last());
}

Test(sip_server, options_to_the_server_gets_200_with_allow)
{
	udp(req("OPTIONS", "sip:127.0.0.1:5060", "z9hG4bK-opt", NULL));
	cr_assert_eq(last_status(), 200, "%s", last());
	cr_assert(strstr(last(), "\r\nAllow: INVITE, ACK, CANCEL, OPTIONS, REGISTER"), "%s", last());
	cr_assert(strstr(last(), "\r\nAccept: "), "%s", last());
	cr_assert(strstr(last(), "\r\nSupported:"), "%s", last());
	cr_assert_eq(F.resolve_calls, 0);
}

Test(sip_server, max_forwards_zero_gets_483_except_options_to_self)
{
	const char *m = "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-mf0\r\n"
			"Max-Forwards: 0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: mf0\r\n"
			"CSeq: 1 OPTIONS\r\n\r\n";
	udp(m);
	cr_assert_eq(last_status(), 200);
	const char *m2 = "INVITE sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-mf1\r\n"
			 "Max-Forwards: 0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@example.com>\r\nCall-ID: mf1\r\n"
			 "CSeq: 1 INVITE\r\n\r\n";
	udp(m2);
	cr_assert_eq(last_status(), 483);
}

Test(sip_server, require_gets_420_with_unsupported)
{
	udp(req("OPTIONS", "sip:alice@example.com", "z9hG4bK-req", "Require: foo, bar\r\n"));
	cr_assert_eq(last_status(), 420);
	cr_assert(strstr(last(), "\r\nUnsupported: foo, bar\r\n"), "%s", last());
}

/* ---- INVITE transactions -------------------------------------------------------------- */

Test(sip_server, invite_response_repeats_until_ack)
{
	udp(req("INVITE", "sip:nobody@example.com", "z9hG4bK-g", NULL));
	cr_assert_eq(last_status(), 404);
	char resp[70000];
	snprintf(resp, sizeof(resp), "%s", last());
	size_t sent = F.n_sent;
	/* Timer G: 500 ms, then 1 s, 2 s, 4 s */
	F.timer.cb(F.timer.ud);
	cr_assert_eq(F.n_sent, sent + 1);
	cr_assert_str_eq(last(), resp);
	F.timer.cb(F.timer.ud);
	cr_assert_eq(F.n_sent, sent + 1);
	F.timer.cb(F.timer.ud);
	cr_assert_eq(F.n_sent, sent + 2);
	/* the ACK (To with our tag) is absorbed and stops the repeats */
	const char *tag = strstr(resp, ";tag=");
	char ack[2048];
	snprintf(ack, sizeof(ack),
		 "ACK sip:nobody@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-g\r\n"
		 "Max-Forwards: 70\r\nFrom: <sip:bob@example.org>;tag=b1\r\nTo: <sip:nobody@example.com>%.*s\r\n"
		 "Call-ID: call-z9hG4bK-g\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
		 (int)strcspn(tag, "\r"), tag);
	cr_assert_eq(udp(ack), 0);
	for (int i = 0; i < 40; i++)
		F.timer.cb(F.timer.ud);
	cr_assert_eq(F.n_sent, sent + 2);
	/* a retransmitted INVITE after the ACK is absorbed too */
	cr_assert_eq(udp(req("INVITE", "sip:nobody@example.com", "z9hG4bK-g", NULL)), 0);
}

Test(sip_server, invite_repeats_stop_at_timer_h)
{
	udp(req("INVITE", "sip:nobody@example.com", "z9hG4bK-h", NULL));
	size_t sent = F.n_sent;
	for (int i = 0; i < 200; i++)
		F.timer.cb(F.timer.ud);
	/* 1, 3, 7, 15, 23, 31, 39, 47, 55, 63: ten repeats within 64 ticks */
	cr_assert_eq(F.n_sent - sent, 10);
}

Test(sip_server, cancel_without_transaction_gets_481)
{
	udp(req("CANCEL", "sip:alice@example.com", "z9hG4bK-none", NULL));
	cr_assert_eq(last_status(), 481);
}

Test(sip_server, cancel_of_a_pending_invite_gets_200_and_487)
{
	F.defer_resolve = true;
	cr_assert_eq(udp(req("INVITE", "sip:alice@example.com", "z9hG4bK-c", NULL)), 1);
	cr_assert_eq(last_status(), 100, "a pending INVITE gets 100 Trying");
	cr_assert(strstr(last(), "To: <sip:alice@example.com>\r\n"), "no tag on 100: %s", last());
	const char *c = req("CANCEL", "sip:alice@example.com", "z9hG4bK-c", NULL);
	cr_assert_eq(udp(c), 2);
	cr_assert_eq(status_of(F.out[(F.n_out - 2) % 8].data), 200);
	cr_assert_eq(status_of(F.out[(F.n_out - 1) % 8].data), 487);
	cr_assert(strstr(last(), "CSeq: 1 INVITE\r\n"), "%s", last());
	run_resolve(F.now);
	cr_assert_eq(last_status(), 487, "the late lookup sends nothing");
}

Test(sip_server, cancel_of_an_answered_invite_gets_200_only)
{
	udp(req("INVITE", "sip:alice@example.com", "z9hG4bK-ca", NULL));
	cr_assert_eq(last_status(), 404);
	cr_assert_eq(udp(req("CANCEL", "sip:alice@example.com", "z9hG4bK-ca", NULL)), 1);
	cr_assert_eq(last_status(), 200);
}

/* ---- routing ---------------------------------------------------------------------------- */

Test(sip_server, rport_and_received_route_the_reply)
{
	udp(reg("c1", 1, "", NULL)); /* Via has ;rport, sent-by 192.0.2.10:5070 */
	struct sent *o = &F.out[(F.n_out - 1) % 8];
	cr_assert_eq(ntohs(o->to.sin_port), 5070);
	cr_assert(strstr(o->data, "branch=z9hG4bK-reg-1;rport=5070;received=192.0.2.10\r\n"), "%s", o->data);
	const char *m = "OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP phone.example.com;branch=z9hG4bK-rt\r\n"
			"Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-second\r\n"
			"Max-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@example.com>\r\nCall-ID: rt\r\n"
			"CSeq: 1 OPTIONS\r\n\r\n";
	udp(m);
	o = &F.out[(F.n_out - 1) % 8];
	cr_assert_eq(ntohs(o->to.sin_port), 5060, "no rport: the Via's (default) port");
	char ip[32];
	inet_ntop(AF_INET, &o->to.sin_addr, ip, sizeof(ip));
	cr_assert_str_eq(ip, "192.0.2.10", "to the source address (received)");
	cr_assert(strstr(o->data, "Via: SIP/2.0/UDP phone.example.com;branch=z9hG4bK-rt;received=192.0.2.10\r\n"
				  "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-second\r\n"),
		  "%s", o->data);
}

Test(sip_server, responses_are_dropped)
{
	const char *m = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-r\r\nFrom: <sip:a@b>;tag=1\r\n"
			"To: <sip:c@d>;tag=2\r\nCall-ID: r\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	cr_assert_eq(udp(m), 0);
}

/* ---- TCP ---------------------------------------------------------------------------------- */

static struct rd_sock *tcp_connect(void)
{
	struct rd_sock *l = NULL;
	for (size_t i = 0; i < F.n_socks; i++)
		if (F.socks[i].kind == 1)
			l = &F.socks[i];
	cr_assert_not_null(l);
	struct rd_sock *c = new_sock(2);
	struct sockaddr_in a = peer_addr(40000);
	c->ud = l->acb(l->ud, c, (struct sockaddr *)&a, sizeof(a));
	c->cb = l->cb;
	cr_assert_not_null(c->ud);
	return c;
}

static size_t tcp_in(struct rd_sock *c, const char *data, size_t len)
{
	struct sockaddr_in a = peer_addr(40000);
	size_t before = F.n_sent;
	c->cb(c->ud, c, (struct sockaddr *)&a, sizeof(a), (const uint8_t *)data, len);
	return F.n_sent - before;
}

Test(sip_server, tcp_frames_by_content_length)
{
	struct rd_sock *c = tcp_connect();
	const char *m = req("OPTIONS", "sip:nobody@example.com", "z9hG4bK-t1", NULL);
	char two[8192];
	size_t n = strlen(m);
	memcpy(two, m, n);
	/* split anywhere: nothing until the whole message is there */
	cr_assert_eq(tcp_in(c, two, 10), 0);
	cr_assert_eq(tcp_in(c, two + 10, n - 10), 1);
	cr_assert_eq(last_status(), 404);
	cr_assert_eq(F.out[(F.n_out - 1) % 8].sock, c, "the reply goes on the same connection");
	/* two messages in one read, with a body */
	const char *b = "MESSAGE sip:nobody@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10;branch=z9hG4bK-t2\r\n"
			"Max-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:nobody@example.com>\r\nCall-ID: t2\r\n"
			"CSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
	snprintf(two, sizeof(two), "%s%s", b, req("OPTIONS", "sip:nobody@example.com", "z9hG4bK-t3", NULL));
	cr_assert_eq(tcp_in(c, two, strlen(two)), 2);
	/* a keep-alive ping gets a pong */
	cr_assert_eq(tcp_in(c, "\r\n\r\n", 4), 1);
	cr_assert_str_eq(last(), "\r\n");
	cr_assert(!c->closed);
	/* the peer closes */
	tcp_in(c, NULL, 0);
}

Test(sip_server, tcp_lying_content_length_waits_then_idle_close)
{
	struct rd_sock *c = tcp_connect();
	const char *b = "MESSAGE sip:nobody@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10;branch=z9hG4bK-l\r\n"
			"Max-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:nobody@example.com>\r\nCall-ID: l\r\n"
			"CSeq: 1 MESSAGE\r\nContent-Length: 5000\r\n\r\nshort";
	cr_assert_eq(tcp_in(c, b, strlen(b)), 0);
	cr_assert(!c->closed);
	for (int i = 0; i < 62; i++)
		F.timer.cb(F.timer.ud);
	cr_assert(c->closed, "a partial message waits 30 s at most");
}

Test(sip_server, tcp_oversized_header_block_closes)
{
	struct rd_sock *c = tcp_connect();
	static char big[70000];
	memset(big, 'a', sizeof(big));
	memcpy(big, "OPTIONS sip:x@y SIP/2.0\r\nX-Long: ", 33);
	cr_assert_eq(tcp_in(c, big, sizeof(big)), 0);
	cr_assert(c->closed);
}

Test(sip_server, tcp_oversized_content_length_closes)
{
	struct rd_sock *c = tcp_connect();
	const char *b = "MESSAGE sip:nobody@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10;branch=z9hG4bK-o\r\n"
			"Content-Length: 99999999\r\n\r\n";
	tcp_in(c, b, strlen(b));
	cr_assert(c->closed);
}

Test(sip_server, tcp_bad_content_length_closes)
{
	struct rd_sock *c = tcp_connect();
	const char *b = "OPTIONS sip:nobody@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10;branch=z9hG4bK-bcl\r\n"
			"Content-Length: 5\r\nl: 6\r\n\r\nhello!";
	cr_assert_eq(tcp_in(c, b, strlen(b)), 0);
	cr_assert(c->closed, "two different lengths: no way to find the next message");
}

Test(sip_server, bad_expires_header_gets_400)
{
	udp(reg("c1", 1, "Contact: <sip:alice@192.0.2.10>\r\n", "Expires: soon\r\n"));
	cr_assert(strstr(last(), "SIP/2.0 400 Bad Request: invalid Expires\r\n"), "%s", last());
	udp(reg("c1", 2, "Contact: <sip:alice@192.0.2.10>;expires=soon\r\n", NULL));
	cr_assert(strstr(last(), "SIP/2.0 400 Bad Request: invalid expires parameter\r\n"), "%s", last());
	cr_assert_eq(F.publish_calls, 0);
}

Test(sip_server, tcp_idle_connection_closes)
{
	struct rd_sock *c = tcp_connect();
	for (int i = 0; i < 240; i++)
		F.timer.cb(F.timer.ud);
	cr_assert(!c->closed);
	F.timer.cb(F.timer.ud);
	cr_assert(c->closed);
}

Test(sip_server, tcp_close_while_pending_is_safe)
{
	F.defer_resolve = true;
	struct rd_sock *c = tcp_connect();
	const char *m = req("OPTIONS", "sip:x@example.com", "z9hG4bK-cp", NULL);
	cr_assert_eq(tcp_in(c, m, strlen(m)), 0);
	tcp_in(c, NULL, 0);
	c->closed = true;
	run_resolve(F.now);
	cr_assert_eq(F.n_sent, 0, "no reply on a closed connection");
}

Test(sip_server, oversized_datagram_is_dropped)
{
	static char big[70000];
	memset(big, 'a', sizeof(big));
	const char *m = req("OPTIONS", "sip:x@example.com", "z9hG4bK-big", NULL);
	memcpy(big, m, strlen(m));
	cr_assert_eq(udp_in(big, sizeof(big)), 0);
	cr_assert_eq(udp(req("OPTIONS", "sip:x@example.com", "z9hG4bK-after", NULL)), 1);
}

/* ---- digest authentication ------------------------------------------------------------------ */

/* runs after the suite's setup(): replace its server by one with users */
static void auth_setup(void)
{
	sip_registrar_free(R);
	reset();
	F.user_names[0] = "alice";
	F.user_pw[0] = "secret";
	F.user_names[1] = "bob";
	F.user_pw[1] = "hunter2";
	F.n_users = 2;
	start();
}

static void hexdigest(const char *alg, const char *s, char *out)
{
	unsigned char d[64];
	unsigned n = 0;
	EVP_Digest(s, strlen(s), d, &n, strcmp(alg, "MD5") == 0 ? EVP_md5() : EVP_sha256(), NULL);
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/** The nonce of the challenge for @p alg in @p resp. */
static void nonce_of(const char *resp, const char *alg, char *out)
{
	char want[64];
	snprintf(want, sizeof(want), "algorithm=%s", alg);
	const char *line = strstr(resp, want);
	cr_assert_not_null(line, "%s", resp);
	while (line > resp && strncmp(line, "WWW-Authenticate:", 17) != 0)
		line--;
	const char *n = strstr(line, "nonce=\"") + 7;
	size_t len = strcspn(n, "\"");
	memcpy(out, n, len);
	out[len] = '\0';
}

static const char *auth_reg(const char *user, const char *to_user, const char *pw, const char *alg, const char *nonce,
			    unsigned cseq)
{
	char ha1[130], ha2[130], resp[130], buf[1024];
	snprintf(buf, sizeof(buf), "%s:example.com:%s", user, pw);
	hexdigest(alg, buf, ha1);
	hexdigest(alg, "REGISTER:sip:example.com", ha2);
	snprintf(buf, sizeof(buf), "%s:%s:00000001:abcdef:auth:%s", ha1, nonce, ha2);
	hexdigest(alg, buf, resp);
	static char m[4096];
	snprintf(m, sizeof(m),
		 "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-auth%u\r\n"
		 "Max-Forwards: 70\r\nFrom: <sip:%s@example.com>;tag=f1\r\nTo: <sip:%s@example.com>\r\n"
		 "Call-ID: auth\r\nCSeq: %u REGISTER\r\nContact: <sip:%s@192.0.2.10>\r\n"
		 "Authorization: Digest username=\"%s\", realm=\"example.com\", nonce=\"%s\", uri=\"sip:example.com\", "
		 "response=\"%s\", algorithm=%s, qop=auth, nc=00000001, cnonce=\"abcdef\"\r\n"
		 "Content-Length: 0\r\n\r\n",
		 cseq, to_user, to_user, cseq, to_user, user, nonce, resp, alg);
	return m;
}

Test(sip_server, digest_challenge_offers_sha256_and_md5, .init = auth_setup)
{
	udp(reg("c1", 1, "Contact: <sip:alice@192.0.2.10>\r\n", NULL));
	cr_assert_eq(last_status(), 401);
	cr_assert_eq(count_lines(last(), "WWW-Authenticate: Digest realm=\"example.com\""), 2, "%s", last());
	const char *sha = strstr(last(), "algorithm=SHA-256"), *md5 = strstr(last(), "algorithm=MD5");
	cr_assert(sha && md5 && md5 < sha, "MD5 first, for MD5-only clients: %s", last());
	cr_assert(strstr(last(), "qop=\"auth\""));
	cr_assert_eq(F.publish_calls, 0);
}

static void digest_ok(const char *alg)
{
	char nonce[100];
	udp(reg("c1", 1, "Contact: <sip:alice@192.0.2.10>\r\n", NULL));
	nonce_of(last(), alg, nonce);
	udp(auth_reg("alice", "alice", "secret", alg, nonce, 2));
	cr_assert_eq(last_status(), 200, "%s", last());
	cr_assert_eq(F.publish_calls, 1);
}

Test(sip_server, digest_sha256_succeeds, .init = auth_setup)
{
	digest_ok("SHA-256");
}

Test(sip_server, digest_md5_succeeds, .init = auth_setup)
{
	digest_ok("MD5");
}

Test(sip_server, digest_wrong_password_gets_401, .init = auth_setup)
{
	char nonce[100];
	udp(reg("c1", 1, "", NULL));
	nonce_of(last(), "MD5", nonce);
	udp(auth_reg("alice", "alice", "wrong", "MD5", nonce, 2));
	cr_assert_eq(last_status(), 401);
	cr_assert_null(strstr(last(), "stale=true"));
	cr_assert_eq(F.publish_calls, 0);
	/* a nonce we never issued */
	udp(auth_reg("alice", "alice", "secret", "MD5", "0000000065536d8012345678901234567890123456789012", 3));
	cr_assert_eq(last_status(), 401);
}

Test(sip_server, digest_stale_nonce_gets_stale_challenge, .init = auth_setup)
{
	char nonce[100];
	udp(reg("c1", 1, "", NULL));
	nonce_of(last(), "SHA-256", nonce);
	F.now += 301;
	udp(auth_reg("alice", "alice", "secret", "SHA-256", nonce, 2));
	cr_assert_eq(last_status(), 401);
	cr_assert(strstr(last(), "stale=true"), "%s", last());
	nonce_of(last(), "SHA-256", nonce);
	udp(auth_reg("alice", "alice", "secret", "SHA-256", nonce, 3));
	cr_assert_eq(last_status(), 200, "%s", last());
}

Test(sip_server, digest_user_other_than_to_gets_403, .init = auth_setup)
{
	char nonce[100];
	udp(reg("c1", 1, "", NULL));
	nonce_of(last(), "MD5", nonce);
	/* bob's valid credentials, registering alice */
	udp(auth_reg("bob", "alice", "hunter2", "MD5", nonce, 2));
	cr_assert_eq(last_status(), 403, "%s", last());
	cr_assert(strstr(last(), "SIP/2.0 403 Forbidden: From/To mismatch\r\n"), "%s", last());
	cr_assert_eq(F.publish_calls, 0);
}

/* ---- config ---------------------------------------------------------------------------------- */

Test(sip_server_config, empty_listen_opens_nothing)
{
	reset();
	F.n_listen = 0;
	struct sip_registrar *r = (struct sip_registrar *)1;
	cr_assert_eq(sip_registrar_new(&fake_api, &fake_host, &r), 0);
	cr_assert_null(r);
	cr_assert_eq(F.n_socks, 0);
	sip_registrar_free(NULL);
}

Test(sip_server_config, default_outside_min_max_is_refused)
{
	reset();
	F.min_exp = 600;
	F.def_exp = 300;
	struct sip_registrar *r = NULL;
	cr_assert_eq(sip_registrar_new(&fake_api, &fake_host, &r), -EINVAL);
	cr_assert_null(r);
}

Test(sip_server_config, user_without_password_is_refused)
{
	reset();
	F.user_names[0] = "alice";
	F.user_pw[0] = NULL;
	F.n_users = 1;
	struct sip_registrar *r = NULL;
	cr_assert_lt(sip_registrar_new(&fake_api, &fake_host, &r), 0);
}

/* ---- RFC 4475 ---------------------------------------------------------------------------------- */

/** What each message of /work/shared/testdata/rfc4475 must get: a status, or 0 for dropped. */
static const struct {
	const char *file;
	int status;
	int alt; /* another acceptable answer, or -1 */
} torture[] = {
	{"wsinv.dat", 404, -1},     {"intmeth.dat", 404, -1},   {"esc01.dat", 404, -1},
	{"escnull.dat", 200, -1},   {"esc02.dat", 404, -1},     {"lwsdisp.dat", 404, -1},
	{"longreq.dat", 404, -1},   {"dblreq.dat", 200, -1},    {"semiuri.dat", 404, -1},
	{"transports.dat", 404, -1}, {"mpart01.dat", 404, -1},  {"unreason.dat", 0, -1},
	{"noreason.dat", 0, -1},    {"badinv01.dat", 400, 0},   {"clerr.dat", 400, -1},
	{"ncl.dat", 400, -1},       {"scalar02.dat", 400, -1},  {"scalarlg.dat", 0, -1},
	{"quotbal.dat", 400, -1},   {"ltgtruri.dat", 400, -1},  {"lwsruri.dat", 400, -1},
	{"lwsstart.dat", 400, -1},  {"trws.dat", 400, -1},      {"escruri.dat", 400, -1},
	{"baddate.dat", 400, -1},   {"regbadct.dat", 400, -1},  {"badaspec.dat", 400, -1},
	{"baddn.dat", 400, -1},     {"badvers.dat", 505, -1},   {"mismatch01.dat", 400, -1},
	{"mismatch02.dat", 400, -1}, {"bigcode.dat", 0, -1},    {"badbranch.dat", 404, -1},
	{"insuf.dat", 400, -1},     {"unkscm.dat", 416, -1},    {"novelsc.dat", 416, -1},
	{"unksm2.dat", 400, -1},    {"bext01.dat", 420, -1},    {"invut.dat", 404, -1},
	{"regaut01.dat", 200, -1},  {"multi01.dat", 400, -1},   {"mcl01.dat", 400, -1},
	{"bcast.dat", 0, -1},       {"zeromf.dat", 483, -1},    {"cparam01.dat", 200, -1},
	{"cparam02.dat", 200, -1},  {"regescrt.dat", 200, -1},  {"sdp01.dat", 404, -1},
	{"inv2543.dat", 404, -1},   {"test.dat", 0, -1},
};

#define TORTURE_DIR "/work/shared/testdata/rfc4475/dat/"

static size_t read_file(const char *name, char *buf, size_t cap)
{
	char path[512];
	snprintf(path, sizeof(path), "%s%s", TORTURE_DIR, name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

Test(sip_server, rfc4475_manifest_is_covered)
{
	FILE *f = fopen("/work/shared/testdata/rfc4475/MANIFEST.tsv", "r");
	cr_assert_not_null(f);
	char line[1024];
	size_t rows = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "file\t", 5) == 0)
			continue;
		line[strcspn(line, "\t")] = '\0';
		bool found = false;
		for (size_t i = 0; i < sizeof(torture) / sizeof(torture[0]) && !found; i++)
			found = strcmp(torture[i].file, line) == 0;
		cr_assert(found, "%s has no expectation", line);
		rows++;
	}
	fclose(f);
	cr_assert_eq(rows, sizeof(torture) / sizeof(torture[0]));
}

static void torture_one(size_t i, bool tcp)
{
	static char buf[70000];
	/* each message on a fresh server: registrations of one must not answer another */
	sip_registrar_free(R);
	reset();
	start();
	size_t n = read_file(torture[i].file, buf, sizeof(buf));
	size_t got;
	struct rd_sock *c = NULL;
	if (tcp) {
		c = tcp_connect();
		got = tcp_in(c, buf, n);
	} else {
		got = udp_in(buf, n);
	}
	int st = got ? last_status() : 0;
	if (got && st == 100) /* an INVITE waiting: not here, lookups answer at once */
		cr_assert_fail("%s: 100", torture[i].file);
	cr_assert(st == torture[i].status || st == torture[i].alt, "%s over %s: got %d, want %d: %.200s",
		  torture[i].file, tcp ? "TCP" : "UDP", st, torture[i].status, got ? last() : "");
	cr_assert_leq(got, 1, "%s: one answer", torture[i].file);
	if (st == 400)
		cr_assert(strncmp(last(), "SIP/2.0 400 Bad Request: ", 25) == 0, "%s: a reason: %.100s",
			  torture[i].file, last());
	if (c && !c->closed)
		tcp_in(c, NULL, 0);
}

Test(sip_server, rfc4475_over_udp)
{
	for (size_t i = 0; i < sizeof(torture) / sizeof(torture[0]); i++)
		torture_one(i, false);
	/* and the server still answers */
	cr_assert_eq(udp(req("OPTIONS", "sip:127.0.0.1", "z9hG4bK-alive", NULL)), 1);
	cr_assert_eq(last_status(), 200);
}

Test(sip_server, rfc4475_over_tcp)
{
	/* over a stream, Content-Length frames the message: skip those whose framing is the test, and
	 * baddn.dat, which has no blank line after its headers (a stream waits for it) */
	for (size_t i = 0; i < sizeof(torture) / sizeof(torture[0]); i++) {
		const char *f = torture[i].file;
		if (strcmp(f, "clerr.dat") == 0 || strcmp(f, "ncl.dat") == 0 || strcmp(f, "mcl01.dat") == 0 ||
		    strcmp(f, "dblreq.dat") == 0 || strcmp(f, "test.dat") == 0 || strcmp(f, "mpart01.dat") == 0 ||
		    strcmp(f, "baddn.dat") == 0)
			continue;
		torture_one(i, true);
	}
}

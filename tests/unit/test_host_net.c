/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for resolverd/host/net.c: timers, UDP, TCP and dns_query on a real loop, against a fake DNS server. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "resolverd/core/loop.h"
#include "resolverd/host/host.h"

#define DNS_TIMEOUT_MS 150

/* tests/unit/meson.build builds net.c with these small enough to test. */
#if !defined(NET_TCP_MAX_CONNS) || !defined(NET_TCP_IDLE_MS) || !defined(NET_TCP_LINGER_MS)
#error "build with -DNET_TCP_MAX_CONNS=2 -DNET_TCP_IDLE_MS=300 -DNET_TCP_LINGER_MS=300"
#endif

/* ---- the fixture: a loop, one rd_host, the API ---- */

static struct rd_loop loop;
static struct rd_host host;
static struct rd_host_api api;
static struct host_net *net;
static uv_timer_t tick;       /* keeps uv_run(ONCE) returning while we wait */
static uv_udp_t dns_server;   /* the fake DNS server, when started */
static bool dns_running;
static uint16_t dns_port;
static unsigned dns_queries;  /* queries the fake server received */

static void setup(void)
{
	cr_assert_eq(loop_init(&loop), 0);
	memset(&host, 0, sizeof(host));
	snprintf(host.name, sizeof(host.name), "test");
	host.loop = &loop;
	host_res_init(&host);
	memset(&api, 0, sizeof(api));
	host_net_fill_api(&api);
	uv_timer_init(&loop.uv, &tick);
	net = NULL;
	dns_running = false;
	dns_queries = 0;
}

static void teardown(void)
{
	host_res_release(&host);
	host_net_free(net);
	net = NULL;
	if (dns_running)
		uv_close((uv_handle_t *)&dns_server, NULL);
	uv_close((uv_handle_t *)&tick, NULL);
	loop_deinit(&loop);
}

TestSuite(host_net, .init = setup, .fini = teardown, .timeout = 30);

static void on_tick(uv_timer_t *t)
{
}

/** Run the loop until @p done(@p arg) or @p ms have passed. @return whether done. */
static bool run_until(bool (*done)(void *), void *arg, uint64_t ms)
{
	uint64_t deadline;

	uv_update_time(&loop.uv);
	deadline = uv_now(&loop.uv) + ms;
	uv_timer_start(&tick, on_tick, 5, 5);
	while (!(done && done(arg)) && uv_now(&loop.uv) < deadline)
		uv_run(&loop.uv, UV_RUN_ONCE);
	uv_timer_stop(&tick);
	return done && done(arg);
}

static bool flag_set(void *arg)
{
	return *(bool *)arg;
}

/** Run the loop for @p ms with nothing to wait for (to check that nothing happens). */
static void run_for(uint64_t ms)
{
	run_until(NULL, NULL, ms);
}

/* ---- timers ---- */

struct tstate {
	unsigned calls;
	unsigned free_at; /* timer_free() on this call, 0: never */
	struct rd_timer *t;
	bool freed;
};

static void on_test_timer(void *ud)
{
	struct tstate *st = ud;

	st->calls++;
	if (st->free_at && st->calls == st->free_at) {
		api.timer_free(st->t);
		st->t = NULL;
		st->freed = true;
	}
}

static bool calls_at_least_1(void *arg)
{
	return ((struct tstate *)arg)->calls >= 1;
}

static bool calls_at_least_3(void *arg)
{
	return ((struct tstate *)arg)->calls >= 3;
}

Test(host_net, timer_once)
{
	struct tstate st = {0};

	st.t = api.timer_new(&host, on_test_timer, &st);
	cr_assert_not_null(st.t);
	api.timer_start(st.t, 10, 0);
	cr_assert(run_until(calls_at_least_1, &st, 5000));
	run_for(60);
	cr_assert_eq(st.calls, 1, "a one-shot timer ran %u times", st.calls);
	/* Restart works after it fired. */
	api.timer_start(st.t, 1, 0);
	cr_assert(run_until(calls_at_least_3, &st, 200) == false);
	cr_assert_eq(st.calls, 2);
	api.timer_free(st.t);
	api.timer_free(NULL);
}

Test(host_net, timer_repeat_and_stop)
{
	struct tstate st = {0};

	st.t = api.timer_new(&host, on_test_timer, &st);
	cr_assert_not_null(st.t);
	api.timer_start(st.t, 5, 5);
	cr_assert(run_until(calls_at_least_3, &st, 5000));
	api.timer_stop(st.t);
	unsigned seen = st.calls;

	run_for(50);
	cr_assert_eq(st.calls, seen, "a stopped timer ran");
	api.timer_free(st.t);
}

Test(host_net, timer_free_from_own_callback)
{
	struct tstate st = {.free_at = 2};

	st.t = api.timer_new(&host, on_test_timer, &st);
	cr_assert_not_null(st.t);
	api.timer_start(st.t, 2, 2);
	cr_assert(run_until(flag_set, &st.freed, 5000));
	run_for(30);
	cr_assert_eq(st.calls, 2, "ran %u times after being freed", st.calls);
	cr_assert_eq(host.timers.next, &host.timers, "the freed timer is still linked");
}

/* ---- UDP ---- */

struct ustate {
	unsigned count;
	uint8_t data[64];
	size_t len;
	struct sockaddr_storage peer;
	struct rd_sock *s;
	bool reply; /* answer "pong" to each datagram */
};

static void on_udp(void *ud, struct rd_sock *s, const struct sockaddr *peer, socklen_t peer_len, const uint8_t *data,
		   size_t len)
{
	struct ustate *st = ud;

	cr_assert_eq(s, st->s);
	st->count++;
	st->len = len < sizeof(st->data) ? len : sizeof(st->data);
	memcpy(st->data, data, st->len);
	memcpy(&st->peer, peer, peer_len);
	if (st->reply)
		cr_assert_eq(api.udp_send(s, peer, peer_len, (const uint8_t *)"pong", 4), 0);
}

static bool got_one(void *arg)
{
	return ((struct ustate *)arg)->count >= 1;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static uint16_t sock_port(struct rd_sock *s)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;

	cr_assert_eq(api.sock_name(s, &ss, &len), 0);
	cr_assert(len >= sizeof(struct sockaddr_in));
	return port_of(&ss);
}

Test(host_net, udp_round_trip)
{
	struct ustate a = {0}, b = {.reply = true};
	struct sockaddr_storage to;
	socklen_t to_len = 0;

	cr_assert_eq(api.udp_bind(&host, "127.0.0.1:0", on_udp, &a, &a.s), 0);
	cr_assert_eq(api.udp_bind(&host, "127.0.0.1:0", on_udp, &b, &b.s), 0);
	uint16_t pa = sock_port(a.s), pb = sock_port(b.s);

	cr_assert(pa != 0 && pb != 0 && pa != pb);
	cr_assert_eq(api.sock_name(b.s, &to, &to_len), 0);
	cr_assert_eq(api.udp_send(a.s, (struct sockaddr *)&to, to_len, (const uint8_t *)"ping", 4), 0);
	cr_assert(run_until(got_one, &b, 5000));
	cr_assert_eq(b.len, 4);
	cr_assert_eq(memcmp(b.data, "ping", 4), 0);
	cr_assert_eq(port_of(&b.peer), pa, "peer port %u, sender bound to %u", port_of(&b.peer), pa);
	cr_assert(run_until(got_one, &a, 5000));
	cr_assert_eq(a.len, 4);
	cr_assert_eq(memcmp(a.data, "pong", 4), 0);
	cr_assert_eq(port_of(&a.peer), pb);
	api.sock_close(a.s);
	cr_assert_eq(api.udp_send(a.s, (struct sockaddr *)&to, to_len, (const uint8_t *)"x", 1), -EPIPE);
	api.sock_close(NULL);
}

Test(host_net, udp_ipv6_and_bad_endpoints)
{
	struct ustate a = {0};
	struct rd_sock *s = NULL;
	static const char *const bad[] = {"127.0.0.1", "localhost:53", "[::1]53", "127.0.0.1:65536", "::1:53",
					  "127.0.0.1:", ":53", "127.0.0.1:5x", "[::1:53", "", "1.2.3:53"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(api.udp_bind(&host, bad[i], on_udp, &a, &s), -EINVAL, "accepted \"%s\"", bad[i]);
	cr_assert_eq(api.udp_bind(&host, NULL, on_udp, &a, &s), -EINVAL);
	cr_assert_null(s);
	cr_assert_eq(api.udp_bind(&host, "127.0.0.1:0", on_udp, &a, &a.s), 0);
	char taken[32];

	snprintf(taken, sizeof(taken), "127.0.0.1:%u", sock_port(a.s));
	cr_assert_eq(api.udp_bind(&host, taken, on_udp, &a, &s), -EADDRINUSE);
	cr_assert_null(s);

	int fd6 = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 lo6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	bool have_v6 = fd6 >= 0 && bind(fd6, (struct sockaddr *)&lo6, sizeof(lo6)) == 0;

	if (fd6 >= 0)
		close(fd6);
	if (!have_v6) {
		cr_log_warn("no IPv6 loopback here: the IPv6 half is not checked");
		return;
	}
	struct ustate b = {.reply = true};
	struct sockaddr_storage to;
	socklen_t to_len;

	cr_assert_eq(api.udp_bind(&host, "[::1]:0", on_udp, &b, &b.s), 0);
	cr_assert_eq(api.sock_name(b.s, &to, &to_len), 0);
	cr_assert_eq(to.ss_family, AF_INET6);
	cr_assert_eq(to_len, sizeof(struct sockaddr_in6));
	struct ustate c = {0};

	cr_assert_eq(api.udp_bind(&host, "[::1]:0", on_udp, &c, &c.s), 0);
	cr_assert_eq(api.udp_send(c.s, (struct sockaddr *)&to, to_len, (const uint8_t *)"v6", 2), 0);
	cr_assert(run_until(got_one, &c, 5000));
	cr_assert_eq(memcmp(c.data, "pong", 4), 0);
}

/* ---- TCP ---- */

struct tcpstate {
	unsigned accepts;
	struct rd_sock *listener;
	struct rd_sock *conn;
	uint8_t data[256];
	size_t len;
	unsigned eofs;      /* on_data calls with len 0 */
	unsigned after_eof; /* calls after that: must stay 0 */
	bool echo;          /* answer "world" to "hello" */
};

static void *on_tcp_accept(void *ud, struct rd_sock *conn, const struct sockaddr *peer, socklen_t peer_len)
{
	struct tcpstate *st = ud;

	cr_assert_eq(peer->sa_family, AF_INET);
	cr_assert_eq(peer_len, sizeof(struct sockaddr_in));
	st->accepts++;
	st->conn = conn;
	return st;
}

static void on_tcp_data(void *ud, struct rd_sock *s, const struct sockaddr *peer, socklen_t peer_len,
			const uint8_t *data, size_t len)
{
	struct tcpstate *st = ud;

	cr_assert_eq(s, st->conn);
	cr_assert_eq(peer->sa_family, AF_INET);
	if (st->eofs)
		st->after_eof++;
	if (len == 0) {
		st->eofs++;
		return;
	}
	cr_assert(st->len + len <= sizeof(st->data));
	memcpy(st->data + st->len, data, len);
	st->len += len;
	if (st->echo && st->len == 5 && memcmp(st->data, "hello", 5) == 0)
		cr_assert_eq(api.tcp_send(s, (const uint8_t *)"world", 5), 0);
}

/** A blocking client socket connected to @p port on 127.0.0.1; connect() completes into the backlog. */
static int client_connect(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(fd >= 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0, "connect: %s", strerror(errno));
	cr_assert_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

/** What a nonblocking client has read so far. */
struct client {
	int fd;
	uint8_t buf[256];
	size_t len;
	size_t total;  /* every byte read, kept or not */
	bool eof;
};

static bool client_read(void *arg)
{
	struct client *c = arg;
	uint8_t tmp[65536];
	ssize_t n;

	while ((n = read(c->fd, tmp, sizeof(tmp))) > 0) {
		size_t keep = (size_t)n < sizeof(c->buf) - c->len ? (size_t)n : sizeof(c->buf) - c->len;

		memcpy(c->buf + c->len, tmp, keep);
		c->len += keep;
		c->total += (size_t)n;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		c->eof = true; /* closed, or reset */
	return c->len >= 5 || c->eof;
}

static bool client_eof(void *arg)
{
	client_read(arg);
	return ((struct client *)arg)->eof;
}

static bool tcp_got_5(void *arg)
{
	return ((struct tcpstate *)arg)->len >= 5;
}

static bool tcp_got_eof(void *arg)
{
	return ((struct tcpstate *)arg)->eofs >= 1;
}

static bool has_conn(void *arg)
{
	return ((struct tcpstate *)arg)->conn != NULL;
}

static uint16_t start_listener(struct tcpstate *st)
{
	cr_assert_eq(api.tcp_listen(&host, "127.0.0.1:0", on_tcp_accept, on_tcp_data, st, &st->listener), 0);
	uint16_t port = sock_port(st->listener);

	cr_assert(port != 0);
	return port;
}

Test(host_net, tcp_both_ways_then_peer_close)
{
	struct tcpstate st = {.echo = true};
	struct client c = {.fd = client_connect(start_listener(&st))};

	cr_assert_eq(write(c.fd, "hello", 5), 5);
	cr_assert(run_until(tcp_got_5, &st, 5000));
	cr_assert_eq(st.accepts, 1);
	cr_assert_eq(memcmp(st.data, "hello", 5), 0);
	/* Closing the listener leaves its connections alone. */
	api.sock_close(st.listener);
	cr_assert(run_until(client_read, &c, 5000));
	cr_assert_eq(c.len, 5);
	cr_assert_eq(memcmp(c.buf, "world", 5), 0);
	close(c.fd);
	cr_assert(run_until(tcp_got_eof, &st, 5000));
	run_for(30);
	cr_assert_eq(st.eofs, 1);
	cr_assert_eq(st.after_eof, 0);
	/* The connection is gone from the host's list, like the listener. */
	cr_assert_eq(host.socks.next, &host.socks);
}

Test(host_net, tcp_close_flushes_queued_data)
{
	struct tcpstate st = {0};
	struct client c = {.fd = client_connect(start_listener(&st))};
	static uint8_t chunk[64 * 1024];
	size_t sent = 0;

	cr_assert_eq(write(c.fd, "hi", 2), 2);
	cr_assert(run_until(has_conn, &st, 5000), "no connection accepted");
	for (int i = 0; i < 12; i++, sent += sizeof(chunk)) {
		memset(chunk, 'a' + i, sizeof(chunk));
		cr_assert_eq(api.tcp_send(st.conn, chunk, sizeof(chunk)), 0);
	}
	api.sock_close(st.conn);
	cr_assert_eq(api.tcp_send(st.conn, chunk, 1), -EPIPE);
	cr_assert(run_until(client_eof, &c, 10000));
	cr_assert_eq(c.total, sent, "client read %zu of %zu bytes", c.total, sent);
	cr_assert_eq(st.eofs, 0, "a closed connection was called back");
	close(c.fd);
}

Test(host_net, tcp_over_queue_limit_fails)
{
	struct tcpstate st = {0};
	struct client c = {.fd = client_connect(start_listener(&st))};
	static uint8_t chunk[64 * 1024];
	int rc = 0;

	/* The client never reads: the kernel buffers fill, then our queue does. */
	cr_assert(run_until(has_conn, &st, 5000), "no connection accepted");
	for (int i = 0; i < 2000 && rc == 0; i++)
		rc = api.tcp_send(st.conn, chunk, sizeof(chunk));
	cr_assert_eq(rc, -ENOBUFS);
	cr_assert_eq(api.tcp_send(st.conn, chunk, 1), -EPIPE);
	cr_assert_eq(st.eofs, 0, "failure reported from inside tcp_send()");
	cr_assert(run_until(tcp_got_eof, &st, 5000));
	run_for(20);
	cr_assert_eq(st.eofs, 1);
	cr_assert_eq(st.after_eof, 0);
	close(c.fd);
}

Test(host_net, tcp_idle_connection_fails)
{
	struct tcpstate st = {0};
	struct client c = {.fd = client_connect(start_listener(&st))};
	uint64_t start;

	cr_assert(run_until(has_conn, &st, 5000));
	uv_update_time(&loop.uv);
	start = uv_now(&loop.uv);
	cr_assert_eq(write(c.fd, "abc", 3), 3); /* data restarts the idle timeout */
	cr_assert(run_until(tcp_got_eof, &st, 20 * NET_TCP_IDLE_MS), "an idle connection stayed open");
	cr_assert_eq(st.len, 3);
	cr_assert_geq(uv_now(&loop.uv) - start, NET_TCP_IDLE_MS);
	cr_assert(run_until(client_eof, &c, 5000), "the client did not see the close");
	close(c.fd);
}

struct capstate {
	unsigned accepts;
	unsigned eofs;
};

static void *on_cap_accept(void *ud, struct rd_sock *conn, const struct sockaddr *peer, socklen_t peer_len)
{
	((struct capstate *)ud)->accepts++;
	return ud;
}

static void on_cap_data(void *ud, struct rd_sock *s, const struct sockaddr *peer, socklen_t peer_len,
			const uint8_t *data, size_t len)
{
	if (len == 0)
		((struct capstate *)ud)->eofs++;
}

static bool cap_accepts(void *arg)
{
	return ((struct capstate *)arg)->accepts >= (unsigned)NET_TCP_MAX_CONNS;
}

static bool cap_eof(void *arg)
{
	return ((struct capstate *)arg)->eofs >= 1;
}

Test(host_net, tcp_connections_over_cap_are_refused)
{
	struct capstate st = {0};
	struct rd_sock *l;
	int fds[NET_TCP_MAX_CONNS];

	cr_assert_eq(api.tcp_listen(&host, "127.0.0.1:0", on_cap_accept, on_cap_data, &st, &l), 0);
	uint16_t port = sock_port(l);

	for (int i = 0; i < NET_TCP_MAX_CONNS; i++)
		fds[i] = client_connect(port);
	cr_assert(run_until(cap_accepts, &st, 5000));
	struct client over = {.fd = client_connect(port)};

	cr_assert(run_until(client_eof, &over, 5000), "a connection over the cap was kept");
	cr_assert_eq(st.accepts, NET_TCP_MAX_CONNS);
	close(over.fd);
	/* A slot frees when a connection ends; then the next one is taken. */
	close(fds[0]);
	cr_assert(run_until(cap_eof, &st, 5000));
	struct client next = {.fd = client_connect(port)};

	cr_assert_eq(write(next.fd, "x", 1), 1);
	for (int i = 0; i < 500 && st.accepts == NET_TCP_MAX_CONNS; i++)
		run_for(5);
	cr_assert_eq(st.accepts, NET_TCP_MAX_CONNS + 1, "no slot freed");
	close(next.fd);
	for (int i = 1; i < NET_TCP_MAX_CONNS; i++)
		close(fds[i]);
}

/* ---- a fake DNS server on 127.0.0.1 ---- */

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
	return 4;
}

/** Write @p text ("a.b." or ".") as an uncompressed name. */
static size_t put_name(uint8_t *p, const char *text)
{
	size_t n = 0;

	while (*text && strcmp(text, ".") != 0) {
		const char *dot = strchr(text, '.');
		size_t len = dot ? (size_t)(dot - text) : strlen(text);

		p[n++] = (uint8_t)len;
		memcpy(p + n, text, len);
		n += len;
		text += len + (dot != NULL);
	}
	p[n++] = 0;
	return n;
}

static size_t put_string(uint8_t *p, const char *s)
{
	size_t len = strlen(s);

	p[0] = (uint8_t)len;
	memcpy(p + 1, s, len);
	return len + 1;
}

/** Append an answer RR owned by the question name (pointer to offset 12). @return its length. */
static size_t put_rr(uint8_t *p, uint16_t type, uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	size_t n = put16(p, 0xC00C);

	n += put16(p + n, type);
	n += put16(p + n, 1);
	n += put32(p + n, ttl);
	n += put16(p + n, (uint16_t)rdlen);
	memcpy(p + n, rdata, rdlen);
	return n + rdlen;
}

static size_t srv_rdata(uint8_t *p, uint16_t prio, uint16_t weight, uint16_t port, const char *target)
{
	size_t n = put16(p, prio);

	n += put16(p + n, weight);
	n += put16(p + n, port);
	return n + put_name(p + n, target);
}

static size_t naptr_rdata(uint8_t *p, uint16_t order, uint16_t pref, const char *flags, const char *service,
			  const char *regexp, const char *replacement)
{
	size_t n = put16(p, order);

	n += put16(p + n, pref);
	n += put_string(p + n, flags);
	n += put_string(p + n, service);
	n += put_string(p + n, regexp);
	return n + put_name(p + n, replacement);
}

/** Fill the answer for @p qname/@p qtype after the question. @return answer count, or -1: no reply; *rcode set. */
static int answer_for(const char *qname, uint16_t qtype, uint8_t *p, size_t *len, uint8_t *rcode)
{
	uint8_t rd[300];
	size_t n = 0;
	int an = 0;

	*rcode = 0;
	if (strcmp(qname, "a.test") == 0 && qtype == RD_DNS_A) {
		n += put_rr(p + n, RD_DNS_A, 300, (const uint8_t *)"\xc0\x00\x02\x01", 4);
		n += put_rr(p + n, RD_DNS_A, 150, (const uint8_t *)"\xc0\x00\x02\x02", 4);
		an = 2;
	} else if (strcmp(qname, "a.test") == 0 && qtype == RD_DNS_AAAA) {
		n += put_rr(p + n, RD_DNS_AAAA, 42,
			    (const uint8_t *)"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
		an = 1;
	} else if (strcmp(qname, "_sip._udp.s.test") == 0 && qtype == RD_DNS_SRV) {
		n += put_rr(p + n, RD_DNS_SRV, 120, rd, srv_rdata(rd, 10, 60, 5060, "sip1.s.test."));
		n += put_rr(p + n, RD_DNS_SRV, 60, rd, srv_rdata(rd, 20, 0, 5061, "."));
		an = 2;
	} else if (strcmp(qname, "n.test") == 0 && qtype == RD_DNS_NAPTR) {
		n += put_rr(p + n, RD_DNS_NAPTR, 3600, rd,
			    naptr_rdata(rd, 100, 10, "S", "SIP+D2U", "", "_sip._udp.n.test."));
		n += put_rr(p + n, RD_DNS_NAPTR, 1800, rd,
			    naptr_rdata(rd, 50, 20, "U", "E2U+sip", "!^.*$!sip:info@n.test!", "."));
		an = 2;
	} else if (strcmp(qname, "nx.test") == 0) {
		*rcode = 3;
	} else if (strcmp(qname, "fail.test") == 0) {
		*rcode = 2;
	} else if (strcmp(qname, "silent.test") == 0) {
		return -1;
	} /* anything else: NOERROR, no data */
	*len = n;
	return an;
}

static void on_dns_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	static char rx[4096];

	buf->base = rx;
	buf->len = sizeof(rx);
}

/** Read the question of @p q (@p len bytes). @return its end offset, or 0 when malformed. */
static size_t read_question(const uint8_t *q, size_t len, char *name, size_t name_max, uint16_t *qtype)
{
	size_t pos = 12, out = 0;

	if (len < 17)
		return 0;
	while (pos < len && q[pos] != 0) {
		size_t l = q[pos++];

		if (l > 63 || pos + l >= len || out + l + 2 > name_max)
			return 0;
		if (out)
			name[out++] = '.';
		memcpy(name + out, q + pos, l);
		out += l;
		pos += l;
	}
	name[out] = '\0';
	if (pos + 5 > len)
		return 0;
	*qtype = (uint16_t)(q[pos + 1] << 8 | q[pos + 2]);
	return pos + 5;
}

static void on_dns_request(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
			   unsigned flags)
{
	const uint8_t *q = (const uint8_t *)buf->base;
	uint8_t resp[4096], rcode;
	char name[256] = "";
	uint16_t qtype = 0;
	size_t qend, alen = 0;
	int an;

	if (nread <= 0 || !addr)
		return;
	dns_queries++;
	qend = read_question(q, (size_t)nread, name, sizeof(name), &qtype);
	cr_assert(qend > 0, "malformed query");
	an = answer_for(name, qtype, resp + qend, &alen, &rcode);
	if (an < 0)
		return;
	memcpy(resp, q, qend);
	resp[2] = 0x81 | (q[2] & 0x01); /* QR, RD copied */
	resp[3] = (uint8_t)(0x80 | rcode);  /* RA */
	put16(resp + 4, 1);
	put16(resp + 6, (uint16_t)an);
	put16(resp + 8, 0);
	put16(resp + 10, 0);
	uv_buf_t out = uv_buf_init((char *)resp, (unsigned)(qend + alen));

	cr_assert_eq(uv_udp_try_send(udp, &out, 1, addr), (int)(qend + alen));
}

/** Start the fake server and a host_net pointed at it. */
static void dns_start(void)
{
	struct sockaddr_in sin;
	int len = sizeof(sin);
	char server[32];
	const char *servers[] = {server};
	struct host_net_conf conf = {.servers = servers, .n_servers = 1, .timeout_ms = DNS_TIMEOUT_MS};

	uv_ip4_addr("127.0.0.1", 0, &sin);
	cr_assert_eq(uv_udp_init(&loop.uv, &dns_server), 0);
	dns_running = true;
	cr_assert_eq(uv_udp_bind(&dns_server, (struct sockaddr *)&sin, 0), 0);
	cr_assert_eq(uv_udp_recv_start(&dns_server, on_dns_alloc, on_dns_request), 0);
	cr_assert_eq(uv_udp_getsockname(&dns_server, (struct sockaddr *)&sin, &len), 0);
	dns_port = ntohs(sin.sin_port);
	snprintf(server, sizeof(server), "127.0.0.1:%u", dns_port);
	cr_assert_eq(host_net_new(&loop, &conf, &net), 0);
	host.net = net;
}

/** One query's outcome, with copies of what the callback saw. */
struct dstate {
	unsigned calls;
	int status;
	size_t n;
	struct rd_dns_rr rrs[4];
	char str[4][4][64]; /* per record: target/replacement, flags, service, regexp */
};

static void copy_str(char *dst, const char *src)
{
	cr_assert_not_null(src);
	cr_assert(strlen(src) < 64);
	strcpy(dst, src);
}

static void on_dns(void *ud, int status, const struct rd_dns_rr *rrs, size_t n)
{
	struct dstate *st = ud;

	st->calls++;
	st->status = status;
	st->n = n;
	cr_assert(status == 0 ? n >= 1 && rrs : n == 0, "status %d with %zu records", status, n);
	for (size_t i = 0; i < n && i < 4; i++) {
		st->rrs[i] = rrs[i];
		if (rrs[i].type == RD_DNS_SRV) {
			copy_str(st->str[i][0], rrs[i].u.srv.target);
		} else if (rrs[i].type == RD_DNS_NAPTR) {
			copy_str(st->str[i][0], rrs[i].u.naptr.replacement);
			copy_str(st->str[i][1], rrs[i].u.naptr.flags);
			copy_str(st->str[i][2], rrs[i].u.naptr.service);
			copy_str(st->str[i][3], rrs[i].u.naptr.regexp);
		}
	}
}

static bool dns_done(void *arg)
{
	return ((struct dstate *)arg)->calls > 0;
}

/** Ask and wait for the answer. */
static void ask(const char *name, enum rd_dns_type type, struct dstate *st)
{
	cr_assert_eq(api.dns_query(&host, name, type, on_dns, st), 0);
	cr_assert_eq(st->calls, 0, "called back before dns_query() returned");
	cr_assert(run_until(dns_done, st, 10000), "no answer for %s", name);
	run_for(5);
	cr_assert_eq(st->calls, 1);
}

Test(host_net, dns_a_and_aaaa_with_ttls)
{
	struct dstate a = {0}, aaaa = {0};

	dns_start();
	ask("a.test", RD_DNS_A, &a);
	cr_assert_eq(a.status, 0);
	cr_assert_eq(a.n, 2);
	cr_assert_str_eq(a.rrs[0].u.a.addr, "192.0.2.1");
	cr_assert_eq(a.rrs[0].ttl, 300);
	cr_assert_eq(a.rrs[0].type, RD_DNS_A);
	cr_assert_str_eq(a.rrs[1].u.a.addr, "192.0.2.2");
	cr_assert_eq(a.rrs[1].ttl, 150);
	ask("a.test", RD_DNS_AAAA, &aaaa);
	cr_assert_eq(aaaa.status, 0);
	cr_assert_eq(aaaa.n, 1);
	cr_assert_str_eq(aaaa.rrs[0].u.a.addr, "2001:db8::1");
	cr_assert_eq(aaaa.rrs[0].ttl, 42);
	cr_assert_eq(aaaa.rrs[0].type, RD_DNS_AAAA);
	cr_assert_eq(host.queries.next, &host.queries, "a finished query is still linked");
}

Test(host_net, dns_srv_with_ttls)
{
	struct dstate st = {0};

	dns_start();
	ask("_sip._udp.s.test", RD_DNS_SRV, &st);
	cr_assert_eq(st.status, 0);
	cr_assert_eq(st.n, 2);
	cr_assert_eq(st.rrs[0].type, RD_DNS_SRV);
	cr_assert_eq(st.rrs[0].u.srv.priority, 10);
	cr_assert_eq(st.rrs[0].u.srv.weight, 60);
	cr_assert_eq(st.rrs[0].u.srv.port, 5060);
	cr_assert_str_eq(st.str[0][0], "sip1.s.test");
	cr_assert_eq(st.rrs[0].ttl, 120);
	cr_assert_eq(st.rrs[1].u.srv.priority, 20);
	cr_assert_eq(st.rrs[1].u.srv.port, 5061);
	cr_assert_str_eq(st.str[1][0], ".");
	cr_assert_eq(st.rrs[1].ttl, 60);
}

Test(host_net, dns_naptr_with_ttls)
{
	struct dstate st = {0};

	dns_start();
	ask("n.test", RD_DNS_NAPTR, &st);
	cr_assert_eq(st.status, 0);
	cr_assert_eq(st.n, 2);
	cr_assert_eq(st.rrs[0].type, RD_DNS_NAPTR);
	cr_assert_eq(st.rrs[0].u.naptr.order, 100);
	cr_assert_eq(st.rrs[0].u.naptr.preference, 10);
	cr_assert_str_eq(st.str[0][0], "_sip._udp.n.test");
	cr_assert_str_eq(st.str[0][1], "S");
	cr_assert_str_eq(st.str[0][2], "SIP+D2U");
	cr_assert_str_eq(st.str[0][3], "");
	cr_assert_eq(st.rrs[0].ttl, 3600);
	cr_assert_eq(st.rrs[1].u.naptr.order, 50);
	cr_assert_str_eq(st.str[1][0], "");
	cr_assert_str_eq(st.str[1][1], "U");
	cr_assert_str_eq(st.str[1][3], "!^.*$!sip:info@n.test!");
	cr_assert_eq(st.rrs[1].ttl, 1800);
}

Test(host_net, dns_negative_answers)
{
	struct dstate nx = {0}, nodata = {0}, fail = {0}, wrong = {0};

	dns_start();
	ask("nx.test", RD_DNS_A, &nx);
	cr_assert_eq(nx.status, -ENOENT);
	ask("nodata.test", RD_DNS_SRV, &nodata);
	cr_assert_eq(nodata.status, -ENOENT);
	ask("fail.test", RD_DNS_A, &fail);
	cr_assert_eq(fail.status, -EIO);
	/* a.test has A records, but none of the type asked. */
	ask("a.test", RD_DNS_NAPTR, &wrong);
	cr_assert_eq(wrong.status, -ENOENT);
}

Test(host_net, dns_timeout)
{
	struct dstate st = {0};
	uint64_t start;

	dns_start();
	uv_update_time(&loop.uv);
	start = uv_now(&loop.uv);
	ask("silent.test", RD_DNS_A, &st);
	cr_assert_eq(st.status, -ETIMEDOUT);
	cr_assert_geq(dns_queries, 2, "the server saw %u tries", dns_queries);
	cr_assert_geq(uv_now(&loop.uv) - start, 2 * DNS_TIMEOUT_MS);
}

Test(host_net, dns_bad_arguments)
{
	struct dstate st = {0};
	char longname[300];

	dns_start();
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(api.dns_query(&host, longname, RD_DNS_A, on_dns, &st), -EINVAL);
	cr_assert_eq(api.dns_query(&host, "a.test", (enum rd_dns_type)16, on_dns, &st), -EINVAL);
	cr_assert_eq(api.dns_query(&host, NULL, RD_DNS_A, on_dns, &st), -EINVAL);
	cr_assert_eq(api.dns_query(&host, "a.test", RD_DNS_A, NULL, &st), -EINVAL);
	/* c-ares refuses this one itself, calling back inside ares_query(). */
	cr_assert_eq(api.dns_query(&host, "a..test", RD_DNS_A, on_dns, &st), -EINVAL);
	cr_assert_eq(host.queries.next, &host.queries);
	run_for(20);
	cr_assert_eq(st.calls, 0);
	cr_assert_eq(dns_queries, 0);
}

Test(host_net, dns_cancelled_by_host_net_free)
{
	struct dstate st = {0};

	dns_start();
	cr_assert_eq(api.dns_query(&host, "silent.test", RD_DNS_A, on_dns, &st), 0);
	run_for(10);
	host_net_free(net);
	net = NULL;
	cr_assert_eq(st.calls, 1);
	cr_assert_eq(st.status, -ECANCELED);
	cr_assert_eq(host.queries.next, &host.queries);
}

Test(host_net, host_net_new_rejects_bad_servers)
{
	const char *bad[] = {"127.0.0.1:53", "dns.example:53"};
	const char *zero[] = {"127.0.0.1:0"};
	struct host_net_conf conf = {.servers = bad, .n_servers = 2, .timeout_ms = 100};
	struct host_net *n = NULL;

	cr_assert_eq(host_net_new(&loop, &conf, &n), -EINVAL);
	conf.servers = zero;
	conf.n_servers = 1;
	cr_assert_eq(host_net_new(&loop, &conf, &n), -EINVAL);
	conf.n_servers = 0;
	conf.timeout_ms = 0;
	cr_assert_eq(host_net_new(&loop, &conf, &n), -EINVAL);
	cr_assert_null(n);
	/* No servers: c-ares reads /etc/resolv.conf. */
	conf.timeout_ms = 100;
	cr_assert_eq(host_net_new(&loop, &conf, &n), 0);
	host_net_free(n);
}

/* ---- release ---- */

static void on_never_timer(void *ud)
{
	(*(unsigned *)ud)++;
}

static void *on_never_accept(void *ud, struct rd_sock *conn, const struct sockaddr *peer, socklen_t peer_len)
{
	struct tcpstate *st = ud;

	st->conn = conn;
	st->accepts++;
	return ud;
}

static void on_never_data(void *ud, struct rd_sock *s, const struct sockaddr *peer, socklen_t peer_len,
			  const uint8_t *data, size_t len)
{
	((struct tcpstate *)ud)->eofs += 1000; /* any call counts */
}

static void on_never_udp(void *ud, struct rd_sock *s, const struct sockaddr *peer, socklen_t peer_len,
			 const uint8_t *data, size_t len)
{
	(*(unsigned *)ud)++;
}

static void on_never_dns(void *ud, int status, const struct rd_dns_rr *rrs, size_t n)
{
	(*(unsigned *)ud)++;
}

Test(host_net, release_frees_everything_without_callbacks)
{
	unsigned timer_calls = 0, udp_calls = 0, dns_calls = 0;
	struct tcpstate st = {0};
	struct rd_sock *udp, *lingering;
	struct sockaddr_storage to;
	socklen_t to_len;
	static uint8_t chunk[256 * 1024];

	dns_start();
	cr_assert_eq(api.udp_bind(&host, "127.0.0.1:0", on_never_udp, &udp_calls, &udp), 0);
	cr_assert_eq(api.tcp_listen(&host, "127.0.0.1:0", on_never_accept, on_never_data, &st, &st.listener), 0);
	int c1 = client_connect(sock_port(st.listener));

	cr_assert(run_until(has_conn, &st, 5000));
	lingering = st.conn;
	st.conn = NULL;
	int c2 = client_connect(sock_port(st.listener));

	cr_assert(run_until(has_conn, &st, 5000));
	/* c1's connection: closing, its unread data queued; c2's: open with data queued. */
	for (int i = 0; i < 40; i++) {
		if (api.tcp_send(lingering, chunk, sizeof(chunk)) < 0 || api.tcp_send(st.conn, chunk, sizeof(chunk)) < 0)
			break;
	}
	api.sock_close(lingering);
	cr_assert_eq(api.dns_query(&host, "silent.test", RD_DNS_A, on_never_dns, &dns_calls), 0);
	cr_assert_eq(api.dns_query(&host, "a.test", RD_DNS_A, on_never_dns, &dns_calls), 0);
	/* Data is on its way to the UDP socket when it is released. */
	cr_assert_eq(api.sock_name(udp, &to, &to_len), 0);
	cr_assert_eq(api.udp_send(udp, (struct sockaddr *)&to, to_len, (const uint8_t *)"x", 1), 0);
	cr_assert_eq(write(c2, "late", 4), 4);
	/* Timers due at once, with no loop iteration before the release. */
	for (int i = 0; i < 3; i++) {
		struct rd_timer *t = api.timer_new(&host, on_never_timer, &timer_calls);

		cr_assert_not_null(t);
		api.timer_start(t, i, i == 0 ? 0 : 5);
	}
	cr_assert_not_null(api.timer_new(&host, on_never_timer, &timer_calls)); /* never started */

	host_res_release(&host);
	cr_assert_eq(host.timers.next, &host.timers);
	cr_assert_eq(host.socks.next, &host.socks);
	cr_assert_eq(host.queries.next, &host.queries);
	/* Past the timers, the answer of a.test and the c-ares timeout of silent.test. */
	run_for(4 * DNS_TIMEOUT_MS + 100);
	cr_assert_geq(dns_queries, 2, "the queries were not even sent");
	cr_assert_eq(timer_calls, 0);
	cr_assert_eq(udp_calls, 0);
	cr_assert_eq(dns_calls, 0);
	cr_assert_eq(st.eofs, 0, "a released connection was called back");
	close(c1);
	close(c2);
	/* teardown's loop_deinit() must find every handle closed (uv_loop_close), and ASan no leak. */
}

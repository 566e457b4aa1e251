/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: one SIP message through the registrar and redirect server (plugins/sip/server/) on a fake host. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/sip/registrar.h"

/*
 * The input is a SIP message as a phone sends it. It goes to a new server
 * as a UDP datagram, again (a retransmission), then over TCP cut in two at
 * a point the input's length picks, then the sweep timer runs past Timer H
 * and J. The server's DHT holds a binding of sip:alice@example.com, and
 * every other input has digest users configured. No sockets: the fake
 * host's udp_send/tcp_send check what the server sends:
 *  - a response starts "SIP/2.0 NNN ", with a status of 100..699, and ends
 *    in one blank line; every line ends in CRLF and holds no other control
 *    character (nothing from the input can split a header);
 *  - it says "Content-Length: 0" (we never send a body);
 *  - over TCP, or in reply to a datagram, nothing is sent unless the input
 *    was a request (a response or garbage is dropped).
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000ull

struct rd_host {
	int unused;
};

struct rd_timer {
	rd_timer_cb cb;
	void *ud;
};

struct rd_sock {
	int kind; /* 0 udp, 1 listener, 2 connection */
	rd_recv_cb cb;
	rd_accept_cb acb;
	void *ud;
	bool closed; /* sock_close() ran, or the peer closed: no more callbacks */
};

static struct rd_host host;
static struct rd_timer timer;
static struct rd_sock socks[4];
static size_t n_socks;
static bool with_users;
static size_t n_sent;
static const char *const listen_eps[] = {"127.0.0.1:5060"};
static const char *const users[] = {"alice"};

static void fake_log(struct rd_host *h, enum rd_log_level level, const char *fmt, ...)
{
	(void)h, (void)level, (void)fmt;
}

static int cfg_string(struct rd_host *h, const char *key, const char *dflt, const char **ret)
{
	if (strcmp(key, "users.alice.password") == 0) {
		*ret = "secret";
		return 0;
	}
	*ret = dflt;
	return -ENOENT;
}

static int cfg_uint(struct rd_host *h, const char *key, unsigned min, unsigned max, unsigned dflt, unsigned *ret)
{
	*ret = strcmp(key, "max_contacts") == 0 ? 3 : dflt;
	return 0;
}

static int cfg_bool(struct rd_host *h, const char *key, int dflt, int *ret)
{
	*ret = dflt;
	return -ENOENT;
}

static int cfg_list(struct rd_host *h, const char *key, const char *const **ret_v, size_t *ret_n)
{
	*ret_v = listen_eps;
	*ret_n = 1;
	return 0;
}

static int cfg_keys(struct rd_host *h, const char *key, const char *const **ret_v, size_t *ret_n)
{
	*ret_v = users;
	*ret_n = with_users ? 1 : 0;
	return with_users ? 0 : -ENOENT;
}

static int cfg_error(struct rd_host *h, const char *key, const char *fmt, ...)
{
	return -EINVAL;
}

static int normalize(struct rd_host *h, const char *uri, struct rd_name *ret, const char **ret_reason)
{
	const char *colon = strchr(uri, ':');
	size_t n = strcspn(uri, ";?");
	if (!colon || n > RD_NAME_MAX || n == 0) {
		*ret_reason = "bad";
		return n > RD_NAME_MAX ? -ENAMETOOLONG : -EINVAL;
	}
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->name, uri, n);
	const char *at = strchr(ret->name, '@');
	snprintf(ret->host, sizeof(ret->host), "%.*s", RD_HOST_MAX, at ? at + 1 : ret->name + (colon - uri) + 1);
	return 0;
}

static int resolve(struct rd_host *h, const char *name, rd_resolve_cb cb, void *ud)
{
	struct rd_binding b[3] = {
		{"sip:alice@192.0.2.1:5060", "urn:uuid:1", 1000, NOW + 100},
		{"sip:alice@192.0.2.2;transport=tcp", "c-0123", 500, NOW + 3600},
		{"sip:old@192.0.2.3", "c-4567", 900, NOW - 1},
	};
	cb(ud, 0, NOW, b, strcmp(name, "sip:alice@example.com") == 0 ? 3 : 0);
	return 0;
}

static int publish(struct rd_host *h, const struct rd_publication *pub, const char **ret_reason)
{
	if (!pub->name || !pub->contact || !pub->instance || !pub->instance[0] ||
	    strlen(pub->instance) > RD_INSTANCE_MAX || pub->q > RD_Q_MAX || pub->expires <= NOW)
		abort();
	if (pub->host && strcmp(pub->host, "forbidden.example") == 0) {
		*ret_reason = "policy";
		return -EACCES;
	}
	return 0;
}

static int unpublish(struct rd_host *h, const char *name, const char *instance)
{
	return 0;
}

static uint64_t now(struct rd_host *h)
{
	return NOW;
}

static struct rd_timer *timer_new(struct rd_host *h, rd_timer_cb cb, void *ud)
{
	timer = (struct rd_timer){cb, ud};
	return &timer;
}

static void timer_start(struct rd_timer *t, uint64_t ms, uint64_t repeat_ms)
{
}

static void timer_stop(struct rd_timer *t)
{
}

static void timer_free(struct rd_timer *t)
{
	t->cb = NULL;
}

static int udp_bind(struct rd_host *h, const char *ep, rd_recv_cb cb, void *ud, struct rd_sock **ret)
{
	socks[n_socks] = (struct rd_sock){.kind = 0, .cb = cb, .ud = ud};
	*ret = &socks[n_socks++];
	return 0;
}

/* the checks on every response the server sends */
static void check_response(const uint8_t *d, size_t len)
{
	if (len == 2 && memcmp(d, "\r\n", 2) == 0)
		return; /* a keep-alive pong */
	if (len < 16 || memcmp(d, "SIP/2.0 ", 8) != 0 || !isdigit(d[8]) || !isdigit(d[9]) || !isdigit(d[10]) ||
	    d[11] != ' ' || d[8] < '1' || d[8] > '6')
		abort();
	if (memcmp(d + len - 4, "\r\n\r\n", 4) != 0)
		abort();
	for (size_t i = 0; i < len; i++) {
		if (d[i] == '\r' && (i + 1 >= len || d[i + 1] != '\n'))
			abort();
		if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			abort();
		if (d[i] == '\n' && i + 2 < len && d[i + 1] == '\r' && i + 3 != len)
			abort(); /* a blank line before the end */
		if ((d[i] < 0x20 && d[i] != '\r' && d[i] != '\n' && d[i] != '\t') || d[i] == 0x7f)
			abort();
	}
	if (!memmem(d, len, "\r\nContent-Length: 0\r\n", 21))
		abort();
	n_sent++;
}

static int udp_send(struct rd_sock *s, const struct sockaddr *to, socklen_t to_len, const uint8_t *d, size_t len)
{
	if (s->kind != 0 || !to || to_len == 0)
		abort();
	check_response(d, len);
	return 0;
}

static int tcp_listen(struct rd_host *h, const char *ep, rd_accept_cb on_accept, rd_recv_cb on_data, void *ud,
		      struct rd_sock **ret)
{
	socks[n_socks] = (struct rd_sock){.kind = 1, .cb = on_data, .acb = on_accept, .ud = ud};
	*ret = &socks[n_socks++];
	return 0;
}

static int tcp_send(struct rd_sock *s, const uint8_t *d, size_t len)
{
	if (s->kind != 2 || s->closed)
		abort();
	check_response(d, len);
	return 0;
}

static void sock_close(struct rd_sock *s)
{
	s->closed = true;
}

static int sock_name(struct rd_sock *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	struct sockaddr_in *a = (struct sockaddr_in *)ret;
	memset(ret, 0, sizeof(*ret));
	a->sin_family = AF_INET;
	a->sin_port = htons(5060);
	a->sin_addr.s_addr = htonl(0x7f000001);
	*ret_len = sizeof(*a);
	return 0;
}

static const struct rd_host_api api = {
	.abi_major = RD_PLUGIN_ABI_MAJOR,
	.abi_minor = RD_PLUGIN_ABI_MINOR,
	.size = sizeof(struct rd_host_api),
	.log = fake_log,
	.config_string = cfg_string,
	.config_uint = cfg_uint,
	.config_bool = cfg_bool,
	.config_list = cfg_list,
	.config_keys = cfg_keys,
	.config_error = cfg_error,
	.normalize = normalize,
	.resolve = resolve,
	.publish = publish,
	.unpublish = unpublish,
	.now = now,
	.timer_new = timer_new,
	.timer_start = timer_start,
	.timer_stop = timer_stop,
	.timer_free = timer_free,
	.udp_bind = udp_bind,
	.udp_send = udp_send,
	.tcp_listen = tcp_listen,
	.tcp_send = tcp_send,
	.sock_close = sock_close,
	.sock_name = sock_name,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_registrar *r = NULL;
	struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(5070), .sin_addr.s_addr = htonl(0xc000020a)};
	n_socks = 0;
	n_sent = 0;
	with_users = size % 2 == 1;
	if (sip_registrar_new(&api, &host, &r) != 0 || !r || n_socks != 2)
		abort();
	struct rd_sock *u = &socks[0], *l = &socks[1];
	bool request = size >= 4 && memcmp(data, "SIP/", 4) != 0;
	u->cb(u->ud, u, (struct sockaddr *)&peer, sizeof(peer), data, size);
	u->cb(u->ud, u, (struct sockaddr *)&peer, sizeof(peer), data, size);
	if (n_sent > 0 && !request)
		abort();
	struct rd_sock *c = &socks[2];
	*c = (struct rd_sock){.kind = 2, .cb = l->cb};
	n_socks = 3;
	c->ud = l->acb(l->ud, c, (struct sockaddr *)&peer, sizeof(peer));
	c->closed = c->ud == NULL;
	/* as the host does: data only while open, a zero length only to say the peer closed */
	size_t cut = size / 3;
	if (!c->closed && cut > 0)
		c->cb(c->ud, c, (struct sockaddr *)&peer, sizeof(peer), data, cut);
	if (!c->closed && size > cut)
		c->cb(c->ud, c, (struct sockaddr *)&peer, sizeof(peer), data + cut, size - cut);
	for (int i = 0; i < 70 && timer.cb; i++)
		timer.cb(timer.ud);
	if (!c->closed)
		c->cb(c->ud, c, (struct sockaddr *)&peer, sizeof(peer), NULL, 0);
	sip_registrar_free(r);
	return 0;
}

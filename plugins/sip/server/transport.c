/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SIP transports on the host's sockets: UDP datagrams, TCP streams framed by Content-Length, reply routing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/sip/server/sip_server.h"

/** One accepted TCP connection. Freed when its last reference goes. */
struct sip_conn {
	struct sip_conn *prev, *next; /**< the registrar's list of open connections */
	struct sip_registrar *r;      /**< borrowed */
	struct rd_sock *sock;         /**< borrowed from the host; NULL once closed */
	unsigned refs;                /**< the open list's, plus one per transaction */
	uint8_t *buf;                 /**< owned: bytes of an incomplete message */
	size_t len, cap;
	uint64_t last_tick;           /**< the sweep tick of the last data */
	struct sockaddr_storage peer;
	socklen_t peer_len;
};

void conn_ref(struct sip_conn *c)
{
	c->refs++;
}

void conn_unref(struct sip_conn *c)
{
	if (--c->refs > 0)
		return;
	free(c->buf);
	free(c);
}

/** Forget an open connection: out of the list, no more data. Does not close the socket. */
static void conn_drop(struct sip_conn *c)
{
	struct sip_registrar *r = c->r;
	if (!c->sock)
		return;
	c->sock = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		r->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	r->n_conns--;
	conn_unref(c);
}

static void conn_close(struct sip_conn *c)
{
	struct rd_sock *s = c->sock;
	struct sip_registrar *r = c->r;
	conn_drop(c);
	r->api->sock_close(s);
}

void transport_send(struct sip_registrar *r, const struct sip_dest *d, const char *data, size_t len)
{
	int rc;
	if (d->conn) {
		if (!d->conn->sock)
			return;
		rc = r->api->tcp_send(d->conn->sock, (const uint8_t *)data, len);
	} else {
		rc = r->api->udp_send(d->udp, (const struct sockaddr *)&d->addr, d->addr_len, (const uint8_t *)data,
				      len);
	}
	if (rc < 0)
		SIP_LOG(r, RD_LOG_DEBUG, "sending a response failed: %s", strerror(-rc));
}

static void on_udp(void *ud, struct rd_sock *s, const struct sockaddr *peer, socklen_t peer_len,
		   const uint8_t *data, size_t len)
{
	struct sip_registrar *r = ud;
	struct sip_dest d = {.udp = s};
	if (peer_len > sizeof(d.src) || len == 0)
		return;
	memcpy(&d.src, peer, peer_len);
	d.src_len = peer_len;
	server_input(r, &d, data, len);
}

static void *on_accept(void *ud, struct rd_sock *s, const struct sockaddr *peer, socklen_t peer_len)
{
	struct sip_registrar *r = ud;
	struct sip_conn *c = NULL;
	if (r->n_conns < SIP_MAX_CONNS && peer_len <= sizeof(c->peer))
		c = calloc(1, sizeof(*c));
	if (!c) {
		r->api->sock_close(s);
		return NULL;
	}
	c->r = r;
	c->sock = s;
	c->refs = 1;
	c->last_tick = r->ticks;
	memcpy(&c->peer, peer, peer_len);
	c->peer_len = peer_len;
	c->next = r->conns;
	if (r->conns)
		r->conns->prev = c;
	r->conns = c;
	r->n_conns++;
	return c;
}

/** Take every whole message off the front of c->buf. @return false if the connection was closed. */
static bool conn_process(struct sip_conn *c)
{
	struct sip_registrar *r = c->r;
	size_t off = 0;
	bool open = true;
	while (off < c->len && c->sock) {
		if (c->len - off >= 4 && memcmp(c->buf + off, "\r\n\r\n", 4) == 0) {
			/* RFC 5626 keep-alive ping: answer with a pong */
			r->api->tcp_send(c->sock, (const uint8_t *)"\r\n", 2);
			off += 4;
			continue;
		}
		if (c->buf[off] == '\r' || c->buf[off] == '\n') {
			size_t k = off;
			while (k < c->len && k - off < 4 && (c->buf[k] == '\r' || c->buf[k] == '\n'))
				k++;
			if (k == c->len && k - off < 4)
				break; /* maybe a ping still arriving */
			off++;
			continue;
		}
		size_t mlen;
		int rc = msg_frame(c->buf + off, c->len - off, &mlen);
		if (rc == -EAGAIN)
			break;
		if (rc < 0) {
			SIP_LOG(r, RD_LOG_DEBUG, "closing a TCP connection: %s",
				rc == -EMSGSIZE ? "message too large" : "bad Content-Length");
			conn_close(c);
			open = false;
			break;
		}
		struct sip_dest d = {.conn = c, .src_len = c->peer_len};
		memcpy(&d.src, &c->peer, c->peer_len);
		server_input(r, &d, c->buf + off, mlen);
		off += mlen;
	}
	if (off > 0 && c->buf) {
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
	return open && c->sock;
}

static void on_tcp(void *ud, struct rd_sock *s, const struct sockaddr *peer, socklen_t peer_len,
		   const uint8_t *data, size_t len)
{
	struct sip_conn *c = ud;
	(void)s, (void)peer, (void)peer_len;
	if (!c || !c->sock)
		return;
	if (len == 0) {
		conn_drop(c);
		return;
	}
	conn_ref(c);
	c->last_tick = c->r->ticks;
	while (len > 0 && c->sock) {
		size_t room = 2 * SIP_MAX_MSG - c->len;
		size_t n = len < room ? len : room;
		if (c->len + n > c->cap) {
			size_t cap = c->len + n < SIP_MAX_MSG / 4 ? SIP_MAX_MSG / 4 : 2 * SIP_MAX_MSG;
			uint8_t *b = realloc(c->buf, cap);
			if (!b) {
				conn_close(c);
				break;
			}
			c->buf = b;
			c->cap = cap;
		}
		memcpy(c->buf + c->len, data, n);
		c->len += n;
		data += n;
		len -= n;
		if (!conn_process(c))
			break;
	}
	if (c->sock && c->len == 0 && c->cap > SIP_MAX_MSG / 4) {
		free(c->buf);
		c->buf = NULL;
		c->cap = 0;
	}
	conn_unref(c);
}

void transport_tick(struct sip_registrar *r)
{
	for (struct sip_conn *c = r->conns, *next; c; c = next) {
		next = c->next;
		uint64_t idle = r->ticks - c->last_tick;
		if (idle > (c->len > 0 ? SIP_TCP_PARTIAL_TICKS : SIP_TCP_IDLE_TICKS))
			conn_close(c);
	}
}

/** The host part of "ADDR:PORT" or "[V6]:PORT". @return owned, or NULL. */
static char *endpoint_host(const char *ep)
{
	if (ep[0] == '[') {
		const char *e = strchr(ep, ']');
		return e ? strndup(ep + 1, (size_t)(e - ep - 1)) : NULL;
	}
	const char *c = strrchr(ep, ':');
	return c ? strndup(ep, (size_t)(c - ep)) : strdup(ep);
}

static int add_listener(struct sip_registrar *r, struct rd_sock *s)
{
	struct rd_sock **v = realloc(r->listeners, (r->n_listeners + 1) * sizeof(*v));
	if (!v) {
		r->api->sock_close(s);
		return -ENOMEM;
	}
	r->listeners = v;
	r->listeners[r->n_listeners++] = s;
	return 0;
}

int transport_open(struct sip_registrar *r, const char *const *endpoints, size_t n)
{
	const struct rd_host_api *api = r->api;
	r->self_hosts = calloc(n ? n : 1, sizeof(*r->self_hosts));
	if (!r->self_hosts)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct rd_sock *s = NULL;
		r->self_hosts[r->n_self] = endpoint_host(endpoints[i]);
		if (r->self_hosts[r->n_self])
			r->n_self++;
		int rc = api->udp_bind(r->host, endpoints[i], on_udp, r, &s);
		if (rc == 0)
			rc = add_listener(r, s);
		if (rc == 0)
			rc = api->tcp_listen(r->host, endpoints[i], on_accept, on_tcp, r, &s);
		if (rc == 0)
			rc = add_listener(r, s);
		if (rc < 0)
			return api->config_error(r->host, "listen", "%s: %s", endpoints[i], strerror(-rc));
		SIP_LOG(r, RD_LOG_INFO, "SIP registrar and redirect server on %s (UDP and TCP)", endpoints[i]);
	}
	return 0;
}

void transport_close(struct sip_registrar *r)
{
	while (r->conns)
		conn_close(r->conns);
	for (size_t i = 0; i < r->n_listeners; i++)
		r->api->sock_close(r->listeners[i]);
	free(r->listeners);
	r->listeners = NULL;
	r->n_listeners = 0;
	for (size_t i = 0; i < r->n_self; i++)
		free(r->self_hosts[i]);
	free(r->self_hosts);
	r->self_hosts = NULL;
	r->n_self = 0;
}

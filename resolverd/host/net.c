/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The network half of the plugin host API: timers, UDP and TCP sockets on libuv, and DNS queries through c-ares. */
#include "resolverd/host/host.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <libknot/libknot.h>
#include <uv.h>

#include "resolverd/core/log.h"

/*
 * DESIGN
 * Everything here runs on the loop thread. Each timer, socket and DNS query a
 * plugin opens embeds a struct host_link and sits in one of its rd_host's
 * lists while the plugin may still see it; host_res_release() unlinks every
 * one, closes its libuv handles and drops its callbacks, so no plugin code
 * runs afterwards. Memory is freed in the libuv close callbacks (which never
 * touch the rd_host of an unlinked resource), so a release is safe while
 * closes are pending: loop_deinit() runs the loop once more to finish them.
 *
 * Timers are bare uv_timers. A socket (struct rd_sock) is a UDP socket, a TCP
 * listener or an accepted TCP connection; a connection has a second handle,
 * a uv_timer that is by turns its idle timeout, the deferred report of a
 * failure, and the limit on a graceful close. A connection that fails (EOF,
 * read or write error, idle timeout, over NET_TCP_QUEUE_MAX queued) gets
 * on_data(len 0) once and is then freed; a failure found inside tcp_send()
 * is reported from the timer, on a later loop iteration, so the plugin never
 * sees a callback from inside its own call. Received bytes are borrowed from
 * one static buffer: reads happen one at a time on the loop thread.
 *
 * dns_query() uses one c-ares channel per daemon (struct host_net), driven
 * like dns/forward.c's: a uv_poll per socket c-ares asks us to watch and one
 * uv_timer following ares_timeout(). Unlike the forwarder we let c-ares check
 * rcodes (no ARES_FLAG_NOCHECKRESP), so SERVFAIL moves on to the next server
 * and NXDOMAIN arrives as a status. A query whose plugin is released stays
 * alive until c-ares finishes it, detached (callback NULL).
 */

#define NET_TRIES 2                         /* c-ares tries per server */
#define NET_RX_MAX 65536                    /* receive buffer: the largest UDP datagram */
#define NET_TCP_BACKLOG 128                 /* listen() backlog */
#define NET_TCP_QUEUE_MAX (1024u * 1024u)   /* bytes queued unsent on a connection before it is closed */
/* The unit test builds this file with smaller values for these three. */
#ifndef NET_TCP_MAX_CONNS
#define NET_TCP_MAX_CONNS 1024              /* open connections per listener; more are accepted and closed */
#endif
#ifndef NET_TCP_IDLE_MS
#define NET_TCP_IDLE_MS (300u * 1000u)      /* a connection that receives nothing for this long fails */
#endif
#ifndef NET_TCP_LINGER_MS
#define NET_TCP_LINGER_MS (10u * 1000u)     /* longest wait for queued data to flush on sock_close() */
#endif
#define NET_MAX_ADDRS 64                    /* most A/AAAA records returned by one dns_query() */

#define CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- lists ---- */

static void link_head_init(struct host_link *head)
{
	head->prev = head->next = head;
}

static void link_add(struct host_link *head, struct host_link *l)
{
	l->next = head->next;
	l->prev = head;
	head->next->prev = l;
	head->next = l;
}

/** Unlink @p l; a no-op when it is not linked. */
static void link_del(struct host_link *l)
{
	if (!l->next)
		return;
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = NULL;
}

/* ---- endpoints ---- */

/** Parse "a.b.c.d:PORT" or "[IPv6]:PORT", PORT 0..65535. @return 0 or -EINVAL. */
static int parse_endpoint(const char *text, struct sockaddr_storage *ret)
{
	struct sockaddr_storage ss = {0};
	char host[INET6_ADDRSTRLEN + 16];
	const char *start = text, *end, *port;
	unsigned long v = 0;
	int rc;

	if (!text)
		return -EINVAL;
	if (text[0] == '[') {
		start++;
		end = strchr(start, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		port = end + 2;
	} else {
		end = strchr(text, ':');
		if (!end || strchr(end + 1, ':'))
			return -EINVAL;
		port = end + 1;
	}
	if (end == start || (size_t)(end - start) >= sizeof(host) || !*port || strlen(port) > 5)
		return -EINVAL;
	for (const char *p = port; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535)
		return -EINVAL;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	if (text[0] == '[')
		rc = uv_ip6_addr(host, (int)v, (struct sockaddr_in6 *)&ss);
	else
		rc = uv_ip4_addr(host, (int)v, (struct sockaddr_in *)&ss);
	if (rc < 0)
		return -EINVAL;
	*ret = ss;
	return 0;
}

static socklen_t sockaddr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* ---- timers ---- */

/** A plugin's timer. */
struct rd_timer {
	struct host_link link; /**< in rd_host.timers; unlinked by timer_free() or a release */
	uv_timer_t uv;         /**< data points back here; memory freed in its close callback */
	rd_timer_cb cb;        /**< the plugin's callback */
	void *ud;              /**< its argument, borrowed */
};

static void on_timer_closed(uv_handle_t *handle)
{
	free(handle->data);
}

static void on_timer(uv_timer_t *uv)
{
	struct rd_timer *t = uv->data;

	t->cb(t->ud);
}

static struct rd_timer *net_timer_new(struct rd_host *h, rd_timer_cb cb, void *ud)
{
	struct rd_timer *t;

	if (!h || !cb)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	uv_timer_init(&h->loop->uv, &t->uv); /* cannot fail on a live loop */
	t->uv.data = t;
	t->cb = cb;
	t->ud = ud;
	link_add(&h->timers, &t->link);
	return t;
}

static void net_timer_start(struct rd_timer *t, uint64_t ms, uint64_t repeat_ms)
{
	if (t)
		uv_timer_start(&t->uv, on_timer, ms, repeat_ms);
}

static void net_timer_stop(struct rd_timer *t)
{
	if (t)
		uv_timer_stop(&t->uv);
}

/** Unlink and close; the memory goes in the close callback, so this is safe from the timer's own callback. */
static void timer_close(struct rd_timer *t)
{
	link_del(&t->link);
	uv_close((uv_handle_t *)&t->uv, on_timer_closed);
}

static void net_timer_free(struct rd_timer *t)
{
	if (t)
		timer_close(t);
}

/* ---- sockets ---- */

enum sock_kind { KIND_UDP, KIND_LISTENER, KIND_CONN };

/** A UDP socket, a TCP listener or a TCP connection. */
struct rd_sock {
	struct host_link link;      /**< in rd_host.socks until closed for good or released */
	struct rd_host *h;          /**< borrowed; used only while linked */
	enum sock_kind kind;
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_udp_t udp;
		uv_tcp_t tcp;
	} uv;                       /**< data points back here */
	uv_timer_t timer;           /**< KIND_CONN: idle, deferred failure, close limit; data points back here */
	uv_shutdown_t shutdown;     /**< KIND_CONN: the graceful close of sock_close() */
	unsigned handles;           /**< libuv handles not yet closed; the memory goes at 0 */
	rd_recv_cb on_data;         /**< the plugin's data callback */
	rd_accept_cb on_accept;     /**< KIND_LISTENER: the plugin's accept callback */
	void *ud;                   /**< their argument, borrowed */
	struct rd_sock *listener;   /**< KIND_CONN: the listener counting it, NULL once it no longer does */
	unsigned n_conns;           /**< KIND_LISTENER: connections counted */
	bool closing;               /**< closed by the plugin or by us: no plugin callback any more */
	bool failed;                /**< KIND_CONN: broken, on_data(len 0) is due */
	struct sockaddr_storage peer; /**< KIND_CONN: the remote address */
	socklen_t peer_len;
};

/** A queued TCP write, with its copy of the data. */
struct net_write {
	uv_write_t req;
	uv_buf_t buf;
	char data[];
};

/* Loop thread only: one read at a time, and the data is borrowed for the callback only. */
static uint8_t rx_buf[NET_RX_MAX];

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	buf->base = (char *)rx_buf;
	buf->len = sizeof(rx_buf);
}

static void on_sock_closed(uv_handle_t *handle)
{
	struct rd_sock *s = handle->data;

	if (--s->handles > 0)
		return;
	link_del(&s->link);
	free(s);
}

static struct rd_sock *sock_new(struct rd_host *h, enum sock_kind kind, void *ud)
{
	struct rd_sock *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->h = h;
	s->kind = kind;
	s->ud = ud;
	s->uv.handle.data = s;
	s->timer.data = s;
	return s;
}

/** Stop counting connection @p s against its listener. */
static void conn_unlisten(struct rd_sock *s)
{
	if (s->listener) {
		s->listener->n_conns--;
		s->listener = NULL;
	}
}

/** Close every handle of @p s now, dropping unsent data; idempotent. No callback runs. */
static void sock_abort(struct rd_sock *s)
{
	s->closing = true;
	link_del(&s->link);
	if (s->kind == KIND_CONN) {
		conn_unlisten(s);
		if (!uv_is_closing((uv_handle_t *)&s->timer))
			uv_close((uv_handle_t *)&s->timer, on_sock_closed);
	}
	if (!uv_is_closing(&s->uv.handle))
		uv_close(&s->uv.handle, on_sock_closed);
}

/** Tell the plugin connection @p s is gone (on_data, len 0), then free it. */
static void conn_fail(struct rd_sock *s)
{
	s->failed = true;
	uv_read_stop(&s->uv.stream);
	if (!s->closing) {
		s->closing = true;
		s->on_data(s->ud, s, (const struct sockaddr *)&s->peer, s->peer_len, (const uint8_t *)"", 0);
	}
	sock_abort(s);
}

static void on_conn_timer(uv_timer_t *timer)
{
	struct rd_sock *s = timer->data;

	if (s->closing)
		sock_abort(s); /* the graceful close took too long */
	else
		conn_fail(s); /* idle, or a failure found in tcp_send() */
}

/** Mark @p s failed and report it from the timer, on a later loop iteration. */
static void conn_defer_fail(struct rd_sock *s)
{
	s->failed = true;
	uv_read_stop(&s->uv.stream);
	uv_timer_start(&s->timer, on_conn_timer, 0, 0);
}

/* The plugin's configured idle limit, or the default. */
static uint64_t idle_ms(const struct rd_host *h)
{
	return h->tcp_idle_timeout_ms ? h->tcp_idle_timeout_ms : NET_TCP_IDLE_MS;
}

static void on_conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct rd_sock *s = stream->data;

	if (s->closing || s->failed || nread == 0)
		return;
	if (nread < 0) {
		conn_fail(s);
		return;
	}
	uv_timer_start(&s->timer, on_conn_timer, idle_ms(s->h), 0);
	s->on_data(s->ud, s, (const struct sockaddr *)&s->peer, s->peer_len, (const uint8_t *)buf->base,
		   (size_t)nread);
}

static void on_refused_closed(uv_handle_t *handle)
{
	free(handle);
}

/** Accept the pending connection on @p server and close it at once. */
static void refuse(uv_stream_t *server)
{
	uv_tcp_t *t = malloc(sizeof(*t));

	if (!t) {
		log_warn("host", "cannot refuse a connection: out of memory");
		return;
	}
	uv_tcp_init(server->loop, t);
	uv_accept(server, (uv_stream_t *)t);
	uv_close((uv_handle_t *)t, on_refused_closed);
}

/** Accept the pending connection on listener @p l into a new, unlinked rd_sock. @return it or NULL. */
static struct rd_sock *conn_accept(struct rd_sock *l)
{
	struct rd_sock *s = sock_new(l->h, KIND_CONN, l->ud);
	int len = sizeof(s->peer);

	if (!s) {
		refuse(&l->uv.stream); /* an unaccepted connection would stall the listener */
		return NULL;
	}
	uv_tcp_init(l->uv.handle.loop, &s->uv.tcp);
	uv_timer_init(l->uv.handle.loop, &s->timer);
	s->handles = 2;
	if (uv_accept(&l->uv.stream, &s->uv.stream) < 0 ||
	    uv_tcp_getpeername(&s->uv.tcp, (struct sockaddr *)&s->peer, &len) < 0) {
		sock_abort(s);
		return NULL;
	}
	s->peer_len = (socklen_t)len;
	s->on_data = l->on_data;
	return s;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct rd_sock *l = server->data, *s;

	if (status < 0 || l->closing)
		return;
	if (l->n_conns >= (l->h->tcp_max_connections ? l->h->tcp_max_connections : NET_TCP_MAX_CONNS)) {
		refuse(server);
		return;
	}
	s = conn_accept(l);
	if (!s)
		return;
	s->listener = l;
	l->n_conns++;
	link_add(&l->h->socks, &s->link);
	uv_timer_start(&s->timer, on_conn_timer, idle_ms(l->h), 0);
	s->ud = l->on_accept(l->ud, s, (const struct sockaddr *)&s->peer, s->peer_len);
	if (!s->closing && uv_read_start(&s->uv.stream, on_alloc, on_conn_read) < 0)
		conn_defer_fail(s);
}

static void on_udp_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
			unsigned flags)
{
	struct rd_sock *s = udp->data;

	/* nread 0 with no address: nothing more to read; a truncated datagram is dropped. */
	if (nread <= 0 || !addr || (flags & UV_UDP_PARTIAL) || s->closing)
		return;
	s->on_data(s->ud, s, addr, sockaddr_len(addr), (const uint8_t *)buf->base, (size_t)nread);
}

/** Bind and start a new socket of @p kind. @return 0 and *ret (linked), -EINVAL, -errno. */
static int sock_open(struct rd_host *h, enum sock_kind kind, const char *endpoint, void *ud, struct rd_sock **ret)
{
	struct sockaddr_storage ss;
	struct rd_sock *s;
	int rc;

	rc = parse_endpoint(endpoint, &ss);
	if (rc < 0)
		return rc;
	s = sock_new(h, kind, ud);
	if (!s)
		return -ENOMEM;
	rc = kind == KIND_UDP ? uv_udp_init(&h->loop->uv, &s->uv.udp) : uv_tcp_init(&h->loop->uv, &s->uv.tcp);
	if (rc < 0) {
		free(s);
		return rc;
	}
	s->handles = 1;
	if (kind == KIND_UDP) {
		rc = uv_udp_bind(&s->uv.udp, (const struct sockaddr *)&ss, 0);
		if (rc == 0)
			rc = uv_udp_recv_start(&s->uv.udp, on_alloc, on_udp_recv);
	} else {
		rc = uv_tcp_bind(&s->uv.tcp, (const struct sockaddr *)&ss, 0);
		if (rc == 0)
			rc = uv_listen(&s->uv.stream, NET_TCP_BACKLOG, on_connection);
	}
	if (rc < 0) {
		sock_abort(s);
		return rc;
	}
	link_add(&h->socks, &s->link);
	*ret = s;
	return 0;
}

static int net_udp_bind(struct rd_host *h, const char *endpoint, rd_recv_cb cb, void *ud, struct rd_sock **ret)
{
	struct rd_sock *s;
	int rc;

	if (!h || !cb || !ret)
		return -EINVAL;
	rc = sock_open(h, KIND_UDP, endpoint, ud, &s);
	if (rc < 0)
		return rc;
	s->on_data = cb;
	*ret = s;
	return 0;
}

static int net_udp_send(struct rd_sock *s, const struct sockaddr *to, socklen_t to_len, const uint8_t *data,
			size_t len)
{
	uv_buf_t buf;
	int rc;

	if (!s || s->kind != KIND_UDP || !to || (!data && len) ||
	    (to->sa_family != AF_INET && to->sa_family != AF_INET6) || to_len < sockaddr_len(to))
		return -EINVAL;
	if (len > NET_RX_MAX)
		return -EMSGSIZE;
	if (s->closing)
		return -EPIPE;
	buf = uv_buf_init((char *)(uintptr_t)data, (unsigned)len);
	rc = uv_udp_try_send(&s->uv.udp, &buf, 1, to);
	return rc < 0 ? rc : 0; /* UV_EAGAIN is -EAGAIN on Unix */
}

static int net_tcp_listen(struct rd_host *h, const char *endpoint, rd_accept_cb on_accept, rd_recv_cb on_data,
			  void *ud, struct rd_sock **ret)
{
	struct rd_sock *s;
	int rc;

	if (!h || !on_accept || !on_data || !ret)
		return -EINVAL;
	rc = sock_open(h, KIND_LISTENER, endpoint, ud, &s);
	if (rc < 0)
		return rc;
	s->on_accept = on_accept;
	s->on_data = on_data;
	*ret = s;
	return 0;
}

static void on_write_done(uv_write_t *req, int status)
{
	struct net_write *w = CONTAINER_OF(req, struct net_write, req);
	struct rd_sock *s = req->handle->data;

	free(w);
	if (status < 0 && !s->closing && !s->failed)
		conn_defer_fail(s);
}

static int net_tcp_send(struct rd_sock *s, const uint8_t *data, size_t len)
{
	struct net_write *w;

	if (!s || s->kind != KIND_CONN || (!data && len))
		return -EINVAL;
	if (s->closing || s->failed)
		return -EPIPE;
	if (len == 0)
		return 0;
	if (len > NET_TCP_QUEUE_MAX || uv_stream_get_write_queue_size(&s->uv.stream) + len > NET_TCP_QUEUE_MAX) {
		conn_defer_fail(s);
		return -ENOBUFS;
	}
	w = malloc(sizeof(*w) + len);
	if (!w)
		return -ENOMEM;
	memcpy(w->data, data, len);
	w->buf = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(&w->req, &s->uv.stream, &w->buf, 1, on_write_done) < 0) {
		free(w);
		conn_defer_fail(s);
		return -EPIPE;
	}
	return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	sock_abort(req->handle->data);
}

/** Close connection @p s once its queued data is sent, within NET_TCP_LINGER_MS. */
static void conn_close(struct rd_sock *s)
{
	s->closing = true;
	conn_unlisten(s);
	if (s->failed) {
		sock_abort(s);
		return;
	}
	uv_read_stop(&s->uv.stream);
	if (uv_shutdown(&s->shutdown, &s->uv.stream, on_shutdown) < 0) {
		sock_abort(s);
		return;
	}
	/* Still linked: a release aborts it; the timer bounds a peer that never reads. */
	uv_timer_start(&s->timer, on_conn_timer, NET_TCP_LINGER_MS, 0);
}

static void net_sock_close(struct rd_sock *s)
{
	if (!s || s->closing)
		return;
	if (s->kind == KIND_CONN) {
		conn_close(s);
		return;
	}
	if (s->kind == KIND_LISTENER) {
		/* Its connections live on, uncounted. */
		for (struct host_link *l = s->h->socks.next; l != &s->h->socks; l = l->next) {
			struct rd_sock *c = CONTAINER_OF(l, struct rd_sock, link);

			if (c->listener == s)
				c->listener = NULL;
		}
	}
	sock_abort(s);
}

static int net_sock_name(struct rd_sock *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss), rc;

	if (!s || !ret || !ret_len)
		return -EINVAL;
	if (s->kind == KIND_UDP)
		rc = uv_udp_getsockname(&s->uv.udp, (struct sockaddr *)&ss, &len);
	else
		rc = uv_tcp_getsockname(&s->uv.tcp, (struct sockaddr *)&ss, &len);
	if (rc < 0)
		return rc;
	*ret = ss;
	*ret_len = (socklen_t)len;
	return 0;
}

/* ---- c-ares on the loop ---- */

/** A socket c-ares asked us to watch. */
struct net_watch {
	uv_poll_t poll;          /**< data points back here; memory freed in its close callback */
	ares_socket_t fd;        /**< owned by c-ares */
	struct host_net *net;    /**< the owner */
	struct net_watch *next;  /**< the owner's list */
};

struct host_net {
	struct rd_loop *loop;       /**< borrowed */
	ares_channel channel;       /**< owned */
	uv_timer_t timer;           /**< follows ares_timeout(); data points back here */
	struct net_watch *watches;  /**< owned (memory freed by close callbacks) */
	unsigned open_handles;      /**< the timer plus every poll not yet closed */
	bool closing;               /**< host_net_free() has started */
};

/** A DNS query in flight. */
struct net_query {
	struct host_link link; /**< in rd_host.queries while the plugin waits for it */
	struct loop_job job;   /**< reports a failure c-ares gave before ares_query() returned */
	rd_dns_cb cb;          /**< the plugin's callback; NULL once detached */
	void *ud;              /**< its argument, borrowed */
	uint16_t type;         /**< enum rd_dns_type */
	bool submitting;       /**< inside ares_query() */
	int early_status;      /**< -errno c-ares reported while submitting; 1: none */
};

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_lib_status = ARES_SUCCESS;

static void ares_lib_init(void)
{
	ares_lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static void net_handle_released(struct host_net *net)
{
	if (--net->open_handles == 0 && net->closing)
		free(net);
}

static void on_net_timer_closed(uv_handle_t *handle)
{
	net_handle_released(handle->data);
}

static void on_watch_closed(uv_handle_t *handle)
{
	struct net_watch *w = handle->data;
	struct host_net *net = w->net;

	free(w);
	net_handle_released(net);
}

static void on_net_timer(uv_timer_t *timer);

/** Arm the timer for c-ares' next timeout, or stop it when nothing is pending. */
static void net_timer_update(struct host_net *net)
{
	struct timeval tv;

	if (net->closing)
		return;
	if (!ares_timeout(net->channel, NULL, &tv)) {
		uv_timer_stop(&net->timer);
		return;
	}
	/* Round up, or an early wake-up finds nothing due and spins. */
	uv_timer_start(&net->timer, on_net_timer, (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000,
		       0);
}

static void on_net_timer(uv_timer_t *timer)
{
	struct host_net *net = timer->data;

	ares_process_fd(net->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	net_timer_update(net);
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
	struct net_watch *w = poll->data;
	struct host_net *net = w->net;

	/* On an error let c-ares read and write, so that it sees the error itself. */
	ares_process_fd(net->channel, status < 0 || (events & UV_READABLE) ? w->fd : ARES_SOCKET_BAD,
			status < 0 || (events & UV_WRITABLE) ? w->fd : ARES_SOCKET_BAD);
	net_timer_update(net);
}

static void watch_close(struct host_net *net, struct net_watch *w)
{
	struct net_watch **p = &net->watches;

	while (*p != w)
		p = &(*p)->next;
	*p = w->next;
	uv_close((uv_handle_t *)&w->poll, on_watch_closed);
}

/** c-ares' socket-state callback: watch @p fd for what it asks, or stop (both 0: it is closing). */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct host_net *net = data;
	struct net_watch *w = net->watches;

	while (w && w->fd != fd)
		w = w->next;
	if (!readable && !writable) {
		if (w)
			watch_close(net, w);
		return;
	}
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (w && uv_poll_init_socket(&net->loop->uv, &w->poll, fd) < 0) {
			free(w);
			w = NULL;
		}
		if (w) {
			w->poll.data = w;
			w->fd = fd;
			w->net = net;
			w->next = net->watches;
			net->watches = w;
			net->open_handles++;
			uv_unref((uv_handle_t *)&w->poll); /* idle STAYOPEN sockets must not keep the loop alive */
		}
	}
	if (!w || uv_poll_start(&w->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), on_poll) < 0)
		/* Nothing to return the error to: the query times out through the timer. */
		log_warn("host", "cannot watch DNS socket %d", (int)fd);
}

/* ---- dns_query ---- */

/** A c-ares status as plugin.h's rd_dns_cb status. */
static int status_to_errno(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
		return -ENOENT;
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

/** Strip the trailing dot of a name c-ares expanded (it gives none, but be sure). */
static char *strip_dot(char *name)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		name[n - 1] = '\0';
	return name;
}

/**
 * The TTLs of the IN records of @p type in the answer section of @p abuf, in
 * order; c-ares 1.18's SRV and NAPTR parsers, which pick the same records,
 * drop them. @return 0 (exactly @p n found), -EIO, -ENOMEM.
 */
static int answer_ttls(const unsigned char *abuf, int alen, uint16_t type, uint32_t *ttls, size_t n)
{
	const knot_pktsection_t *an;
	knot_pkt_t *pkt;
	size_t found = 0;
	int rc;

	if (alen <= 0 || alen > KNOT_WIRE_MAX_PKTSIZE)
		return -EIO;
	/* KEEPWIRE: libknot only reads the wire. */
	pkt = knot_pkt_new((uint8_t *)(uintptr_t)abuf, (uint16_t)alen, NULL);
	if (!pkt)
		return -ENOMEM;
	rc = knot_pkt_parse(pkt, KNOT_PF_KEEPWIRE);
	an = knot_pkt_section(pkt, KNOT_ANSWER);
	for (uint16_t i = 0; (rc == KNOT_EOK || rc == KNOT_ETRAIL) && i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);

		if (rr->type != type || rr->rclass != KNOT_CLASS_IN)
			continue;
		if (found < n)
			ttls[found] = rr->ttl;
		found++;
	}
	knot_pkt_free(pkt);
	return (rc == KNOT_EOK || rc == KNOT_ETRAIL) && found == n ? 0 : -EIO;
}

/** Parse A or AAAA records into @p rrs (NET_MAX_ADDRS). @return the count, or -errno. */
static int parse_addrs(const unsigned char *abuf, int alen, uint16_t type, struct rd_dns_rr *rrs)
{
	struct ares_addrttl a[NET_MAX_ADDRS];
	struct ares_addr6ttl aaaa[NET_MAX_ADDRS];
	int n = NET_MAX_ADDRS, rc;

	if (type == RD_DNS_A)
		rc = ares_parse_a_reply(abuf, alen, NULL, a, &n);
	else
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, aaaa, &n);
	if (rc != ARES_SUCCESS)
		return status_to_errno(rc);
	for (int i = 0; i < n; i++) {
		rrs[i].type = type;
		rrs[i].ttl = (uint32_t)(type == RD_DNS_A ? a[i].ttl : aaaa[i].ttl);
		if (type == RD_DNS_A)
			inet_ntop(AF_INET, &a[i].ipaddr, rrs[i].u.a.addr, sizeof(rrs[i].u.a.addr));
		else
			inet_ntop(AF_INET6, &aaaa[i].ip6addr, rrs[i].u.a.addr, sizeof(rrs[i].u.a.addr));
	}
	return n > 0 ? n : -ENOENT;
}

static void deliver_addrs(struct net_query *q, const unsigned char *abuf, int alen)
{
	struct rd_dns_rr *rrs = calloc(NET_MAX_ADDRS, sizeof(*rrs));
	int n = rrs ? parse_addrs(abuf, alen, q->type, rrs) : -EIO;

	if (n > 0)
		q->cb(q->ud, 0, rrs, (size_t)n);
	else
		q->cb(q->ud, n, NULL, 0);
	free(rrs);
}

/*
 * The records a c-ares parser found (@p rc its status, @p n of them), as
 * rd_dns_rr with their type and TTL set; the caller fills the rest.
 * @return 0 and *ret (owned), or the status to report (-ENOENT when n is 0).
 */
static int answer_rrs(int rc, size_t n, const unsigned char *abuf, int alen, uint16_t type,
		      struct rd_dns_rr **ret)
{
	if (rc == 0 && n == 0)
		rc = -ENOENT;
	if (rc < 0)
		return rc;
	struct rd_dns_rr *rrs = calloc(n, sizeof(*rrs));
	uint32_t *ttls = calloc(n, sizeof(*ttls));
	rc = rrs && ttls ? answer_ttls(abuf, alen, type, ttls, n) : -EIO;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rrs[i] = (struct rd_dns_rr){.type = type, .ttl = ttls[i]};
	free(ttls);
	if (rc < 0) {
		free(rrs);
		return rc;
	}
	*ret = rrs;
	return 0;
}

static void deliver_srv(struct net_query *q, const unsigned char *abuf, int alen)
{
	struct ares_srv_reply *list = NULL;
	struct rd_dns_rr *rrs = NULL;
	size_t n = 0, i = 0;
	int rc = status_to_errno(ares_parse_srv_reply(abuf, alen, &list));

	for (struct ares_srv_reply *r = list; r; r = r->next)
		n++;
	rc = answer_rrs(rc, n, abuf, alen, RD_DNS_SRV, &rrs);
	for (struct ares_srv_reply *r = list; rc == 0 && r; r = r->next, i++) {
		rrs[i].u.srv.priority = r->priority;
		rrs[i].u.srv.weight = r->weight;
		rrs[i].u.srv.port = r->port;
		rrs[i].u.srv.target = *strip_dot(r->host) ? r->host : ".";
	}
	q->cb(q->ud, rc, rc == 0 ? rrs : NULL, rc == 0 ? n : 0);
	free(rrs);
	ares_free_data(list);
}

static void deliver_naptr(struct net_query *q, const unsigned char *abuf, int alen)
{
	struct ares_naptr_reply *list = NULL;
	struct rd_dns_rr *rrs = NULL;
	size_t n = 0, i = 0;
	int rc = status_to_errno(ares_parse_naptr_reply(abuf, alen, &list));

	for (struct ares_naptr_reply *r = list; r; r = r->next)
		n++;
	rc = answer_rrs(rc, n, abuf, alen, RD_DNS_NAPTR, &rrs);
	for (struct ares_naptr_reply *r = list; rc == 0 && r; r = r->next, i++) {
		rrs[i].u.naptr.order = r->order;
		rrs[i].u.naptr.preference = r->preference;
		rrs[i].u.naptr.flags = (const char *)r->flags;
		rrs[i].u.naptr.service = (const char *)r->service;
		rrs[i].u.naptr.regexp = (const char *)r->regexp;
		/* The root ("" from c-ares, or ".") becomes "": none. */
		rrs[i].u.naptr.replacement = strip_dot(r->replacement);
	}
	q->cb(q->ud, rc, rc == 0 ? rrs : NULL, rc == 0 ? n : 0);
	free(rrs);
	ares_free_data(list);
}

/** ares_query() callback. */
static void on_dns_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct net_query *q = arg;

	if (q->submitting) {
		/* c-ares 1.18 has no answer cache: a call back this early is a failure. */
		q->early_status = status == ARES_SUCCESS ? -EIO
				  : status == ARES_ENOMEM ? -ENOMEM
				  : status == ARES_EBADNAME ? -EINVAL
							    : status_to_errno(status);
		return;
	}
	link_del(&q->link);
	if (q->cb && status != ARES_SUCCESS)
		q->cb(q->ud, status_to_errno(status), NULL, 0);
	else if (q->cb && (q->type == RD_DNS_A || q->type == RD_DNS_AAAA))
		deliver_addrs(q, abuf, alen);
	else if (q->cb && q->type == RD_DNS_SRV)
		deliver_srv(q, abuf, alen);
	else if (q->cb)
		deliver_naptr(q, abuf, alen);
	free(q);
}

/** The loop job reporting an early failure. */
static void on_early_job(struct loop_job *job, bool cancelled)
{
	struct net_query *q = CONTAINER_OF(job, struct net_query, job);

	link_del(&q->link);
	if (q->cb)
		q->cb(q->ud, cancelled ? -ECANCELED : q->early_status, NULL, 0);
	free(q);
}

/** @return 0, -EINVAL, -ENOMEM, -ECANCELED (host_net_free() has started). */
static int net_dns_query(struct rd_host *h, const char *name, enum rd_dns_type type, rd_dns_cb cb, void *ud)
{
	struct net_query *q;

	if (!h || !h->net || !name || !cb || strlen(name) > RD_HOST_MAX ||
	    (type != RD_DNS_A && type != RD_DNS_AAAA && type != RD_DNS_SRV && type != RD_DNS_NAPTR))
		return -EINVAL;
	if (h->net->closing)
		return -ECANCELED;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->cb = cb;
	q->ud = ud;
	q->type = (uint16_t)type;
	q->early_status = 1;
	q->submitting = true;
	ares_query(h->net->channel, name, KNOT_CLASS_IN, (int)type, on_dns_answer, q);
	q->submitting = false;
	if (q->early_status == -EINVAL || q->early_status == -ENOMEM) {
		int rc = q->early_status;

		free(q);
		return rc;
	}
	link_add(&h->queries, &q->link);
	if (q->early_status <= 0) {
		/* "Never before this returns": report it from the loop. */
		q->job.fn = on_early_job;
		loop_post(h->net->loop, &q->job);
		return 0;
	}
	net_timer_update(h->net);
	return 0;
}

/* ---- lifecycle ---- */

/** Point @p net's channel at conf->servers, in order. @return 0, -EINVAL, -ENOMEM, -EIO. */
static int set_servers(struct host_net *net, const struct host_net_conf *conf)
{
	struct ares_addr_port_node *nodes = calloc(conf->n_servers, sizeof(*nodes));
	int rc = 0;

	if (!nodes)
		return -ENOMEM;
	for (size_t i = 0; i < conf->n_servers && rc == 0; i++) {
		struct sockaddr_storage ss;
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

		rc = parse_endpoint(conf->servers[i], &ss);
		if (rc == 0 && sin->sin_port == 0)
			rc = -EINVAL;
		if (rc < 0)
			break;
		nodes[i].next = i + 1 < conf->n_servers ? &nodes[i + 1] : NULL;
		nodes[i].family = ss.ss_family;
		if (ss.ss_family == AF_INET)
			nodes[i].addr.addr4 = sin->sin_addr;
		else
			memcpy(&nodes[i].addr.addr6, &sin6->sin6_addr, sizeof(nodes[i].addr.addr6));
		nodes[i].udp_port = nodes[i].tcp_port = ntohs(sin->sin_port); /* same place in both */
	}
	if (rc == 0 && ares_set_servers_ports(net->channel, nodes) != ARES_SUCCESS)
		rc = -EIO;
	free(nodes);
	return rc;
}

static int channel_init(struct host_net *net, const struct host_net_conf *conf)
{
	struct ares_options opts = {
		.flags = ARES_FLAG_STAYOPEN,
		.timeout = (int)conf->timeout_ms,
		.tries = NET_TRIES,
		.sock_state_cb = on_sock_state,
		.sock_state_cb_data = net,
	};
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB | ARES_OPT_NOROTATE;
	int rc;

	pthread_once(&ares_once, ares_lib_init);
	if (ares_lib_status != ARES_SUCCESS)
		return -EIO;
	rc = ares_init_options(&net->channel, &opts, mask);
	if (rc != ARES_SUCCESS)
		return rc == ARES_ENOMEM ? -ENOMEM : -EIO;
	return 0;
}

int host_net_new(struct rd_loop *loop, const struct host_net_conf *conf, struct host_net **ret)
{
	struct host_net *net;
	int rc;

	if (!loop || !conf || !ret || (conf->n_servers && !conf->servers) || conf->timeout_ms == 0 ||
	    conf->timeout_ms > INT_MAX)
		return -EINVAL;
	net = calloc(1, sizeof(*net));
	if (!net)
		return -ENOMEM;
	net->loop = loop;
	rc = channel_init(net, conf);
	if (rc < 0)
		goto out_free_net;
	if (conf->n_servers > 0) {
		rc = set_servers(net, conf);
		if (rc < 0)
			goto out_destroy_channel;
	}
	uv_timer_init(&loop->uv, &net->timer); /* cannot fail on a live loop */
	net->timer.data = net;
	net->open_handles = 1;
	*ret = net;
	return 0;

out_destroy_channel:
	ares_destroy(net->channel);
out_free_net:
	free(net);
	return rc;
}

void host_net_free(struct host_net *net)
{
	if (!net)
		return;
	net->closing = true;
	/* Calls every pending query back (ARES_EDESTRUCTION: -ECANCELED) and reports each socket closed. */
	ares_destroy(net->channel);
	net->channel = NULL;
	while (net->watches)
		watch_close(net, net->watches);
	uv_timer_stop(&net->timer);
	uv_close((uv_handle_t *)&net->timer, on_net_timer_closed);
}

void host_res_init(struct rd_host *h)
{
	link_head_init(&h->timers);
	link_head_init(&h->socks);
	link_head_init(&h->queries);
}

void host_res_release(struct rd_host *h)
{
	while (h->timers.next != &h->timers)
		timer_close(CONTAINER_OF(h->timers.next, struct rd_timer, link));
	/* Unlink every connection from its listener first: they may go in any order. */
	for (struct host_link *l = h->socks.next; l != &h->socks; l = l->next)
		CONTAINER_OF(l, struct rd_sock, link)->listener = NULL;
	while (h->socks.next != &h->socks)
		sock_abort(CONTAINER_OF(h->socks.next, struct rd_sock, link));
	/* c-ares still owns them: they are freed when it calls back, without calling the plugin. */
	while (h->queries.next != &h->queries) {
		struct net_query *q = CONTAINER_OF(h->queries.next, struct net_query, link);

		link_del(&q->link);
		q->cb = NULL;
	}
}

void host_net_fill_api(struct rd_host_api *api)
{
	api->dns_query = net_dns_query;
	api->timer_new = net_timer_new;
	api->timer_start = net_timer_start;
	api->timer_stop = net_timer_stop;
	api->timer_free = net_timer_free;
	api->udp_bind = net_udp_bind;
	api->udp_send = net_udp_send;
	api->tcp_listen = net_tcp_listen;
	api->tcp_send = net_tcp_send;
	api->sock_close = net_sock_close;
	api->sock_name = net_sock_name;
}

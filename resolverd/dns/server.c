/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The DNS front end's I/O: UDP and TCP listeners on the loop, rate limiting, and the query pipeline. */
#include "resolverd/dns/server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "resolverd/core/acl.h"
#include "resolverd/core/log.h"
#include "resolverd/dns/forward.h"
#include "resolverd/dns/query.h"
#include "resolverd/dns/rrl.h"

static const char *const SUBSYS = "dns";

#define RBUF_SIZE (16 * 64 * 1024) /* recvmmsg: libuv reads up to 16 datagrams of 64 KiB per call */
#define LOOP_OPT_CODE 65431        /* an EDNS option code from the local/experimental range */
#define TCP_MAX_BUF (2 + DNS_MAX_MSG + 4096)
#define BATCH 16                   /* responses sent with one sendmmsg() */
#define BATCH_MSG 4096             /* the largest UDP response we batch (dns.edns_payload <= 4096) */

/*
 * Responses to one recvmmsg() batch, sent together with sendmmsg() when libuv
 * reports the end of the batch (UV_UDP_MMSG_FREE). Copies, because the query
 * struct's output buffer is reused by the next query of the batch.
 */
struct udp_batch {
	uv_udp_t *handle;   /**< the socket every queued response leaves from */
	unsigned n;
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage addr[BATCH];
	uint8_t data[BATCH][BATCH_MSG];
};

/* Listener handles point back to the server through data. */
struct udp_listener {
	uv_udp_t handle;
};

struct tcp_listener {
	uv_tcp_t handle;
};

/** One TCP client. Freed when both handles are closed and no pending query refers to it. */
struct tcp_conn {
	uv_tcp_t handle;
	uv_timer_t idle;
	struct dns_server *srv;
	uint8_t *buf;              /**< owned: bytes read, not yet a whole message */
	size_t len, cap;
	unsigned refs;             /**< pending queries that will answer on it */
	unsigned open_handles;     /**< 2 until closed */
	bool closing;
	struct tcp_conn *prev, *next;
};

enum transport { T_UDP, T_TCP, T_CALLBACK };

/** A query waiting for the DHT or an upstream. */
struct pending {
	struct dns_query q;
	struct dns_server *srv;
	enum transport t;
	uv_udp_t *udp;                  /**< T_UDP: the socket it came in on */
	struct sockaddr_storage client; /**< T_UDP: where to answer; all: for the forwarding ACL */
	struct tcp_conn *conn;          /**< T_TCP, referenced */
	dns_reply_cb cb;                /**< T_CALLBACK */
	void *ud;
	struct pending *prev, *next;
};

struct dns_server {
	struct rd_loop *loop;
	struct cache *cache;
	struct forward *fw;             /**< NULL when no upstream is configured */
	struct dns_conf conf;
	struct dns_zone *zones;         /**< owned array; strings borrowed from the config */
	struct acl forward_allow;
	uint8_t nonce[8];               /**< marks our own forwarded queries (loop detection) */
	struct rrl *rrl;
	struct dns_query hot;           /**< reused for every synchronously answered query */
	int hot_step;
	struct udp_listener *udp;
	size_t n_udp;
	struct tcp_listener *tcp;
	size_t n_tcp;
	struct tcp_conn *conns;
	size_t n_conns;
	unsigned max_conns, idle_ms;
	struct pending *pendings;
	uint8_t *rbuf;                  /**< owned: the recvmmsg buffer */
	struct udp_batch *batch;        /**< owned: responses waiting for sendmmsg */
	bool in_batch;                  /**< inside a recvmmsg batch: queue responses */
	unsigned open_handles;          /**< listeners still open; the server is freed at 0 once stopping */
	bool stopping;
	struct dns_stats stats;
};

static void server_release(struct dns_server *srv);

/* ---- sending -------------------------------------------------------------- */

/* Offset just past the question of a message whose header was accepted, or 0. */
static size_t question_end(const uint8_t *msg, size_t len)
{
	size_t off = 12;
	while (off < len && msg[off] != 0) {
		if (msg[off] & 0xc0)
			return 0;
		off += 1 + msg[off];
	}
	return off + 5 <= len ? off + 5 : 0;
}

struct udp_send_req {
	uv_udp_send_t req;
	uint8_t data[];
};

static void on_udp_sent(uv_udp_send_t *req, int status)
{
	free(req);
}

static void udp_send_now(uv_udp_t *h, const struct sockaddr *addr, const uint8_t *msg, size_t len);

/* Send what the batch holds; what the socket does not take goes out one by one. */
static void batch_flush(struct dns_server *srv)
{
	struct udp_batch *b = srv->batch;
	unsigned sent = 0;
	uv_os_fd_t fd;
	if (b->n == 0)
		return;
	if (uv_fileno((uv_handle_t *)b->handle, &fd) == 0) {
		int rc = sendmmsg(fd, b->msg, b->n, MSG_DONTWAIT);
		sent = rc > 0 ? (unsigned)rc : 0;
	}
	unsigned n = b->n;
	b->n = 0;
	for (unsigned i = sent; i < n; i++)
		udp_send_now(b->handle, (struct sockaddr *)&b->addr[i], b->data[i], b->iov[i].iov_len);
}

/* Queue a response for sendmmsg. @return false if it must be sent now instead. */
static bool batch_add(struct dns_server *srv, uv_udp_t *h, const struct sockaddr *addr, const uint8_t *msg,
		      size_t len)
{
	struct udp_batch *b = srv->batch;
	if (!srv->in_batch || len > BATCH_MSG)
		return false;
	if (b->n > 0 && (b->handle != h || b->n == BATCH))
		batch_flush(srv);
	unsigned i = b->n++;
	b->handle = h;
	memcpy(b->data[i], msg, len);
	memcpy(&b->addr[i], addr, addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							      : sizeof(struct sockaddr_in));
	b->iov[i] = (struct iovec){.iov_base = b->data[i], .iov_len = len};
	b->msg[i] = (struct mmsghdr){.msg_hdr = {
		.msg_name = &b->addr[i],
		.msg_namelen = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
		.msg_iov = &b->iov[i], .msg_iovlen = 1}};
	return true;
}

static void udp_send_now(uv_udp_t *h, const struct sockaddr *addr, const uint8_t *msg, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)msg, (unsigned)len);
	int rc = uv_udp_try_send(h, &b, 1, addr);
	if (rc != UV_EAGAIN)
		return;
	/* The socket buffer is full: queue a copy. */
	struct udp_send_req *r = malloc(sizeof(*r) + len);
	if (!r)
		return;
	memcpy(r->data, msg, len);
	b = uv_buf_init((char *)r->data, (unsigned)len);
	if (uv_udp_send(&r->req, h, &b, 1, addr, on_udp_sent) < 0)
		free(r);
}

static void udp_reply(uv_udp_t *h, const struct sockaddr *addr, const uint8_t *msg, size_t len)
{
	struct dns_server *srv = h->data;
	enum rrl_verdict v = rrl_check(srv->rrl, addr, uv_now(&srv->loop->uv));
	if (v == RRL_PASS) {
		if (!batch_add(srv, h, addr, msg, len))
			udp_send_now(h, addr, msg, len);
		return;
	}
	if (v == RRL_DROP) {
		srv->stats.rrl_dropped++;
		return;
	}
	/* Slip: header and question only, TC set, so a real client retries over TCP. */
	srv->stats.rrl_slipped++;
	uint8_t tc[12 + 255 + 4 + 1];
	size_t end = question_end(msg, len);
	if (end == 0 || end > sizeof(tc))
		end = 12;
	memcpy(tc, msg, end);
	tc[2] |= 0x02;
	memset(tc + 6, 0, 6);
	if (end == 12)
		memset(tc + 4, 0, 2);
	udp_send_now(h, addr, tc, end);
}

struct tcp_write_req {
	uv_write_t req;
	uint8_t data[];
};

static void on_tcp_written(uv_write_t *req, int status)
{
	free(req);
}

static void tcp_reply(struct tcp_conn *conn, const uint8_t *msg, size_t len)
{
	if (conn->closing || len > DNS_MAX_MSG)
		return;
	struct tcp_write_req *w = malloc(sizeof(*w) + 2 + len);
	if (!w)
		return;
	w->data[0] = (uint8_t)(len >> 8);
	w->data[1] = (uint8_t)len;
	memcpy(w->data + 2, msg, len);
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)(2 + len));
	if (uv_write(&w->req, (uv_stream_t *)&conn->handle, &b, 1, on_tcp_written) < 0)
		free(w);
}

/* ---- TCP connections ------------------------------------------------------ */

static void conn_maybe_free(struct tcp_conn *conn)
{
	if (conn->open_handles == 0 && conn->refs == 0) {
		free(conn->buf);
		free(conn);
	}
}

static void on_conn_handle_closed(uv_handle_t *h)
{
	struct tcp_conn *conn = h->data;
	conn->open_handles--;
	conn_maybe_free(conn);
}

static void conn_close(struct tcp_conn *conn)
{
	if (conn->closing)
		return;
	struct dns_server *srv = conn->srv;
	conn->closing = true;
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		srv->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	srv->n_conns--;
	uv_close((uv_handle_t *)&conn->idle, on_conn_handle_closed);
	uv_close((uv_handle_t *)&conn->handle, on_conn_handle_closed);
}

static void conn_unref(struct tcp_conn *conn)
{
	conn->refs--;
	conn_maybe_free(conn);
}

/* ---- the query pipeline --------------------------------------------------- */

static void pending_finish(struct pending *p, enum dns_step step)
{
	struct dns_server *srv = p->srv;
	bool reply = step == DNS_STEP_REPLY;
	if (!reply)
		srv->stats.dropped++;
	switch (p->t) {
	case T_UDP:
		if (reply && !srv->stopping)
			udp_reply(p->udp, (const struct sockaddr *)&p->client, p->q.out, p->q.out_len);
		break;
	case T_TCP:
		if (reply)
			tcp_reply(p->conn, p->q.out, p->q.out_len);
		conn_unref(p->conn);
		break;
	case T_CALLBACK:
		p->cb(p->ud, reply ? p->q.out : NULL, reply ? p->q.out_len : 0);
		break;
	}
	if (p->prev)
		p->prev->next = p->next;
	else
		srv->pendings = p->next;
	if (p->next)
		p->next->prev = p->prev;
	dns_query_deinit(&p->q);
	free(p);
}

static void on_forwarded(void *ud, const uint8_t *resp, size_t len)
{
	struct pending *p = ud;
	pending_finish(p, dns_query_forwarded(&p->q, resp, len));
}

static void pending_forward(struct pending *p)
{
	struct dns_server *srv = p->srv;
	srv->stats.forwarded++;
	if (!srv->fw || forward_query(srv->fw, p->q.fwd, p->q.fwd_len, on_forwarded, p) < 0)
		pending_finish(p, dns_query_forwarded(&p->q, NULL, 0));
}

static void on_pending_view(void *ud, const struct cache_view *view)
{
	struct pending *p = ud;
	enum dns_step step = view ? dns_query_answer(&p->q, true, view->bindings, view->n, view->now)
				  : dns_query_answer(&p->q, false, NULL, 0, cache_now());
	if (step == DNS_STEP_FORWARD)
		pending_forward(p);
	else
		pending_finish(p, step);
}

static void pending_run(struct pending *p, const uint8_t *wire, size_t len, bool tcp)
{
	struct dns_server *srv = p->srv;
	enum dns_step step = dns_query_begin(&p->q, &srv->conf, wire, len, tcp,
					     (const struct sockaddr *)&p->client);
	if (step == DNS_STEP_LOOKUP) {
		srv->stats.lookups++;
		struct cache_name n = {.kind = p->q.lookup.kind, .name = p->q.lookup.name, .host = p->q.lookup.host};
		if (cache_lookup(srv->cache, &n, on_pending_view, p) < 0)
			pending_finish(p, dns_query_answer(&p->q, false, NULL, 0, cache_now()));
		return;
	}
	if (step == DNS_STEP_FORWARD)
		pending_forward(p);
	else
		pending_finish(p, step);
}

/* Move a query off the hot path: it will be answered later. */
static int pending_start(struct dns_server *srv, enum transport t, const uint8_t *wire, size_t len,
			 const struct sockaddr *client, uv_udp_t *udp, struct tcp_conn *conn,
			 dns_reply_cb cb, void *ud)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (!p || dns_query_init(&p->q) < 0) {
		free(p);
		return -ENOMEM;
	}
	*p = (struct pending){.q = p->q, .srv = srv, .t = t, .udp = udp, .conn = conn, .cb = cb, .ud = ud,
			      .next = srv->pendings};
	memcpy(&p->client, client, client->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								 : sizeof(struct sockaddr_in));
	if (srv->pendings)
		srv->pendings->prev = p;
	srv->pendings = p;
	if (conn)
		conn->refs++;
	pending_run(p, wire, len, t != T_UDP);
	return 0;
}

static void on_hot_view(void *ud, const struct cache_view *view)
{
	struct dns_server *srv = ud;
	srv->hot_step = view ? (int)dns_query_answer(&srv->hot, true, view->bindings, view->n, view->now)
			     : (int)dns_query_answer(&srv->hot, false, NULL, 0, cache_now());
}

/*
 * Answer a query now if the answer needs nothing that is not already here.
 * @return the step taken, or -1 when the query must wait (the caller then
 * makes it pending).
 */
static int serve_hot(struct dns_server *srv, const uint8_t *wire, size_t len, bool tcp,
		     const struct sockaddr *client)
{
	enum dns_step step = dns_query_begin(&srv->hot, &srv->conf, wire, len, tcp, client);
	if (step == DNS_STEP_LOOKUP) {
		struct dns_lookup *lk = &srv->hot.lookup;
		struct cache_name n = {.kind = lk->kind, .name = lk->name, .host = lk->host};
		srv->hot_step = -1;
		if (cache_lookup_ready(srv->cache, &n, on_hot_view, srv) < 0 || srv->hot_step < 0)
			return -1;
		step = (enum dns_step)srv->hot_step;
		srv->stats.answered_hot++;
	}
	if (step == DNS_STEP_FORWARD)
		return -1;
	if (step == DNS_STEP_DROP)
		srv->stats.dropped++;
	return (int)step;
}

/* ---- UDP ------------------------------------------------------------------ */

static void on_udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct dns_server *srv = h->data;
	*buf = uv_buf_init((char *)srv->rbuf, RBUF_SIZE);
}

static void on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
			unsigned flags)
{
	struct dns_server *srv = h->data;
	if (nread <= 0 || !addr || srv->stopping) {
		/* The end of a recvmmsg batch (UV_UDP_MMSG_FREE; the buffer is ours anyway). */
		batch_flush(srv);
		srv->in_batch = false;
		return;
	}
	/* Only inside a recvmmsg batch is a closing UV_UDP_MMSG_FREE call guaranteed. */
	srv->in_batch = (flags & UV_UDP_MMSG_CHUNK) != 0;
	srv->stats.udp_queries++;
	const uint8_t *wire = (const uint8_t *)buf->base;
	int step = serve_hot(srv, wire, (size_t)nread, false, addr);
	if (step == DNS_STEP_REPLY)
		udp_reply(h, addr, srv->hot.out, srv->hot.out_len);
	else if (step < 0 && pending_start(srv, T_UDP, wire, (size_t)nread, addr, h, NULL, NULL, NULL) < 0)
		srv->stats.dropped++;
	if (!srv->in_batch)
		batch_flush(srv);
}

/* ---- TCP ------------------------------------------------------------------ */

static void on_tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tcp_conn *conn = h->data;
	if (conn->cap - conn->len < 4096 && conn->cap < TCP_MAX_BUF) {
		size_t cap = conn->cap ? 2 * conn->cap : 8192;
		cap = cap > TCP_MAX_BUF ? TCP_MAX_BUF : cap;
		uint8_t *b = realloc(conn->buf, cap);
		if (b) {
			conn->buf = b;
			conn->cap = cap;
		}
	}
	*buf = uv_buf_init((char *)conn->buf + conn->len, (unsigned)(conn->cap - conn->len));
}

static void serve_tcp(struct tcp_conn *conn, const uint8_t *wire, size_t len)
{
	struct dns_server *srv = conn->srv;
	srv->stats.tcp_queries++;
	struct sockaddr_storage peer;
	int plen = sizeof(peer);
	if (uv_tcp_getpeername(&conn->handle, (struct sockaddr *)&peer, &plen) < 0)
		return;
	int step = serve_hot(srv, wire, len, true, (struct sockaddr *)&peer);
	if (step == DNS_STEP_REPLY)
		tcp_reply(conn, srv->hot.out, srv->hot.out_len);
	else if (step < 0)
		pending_start(srv, T_TCP, wire, len, (struct sockaddr *)&peer, NULL, conn, NULL, NULL);
}

static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_conn *conn = s->data;
	if (nread < 0 || conn->srv->stopping) {
		conn_close(conn);
		return;
	}
	conn->len += (size_t)nread;
	uv_timer_again(&conn->idle);
	size_t off = 0;
	while (!conn->closing && conn->len - off >= 2) {
		size_t mlen = (size_t)conn->buf[off] << 8 | conn->buf[off + 1];
		if (conn->len - off < 2 + mlen)
			break;
		serve_tcp(conn, conn->buf + off + 2, mlen);
		off += 2 + mlen;
	}
	memmove(conn->buf, conn->buf + off, conn->len - off);
	conn->len -= off;
	if (conn->len == conn->cap)
		conn_close(conn); /* cannot happen with a 2-byte length: defensive */
}

static void on_idle(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_refused_closed(uv_handle_t *h)
{
	free(h);
}

static void on_tcp_connection(uv_stream_t *server, int status)
{
	struct dns_server *srv = server->data;
	if (status < 0 || srv->stopping)
		return;
	struct tcp_conn *conn = calloc(1, sizeof(*conn));
	if (!conn)
		return;
	uv_tcp_init(&srv->loop->uv, &conn->handle);
	if (uv_accept(server, (uv_stream_t *)&conn->handle) < 0 || srv->n_conns >= srv->max_conns) {
		srv->stats.tcp_refused += srv->n_conns >= srv->max_conns;
		uv_close((uv_handle_t *)&conn->handle, on_refused_closed); /* handle is the first member */
		return;
	}
	conn->srv = srv;
	conn->handle.data = conn;
	conn->open_handles = 2;
	uv_timer_init(&srv->loop->uv, &conn->idle);
	conn->idle.data = conn;
	uv_timer_start(&conn->idle, on_idle, srv->idle_ms, srv->idle_ms);
	conn->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = conn;
	srv->conns = conn;
	srv->n_conns++;
	uv_tcp_nodelay(&conn->handle, 1);
	if (uv_read_start((uv_stream_t *)&conn->handle, on_tcp_alloc, on_tcp_read) < 0)
		conn_close(conn);
}

/* ---- setup ---------------------------------------------------------------- */

static bool may_forward(void *ud, const struct sockaddr *client)
{
	struct dns_server *srv = ud;
	return srv->fw && acl_match(&srv->forward_allow, client);
}

static void on_listener_closed(uv_handle_t *h)
{
	struct dns_server *srv = h->data;
	if (--srv->open_handles == 0 && srv->stopping)
		server_release(srv);
}

static int listen_on(struct dns_server *srv, const char *text)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	int rc = config_parse_endpoint(text, &ss, &sl);
	if (rc < 0)
		return rc;
	struct udp_listener *u = &srv->udp[srv->n_udp];
	rc = uv_udp_init_ex(&srv->loop->uv, &u->handle, ss.ss_family | UV_UDP_RECVMMSG);
	if (rc < 0)
		return rc;
	u->handle.data = srv;
	srv->n_udp++;
	srv->open_handles++;
	if ((rc = uv_udp_bind(&u->handle, (struct sockaddr *)&ss, 0)) < 0 ||
	    (rc = uv_udp_recv_start(&u->handle, on_udp_alloc, on_udp_recv)) < 0)
		return rc;
	int size = 4 << 20;
	uv_recv_buffer_size((uv_handle_t *)&u->handle, &size);
	struct tcp_listener *t = &srv->tcp[srv->n_tcp];
	if ((rc = uv_tcp_init(&srv->loop->uv, &t->handle)) < 0)
		return rc;
	t->handle.data = srv;
	srv->n_tcp++;
	srv->open_handles++;
	if ((rc = uv_tcp_bind(&t->handle, (struct sockaddr *)&ss, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&t->handle, 128, on_tcp_connection)) < 0)
		return rc;
	log_info(SUBSYS, "listening on %s (UDP and TCP)", text);
	return 0;
}

static int build_zones(struct dns_server *srv, const struct rd_config *cfg)
{
	srv->zones = calloc(cfg->dns.n_zones + 1, sizeof(*srv->zones));
	if (!srv->zones)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->dns.n_zones; i++) {
		const struct config_zone *z = &cfg->dns.zones[i];
		srv->zones[i] = (struct dns_zone){
			.apex = z->apex, .ns = (const char *const *)z->ns.v, .n_ns = z->ns.n,
			.hostmaster = z->hostmaster, .serial = z->serial, .negative_ttl = z->negative_ttl,
		};
	}
	srv->conf = (struct dns_conf){
		.enum_suffixes = (const char *const *)cfg->dns.enum_suffixes.v, .n_enum = cfg->dns.enum_suffixes.n,
		.zones = srv->zones, .n_zones = cfg->dns.n_zones, .max_ttl = cfg->dns.max_ttl,
		.edns_payload = (uint16_t)cfg->dns.edns_payload, .may_forward = may_forward,
		.may_forward_ud = srv, .loop_opt_code = LOOP_OPT_CODE, .loop_nonce = srv->nonce,
		.loop_nonce_len = sizeof(srv->nonce),
	};
	return 0;
}

static int start_forwarding(struct dns_server *srv, const struct rd_config *cfg)
{
	const char *bad = NULL;
	int rc = acl_parse((const char *const *)cfg->dns.forward.allow.v, cfg->dns.forward.allow.n,
			   &srv->forward_allow, &bad);
	if (rc < 0) {
		log_error(SUBSYS, "dns.forward.allow: bad entry '%s'", bad ? bad : "?");
		return rc;
	}
	if (cfg->dns.forward.upstreams.n == 0)
		return 0;
	struct forward_conf fc = {
		.upstreams = (const char *const *)cfg->dns.forward.upstreams.v,
		.n_upstreams = cfg->dns.forward.upstreams.n,
		.self = (const char *const *)cfg->dns.listen.v, .n_self = cfg->dns.listen.n,
		.timeout_ms = cfg->dns.forward.timeout_ms, .cache_entries = cfg->dns.forward.cache_entries,
		.loop_opt_code = LOOP_OPT_CODE, .loop_nonce = srv->nonce, .loop_nonce_len = sizeof(srv->nonce),
	};
	rc = forward_new(srv->loop, &fc, &srv->fw);
	if (rc < 0)
		log_error(SUBSYS, "cannot forward to dns.forward.upstreams: %s", strerror(-rc));
	return rc;
}

int dns_server_start(struct rd_loop *loop, struct cache *c, const struct rd_config *cfg,
		     struct dns_server **ret)
{
	struct dns_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->loop = loop;
	srv->cache = c;
	srv->max_conns = cfg->dns.tcp.max_connections;
	srv->idle_ms = cfg->dns.tcp.idle_timeout_ms;
	RAND_bytes(srv->nonce, sizeof(srv->nonce));
	int rc = -ENOMEM;
	size_t n = cfg->dns.listen.n;
	srv->udp = calloc(n + 1, sizeof(*srv->udp));
	srv->tcp = calloc(n + 1, sizeof(*srv->tcp));
	srv->rbuf = malloc(RBUF_SIZE);
	srv->batch = calloc(1, sizeof(*srv->batch));
	srv->rrl = rrl_new(cfg->dns.rrl.responses_per_second, cfg->dns.rrl.slip, cfg->dns.rrl.ipv4_prefix,
			   cfg->dns.rrl.ipv6_prefix, cfg->dns.rrl.table_size);
	if (!srv->udp || !srv->tcp || !srv->rbuf || !srv->batch || !srv->rrl || dns_query_init(&srv->hot) < 0 ||
	    dns_query_enable_memo(&srv->hot) < 0)
		goto out_stop;
	if ((rc = build_zones(srv, cfg)) < 0 || (rc = start_forwarding(srv, cfg)) < 0)
		goto out_stop;
	for (size_t i = 0; i < n; i++) {
		if ((rc = listen_on(srv, cfg->dns.listen.v[i])) < 0) {
			log_error(SUBSYS, "cannot listen on %s: %s", cfg->dns.listen.v[i], uv_strerror(rc));
			goto out_stop;
		}
	}
	*ret = srv;
	return 0;

out_stop:
	dns_server_stop(srv);
	return rc;
}

static void server_release(struct dns_server *srv)
{
	dns_query_deinit(&srv->hot);
	rrl_free(srv->rrl);
	acl_deinit(&srv->forward_allow);
	free(srv->zones);
	free(srv->rbuf);
	free(srv->batch);
	free(srv->udp);
	free(srv->tcp);
	free(srv);
}

void dns_server_stop(struct dns_server *srv)
{
	if (!srv)
		return;
	srv->stopping = true;
	/* Queries waiting for the DHT are answered (and freed) before their memory could dangle. */
	cache_fail_waiters(srv->cache);
	/* Forwarded queries fail (their callbacks run and free them), then any left. */
	forward_free(srv->fw);
	srv->fw = NULL;
	while (srv->pendings)
		pending_finish(srv->pendings, DNS_STEP_DROP);
	while (srv->conns)
		conn_close(srv->conns);
	for (size_t i = 0; i < srv->n_udp; i++)
		uv_close((uv_handle_t *)&srv->udp[i].handle, on_listener_closed);
	for (size_t i = 0; i < srv->n_tcp; i++)
		uv_close((uv_handle_t *)&srv->tcp[i].handle, on_listener_closed);
	if (srv->open_handles == 0)
		server_release(srv);
}

int dns_server_resolve(struct dns_server *srv, const uint8_t *wire, size_t len,
		       const struct sockaddr *client, dns_reply_cb cb, void *ud)
{
	srv->stats.doh_queries++;
	return pending_start(srv, T_CALLBACK, wire, len, client, NULL, NULL, cb, ud);
}

void dns_server_get_stats(const struct dns_server *srv, struct dns_stats *ret)
{
	*ret = srv->stats;
	ret->tcp_connections = srv->n_conns;
}

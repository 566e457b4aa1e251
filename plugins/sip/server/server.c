/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The SIP registrar and redirect server: its lifecycle, config, sweep timer, and the dispatch of each request. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>

#include "plugins/sip/server/sip_server.h"

/*
 * DESIGN
 * What it is. A SIP registrar and redirect server (RFC 3261 sections 10, 8.3)
 * whose location service is the DHT: a REGISTER becomes signed bindings
 * through api->publish/unpublish, and any other request to an address of
 * record is answered 302 with the Contacts api->resolve finds across the
 * overlay (404 when none, 480 when all expired during the lookup). It never
 * proxies, so it needs no loop detection and sends no requests.
 *
 * Files.
 *  - server.c: sip_registrar_new/free, config, the sweep timer, DHT lookups
 *    in flight ("jobs"), and server_input(): parse, match a transaction,
 *    dispatch (CANCEL, Require, REGISTER, OPTIONS to the server, redirect).
 *  - transport.c: UDP and TCP on the host's sockets. TCP streams are framed
 *    by Content-Length with hard caps (SIP_MAX_MSG for a header block or a
 *    message; beyond, or a bad Content-Length, closes the connection); a
 *    stream whose Content-Length promises more than comes waits, never
 *    over-reads, and is closed when idle. Replies go per RFC 3261 18.2.2 and
 *    RFC 3581: UDP to the source address (received), at the source port when
 *    the top Via has rport, else at the Via's port; TCP on the same connection.
 *  - msg.c: framing, our header splitter (unfolding, compact names, counts,
 *    binary-safe), libosip2 for each structured header (Via, From, To,
 *    Contact, Request-URI, Authorization), and the RFC 4475 checks libosip2
 *    does not make. A request whose top Via cannot be parsed cannot be
 *    answered and is dropped; every other invalid request gets 400 with a
 *    reason phrase naming the fault (or 416, 505). Responses are dropped.
 *  - txn.c: server transactions keyed by the top Via branch + sent-by +
 *    method (RFC 2543 fallback without a magic cookie), ACK and CANCEL
 *    matched to INVITE. A final response is kept for Timer J (64*T1) over
 *    UDP so retransmissions get the same bytes; INVITE responses over UDP
 *    are repeated on Timer G until the ACK, for at most Timer H. Over TCP a
 *    non-INVITE transaction ends with its response. One host timer ticks
 *    every T1 (500 ms) for all timers, so tests can drive time exactly.
 *  - registrar.c: REGISTER with Kamailio's registrar semantics; local
 *    state per AoR holds what only this node knows (Call-ID and CSeq of each
 *    binding). The 200 lists the bindings of every node, from api->resolve,
 *    with this node's own state overlaid (the DHT may not have caught up).
 *  - redirect.c: 302/404/480 from api->resolve.
 *  - auth.c: stateless digest (RFC 7616/8760, SHA-256 and MD5): the nonce is
 *    a timestamp and its HMAC, so nothing is stored per challenge. When any
 *    user is configured every REGISTER must authenticate, as the To user
 *    (else 403 "Forbidden: From/To mismatch", also when From and To users
 *    differ); MD5 is offered first, since MD5-only clients take the first
 *    challenge. Other methods are lookups and need no credentials.
 *
 * Kamailio semantics, and where the DHT changes them. max_contacts counts
 * the AoR's live bindings on every node after the request; a request that
 * adds none is never refused for it. An out-of-order CSeq (same Call-ID,
 * not higher) leaves that binding as it is and still gets 200. A binding is
 * one instance: +sip.instance, or "c-" + 32 hex digits of SHA-256(contact
 * URI), so the same contact from a new Call-ID replaces it. "*" removes
 * this node's bindings only: another node's are signed by that node, and
 * expire there.
 *
 * Threads. Everything runs on the loop thread; so does every host callback.
 * libosip2's parser_init() is not thread-safe: it runs here, once.
 *
 * Memory. Bounded by SIP_MAX_TXNS transactions (the oldest completed one is
 * dropped first), SIP_MAX_PENDING lookups in flight, SIP_MAX_CONNS
 * connections of at most 2*SIP_MAX_MSG buffered bytes, max_contacts
 * bindings per AoR and SIP_MAX_AORS AoRs (503 beyond).
 *
 * Shutdown. sip_registrar_free() frees every transaction and every lookup
 * in flight; the host must not call a resolve callback after deinit (it
 * releases the plugin's requests without callbacks, plugin.h).
 */

/* ---- helpers shared by registrar.c and redirect.c ------------------------------- */

void sip_put_q(struct sip_buf *b, uint16_t q)
{
	if (q >= RD_Q_MAX) {
		sbuf_puts(b, "1");
		return;
	}
	char s[8];
	snprintf(s, sizeof(s), "0.%03u", (unsigned)q);
	size_t n = strlen(s);
	while (n > 2 && s[n - 1] == '0')
		n--;
	if (n == 2)
		n = 1; /* "0." -> "0" */
	sbuf_put(b, s, n);
}

bool sip_contact_ok(const char *contact)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)contact; *p; p++, n++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>' || *p == '"')
			return false;
	return n > 0 && n <= RD_NAME_MAX;
}

/* ---- DHT lookups in flight ------------------------------------------------------ */

static void job_unlink(struct sip_job *j)
{
	j->prev->next = j->next;
	j->next->prev = j->prev;
	j->prev = j->next = NULL;
}

static void job_cb(void *ud, int status, uint64_t now, const struct rd_binding *b, size_t n)
{
	struct sip_job *j = ud;
	job_unlink(j);
	if (j->txn)
		j->txn->job = NULL;
	j->done(j, status, now, b, n);
	j->free(j);
}

int job_start(struct sip_registrar *r, struct sip_txn *t, struct sip_job *j, const char *name)
{
	j->r = r;
	j->txn = t;
	j->next = &r->jobs;
	j->prev = r->jobs.prev;
	r->jobs.prev->next = j;
	r->jobs.prev = j;
	t->job = j;
	int rc = r->api->resolve(r->host, name, job_cb, j);
	if (rc < 0) {
		job_unlink(j);
		t->job = NULL;
		j->free(j);
	}
	return rc;
}

void job_detach(struct sip_txn *t)
{
	struct sip_job *j = t->job;
	if (j) {
		j->txn = NULL;
		t->job = NULL;
	}
}

/* ---- dispatch ----------------------------------------------------------------------- */

/** UDP: where the response goes (RFC 3261 18.2.2, RFC 3581 4). */
static void route_udp(struct sip_dest *d, const struct sip_msg *m)
{
	osip_generic_param_t *rport = NULL;
	memcpy(&d->addr, &d->src, d->src_len);
	d->addr_len = d->src_len;
	if (osip_via_param_get_byname(m->via, "rport", &rport) == 0 && rport)
		return;
	uint64_t dflt = m->via->protocol && strcasecmp(m->via->protocol, "TLS") == 0 ? 5061 : 5060;
	uint64_t port = dflt;
	if (m->via->port && (!msg_parse_uint(m->via->port, 65535, &port) || port == 0))
		port = dflt;
	if (d->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&d->addr)->sin_port = htons((uint16_t)port);
	else if (d->addr.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&d->addr)->sin6_port = htons((uint16_t)port);
}

/** Is the Request-URI the server itself (no user part, one of our hosts)? */
static bool is_self(struct sip_registrar *r, const struct sip_dest *d, const struct sip_msg *m)
{
	if (!m->uri || (m->uri->username && m->uri->username[0]) || !m->uri->host)
		return false;
	const char *h = m->uri->host;
	if (strcasecmp(h, "localhost") == 0 || (r->realm[0] && strcasecmp(h, r->realm) == 0))
		return true;
	for (size_t i = 0; i < r->n_self; i++)
		if (strcasecmp(h, r->self_hosts[i]) == 0)
			return true;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct rd_sock *s = d->conn ? NULL : d->udp;
	char ip[INET6_ADDRSTRLEN] = "";
	if (s && r->api->sock_name(s, &ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof(ip));
	}
	return ip[0] && strcasecmp(h, ip) == 0;
}

/** Require: option tags we do not support (all of them). @return true if 420 was sent. */
static bool check_require(struct sip_registrar *r, struct sip_txn *t, const struct sip_msg *m)
{
	struct sip_buf b = {0};
	for (size_t i = 0; i < m->n_hdrs; i++) {
		if (m->hdrs[i].id != HDR_REQUIRE)
			continue;
		for (const char *e = m->hdrs[i].value; e && *e;) {
			const char *next;
			size_t n = msg_split_comma(e, &next);
			if (n > 0)
				sbuf_printf(&b, "%s%.*s", b.len ? ", " : "Unsupported: ", (int)n, e);
			e = next;
		}
	}
	if (b.len == 0)
		return false;
	sbuf_puts(&b, "\r\n");
	txn_reply(r, t, 420, "Bad Extension", b.oom ? NULL : b.p);
	sbuf_free(&b);
	return true;
}

static void handle_cancel(struct sip_registrar *r, struct sip_txn *t, const struct sip_msg *m)
{
	char *key = txn_key(m, "INVITE");
	struct sip_txn *inv = key ? txn_find(&r->txns, key) : NULL;
	free(key);
	if (!inv) {
		txn_reply(r, t, 481, "Call/Transaction Does Not Exist", NULL);
		return;
	}
	txn_reply(r, t, 200, "OK", NULL);
	if (inv->state == TXN_PENDING)
		txn_reply(r, inv, 487, "Request Terminated", NULL);
}

/* Methods of RFC 3261 and its registered extensions: to the server itself, they get 405; others 501. */
static bool method_known(const char *method)
{
	static const char *const known[] = {
		"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE",
		"NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(method, known[i]) == 0)
			return true;
	return false;
}

static void dispatch(struct sip_registrar *r, struct sip_txn *t, const struct sip_dest *d, const struct sip_msg *m)
{
	if (m->err_code) {
		txn_reply(r, t, m->err_code, m->err_reason, NULL);
		return;
	}
	if (strcmp(m->method, "CANCEL") == 0) {
		handle_cancel(r, t, m);
		return;
	}
	if (check_require(r, t, m))
		return;
	if (strcmp(m->method, "REGISTER") == 0) {
		registrar_handle(r, t, m);
		return;
	}
	if (is_self(r, d, m)) {
		if (strcmp(m->method, "OPTIONS") == 0)
			txn_reply(r, t, 200, "OK",
				  "Allow: " SIP_ALLOW "\r\nAccept: application/sdp\r\nSupported: \r\n");
		else if (method_known(m->method)) /* RFC 3261 8.2.1 */
			txn_reply(r, t, 405, "Method Not Allowed", "Allow: OPTIONS, REGISTER\r\n");
		else /* RFC 3261 21.5.2: the method is not recognized */
			txn_reply(r, t, 501, "Not Implemented", "Allow: OPTIONS, REGISTER\r\n");
		return;
	}
	if (m->max_forwards == 0) {
		txn_reply(r, t, 483, "Too Many Hops", NULL);
		return;
	}
	redirect_handle(r, t, m);
}

void server_input(struct sip_registrar *r, const struct sip_dest *from, const uint8_t *data, size_t len)
{
	struct sip_msg m;
	struct sip_dest d = *from;
	int rc = msg_parse(&m, data, len, d.conn != NULL);
	if (rc < 0 || !m.via) {
		SIP_LOG(r, RD_LOG_DEBUG, "dropped a %s", rc == -EPROTO && m.response ? "response"
							 : rc < 0 ? "message without a start line"
								  : "request without a usable Via");
		goto out;
	}
	if (!d.conn)
		route_udp(&d, &m);
	if (m.method && strcmp(m.method, "ACK") == 0) {
		/* ACK is never answered: it confirms our non-2xx INVITE response */
		char *key = m.err_code ? NULL : txn_key(&m, "INVITE");
		struct sip_txn *inv = key ? txn_find(&r->txns, key) : NULL;
		if (inv)
			txn_ack(inv);
		free(key);
		goto out;
	}
	char *key = txn_key(&m, NULL);
	if (!key)
		goto out;
	struct sip_txn *t = txn_find(&r->txns, key);
	if (t) {
		free(key);
		txn_retransmit(r, t);
		goto out;
	}
	t = txn_new(r, key, &d, m.method && strcmp(m.method, "INVITE") == 0);
	if (!t) {
		free(key);
		SIP_LOG(r, RD_LOG_DEBUG, "too many SIP transactions: a request was dropped");
		goto out;
	}
	if (txn_echo(t, &m, &d, r->tag_counter++) < 0) {
		txn_free(r, t);
		goto out;
	}
	dispatch(r, t, &d, &m);
out:
	msg_free(&m);
}

/* ---- config and lifecycle ------------------------------------------------------------ */

static int read_users(struct sip_registrar *r)
{
	const struct rd_host_api *api = r->api;
	const char *const *names = NULL;
	size_t n = 0;
	int rc = api->config_keys(r->host, "users", &names, &n);
	if (rc == -ENOENT || n == 0)
		return 0;
	if (rc < 0)
		return rc;
	r->users = calloc(n, sizeof(*r->users));
	if (!r->users)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char key[300];
		snprintf(key, sizeof(key), "users.%s.password", names[i]);
		const char *pw = NULL;
		rc = api->config_string(r->host, key, NULL, &pw);
		if (rc == -ENOENT || (rc == 0 && (!pw || !pw[0])))
			return api->config_error(r->host, key, "every user needs a password");
		if (rc < 0)
			return rc;
		r->users[r->n_users].name = strdup(names[i]);
		if (!r->users[r->n_users].name)
			return -ENOMEM;
		r->users[r->n_users++].password = pw;
	}
	return 0;
}

static int read_config(struct sip_registrar *r, const char *const **ret_listen, size_t *ret_n)
{
	const struct rd_host_api *api = r->api;
	struct rd_host *h = r->host;
	int rc = api->config_list(h, "listen", ret_listen, ret_n);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == -ENOENT)
		*ret_n = 0;
	static const struct {
		const char *key;
		unsigned min, max, dflt;
		size_t off;
	} uints[] = {
		{"min_expires", 0, 86400, 60, offsetof(struct sip_registrar, min_expires)},
		{"default_expires", 1, 31536000, 3600, offsetof(struct sip_registrar, default_expires)},
		{"max_expires", 1, 31536000, 86400, offsetof(struct sip_registrar, max_expires)},
		{"max_contacts", 1, 1000, 10, offsetof(struct sip_registrar, max_contacts)},
	};
	for (size_t i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		unsigned *v = (unsigned *)((char *)r + uints[i].off);
		rc = api->config_uint(h, uints[i].key, uints[i].min, uints[i].max, uints[i].dflt, v);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	rc = api->config_string(h, "realm", "", &r->realm);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (!r->realm)
		r->realm = "";
	rc = read_users(r);
	if (rc < 0)
		return rc;
	if (r->min_expires > r->max_expires)
		return api->config_error(h, "min_expires", "larger than max_expires (%u)", r->max_expires);
	if (r->default_expires < r->min_expires || r->default_expires > r->max_expires)
		return api->config_error(h, "default_expires", "not within min_expires (%u) and max_expires (%u)",
					 r->min_expires, r->max_expires);
	return 0;
}

static void on_tick(void *ud)
{
	struct sip_registrar *r = ud;
	r->ticks++;
	txn_tick(r);
	transport_tick(r);
	if (r->ticks % 20 == 0)
		registrar_tick(r);
}

/** libosip2's global tables, once per process; its trace is silenced (we log ourselves). */
static void osip_setup(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	parser_init();
	for (int l = 0; l < END_TRACE_LEVEL; l++)
		osip_trace_disable_level((osip_trace_level_t)l);
}

int sip_registrar_new(const struct rd_host_api *api, struct rd_host *host, struct sip_registrar **ret)
{
	const char *const *listen = NULL;
	size_t n_listen = 0;
	*ret = NULL;
	struct sip_registrar *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->api = api;
	r->host = host;
	r->jobs.prev = r->jobs.next = &r->jobs;
	int rc = read_config(r, &listen, &n_listen);
	if (rc < 0 || n_listen == 0)
		goto out_free;
	osip_setup();
	if (RAND_bytes(r->secret, sizeof(r->secret)) != 1 ||
	    RAND_bytes((unsigned char *)&r->tag_counter, sizeof(r->tag_counter)) != 1) {
		rc = -EIO;
		goto out_free;
	}
	rc = txn_table_init(&r->txns);
	if (rc < 0)
		goto out_free;
	r->tick = api->timer_new(host, on_tick, r);
	if (!r->tick) {
		rc = -ENOMEM;
		goto out_free;
	}
	api->timer_start(r->tick, SIP_TICK_MS, SIP_TICK_MS);
	rc = transport_open(r, listen, n_listen);
	if (rc < 0)
		goto out_free;
	*ret = r;
	return 0;
out_free:
	sip_registrar_free(r);
	return rc;
}

void sip_registrar_free(struct sip_registrar *r)
{
	if (!r)
		return;
	txn_table_deinit(r, &r->txns);
	while (r->jobs.next != &r->jobs) {
		struct sip_job *j = r->jobs.next;
		job_unlink(j);
		j->free(j);
	}
	transport_close(r);
	if (r->tick)
		r->api->timer_free(r->tick);
	registrar_free_state(r);
	for (size_t i = 0; i < r->n_users; i++)
		free(r->users[i].name);
	free(r->users);
	free(r);
}

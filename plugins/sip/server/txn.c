/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SIP server transactions (RFC 3261 section 17.2): matching, kept final responses, Timer G/H/J on one sweep timer. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/sip/server/sip_server.h"

#define TXN_BUCKETS 65536u /**< a power of two */

/* ---- lists ---------------------------------------------------------------- */

static void list_init(struct sip_txn *head)
{
	head->prev = head->next = head;
}

static void list_unlink(struct sip_txn *t)
{
	if (!t->prev)
		return;
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->prev = t->next = NULL;
}

static void list_append(struct sip_txn *head, struct sip_txn *t)
{
	t->prev = head->prev;
	t->next = head;
	head->prev->next = t;
	head->prev = t;
}

static void retx_unlink(struct sip_txn *t)
{
	if (!t->rprev)
		return;
	t->rprev->rnext = t->rnext;
	t->rnext->rprev = t->rprev;
	t->rprev = t->rnext = NULL;
}

/* ---- the table -------------------------------------------------------------- */

int txn_table_init(struct txn_table *t)
{
	*t = (struct txn_table){0};
	t->buckets = calloc(TXN_BUCKETS, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->n_buckets = TXN_BUCKETS;
	list_init(&t->pending);
	list_init(&t->done);
	t->retx.rprev = t->retx.rnext = &t->retx;
	FILE *f = fopen("/dev/urandom", "rb");
	if (f) {
		if (fread(&t->seed, sizeof(t->seed), 1, f) != 1)
			t->seed = 0;
		fclose(f);
	}
	t->seed ^= (uint64_t)(uintptr_t)t;
	return 0;
}

void txn_table_deinit(struct sip_registrar *r, struct txn_table *t)
{
	if (!t->buckets)
		return;
	while (t->pending.next != &t->pending)
		txn_free(r, t->pending.next);
	while (t->done.next != &t->done)
		txn_free(r, t->done.next);
	free(t->buckets);
	t->buckets = NULL;
}

static uint64_t hash_key(uint64_t seed, const char *s)
{
	uint64_t h = 1469598103934665603ull ^ seed;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

char *txn_key(const struct sip_msg *m, const char *method)
{
	struct sip_buf b = {0};
	const char *branch = msg_branch(m);
	if (!method)
		method = m->method ? m->method : "";
	if (branch && strncmp(branch, "z9hG4bK", 7) == 0 && branch[7]) {
		sbuf_printf(&b, "1|%s|%s:%s|%s", branch, m->via->host, m->via->port ? m->via->port : "",
			    method);
	} else {
		/* RFC 2543 matching (section 17.2.3): no usable branch */
		osip_generic_param_t *ftag = NULL;
		if (m->from)
			osip_from_get_tag(m->from, &ftag);
		const char *via = msg_get(m, HDR_VIA);
		sbuf_printf(&b, "0|%s|%s|%s|%u|%.*s|%s", m->ruri ? m->ruri : "",
			    ftag && ftag->gvalue ? ftag->gvalue : "",
			    msg_get(m, HDR_CALL_ID) ? msg_get(m, HDR_CALL_ID) : "", m->cseq,
			    via ? (int)(m->via_rest ? (size_t)(m->via_rest - via) : strlen(via)) : 0, via ? via : "",
			    method);
	}
	if (b.oom) {
		sbuf_free(&b);
		return NULL;
	}
	return b.p;
}

struct sip_txn *txn_find(struct txn_table *t, const char *key)
{
	uint64_t h = hash_key(t->seed, key);
	for (struct sip_txn *x = t->buckets[h & (t->n_buckets - 1)]; x; x = x->hnext)
		if (x->hash == h && strcmp(x->key, key) == 0)
			return x;
	return NULL;
}

void txn_free(struct sip_registrar *r, struct sip_txn *t)
{
	struct txn_table *tab = &r->txns;
	struct sip_txn **pp = &tab->buckets[t->hash & (tab->n_buckets - 1)];
	while (*pp && *pp != t)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = t->hnext;
	if (t->state == TXN_PENDING)
		tab->n_pending--;
	list_unlink(t);
	retx_unlink(t);
	tab->n--;
	job_detach(t);
	if (t->dest.conn)
		conn_unref(t->dest.conn);
	free(t->key);
	free(t->echo_head);
	free(t->echo_to);
	free(t->echo_tail);
	free(t->resp);
	free(t);
}

struct sip_txn *txn_new(struct sip_registrar *r, char *key, const struct sip_dest *dest, bool invite)
{
	struct txn_table *tab = &r->txns;
	if (tab->n_pending >= SIP_MAX_PENDING)
		return NULL;
	if (tab->n >= SIP_MAX_TXNS) {
		if (tab->done.next == &tab->done)
			return NULL;
		txn_free(r, tab->done.next);
	}
	struct sip_txn *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->key = key;
	t->hash = hash_key(tab->seed, key);
	t->invite = invite;
	t->dest = *dest;
	if (t->dest.conn)
		conn_ref(t->dest.conn);
	t->state = TXN_PENDING;
	size_t b = t->hash & (tab->n_buckets - 1);
	t->hnext = tab->buckets[b];
	tab->buckets[b] = t;
	list_append(&tab->pending, t);
	tab->n_pending++;
	tab->n++;
	return t;
}

/* ---- what every response repeats ------------------------------------------------ */

/** The top Via value with received and rport filled in (RFC 3261 18.2.1, RFC 3581 4). */
static char *top_via(const struct sip_msg *m, const struct sip_dest *d)
{
	char ip[INET6_ADDRSTRLEN] = "";
	unsigned port = 0;
	if (d->src.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&d->src;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		port = ntohs(s->sin_port);
	} else if (d->src.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&d->src;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		port = ntohs(s->sin6_port);
	}
	osip_via_t *v = NULL;
	char *out = NULL;
	if (osip_via_clone(m->via, &v) != 0)
		return NULL;
	osip_generic_param_t *p = NULL, *rport = NULL;
	osip_via_param_get_byname(v, "rport", &rport);
	/* RFC 3581 section 4: with rport, received is added even when it equals sent-by */
	if (ip[0] && (strcmp(v->host, ip) != 0 || rport)) {
		if (osip_via_param_get_byname(v, "received", &p) == 0 && p) {
			osip_free(p->gvalue);
			p->gvalue = osip_strdup(ip);
		} else {
			osip_via_set_received(v, osip_strdup(ip));
		}
	}
	if (port && rport) {
		char num[8];
		snprintf(num, sizeof(num), "%u", port);
		osip_free(rport->gvalue);
		rport->gvalue = osip_strdup(num);
	}
	if (osip_via_to_str(v, &out) != 0)
		out = NULL;
	osip_via_free(v);
	return out;
}

int txn_echo(struct sip_txn *t, const struct sip_msg *m, const struct sip_dest *d, uint64_t tag)
{
	struct sip_buf head = {0}, tail = {0};
	bool first = true;
	for (size_t i = 0; i < m->n_hdrs; i++) {
		if (m->hdrs[i].id != HDR_VIA)
			continue;
		if (first && m->via) {
			char *v = top_via(m, d);
			if (!v) {
				sbuf_free(&head);
				return -ENOMEM;
			}
			sbuf_printf(&head, "Via: %s%s\r\n", v, m->via_rest);
			osip_free(v);
		} else {
			sbuf_printf(&head, "Via: %s\r\n", m->hdrs[i].value);
		}
		first = false;
	}
	if (msg_get(m, HDR_FROM))
		sbuf_printf(&head, "From: %s\r\n", msg_get(m, HDR_FROM));
	if (msg_get(m, HDR_CALL_ID))
		sbuf_printf(&tail, "Call-ID: %s\r\n", msg_get(m, HDR_CALL_ID));
	if (msg_get(m, HDR_CSEQ))
		sbuf_printf(&tail, "CSeq: %s\r\n", msg_get(m, HDR_CSEQ));
	const char *to = msg_get(m, HDR_TO);
	osip_generic_param_t *p = NULL;
	t->to_tagged = m->to && osip_to_get_tag(m->to, &p) == 0 && p;
	if (!to && m->count[HDR_TO] == 0)
		t->to_tagged = true;
	snprintf(t->tag, sizeof(t->tag), "%016llx", (unsigned long long)tag);
	t->echo_head = head.p;
	t->echo_tail = tail.p;
	t->echo_to = to ? strdup(to) : NULL;
	if (head.oom || tail.oom || (to && !t->echo_to))
		return -ENOMEM;
	return 0;
}

static int build(const struct sip_txn *t, int code, const char *reason, const char *extra, struct sip_buf *b)
{
	sbuf_printf(b, "SIP/2.0 %d %s\r\n", code, reason);
	if (t->echo_head)
		sbuf_puts(b, t->echo_head);
	if (t->echo_to)
		sbuf_printf(b, "To: %s%s%s\r\n", t->echo_to, t->to_tagged || code == 100 ? "" : ";tag=",
			    t->to_tagged || code == 100 ? "" : t->tag);
	if (t->echo_tail)
		sbuf_puts(b, t->echo_tail);
	if (extra)
		sbuf_puts(b, extra);
	sbuf_puts(b, "Server: resolverd\r\nContent-Length: 0\r\n\r\n");
	return b->oom ? -ENOMEM : 0;
}

void txn_provisional(struct sip_registrar *r, struct sip_txn *t, int code, const char *reason)
{
	struct sip_buf b = {0};
	if (build(t, code, reason, NULL, &b) == 0)
		transport_send(r, &t->dest, b.p, b.len);
	sbuf_free(&b);
}

void txn_reply(struct sip_registrar *r, struct sip_txn *t, int code, const char *reason, const char *extra)
{
	struct txn_table *tab = &r->txns;
	struct sip_buf b = {0};
	job_detach(t);
	if (t->state != TXN_PENDING)
		return;
	if (build(t, code, reason, extra, &b) < 0) {
		sbuf_free(&b);
		txn_free(r, t);
		return;
	}
	transport_send(r, &t->dest, b.p, b.len);
	bool udp = t->dest.conn == NULL;
	if (!udp && !t->invite) {
		/* Timer J is 0 over a reliable transport */
		sbuf_free(&b);
		txn_free(r, t);
		return;
	}
	t->resp = b.p;
	t->resp_len = b.len;
	t->state = TXN_COMPLETED;
	/* only the kept response is sent from now on */
	free(t->echo_head);
	free(t->echo_to);
	free(t->echo_tail);
	t->echo_head = t->echo_to = t->echo_tail = NULL;
	tab->n_pending--;
	list_unlink(t);
	list_append(&tab->done, t);
	t->expire_tick = r->ticks + SIP_TIMER_J_TICKS;
	if (t->invite && udp && code >= 300) {
		t->retx_interval = 1;
		t->retx_tick = r->ticks + 1;
		t->rprev = tab->retx.rprev;
		t->rnext = &tab->retx;
		tab->retx.rprev->rnext = t;
		tab->retx.rprev = t;
	}
}

void txn_retransmit(struct sip_registrar *r, struct sip_txn *t)
{
	if (t->state == TXN_COMPLETED && t->resp)
		transport_send(r, &t->dest, t->resp, t->resp_len);
}

void txn_ack(struct sip_txn *t)
{
	if (t->state != TXN_COMPLETED)
		return;
	t->state = TXN_CONFIRMED;
	retx_unlink(t);
}

void txn_tick(struct sip_registrar *r)
{
	struct txn_table *tab = &r->txns;
	for (struct sip_txn *t = tab->retx.rnext, *next; t != &tab->retx; t = next) {
		next = t->rnext;
		if (t->retx_tick > r->ticks)
			continue;
		transport_send(r, &t->dest, t->resp, t->resp_len);
		t->retx_interval = t->retx_interval * 2 > SIP_T2_TICKS ? SIP_T2_TICKS : t->retx_interval * 2;
		t->retx_tick = r->ticks + t->retx_interval;
	}
	while (tab->done.next != &tab->done && tab->done.next->expire_tick <= r->ticks)
		txn_free(r, tab->done.next);
}

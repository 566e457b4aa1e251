/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The redirect server (RFC 3261 section 8.3): 302 with every live Contact of the Request-URI's AoR, 404, 480. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/sip/server/sip_server.h"

/** A request waiting for the bindings of its Request-URI. */
struct redirect_job {
	struct sip_job job; /**< first: server.c's part */
};

static void redirect_free(struct sip_job *j)
{
	free(j);
}

static const struct rd_binding *g_sort; /* qsort has no user data; loop thread only */

static int cmp_q(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (g_sort[x].q != g_sort[y].q)
		return g_sort[x].q > g_sort[y].q ? -1 : 1;
	return x < y ? -1 : x > y;
}

static void redirect_done(struct sip_job *j, int status, uint64_t now, const struct rd_binding *bs, size_t n)
{
	struct sip_registrar *r = j->r;
	struct sip_txn *t = j->txn;
	(void)now;
	if (!t)
		return;
	if (status < 0) {
		txn_reply(r, t, 503, "Service Unavailable", NULL);
		return;
	}
	if (n == 0) {
		txn_reply(r, t, 404, "Not Found", NULL);
		return;
	}
	/* the lookup may have taken a while: judge expiry by the clock now */
	uint64_t clock = r->api->now(r->host);
	struct sip_buf b = {0};
	size_t live = 0;
	size_t *order = malloc(n * sizeof(*order));
	if (!order) {
		txn_reply(r, t, 500, "Server Internal Error", NULL);
		return;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	g_sort = bs;
	qsort(order, n, sizeof(*order), cmp_q);
	g_sort = NULL;
	for (size_t k = 0; k < n && live < SIP_MAX_REPLY_CONTACTS; k++) {
		size_t i = order[k];
		if (bs[i].expires <= clock || !bs[i].contact || !sip_contact_ok(bs[i].contact))
			continue;
		sbuf_printf(&b, "Contact: <%s>;q=", bs[i].contact);
		sip_put_q(&b, bs[i].q);
		sbuf_printf(&b, ";expires=%llu\r\n", (unsigned long long)(bs[i].expires - clock));
		live++;
	}
	free(order);
	if (b.oom)
		txn_reply(r, t, 500, "Server Internal Error", NULL);
	else if (live == 0)
		txn_reply(r, t, 480, "Temporarily Unavailable", NULL);
	else
		txn_reply(r, t, 302, "Moved Temporarily", b.p);
	sbuf_free(&b);
}

void redirect_handle(struct sip_registrar *r, struct sip_txn *t, const struct sip_msg *m)
{
	struct rd_name name;
	const char *reason = NULL;
	int rc = r->api->normalize(r->host, m->ruri, &name, &reason);
	if (rc == -ENAMETOOLONG) {
		txn_reply(r, t, 414, "Request-URI Too Long", NULL);
		return;
	}
	if (rc < 0) {
		txn_reply(r, t, 404, "Not Found: no such address of record", NULL);
		return;
	}
	bool invite = t->invite; /* an INVITE transaction outlives its reply; others may not */
	struct redirect_job *j = calloc(1, sizeof(*j));
	if (!j) {
		txn_reply(r, t, 500, "Server Internal Error", NULL);
		return;
	}
	j->job.done = redirect_done;
	j->job.free = redirect_free;
	if (job_start(r, t, &j->job, name.name) < 0) {
		txn_reply(r, t, 500, "Server Internal Error", NULL);
		return;
	}
	/* an INVITE still waiting for the DHT: stop its retransmissions (section 17.2.1) */
	if (invite && t->state == TXN_PENDING)
		txn_provisional(r, t, 100, "Trying");
}

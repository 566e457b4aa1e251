/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The h323 fallback: find a domain's H.323 entities in ordinary DNS, the way H.323 Annex O does. */
#include "plugins/h323/h323.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * DESIGN
 * For a name h323:alias@domain with no live binding, Annex O publishes a
 * domain's H.323 entities as SRV records. All three are asked at once:
 *  1. _h323ls._udp.<domain>: the location service, the gatekeeper or border
 *     element that answers an LRQ for the alias. First: a location request
 *     lets the domain itself say where the alias is now, which is what a
 *     gatekeeper-routed lookup wants.
 *  2. _h323cs._tcp.<domain>: call signalling, where a Setup may go directly
 *     (Annex O gives it to entities that cannot run a location transaction;
 *     a client that prefers it can pick the results by their via).
 *  3. _h323rs._udp.<domain>: the registration service, the domain's
 *     gatekeeper RAS address; last, as a gatekeeper to send an LRQ to when
 *     the domain publishes no location service.
 * Within one service, records go by priority, then by weight (heaviest
 * first: a deterministic order instead of RFC 2782's random pick). A "."
 * target (RFC 2782: the service is decidedly not available) is skipped. If
 * no SRV record exists at all, A and AAAA of the domain itself are asked,
 * with port 1720 (call signalling). A name with an explicit port skips SRV
 * (the port says where to go), and a name whose host is an IP address or
 * which has no host gets -ENOTSUP: there is nothing to look up.
 *
 * Results are URLs valid under RFC 3508 that keep the alias and say where to
 * direct it: "h323:carol@gk.example.net:1719" ("hostport ... to which H.323
 * calls may be directed or for which services may be performed", RFC 3508
 * section 3), "h323:@gk.example.net:1719" for a name without alias, and
 * "h323:carol@[2001:db8::1]:1720" for addresses. The port is always written.
 * q goes down from RD_Q_MAX in result order; ttl is the record's own TTL.
 *
 * Lifetime. Each fallback is a struct h323_lookup on the state's list; it
 * ends when its last query answers (the callback runs once, then it is
 * freed), or in deinit, where h323_fallback_cancel_all() completes it with
 * -ECANCELED. The host drops the queries still in flight after deinit
 * without calling back, so a freed lookup is never reached. Loop thread only.
 */

enum { Q_LS, Q_CS, Q_RS, Q_A, Q_AAAA, N_QUERIES };

/** What each query asks, and how its results are labelled. */
static const struct {
	const char *prefix;     /**< prepended to the domain: "_h323ls._udp." */
	enum rd_dns_type type;
	const char *via;        /**< rd_target.via */
} query_kind[N_QUERIES] = {
	[Q_LS] = {"_h323ls._udp.", RD_DNS_SRV, "SRV _h323ls._udp"},
	[Q_CS] = {"_h323cs._tcp.", RD_DNS_SRV, "SRV _h323cs._tcp"},
	[Q_RS] = {"_h323rs._udp.", RD_DNS_SRV, "SRV _h323rs._udp"},
	[Q_A] = {"", RD_DNS_A, "A"},
	[Q_AAAA] = {"", RD_DNS_AAAA, "AAAA"},
};

/** One answer record kept until the lookup ends. */
struct found {
	uint16_t priority, weight, port; /**< SRV; port also for A/AAAA */
	uint32_t ttl;
	char *where;                     /**< owned: SRV target, or the address ("[v6]" bracketed) */
};

/** One DNS query of a lookup: the ud of its dns_query(). */
struct query_slot {
	struct h323_lookup *lk; /**< back pointer */
	int status;             /**< 1 while in flight, then the dns callback's status */
	struct found *rr;       /**< owned, n entries */
	size_t n;
};

/** One fallback in flight. */
struct h323_lookup {
	struct h323_lookup *prev, *next; /**< on h323_state.lookups */
	struct h323_state *st;           /**< borrowed */
	rd_fallback_cb cb;
	void *ud;
	char prefix[RD_NAME_MAX + 1];    /**< "h323:" alias "@": the start of every result URL */
	char host[RD_HOST_MAX + 1];      /**< the domain */
	uint16_t port;                   /**< the name's explicit port, or H323_DEFAULT_PORT */
	unsigned pending;                /**< queries in flight */
	struct query_slot q[N_QUERIES];
};

/** Take @p lk off its state's list of lookups in flight. */
static void lookup_unlink(struct h323_lookup *lk)
{
	if (lk->prev != NULL)
		lk->prev->next = lk->next;
	else
		lk->st->lookups = lk->next;
	if (lk->next != NULL)
		lk->next->prev = lk->prev;
	lk->prev = lk->next = NULL;
}

/** Free @p lk and every record it kept. It must be unlinked. */
static void lookup_free(struct h323_lookup *lk)
{
	for (size_t i = 0; i < N_QUERIES; i++) {
		for (size_t j = 0; j < lk->q[i].n; j++)
			free(lk->q[i].rr[j].where);
		free(lk->q[i].rr);
	}
	free(lk);
}

/** SRV order within one service: priority ascending, then weight descending. */
static int found_cmp(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return (int)y->weight - (int)x->weight;
}

/** The error to report when no target was found: the most telling status of the queries asked. */
static int worst_status(const struct h323_lookup *lk, size_t from, size_t to)
{
	static const int rank[] = {-ECANCELED, -ETIMEDOUT, -EIO};

	for (size_t r = 0; r < sizeof(rank) / sizeof(rank[0]); r++) {
		for (size_t i = from; i < to; i++) {
			if (lk->q[i].status == rank[r])
				return rank[r];
		}
	}
	for (size_t i = from; i < to; i++) {
		if (lk->q[i].status < 0 && lk->q[i].status != -ENOENT)
			return -EIO;
	}
	return -ENOENT;
}

/** "<prefix><where>:<port>" in a new string, or NULL (ENOMEM). */
static char *target_url(const char *prefix, const struct found *f)
{
	size_t len = strlen(prefix) + strlen(f->where) + sizeof(":65535");
	char *url = malloc(len);

	if (url != NULL)
		snprintf(url, len, "%s%s:%u", prefix, f->where, (unsigned)f->port);
	return url;
}

/** Unlink @p lk, report @p n targets (built from queries [from, to)) or the error, free it. */
static void finish(struct h323_lookup *lk, size_t from, size_t to, size_t n)
{
	struct rd_target *t = n > 0 ? calloc(n, sizeof(*t)) : NULL;
	size_t k = 0;
	int status = n > 0 ? 0 : worst_status(lk, from, to);

	lookup_unlink(lk);
	if (n > 0 && t == NULL)
		status = -EIO;
	for (size_t i = from; status == 0 && i < to; i++) {
		for (size_t j = 0; status == 0 && j < lk->q[i].n; j++) {
			const struct found *f = &lk->q[i].rr[j];

			if (f->where == NULL)
				continue;
			t[k] = (struct rd_target){target_url(lk->prefix, f), (uint16_t)(RD_Q_MAX - k * RD_Q_MAX / n),
						  f->ttl, query_kind[i].via};
			status = t[k++].url != NULL ? 0 : -EIO;
		}
	}
	lk->cb(lk->ud, status, status == 0 ? t : NULL, status == 0 ? n : 0);
	for (size_t i = 0; i < k; i++)
		free((char *)t[i].url);
	free(t);
	lookup_free(lk);
}

static void on_answer(void *ud, int status, const struct rd_dns_rr *rrs, size_t n);

/** Ask query @p i. @return 0, or the dns_query error (the slot then holds it as its status). */
static int ask(struct h323_lookup *lk, size_t i)
{
	char qname[RD_HOST_MAX + 32];
	int err;

	snprintf(qname, sizeof(qname), "%s%s", query_kind[i].prefix, lk->host);
	lk->q[i] = (struct query_slot){.lk = lk, .status = 1};
	lk->pending++;
	err = lk->st->api->dns_query(lk->st->host, qname, query_kind[i].type, on_answer, &lk->q[i]);
	if (err < 0) {
		lk->pending--;
		lk->q[i].status = err;
	}
	return err;
}

/** Count the usable targets of queries [from, to); @p ret_any_rr says whether any record came at all. */
static size_t count_targets(const struct h323_lookup *lk, size_t from, size_t to, bool *ret_any_rr)
{
	size_t n = 0;

	*ret_any_rr = false;
	for (size_t i = from; i < to; i++) {
		for (size_t j = 0; j < lk->q[i].n; j++) {
			*ret_any_rr = true;
			n += lk->q[i].rr[j].where != NULL;
		}
	}
	return n;
}

/** Ask A and AAAA of the domain; finish at once if neither could be asked. */
static void ask_addresses(struct h323_lookup *lk)
{
	ask(lk, Q_A);
	ask(lk, Q_AAAA);
	if (lk->pending == 0)
		finish(lk, Q_A, N_QUERIES, 0);
}

/** Every SRV query has answered: report the targets, or go on to the addresses. */
static void srv_done(struct h323_lookup *lk)
{
	bool any_rr;
	size_t n = count_targets(lk, Q_LS, Q_A, &any_rr);

	if (n > 0 || any_rr || worst_status(lk, Q_LS, Q_A) != -ENOENT)
		finish(lk, Q_LS, Q_A, n);
	else
		ask_addresses(lk);
}

/** Keep the records of one answer in its slot. @return 0, -ENOMEM. */
static int keep(struct query_slot *s, size_t idx, const struct rd_dns_rr *rrs, size_t n, uint16_t port)
{
	s->rr = calloc(n, sizeof(*s->rr));
	if (s->rr == NULL)
		return -ENOMEM;
	for (size_t j = 0; j < n; j++) {
		const struct rd_dns_rr *rr = &rrs[j];
		struct found *f = &s->rr[s->n++];
		char buf[sizeof(rr->u.a.addr) + 2];
		const char *where = buf;

		f->ttl = rr->ttl;
		if (idx < Q_A) {
			f->priority = rr->u.srv.priority;
			f->weight = rr->u.srv.weight;
			f->port = rr->u.srv.port;
			/* "." means: decidedly not available here (RFC 2782). */
			where = strcmp(rr->u.srv.target, ".") == 0 || rr->u.srv.target[0] == '\0' ? NULL
												    : rr->u.srv.target;
		} else {
			f->port = port;
			snprintf(buf, sizeof(buf), idx == Q_AAAA ? "[%s]" : "%s", rr->u.a.addr);
		}
		if (where != NULL && (f->where = strdup(where)) == NULL)
			return -ENOMEM;
	}
	if (idx < Q_A)
		qsort(s->rr, s->n, sizeof(*s->rr), found_cmp);
	return 0;
}

/** The rd_dns_cb of every query: keep its records; the last one to answer moves the lookup on. */
static void on_answer(void *ud, int status, const struct rd_dns_rr *rrs, size_t n)
{
	struct query_slot *s = ud;
	struct h323_lookup *lk = s->lk;
	size_t idx = (size_t)(s - lk->q);
	size_t keep_n = 0;

	/* Only records of the asked type count (the ABI promises it; be sure). */
	for (size_t j = 0; status == 0 && j < n; j++)
		keep_n += rrs[j].type == query_kind[idx].type;
	if (status == 0 && keep_n != n)
		status = -EIO;
	if (status == 0 && n == 0)
		status = -ENOENT;
	if (status == 0 && keep(s, idx, rrs, n, lk->port) < 0) {
		for (size_t j = 0; j < s->n; j++)
			free(s->rr[j].where);
		free(s->rr);
		s->rr = NULL;
		s->n = 0;
		status = -EIO;
	}
	s->status = status;
	if (--lk->pending > 0)
		return;
	if (idx < Q_A)
		srv_done(lk);
	else
		finish(lk, Q_A, N_QUERIES, count_targets(lk, Q_A, N_QUERIES, &(bool){false}));
}

/** Fill lk->prefix, host and port from @p name. @return 0, -ENOTSUP (nothing to look up). */
static int lookup_target(struct h323_lookup *lk, const struct rd_name *name)
{
	const char *at = strchr(name->name, '@');
	const char *colon;
	unsigned long port = H323_DEFAULT_PORT;

	if (at == NULL || name->host[0] == '\0' || strchr(name->host, ':') != NULL ||
	    strspn(name->host, "0123456789.") == strlen(name->host))
		return -ENOTSUP;
	colon = strchr(at, ':');
	if (colon != NULL) {
		port = strtoul(colon + 1, NULL, 10);
		if (port == 0 || port > 65535)
			return -ENOTSUP;
	}
	snprintf(lk->prefix, sizeof(lk->prefix), "%.*s", (int)(at - name->name + 1), name->name);
	snprintf(lk->host, sizeof(lk->host), "%s", name->host);
	lk->port = (uint16_t)port;
	return colon != NULL;
}

int h323_fallback(void *state, const struct rd_name *name, rd_fallback_cb cb, void *ud)
{
	struct h323_state *st = state;
	struct h323_lookup *lk;
	int explicit_port;
	bool no_memory = false;

	if (st == NULL)
		return -ENOTSUP;
	lk = calloc(1, sizeof(*lk));
	if (lk == NULL)
		return -ENOMEM;
	explicit_port = lookup_target(lk, name);
	if (explicit_port < 0) {
		free(lk);
		return explicit_port;
	}
	lk->st = st;
	lk->cb = cb;
	lk->ud = ud;
	lk->next = st->lookups;
	if (st->lookups != NULL)
		st->lookups->prev = lk;
	st->lookups = lk;
	for (size_t i = explicit_port ? Q_A : Q_LS; i < (explicit_port ? N_QUERIES : Q_A); i++)
		no_memory |= ask(lk, i) == -ENOMEM;
	if (lk->pending == 0) {
		/* Nothing could be asked, so no callback is due. */
		lookup_unlink(lk);
		lookup_free(lk);
		return no_memory ? -ENOMEM : -ENOTSUP;
	}
	return 0;
}

void h323_fallback_cancel_all(struct h323_state *st)
{
	while (st->lookups != NULL) {
		struct h323_lookup *lk = st->lookups;

		lookup_unlink(lk);
		lk->cb(lk->ud, -ECANCELED, NULL, 0);
		lookup_free(lk);
	}
}

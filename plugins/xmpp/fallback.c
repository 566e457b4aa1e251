/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The RFC 6120 section 3.2 fallback: SRV for both XMPP services, A/AAAA on the domain when a service has none. */
#include "plugins/xmpp/fallback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * One fallback is one struct fallback_job, in two phases. Phase 1 asks the
 * SRV records of _xmpp-client._tcp.<domain> and _xmpp-server._tcp.<domain>
 * at once. When both have answered, phase 2 asks AAAA and A of <domain>,
 * only if a service answered "no such records" (-ENOENT): RFC 6120 3.2.1
 * falls back per service, and a service whose only SRV target is "." is
 * decidedly absent (RFC 2782) and gets no fallback. When the last query has
 * answered, the targets are built and the callback runs once. Each query's
 * user data is its slot in the job, so an answer finds its job and kind.
 */

enum slot_kind { SLOT_SRV_CLIENT, SLOT_SRV_SERVER, SLOT_AAAA, SLOT_A, SLOT_N };

/** One answer record we keep: an SRV target or an address. */
struct fallback_rec {
	char *host;         /**< owned: SRV target (lower case) or numeric address */
	uint16_t priority;  /**< SRV only */
	uint16_t weight;    /**< SRV only */
	uint16_t port;      /**< SRV only */
};

/** One DNS query of a job and its answer. */
struct fallback_slot {
	struct fallback_job *job;  /**< back pointer: the slot is the query's user data */
	bool asked;                /**< the query was started (or failed to start) */
	int status;                /**< its final status once answered: 0 or -errno */
	struct fallback_rec *recs; /**< owned, n of them; "." SRV targets kept (they count for ttl) */
	size_t n;
	uint32_t min_ttl;          /**< smallest TTL among the answer's records */
};

/** A fallback in flight. */
struct fallback_job {
	struct fallback_job *prev, *next; /**< in fb->jobs */
	struct xmpp_fallback *fb;         /**< borrowed: its owner */
	rd_fallback_cb cb;
	void *ud;                         /**< passed to cb */
	char domain[RD_HOST_MAX + 1];     /**< ASCII, lower case */
	struct fallback_slot slots[SLOT_N];
	unsigned pending;                 /**< queries started and not answered */
	bool addr_phase;                  /**< phase 2 was started */
};

/** One reported target with its storage. */
struct fallback_out {
	char url[RD_HOST_MAX + 24];
	char via[RD_HOST_MAX + 64];
};

static const struct {
	const char *service;  /**< SRV owner prefix */
	const char *kind;     /**< for via strings */
	uint16_t port;        /**< default port */
} services[2] = {
	{"_xmpp-client._tcp", "xmpp-client", FALLBACK_CLIENT_PORT},
	{"_xmpp-server._tcp", "xmpp-server", FALLBACK_SERVER_PORT},
};

void fallback_init(struct xmpp_fallback *fb, const struct rd_host_api *api, struct rd_host *host)
{
	*fb = (struct xmpp_fallback){.api = api, .host = host};
}

static void job_free(struct fallback_job *job)
{
	for (size_t k = 0; k < SLOT_N; k++) {
		for (size_t i = 0; i < job->slots[k].n; i++)
			free(job->slots[k].recs[i].host);
		free(job->slots[k].recs);
	}
	free(job);
}

static void job_unlink(struct fallback_job *job)
{
	if (job->prev != NULL)
		job->prev->next = job->next;
	else
		job->fb->jobs = job->next;
	if (job->next != NULL)
		job->next->prev = job->prev;
	job->prev = job->next = NULL;
}

void fallback_deinit(struct xmpp_fallback *fb)
{
	while (fb->jobs != NULL) {
		struct fallback_job *job = fb->jobs;

		job_unlink(job);
		job->cb(job->ud, -ECANCELED, NULL, 0);
		job_free(job);
	}
}

/** A name a URL can carry: LDH, '.' and '_' (c-ares escapes anything else). */
static bool is_plain_host(const char *s)
{
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '.' || *s == '_'))
			return false;
	}
	return true;
}

/** Copy the records of an answer into @p slot. @return 0, -ENOMEM. */
static int slot_store(struct fallback_slot *slot, const struct rd_dns_rr *rrs, size_t n)
{
	slot->recs = calloc(n, sizeof(*slot->recs));
	if (slot->recs == NULL)
		return -ENOMEM;
	slot->min_ttl = UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		struct fallback_rec *r = &slot->recs[slot->n];
		const char *h = rrs[i].type == RD_DNS_SRV ? rrs[i].u.srv.target : rrs[i].u.a.addr;

		r->host = strdup(h != NULL ? h : "");
		if (r->host == NULL)
			return -ENOMEM;
		for (char *c = r->host; *c != '\0'; c++)
			*c = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
		if (rrs[i].type == RD_DNS_SRV) {
			r->priority = rrs[i].u.srv.priority;
			r->weight = rrs[i].u.srv.weight;
			r->port = rrs[i].u.srv.port;
		}
		slot->n++;
		if (rrs[i].ttl < slot->min_ttl)
			slot->min_ttl = rrs[i].ttl;
	}
	return 0;
}

static void job_advance(struct fallback_job *job);

/** rd_dns_cb of every query: @p ud is its slot. */
static void on_dns(void *ud, int status, const struct rd_dns_rr *rrs, size_t n)
{
	struct fallback_slot *slot = ud;
	struct fallback_job *job = slot->job;

	slot->status = status;
	if (status == 0 && (n == 0 || slot_store(slot, rrs, n) < 0))
		slot->status = -EIO;
	job->pending--;
	if (job->pending == 0)
		job_advance(job);
}

/** Ask @p type of @p name for @p kind. A query that cannot start is answered -EIO at once. */
static void job_ask(struct fallback_job *job, enum slot_kind kind, const char *name, enum rd_dns_type type)
{
	struct fallback_slot *slot = &job->slots[kind];
	int err;

	slot->job = job;
	slot->asked = true;
	job->pending++;
	err = job->fb->api->dns_query(job->fb->host, name, type, on_dns, slot);
	if (err < 0) {
		job->pending--;
		slot->status = err == -ENOMEM ? -ENOMEM : -EIO;
	}
}

/** Does service @p svc fall back to the domain's addresses (it has no SRV records at all)? */
static bool wants_addresses(const struct fallback_job *job, int svc)
{
	return job->slots[svc].asked && job->slots[svc].status == -ENOENT;
}

static bool slot_is_dot(const struct fallback_rec *r)
{
	return r->host[0] == '\0' || strcmp(r->host, ".") == 0;
}

/** SRV records sort by priority (lower first), then weight (heavier first); stable. */
static bool srv_before(const struct fallback_rec *a, const struct fallback_rec *b)
{
	return a->priority < b->priority || (a->priority == b->priority && a->weight > b->weight);
}

/** Append service @p svc's SRV targets, best first. @return the new count. */
static size_t put_srv(const struct fallback_job *job, int svc, struct fallback_out *out, size_t n)
{
	const struct fallback_slot *slot = &job->slots[svc];
	const struct fallback_rec *order[FALLBACK_MAX_PER_KIND];
	size_t m = 0;

	/* Insertion into the best FALLBACK_MAX_PER_KIND so far; the worst drops off the end. */
	for (size_t i = 0; i < slot->n; i++) {
		const struct fallback_rec *r = &slot->recs[i];
		size_t j = m;

		if (slot_is_dot(r) || !is_plain_host(r->host))
			continue;
		while (j > 0 && srv_before(r, order[j - 1]))
			j--;
		if (j == FALLBACK_MAX_PER_KIND)
			continue;
		if (m < FALLBACK_MAX_PER_KIND)
			m++;
		memmove(&order[j + 1], &order[j], (m - 1 - j) * sizeof(order[0]));
		order[j] = r;
	}
	for (size_t i = 0; i < m; i++) {
		struct fallback_out *o = &out[n++];

		snprintf(o->url, sizeof(o->url), "tcp://%s:%u", order[i]->host, (unsigned)order[i]->port);
		snprintf(o->via, sizeof(o->via), "SRV %s.%s", services[svc].service, job->domain);
	}
	return n;
}

/** Append service @p svc's address targets, AAAA first, at its default port. @return the new count. */
static size_t put_addresses(const struct fallback_job *job, int svc, struct fallback_out *out, size_t n)
{
	size_t m = 0;

	for (enum slot_kind k = SLOT_AAAA; k <= SLOT_A; k++) {
		const struct fallback_slot *slot = &job->slots[k];

		for (size_t i = 0; slot->status == 0 && i < slot->n && m < FALLBACK_MAX_PER_KIND; i++, m++) {
			struct fallback_out *o = &out[n++];
			bool v6 = k == SLOT_AAAA;

			snprintf(o->url, sizeof(o->url), "tcp://%s%s%s:%u", v6 ? "[" : "", slot->recs[i].host,
				 v6 ? "]" : "", (unsigned)services[svc].port);
			snprintf(o->via, sizeof(o->via), "%s %s, no SRV %s", k == SLOT_AAAA ? "AAAA" : "A",
				 job->domain, services[svc].service);
		}
	}
	return n;
}

/** The status when no target was found: the worst DNS failure, or -ENOENT. */
static int job_failure(const struct fallback_job *job)
{
	int worst = -ENOENT;

	for (size_t k = 0; k < SLOT_N; k++) {
		int s = job->slots[k].asked ? job->slots[k].status : 0;

		if (s == -ECANCELED)
			return -ECANCELED;
		if (s == -ETIMEDOUT)
			worst = -ETIMEDOUT;
		else if (s != 0 && s != -ENOENT && worst == -ENOENT)
			worst = -EIO;
	}
	return worst;
}

/** The smallest TTL of every record the answer rests on. */
static uint32_t job_ttl(const struct fallback_job *job)
{
	uint32_t ttl = UINT32_MAX;

	for (size_t k = 0; k < SLOT_N; k++) {
		if (job->slots[k].asked && job->slots[k].status == 0 && job->slots[k].min_ttl < ttl)
			ttl = job->slots[k].min_ttl;
	}
	return ttl;
}

/** Run @p cb with @p n targets built from @p out, q falling by position. */
static void report(rd_fallback_cb cb, void *ud, const struct fallback_out *out, size_t n, uint32_t ttl)
{
	struct rd_target t[2 * FALLBACK_MAX_PER_KIND];

	for (size_t i = 0; i < n; i++) {
		t[i] = (struct rd_target){.url = out[i].url, .via = out[i].via, .ttl = ttl,
					  .q = (uint16_t)(RD_Q_MAX - RD_Q_MAX * i / n)};
	}
	cb(ud, 0, t, n);
}

/** Build the targets, run the callback once, free the job. */
static void job_finish(struct fallback_job *job)
{
	struct fallback_out *out = NULL;
	size_t n = 0;
	int status = job_failure(job);

	job_unlink(job);
	if (status != -ECANCELED)
		out = calloc(2 * FALLBACK_MAX_PER_KIND, sizeof(*out));
	for (int svc = 0; out != NULL && svc < 2; svc++) {
		if (job->slots[svc].status == 0)
			n = put_srv(job, svc, out, n);
		else if (wants_addresses(job, svc))
			n = put_addresses(job, svc, out, n);
	}
	if (n > 0)
		report(job->cb, job->ud, out, n, job_ttl(job));
	else
		job->cb(job->ud, out == NULL && status != -ECANCELED ? -EIO : status, NULL, 0);
	free(out);
	job_free(job);
}

/** All queries of a phase have answered: start phase 2, or finish. */
static void job_advance(struct fallback_job *job)
{
	if (!job->addr_phase && job_failure(job) != -ECANCELED &&
	    (wants_addresses(job, SLOT_SRV_CLIENT) || wants_addresses(job, SLOT_SRV_SERVER))) {
		job->addr_phase = true;
		job_ask(job, SLOT_AAAA, job->domain, RD_DNS_AAAA);
		job_ask(job, SLOT_A, job->domain, RD_DNS_A);
		if (job->pending > 0)
			return;
	}
	job_finish(job);
}

/** The targets of an IP-literal domain: both services on their default ports, reported at once. */
static void report_literal(const char *host, bool v6, rd_fallback_cb cb, void *ud)
{
	struct fallback_out out[2];

	for (int svc = 0; svc < 2; svc++) {
		snprintf(out[svc].url, sizeof(out[svc].url), "tcp://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
			 (unsigned)services[svc].port);
		snprintf(out[svc].via, sizeof(out[svc].via), "IP literal, %s default port", services[svc].kind);
	}
	report(cb, ud, out, 2, FALLBACK_LITERAL_TTL);
}

int fallback_start(struct xmpp_fallback *fb, const struct rd_name *name, rd_fallback_cb cb, void *ud)
{
	char srv[RD_HOST_MAX + 32];
	struct fallback_job *job;
	unsigned char addr[sizeof(struct in6_addr)];
	size_t len = strnlen(name->host, sizeof(name->host));

	if (len == 0 || len > RD_HOST_MAX)
		return -ENOTSUP;
	if (inet_pton(AF_INET6, name->host, addr) == 1 || inet_pton(AF_INET, name->host, addr) == 1) {
		report_literal(name->host, strchr(name->host, ':') != NULL, cb, ud);
		return 0;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return -ENOMEM;
	*job = (struct fallback_job){.fb = fb, .cb = cb, .ud = ud};
	memcpy(job->domain, name->host, len + 1);
	/* Linked first: an answer may only come after dns_query() returns, but deinit must find the job. */
	job->next = fb->jobs;
	if (fb->jobs != NULL)
		fb->jobs->prev = job;
	fb->jobs = job;
	for (int svc = 0; svc < 2; svc++) {
		snprintf(srv, sizeof(srv), "%s.%s", services[svc].service, job->domain);
		job_ask(job, (enum slot_kind)svc, srv, RD_DNS_SRV);
	}
	if (job->pending == 0) {
		int err = job->slots[0].status == -ENOMEM ? -ENOMEM : -ENOTSUP;

		job_unlink(job);
		job_free(job);
		return err;
	}
	return 0;
}

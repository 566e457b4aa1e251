/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Answers: RRsets from DHT records (dns_query_answer) and from configuration (apex SOA/NS, ANY, negatives). */
#include <errno.h>
#include <string.h>

#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/rrset.h>

#include "resolverd/dns/query_priv.h"
#include "resolverd/dns/rdata.h"

#define SOA_RDATA_MAX (2 * KNOT_DNAME_MAXLEN + 5 * 4) /**< two names and five 32-bit fields */
#define RR_FIXED 10     /**< TYPE, CLASS, TTL, RDLENGTH */
#define OWNER_PTR 2     /**< our answers' owner is always a pointer to the QNAME */

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/** TTL of the RRs built from configuration. */
static uint32_t zone_ttl(const struct dns_conf *conf)
{
	return min_u32(DNS_ZONE_TTL, conf->max_ttl);
}

static bool aa_of(const struct dns_query_priv *p)
{
	return p->zone != NULL;
}

/** Add one RR of @p len bytes of RDATA to @p rr. @return 0, -ENOMEM (arena full), or @p len if negative. */
static int add_rdata(struct dns_query *q, knot_rrset_t *rr, const uint8_t *data, int len)
{
	if (len < 0)
		return len;
	return knot_rrset_add_rdata(rr, data, (uint16_t)len, &q->priv->arena.mm) == KNOT_EOK ? 0 : -ENOMEM;
}

static int add_soa(struct dns_query *q, knot_rrset_t *rr)
{
	uint8_t buf[SOA_RDATA_MAX];

	return add_rdata(q, rr, buf, rdata_soa(q->priv->zone, buf, sizeof(buf)));
}

static int add_ns(struct dns_query *q, knot_rrset_t *rr)
{
	const struct dns_zone *zone = q->priv->zone;

	for (size_t i = 0; i < zone->n_ns; i++) {
		uint8_t buf[KNOT_DNAME_MAXLEN];
		int err = add_rdata(q, rr, buf, rdata_name(zone->ns[i], buf, sizeof(buf)));

		if (err < 0)
			return err;
	}
	return 0;
}

/** Finish with @p rr as the whole answer section (owner: the QNAME). */
static enum dns_step put_answer(struct dns_query *q, const knot_rrset_t *rr)
{
	struct dns_query_priv *p = q->priv;
	knot_pkt_t *resp = reply_begin(q);
	int err;

	if (resp == NULL)
		return reply_short(q, KNOT_RCODE_SERVFAIL, false, false);
	err = knot_pkt_put(resp, KNOT_COMPR_HINT_QNAME, rr, KNOT_PF_NOTRUNC);
	if (err != KNOT_EOK)
		return reply_put_failed(q, err, KNOT_RCODE_NOERROR, aa_of(p));
	return reply_finish(q, resp, KNOT_RCODE_NOERROR, aa_of(p));
}

enum dns_step answer_apex(struct dns_query *q)
{
	struct dns_query_priv *p = q->priv;
	uint16_t qtype = knot_pkt_qtype(p->query);
	knot_rrset_t rr;
	int err;

	knot_rrset_init(&rr, p->query->lower_qname, qtype, KNOT_CLASS_IN, zone_ttl(p->conf));
	err = qtype == KNOT_RRTYPE_SOA ? add_soa(q, &rr) : add_ns(q, &rr);
	if (err < 0)
		return reply_short(q, KNOT_RCODE_SERVFAIL, false, false);
	if (rr.rrs.count == 0)
		return answer_negative(q, KNOT_RCODE_NOERROR);
	return put_answer(q, &rr);
}

enum dns_step answer_any(struct dns_query *q)
{
	struct dns_query_priv *p = q->priv;
	uint8_t buf[16];
	knot_rrset_t rr;
	uint32_t ttl = min_u32(p->conf->max_ttl, DNS_ANY_TTL_MAX);

	knot_rrset_init(&rr, p->query->lower_qname, KNOT_RRTYPE_HINFO, KNOT_CLASS_IN, ttl);
	if (add_rdata(q, &rr, buf, rdata_hinfo_rfc8482(buf, sizeof(buf))) < 0)
		return reply_short(q, KNOT_RCODE_SERVFAIL, false, false);
	return put_answer(q, &rr);
}

/** The zone's SOA for the authority section of a negative answer (RFC 2308: TTL min(SOA TTL, MINIMUM)). */
static int negative_soa(struct dns_query *q, knot_rrset_t *rr)
{
	struct dns_query_priv *p = q->priv;
	knot_dname_t *apex = arena_alloc(&p->arena, KNOT_DNAME_MAXLEN);
	const char *text = p->zone->apex[0] == '\0' ? "." : p->zone->apex;

	if (apex == NULL)
		return -ENOMEM;
	if (knot_dname_from_str(apex, text, KNOT_DNAME_MAXLEN) == NULL)
		return -EINVAL;
	knot_dname_to_lower(apex);
	knot_rrset_init(rr, apex, KNOT_RRTYPE_SOA, KNOT_CLASS_IN,
			min_u32(p->zone->negative_ttl, zone_ttl(p->conf)));
	return add_soa(q, rr);
}

enum dns_step answer_negative(struct dns_query *q, uint16_t rcode)
{
	struct dns_query_priv *p = q->priv;
	knot_pkt_t *resp = reply_begin(q);
	knot_rrset_t soa;
	int err;

	if (resp == NULL)
		return reply_short(q, KNOT_RCODE_SERVFAIL, false, false);
	if (p->zone == NULL)
		return reply_finish(q, resp, rcode, false);
	if (negative_soa(q, &soa) < 0)
		return reply_short(q, KNOT_RCODE_SERVFAIL, false, false);
	err = knot_pkt_begin(resp, KNOT_AUTHORITY);
	if (err == KNOT_EOK)
		err = knot_pkt_put(resp, KNOT_COMPR_HINT_NONE, &soa, KNOT_PF_NOTRUNC);
	if (err != KNOT_EOK)
		return reply_put_failed(q, err, rcode, true);
	return reply_finish(q, resp, rcode, true);
}

/** Does a name of @p shape have RRs of @p qtype? */
static bool shape_serves(enum mapping_shape shape, uint16_t qtype)
{
	switch (shape) {
	case MAPPING_ENUM:
		return qtype == KNOT_RRTYPE_NAPTR;
	case MAPPING_BINDING:
		return qtype == KNOT_RRTYPE_URI || qtype == KNOT_RRTYPE_NAPTR || qtype == KNOT_RRTYPE_TXT;
	case MAPPING_SERVICE:
		return qtype == KNOT_RRTYPE_SRV;
	case MAPPING_HOST:
		return qtype == KNOT_RRTYPE_A || qtype == KNOT_RRTYPE_AAAA;
	}
	return false;
}

static bool is_live(const struct record *rec, uint64_t now)
{
	return rec != NULL && !rec->tombstone && rec->contact != NULL && rec->expires > now;
}

static bool any_live(const struct record *const *recs, size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		if (is_live(recs[i], now))
			return true;
	}
	return false;
}

/** Is the RDATA @p data of @p len bytes already among the @p size bytes of rdata at @p set? */
static bool is_duplicate(const uint8_t *set, size_t size, const uint8_t *data, int len)
{
	const uint8_t *end = set + size;

	while (set < end) {
		const knot_rdata_t *rd = (const knot_rdata_t *)set;

		if (rd->len == len && memcmp(rd->data, data, (size_t)len) == 0)
			return true;
		set += knot_rdata_size(rd->len);
	}
	return false;
}

/** An RRset written straight into the arena's free space, within a wire budget. */
struct rrset_build {
	uint8_t *base;  /**< from arena_open() */
	size_t avail;   /**< bytes usable at base */
	size_t size;    /**< bytes of knot_rdata_t written */
	size_t wire;    /**< wire bytes the RRs written will take */
	size_t budget;  /**< wire bytes allowed */
	uint32_t ttl;   /**< the lowest TTL of the RRs written (RFC 2181 5.2: one TTL per RRset) */
	uint16_t count;
	bool truncated; /**< a record's RR did not fit the budget */
};

/** Append the RR of @p rec unless it has none of @p qtype or repeats one. @return 0 or -ENOMEM. */
static int build_one(struct rrset_build *b, uint16_t qtype, const struct record *rec, uint64_t ttl)
{
	knot_rdata_t *rd = (knot_rdata_t *)(b->base + b->size);
	size_t room = b->avail - b->size;
	int len;

	if (room < sizeof(rd->len) + 1)
		return -ENOMEM;
	room -= sizeof(rd->len) + 1; /* the length, and the pad byte of an odd length */
	len = rdata_from_record(qtype, rec, rd->data, room < UINT16_MAX ? room : UINT16_MAX);
	if (len == -EINVAL || (len >= 0 && is_duplicate(b->base, b->size, rd->data, len)))
		return 0;
	if (len < 0)
		return -ENOMEM;
	if (b->wire + OWNER_PTR + RR_FIXED + (size_t)len > b->budget) {
		b->truncated = true;
		return 0;
	}
	rd->len = (uint16_t)len;
	if (len & 1)
		rd->data[len] = 0;
	b->size += knot_rdata_size(rd->len);
	b->wire += OWNER_PTR + RR_FIXED + (size_t)len;
	b->count++;
	b->ttl = min_u32(b->ttl, (uint32_t)ttl);
	return 0;
}

/** Build the RRset of the query's type from @p recs, best first, as many as fit reply_budget(). */
static int build_records(struct dns_query *q, const struct record *const *recs, size_t n, uint64_t now,
			 knot_rrset_t *rr, bool *ret_truncated)
{
	struct dns_query_priv *p = q->priv;
	struct rrset_build b = {.budget = reply_budget(q), .ttl = UINT32_MAX};

	b.base = arena_open(&p->arena, &b.avail);
	for (size_t i = 0; i < n && !b.truncated; i++) {
		uint64_t ttl;
		int err;

		if (!is_live(recs[i], now))
			continue;
		ttl = recs[i]->expires - now;
		err = build_one(&b, rr->type, recs[i], ttl < p->conf->max_ttl ? ttl : p->conf->max_ttl);
		if (err < 0)
			return err;
	}
	arena_commit(&p->arena, b.size);
	rr->rrs = (knot_rdataset_t){.count = b.count, .size = (uint32_t)b.size, .rdata = (knot_rdata_t *)b.base};
	rr->ttl = b.count > 0 ? b.ttl : 0;
	*ret_truncated = b.truncated;
	return 0;
}

/** Records exist: the RRs of the asked type, or NODATA. */
static enum dns_step answer_records(struct dns_query *q, const struct record *const *recs, size_t n,
				    uint64_t now)
{
	struct dns_query_priv *p = q->priv;
	uint16_t qtype = knot_pkt_qtype(p->query);
	knot_rrset_t rr;
	bool truncated = false;

	if (!shape_serves(p->shape, qtype))
		return answer_negative(q, KNOT_RCODE_NOERROR);
	knot_rrset_init(&rr, p->query->lower_qname, qtype, KNOT_CLASS_IN, 0);
	if (build_records(q, recs, n, now, &rr, &truncated) < 0)
		return reply_short(q, KNOT_RCODE_SERVFAIL, false, false);
	if (truncated && !p->tcp)
		return reply_short(q, KNOT_RCODE_NOERROR, aa_of(p), true);
	if (rr.rrs.count == 0)
		return answer_negative(q, KNOT_RCODE_NOERROR);
	return put_answer(q, &rr);
}

/** No live record: NXDOMAIN in a zone (NODATA at its apex, which exists), else forward or NXDOMAIN. */
static enum dns_step answer_nothing(struct dns_query *q)
{
	struct dns_query_priv *p = q->priv;

	if (p->zone != NULL)
		return answer_negative(q, p->apex ? KNOT_RCODE_NOERROR : KNOT_RCODE_NXDOMAIN);
	if (p->may_forward)
		return query_forward(q);
	return answer_negative(q, KNOT_RCODE_NXDOMAIN);
}

enum dns_step dns_query_answer(struct dns_query *q, bool ok, const struct record *const *recs, size_t n,
			       uint64_t now)
{
	struct dns_query_priv *p = q->priv;

	if (p == NULL || p->state != QUERY_LOOKUP)
		return DNS_STEP_DROP;
	p->state = QUERY_DONE;
	if (!ok)
		return reply_short(q, KNOT_RCODE_SERVFAIL, false, false);
	if (recs == NULL || !any_live(recs, n, now))
		return answer_nothing(q);
	return answer_records(q, recs, n, now);
}

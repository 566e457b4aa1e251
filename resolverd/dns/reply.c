/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Response framing: header flags, the echoed question, our OPT and truncation. */
#include <errno.h>
#include <string.h>

#include <libknot/errcode.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/opt.h>

#include "resolverd/dns/query_priv.h"

uint16_t reply_payload(const struct dns_conf *conf)
{
	uint16_t payload = conf->edns_payload != 0 ? conf->edns_payload : DNS_DEFAULT_PAYLOAD;

	return payload < DNS_UDP_MIN ? DNS_UDP_MIN : payload;
}

void reply_write_opt(uint8_t *p, uint16_t payload, uint8_t ext_rcode, bool dnssec_ok)
{
	p[0] = 0; /* owner: the root */
	knot_wire_write_u16(p + 1, KNOT_RRTYPE_OPT);
	knot_wire_write_u16(p + 3, payload);
	p[5] = ext_rcode;
	p[6] = KNOT_EDNS_VERSION;
	knot_wire_write_u16(p + 7, dnssec_ok ? KNOT_EDNS_DO_MASK : 0);
	knot_wire_write_u16(p + 9, 0);
}

/**
 * Set the header flags of a response in @p w: QR, the query's opcode, RD and
 * CD copied (RFC 1035, RFC 4035 3.1.6), RA iff the client may forward, the
 * low bits of @p rcode.
 */
static void set_flags(const struct dns_query_priv *p, uint8_t *w, uint16_t rcode, bool aa, bool tc)
{
	uint8_t f1 = p->qwire[2];
	uint8_t f2 = p->qwire[3];

	f1 = KNOT_WIRE_QR_MASK | (f1 & (KNOT_WIRE_OPCODE_MASK | KNOT_WIRE_RD_MASK));
	if (aa)
		f1 |= KNOT_WIRE_AA_MASK;
	if (tc)
		f1 |= KNOT_WIRE_TC_MASK;
	f2 = (uint8_t)((f2 & KNOT_WIRE_CD_MASK) | KNOT_EDNS_RCODE_LO(rcode));
	if (p->may_forward)
		f2 |= KNOT_WIRE_RA_MASK;
	knot_wire_set_flags1(w, f1);
	knot_wire_set_flags2(w, f2);
}

/** Append our OPT at @p w + *len if the query had EDNS, counting it in ARCOUNT. */
static void append_opt(const struct dns_query_priv *p, uint8_t *w, size_t *len, uint16_t rcode)
{
	if (!p->edns)
		return;
	reply_write_opt(w + *len, reply_payload(p->conf), (uint8_t)KNOT_EDNS_RCODE_HI(rcode), p->edns_do);
	*len += KNOT_EDNS_MIN_SIZE;
	knot_wire_add_arcount(w, 1);
}

static enum dns_step done(struct dns_query *q, size_t len, uint16_t rcode)
{
	q->out = q->priv->rwire;
	q->out_len = len;
	q->rcode = rcode > UINT8_MAX ? UINT8_MAX : (uint8_t)rcode;
	q->priv->state = QUERY_DONE;
	return DNS_STEP_REPLY;
}

enum dns_step reply_header_only(struct dns_query *q, uint8_t rcode)
{
	struct dns_query_priv *p = q->priv;
	uint8_t *w = p->rwire;

	memset(w, 0, KNOT_WIRE_HEADER_SIZE);
	knot_wire_set_id(w, knot_wire_get_id(p->qwire));
	knot_wire_set_flags1(w, KNOT_WIRE_QR_MASK | (p->qwire[2] & KNOT_WIRE_OPCODE_MASK));
	knot_wire_set_flags2(w, rcode & KNOT_WIRE_RCODE_MASK);
	return done(q, KNOT_WIRE_HEADER_SIZE, rcode);
}

enum dns_step reply_short(struct dns_query *q, uint16_t rcode, bool aa, bool tc)
{
	struct dns_query_priv *p = q->priv;
	uint8_t *w = p->rwire;
	size_t len = KNOT_WIRE_HEADER_SIZE;

	memset(w, 0, KNOT_WIRE_HEADER_SIZE);
	knot_wire_set_id(w, knot_wire_get_id(p->qwire));
	set_flags(p, w, rcode, aa, tc);
	if (p->question_len > 0) {
		memcpy(w + len, p->qwire + len, p->question_len);
		len += p->question_len;
		knot_wire_set_qdcount(w, 1);
	}
	append_opt(p, w, &len, rcode);
	return done(q, len, rcode);
}

knot_pkt_t *reply_begin(struct dns_query *q)
{
	struct dns_query_priv *p = q->priv;
	knot_pkt_t *resp = knot_pkt_new(p->rwire, (uint16_t)p->max_size, &p->arena.mm);

	if (resp == NULL || knot_pkt_init_response(resp, p->query) != KNOT_EOK)
		return NULL;
	if (p->edns && knot_pkt_reserve(resp, KNOT_EDNS_MIN_SIZE) != KNOT_EOK)
		return NULL;
	return resp;
}

enum dns_step reply_finish(struct dns_query *q, knot_pkt_t *resp, uint16_t rcode, bool aa)
{
	struct dns_query_priv *p = q->priv;
	size_t len = resp->size;

	set_flags(p, resp->wire, rcode, aa, false);
	append_opt(p, resp->wire, &len, rcode);
	return done(q, len, rcode);
}

enum dns_step reply_put_failed(struct dns_query *q, int err, uint16_t rcode, bool aa)
{
	if (err == KNOT_ESPACE && !q->priv->tcp)
		return reply_short(q, rcode, aa, true);
	return reply_short(q, KNOT_RCODE_SERVFAIL, false, false);
}

size_t reply_budget(const struct dns_query *q)
{
	const struct dns_query_priv *p = q->priv;
	size_t used = KNOT_WIRE_HEADER_SIZE + p->question_len + (p->edns ? KNOT_EDNS_MIN_SIZE : 0);

	return p->max_size > used ? p->max_size - used : 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The DNS protocol core: checks a query and decides how it is answered (see query.h). */
#include "resolverd/dns/query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/opt.h>

#include "resolverd/dns/query_priv.h"

/*
 * DESIGN
 * The checks run in the order a query's faults are reported (as Knot DNS
 * does): no reply to what is not a query; NOTIMP for an opcode other than
 * QUERY; FORMERR for what libknot cannot parse or a QDCOUNT other than 1;
 * BADVERS for EDNS above version 0; REFUSED for our own forwarded query coming
 * back, a TSIG (we hold no keys), a class other than IN or ANY and zone
 * transfers; then the name decides: zone data, RFC 8482 ANY, a DHT lookup,
 * forwarding or REFUSED. The split: reply.c frames responses, answer.c builds
 * answers, relay.c copies upstream responses, mapping.c maps names, rdata.c
 * encodes RDATA, arena.c holds every allocation of a query.
 */

#define RCODE_NONE (-1) /**< a check found nothing to report */
#define QTYPE_MAILB 253
#define QTYPE_MAILA 254

int dns_query_init(struct dns_query *q)
{
	struct dns_query_priv *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	p->qwire = malloc(DNS_MAX_MSG);
	p->rwire = malloc(DNS_MAX_MSG);
	if (p->qwire == NULL || p->rwire == NULL || arena_init(&p->arena, DNS_ARENA_CAP) < 0)
		goto out_free;
	*q = (struct dns_query){.priv = p};
	return 0;

out_free:
	free(p->qwire);
	free(p->rwire);
	free(p);
	return -ENOMEM;
}

int dns_query_enable_memo(struct dns_query *q)
{
	struct dns_query_priv *p = q->priv;

	if (p->memo == NULL && (p->memo = mapping_memo_new()) == NULL)
		return -ENOMEM;
	return 0;
}

void dns_query_deinit(struct dns_query *q)
{
	struct dns_query_priv *p = q->priv;

	if (p != NULL) {
		arena_deinit(&p->arena);
		mapping_memo_free(p->memo);
		free(p->qwire);
		free(p->rwire);
		free(p);
	}
	*q = (struct dns_query){0};
}

/** Forget the previous query. */
static void reset(struct dns_query *q, const struct dns_conf *conf, bool tcp)
{
	struct dns_query_priv *p = q->priv;

	arena_reset(&p->arena);
	p->qlen = 0;
	p->query = NULL;
	p->conf = conf;
	p->zone = NULL;
	p->state = QUERY_DONE;
	p->question_len = 0;
	p->max_size = tcp ? DNS_MAX_MSG : DNS_UDP_MIN;
	p->tcp = tcp;
	p->apex = p->edns = p->edns_do = p->may_forward = false;
	q->out = q->fwd = NULL;
	q->out_len = q->fwd_len = 0;
	q->lookup.kind = 0;
	q->lookup.name[0] = q->lookup.host[0] = '\0';
	q->qtype = 0;
	q->rcode = 0;
}

/** Does the OPT carry conf's loop option with exactly conf's nonce? (Options were checked by the parser.) */
static bool is_our_loop(const struct dns_conf *conf, const knot_rrset_t *opt)
{
	const knot_rdata_t *rd = opt->rrs.rdata;
	size_t off = 0;

	if (conf->loop_nonce == NULL || opt->rrs.count == 0)
		return false;
	while (rd->len - off >= KNOT_EDNS_OPTION_HDRLEN) {
		uint16_t code = knot_wire_read_u16(rd->data + off);
		uint16_t len = knot_wire_read_u16(rd->data + off + 2);

		off += KNOT_EDNS_OPTION_HDRLEN;
		if (len > rd->len - off)
			return false;
		if (code == conf->loop_opt_code && len == conf->loop_nonce_len &&
		    memcmp(rd->data + off, conf->loop_nonce, len) == 0)
			return true;
		off += len;
	}
	return false;
}

/** EDNS (RFC 6891): our size limit, BADVERS, and the loop check. */
static int check_edns(struct dns_query *q)
{
	struct dns_query_priv *p = q->priv;
	const knot_rrset_t *opt = p->query->opt_rr;
	uint16_t payload;

	if (opt == NULL)
		return RCODE_NONE;
	if (opt->owner == NULL || opt->owner[0] != 0)
		return KNOT_RCODE_FORMERR;
	p->edns = true;
	p->edns_do = knot_edns_do(opt);
	/* RFC 6891 6.2.5: a payload below 512 counts as 512; we never send more than our own. */
	payload = knot_edns_get_payload(opt);
	if (payload > reply_payload(p->conf))
		payload = reply_payload(p->conf);
	if (!p->tcp)
		p->max_size = payload < DNS_UDP_MIN ? DNS_UDP_MIN : payload;
	if (knot_edns_get_version(opt) != KNOT_EDNS_VERSION)
		return KNOT_RCODE_BADVERS;
	if (is_our_loop(p->conf, opt))
		return KNOT_RCODE_REFUSED;
	return RCODE_NONE;
}

/** Parse the query with libknot. @return an RCODE to answer with, or RCODE_NONE. */
static int parse_query(struct dns_query *q)
{
	struct dns_query_priv *p = q->priv;
	int err, rcode;

	p->query = knot_pkt_new(p->qwire, (uint16_t)p->qlen, &p->arena.mm);
	if (p->query == NULL)
		return KNOT_RCODE_SERVFAIL;
	err = knot_pkt_parse(p->query, KNOT_PF_KEEPWIRE);
	if (err != KNOT_EOK) {
		/* Echo the question if it alone parses (RFC 1035 4.1.1 leaves it open; Knot DNS does). */
		if (knot_pkt_parse_question(p->query) == KNOT_EOK && p->query->qname_size > 0)
			p->question_len = p->query->qname_size + 4u;
		return p->arena.exhausted ? KNOT_RCODE_SERVFAIL : KNOT_RCODE_FORMERR;
	}
	/* EDNS first, so that even a FORMERR for a missing question carries our OPT. */
	rcode = check_edns(q);
	if (p->query->qname_size == 0)
		return KNOT_RCODE_FORMERR;
	p->question_len = p->query->qname_size + 4u;
	q->qtype = knot_pkt_qtype(p->query);
	return rcode;
}

/** What we refuse or do not implement, by TSIG, class and type. */
static int check_question(const struct dns_query_priv *p)
{
	uint16_t qclass = knot_pkt_qclass(p->query);

	if (p->query->tsig_rr != NULL)
		return KNOT_RCODE_REFUSED;
	if (qclass != KNOT_CLASS_IN && qclass != KNOT_CLASS_ANY)
		return KNOT_RCODE_REFUSED;
	switch (knot_pkt_qtype(p->query)) {
	case KNOT_RRTYPE_OPT:
	case KNOT_RRTYPE_TKEY:
	case KNOT_RRTYPE_TSIG:
		return KNOT_RCODE_FORMERR; /* types that only exist in the additional section */
	case KNOT_RRTYPE_AXFR:
	case KNOT_RRTYPE_IXFR:
		return KNOT_RCODE_REFUSED; /* no zone transfers: zone contents live in the DHT */
	case QTYPE_MAILA:
	case QTYPE_MAILB:
		return KNOT_RCODE_NOTIMPL;
	default:
		return RCODE_NONE;
	}
}

enum dns_step query_forward(struct dns_query *q)
{
	q->fwd = q->priv->qwire;
	q->fwd_len = q->priv->qlen;
	q->priv->state = QUERY_FORWARD;
	return DNS_STEP_FORWARD;
}

/** Map the QNAME: at a zone apex every type but SOA and NS is a RECORD_HOST lookup. */
static int map_qname(struct dns_query *q, const knot_dname_t *qname)
{
	struct dns_query_priv *p = q->priv;

	if (p->apex) {
		p->shape = MAPPING_HOST;
		return mapping_host(qname, &q->lookup);
	}
	return mapping_lookup(p->conf, qname, p->zone != NULL, p->memo, &q->lookup, &p->shape);
}

/** A well-formed query: decide by name and type. */
static enum dns_step dispatch(struct dns_query *q)
{
	struct dns_query_priv *p = q->priv;
	const knot_dname_t *qname = knot_pkt_qname(p->query);
	int err;

	p->zone = mapping_zone(p->conf, qname, &p->apex);
	if (p->apex && (q->qtype == KNOT_RRTYPE_SOA || q->qtype == KNOT_RRTYPE_NS))
		return answer_apex(q);
	err = map_qname(q, qname);
	if (err == -ENOMEM)
		return reply_short(q, KNOT_RCODE_SERVFAIL, false, false);
	if (q->qtype == KNOT_RRTYPE_ANY && (err == 0 || p->zone != NULL))
		return answer_any(q);
	if (err == 0) {
		p->state = QUERY_LOOKUP;
		return DNS_STEP_LOOKUP;
	}
	/* No record can have this name. */
	if (p->zone != NULL)
		return answer_negative(q, p->apex ? KNOT_RCODE_NOERROR : KNOT_RCODE_NXDOMAIN);
	if (p->may_forward)
		return query_forward(q);
	return reply_short(q, KNOT_RCODE_REFUSED, false, false);
}

enum dns_step dns_query_begin(struct dns_query *q, const struct dns_conf *conf, const uint8_t *wire,
			      size_t len, bool tcp, const struct sockaddr *client)
{
	struct dns_query_priv *p = q->priv;
	int rcode;

	if (p == NULL || conf == NULL || wire == NULL)
		return DNS_STEP_DROP;
	reset(q, conf, tcp);
	if (len < KNOT_WIRE_HEADER_SIZE || len > DNS_MAX_MSG || knot_wire_get_qr(wire))
		return DNS_STEP_DROP;
	memcpy(p->qwire, wire, len);
	p->qlen = len;
	p->may_forward = conf->may_forward != NULL && conf->may_forward(conf->may_forward_ud, client);
	if (knot_wire_get_opcode(wire) != KNOT_OPCODE_QUERY)
		return reply_header_only(q, KNOT_RCODE_NOTIMPL);
	rcode = parse_query(q);
	if (rcode == RCODE_NONE)
		rcode = check_question(p);
	if (rcode != RCODE_NONE)
		return reply_short(q, (uint16_t)rcode, false, false);
	return dispatch(q);
}

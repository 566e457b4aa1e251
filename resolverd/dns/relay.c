/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The client's copy of an upstream response: dns_query_forwarded(). */
#include <errno.h>
#include <string.h>

#include <libknot/descriptor.h>
#include <libknot/dname.h>
#include <libknot/errcode.h>
#include <libknot/packet/rrset-wire.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/opt.h>

#include "resolverd/dns/query_priv.h"

/** What the client gets of an upstream response: its sections up to, not including, its OPT. */
struct upstream {
	size_t body_start;  /**< first byte after the question */
	size_t body_end;    /**< the upstream's OPT, or the end of its last RR */
	uint16_t an;        /**< ANCOUNT */
	uint16_t ns;        /**< NSCOUNT */
	uint16_t ar;        /**< additional RRs before the OPT (those after it are dropped) */
	uint8_t ext_rcode;  /**< from the upstream's OPT */
};

/** Does the upstream's header and question answer the client's question? */
static bool same_question(const struct dns_query_priv *p, const uint8_t *resp, size_t len)
{
	size_t qlen = p->question_len;
	int name_len;

	if (len < KNOT_WIRE_HEADER_SIZE || len > DNS_MAX_MSG || qlen == 0 || !knot_wire_get_qr(resp) ||
	    knot_wire_get_opcode(resp) != KNOT_OPCODE_QUERY || knot_wire_get_qdcount(resp) != 1)
		return false;
	name_len = knot_dname_wire_check(resp + KNOT_WIRE_HEADER_SIZE, resp + len, NULL);
	if (name_len <= 0 || (size_t)name_len + 4 != qlen || KNOT_WIRE_HEADER_SIZE + qlen > len)
		return false;
	return knot_dname_is_case_equal(resp + KNOT_WIRE_HEADER_SIZE, p->qwire + KNOT_WIRE_HEADER_SIZE) &&
	       memcmp(resp + KNOT_WIRE_HEADER_SIZE + name_len, p->qwire + KNOT_WIRE_HEADER_SIZE + name_len,
		      4) == 0;
}

/**
 * Parse the RRs of the three sections one at a time (each in arena memory
 * released at once, so a response of any size fits) and find the OPT.
 * @return 0, or -EBADMSG if the response is malformed.
 */
static int scan_rrs(struct dns_query_priv *p, const uint8_t *resp, size_t len, struct upstream *up)
{
	size_t pos = up->body_start;
	size_t mark = arena_mark(&p->arena);
	uint16_t counts[3] = {knot_wire_get_ancount(resp), knot_wire_get_nscount(resp),
			      knot_wire_get_arcount(resp)};

	up->an = counts[0];
	up->ns = counts[1];
	up->ar = counts[2];
	for (int s = 0; s < 3; s++) {
		for (uint16_t i = 0; i < counts[s]; i++) {
			size_t start = pos;
			knot_rrset_t rr;
			int err;

			knot_rrset_init_empty(&rr);
			err = knot_rrset_rr_from_wire(resp, &pos, len, &rr, &p->arena.mm, false);
			arena_rewind(&p->arena, mark);
			/* We sign no queries: a TSIG cannot answer ours. */
			if (err != KNOT_EOK || rr.type == KNOT_RRTYPE_TSIG ||
			    (rr.type == KNOT_RRTYPE_OPT && s != 2))
				return -EBADMSG;
			if (rr.type == KNOT_RRTYPE_OPT) {
				/* Ours replaces it; what follows it is additional data we may drop (RFC 2181 9). */
				up->ar = i;
				up->body_end = start;
				up->ext_rcode = (uint8_t)(rr.ttl >> 24);
				return 0;
			}
		}
	}
	up->body_end = pos;
	return 0;
}

/**
 * Check that @p count RRs fill @p wire from @p start to exactly @p end. Run on
 * our copy: a compression pointer into the header, whose id, flags and counts
 * differ from the upstream's, could make it malformed.
 * @return 0 or -EBADMSG.
 */
static int check_copy(struct dns_query_priv *p, const uint8_t *wire, size_t start, size_t end, unsigned count)
{
	size_t mark = arena_mark(&p->arena);
	size_t pos = start;

	for (unsigned i = 0; i < count; i++) {
		knot_rrset_t rr;
		int err;

		knot_rrset_init_empty(&rr);
		err = knot_rrset_rr_from_wire(wire, &pos, end, &rr, &p->arena.mm, false);
		arena_rewind(&p->arena, mark);
		if (err != KNOT_EOK)
			return -EBADMSG;
	}
	return pos == end ? 0 : -EBADMSG;
}

/**
 * Write the client's response to rwire: @p resp with the client's id, RD and
 * question, and our OPT. @return its length.
 */
static size_t write_relay(struct dns_query_priv *p, const uint8_t *resp, struct upstream *up, bool tc)
{
	uint8_t *w = p->rwire;
	size_t len = up->body_start;

	memcpy(w, resp, KNOT_WIRE_HEADER_SIZE);
	knot_wire_set_id(w, knot_wire_get_id(p->qwire));
	w[2] = (uint8_t)((w[2] & ~KNOT_WIRE_RD_MASK) | (p->qwire[2] & KNOT_WIRE_RD_MASK));
	/* We recurse for this client (only such clients are forwarded for) and are
	 * not the authority for what we relay: RA set, AA clear, as a resolver answers. */
	knot_wire_set_ra(w);
	knot_wire_clear_aa(w);
	memcpy(w + KNOT_WIRE_HEADER_SIZE, p->qwire + KNOT_WIRE_HEADER_SIZE, p->question_len);
	if (tc) {
		knot_wire_set_tc(w);
		up->an = up->ns = up->ar = 0;
	} else {
		memcpy(w + len, resp + up->body_start, up->body_end - up->body_start);
		len += up->body_end - up->body_start;
	}
	knot_wire_set_ancount(w, up->an);
	knot_wire_set_nscount(w, up->ns);
	knot_wire_set_arcount(w, (uint16_t)(up->ar + (p->edns ? 1 : 0)));
	if (p->edns) {
		reply_write_opt(w + len, reply_payload(p->conf), up->ext_rcode, p->edns_do);
		len += KNOT_EDNS_MIN_SIZE;
	}
	return len;
}

enum dns_step dns_query_forwarded(struct dns_query *q, const uint8_t *resp, size_t len)
{
	struct dns_query_priv *p = q->priv;
	struct upstream up = {0};
	size_t total, out_len;
	uint16_t rcode;
	bool tc;

	if (p == NULL || p->state != QUERY_FORWARD)
		return DNS_STEP_DROP;
	p->state = QUERY_DONE;
	if (resp == NULL || !same_question(p, resp, len))
		return reply_short(q, KNOT_RCODE_SERVFAIL, false, false);
	up.body_start = KNOT_WIRE_HEADER_SIZE + p->question_len;
	if (scan_rrs(p, resp, len, &up) < 0 || (up.ext_rcode != 0 && !p->edns))
		return reply_short(q, KNOT_RCODE_SERVFAIL, false, false);
	/* A response that does not fit is cut to its question (RFC 2181 9): the client retries over TCP. */
	total = up.body_end + (p->edns ? KNOT_EDNS_MIN_SIZE : 0);
	tc = total > p->max_size;
	out_len = write_relay(p, resp, &up, tc);
	if (!tc && check_copy(p, p->rwire, up.body_start, up.body_end, (unsigned)up.an + up.ns + up.ar) < 0)
		return reply_short(q, KNOT_RCODE_SERVFAIL, false, false);
	q->out = p->rwire;
	q->out_len = out_len;
	rcode = knot_edns_whole_rcode(up.ext_rcode, knot_wire_get_rcode(resp));
	q->rcode = rcode > UINT8_MAX ? UINT8_MAX : (uint8_t)rcode;
	return DNS_STEP_REPLY;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* State of one DNS query shared by query.c, reply.c, answer.c and relay.c; not part of the contract. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/packet/pkt.h>

#include "resolverd/dns/arena.h"
#include "resolverd/dns/mapping.h"
#include "resolverd/dns/query.h"

#define DNS_ARENA_CAP (256 * 1024) /**< per-query memory cap: past it the query is SERVFAIL */
#define DNS_UDP_MIN 512            /**< RFC 1035 UDP size, and the floor of EDNS payloads */
#define DNS_DEFAULT_PAYLOAD 1232   /**< our EDNS payload when dns_conf.edns_payload is 0 */
#define DNS_ANY_TTL_MAX 3600       /**< cap on the TTL of the RFC 8482 HINFO */
#define DNS_ZONE_TTL 3600          /**< TTL of the SOA and NS from configuration, before max_ttl */

/** Where a query stands between the calls of query.h. */
enum query_state {
	QUERY_DONE = 0, /**< a step other than LOOKUP/FORWARD was returned; nothing to finish */
	QUERY_LOOKUP,   /**< waiting for dns_query_answer() */
	QUERY_FORWARD,  /**< waiting for dns_query_forwarded() */
};

struct dns_query_priv {
	struct arena arena;            /**< owned; reset by every dns_query_begin() */
	uint8_t *qwire;                /**< owned, DNS_MAX_MSG bytes: the query as received */
	size_t qlen;
	uint8_t *rwire;                /**< owned, DNS_MAX_MSG bytes: the response (q->out points here) */
	knot_pkt_t *query;             /**< in the arena: the parsed query, or NULL */
	const struct dns_conf *conf;   /**< borrowed for the query */
	const struct dns_zone *zone;   /**< DHT zone holding the QNAME (borrowed from conf), or NULL */
	enum mapping_shape shape;      /**< shape of q->lookup (LOOKUP only) */
	struct mapping_memo *memo;     /**< owned, or NULL: see dns_query_enable_memo() */
	enum query_state state;
	size_t question_len;           /**< bytes of the question to echo after the header (0: none) */
	size_t max_size;               /**< size limit of the response */
	bool tcp;                      /**< the query came over TCP */
	bool apex;                     /**< the QNAME is the apex of zone */
	bool edns;                     /**< the query had a usable OPT: the response carries ours */
	bool edns_do;                  /**< the query's DO bit, echoed in our OPT */
	bool may_forward;              /**< conf->may_forward(client), also our RA bit */
};

/* reply.c: response framing (header, question, OPT, truncation). */

/** Our EDNS payload size. */
uint16_t reply_payload(const struct dns_conf *conf);

/** Write an 11-byte OPT RR (version 0, no options) at @p p. */
void reply_write_opt(uint8_t *p, uint16_t payload, uint8_t ext_rcode, bool dnssec_ok);

/** Finish with a 12-byte header: id and opcode echoed, QR set, @p rcode, all counts 0. */
enum dns_step reply_header_only(struct dns_query *q, uint8_t rcode);

/**
 * Finish with header, the question if it parsed, and our OPT if the query had
 * EDNS: errors, and with @p tc the minimal truncated answer.
 * @param rcode extended RCODE (its high bits go to the OPT).
 */
enum dns_step reply_short(struct dns_query *q, uint16_t rcode, bool aa, bool tc);

/** Start a response in rwire from the parsed query, with room kept for the OPT. @return NULL on ENOMEM. */
knot_pkt_t *reply_begin(struct dns_query *q);

/** Finish @p resp from reply_begin(): flags, @p rcode and OPT. */
enum dns_step reply_finish(struct dns_query *q, knot_pkt_t *resp, uint16_t rcode, bool aa);

/**
 * Finish after knot_pkt_put() failed with @p err: on UDP out of room, the
 * minimal truncated answer with @p rcode; otherwise SERVFAIL.
 */
enum dns_step reply_put_failed(struct dns_query *q, int err, uint16_t rcode, bool aa);

/** The answer-section budget of a response: its size limit minus header, question and OPT. */
size_t reply_budget(const struct dns_query *q);

/* answer.c: answers from configuration. */

/** SOA or NS at a zone apex. */
enum dns_step answer_apex(struct dns_query *q);

/** RFC 8482: one synthesized HINFO for ANY. */
enum dns_step answer_any(struct dns_query *q);

/** A negative answer: @p rcode NXDOMAIN or NOERROR (NODATA); in a DHT zone AA and the SOA. */
enum dns_step answer_negative(struct dns_query *q, uint16_t rcode);

/* query.c */

/** Hand the client's query to the upstreams: sets q->fwd and waits for dns_query_forwarded(). */
enum dns_step query_forward(struct dns_query *q);

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The DNS protocol core: one query from wire to response, with libknot and no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "resolverd/core/record.h"
#include "resolverd/core/uri.h"

/*
 * DESIGN
 * dns_query_begin() parses and checks a query and decides what it needs:
 * nothing (a reply is ready: an error, an authoritative answer from zone
 * data, a minimal ANY), no reply at all (too broken to answer), a DHT lookup
 * (the caller fetches the records named in q->lookup and calls
 * dns_query_answer()), or forwarding (the caller sends q->fwd to upstreams
 * and calls dns_query_forwarded() with what comes back). All memory a query
 * needs comes from its own arena, reset by the next dns_query_begin(), so a
 * query answered from the cache costs no malloc (except inside uri_normalize(),
 * whose API returns allocated strings: binding and ENUM names pass through it
 * so that they map to the same DHT key as the URI does); a query that would
 * need more than the arena's fixed cap is SERVFAIL. Pure code: no sockets, no
 * clock except the @p now it is given; any thread may use its own struct.
 */

#define DNS_MAX_UDP 65507
#define DNS_MAX_MSG 65535

/** An authoritative zone whose names live only in the DHT (dns.dht_zones.<apex>). */
struct dns_zone {
	const char *apex;         /**< lower-case, no trailing dot, e.g. "p2p" or "example.net" */
	const char *const *ns;    /**< NS target names at the apex (at least one) */
	size_t n_ns;
	const char *hostmaster;   /**< SOA RNAME as a name, e.g. "hostmaster.p2p" */
	uint32_t serial;          /**< SOA serial */
	uint32_t negative_ttl;    /**< SOA MINIMUM, the TTL of negative answers */
};

/** Settings, borrowed for the lifetime of every query that uses them. */
struct dns_conf {
	const char *const *enum_suffixes; /**< e.g. {"e164.arpa"} */
	size_t n_enum;
	const struct dns_zone *zones;
	size_t n_zones;
	uint32_t max_ttl;          /**< cap on TTLs of answers built from records */
	uint16_t edns_payload;     /**< our EDNS0 UDP payload size (1232) */
	/** May @p client have names outside the mapping forwarded? (dns.forward.allow + upstreams configured) */
	bool (*may_forward)(void *ud, const struct sockaddr *client);
	void *may_forward_ud;
	/**
	 * Loop protection: the forwarder tags the queries it sends upstream with
	 * EDNS option loop_opt_code holding loop_nonce; a query that arrives with
	 * exactly that option and nonce is our own and is REFUSED. loop_nonce
	 * NULL disables the check. Borrowed, loop_nonce_len bytes.
	 */
	uint16_t loop_opt_code;
	const uint8_t *loop_nonce;
	size_t loop_nonce_len;
};

enum dns_step {
	DNS_STEP_REPLY = 0, /**< q->out / q->out_len hold the response */
	DNS_STEP_DROP,      /**< send nothing */
	DNS_STEP_LOOKUP,    /**< fetch q->lookup, then dns_query_answer() */
	DNS_STEP_FORWARD,   /**< send q->fwd upstream, then dns_query_forwarded() */
};

/** What the DHT must be asked for. */
struct dns_lookup {
	enum record_kind kind;          /**< RECORD_BINDING (also for ENUM), RECORD_SERVICE or RECORD_HOST */
	char name[URI_MAX_LEN + 1];     /**< the record name: a normalized URI, "_svc._proto.domain" or a host name */
	char host[256];                 /**< the domain policy applies to, or "" */
};

struct dns_query_priv;

/** One query in flight. Initialise once with dns_query_init(), reuse for many queries. */
struct dns_query {
	struct dns_query_priv *priv;   /**< owned: arena, packets, parsed state */
	const uint8_t *out;            /**< response wire (REPLY), valid until the next call */
	size_t out_len;
	const uint8_t *fwd;            /**< query to forward (FORWARD): the client's query, id intact */
	size_t fwd_len;
	struct dns_lookup lookup;      /**< what to fetch (LOOKUP) */
	uint16_t qtype;                /**< of the current query, for logs and rate limiting */
	uint8_t rcode;                 /**< of the response built, for logs and rate limiting */
};

/** @return 0 or -ENOMEM. */
int dns_query_init(struct dns_query *q);

/**
 * Remember name-to-URI normalizations in this struct (about 160 KiB), so that
 * a query struct reused for many queries answers hot names with no
 * allocation at all. Worth it only for a long-lived struct. @return 0 or -ENOMEM.
 */
int dns_query_enable_memo(struct dns_query *q);

/** Release everything. Safe on a zeroed struct. */
void dns_query_deinit(struct dns_query *q);

/**
 * Start a query. The wire is copied, so @p wire may be reused at once.
 * @param tcp  the query came over TCP (no truncation; 65535-byte answers).
 * @param client borrowed for the call (passed to conf->may_forward).
 */
enum dns_step dns_query_begin(struct dns_query *q, const struct dns_conf *conf, const uint8_t *wire,
			      size_t len, bool tcp, const struct sockaddr *client);

/**
 * Finish a LOOKUP with the live records of q->lookup (merged: best first,
 * none expired), or with @p n = 0. @p ok false means the lookup failed
 * (SERVFAIL). @return DNS_STEP_REPLY, or DNS_STEP_FORWARD when nothing was
 * found for a name outside every DHT zone and the client may forward.
 */
enum dns_step dns_query_answer(struct dns_query *q, bool ok, const struct record *const *recs, size_t n,
			       uint64_t now);

/**
 * Finish a FORWARD with the upstream's response (NULL: it failed, SERVFAIL).
 * Restores the client's id and question, truncates for UDP if needed.
 * @return DNS_STEP_REPLY.
 */
enum dns_step dns_query_forwarded(struct dns_query *q, const uint8_t *resp, size_t len);

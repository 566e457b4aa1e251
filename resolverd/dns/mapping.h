/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The DNS view of the DHT: which record name a query name stands for, and which zone holds it. */
#pragma once

#include <stdbool.h>

#include <libknot/dname.h>

#include "resolverd/dns/query.h"

/*
 * DESIGN
 * DESIGN.md "Mapping URIs to DNS names" in code. Names come in as libknot's
 * lower-cased wire form of the QNAME: DNS names are case-insensitive
 * (RFC 4343), so the DNS view only reaches record names whose every part is
 * lower-case, the user part of a URI included. Pure functions, thread-safe.
 */

/** The shape of a mapped name; it decides which query types have answers. */
enum mapping_shape {
	MAPPING_ENUM = 1, /**< digits under an ENUM suffix: RECORD_BINDING of tel:, NAPTR */
	MAPPING_BINDING,  /**< <user>._<scheme>.<host> or _<scheme>.<host>: URI, NAPTR, TXT */
	MAPPING_SERVICE,  /**< _<svc>._<proto>.<domain>: SRV */
	MAPPING_HOST,     /**< any other name inside a DHT zone: A, AAAA */
};

/**
 * Find the DHT zone holding @p qname (equal to or under its apex; the
 * deepest apex wins).
 * @param qname lower-case wire name.
 * @param[out] ret_apex true if @p qname is the zone's apex; untouched if NULL is returned.
 * @return the zone (borrowed from @p conf) or NULL.
 */
const struct dns_zone *mapping_zone(const struct dns_conf *conf, const knot_dname_t *qname,
				    bool *ret_apex);

/**
 * Remembered URI normalizations, so that a hot name's lookup makes no
 * allocation (uri_normalize() returns allocated strings). A fixed table of
 * recent results; mapping is a pure function of the name, so entries never
 * go stale. Owned by one query struct; not thread-safe.
 */
struct mapping_memo;

/** @return a new memo, or NULL. */
struct mapping_memo *mapping_memo_new(void);

/** NULL is a no-op. */
void mapping_memo_free(struct mapping_memo *memo);

/**
 * Map @p qname to the DHT lookup that answers it.
 * @param qname   lower-case wire name.
 * @param in_zone @p qname is inside a DHT zone, so names of no other shape are RECORD_HOST names.
 * @param memo    remembered normalizations, or NULL.
 * @param[out] ret       filled on success only.
 * @param[out] ret_shape filled on success only.
 * @return 0; -ENOENT if no record can have this name (outside every zone and
 *         of no mapped shape, or of a mapped shape that is not a valid name,
 *         such as a URI uri_normalize() rejects); -ENOMEM.
 */
int mapping_lookup(const struct dns_conf *conf, const knot_dname_t *qname, bool in_zone,
		   struct mapping_memo *memo, struct dns_lookup *ret, enum mapping_shape *ret_shape);

/**
 * Map @p qname as a RECORD_HOST name whatever its shape (the apex of a zone).
 * @param[out] ret filled on success only.
 * @return 0, or -ENOENT if a label holds bytes host names do not have.
 */
int mapping_host(const knot_dname_t *qname, struct dns_lookup *ret);

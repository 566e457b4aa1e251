/* SPDX-License-Identifier: GPL-3.0-or-later */
/* RDATA of the RRs resolverd serves, built from records and from zone settings. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "resolverd/core/record.h"
#include "resolverd/dns/query.h"

/*
 * DESIGN
 * Each function writes one RR's RDATA in uncompressed wire form to a caller's
 * buffer and returns its length. A record that cannot be expressed as the
 * asked type (an SRV contact that does not parse, an IPv6 contact for A, a
 * NAPTR regexp longer than a character-string) is -EINVAL, so the caller
 * skips it. Pure functions, thread-safe.
 */

#define RDATA_NAPTR_PREFERENCE 10 /**< every NAPTR we serve has this preference */
#define RDATA_URI_WEIGHT 1        /**< every URI RR we serve has this weight */

/**
 * The RDATA of a @p type RR (URI, NAPTR, TXT, SRV, A or AAAA) for @p rec:
 * URI (RFC 7553) priority 1000 - q, weight 1, target the contact; NAPTR
 * (RFC 3403) order 1000 - q, preference 10, flags "u", service
 * "E2U+<contact scheme>", regexp "!^.*$!<contact>!" ('!' and '\' in the
 * contact escaped with '\'), replacement the root; TXT the contact in
 * 255-byte character-strings; SRV from a contact "PRIORITY WEIGHT PORT
 * TARGET"; A and AAAA from a contact that is an address literal.
 * @return the length, -EINVAL (no such RR for this record or type), -ENOSPC (@p cap too small).
 */
int rdata_from_record(uint16_t type, const struct record *rec, uint8_t *out, size_t cap);

/** The RFC 8482 answer to ANY: HINFO "RFC8482" "". @return as rdata_from_record(). */
int rdata_hinfo_rfc8482(uint8_t *out, size_t cap);

/**
 * SOA of @p zone: MNAME its first NS (the apex if it has none), RNAME its
 * hostmaster ("hostmaster.<apex>" if unset), its serial, refresh 3600, retry
 * 600, expire 604800, minimum its negative TTL.
 * @return as rdata_from_record() (-EINVAL: a configured name is not a valid name).
 */
int rdata_soa(const struct dns_zone *zone, uint8_t *out, size_t cap);

/** The RDATA of an NS RR: @p name in wire form. @return as rdata_soa(). */
int rdata_name(const char *name, uint8_t *out, size_t cap);

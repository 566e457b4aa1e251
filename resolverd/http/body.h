/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Request bodies of the HTTP API: JSON to checked values, pure code with no libmicrohttpd. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolverd/core/uri.h"

/*
 * DESIGN
 * The handler threads check every request body before anything reaches the
 * loop. The checks live here, apart from the MHD plumbing in api.c, so that
 * unit tests and the fuzz targets (tests/fuzz/) run them on plain bytes. The
 * messages written to @p why are the "detail" of the problem responses that
 * api.c sends, so they are part of the API. Every function is pure and
 * thread-safe.
 */

/** Room a caller gives body_parse_binding() for its message (detail). */
#define BODY_WHY_CAP 200

/** A checked POST /v1/bindings body. Release with body_binding_deinit(). */
struct binding_body {
	struct uri_parts parts; /**< owned: "uri" after uri_normalize() */
	char *contact;          /**< owned: "contact", a device URL */
	char *instance;         /**< owned: "instance", or "c-" and 16 hex digits of SHA-256(contact) */
	uint16_t q;             /**< "q" in thousandths (RECORD_Q_MAX when absent) */
	unsigned expires;       /**< "expires", seconds from now (the default when absent) */
};

/**
 * Parse @p len bytes of JSON as an object (duplicate keys rejected).
 * @param json borrowed, may be NULL (no body).
 * @param why  on failure, the detail: "the body is not a JSON object[: reason]".
 * @return a new reference, or NULL.
 */
json_t *body_load_object(const char *json, size_t len, char *why, size_t why_cap);

/** The first member of @p o whose key is not in the NULL-terminated @p known, or NULL. Borrowed from @p o. */
const char *body_unknown_member(json_t *o, const char *const *known);

/** Is @p s 1..@p max bytes of printable ASCII without spaces? */
bool body_printable(const char *s, size_t max);

/** Is @p s a device URL: scheme ":" something, printable ASCII, at most RECORD_MAX_URI bytes? */
bool body_valid_contact(const char *s);

/**
 * The instance a publish without one gets: "PREFIX-" and the first 8 bytes
 * of SHA-256(@p value) in hex. @return owned string, or NULL (out of memory).
 */
char *body_default_instance(const char *prefix, const char *value);

/**
 * Check the optional "expires" member of @p o: an integer from 1 to
 * @p max_expires, @p default_expires when absent.
 * @param[out] ret_secs written on success only.
 * @return NULL, or the detail of the problem (static).
 */
const char *body_expires(json_t *o, unsigned default_expires, unsigned max_expires, unsigned *ret_secs);

/**
 * Check a POST /v1/bindings body: {"uri", "contact", "expires"?, "q"?,
 * "instance"?}, no other member, uri normalized with uri_normalize().
 * @param json borrowed, @p len bytes, may be NULL (no body).
 * @param[out] ret filled on success only (the caller deinits it).
 * @param[out] ret_field on failure, an owned copy of the member at fault, or
 *             NULL if none is (or if the copy failed); free() it.
 * @param why  on failure, the detail for the problem response; @p why_cap
 *             should be at least BODY_WHY_CAP.
 * @return 0; -EBADMSG if the body is not a JSON object (problem
 *         "invalid-json"); -EINVAL if a member is wrong or missing, -ENOMEM
 *         (problem "invalid-field" for both).
 */
int body_parse_binding(const char *json, size_t len, unsigned default_expires, unsigned max_expires,
		       struct binding_body *ret, char **ret_field, char *why, size_t why_cap);

/** Release what @p b owns and zero it. Safe on a zeroed struct. */
void body_binding_deinit(struct binding_body *b);

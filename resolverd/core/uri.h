/* SPDX-License-Identifier: GPL-3.0-or-later */
/* URI normalization: the RFC 3986 rules for any scheme, and the registry scheme plugins extend. */
#pragma once

#include <stddef.h>

/*
 * DESIGN
 * Every name that reaches the core passes through uri_normalize() first, so
 * that all spellings of one URI map to one DHT key. uri_normalize() picks the
 * normalizer registered for the URI's scheme and falls back to the generic
 * RFC 3986 rules (uri_normalize_generic()). Normalizers are pure functions:
 * they MUST be thread-safe, because the HTTP thread pool calls them directly.
 * The registry itself is written only at start-up, before threads start.
 */

#define URI_MAX_LEN 512 /**< longest URI accepted, before and after normalization */

/** The result of normalization. Both strings are owned; release with uri_parts_deinit(). */
struct uri_parts {
	char *uri;      /**< the normalized URI (address of record) */
	char *host;     /**< lower-case host/domain the URI belongs to, or NULL (e.g. tel:) */
	char *instance; /**< instance implied by the URI (e.g. an XMPP resource), or NULL */
};

/**
 * A scheme's normalizer.
 * @param in   the URI, NUL-terminated, its scheme already matched.
 * @param ret  filled on success only.
 * @param ret_reason on failure, a static English sentence saying what is wrong.
 * @return 0, -EINVAL (bad URI), -ENOMEM.
 */
typedef int (*uri_normalize_fn)(const char *in, struct uri_parts *ret, const char **ret_reason,
				void *ud);

/** A registered normalizer. The registry borrows the struct; it must outlive the registry. */
struct uri_normalizer {
	const char *scheme;         /**< lower-case scheme, e.g. "sip" */
	uri_normalize_fn normalize; /**< MUST be pure and thread-safe */
	void *ud;                   /**< passed to normalize() */
};

/**
 * Register @p n for its scheme, replacing an earlier one. Start-up only.
 * @return 0, -EEXIST if the registry is full.
 */
int uri_register_normalizer(const struct uri_normalizer *n);

/** Forget every registered normalizer (tests, shutdown). */
void uri_clear_normalizers(void);

/**
 * Normalize @p in with its scheme's normalizer, or the generic rules.
 * Thread-safe. @return as for uri_normalize_fn.
 */
int uri_normalize(const char *in, struct uri_parts *ret, const char **ret_reason);

/**
 * The generic RFC 3986 normalizer (section 6.2.2 and 6.2.3): scheme and host
 * lower-cased, percent-encodings of unreserved characters decoded and the rest
 * upper-cased, dot-segments removed, the scheme's default port dropped, an
 * empty path with an authority becomes "/". For authority-less URIs shaped
 * "scheme:user@host..." (sip, sips, xmpp, h323, mailto, im, pres) the part
 * after the last '@' before any '/' or '?', up to the first ';', '/' or '?',
 * is taken as the host; other authority-less URIs (tel:, urn:) have no host.
 * Rejects control characters, spaces, non-ASCII bytes, fragments, bad escapes,
 * bad syntax, and a path without an authority that would begin with "//" once
 * its dot-segments are removed ("x:/..//y": it would read as an authority).
 * ret->instance is always NULL. Thread-safe.
 */
int uri_normalize_generic(const char *in, struct uri_parts *ret, const char **ret_reason,
			  void *ud);

/** Release both strings. Safe on a zeroed struct. */
void uri_parts_deinit(struct uri_parts *parts);

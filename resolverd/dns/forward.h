/* SPDX-License-Identifier: GPL-3.0-or-later */
/* DNS forwarding: send a client's query to the configured upstreams through c-ares, with a small answer cache. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "resolverd/core/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Everything here belongs to the loop thread of the struct rd_loop given to
 * forward_new(); no function may be called from another thread.
 */

/** A forwarder: one c-ares channel on the loop plus its cache. Opaque. */
struct forward;

/** Settings for forward_new(). Everything is borrowed for the call only (copied as needed). */
struct forward_conf {
	const char *const *upstreams;  /**< "ADDR:PORT" or "[IPv6]:PORT", numeric; tried in order */
	size_t n_upstreams;            /**< at least one */
	const char *const *self;       /**< our own dns.listen endpoints, same syntax; may be NULL if n_self is 0 */
	size_t n_self;
	unsigned timeout_ms;           /**< per try; c-ares doubles it on each round over all upstreams */
	unsigned cache_entries;        /**< most answers kept; 0 disables the cache */
	uint16_t loop_opt_code;        /**< EDNS option code put into every forwarded query */
	const uint8_t *loop_nonce;     /**< its data (our loop-detection nonce) */
	size_t loop_nonce_len;         /**< 0..255 */
};

/**
 * Create a forwarder on @p loop.
 * @param loop borrowed; must outlive the forwarder (until its close callbacks have run).
 * @param conf borrowed for the call.
 * @param[out] ret_fw owned by the caller; release with forward_free().
 * @return 0; -EINVAL (no upstream, a malformed endpoint, a zero timeout, a nonce too long);
 *         -ELOOP (an upstream is one of conf->self, or is local while a conf->self
 *         endpoint is the wildcard address on the same port); -ENOMEM; -EIO (c-ares failed).
 */
int forward_new(struct rd_loop *loop, const struct forward_conf *conf, struct forward **ret_fw);

/**
 * Stop forwarding. Every query still pending has its callback run first, with
 * resp NULL. A callback run this way must not call forward_free(), and a
 * forward_query() it makes returns -ECANCELED. The handles are closed here;
 * the memory goes in their close callbacks, so the loop must run once more
 * (loop_deinit() does). Must not be called from a forward_cb.
 * @param fw owned, or NULL (no-op).
 */
void forward_free(struct forward *fw);

/**
 * The outcome of a forward_query().
 * @param ud the caller's pointer, as given.
 * @param resp the upstream's response, borrowed for the call only, or NULL when
 *        every try failed or timed out, or the forwarder is being freed. The
 *        response's id is the random one used upstream, not the query's, and
 *        its question may differ from the query's in letter case: the caller
 *        restores both. Any rcode (NXDOMAIN, REFUSED, SERVFAIL...) is passed
 *        through unchanged.
 * @param len bytes in @p resp (0 with NULL).
 */
typedef void (*forward_cb)(void *ud, const uint8_t *resp, size_t len);

/**
 * Forward one query. Before it goes upstream the query gets a fresh random id
 * (from OpenSSL's CSPRNG: c-ares 1.18 keeps the id it is given) and an OPT RR
 * (UDP payload 1232) carrying the loop option, replacing any option with that
 * code; a TSIG RR, which could no longer verify, is dropped.
 * A fresh cached answer (same lower-cased name, type, class and DO, CD and RD
 * bits) is returned instead, with its TTLs lowered by its age.
 * @param query borrowed for the call (the wire of a parsed client query: QR
 *        clear, one question).
 * @param cb run exactly once when 0 is returned, possibly before this returns
 *        (cache hit, or a failure c-ares reports at once); never when an error
 *        is returned.
 * @param ud passed to @p cb; borrowed: the caller keeps it alive until then.
 * @return 0; -EINVAL (malformed query, or it would not fit once rewritten);
 *         -ELOOP (the query already carries our loop option with our nonce:
 *         we forwarded it before and it came back); -ENOMEM; -EIO (no
 *         randomness for the id); -ECANCELED (called while forward_free() runs).
 */
int forward_query(struct forward *fw, const uint8_t *query, size_t len, forward_cb cb, void *ud);

/** Counters since forward_new(). */
struct forward_stats {
	uint64_t queries;     /**< forward_query() calls accepted (returned 0) */
	uint64_t cache_hits;  /**< of those, answered from the cache; the rest went upstream */
	uint64_t failures;    /**< callbacks run with resp NULL */
	size_t cached;        /**< answers in the cache now (some may have expired but not yet been dropped) */
};

/** Copy the counters into @p ret. */
void forward_get_stats(const struct forward *fw, struct forward_stats *ret);

#ifdef __cplusplus
}
#endif

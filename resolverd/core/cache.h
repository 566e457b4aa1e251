/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The resolver cache: per-name sets of verified records, kept live by OpenDHT listens. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolverd/core/loop.h"
#include "resolverd/core/policy.h"
#include "resolverd/core/record.h"
#include "resolverd/core/uri.h"
#include "resolverd/overlay/overlay.h"

/*
 * DESIGN
 * The cache owns one entry per normalized URI that someone asked for. An
 * entry holds, per device (publisher, instance), the newest record seen at
 * the URI's DHT key that decoded, verified and passed policy: never an
 * unverified record. The newest record is kept even once expired (for as
 * long as the DHT may still hold the versions it superseded), so old
 * versions never come back. On first
 * use an entry starts an OpenDHT get and a listen, and a deadline timer;
 * the entry becomes ready when the get is done or the deadline fires,
 * whichever is first, so a dead peer never delays an answer past
 * dht.get_timeout_ms. From then on the listen keeps it current: a tombstone
 * published anywhere reaches the entry within the time of one DHT push.
 * Answers are computed on demand by merge_bindings(). Entries unused for
 * cache.idle_s, or least recently used past cache.max_entries, are dropped
 * (their listen cancelled). Everything here runs on the loop thread.
 */

/** Counters for /v1/status. */
struct cache_stats {
	uint64_t hits;              /**< lookups answered from a ready entry */
	uint64_t misses;            /**< lookups that had to wait for the DHT */
	uint64_t accepted;          /**< records accepted into an entry */
	uint64_t dropped_malformed; /**< values that were not canonical records */
	uint64_t dropped_signature; /**< values whose signature did not verify */
	uint64_t dropped_policy;    /**< verified records refused by policy */
	uint64_t dropped_expired;   /**< records that arrived expired and superseded nothing */
	uint64_t dropped_overflow;  /**< records refused because the key was full */
	uint64_t dropped_name;      /**< records stored under another name's key */
	size_t entries;             /**< live entries */
};

/** Limits. */
struct cache_conf {
	unsigned max_entries;        /**< cache.max_entries */
	unsigned idle_s;             /**< cache.idle_s */
	unsigned max_values_per_key; /**< resolve.max_values_per_key */
	unsigned max_bindings;       /**< resolve.max_bindings */
	unsigned get_timeout_ms;     /**< dht.get_timeout_ms */
};

/** A name to resolve: its kind and the record name (a normalized URI for bindings). */
struct cache_name {
	enum record_kind kind;
	const char *name;  /**< normalized URI, "_svc._proto.domain" or a host name */
	const char *host;  /**< the domain policy applies to, or NULL */
};

/** What a lookup sees. Everything is borrowed for the duration of the callback. */
struct cache_view {
	enum record_kind kind;
	const char *uri;                       /**< the name (a normalized URI for bindings) */
	const char *host;                      /**< its host, or NULL */
	const struct record *const *bindings;  /**< live bindings, best first */
	size_t n;
	const char *source;                    /**< "cache" or "dht" */
	uint64_t now;                          /**< unix seconds the view was computed at */
};

/**
 * A lookup's answer, or, with @p view NULL, its failure (shutdown).
 * Loop thread.
 */
typedef void (*cache_view_cb)(void *ud, const struct cache_view *view);

struct cache;

/** Offer own records for a new entry: call cache_offer() for each. Loop thread. */
typedef void (*cache_seed_fn)(void *ud, struct cache *c, enum record_kind kind, const char *name);

/**
 * @param policy borrowed; must outlive the cache. @param ov borrowed.
 * @return a new cache or NULL.
 */
struct cache *cache_new(struct rd_loop *loop, struct overlay *ov, const struct policy *policy,
			const struct cache_conf *conf);

/** Cancel all listens, fail all waiters, free. NULL is a no-op. */
void cache_free(struct cache *c);

/** Set the function that seeds new entries with this node's own publications. */
void cache_set_seed(struct cache *c, cache_seed_fn fn, void *ud);

/**
 * Set the observer told about every change to a ready entry (a new view), so
 * front ends can refresh what they precomputed. One observer.
 */
void cache_set_observer(struct cache *c, cache_view_cb fn, void *ud);

/**
 * Resolve @p n. A ready entry answers at once (@p cb runs before this
 * returns); otherwise @p cb runs once the entry is ready.
 * @return 0, -EINVAL (name too long), or -ENOMEM (then @p cb never runs).
 */
int cache_lookup(struct cache *c, const struct cache_name *n, cache_view_cb cb, void *ud);

/**
 * Answer @p n only if its entry is ready: @p cb runs before this returns.
 * Creates nothing and makes no allocation (the DNS hot path).
 * @return 0, or -EAGAIN (then @p cb never runs; cache_lookup() will wait).
 */
int cache_lookup_ready(struct cache *c, const struct cache_name *n, cache_view_cb cb, void *ud);

/**
 * Offer a wire record for @p name as if it had come from the DHT (used for
 * this node's own publications). Ignored when no entry exists for the name.
 * @p wire must already be verified (this node signed it, or the publisher
 * checked it): its signatures are not checked again.
 */
void cache_offer(struct cache *c, enum record_kind kind, const char *name, const uint8_t *wire,
		 size_t len);

/** Copy the counters. */
void cache_get_stats(const struct cache *c, struct cache_stats *ret);

/** Answer every waiting lookup with a NULL view (shutdown). */
void cache_fail_waiters(struct cache *c);

/** Unix time in seconds (the clock every expiry in the daemon is checked against). Any thread. */
uint64_t cache_now(void);

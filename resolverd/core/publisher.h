/* SPDX-License-Identifier: GPL-3.0-or-later */
/* This node's own publications: signing, the on-disk journal, re-announcement and tombstones. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "resolverd/core/cache.h"
#include "resolverd/core/keys.h"
#include "resolverd/core/loop.h"
#include "resolverd/core/policy.h"
#include "resolverd/core/record.h"
#include "resolverd/core/uri.h"
#include "resolverd/overlay/overlay.h"

/*
 * DESIGN
 * The publisher owns every record this node keeps alive in the DHT: the
 * bindings it signed with the node key and the pre-signed records devices
 * submitted. Each lives until its own expiry: it is a permanent OpenDHT put
 * (OpenDHT re-announces it), and an entry in state_dir/publications.log, an
 * append-only journal of wire records fsync'ed before a write is
 * acknowledged. At start-up the journal is replayed (a torn last entry from a
 * crash is ignored), compacted into a new file written atomically, and every
 * live record is announced again, so kill -9 loses nothing that was
 * acknowledged. Unpublishing replaces the binding with a signed tombstone
 * (higher seq, same expiry) that readers honour at once. Loop thread only.
 */

/** Settings. */
struct publisher_conf {
	const char *state_dir;     /**< borrowed for publisher_new() */
	unsigned max_publications; /**< publish.max_publications */
	unsigned max_record_size;  /**< dht.max_record_size: no larger record is signed or kept; 0: RECORD_MAX_SIZE */
};

struct publisher;

/**
 * Load the journal, announce what is live, start the expiry timer.
 * Borrowed: loop, ov, c, key, policy — all must outlive the publisher.
 * @return 0 and *ret, or -errno (the journal cannot be read or written).
 */
int publisher_new(struct rd_loop *loop, struct overlay *ov, struct cache *c,
		  const struct keypair *key, const struct policy *policy,
		  const struct publisher_conf *conf, struct publisher **ret);

/** Stop, close the journal, free (the DHT keeps values until they expire). NULL is a no-op. */
void publisher_free(struct publisher *p);

/** The fields of a record this node signs. */
struct publish_req {
	enum record_kind kind;         /**< binding, service or host */
	const char *name;              /**< normalized URI, or a checked service/host name */
	const char *host;              /**< the domain policy applies to, or NULL */
	const char *contact;           /**< device URL, "PRIO WEIGHT PORT TARGET" or an address */
	uint16_t q;                    /**< 0..RECORD_Q_MAX */
	uint64_t expires;              /**< absolute, unix seconds */
	const char *instance;          /**< device id */
};

/**
 * Sign @p req with the node key, persist it, announce it.
 * @param[out] ret_rec the stored record, borrowed until the next publisher call.
 * @return 0, -EACCES (policy refuses the node key), -ENOSPC (max_publications),
 *         -EINVAL (fields), -EMSGSIZE (over max_record_size), -EIO (journal).
 */
int publisher_publish(struct publisher *p, const struct publish_req *req, const struct record **ret_rec);

/**
 * Replace the node's record of @p kind for (@p name, @p instance) with a tombstone.
 * @return 0, -ENOENT (no such live record of the node key), -EIO.
 */
int publisher_unpublish(struct publisher *p, enum record_kind kind, const char *name, const char *instance,
			const struct record **ret_rec);

/**
 * Keep alive a record signed elsewhere.
 * @param[out] ret_reason on failure, a static sentence for the client.
 * @return 0, -EBADMSG (malformed or not normalized), -EKEYREJECTED (signature),
 *         -EACCES (policy), -EMSGSIZE (over max_record_size), -ETIME (already expired), -EALREADY (a record with
 *         the same or higher seq is kept), -ENOSPC, -EIO.
 */
int publisher_submit(struct publisher *p, const uint8_t *wire, size_t len, const struct record **ret_rec,
		     const char **ret_reason);

/** Visit every live record of @p kind (tombstones excluded). */
void publisher_foreach(const struct publisher *p, enum record_kind kind,
		       void (*fn)(void *ud, const struct record *rec), void *ud);

/** Number of live publications of every kind (tombstones and expired ones excluded). O(n). */
size_t publisher_count(const struct publisher *p);

/** A cache_seed_fn: offer the publications of a name to a new cache entry. */
void publisher_seed(void *ud, struct cache *c, enum record_kind kind, const char *name);

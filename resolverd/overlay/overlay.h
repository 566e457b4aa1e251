/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The overlay adapter: OpenDHT behind a plain C interface whose callbacks run on the loop thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "resolverd/core/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * DESIGN
 * This is the only place that speaks to OpenDHT. OpenDHT runs its own
 * threads; every result it produces is copied and posted to the loop thread,
 * so callers' callbacks always run there, never on an OpenDHT thread.
 * Reads never wait for OpenDHT's "done" callback alone: callers pair a get
 * with their own deadline and cancel the op when it fires (see cache.c).
 * Values carry resolverd's value type (OVERLAY_VALUE_TYPE); its store policy
 * makes resolverd storage nodes refuse values that cannot be records.
 */

#define OVERLAY_KEY_LEN 20
#define OVERLAY_VALUE_TYPE 0x7264 /**< "rd" */

/** Opaque overlay node. */
struct overlay;

/** Opaque handle of a running get or listen. */
struct overlay_op;

/** Start-up settings. Everything is borrowed for the duration of overlay_new(). */
struct overlay_conf {
	const struct sockaddr *listen; /**< exact bind address (IPv4 or IPv6) */
	socklen_t listen_len;
	uint32_t network;              /**< OpenDHT network id */
	const char *const *bootstrap;  /**< HOST:PORT strings */
	size_t n_bootstrap;
	const char *state_dir;         /**< node id and routing table live here */
	size_t max_value_size;         /**< store policy: larger values are refused */
};

/** One value as received. data is borrowed for the duration of the callback. */
struct overlay_value {
	uint64_t id;
	const uint8_t *data;
	size_t len;
};

/**
 * Values arrived (expired == false) or expired from the network (true).
 * Loop thread. @p vals is borrowed for the call.
 */
typedef void (*overlay_values_cb)(void *ud, const struct overlay_value *vals, size_t n,
				  bool expired);

/** A get finished (ok: OpenDHT reports success). Loop thread. */
typedef void (*overlay_done_cb)(void *ud, bool ok);

/** Overlay statistics (IPv4 and IPv6 summed). */
struct overlay_stats {
	unsigned good_nodes;
	unsigned dubious_nodes;
	unsigned known_nodes;
	unsigned searches;
	size_t stored_values;
	size_t store_bytes;
};

/**
 * Start a node bound to conf->listen. The node id is read from (or created in)
 * conf->state_dir/dht.id and the routing table from conf->state_dir/dht.nodes.
 * @return 0 and *ret, or -errno (-EADDRINUSE when the address is taken).
 */
int overlay_new(const struct overlay_conf *conf, struct rd_loop *loop, struct overlay **ret);

/**
 * Save the routing table, shut the node down and join its threads. Every op
 * must have been cancelled. Loop thread. NULL is a no-op.
 */
void overlay_free(struct overlay *ov);

/**
 * Get every value at @p key. @p values_cb may run several times, then
 * @p done_cb once, unless the op is cancelled first. Loop thread.
 * @param[out] ret_op handle; cancel it with overlay_op_cancel() in every case
 *             (also after done_cb ran), which releases it.
 * @return 0 or -ENOMEM.
 */
int overlay_get(struct overlay *ov, const uint8_t key[OVERLAY_KEY_LEN], overlay_values_cb values_cb,
		overlay_done_cb done_cb, void *ud, struct overlay_op **ret_op);

/**
 * Follow @p key: current values first, then every change, until cancelled.
 * Loop thread. @return 0 or -ENOMEM.
 */
int overlay_listen(struct overlay *ov, const uint8_t key[OVERLAY_KEY_LEN],
		   overlay_values_cb values_cb, void *ud, struct overlay_op **ret_op);

/** Stop an op and release it. No callback of it runs afterwards. Loop thread. NULL is a no-op. */
void overlay_op_cancel(struct overlay_op *op);

/**
 * Store @p data under @p key with value id @p id. With @p permanent, OpenDHT
 * keeps re-announcing it until overlay_cancel_put(). Loop thread.
 * @return 0 or -ENOMEM.
 */
int overlay_put(struct overlay *ov, const uint8_t key[OVERLAY_KEY_LEN], uint64_t id,
		const uint8_t *data, size_t len, bool permanent);

/** Stop re-announcing a permanent put. Loop thread. */
void overlay_cancel_put(struct overlay *ov, const uint8_t key[OVERLAY_KEY_LEN], uint64_t id);

/** Fill @p ret with current statistics. Loop thread. */
void overlay_get_stats(struct overlay *ov, struct overlay_stats *ret);

/** The node id as 40 lower-case hex digits plus NUL. */
void overlay_node_id(const struct overlay *ov, char ret_hex[2 * OVERLAY_KEY_LEN + 1]);

/** Write the routing table to state_dir now (atomically). Loop thread. @return 0 or -errno. */
int overlay_save_nodes(struct overlay *ov);

#ifdef __cplusplus
}
#endif

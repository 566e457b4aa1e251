/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Rate limiting by client prefix: a token bucket per prefix, in the spirit of Knot's RRL (DNS over UDP, HTTP). */
#pragma once

#include <stdint.h>
#include <sys/socket.h>

/*
 * DESIGN
 * Each client prefix (/24 and /56 by default) gets a token bucket that
 * refills at responses_per_second and holds at most one second's worth (or
 * rrl_set_burst()'s tokens). A response that finds its bucket empty is
 * limited: dropped, except every slip-th one, which goes out truncated (TC=1,
 * no records) so that a real client behind a spoofed flood can retry over
 * TCP. Buckets live in a fixed table indexed by a keyed hash of the prefix; a
 * prefix that lands on a bucket owned by another takes it over, so memory
 * never grows.
 *
 * Threads: none of its own, and no lock. The DNS server uses its table on the
 * loop thread; the HTTP front end uses another table from its handler threads,
 * always under its own mutex.
 */

struct rrl;

enum rrl_verdict {
	RRL_PASS = 0, /**< send the response */
	RRL_DROP,     /**< send nothing */
	RRL_SLIP,     /**< send a truncated response */
};

/** @param rps 0 disables limiting (every check passes). @return a table, or NULL. */
struct rrl *rrl_new(unsigned rps, unsigned slip, unsigned ipv4_prefix, unsigned ipv6_prefix,
		    unsigned table_size);

/** NULL is a no-op. */
void rrl_free(struct rrl *r);

/**
 * Let a bucket hold @p burst tokens (at least 1) instead of one second's
 * worth. Call it before the first rrl_check(). It changes nothing when limiting
 * is off.
 */
void rrl_set_burst(struct rrl *r, unsigned burst);

/** Account one response to @p client at @p now_ms (a monotonic clock). */
enum rrl_verdict rrl_check(struct rrl *r, const struct sockaddr *client, uint64_t now_ms);

/**
 * rrl_check(), and when the response is limited, how long until @p client's
 * bucket holds a token again.
 * @param[out] ret_wait_ms milliseconds, at least 1; written only when the
 *                         verdict is not RRL_PASS.
 */
enum rrl_verdict rrl_check_wait(struct rrl *r, const struct sockaddr *client, uint64_t now_ms,
				uint64_t *ret_wait_ms);

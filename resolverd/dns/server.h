/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The DNS front end's I/O: UDP and TCP listeners on the loop, rate limiting, and the query pipeline. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "resolverd/config/config.h"
#include "resolverd/core/cache.h"
#include "resolverd/core/loop.h"

/*
 * DESIGN
 * Everything here runs on the loop thread. A UDP datagram (read in batches
 * with recvmmsg) goes through dns_query_begin() on one reused query struct;
 * when the name's cache entry is ready the answer is built and sent before
 * the read callback returns, with no allocation. A cache miss or a forwarded
 * name moves the query into a pending struct of its own, answered when the
 * DHT lookup (cache.c) or the upstream (forward.c) comes back. TCP
 * connections carry length-prefixed messages, pipelined and answered in any
 * order, under dns.tcp.max_connections and an idle timeout. UDP responses
 * pass the response-rate limiter (rrl.c); TCP and DoH are not limited.
 */

struct dns_server;

/** Counters for /v1/status and /metrics. */
struct dns_stats {
	uint64_t udp_queries, tcp_queries, doh_queries;
	uint64_t answered_hot;      /**< answered from a ready cache entry, synchronously */
	uint64_t lookups;           /**< waited for the DHT */
	uint64_t forwarded;
	uint64_t dropped;           /**< too broken to answer */
	uint64_t rrl_dropped, rrl_slipped;
	uint64_t tcp_refused;       /**< connections over dns.tcp.max_connections */
	size_t tcp_connections;
};

/**
 * Bind every dns.listen address (UDP and TCP) and start serving. @p c is borrowed.
 * @return 0 and *ret, or -errno (-EADDRINUSE, -EINVAL for bad zones/ACLs, -ELOOP
 *         for an upstream that is one of our own addresses).
 */
int dns_server_start(struct rd_loop *loop, struct cache *c, const struct rd_config *cfg,
		     struct dns_server **ret);

/** Close every socket, answer nothing more, free. NULL is a no-op. */
void dns_server_stop(struct dns_server *srv);

/** The response to one query, or NULL when there is none to send. Loop thread. */
typedef void (*dns_reply_cb)(void *ud, const uint8_t *resp, size_t len);

/**
 * Answer one query that arrived some other way (DNS over HTTPS): like TCP,
 * no truncation and no rate limiting. @p cb may run before this returns.
 * @return 0, or -ENOMEM (then @p cb never runs).
 */
int dns_server_resolve(struct dns_server *srv, const uint8_t *wire, size_t len,
		       const struct sockaddr *client, dns_reply_cb cb, void *ud);

/** Copy the counters. */
void dns_server_get_stats(const struct dns_server *srv, struct dns_stats *ret);

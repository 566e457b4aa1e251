/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The HTTP front end: libmicrohttpd servers for the REST API, bridged to the loop thread. */
#pragma once

#include <stdint.h>

#include "resolverd/config/config.h"
#include "resolverd/core/cache.h"
#include "resolverd/core/keys.h"
#include "resolverd/core/loop.h"
#include "resolverd/core/publisher.h"
#include "resolverd/core/tokens.h"
#include "resolverd/dns/server.h"
#include "resolverd/host/host_api.h"
#include "resolverd/overlay/overlay.h"

/*
 * DESIGN
 * libmicrohttpd runs a pool of epoll threads (http.threads). Its handlers
 * parse and validate requests on those threads, and touch no loop-owned
 * state. A request that needs the core (publish, a cache miss, status) is
 * suspended and posted to the loop as a job; the loop fills in the response
 * and resumes the connection, and the handler queues it on its next call.
 * Hot answers skip the loop: for each resolved URI the loop keeps a ready
 * MHD_Response in the answers table (answers.c), which handler threads
 * queue under a read lock. An answer is only used within the second it was
 * rendered in (its "expires" counts down) and is replaced as soon as the
 * cache reports a change, so a tombstone is never served from it.
 * http.rate_limit is one token-bucket table (dns/rrl.c) per server, keyed by
 * client address (IPv4 /32, IPv6 /64) and shared by the handler threads
 * under a mutex; api_begin() consults it right after routing, so 404 and 405
 * cost no token and /healthz is never limited.
 */

/** What the front end borrows from the daemon. All must outlive the server. */
struct http_ctx {
	struct rd_loop *loop;
	struct cache *cache;
	struct publisher *publisher;
	struct overlay *overlay;
	const struct tokens *tokens;
	const struct rd_config *cfg;
	const struct keypair *key;
	struct dns_server *dns;    /**< answers /dns-query */
	struct hosts *hosts;       /**< the plugins, for their DNS fallback in GET /v1/resolve; may be NULL */
	uint64_t started;          /**< unix seconds at start-up */
};

struct http_server;

/**
 * Start one MHD daemon per http.listen address. Loop thread.
 * @return 0 and *ret, or -errno (-EADDRINUSE, -EINVAL for a bad ACL).
 */
int http_start(const struct http_ctx *ctx, struct http_server **ret);

/**
 * Stop taking work, answer every waiting request with 503, wait for them to
 * be sent, stop the daemons and free. Loop thread. NULL is a no-op.
 */
void http_stop(struct http_server *srv);

/** A cache_view_cb: refresh the precomputed answer of a changed name. Loop thread. */
void http_on_cache_change(void *ud, const struct cache_view *view);

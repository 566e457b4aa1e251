/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The daemon side of the plugin ABI: the loaded plugins and the host API they call. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "resolverd/core/loop.h"
#include "resolverd/plugin.h"

/*
 * DESIGN
 * Files:
 *  - loader.c: dlopen a plugin, check its ABI (major equal, minor not newer,
 *    size at least the minor-0 size, MUST members present), copy the first
 *    rd_plugin.size bytes of its vtable into a zeroed full-size struct, and
 *    register its normalizer for its schemes with uri_register_normalizer().
 *    No daemon state: urictl links it too, to normalize like the daemon.
 *  - host.c: one struct rd_host per loaded plugin; the host API's log,
 *    config, normalize, resolve, publish, unpublish and now members; the
 *    fallback used by GET /v1/resolve; start and stop of every plugin.
 *  - net.c: the host API's timers and sockets (libuv) and dns_query
 *    (c-ares on the loop, servers from fallback.servers).
 * Every timer, socket and DNS query a plugin opens is linked into its
 * struct rd_host, so that unloading a plugin releases everything it still
 * holds, with no callback into the unloaded code.
 */

/** A doubly linked list node embedded in every resource a plugin holds. */
struct host_link {
	struct host_link *prev, *next;
};

/** Per-daemon state of net.c: the c-ares channel for dns_query(). Opaque. */
struct host_net;

/** Settings for host_net_new(). Borrowed for the call. */
struct host_net_conf {
	const char *const *servers; /**< "ADDR:PORT" each; none: /etc/resolv.conf */
	size_t n_servers;
	unsigned timeout_ms;        /**< per try */
};

/** The daemon's handle for one loaded plugin (the opaque struct rd_host of plugin.h). */
struct rd_host {
	char name[32];              /**< the plugin's name, for logs */
	struct rd_loop *loop;       /**< borrowed */
	struct host_net *net;       /**< borrowed: the shared DNS channel */
	struct host_link timers;    /**< list head: struct rd_timer the plugin holds */
	struct host_link socks;     /**< list head: struct rd_sock the plugin holds */
	struct host_link queries;   /**< list head: DNS queries in flight */
	unsigned tcp_max_connections; /**< plugins.<name>.tcp.max_connections per listener; 0: net.c's default */
	unsigned tcp_idle_timeout_ms; /**< plugins.<name>.tcp.idle_timeout_ms; 0: net.c's default */
	void *ctx;                  /**< host.c's own per-plugin context */
};

/* ---- net.c ------------------------------------------------------------------ */

/** @return 0 and *ret, -EINVAL (bad server endpoint), -ENOMEM, -EIO (c-ares). */
int host_net_new(struct rd_loop *loop, const struct host_net_conf *conf, struct host_net **ret);

/** Cancel what is pending (callbacks run with -ECANCELED first), close. NULL is a no-op. */
void host_net_free(struct host_net *net);

/** Set up the three list heads of @p h (loop and net already set). */
void host_res_init(struct rd_host *h);

/** Free every timer, socket and query @p h still holds, without running callbacks. */
void host_res_release(struct rd_host *h);

/** Fill the timer, socket and dns_query members of @p api with net.c's functions. */
void host_net_fill_api(struct rd_host_api *api);

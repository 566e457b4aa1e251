/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The RFC 6120 section 3.2 fallback: SRV for _xmpp-client and _xmpp-server, then A/AAAA on the domain. */
#pragma once

#include "resolverd/plugin.h"

#define FALLBACK_CLIENT_PORT 5222 /**< RFC 6120: c2s port when a domain publishes no SRV */
#define FALLBACK_SERVER_PORT 5269 /**< RFC 6120: s2s port when a domain publishes no SRV */
#define FALLBACK_MAX_PER_KIND 32  /**< most targets reported per service; the rest are dropped */
#define FALLBACK_LITERAL_TTL 3600 /**< ttl of the targets of an IP-literal domain (no DNS involved) */

struct fallback_job;

/** The fallbacks of one plugin instance. Embedded in the plugin state; loop thread only. */
struct xmpp_fallback {
	const struct rd_host_api *api; /**< borrowed, from init() */
	struct rd_host *host;          /**< borrowed, from init() */
	struct fallback_job *jobs;     /**< owned: the fallbacks in flight, a doubly linked list */
};

/** Set up @p fb with no fallback in flight. @p api and @p host are borrowed until fallback_deinit(). */
void fallback_init(struct xmpp_fallback *fb, const struct rd_host_api *api, struct rd_host *host);

/**
 * Complete every fallback still in flight with -ECANCELED and free it. The
 * DNS queries they still wait on are left to the host, which drops them
 * without callbacks once deinit() returns (plugin.h).
 */
void fallback_deinit(struct xmpp_fallback *fb);

/**
 * Start the fallback for @p name (a jid_normalize() result; only ->host is
 * used). Both services are reported, client targets first: for each, the
 * SRV targets in priority order (heavier weight first), none when the
 * domain answers the single target "." (RFC 2782), or, when it has no SRV
 * records, the domain's AAAA then A addresses on the default port. An IP
 * literal domain gives its two targets at once, before this returns.
 * URLs are "tcp://HOST:PORT" ("tcp://[V6]:PORT"); q falls from 1000 by
 * position; every ttl is the smallest TTL of all the records used.
 * @param cb runs exactly once when 0 is returned, on the loop thread.
 * @return 0, -ENOTSUP (no domain), -ENOMEM.
 */
int fallback_start(struct xmpp_fallback *fb, const struct rd_name *name, rd_fallback_cb cb, void *ud);

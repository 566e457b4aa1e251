/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Locating the SIP servers of an AoR's domain through DNS (RFC 3263 section 4): NAPTR, then SRV, then A/AAAA. */
#pragma once

#include "resolverd/plugin.h"

struct sip_fb; /**< one fallback in flight, private to fallback.c */

/** The fallbacks of one plugin instance. Embedded in the plugin state. */
struct sip_fallbacks {
	const struct rd_host_api *api; /**< borrowed, until sip_fallbacks_deinit() */
	struct rd_host *host;          /**< borrowed, passed to every api call */
	struct sip_fb *head;           /**< owned: the fallbacks in flight, doubly linked */
};

/** Set up an empty set that asks DNS through @p api. */
void sip_fallbacks_init(struct sip_fallbacks *fbs, const struct rd_host_api *api, struct rd_host *host);

/**
 * Complete every fallback still in flight with -ECANCELED and free it. The
 * DNS queries they still wait for are left to the host, which releases
 * them without callbacks once the plugin's deinit() returns.
 */
void sip_fallbacks_deinit(struct sip_fallbacks *fbs);

/**
 * Start locating the servers of @p name (an AoR produced by
 * sip_aor_normalize()), the rd_plugin.fallback way: a host that is an IP
 * address is its own server; with an explicit port, A/AAAA on the host;
 * otherwise NAPTR, then SRV, then A/AAAA (RFC 3263 4.1 and 4.2).
 * @param name borrowed for the call.
 * @param cb run exactly once when 0 is returned, possibly before return,
 *        with the targets best first (see rd_fallback_cb).
 * @return 0, -ENOTSUP (not a sip:/sips: AoR with a host), -ENOMEM.
 */
int sip_fallback_start(struct sip_fallbacks *fbs, const struct rd_name *name, rd_fallback_cb cb, void *ud);

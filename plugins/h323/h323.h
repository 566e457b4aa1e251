/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The h323 plugin's internal interface: URL normalization (url.c) and the Annex O fallback (fallback.c). */
#pragma once

#include <stddef.h>

#include "resolverd/plugin.h"

/** The H.225.0 call-signalling port (TCP): the port an H.323 URL without one means. */
#define H323_DEFAULT_PORT 1720

/** The plugin's state between init() and deinit(). Owned by h323_mod.c. */
struct h323_state {
	const struct rd_host_api *api; /**< borrowed, valid until deinit */
	struct rd_host *host;          /**< borrowed, passed to every api call */
	struct h323_lookup *lookups;   /**< owned: fallbacks in flight, a doubly linked list */
};

/**
 * Normalize an h323: URL (RFC 3508) into @p ret. Pure and thread-safe.
 * @param[out] ret written on success only.
 * @param[out] ret_reason on -EINVAL, a static sentence.
 * @return 0, -EINVAL, -ENAMETOOLONG.
 */
int h323_normalize(void *state, const char *uri, struct rd_name *ret, const char **ret_reason);

/**
 * H.323 Annex O resolution of @p name through api->dns_query (see fallback.c).
 * Loop thread. @p cb runs exactly once when 0 is returned, never before return.
 * @return 0, -ENOTSUP (the name has no host), -ENOMEM.
 */
int h323_fallback(void *state, const struct rd_name *name, rd_fallback_cb cb, void *ud);

/** Complete every fallback still in flight with -ECANCELED and free it. Loop thread. */
void h323_fallback_cancel_all(struct h323_state *st);

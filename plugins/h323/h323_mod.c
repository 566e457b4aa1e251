/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The h323 plugin's exports: h323: URLs (RFC 3508) keyed in the DHT, with the H.323 Annex O DNS fallback. */
#include "plugins/h323/h323.h"

#include <errno.h>
#include <stdlib.h>

/*
 * DESIGN
 * The plugin owns two things: the normalization of h323: URLs (url.c, pure,
 * called from any thread) and the fallback for names the DHT has no binding
 * for (fallback.c, loop thread, through the host's dns_query). It reads no
 * option of its own: plugins.h323.enabled, .path and .fallback are the
 * host's. Its state is the list of fallbacks in flight; deinit completes
 * each with -ECANCELED before the host drops their DNS queries.
 */

static const char *const h323_schemes[] = {"h323", NULL};

static int h323_init(const struct rd_host_api *api, struct rd_host *host, void **ret_state)
{
	struct h323_state *st = calloc(1, sizeof(*st));

	if (st == NULL) {
		api->log(host, RD_LOG_ERROR, "out of memory");
		return -ENOMEM;
	}
	st->api = api;
	st->host = host;
	*ret_state = st;
	return 0;
}

static void h323_deinit(void *state)
{
	struct h323_state *st = state;

	if (st == NULL)
		return;
	h323_fallback_cancel_all(st);
	free(st);
}

static const struct rd_plugin h323_plugin = {
	.abi_major = RD_PLUGIN_ABI_MAJOR,
	.abi_minor = RD_PLUGIN_ABI_MINOR,
	.size = sizeof(struct rd_plugin),
	.name = "h323",
	.schemes = h323_schemes,
	.normalize = h323_normalize,
	.init = h323_init,
	.deinit = h323_deinit,
	.fallback = h323_fallback,
};

RD_PLUGIN_EXPORT const struct rd_plugin *rd_plugin_entry(void);

RD_PLUGIN_EXPORT const struct rd_plugin *rd_plugin_entry(void)
{
	return &h323_plugin;
}

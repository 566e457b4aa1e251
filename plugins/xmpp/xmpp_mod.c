/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The xmpp plugin's exports: the rd_plugin vtable for the xmpp: scheme. */
#include <errno.h>
#include <stdlib.h>

#include "plugins/xmpp/fallback.h"
#include "plugins/xmpp/jid.h"
#include "resolverd/plugin.h"

/*
 * DESIGN
 * The plugin owns two things. jid.c turns an RFC 5122 xmpp: URI into its
 * bare JID, the DHT name (nodeprep, IDNA ToASCII, resourceprep through
 * libidn); the resource becomes rd_name.instance. It is pure and runs on
 * any thread: the HTTP pool calls normalize() concurrently, and libidn's
 * stringprep/idna functions keep no global state. fallback.c is the RFC 6120
 * section 3.2 lookup (SRV _xmpp-client/_xmpp-server, then A/AAAA) through
 * the host's dns_query(); it and everything it holds belong to the loop
 * thread. Invariant: every fallback started is completed exactly once,
 * with -ECANCELED at the latest in deinit(). The plugin has no options of
 * its own; plugins.xmpp.fallback (read by the host) turns the fallback off.
 * See plugins/xmpp/README.md for the URL form of the targets.
 */

/** The plugin's state, from init() to deinit(). */
struct xmpp_state {
	struct xmpp_fallback fb; /**< the fallbacks in flight */
};

static const char *const xmpp_schemes[] = {"xmpp", NULL};

/** rd_plugin.normalize: any thread; @p state unused (normalization has no options). */
static int xmpp_normalize(void *state, const char *uri, struct rd_name *ret, const char **ret_reason)
{
	return jid_normalize(uri, ret, ret_reason);
}

static int xmpp_init(const struct rd_host_api *api, struct rd_host *host, void **ret_state)
{
	struct xmpp_state *st = calloc(1, sizeof(*st));

	if (st == NULL) {
		api->log(host, RD_LOG_ERROR, "out of memory");
		return -ENOMEM;
	}
	fallback_init(&st->fb, api, host);
	*ret_state = st;
	return 0;
}

static void xmpp_deinit(void *state)
{
	struct xmpp_state *st = state;

	if (st == NULL)
		return;
	fallback_deinit(&st->fb);
	free(st);
}

static int xmpp_fallback(void *state, const struct rd_name *name, rd_fallback_cb cb, void *ud)
{
	struct xmpp_state *st = state;

	return st != NULL ? fallback_start(&st->fb, name, cb, ud) : -ENOTSUP;
}

static const struct rd_plugin xmpp_plugin = {
	.abi_major = RD_PLUGIN_ABI_MAJOR,
	.abi_minor = RD_PLUGIN_ABI_MINOR,
	.size = sizeof(struct rd_plugin),
	.name = "xmpp",
	.schemes = xmpp_schemes,
	.normalize = xmpp_normalize,
	.init = xmpp_init,
	.deinit = xmpp_deinit,
	.fallback = xmpp_fallback,
};

/** The plugin's one export (RD_PLUGIN_ENTRY). */
RD_PLUGIN_EXPORT const struct rd_plugin *rd_plugin_entry(void);

RD_PLUGIN_EXPORT const struct rd_plugin *rd_plugin_entry(void)
{
	return &xmpp_plugin;
}

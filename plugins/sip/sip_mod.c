/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The sip plugin's exports: its vtable, with sip:/sips: normalization, the RFC 3263 fallback and the registrar. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "plugins/sip/aor.h"
#include "plugins/sip/fallback.h"
#include "plugins/sip/registrar.h"
#include "resolverd/plugin.h"

/*
 * DESIGN
 * Files, Kamailio style: this file holds the exports only; aor.c is the
 * address-of-record rules (pure, any thread), fallback.c the RFC 3263 DNS
 * walk, server/ the registrar and redirect server.
 * State: one struct sip_state per init(), owning the registrar and the list
 * of fallbacks in flight. The module references no daemon symbol (it is
 * loaded RTLD_LOCAL): everything goes through the struct rd_host_api given
 * to init(). Threads: normalize() on any thread; the rest on the loop.
 */

/** The plugin's state: init()'s *ret_state. */
struct sip_state {
	const struct rd_host_api *api;   /**< borrowed until deinit */
	struct rd_host *host;            /**< borrowed until deinit */
	struct sip_registrar *registrar; /**< owned; NULL when plugins.sip.listen is empty */
	struct sip_fallbacks fallbacks;  /**< the fallbacks in flight */
};

static const char *const sip_schemes[] = {"sip", "sips", NULL};

static int sip_normalize(void *state, const char *uri, struct rd_name *ret, const char **ret_reason)
{
	(void)state;
	return sip_aor_normalize(uri, ret, ret_reason);
}

static int sip_init(const struct rd_host_api *api, struct rd_host *host, void **ret_state)
{
	struct sip_state *st;
	int err;

	/* Another major may have moved every member, log included: refuse without a call. */
	if (api->abi_major != RD_PLUGIN_ABI_MAJOR)
		return -ENOTSUP;
	/* Minor 0 has every member this plugin calls; a smaller table is not a daemon we know. */
	if (api->size < sizeof(struct rd_host_api)) {
		api->log(host, RD_LOG_ERROR, "host API of %u bytes, this plugin needs %zu", (unsigned)api->size,
			 sizeof(struct rd_host_api));
		return -ENOTSUP;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		api->log(host, RD_LOG_ERROR, "out of memory");
		return -ENOMEM;
	}
	st->api = api;
	st->host = host;
	err = sip_registrar_new(api, host, &st->registrar);
	if (err < 0) {
		free(st);
		return err;
	}
	sip_fallbacks_init(&st->fallbacks, api, host);
	*ret_state = st;
	return 0;
}

static void sip_deinit(void *state)
{
	struct sip_state *st = state;

	if (st == NULL)
		return;
	sip_fallbacks_deinit(&st->fallbacks);
	sip_registrar_free(st->registrar);
	free(st);
}

static int sip_fallback(void *state, const struct rd_name *name, rd_fallback_cb cb, void *ud)
{
	struct sip_state *st = state;

	if (st == NULL)
		return -ENOTSUP;
	return sip_fallback_start(&st->fallbacks, name, cb, ud);
}

static const struct rd_plugin sip_plugin = {
	.abi_major = RD_PLUGIN_ABI_MAJOR,
	.abi_minor = RD_PLUGIN_ABI_MINOR,
	.size = sizeof(struct rd_plugin),
	.name = "sip",
	.schemes = sip_schemes,
	.normalize = sip_normalize,
	.init = sip_init,
	.deinit = sip_deinit,
	.fallback = sip_fallback,
};

RD_PLUGIN_EXPORT const struct rd_plugin *rd_plugin_entry(void);

RD_PLUGIN_EXPORT const struct rd_plugin *rd_plugin_entry(void)
{
	return &sip_plugin;
}

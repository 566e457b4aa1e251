/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The SIP registrar and redirect server: UDP and TCP listeners on plugins.sip.listen, backed by the DHT. */
#pragma once

#include "resolverd/plugin.h"

struct sip_registrar;

/**
 * Read plugins.sip.{listen,min_expires,default_expires,max_expires,
 * max_contacts,realm,users...} through @p api and start listening. With an
 * empty plugins.sip.listen nothing is opened and *ret is NULL.
 * @param api, host borrowed until sip_registrar_free().
 * @return 0 and *ret, or -errno (logged through api->log / api->config_error).
 */
int sip_registrar_new(const struct rd_host_api *api, struct rd_host *host, struct sip_registrar **ret);

/** Close the listeners, free every transaction. NULL is a no-op. */
void sip_registrar_free(struct sip_registrar *r);

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The daemon's view of its plugins: start and stop them, check their config, ask their DNS fallback. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "resolverd/config/config.h"
#include "resolverd/core/cache.h"
#include "resolverd/core/loop.h"
#include "resolverd/core/publisher.h"
#include "resolverd/core/uri.h"
#include "resolverd/plugin.h"

/** Every loaded plugin, the host API they share, and the fallback answer cache. Opaque. */
struct hosts;

/** What the plugins reach through the host API. All borrowed; all must outlive hosts_stop(). */
struct hosts_ctx {
	const struct rd_config *cfg; /**< plugins.*, fallback.* */
	struct rd_loop *loop;        /**< NULL with check_only */
	struct cache *cache;         /**< resolve(); NULL with check_only */
	struct publisher *publisher; /**< publish(), unpublish(); NULL with check_only */
};

/**
 * Load every enabled plugin (plugins.<name>.enabled), register its
 * normalizers, and call its init() with its own struct rd_host. After each
 * init() a key of its section that it did not read is an error. A plugin
 * that is only a built-in default (the configuration never names it) and
 * whose file is not found is skipped with a warning; every other failure
 * fails the start. Loop thread, before DNS and HTTP start.
 * @param check_only for --check-config: no loop, cache or publisher; the
 *        plugins' sockets, timers and DNS queries are inert stand-ins that
 *        do nothing (binding checks only the endpoint's syntax), resolve()
 *        answers -ECANCELED and publish() fails with -EIO. Each plugin is
 *        stopped again right after its init().
 * Every failure is logged here (a config error as "FILE:LINE:COLUMN:
 * plugins.NAME.KEY: reason", like the core's).
 * @return 0 and *ret, or -errno (nothing left loaded).
 */
int hosts_start(const struct hosts_ctx *ctx, bool check_only, struct hosts **ret);

/**
 * Stop every plugin in reverse order: deinit(), release what it still
 * holds (no callbacks), clear the normalizer registry, dlclose. Pending
 * resolve() callbacks are dropped. Loop thread, after DNS and HTTP stopped.
 * NULL is a no-op.
 */
void hosts_stop(struct hosts *hs);

/**
 * Would GET /v1/resolve ask a fallback for the normalized URI @p uri: does
 * its scheme belong to a loaded plugin with a fallback() and
 * plugins.<name>.fallback true? Any thread (read-only after start).
 */
bool hosts_can_fallback(const struct hosts *hs, const char *uri);

/**
 * The end of hosts_fallback(): like rd_fallback_cb; @p now is the unix time
 * the answer was computed or cached at (a target's lifetime is ttl from then).
 */
typedef void (*hosts_fallback_cb)(void *ud, int status, uint64_t now, const struct rd_target *targets, size_t n);

/**
 * Ask the fallback of @p parts' plugin, through a small loop-thread cache:
 * answers are kept min(ttl, 300) s, failures (-ENOENT, -ETIMEDOUT, -EIO)
 * 30 s, and concurrent misses for one name share one plugin call.
 * @param parts a normalized URI, borrowed for the call.
 * @param cb runs once when 0 is returned, possibly before return.
 * @return 0, -ENOTSUP (no fallback for this URI), -ENOMEM. Loop thread.
 */
int hosts_fallback(struct hosts *hs, const struct uri_parts *parts, hosts_fallback_cb cb, void *ud);

/** Answer every hosts_fallback() still waiting with -ECANCELED now (HTTP shutdown). Loop thread. NULL is a no-op. */
void hosts_fail_waiters(struct hosts *hs);

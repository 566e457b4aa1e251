/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The daemon's assembly: start every subsystem in order, run the loop, stop them in reverse. */
#pragma once

#include "resolverd/config/config.h"

/**
 * Run resolverd with @p cfg until SIGINT or SIGTERM. Call on the main thread,
 * which becomes the loop thread.
 * @return 0 after a clean stop, or -errno if start-up failed (already logged).
 */
int daemon_run(const struct rd_config *cfg);

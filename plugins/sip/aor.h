/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SIP and SIPS addresses of record: RFC 3261 section 10.3 and 19.1.4 rules, no I/O. */
#pragma once

#include "resolverd/plugin.h"

/**
 * Normalize a sip: or sips: URI (scheme in any case) to its address of
 * record: scheme lower-cased, URI parameters and headers dropped, escapes of
 * characters that need none resolved (and the rest upper-cased), host
 * lower-cased, user and password case kept, an explicit port kept, even the
 * default one (RFC 3261 19.1.4: sip:bob@biloxi.com and sip:bob@biloxi.com:5060
 * differ).
 * Thread-safe, allocation-free.
 * @param[out] ret written on success only: name = the AoR, host = its host,
 *        instance = "".
 * @param[out] ret_reason on -EINVAL, a static English sentence.
 * @return 0, -EINVAL, -ENAMETOOLONG.
 */
int sip_aor_normalize(const char *uri, struct rd_name *ret, const char **ret_reason);

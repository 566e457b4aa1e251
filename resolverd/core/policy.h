/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Authorization: who may publish for a name (open, or pinned domain keys plus delegations). */
#pragma once

#include <stdint.h>

#include "resolverd/core/keys.h"
#include "resolverd/core/record.h"

enum policy_mode {
	POLICY_OPEN = 0, /**< any valid signature */
	POLICY_KEYS = 1, /**< a pinned domain key, or a device key delegated by one */
};

/** Opaque: a built policy. Read-only after construction, so any thread may check against it. */
struct policy;

/** @return a new policy with @p default_mode for domains that have no keys listed, or NULL. */
struct policy *policy_new(enum policy_mode default_mode);

/** NULL is a no-op. */
void policy_free(struct policy *p);

/**
 * Pin @p pub for @p domain (lower-case). A domain with at least one key is in
 * keys mode whatever the default. Start-up only. @return 0, -ENOMEM.
 */
int policy_add_domain_key(struct policy *p, const char *domain, const uint8_t pub[KEYS_PUB_LEN]);

/**
 * May @p rec be accepted for its URI, whose host is @p domain (NULL if the URI
 * has none)? The domain's entry is the longest configured domain equal to
 * @p domain or a parent of it. In keys mode the publisher must be one of its
 * keys, or carry a cert signed by one of them whose pattern matches rec->uri,
 * made for rec->publisher, with now < not_after. Thread-safe.
 * @return 0 or -EACCES.
 */
int policy_check(const struct policy *p, const struct record *rec, const char *domain,
		 uint64_t now);

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Bearer tokens for writes: constant-time lookup, URI-glob scopes, the admin token file. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/** Opaque token set. Read-only after start-up, so any thread may use it. */
struct tokens;

/** @return an empty set, or NULL. */
struct tokens *tokens_new(void);

/** NULL is a no-op. */
void tokens_free(struct tokens *t);

/**
 * Add a token. Only a digest of @p secret is kept. Start-up only.
 * @param scopes borrowed URI globs ('*' wildcard) the token may write.
 * @return 0, -ENOMEM.
 */
int tokens_add(struct tokens *t, const char *name, const char *secret, const char *const *scopes,
	       size_t n_scopes);

/**
 * Find the token matching @p presented. Every stored token is compared, in
 * constant time, whatever matches. Thread-safe.
 * @return the token's index, or -EACCES.
 */
int tokens_find(const struct tokens *t, const char *presented);

/** May token @p index write @p uri? Thread-safe. */
bool tokens_allows(const struct tokens *t, int index, const char *uri);

/**
 * Read state_dir/admin.token, or create it (64 hex digits from the CSPRNG,
 * mode 0600) at first start. Refuses a file that group or others can read.
 * @param[out] ret_secret owned secret without the newline.
 * @return 0, -EPERM (mode too open), -EBADMSG (too short), -errno.
 */
int tokens_admin_load_or_create(const char *state_dir, char **ret_secret);

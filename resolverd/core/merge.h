/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The reader rules: from the verified records at one key to the live bindings, best first. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolverd/core/record.h"

/**
 * Apply the reader rules to verified and authorized records of one name:
 * for each (publisher, instance) the highest seq wins (ties: the larger wire
 * image, so every reader agrees), whether or not it has expired; drop the
 * devices whose winner is a tombstone or expired (expires <= now), so that a
 * superseded record still lingering in the DHT never comes back; order the rest by q
 * descending, then expires descending, then instance, then publisher; keep at
 * most @p limit.
 * @param in   borrowed records; not modified.
 * @param out  array of at least @p n slots; receives borrowed pointers into @p in.
 * @return the number of bindings written to @p out.
 */
size_t merge_bindings(const struct record *const *in, size_t n, uint64_t now, size_t limit,
		      const struct record **out);

/**
 * Does @p a supersede @p b? Both must be of the same (publisher, instance).
 * True when a's seq is higher, or equal with the larger wire image.
 */
bool merge_supersedes(const struct record *a, const struct record *b);

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An intrusive string-keyed hash table with a per-process random SipHash key (flooding-resistant). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/** Embed in the element; set key before map_put(). The key string is borrowed from the element. */
struct map_node {
	struct map_node *next; /**< bucket chain, owned by the map */
	uint64_t hash;         /**< cached hash of key */
	const char *key;       /**< NUL-terminated, borrowed */
};

/** The table. Not thread-safe: the owner serializes access. */
struct map {
	struct map_node **buckets; /**< owned array */
	size_t n_buckets;          /**< a power of two */
	size_t count;
};

/** @return 0 or -ENOMEM. */
int map_init(struct map *m);

/** Free the bucket array (not the elements). */
void map_deinit(struct map *m);

/** @return the element with @p key, or NULL. */
struct map_node *map_get(const struct map *m, const char *key);

/** Insert @p node (its key must not be present). @return 0 or -ENOMEM (then nothing changed). */
int map_put(struct map *m, struct map_node *node);

/** Unlink @p node, which must be in @p m. */
void map_remove(struct map *m, struct map_node *node);

/**
 * Iterate: start with *cursor = 0 and prev = NULL; returns the element after
 * prev, or NULL at the end. To remove elements while iterating, fetch the
 * next one before removing the current one. No insertions while iterating.
 */
struct map_node *map_next(const struct map *m, size_t *cursor, struct map_node *prev);

/** The keyed hash used by the table; any thread. */
uint64_t map_hash(const char *key, size_t len);

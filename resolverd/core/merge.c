/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The reader rules: from the verified records at one key to the live bindings, best first. */
#include "resolverd/core/merge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/** Compare wire images: bytes first, then a longer image is larger. */
static int cmp_wire(const struct record *a, const struct record *b)
{
	size_t n = a->wire_len < b->wire_len ? a->wire_len : b->wire_len;
	int c = n > 0 ? memcmp(a->wire, b->wire, n) : 0;

	if (c != 0)
		return c;
	return (a->wire_len > b->wire_len) - (a->wire_len < b->wire_len);
}

/** Compare the device identity (publisher, instance). */
static int cmp_device(const struct record *a, const struct record *b)
{
	int c = memcmp(a->publisher, b->publisher, KEYS_PUB_LEN);

	return c != 0 ? c : strcmp(a->instance, b->instance);
}

/** Group by device; within a device the winner first (highest seq, then larger wire image). */
static int cmp_by_device(const void *pa, const void *pb)
{
	const struct record *a = *(const struct record *const *)pa;
	const struct record *b = *(const struct record *const *)pb;
	int c = cmp_device(a, b);

	if (c != 0)
		return c;
	if (a->seq != b->seq)
		return a->seq > b->seq ? -1 : 1;
	return -cmp_wire(a, b);
}

bool merge_supersedes(const struct record *a, const struct record *b)
{
	if (a->seq != b->seq)
		return a->seq > b->seq;
	return cmp_wire(a, b) > 0;
}

/** Best binding first: q descending, expires descending, then instance, then publisher. */
static int cmp_by_preference(const void *pa, const void *pb)
{
	const struct record *a = *(const struct record *const *)pa;
	const struct record *b = *(const struct record *const *)pb;
	int c;

	if (a->q != b->q)
		return a->q > b->q ? -1 : 1;
	if (a->expires != b->expires)
		return a->expires > b->expires ? -1 : 1;
	c = strcmp(a->instance, b->instance);
	return c != 0 ? c : memcmp(a->publisher, b->publisher, KEYS_PUB_LEN);
}

size_t merge_bindings(const struct record *const *in, size_t n, uint64_t now, size_t limit,
		      const struct record **out)
{
	const struct record *prev = NULL;
	size_t kept = 0;

	if (n == 0)
		return 0;
	memcpy(out, in, n * sizeof(*out));
	qsort(out, n, sizeof(*out), cmp_by_device);
	/*
	 * The first record of each device is its winner, expired or not: a newer
	 * record always supersedes an older one, so a superseded binding that
	 * lingers in the DHT can never come back once its successor expires.
	 * kept <= i, so compacting in place is safe.
	 */
	for (size_t i = 0; i < n; i++) {
		const struct record *r = out[i];
		bool winner = prev == NULL || cmp_device(prev, r) != 0;

		prev = r;
		if (winner && !r->tombstone && r->expires > now)
			out[kept++] = r;
	}
	qsort(out, kept, sizeof(*out), cmp_by_preference);
	return kept < limit ? kept : limit;
}

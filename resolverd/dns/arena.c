/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A fixed-size bump allocator for one DNS query, usable by libknot as a knot_mm_t. */
#include "resolverd/dns/arena.h"

#include <errno.h>
#include <stdlib.h>

/** knot_mm_alloc_t over an arena. */
static void *mm_arena_alloc(void *ctx, size_t len)
{
	return arena_alloc(ctx, len);
}

/** knot_mm_free_t: single allocations are only released by arena_reset(). */
static void mm_arena_free(void *p)
{
	(void)p;
}

int arena_init(struct arena *a, size_t cap)
{
	uint8_t *base = aligned_alloc(ARENA_ALIGN, (cap + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN);

	if (base == NULL)
		return -ENOMEM;
	*a = (struct arena){
		.base = base,
		.cap = cap,
		.mm = {.ctx = a, .alloc = mm_arena_alloc, .free = mm_arena_free},
	};
	return 0;
}

void arena_deinit(struct arena *a)
{
	free(a->base);
	*a = (struct arena){0};
}

void arena_reset(struct arena *a)
{
	a->used = 0;
	a->exhausted = false;
}

size_t arena_mark(const struct arena *a)
{
	return a->used;
}

void arena_rewind(struct arena *a, size_t mark)
{
	if (mark <= a->used)
		a->used = mark;
}

/** The cursor rounded up to ARENA_ALIGN, or cap if that would pass it. */
static size_t aligned_cursor(const struct arena *a)
{
	size_t pos = (a->used + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;

	return pos < a->cap ? pos : a->cap;
}

void *arena_alloc(struct arena *a, size_t len)
{
	size_t pos = aligned_cursor(a);

	if (len > a->cap - pos) {
		a->exhausted = true;
		return NULL;
	}
	a->used = pos + len;
	return a->base + pos;
}

uint8_t *arena_open(struct arena *a, size_t *ret_avail)
{
	size_t pos = aligned_cursor(a);

	*ret_avail = a->cap - pos;
	return a->base + pos;
}

void arena_commit(struct arena *a, size_t len)
{
	a->used = aligned_cursor(a) + len;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A fixed-size bump allocator for one DNS query, usable by libknot as a knot_mm_t. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/mm_ctx.h>

/*
 * DESIGN
 * One block is allocated at arena_init() and never grows: allocation moves a
 * cursor, arena_reset() moves it back, and freeing a single allocation does
 * nothing. So a query costs no malloc once its arena exists, and no input can
 * make it use more than the cap: an allocation that does not fit returns NULL
 * (libknot turns that into KNOT_ENOMEM) and marks the arena exhausted. Not
 * thread-safe; each query owns its arena.
 */

#define ARENA_ALIGN 16 /**< every allocation starts on this boundary */

struct arena {
	uint8_t *base;  /**< owned block of cap bytes */
	size_t cap;
	size_t used;    /**< bytes handed out since the last reset */
	bool exhausted; /**< an allocation failed since the last reset */
	knot_mm_t mm;   /**< allocator view for libknot; mm.ctx points to this arena */
};

/** Allocate the block. @return 0 or -ENOMEM. @p a must not move afterwards (mm.ctx points to it). */
int arena_init(struct arena *a, size_t cap);

/** Free the block. Safe on a zeroed struct. */
void arena_deinit(struct arena *a);

/** Forget every allocation: their memory is reused by the next ones. */
void arena_reset(struct arena *a);

/** @return @p len bytes aligned to ARENA_ALIGN, or NULL (and exhausted set) if they do not fit. */
void *arena_alloc(struct arena *a, size_t len);

/** The current cursor, to release what follows with arena_rewind(). */
size_t arena_mark(const struct arena *a);

/** Release every allocation made since arena_mark() returned @p mark. */
void arena_rewind(struct arena *a, size_t mark);

/**
 * Open-ended allocation: the free space from the next aligned position, for
 * writing an array whose size is known only at the end. Nothing is allocated
 * until arena_commit(); no other allocation may happen in between.
 * @param[out] ret_avail bytes usable at the returned address (may be 0).
 */
uint8_t *arena_open(struct arena *a, size_t *ret_avail);

/** Keep the first @p len bytes of the space returned by arena_open() (len <= its ret_avail). */
void arena_commit(struct arena *a, size_t len);

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Files in state_dir: atomic writes, bounded reads, path joins and permission checks. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Create @p dir (and missing parents) with mode 0700 if it does not exist.
 * @return 0, -ENOTDIR, -errno.
 */
int state_dir_prepare(const char *dir);

/**
 * Remove the temp files state_write_atomic() leaves behind when the process
 * dies mid-write ("NAME.tmp.XXXXXX" in @p dir). Start-up only.
 * @return the number removed, or -errno.
 */
int state_dir_clean(const char *dir);

/** @return "dir/name", owned by the caller, or NULL on allocation failure. */
char *state_path(const char *dir, const char *name);

/**
 * Replace @p path with @p data atomically: write a temp file beside it with
 * @p mode, fsync it, rename it over @p path, fsync the directory. A crash at
 * any point leaves either the old or the new content. Any thread.
 * @return 0 or -errno.
 */
int state_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/**
 * Read a whole file of at most @p max bytes.
 * @param[out] ret_data owned buffer (NUL-terminated for convenience, not counted).
 * @return 0, -ENOENT, -EFBIG, -errno.
 */
int state_read_file(const char *path, size_t max, uint8_t **ret_data, size_t *ret_len);

/**
 * Refuse secrets others could read: @return 0 if @p path is a regular file
 * with no group/other permission bits, -EPERM if it has some, -errno.
 */
int state_check_private(const char *path);

#ifdef __cplusplus
}
#endif

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Tests for resolverd/core/state.c: atomic writes, bounded reads, permission checks, temp-file cleanup. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resolverd/core/state.h"

static char dir[64];

static void make_dir(void)
{
	strcpy(dir, "/tmp/rd-state-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void touch(const char *name, mode_t mode)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
}

static bool exists(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

Test(state, atomic_write_round_trip_with_exact_mode)
{
	make_dir();
	char *path = state_path(dir, "f");
	mode_t old = umask(0);
	cr_assert_eq(state_write_atomic(path, "hello", 5, 0600), 0);
	umask(old);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	uint8_t *data = NULL;
	size_t len = 0;
	cr_assert_eq(state_read_file(path, 100, &data, &len), 0);
	cr_assert_eq(len, 5);
	cr_assert_str_eq((char *)data, "hello");
	free(data);
	cr_assert_eq(state_read_file(path, 4, &data, &len), -EFBIG);
	cr_assert_eq(state_check_private(path), 0);
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(state_check_private(path), -EPERM);
	cr_assert_eq(state_dir_clean(dir), 0, "no temp file is left by a completed write");
	free(path);
}

Test(state, clean_removes_only_interrupted_temp_files)
{
	make_dir();
	touch("publications.log.tmp.a1B2c3", 0600);
	touch("node.key.tmp.ZZZZZZ", 0600);
	touch("publications.log", 0600);
	touch("notes.tmp.12345", 0600);      /* five characters: not ours */
	touch("x.tmp.1234567", 0600);       /* seven: not ours */
	touch(".tmp.abcdef", 0600);         /* no name before it: not ours */
	cr_assert_eq(state_dir_clean(dir), 2);
	cr_assert(!exists("publications.log.tmp.a1B2c3"));
	cr_assert(!exists("node.key.tmp.ZZZZZZ"));
	cr_assert(exists("publications.log"));
	cr_assert(exists("notes.tmp.12345"));
	cr_assert(exists("x.tmp.1234567"));
	cr_assert(exists(".tmp.abcdef"));
	cr_assert_eq(state_dir_clean("/nonexistent/dir"), -ENOENT);
}

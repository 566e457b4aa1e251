/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Files in state_dir: atomic writes, bounded reads, path joins and permission checks. */
#include "resolverd/core/state.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int state_dir_prepare(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (errno != ENOENT)
		return -errno;
	char *copy = strdup(dir);
	if (!copy)
		return -ENOMEM;
	char *parent = dirname(copy);
	int rc = 0;
	if (strcmp(parent, dir) != 0 && strcmp(parent, ".") != 0 && strcmp(parent, "/") != 0)
		rc = state_dir_prepare(parent);
	free(copy);
	if (rc < 0)
		return rc;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* "NAME.tmp.XXXXXX", the shape of our temp files, and nothing else. */
static bool is_temp_name(const char *name)
{
	const char *t = strstr(name, ".tmp.");
	return t && t != name && strlen(t + 5) == 6 && !strchr(t + 5, '.');
}

int state_dir_clean(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	int removed = 0;
	struct dirent *ent;
	while ((ent = readdir(d)) != NULL) {
		if (ent->d_type == DT_REG && is_temp_name(ent->d_name) && unlinkat(dirfd(d), ent->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

char *state_path(const char *dir, const char *name)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	return path;
}

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_parent(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int state_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
		return -ENOMEM;
	int rc = 0;
	/* A fresh, exclusive temp file (0600): never an existing file or link. */
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out_free;
	}
	/* Then the exact mode asked for, whatever the umask. */
	if (fchmod(fd, mode) < 0 || (rc = write_all(fd, data, len)) < 0 || fsync(fd) < 0) {
		rc = rc < 0 ? rc : -errno;
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	rc = fsync_parent(path);
	goto out_free;

out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out_free:
	free(tmp);
	return rc;
}

int state_read_file(const char *path, size_t max, uint8_t **ret_data, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = 0;
	uint8_t *buf = NULL;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out_close;
	}
	if ((uint64_t)st.st_size > max) {
		rc = -EFBIG;
		goto out_close;
	}
	size_t size = (size_t)st.st_size, got = 0;
	buf = malloc(size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out_close;
	}
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto out_free;
		}
		got += (size_t)n;
	}
	buf[size] = 0;
	*ret_data = buf;
	*ret_len = size;
	buf = NULL;
out_free:
	free(buf);
out_close:
	close(fd);
	return rc;
}

int state_check_private(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	return (st.st_mode & 077) ? -EPERM : 0;
}

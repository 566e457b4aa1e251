/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: a YAML configuration file, loaded over the defaults and validated. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "resolverd/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* config_load() reads a path: give it an in-memory file, made once per process. */
static int file_fd = -1;
static char file_path[64];

static void file_open(void)
{
	file_fd = memfd_create("fuzz_config.yaml", MFD_CLOEXEC);
	if (file_fd < 0)
		abort();
	snprintf(file_path, sizeof(file_path), "/proc/self/fd/%d", file_fd);
}

static void file_set(const uint8_t *data, size_t size)
{
	if (ftruncate(file_fd, 0) < 0)
		abort();
	for (size_t done = 0; done < size;) {
		ssize_t n = pwrite(file_fd, data + done, size - done, (off_t)done);
		if (n <= 0)
			abort();
		done += (size_t)n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_config cfg;
	char *error = NULL;
	if (file_fd < 0)
		file_open();
	file_set(data, size);
	if (config_init(&cfg) < 0)
		return 0;
	int rc = config_load(&cfg, file_path, &error);
	if (rc < 0 && !error)
		abort(); /* every failure says why */
	free(error);
	error = NULL;
	if (rc == 0 && config_validate(&cfg, &error) < 0 && !error)
		abort();
	free(error);
	config_deinit(&cfg);
	return 0;
}

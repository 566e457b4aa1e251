/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: the tel plugin's normalize() (plugins/tel/tel.c, reached through its entry point). */
#include "tests/fuzz/fuzz_normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* tel.c keeps its normalizer static: the vtable is the only way in, as for the daemon. */
const struct rd_plugin *rd_plugin_entry(void);

static const char *const prefixes[] = {"tel:", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_normalizer tel = {rd_plugin_entry()->normalize, prefixes, false, false};
	char *uri = fuzz_input_string(data, size);

	if (!uri)
		return -1;
	fuzz_normalize_input(&tel, uri);
	free(uri);
	return 0;
}

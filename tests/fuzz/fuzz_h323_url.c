/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: the h323 plugin's h323_normalize() (plugins/h323/url.c), under fuzz_normalize.h's invariants. */
#include "plugins/h323/h323.h"
#include "tests/fuzz/fuzz_normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const prefixes[] = {"h323:", NULL};
static const struct fuzz_normalizer h323_url = {h323_normalize, prefixes, false, false};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *uri = fuzz_input_string(data, size);

	if (!uri)
		return -1;
	fuzz_normalize_input(&h323_url, uri);
	free(uri);
	return 0;
}

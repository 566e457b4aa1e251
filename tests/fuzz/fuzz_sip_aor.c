/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: the sip plugin's sip_aor_normalize() (plugins/sip/aor.c), under fuzz_normalize.h's invariants. */
#include "plugins/sip/aor.h"
#include "tests/fuzz/fuzz_normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int normalize(void *state, const char *uri, struct rd_name *ret, const char **ret_reason)
{
	(void)state;
	return sip_aor_normalize(uri, ret, ret_reason);
}

static const char *const prefixes[] = {"sip:", "sips:", NULL};
static const struct fuzz_normalizer sip_aor = {normalize, prefixes, false, false};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *uri = fuzz_input_string(data, size);

	if (!uri)
		return -1;
	fuzz_normalize_input(&sip_aor, uri);
	free(uri);
	return 0;
}

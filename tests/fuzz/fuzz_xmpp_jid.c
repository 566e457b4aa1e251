/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: the xmpp plugin's jid_normalize() (plugins/xmpp/jid.c, libidn), under fuzz_normalize.h's invariants. */
#include "plugins/xmpp/jid.h"
#include "tests/fuzz/fuzz_normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int normalize(void *state, const char *uri, struct rd_name *ret, const char **ret_reason)
{
	(void)state;
	return jid_normalize(uri, ret, ret_reason);
}

static const char *const prefixes[] = {"xmpp:", NULL};
/* jid.h promises a reason on -ENAMETOOLONG too; the resource is the instance. */
static const struct fuzz_normalizer xmpp_jid = {normalize, prefixes, true, true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *uri = fuzz_input_string(data, size);

	if (!uri)
		return -1;
	fuzz_normalize_input(&xmpp_jid, uri);
	free(uri);
	return 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The invariants every scheme plugin's normalize() must keep, shared by the fuzz_<plugin> targets. */
#pragma once
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/plugin.h"

/** A plugin's normalizer, as struct rd_plugin.normalize has it. */
typedef int (*fuzz_normalize_fn)(void *state, const char *uri, struct rd_name *ret, const char **ret_reason);

/** What a target knows about its plugin's normalizer. */
struct fuzz_normalizer {
	fuzz_normalize_fn normalize;    /**< the function under test; called with a NULL state */
	const char *const *prefixes;    /**< NULL-terminated: a normal form starts with one of these */
	bool has_instance;              /**< the URI itself may name an instance (an XMPP resource) */
	bool reason_on_too_long;        /**< -ENAMETOOLONG also sets a reason (the header promises it) */
};

/* The byte every output buffer holds before a call, so a missing NUL or a stray write shows. */
#define FUZZ_POISON 0xA5

/* A NUL within the n bytes of s. */
static bool fuzz_terminated(const char *s, size_t n)
{
	return memchr(s, 0, n) != NULL;
}

/* Every byte printable ASCII, no space: what a URI may hold unescaped (RFC 3986 section 2). */
static bool fuzz_uri_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* s is text for a problem detail: not empty, no control characters. */
static bool fuzz_reason_text(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* All n bytes of p are the poison: the callee did not write there. */
static bool fuzz_untouched(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != FUZZ_POISON)
			return false;
	return true;
}

/* Call the normalizer on @p uri with poisoned outputs; a failure must leave @p ret as it was. */
static int fuzz_call(const struct fuzz_normalizer *n, const char *uri, struct rd_name *ret)
{
	const char *reason = NULL;

	memset(ret, FUZZ_POISON, sizeof(*ret));
	int rc = n->normalize(NULL, uri, ret, &reason);
	if (rc == 0)
		return 0;
	if (rc != -EINVAL && rc != -ENAMETOOLONG && rc != -ENOMEM)
		abort();
	/* "written on success only" (plugin.h): a refusal leaves ret alone. */
	if (!fuzz_untouched(ret, sizeof(*ret)))
		abort();
	if ((rc == -EINVAL || (rc == -ENAMETOOLONG && n->reason_on_too_long)) && !fuzz_reason_text(reason))
		abort();
	return rc;
}

/* A success's output: terminated in every buffer, URI text, the plugin's scheme, a lower-case host. */
static void fuzz_check_output(const struct fuzz_normalizer *n, const struct rd_name *r)
{
	if (!fuzz_terminated(r->name, sizeof(r->name)) || !fuzz_terminated(r->host, sizeof(r->host)) ||
	    !fuzz_terminated(r->instance, sizeof(r->instance)))
		abort();
	if (!fuzz_uri_text(r->name) || !fuzz_uri_text(r->host))
		abort();
	bool prefixed = false;
	for (const char *const *p = n->prefixes; *p && !prefixed; p++)
		prefixed = strncmp(r->name, *p, strlen(*p)) == 0 && r->name[strlen(*p)] != '\0';
	if (!prefixed)
		abort();
	for (const char *h = r->host; *h; h++)
		if (*h >= 'A' && *h <= 'Z')
			abort();
	if (!n->has_instance && r->instance[0] != '\0')
		abort();
}

/*
 * The whole check for one input: a refusal is clean and explained; a normal
 * form is well formed and a fixed point, also with its scheme upper-cased
 * (every spelling of an address must map to one DHT key).
 */
static void fuzz_normalize_input(const struct fuzz_normalizer *n, const char *uri)
{
	struct rd_name *once = malloc(sizeof(*once));
	struct rd_name *twice = malloc(sizeof(*twice));
	char *upper = malloc(sizeof(once->name));

	if (!once || !twice || !upper)
		goto out;
	if (fuzz_call(n, uri, once) != 0)
		goto out;
	fuzz_check_output(n, once);
	if (fuzz_call(n, once->name, twice) != 0)
		abort();
	fuzz_check_output(n, twice);
	/* The normal form names no instance: only the original URI's resource does. */
	if (strcmp(once->name, twice->name) != 0 || strcmp(once->host, twice->host) != 0 ||
	    twice->instance[0] != '\0')
		abort();
	strcpy(upper, once->name);
	for (char *c = upper; *c && *c != ':'; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	if (fuzz_call(n, upper, twice) != 0 || strcmp(once->name, twice->name) != 0 ||
	    strcmp(once->host, twice->host) != 0)
		abort();
out:
	free(upper);
	free(twice);
	free(once);
}

/* The input as a C string (the caller frees it), or NULL when it holds a NUL and so says nothing new. */
static char *fuzz_input_string(const uint8_t *data, size_t size)
{
	if (memchr(data, 0, size))
		return NULL;
	char *s = malloc(size + 1);
	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Bearer tokens for writes: constant-time lookup, URI-glob scopes, the admin token file. */
#include "resolverd/core/tokens.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "resolverd/core/record.h"
#include "resolverd/core/state.h"

#define ADMIN_TOKEN_NAME "admin.token"
#define TOKEN_MIN_LEN 16

struct token {
	char *name;                          /**< owned */
	uint8_t digest[SHA256_DIGEST_LENGTH]; /**< SHA-256 of the secret */
	char **scopes;                       /**< owned */
	size_t n_scopes;
};

struct tokens {
	struct token *v; /**< owned array */
	size_t n;
};

struct tokens *tokens_new(void)
{
	return calloc(1, sizeof(struct tokens));
}

void tokens_free(struct tokens *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		for (size_t j = 0; j < t->v[i].n_scopes; j++)
			free(t->v[i].scopes[j]);
		free(t->v[i].scopes);
		free(t->v[i].name);
	}
	free(t->v);
	free(t);
}

int tokens_add(struct tokens *t, const char *name, const char *secret, const char *const *scopes,
	       size_t n_scopes)
{
	struct token *v = realloc(t->v, (t->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	t->v = v;
	struct token *tok = &v[t->n];
	*tok = (struct token){.name = strdup(name), .scopes = calloc(n_scopes + 1, sizeof(char *))};
	if (!tok->name || !tok->scopes)
		goto out_nomem;
	for (size_t i = 0; i < n_scopes; i++) {
		if (!(tok->scopes[i] = strdup(scopes[i])))
			goto out_nomem;
		tok->n_scopes++;
	}
	SHA256((const uint8_t *)secret, strlen(secret), tok->digest);
	t->n++;
	return 0;

out_nomem:
	for (size_t i = 0; i < tok->n_scopes; i++)
		free(tok->scopes[i]);
	free(tok->scopes);
	free(tok->name);
	return -ENOMEM;
}

int tokens_find(const struct tokens *t, const char *presented)
{
	uint8_t digest[SHA256_DIGEST_LENGTH];
	SHA256((const uint8_t *)presented, strlen(presented), digest);
	int found = -EACCES;
	/* No early exit: the time taken does not depend on which token matched. */
	for (size_t i = 0; i < t->n; i++)
		if (CRYPTO_memcmp(digest, t->v[i].digest, sizeof(digest)) == 0)
			found = (int)i;
	return found;
}

bool tokens_allows(const struct tokens *t, int index, const char *uri)
{
	const struct token *tok = &t->v[index];
	for (size_t i = 0; i < tok->n_scopes; i++)
		if (record_pattern_match(tok->scopes[i], uri))
			return true;
	return false;
}

static int admin_create(const char *path, char **ret_secret)
{
	uint8_t raw[32];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	char *hex = malloc(2 * sizeof(raw) + 2);
	if (!hex)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	hex[2 * sizeof(raw)] = '\n';
	int rc = state_write_atomic(path, hex, 2 * sizeof(raw) + 1, 0600);
	hex[2 * sizeof(raw)] = 0;
	OPENSSL_cleanse(raw, sizeof(raw));
	if (rc < 0) {
		free(hex);
		return rc;
	}
	*ret_secret = hex;
	return 0;
}

int tokens_admin_load_or_create(const char *state_dir, char **ret_secret)
{
	char *path = state_path(state_dir, ADMIN_TOKEN_NAME);
	if (!path)
		return -ENOMEM;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = state_check_private(path);
	if (rc == -ENOENT) {
		rc = admin_create(path, ret_secret);
		goto out_free;
	}
	if (rc < 0 || (rc = state_read_file(path, 4096, &data, &len)) < 0)
		goto out_free;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
		data[--len] = 0;
	if (len < TOKEN_MIN_LEN || strlen((char *)data) != len) {
		free(data);
		rc = -EBADMSG;
		goto out_free;
	}
	*ret_secret = (char *)data;
out_free:
	free(path);
	return rc;
}

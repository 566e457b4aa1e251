/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Ed25519 keys (OpenSSL 3): generation, PEM key files, signing, verification, hex forms. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYS_PUB_LEN 32
#define KEYS_SIG_LEN 64
#define KEYS_PUB_HEX_LEN (2 * KEYS_PUB_LEN) /**< length of the hex form, without NUL */

/** A private key and its public half. Embed it; release with keys_deinit(). */
struct keypair {
	void *pkey;                /**< owned EVP_PKEY * */
	uint8_t pub[KEYS_PUB_LEN]; /**< raw public key */
};

/** Generate a new key. @return 0 or -EIO. */
int keys_generate(struct keypair *ret);

/**
 * Load a PKCS#8 PEM private key. Refuses a file that group or others may read.
 * @return 0, -ENOENT, -EPERM (mode too open), -EBADMSG (not an Ed25519 key), -errno.
 */
int keys_load(const char *path, struct keypair *ret);

/**
 * Write @p key to @p path as PKCS#8 PEM with mode 0600, atomically (temp file,
 * fsync, rename). @return 0 or -errno.
 */
int keys_save(const struct keypair *key, const char *path);

/** keys_load(), or on -ENOENT generate and keys_save() a new one. @return 0 or -errno. */
int keys_load_or_create(const char *path, struct keypair *ret);

/** Release the private key. Safe on a zeroed struct. */
void keys_deinit(struct keypair *key);

/** Sign @p msg. @return 0 or -EIO. Thread-safe. */
int keys_sign(const struct keypair *key, const uint8_t *msg, size_t len, uint8_t ret_sig[KEYS_SIG_LEN]);

/** Verify an Ed25519 signature against a raw public key. Thread-safe. */
bool keys_verify(const uint8_t pub[KEYS_PUB_LEN], const uint8_t *msg, size_t len,
		 const uint8_t sig[KEYS_SIG_LEN]);

/** Lower-case hex of a public key into @p out (KEYS_PUB_HEX_LEN + 1 bytes). */
void keys_pub_to_hex(const uint8_t pub[KEYS_PUB_LEN], char out[KEYS_PUB_HEX_LEN + 1]);

/** Parse 64 hex digits (either case). @return 0 or -EINVAL. */
int keys_pub_from_hex(const char *hex, uint8_t ret_pub[KEYS_PUB_LEN]);

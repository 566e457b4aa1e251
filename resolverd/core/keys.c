/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Ed25519 keys on the OpenSSL 3 EVP API: generation, PEM key files, signing and verification. */
#include "resolverd/core/keys.h"
#include "resolverd/core/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/** Fill @p ret from @p pkey, taking ownership of it. @return 0 or -EBADMSG. */
static int keypair_adopt(EVP_PKEY *pkey, struct keypair *ret)
{
	uint8_t pub[KEYS_PUB_LEN];
	size_t pub_len = sizeof(pub);

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len) != 1 || pub_len != KEYS_PUB_LEN) {
		EVP_PKEY_free(pkey);
		return -EBADMSG;
	}
	ret->pkey = pkey;
	memcpy(ret->pub, pub, KEYS_PUB_LEN);
	return 0;
}

int keys_generate(struct keypair *ret)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	if (pkey == NULL)
		return -EIO;
	return keypair_adopt(pkey, ret) == 0 ? 0 : -EIO;
}

/** Open @p path for reading, refusing anything but a regular file private to its owner. */
static int open_private_file(const char *path, int *ret_fd)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out_close;
	}
	if ((st.st_mode & 077) != 0) {
		err = -EPERM;
		goto out_close;
	}
	*ret_fd = fd;
	return 0;

out_close:
	close(fd);
	return err;
}

/** PEM passphrase callback: key files are never encrypted, so never prompt on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *ud)
{
	return -1;
}

int keys_load(const char *path, struct keypair *ret)
{
	EVP_PKEY *pkey;
	FILE *f;
	int fd = -1;
	int err = open_private_file(path, &fd);

	if (err < 0)
		return err;
	f = fdopen(fd, "r");
	if (f == NULL) {
		err = -errno;
		close(fd);
		return err;
	}
	pkey = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (pkey == NULL) {
		ERR_clear_error();
		return -EBADMSG;
	}
	return keypair_adopt(pkey, ret);
}

int keys_save(const struct keypair *key, const char *path)
{
	BIO *bio;
	char *data;
	long len;
	int err;

	if (key->pkey == NULL)
		return -EINVAL;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return -ENOMEM;
	if (PEM_write_bio_PKCS8PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		err = -EIO;
		goto out_free_bio;
	}
	len = BIO_get_mem_data(bio, &data);
	err = state_write_atomic(path, data, (size_t)len, 0600);
	/* The PEM text is the private key: do not leave it in freed memory. */
	OPENSSL_cleanse(data, (size_t)len);

out_free_bio:
	BIO_free(bio);
	return err;
}

int keys_load_or_create(const char *path, struct keypair *ret)
{
	struct keypair key = {0};
	int err = keys_load(path, &key);

	if (err == -ENOENT) {
		err = keys_generate(&key);
		if (err == 0)
			err = keys_save(&key, path);
	}
	if (err < 0) {
		keys_deinit(&key);
		return err;
	}
	*ret = key;
	return 0;
}

void keys_deinit(struct keypair *key)
{
	EVP_PKEY_free(key->pkey);
	key->pkey = NULL;
	memset(key->pub, 0, sizeof(key->pub));
}

int keys_sign(const struct keypair *key, const uint8_t *msg, size_t len, uint8_t ret_sig[KEYS_SIG_LEN])
{
	uint8_t sig[KEYS_SIG_LEN];
	size_t sig_len = sizeof(sig);
	EVP_MD_CTX *ctx;
	int err = -EIO;

	if (key->pkey == NULL)
		return -EIO;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -EIO;
	/* Ed25519 hashes internally: no digest, and one-shot signing only. */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &sig_len, msg, len) == 1 && sig_len == KEYS_SIG_LEN) {
		memcpy(ret_sig, sig, KEYS_SIG_LEN);
		err = 0;
	}
	EVP_MD_CTX_free(ctx);
	return err;
}

bool keys_verify(const uint8_t pub[KEYS_PUB_LEN], const uint8_t *msg, size_t len,
		 const uint8_t sig[KEYS_SIG_LEN])
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, KEYS_PUB_LEN);
	EVP_MD_CTX *ctx;
	bool ok = false;

	if (pkey == NULL)
		return false;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		goto out_free_pkey;
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, KEYS_SIG_LEN, msg, len) == 1;
	EVP_MD_CTX_free(ctx);

out_free_pkey:
	EVP_PKEY_free(pkey);
	return ok;
}

void keys_pub_to_hex(const uint8_t pub[KEYS_PUB_LEN], char out[KEYS_PUB_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < KEYS_PUB_LEN; i++) {
		out[2 * i] = digits[pub[i] >> 4];
		out[2 * i + 1] = digits[pub[i] & 0xf];
	}
	out[KEYS_PUB_HEX_LEN] = '\0';
}

/** The value of hex digit @p c, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int keys_pub_from_hex(const char *hex, uint8_t ret_pub[KEYS_PUB_LEN])
{
	uint8_t pub[KEYS_PUB_LEN];

	if (hex == NULL || strlen(hex) != KEYS_PUB_HEX_LEN)
		return -EINVAL;
	for (size_t i = 0; i < KEYS_PUB_LEN; i++) {
		int hi = hex_value(hex[2 * i]);
		int lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		pub[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(ret_pub, pub, KEYS_PUB_LEN);
	return 0;
}

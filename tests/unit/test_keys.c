/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for resolverd/core/keys.c: generation, key files, signatures, hex forms. */
#include <criterion/criterion.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "resolverd/core/keys.h"

/* RFC 8032 section 7.1, TEST 1, as PKCS#8 PEM written by Python's cryptography package. */
static const char rfc8032_pem[] = "-----BEGIN PRIVATE KEY-----\n"
				  "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
				  "-----END PRIVATE KEY-----\n";
static const char rfc8032_pub_hex[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc8032_sig_empty_hex[] =
	"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
	"d25bf5f0595bbe24655141438e7a100b";

static char tmpdir[64];

static void tmpdir_setup(void)
{
	strcpy(tmpdir, "/tmp/rd-test-keys-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

/** Remove every file in tmpdir, then tmpdir itself (the tests create no subdirectories). */
static void tmpdir_teardown(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

static char *tmp_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

static size_t count_dir_entries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void hex_decode(const char *hex, uint8_t *out, size_t n)
{
	cr_assert_eq(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

TestSuite(keys_file, .init = tmpdir_setup, .fini = tmpdir_teardown);

Test(keys, generate_gives_distinct_working_keys)
{
	struct keypair a = {0}, b = {0};
	static const uint8_t zero[KEYS_PUB_LEN];
	const uint8_t msg[] = "hello";
	uint8_t sig[KEYS_SIG_LEN];

	cr_assert_eq(keys_generate(&a), 0);
	cr_assert_eq(keys_generate(&b), 0);
	cr_assert_not_null(a.pkey);
	cr_assert_neq(memcmp(a.pub, zero, KEYS_PUB_LEN), 0);
	cr_assert_neq(memcmp(a.pub, b.pub, KEYS_PUB_LEN), 0);
	cr_assert_eq(keys_sign(&a, msg, sizeof(msg), sig), 0);
	cr_assert(keys_verify(a.pub, msg, sizeof(msg), sig));
	cr_assert_not(keys_verify(b.pub, msg, sizeof(msg), sig));
	keys_deinit(&a);
	keys_deinit(&b);
}

Test(keys, verify_rejects_any_change)
{
	struct keypair k = {0};
	uint8_t msg[] = "resolverd";
	uint8_t sig[KEYS_SIG_LEN];

	cr_assert_eq(keys_generate(&k), 0);
	cr_assert_eq(keys_sign(&k, msg, sizeof(msg), sig), 0);
	cr_assert(keys_verify(k.pub, msg, sizeof(msg), sig));
	msg[0] ^= 1;
	cr_assert_not(keys_verify(k.pub, msg, sizeof(msg), sig));
	msg[0] ^= 1;
	sig[10] ^= 0x40;
	cr_assert_not(keys_verify(k.pub, msg, sizeof(msg), sig));
	sig[10] ^= 0x40;
	cr_assert_not(keys_verify(k.pub, msg, sizeof(msg) - 1, sig));
	keys_deinit(&k);
}

Test(keys_file, rfc8032_known_answer)
{
	struct keypair k = {0};
	char hex[KEYS_PUB_HEX_LEN + 1];
	uint8_t expected[KEYS_SIG_LEN], sig[KEYS_SIG_LEN];

	write_file(tmp_path("rfc.pem"), rfc8032_pem, 0600);
	cr_assert_eq(keys_load(tmp_path("rfc.pem"), &k), 0);
	keys_pub_to_hex(k.pub, hex);
	cr_assert_str_eq(hex, rfc8032_pub_hex);
	cr_assert_eq(keys_sign(&k, (const uint8_t *)"", 0, sig), 0);
	hex_decode(rfc8032_sig_empty_hex, expected, KEYS_SIG_LEN);
	cr_assert_arr_eq(sig, expected, KEYS_SIG_LEN);
	cr_assert(keys_verify(k.pub, (const uint8_t *)"", 0, expected));
	keys_deinit(&k);
}

Test(keys_file, save_load_round_trip)
{
	struct keypair a = {0}, b = {0};
	const char *path = tmp_path("node.key");
	const uint8_t msg[] = "round trip";
	uint8_t sig[KEYS_SIG_LEN];
	struct stat st;

	cr_assert_eq(keys_generate(&a), 0);
	cr_assert_eq(keys_save(&a, path), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(count_dir_entries(), 1, "the temp file must be gone");
	cr_assert_eq(keys_load(path, &b), 0);
	cr_assert_arr_eq(a.pub, b.pub, KEYS_PUB_LEN);
	cr_assert_eq(keys_sign(&b, msg, sizeof(msg), sig), 0);
	cr_assert(keys_verify(a.pub, msg, sizeof(msg), sig));
	keys_deinit(&a);
	keys_deinit(&b);
}

Test(keys_file, save_is_pkcs8_pem)
{
	struct keypair a = {0};
	char buf[128] = {0};
	FILE *f;

	cr_assert_eq(keys_generate(&a), 0);
	cr_assert_eq(keys_save(&a, tmp_path("k.pem")), 0);
	f = fopen(tmp_path("k.pem"), "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_str_eq(buf, "-----BEGIN PRIVATE KEY-----\n");
	keys_deinit(&a);
}

Test(keys_file, save_replaces_existing_key)
{
	struct keypair a = {0}, b = {0}, c = {0};
	const char *path = tmp_path("node.key");

	cr_assert_eq(keys_generate(&a), 0);
	cr_assert_eq(keys_generate(&b), 0);
	cr_assert_eq(keys_save(&a, path), 0);
	cr_assert_eq(keys_save(&b, path), 0);
	cr_assert_eq(keys_load(path, &c), 0);
	cr_assert_arr_eq(c.pub, b.pub, KEYS_PUB_LEN);
	cr_assert_eq(count_dir_entries(), 1);
	keys_deinit(&a);
	keys_deinit(&b);
	keys_deinit(&c);
}

Test(keys_file, load_refuses_open_modes)
{
	static const mode_t bad[] = {0644, 0640, 0604, 0660, 0601, 0610};
	static const mode_t good[] = {0600, 0400};
	struct keypair k = {0};
	const char *path = tmp_path("mode.key");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, rfc8032_pem, bad[i]);
		cr_assert_eq(keys_load(path, &k), -EPERM, "mode %o", (unsigned)bad[i]);
		cr_assert_null(k.pkey, "ret must be untouched on failure");
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		write_file(path, rfc8032_pem, good[i]);
		cr_assert_eq(keys_load(path, &k), 0, "mode %o", (unsigned)good[i]);
		keys_deinit(&k);
	}
}

Test(keys_file, load_errors)
{
	struct keypair k = {0};

	cr_assert_eq(keys_load(tmp_path("missing.key"), &k), -ENOENT);
	write_file(tmp_path("junk.key"), "not a key\n", 0600);
	cr_assert_eq(keys_load(tmp_path("junk.key"), &k), -EBADMSG);
	cr_assert_eq(keys_load(tmpdir, &k), -EINVAL, "a directory is not a key file");
	cr_assert_null(k.pkey);
}

Test(keys_file, load_refuses_other_key_types)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct keypair k = {0};
	const char *path = tmp_path("ec.key");
	FILE *f;

	cr_assert_not_null(ec);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(PEM_write_PKCS8PrivateKey(f, ec, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(ec);
	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(keys_load(path, &k), -EBADMSG);
	cr_assert_null(k.pkey);
}

Test(keys_file, save_errors)
{
	struct keypair a = {0}, empty = {0};

	cr_assert_eq(keys_generate(&a), 0);
	cr_assert_eq(keys_save(&a, tmp_path("no/such/dir.key")), -ENOENT);
	cr_assert_eq(keys_save(&empty, tmp_path("empty.key")), -EINVAL);
	cr_assert_eq(count_dir_entries(), 0);
	keys_deinit(&a);
}

Test(keys_file, load_or_create)
{
	struct keypair a = {0}, b = {0};
	const char *path = tmp_path("auto.key");
	struct stat st;

	cr_assert_eq(keys_load_or_create(path, &a), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(keys_load_or_create(path, &b), 0);
	cr_assert_arr_eq(a.pub, b.pub, KEYS_PUB_LEN, "the second call loads the first key");
	keys_deinit(&a);
	keys_deinit(&b);
}

Test(keys_file, load_or_create_keeps_refused_file)
{
	struct keypair k = {0};
	const char *path = tmp_path("open.key");
	char hex[KEYS_PUB_HEX_LEN + 1];

	write_file(path, rfc8032_pem, 0644);
	cr_assert_eq(keys_load_or_create(path, &k), -EPERM);
	cr_assert_null(k.pkey);
	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(keys_load(path, &k), 0, "the file must not have been replaced");
	keys_pub_to_hex(k.pub, hex);
	cr_assert_str_eq(hex, rfc8032_pub_hex);
	keys_deinit(&k);
}

Test(keys, deinit_and_sign_without_key)
{
	struct keypair k = {0};
	uint8_t sig[KEYS_SIG_LEN];

	keys_deinit(&k);
	cr_assert_eq(keys_sign(&k, (const uint8_t *)"x", 1, sig), -EIO);
	cr_assert_eq(keys_generate(&k), 0);
	keys_deinit(&k);
	cr_assert_null(k.pkey);
	cr_assert_eq(keys_sign(&k, (const uint8_t *)"x", 1, sig), -EIO);
}

Test(keys, hex_round_trip)
{
	uint8_t pub[KEYS_PUB_LEN], back[KEYS_PUB_LEN];
	char hex[KEYS_PUB_HEX_LEN + 1];

	for (size_t i = 0; i < KEYS_PUB_LEN; i++)
		pub[i] = (uint8_t)(i * 37 + 5);
	keys_pub_to_hex(pub, hex);
	cr_assert_eq(strlen(hex), KEYS_PUB_HEX_LEN);
	cr_assert_eq(strncmp(hex, "052a4f", 6), 0);
	cr_assert_eq(keys_pub_from_hex(hex, back), 0);
	cr_assert_arr_eq(pub, back, KEYS_PUB_LEN);
}

Test(keys, hex_accepts_upper_case)
{
	uint8_t lower[KEYS_PUB_LEN], upper[KEYS_PUB_LEN];
	char up[KEYS_PUB_HEX_LEN + 1];

	for (size_t i = 0; i <= KEYS_PUB_HEX_LEN; i++)
		up[i] = (char)toupper((unsigned char)rfc8032_pub_hex[i]);
	cr_assert_eq(keys_pub_from_hex(rfc8032_pub_hex, lower), 0);
	cr_assert_eq(keys_pub_from_hex(up, upper), 0);
	cr_assert_arr_eq(lower, upper, KEYS_PUB_LEN);
	cr_assert_eq(lower[0], 0xd7);
	cr_assert_eq(lower[31], 0x1a);
}

Test(keys, hex_rejects_bad_input)
{
	uint8_t pub[KEYS_PUB_LEN];
	uint8_t untouched[KEYS_PUB_LEN];
	char bad[KEYS_PUB_HEX_LEN + 2];

	memset(pub, 0xaa, sizeof(pub));
	memcpy(untouched, pub, sizeof(pub));
	cr_assert_eq(keys_pub_from_hex("", pub), -EINVAL);
	cr_assert_eq(keys_pub_from_hex("abcd", pub), -EINVAL);
	cr_assert_eq(keys_pub_from_hex(NULL, pub), -EINVAL);
	strcpy(bad, rfc8032_pub_hex);
	bad[63] = 'g';
	cr_assert_eq(keys_pub_from_hex(bad, pub), -EINVAL);
	strcpy(bad, rfc8032_pub_hex);
	strcat(bad, "0");
	cr_assert_eq(keys_pub_from_hex(bad, pub), -EINVAL);
	cr_assert_arr_eq(pub, untouched, KEYS_PUB_LEN, "ret_pub must be untouched on failure");
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for resolverd/core/record.c: wire format v1, canonical form, signatures, certs, DHT keys. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "resolverd/core/record.h"

/* RFC 8032 section 7.1 TEST 1 and TEST 2 secret keys. */
#define DEVICE_SEED "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define DOMAIN_SEED "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"

/*
 * Known answers computed independently with Python (hashlib, cryptography)
 * from the layout in schemas/record-format.md.
 */
static const char kat_record_hex[] =
	"726401010001f40000000000000007000000006553f100d75a980182b10ab7d54bfed3c964073a0ee172f3da"
	"a62325af021a68f707511a00157369703a616c696365406578616d706c652e636f6d001468747470733a2f2f"
	"612e6578616d706c652f6431000464657631f6d68c77dda310e12f29a0f8c33edc7b2b0c127b98dff3591ef1"
	"32fd0cbccd537a60026e581d3b7841e4a63966779d432a42b9d99997ac3a322097d46f8aa907";
static const uint64_t kat_record_id = 0x1648d509513b33c8ull;
static const char kat_cert_hex[] =
	"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c000000006b49d20000117369"
	"703a2a406578616d706c652e636f6d5804d319b277b69c2767b36e6fd2fc08cfc2d127c82fd4668c552b5beb"
	"ab8cfb804d6ac246158cbdb0d2b03c0e9422033ce7392f93878472e1e8071b8945650f";
static const char kat_record_cert_hex[] =
	"726401010203e80000000000000007000000006553f100d75a980182b10ab7d54bfed3c964073a0ee172f3da"
	"a62325af021a68f707511a00157369703a616c696365406578616d706c652e636f6d001468747470733a2f2f"
	"612e6578616d706c652f64310004646576313d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd"
	"55f12af4660c000000006b49d20000117369703a2a406578616d706c652e636f6d5804d319b277b69c2767b3"
	"6e6fd2fc08cfc2d127c82fd4668c552b5bebab8cfb804d6ac246158cbdb0d2b03c0e9422033ce7392f938784"
	"72e1e8071b8945650fe0efea1d545d8d0b6e13878b060cf1499f5b2bb198cecc54aa337cfec83abefee6f0de"
	"ed057715ab9c54dc408b2b67c7a855379a0aced50800a5bbd7154f0601";

static struct keypair device, domain, other;

static void hex_decode(const char *hex, uint8_t *out, size_t n)
{
	cr_assert_eq(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
	out[2 * n] = '\0';
}

static void key_from_seed(const char *seed_hex, struct keypair *k)
{
	uint8_t seed[32];
	size_t n = KEYS_PUB_LEN;

	hex_decode(seed_hex, seed, sizeof(seed));
	k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	cr_assert_not_null(k->pkey);
	cr_assert_eq(EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &n), 1);
}

static void keys_setup(void)
{
	key_from_seed(DEVICE_SEED, &device);
	key_from_seed(DOMAIN_SEED, &domain);
	cr_assert_eq(keys_generate(&other), 0);
}

static void keys_teardown(void)
{
	keys_deinit(&device);
	keys_deinit(&domain);
	keys_deinit(&other);
}

TestSuite(record, .init = keys_setup, .fini = keys_teardown);

/** The binding used by the known-answer vectors. */
static struct record kat_fields(void)
{
	return (struct record){
		.kind = RECORD_BINDING,
		.q = 500,
		.seq = 7,
		.expires = 1700000000,
		.uri = "sip:alice@example.com",
		.contact = "https://a.example/d1",
		.instance = "dev1",
	};
}

/* A record written field by field, independently of record_encode(), to reach the decoder's checks. */
struct raw {
	char magic[2];
	uint8_t version, kind, flags;
	uint16_t q;
	uint64_t seq, expires;
	uint8_t publisher[KEYS_PUB_LEN];
	const char *uri, *contact, *instance; /* lengths below, so strings may hold NUL */
	size_t uri_len, contact_len, instance_len;
	const uint8_t *cert; /* appended verbatim after instance */
	size_t cert_len;
	size_t trailing; /* junk bytes after the signature */
	const struct keypair *signer;
};

static struct raw raw_default(void)
{
	struct raw r = {
		.magic = {'r', 'd'},
		.version = 1,
		.kind = 1,
		.q = 500,
		.seq = 7,
		.expires = 1700000000,
		.signer = &device,
	};

	memcpy(r.publisher, device.pub, KEYS_PUB_LEN);
	r.uri = "sip:alice@example.com";
	r.uri_len = strlen(r.uri);
	r.contact = "https://a.example/d1";
	r.contact_len = strlen(r.contact);
	r.instance = "dev1";
	r.instance_len = strlen(r.instance);
	return r;
}

static void put_be(uint8_t **p, uint64_t v, size_t width)
{
	for (size_t i = 0; i < width; i++)
		*(*p)++ = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static void put_str(uint8_t **p, const char *s, size_t n)
{
	put_be(p, n, 2);
	memcpy(*p, s, n);
	*p += n;
}

/** Build and sign @p r into @p out (at least 4096 bytes). @return its length. */
static size_t raw_build(const struct raw *r, uint8_t *out)
{
	static const char prefix[] = "resolverd-record-v1";
	uint8_t msg[4096 + sizeof(prefix)];
	uint8_t *p = out;
	size_t body;

	memcpy(p, r->magic, 2);
	p += 2;
	put_be(&p, r->version, 1);
	put_be(&p, r->kind, 1);
	put_be(&p, r->flags, 1);
	put_be(&p, r->q, 2);
	put_be(&p, r->seq, 8);
	put_be(&p, r->expires, 8);
	memcpy(p, r->publisher, KEYS_PUB_LEN);
	p += KEYS_PUB_LEN;
	put_str(&p, r->uri, r->uri_len);
	put_str(&p, r->contact, r->contact_len);
	put_str(&p, r->instance, r->instance_len);
	if (r->cert_len > 0)
		memcpy(p, r->cert, r->cert_len);
	p += r->cert_len;
	body = (size_t)(p - out);
	memcpy(msg, prefix, sizeof(prefix));
	memcpy(msg + sizeof(prefix), out, body);
	cr_assert_eq(keys_sign(r->signer, msg, sizeof(prefix) + body, p), 0);
	p += KEYS_SIG_LEN;
	memset(p, 'x', r->trailing);
	return body + KEYS_SIG_LEN + r->trailing;
}

/** Decode @p r and check the result is @p expected; a failure must leave ret_rec alone. */
static void expect_decode(const struct raw *r, int expected, const char *what)
{
	uint8_t wire[4096];
	size_t len = raw_build(r, wire);
	static struct record sentinel_storage;
	struct record *sentinel = &sentinel_storage;
	struct record *rec = sentinel;
	int err = record_decode(wire, len, &rec);

	cr_assert_eq(err, expected, "%s: got %d, want %d", what, err, expected);
	if (expected == 0)
		record_free(rec);
	else
		cr_assert_eq(rec, sentinel, "%s: ret_rec written on failure", what);
}

static void encode_ok(const struct record *f, const struct keypair *k, uint8_t *out, size_t *len)
{
	int err = record_encode(f, k, out, len);

	cr_assert_eq(err, 0, "record_encode: %d", err);
}

static struct record *decode_ok(const uint8_t *wire, size_t len)
{
	struct record *rec = NULL;
	int err = record_decode(wire, len, &rec);

	cr_assert_eq(err, 0, "record_decode: %d", err);
	cr_assert_not_null(rec);
	return rec;
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	cr_assert_not_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

Test(record, known_answer_binding)
{
	struct record f = kat_fields();
	uint8_t wire[RECORD_MAX_SIZE];
	char hex[2 * RECORD_MAX_SIZE + 1];
	size_t len = 0;

	encode_ok(&f, &device, wire, &len);
	cr_assert_eq(len, (sizeof(kat_record_hex) - 1) / 2);
	hex_encode(wire, len, hex);
	cr_assert_str_eq(hex, kat_record_hex);
	cr_assert_eq(record_value_id(wire, len), kat_record_id);
}

Test(record, known_answer_cert)
{
	struct record_cert cert;
	uint8_t buf[RECORD_MAX_SIZE];
	char hex[2 * RECORD_MAX_SIZE + 1];
	int n;

	cr_assert_eq(record_cert_make(&domain, device.pub, "sip:*@example.com", 1800000000, &cert), 0);
	n = record_cert_encode(&cert, buf, sizeof(buf));
	cr_assert_eq(n, (int)(sizeof(kat_cert_hex) - 1) / 2);
	hex_encode(buf, (size_t)n, hex);
	cr_assert_str_eq(hex, kat_cert_hex);
}

Test(record, known_answer_binding_with_cert)
{
	struct record f = kat_fields();
	uint8_t wire[RECORD_MAX_SIZE];
	char hex[2 * RECORD_MAX_SIZE + 1];
	size_t len = 0;

	f.q = 1000;
	f.has_cert = true;
	cr_assert_eq(record_cert_make(&domain, device.pub, "sip:*@example.com", 1800000000, &f.cert), 0);
	encode_ok(&f, &device, wire, &len);
	hex_encode(wire, len, hex);
	cr_assert_str_eq(hex, kat_record_cert_hex);
}

Test(record, decodes_independent_vector)
{
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len = (sizeof(kat_record_cert_hex) - 1) / 2;
	struct record *rec;

	hex_decode(kat_record_cert_hex, wire, len);
	rec = decode_ok(wire, len);
	cr_assert_eq(rec->kind, RECORD_BINDING);
	cr_assert_eq(rec->q, 1000);
	cr_assert_eq(rec->seq, 7);
	cr_assert_eq(rec->expires, 1700000000);
	cr_assert_str_eq(rec->uri, "sip:alice@example.com");
	cr_assert(rec->has_cert);
	cr_assert_str_eq(rec->cert.pattern, "sip:*@example.com");
	cr_assert_eq(rec->cert.not_after, 1800000000);
	cr_assert_arr_eq(rec->cert.domain_key, domain.pub, KEYS_PUB_LEN);
	record_free(rec);
}

Test(record, round_trip_binding)
{
	struct record f = kat_fields();
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len = 0;
	struct record *rec;

	f.q = 0;
	f.seq = UINT64_MAX;
	f.expires = UINT64_MAX - 1;
	f.instance = "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
	f.contact = "https://d\xc3\xa9vice.example/\xf0\x9f\x93\x9e";
	encode_ok(&f, &other, wire, &len);
	rec = decode_ok(wire, len);
	cr_assert_eq(rec->kind, RECORD_BINDING);
	cr_assert_not(rec->tombstone);
	cr_assert_not(rec->has_cert);
	cr_assert_eq(rec->q, 0);
	cr_assert_eq(rec->seq, UINT64_MAX);
	cr_assert_eq(rec->expires, UINT64_MAX - 1);
	cr_assert_str_eq(rec->uri, f.uri);
	cr_assert_str_eq(rec->contact, f.contact);
	cr_assert_str_eq(rec->instance, f.instance);
	cr_assert_arr_eq(rec->publisher, other.pub, KEYS_PUB_LEN);
	cr_assert_arr_eq(rec->signature, wire + len - KEYS_SIG_LEN, KEYS_SIG_LEN);
	cr_assert_eq(rec->wire_len, len);
	cr_assert_arr_eq(rec->wire, wire, len);
	cr_assert_neq(rec->wire, wire, "the record keeps its own copy of the wire bytes");
	record_free(rec);
	record_free(NULL);
}

Test(record, round_trip_tombstone)
{
	struct record f = kat_fields();
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len = 0;
	struct record *rec;

	f.tombstone = true;
	f.q = 0;
	f.contact = "";
	encode_ok(&f, &device, wire, &len);
	cr_assert_eq(wire[4], 0x01, "flags byte: tombstone bit");
	rec = decode_ok(wire, len);
	cr_assert(rec->tombstone);
	cr_assert_str_eq(rec->contact, "");
	cr_assert_str_eq(rec->instance, "dev1");
	record_free(rec);
}

Test(record, round_trip_cert)
{
	struct record f = kat_fields();
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len = 0;
	struct record *rec;

	f.has_cert = true;
	cr_assert_eq(record_cert_make(&domain, other.pub, "sip:*", 42, &f.cert), 0);
	encode_ok(&f, &other, wire, &len);
	cr_assert_eq(wire[4], 0x02, "flags byte: cert bit");
	rec = decode_ok(wire, len);
	cr_assert(rec->has_cert);
	cr_assert_str_eq(rec->cert.pattern, "sip:*");
	cr_assert_eq(rec->cert.not_after, 42);
	cr_assert_arr_eq(rec->cert.domain_key, domain.pub, KEYS_PUB_LEN);
	cr_assert_arr_eq(rec->cert.signature, f.cert.signature, KEYS_SIG_LEN);
	cr_assert(record_cert_verify(&rec->cert, rec->publisher));
	record_free(rec);
}

Test(record, encoding_is_deterministic)
{
	struct record f = kat_fields();
	uint8_t a[RECORD_MAX_SIZE], b[RECORD_MAX_SIZE];
	size_t alen = 0, blen = 0;

	encode_ok(&f, &other, a, &alen);
	encode_ok(&f, &other, b, &blen);
	cr_assert_eq(alen, blen);
	cr_assert_arr_eq(a, b, alen);
	f.seq++;
	encode_ok(&f, &other, b, &blen);
	cr_assert_neq(memcmp(a, b, alen), 0);
	cr_assert_neq(record_value_id(a, alen), record_value_id(b, blen));
}

Test(record, encode_ignores_publisher_signature_and_wire_fields)
{
	struct record f = kat_fields();
	uint8_t a[RECORD_MAX_SIZE], b[RECORD_MAX_SIZE];
	size_t alen = 0, blen = 0;

	encode_ok(&f, &device, a, &alen);
	memset(f.publisher, 0x55, KEYS_PUB_LEN);
	memset(f.signature, 0x66, KEYS_SIG_LEN);
	f.wire = a;
	f.wire_len = 3;
	encode_ok(&f, &device, b, &blen);
	cr_assert_eq(alen, blen);
	cr_assert_arr_eq(a, b, alen);
}

Test(record, encode_rejects_out_of_range_fields)
{
	static const char *const bad_text[] = {
		"", "a\x01", "a\x7f", "a\nb", "\xc3", "\xc0\x80", "\xed\xa0\x80", "\xf5\x80\x80\x80", "\x80",
	};
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len = 12345;
	struct record f;
	char *long_uri = repeat('u', RECORD_MAX_URI + 1);
	char *long_instance = repeat('i', RECORD_MAX_INSTANCE + 1);

#define EXPECT_EINVAL(mutation)                                                        \
	do {                                                                           \
		f = kat_fields();                                                      \
		mutation;                                                              \
		cr_assert_eq(record_encode(&f, &device, wire, &len), -EINVAL, #mutation); \
	} while (0)
	EXPECT_EINVAL(f.kind = RECORD_SERVICE);
	EXPECT_EINVAL(f.kind = RECORD_HOST);
	EXPECT_EINVAL(f.kind = (enum record_kind)0);
	EXPECT_EINVAL(f.q = RECORD_Q_MAX + 1);
	EXPECT_EINVAL(f.uri = NULL);
	EXPECT_EINVAL(f.contact = NULL);
	EXPECT_EINVAL(f.instance = NULL);
	EXPECT_EINVAL(f.uri = "");
	EXPECT_EINVAL(f.instance = "");
	EXPECT_EINVAL(f.contact = "");
	EXPECT_EINVAL((f.tombstone = true, f.q = 0, f.contact = "https://x"));
	EXPECT_EINVAL((f.tombstone = true, f.q = 1, f.contact = ""));
	EXPECT_EINVAL(f.uri = long_uri);
	EXPECT_EINVAL(f.contact = long_uri);
	EXPECT_EINVAL(f.instance = long_instance);
	EXPECT_EINVAL((f.has_cert = true, f.cert.pattern = NULL));
	for (size_t i = 1; i < sizeof(bad_text) / sizeof(bad_text[0]); i++) {
		EXPECT_EINVAL(f.uri = bad_text[i]);
		EXPECT_EINVAL(f.instance = bad_text[i]);
		EXPECT_EINVAL(f.contact = bad_text[i]);
	}
#undef EXPECT_EINVAL
	cr_assert_eq(len, 12345, "ret_len written on failure");
	free(long_uri);
	free(long_instance);
}

Test(record, encode_rejects_foreign_or_bad_cert)
{
	struct record f = kat_fields();
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len;

	f.has_cert = true;
	cr_assert_eq(record_cert_make(&domain, other.pub, "sip:*", 42, &f.cert), 0);
	cr_assert_eq(record_encode(&f, &device, wire, &len), -EINVAL, "cert made for another key");
	cr_assert_eq(record_cert_make(&domain, device.pub, "sip:*", 42, &f.cert), 0);
	encode_ok(&f, &device, wire, &len);
	f.cert.not_after++;
	cr_assert_eq(record_encode(&f, &device, wire, &len), -EINVAL, "cert altered after signing");
}

Test(record, size_cap_is_exact)
{
	struct record f = kat_fields();
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len = 0;
	/* 55 fixed + 3 * 2 lengths + 64 signature + uri 512 + instance 4 leaves 383 for the contact. */
	char *uri = repeat('u', RECORD_MAX_URI);
	char *contact = repeat('c', 384);
	struct record *rec;

	f.uri = uri;
	f.contact = contact;
	cr_assert_eq(record_encode(&f, &device, wire, &len), -EMSGSIZE);
	contact[383] = '\0';
	encode_ok(&f, &device, wire, &len);
	cr_assert_eq(len, RECORD_MAX_SIZE);
	rec = decode_ok(wire, len);
	cr_assert_eq(strlen(rec->uri), RECORD_MAX_URI);
	record_free(rec);
	free(uri);
	free(contact);
}

Test(record, decode_accepts_raw_default)
{
	struct raw r = raw_default();

	expect_decode(&r, 0, "the test's own encoder must agree with the decoder");
	r.q = RECORD_Q_MAX;
	expect_decode(&r, 0, "q = 1000");
	r.contact = "sip:\xc3\xa9t\xc3\xa9@example.com";
	r.contact_len = strlen(r.contact);
	expect_decode(&r, 0, "UTF-8 contact");
}

Test(record, decode_rejects_bad_header)
{
	struct raw r;

	r = raw_default(), r.magic[0] = 'R';
	expect_decode(&r, -EBADMSG, "magic");
	r = raw_default(), r.version = 2;
	expect_decode(&r, -EBADMSG, "version 2");
	r = raw_default(), r.version = 0;
	expect_decode(&r, -EBADMSG, "version 0");
	r = raw_default(), r.kind = 0;
	expect_decode(&r, -EBADMSG, "kind 0");
	r = raw_default(), r.kind = RECORD_SERVICE;
	expect_decode(&r, -EBADMSG, "reserved kind 2");
	r = raw_default(), r.kind = RECORD_HOST;
	expect_decode(&r, -EBADMSG, "reserved kind 3");
	r = raw_default(), r.kind = 4;
	expect_decode(&r, -EBADMSG, "kind 4");
	for (unsigned bit = 2; bit < 8; bit++) {
		r = raw_default();
		r.flags = (uint8_t)(1u << bit);
		expect_decode(&r, -EBADMSG, "reserved flag bit");
	}
	r = raw_default(), r.q = RECORD_Q_MAX + 1;
	expect_decode(&r, -EBADMSG, "q 1001");
	r = raw_default(), r.q = 0xffff;
	expect_decode(&r, -EBADMSG, "q 65535");
}

Test(record, decode_rejects_bad_strings)
{
	static const char *const bad_text[] = {
		"a\x01", "a\x1f", "a\x7f", "\xc3", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\x80", "\xff", "\xe2\x82", "a\xc3(",
	};
	struct raw r;

	r = raw_default(), r.uri_len = 0;
	expect_decode(&r, -EBADMSG, "empty uri");
	r = raw_default(), r.instance_len = 0;
	expect_decode(&r, -EBADMSG, "empty instance");
	r = raw_default(), r.contact_len = 0;
	expect_decode(&r, -EBADMSG, "binding without contact");
	r = raw_default(), r.uri = "a\0b", r.uri_len = 3;
	expect_decode(&r, -EBADMSG, "NUL inside uri");
	for (size_t i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++) {
		r = raw_default(), r.uri = bad_text[i], r.uri_len = strlen(bad_text[i]);
		expect_decode(&r, -EBADMSG, "bad uri text");
		r = raw_default(), r.contact = bad_text[i], r.contact_len = strlen(bad_text[i]);
		expect_decode(&r, -EBADMSG, "bad contact text");
		r = raw_default(), r.instance = bad_text[i], r.instance_len = strlen(bad_text[i]);
		expect_decode(&r, -EBADMSG, "bad instance text");
	}
}

Test(record, decode_enforces_string_limits)
{
	char *s = repeat('x', RECORD_MAX_URI + 1);
	struct raw r;

	r = raw_default(), r.uri = s, r.uri_len = RECORD_MAX_URI + 1;
	expect_decode(&r, -EBADMSG, "uri 513");
	r.uri_len = RECORD_MAX_URI;
	expect_decode(&r, 0, "uri 512");
	r = raw_default(), r.instance = s, r.instance_len = RECORD_MAX_INSTANCE + 1;
	expect_decode(&r, -EBADMSG, "instance 129");
	r.instance_len = RECORD_MAX_INSTANCE;
	expect_decode(&r, 0, "instance 128");
	r = raw_default(), r.contact = s, r.contact_len = RECORD_MAX_URI + 1;
	expect_decode(&r, -EBADMSG, "contact 513");
	r.contact_len = RECORD_MAX_URI;
	expect_decode(&r, 0, "contact 512");
	free(s);
}

Test(record, decode_rejects_non_canonical_tombstones)
{
	struct raw r;

	r = raw_default(), r.flags = 0x01, r.q = 0, r.contact_len = 0;
	expect_decode(&r, 0, "valid tombstone");
	r.contact = "x", r.contact_len = 1;
	expect_decode(&r, -EBADMSG, "tombstone with a contact");
	r.contact_len = 0, r.q = 1;
	expect_decode(&r, -EBADMSG, "tombstone with q > 0");
}

Test(record, decode_rejects_bad_length)
{
	struct raw r = raw_default();
	uint8_t wire[4096];
	size_t len = raw_build(&r, wire);
	struct record *rec = NULL;
	char *big = repeat('c', RECORD_MAX_URI);

	for (size_t cut = 0; cut < len; cut++)
		cr_assert_eq(record_decode(wire, cut, &rec), -EBADMSG, "truncated to %zu", cut);
	r.trailing = 1;
	expect_decode(&r, -EBADMSG, "one trailing byte");
	r = raw_default();
	r.uri = big, r.uri_len = RECORD_MAX_URI;
	r.contact = big, r.contact_len = 384;
	expect_decode(&r, -EBADMSG, "1025 bytes");
	r.contact_len = 383;
	expect_decode(&r, 0, "1024 bytes");
	cr_assert_eq(record_decode(NULL, 0, &rec), -EBADMSG);
	cr_assert_null(rec);
	free(big);
}

Test(record, decode_rejects_bad_signatures)
{
	struct record f = kat_fields();
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len = 0;
	struct record *rec = NULL;
	struct raw r;

	encode_ok(&f, &device, wire, &len);
	wire[len - 1] ^= 0x01;
	cr_assert_eq(record_decode(wire, len, &rec), -EKEYREJECTED, "flipped signature byte");
	wire[len - 1] ^= 0x01;
	wire[60] ^= 0x01; /* inside the uri: "sip:alice..." stays valid text */
	cr_assert_eq(record_decode(wire, len, &rec), -EKEYREJECTED, "flipped uri byte");
	wire[60] ^= 0x01;
	memcpy(wire + 23, other.pub, KEYS_PUB_LEN);
	cr_assert_eq(record_decode(wire, len, &rec), -EKEYREJECTED, "swapped publisher");
	cr_assert_null(rec);
	r = raw_default();
	r.signer = &other;
	expect_decode(&r, -EKEYREJECTED, "signed by a key other than the publisher");
}

/** A raw cert section: @p signer delegates @p pattern to @p device_pub until not_after 99. */
static size_t raw_cert(uint8_t *out, size_t cap, const struct keypair *signer,
		       const uint8_t *device_pub, const char *pattern)
{
	struct record_cert cert;
	int n;

	cr_assert_eq(record_cert_make(signer, device_pub, pattern, 99, &cert), 0);
	n = record_cert_encode(&cert, out, cap);
	cr_assert_gt(n, 0);
	return (size_t)n;
}

Test(record, decode_checks_cert)
{
	uint8_t cert[RECORD_MAX_SIZE];
	struct raw r = raw_default();

	r.flags = 0x02;
	r.cert = cert;
	r.cert_len = raw_cert(cert, sizeof(cert), &domain, device.pub, "sip:*");
	expect_decode(&r, 0, "valid cert");
	cert[r.cert_len - 1] ^= 0x80;
	expect_decode(&r, -EKEYREJECTED, "flipped cert signature");
	r.cert_len = raw_cert(cert, sizeof(cert), &domain, other.pub, "sip:*");
	expect_decode(&r, -EKEYREJECTED, "cert made for another device");
	r.flags = 0x00;
	expect_decode(&r, -EBADMSG, "cert bytes without the cert flag");
	r.flags = 0x02;
	r.cert_len = 0;
	expect_decode(&r, -EBADMSG, "cert flag without cert bytes");
	/* domain key, not_after, empty pattern, signature */
	memset(cert, 0, sizeof(cert));
	r.cert_len = KEYS_PUB_LEN + 8 + 2 + KEYS_SIG_LEN;
	expect_decode(&r, -EBADMSG, "empty cert pattern");
}

Test(record, cert_encode_decode)
{
	struct record_cert cert, back;
	uint8_t buf[RECORD_MAX_SIZE];
	char storage[RECORD_MAX_URI + 1];
	int n;

	cr_assert_eq(record_cert_make(&domain, device.pub, "sip:*@example.com", 1800000000, &cert), 0);
	cr_assert_str_eq(cert.pattern, "sip:*@example.com");
	cr_assert_arr_eq(cert.domain_key, domain.pub, KEYS_PUB_LEN);
	cr_assert(record_cert_verify(&cert, device.pub));
	cr_assert_not(record_cert_verify(&cert, other.pub));
	n = record_cert_encode(&cert, buf, sizeof(buf));
	cr_assert_eq(n, KEYS_PUB_LEN + 8 + 2 + 17 + KEYS_SIG_LEN);
	cr_assert_eq(record_cert_decode(buf, (size_t)n, device.pub, &back, storage, sizeof(storage)), 0);
	cr_assert_str_eq(back.pattern, "sip:*@example.com");
	cr_assert_eq(back.pattern, storage);
	cr_assert_eq(back.not_after, 1800000000);
	cr_assert_arr_eq(back.signature, cert.signature, KEYS_SIG_LEN);
	cr_assert_arr_eq(back.domain_key, domain.pub, KEYS_PUB_LEN);
}

Test(record, cert_decode_errors)
{
	struct record_cert cert, back;
	uint8_t buf[RECORD_MAX_SIZE];
	char storage[RECORD_MAX_URI + 1];
	int n;

	cr_assert_eq(record_cert_make(&domain, device.pub, "sip:*", 5, &cert), 0);
	n = record_cert_encode(&cert, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	memset(&back, 0x5a, sizeof(back));
	cr_assert_eq(record_cert_decode(buf, (size_t)n, other.pub, &back, storage, sizeof(storage)),
		     -EKEYREJECTED);
	cr_assert_eq(back.not_after, 0x5a5a5a5a5a5a5a5aull, "ret_cert written on failure");
	cr_assert_eq(record_cert_decode(buf, (size_t)n - 1, device.pub, &back, storage, sizeof(storage)),
		     -EBADMSG);
	cr_assert_eq(record_cert_decode(buf, (size_t)n + 1, device.pub, &back, storage, sizeof(storage)),
		     -EBADMSG);
	cr_assert_eq(record_cert_decode(buf, (size_t)n, device.pub, &back, storage, 5), -EINVAL);
	cr_assert_eq(record_cert_decode(buf, (size_t)n, device.pub, &back, storage, 6), 0);
	buf[KEYS_PUB_LEN + 8 + 2] = 0x01; /* a control character in the pattern */
	cr_assert_eq(record_cert_decode(buf, (size_t)n, device.pub, &back, storage, sizeof(storage)),
		     -EBADMSG);
}

Test(record, cert_make_and_encode_errors)
{
	struct record_cert cert;
	uint8_t buf[RECORD_MAX_SIZE];
	char *long_pattern = repeat('*', RECORD_MAX_URI + 1);

	memset(&cert, 0x77, sizeof(cert));
	cr_assert_eq(record_cert_make(&domain, device.pub, "", 5, &cert), -EINVAL);
	cr_assert_eq(record_cert_make(&domain, device.pub, NULL, 5, &cert), -EINVAL);
	cr_assert_eq(record_cert_make(&domain, device.pub, long_pattern, 5, &cert), -EINVAL);
	cr_assert_eq(record_cert_make(&domain, device.pub, "a\tb", 5, &cert), -EINVAL);
	cr_assert_eq(cert.not_after, 0x7777777777777777ull, "ret_cert written on failure");
	cr_assert_eq(record_cert_make(&domain, device.pub, "sip:*", 5, &cert), 0);
	cr_assert_eq(record_cert_encode(&cert, buf, 10), -EMSGSIZE);
	cr_assert_eq(record_cert_encode(&cert, buf, KEYS_PUB_LEN + 8 + 2 + 5 + KEYS_SIG_LEN - 1),
		     -EMSGSIZE);
	cr_assert_eq(record_cert_encode(&cert, buf, KEYS_PUB_LEN + 8 + 2 + 5 + KEYS_SIG_LEN),
		     KEYS_PUB_LEN + 8 + 2 + 5 + KEYS_SIG_LEN);
	cert.pattern = "";
	cr_assert_eq(record_cert_encode(&cert, buf, sizeof(buf)), -EINVAL);
	cert.pattern = NULL;
	cr_assert_eq(record_cert_encode(&cert, buf, sizeof(buf)), -EINVAL);
	cr_assert_not(record_cert_verify(&cert, device.pub));
	free(long_pattern);
}

Test(record, cert_signature_covers_every_field)
{
	struct record_cert cert, copy;

	cr_assert_eq(record_cert_make(&domain, device.pub, "sip:*@example.com", 1000, &cert), 0);
	copy = cert;
	copy.not_after = 1001;
	cr_assert_not(record_cert_verify(&copy, device.pub), "not_after");
	copy = cert;
	copy.pattern = "sip:*@example.co";
	cr_assert_not(record_cert_verify(&copy, device.pub), "pattern");
	copy = cert;
	memcpy(copy.domain_key, other.pub, KEYS_PUB_LEN);
	cr_assert_not(record_cert_verify(&copy, device.pub), "domain key");
	copy = cert;
	copy.signature[0] ^= 1;
	cr_assert_not(record_cert_verify(&copy, device.pub), "signature");
	cr_assert(record_cert_verify(&cert, device.pub));
}

Test(record_pattern, table)
{
	static const struct {
		const char *pattern, *uri;
		bool match;
	} cases[] = {
		{"*", "", true},
		{"*", "sip:anything", true},
		{"", "", true},
		{"", "a", false},
		{"abc", "abc", true},
		{"abc", "ab", false},
		{"ab", "abc", false},
		{"sip:*@example.com", "sip:alice@example.com", true},
		{"sip:*@example.com", "sip:@example.com", true},
		{"sip:*@example.com", "sip:alice@example.org", false},
		{"sip:*@example.com", "sip:alice@example.com.evil", false},
		{"sip:*@example.com", "xmpp:alice@example.com", false},
		{"sip:*@*.example.com", "sip:bob@eu.example.com", true},
		{"sip:*@*.example.com", "sip:bob@example.com", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbYcZ", false},
		{"a*b*c", "acb", false},
		{"a**b", "ab", true},
		{"*a", "bbbba", true},
		{"*a", "bbbb", false},
		{"*ab", "aab", true},
		{"a*", "b", false},
		{"?", "?", true},
		{"?", "a", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(record_pattern_match(cases[i].pattern, cases[i].uri), cases[i].match,
			     "'%s' vs '%s'", cases[i].pattern, cases[i].uri);
}

Test(record_pattern, no_backtracking_blowup)
{
	char *uri = repeat('a', 512);
	const char *pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
	clock_t start = clock();

	cr_assert_not(record_pattern_match(pattern, uri));
	uri[511] = 'b';
	cr_assert(record_pattern_match(pattern, uri));
	cr_assert_lt((double)(clock() - start) / CLOCKS_PER_SEC, 0.5);
	free(uri);
}

Test(record_dht, known_answer)
{
	uint8_t key[RECORD_KEY_LEN];
	char hex[2 * RECORD_KEY_LEN + 1];

	/* python3: hashlib.sha256(b"resolverd\0\x01\x01" + name).digest()[:20].hex() */
	record_dht_key(RECORD_BINDING, "sip:alice@example.com", key);
	hex_encode(key, sizeof(key), hex);
	cr_assert_str_eq(hex, "38022526eb997ac426f35c69355a7a74383211f3");
	record_dht_key(RECORD_SERVICE, "sip:alice@example.com", key);
	hex_encode(key, sizeof(key), hex);
	cr_assert_str_eq(hex, "c2b9f6a5b5643166fc44dc69a746ce21002c7137");
	record_dht_key(RECORD_BINDING, "", key);
	hex_encode(key, sizeof(key), hex);
	cr_assert_str_eq(hex, "820d9b106e93fa07ad4d2b060eca7327bcb6884d");
}

Test(record_dht, stable_and_distinct)
{
	uint8_t a[RECORD_KEY_LEN], b[RECORD_KEY_LEN], c[RECORD_KEY_LEN], d[RECORD_KEY_LEN];

	record_dht_key(RECORD_BINDING, "sip:bob@example.org", a);
	record_dht_key(RECORD_BINDING, "sip:bob@example.org", b);
	record_dht_key(RECORD_HOST, "sip:bob@example.org", c);
	record_dht_key(RECORD_BINDING, "sip:bob@example.or", d);
	cr_assert_arr_eq(a, b, RECORD_KEY_LEN);
	cr_assert_neq(memcmp(a, c, RECORD_KEY_LEN), 0);
	cr_assert_neq(memcmp(a, d, RECORD_KEY_LEN), 0);
}

Test(record_dht, value_id_known_answer)
{
	/* SHA-256("abc") = ba7816bf8f01cfea... (FIPS 180-2) */
	cr_assert_eq(record_value_id((const uint8_t *)"abc", 3), 0xba7816bf8f01cfeaull);
	cr_assert_neq(record_value_id((const uint8_t *)"abd", 3), 0xba7816bf8f01cfeaull);
}

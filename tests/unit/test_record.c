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
/* kind 2, q 0, seq 7, expires 1700000000, "_sip._udp.example.com" -> "10 60 5060 sip1.example.com", "dev1" */
static const char kat_service_hex[] =
	"726401020000000000000000000007000000006553f100d75a980182b10ab7d54bfed3c964073a0ee172f3da"
	"a62325af021a68f707511a00155f7369702e5f7564702e6578616d706c652e636f6d001b3130203630203530"
	"363020736970312e6578616d706c652e636f6d000464657631233e7b669fea64fae1e8e54aa14f889d205e34"
	"aaf0974bcfcfb0c6c63e7d461d0f40c8d3e2fffecaed003d381b5a4ef0eca6a064ff993d3c6bfd0e37f55888"
	"02";
static const uint64_t kat_service_id = 0x645ea7d13395d31aull;
/* kind 3, q 0, seq 8, expires 1700000000, "sip1.example.com" -> "2001:db8::10", "dev1" */
static const char kat_host_hex[] =
	"726401030000000000000000000008000000006553f100d75a980182b10ab7d54bfed3c964073a0ee172f3da"
	"a62325af021a68f707511a0010736970312e6578616d706c652e636f6d000c323030313a6462383a3a313000"
	"046465763170f138cde4484ff8b85cb0adc4e3bebcb6049167da70e4f616f7d714ff6eabd26e4b89e3313286"
	"566cb763ef1a102251f5fb28df4238091cf1c14cea76baae03";
static const uint64_t kat_host_id = 0x36bd70ba974cac30ull;

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
	EXPECT_EINVAL(f.kind = RECORD_SERVICE); /* a URI is no service name */
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
	expect_decode(&r, -EBADMSG, "kind 2 with a binding's name and value");
	r = raw_default(), r.kind = RECORD_HOST;
	expect_decode(&r, -EBADMSG, "kind 3 with a binding's name and value");
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

Test(record, decode_trusted_skips_signatures_but_not_form)
{
	struct record f = kat_fields();
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len = 0;
	struct record *rec = NULL;

	encode_ok(&f, &device, wire, &len);
	cr_assert_eq(record_decode_trusted(wire, len, &rec), 0);
	cr_assert_str_eq(rec->uri, f.uri);
	cr_assert_eq(rec->seq, f.seq);
	record_free(rec);
	rec = NULL;
	/* A bad signature is not looked at: that is the point, and why only own records may use it. */
	wire[len - 1] ^= 0x01;
	cr_assert_eq(record_decode(wire, len, &rec), -EKEYREJECTED);
	cr_assert_eq(record_decode_trusted(wire, len, &rec), 0);
	record_free(rec);
	rec = NULL;
	/* The form still is. */
	for (size_t cut = 0; cut < len; cut++)
		cr_assert_eq(record_decode_trusted(wire, cut, &rec), -EBADMSG, "truncated to %zu", cut);
	cr_assert_eq(record_decode_trusted(NULL, 0, &rec), -EBADMSG);
	cr_assert_null(rec);
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

/* ------------------------------------------------------------------------- */
/* Kinds 2 (service) and 3 (host): names, values, canonical form.            */
/* ------------------------------------------------------------------------- */

/* NULL-terminated lists of names and values for one kind, valid and not. */
struct kind_rules {
	enum record_kind kind;
	const char *name, *value; /* a valid pair, to vary one field at a time */
	const char *const *good_names, *const *bad_names;
	const char *const *good_values, *const *bad_values;
};

static const char *const good_service_names[] = {
	"_sip._udp.example.com", "_x._y.z", "_sip-tls._tcp.a-b.example", "_sip._udp.123", "_0._1.xn--bcher-kva.example",
	NULL,
};
static const char *const bad_service_names[] = {
	"", ".", "_sip._udp", "_sip._udp.", "_sip._udp.example.com.", "._sip._udp.example.com", "_SIP._udp.example.com",
	"_sip._UDP.example.com", "_sip._udp.Example.com", "sip._udp.example.com", "_sip.udp.example.com",
	"_._udp.example.com", "_sip._.example.com", "_sip.__udp.example.com", "_s!p._udp.example.com",
	"_sip._udp._example.com", "_sip._udp.-example.com", "_sip._udp.example-.com", "_sip._udp..com",
	"_sip._udp.exa mple.com", "_sip._udp.ex\xc3\xa9.com", "_sip._udp.example.com\t", "_sip._udp.*.example.com",
	"sip:alice@example.com", "_sip..example.com", NULL,
};
static const char *const good_host_names[] = {
	"sip1.example.com", "localhost", "a", "1.2.3.4", "xn--bcher-kva.example", "a-b.c", "0-0.9", NULL,
};
static const char *const bad_host_names[] = {
	"", ".", "example.com.", ".example.com", "a..b", "Example.com", "_sip.example.com", "_sip._udp.example.com",
	"a_b.example", "-a.example", "a-.example", "a.-b", "a.b-", "ex ample.com", "b\xc3\xbc" "cher.example",
	"*.example.com", "a/b", "a@b", "sip:alice@example.com", NULL,
};
static const char *const good_service_values[] = {
	"10 60 5060 sip1.example.com", "0 0 0 .", "65535 65535 65535 a", "0 5 1 x.y", "1 0 443 xn--bcher-kva.example",
	"9 99 999 1.2.3.4", NULL,
};
static const char *const bad_service_values[] = {
	"", ".", "10 60 5060", "10 60 5060 ", "10 60 5060 ..", "10 60 5060 .a", "010 60 5060 a", "10 00 5060 a",
	"10 60 05060 a", "65536 0 0 a", "0 65536 0 a", "0 0 65536 a", "0 0 100000 a", "-1 0 0 a", "+1 0 0 a",
	"1e3 0 0 a", "10  60 5060 a", " 10 60 5060 a", "10 60 5060 a ", "10\t60 5060 a", "10 60 5060 A.example",
	"10 60 5060 a.example.", "10 60 5060 a b", "10 60 5060 _sip.example", "10 60 a", "a b c d",
	"99999999999999999999 0 0 a", "10 60 5060 -a", "10,60,5060,a", NULL,
};
static const char *const good_host_values[] = {
	"192.0.2.1", "0.0.0.0", "255.255.255.255", "::", "::1", "2001:db8::10", "::ffff:192.0.2.1", "fe80::1",
	"1:0:0:2::3", "1::2:0:0:3:4", "2001:db8:0:1:1:1:1:1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL,
};
static const char *const bad_host_values[] = {
	"", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", " 1.2.3.4", "1.2.3.4 ", "2001:DB8::10",
	"2001:db8:0:0:0:0:0:10", "2001:0db8::10", "2001:db8::0:10", "::ffff:c000:201", "1:0:0:2:0:0:0:3",
	"1:0:0:2::3:4", "2001:db8::1:1:1:1:1", "[::1]", "::1%lo", "fe80::1%eth0", "localhost", "1.2.3.4/32",
	"1.2.3.4:80", "0x7f.0.0.1", "2001:db8::10\n", "0000:0000:0000:0000:0000:0000:0000:0000",
	"FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF", "sip:alice@example.com", NULL,
};

static const struct kind_rules kind_rules[] = {
	{RECORD_SERVICE, "_sip._udp.example.com", "10 60 5060 sip1.example.com", good_service_names,
	 bad_service_names, good_service_values, bad_service_values},
	{RECORD_HOST, "sip1.example.com", "192.0.2.1", good_host_names, bad_host_names, good_host_values,
	 bad_host_values},
};

/** The service used by the known-answer vector. */
static struct record kat_service_fields(void)
{
	return (struct record){
		.kind = RECORD_SERVICE,
		.seq = 7,
		.expires = 1700000000,
		.uri = "_sip._udp.example.com",
		.contact = "10 60 5060 sip1.example.com",
		.instance = "dev1",
	};
}

/** The host used by the known-answer vector. */
static struct record kat_host_fields(void)
{
	return (struct record){
		.kind = RECORD_HOST,
		.seq = 8,
		.expires = 1700000000,
		.uri = "sip1.example.com",
		.contact = "2001:db8::10",
		.instance = "dev1",
	};
}

/** A raw record of @p kind mapping @p name to @p value, otherwise raw_default(). */
static struct raw raw_kind(enum record_kind kind, const char *name, const char *value)
{
	struct raw r = raw_default();

	r.kind = (uint8_t)kind;
	r.q = 0;
	r.uri = name;
	r.uri_len = strlen(name);
	r.contact = value;
	r.contact_len = strlen(value);
	return r;
}

/**
 * A name of exactly @p len bytes: @p prefix, then labels of 63 'a' (the last
 * one shorter) joined by dots. @return owned string.
 */
static char *name_of_len(const char *prefix, size_t len)
{
	size_t plen = strlen(prefix);
	char *s = repeat('a', len);

	memcpy(s, prefix, plen);
	for (size_t i = plen + 63; i < len; i += 64)
		s[i] = '.';
	cr_assert_neq(s[len - 1], '.', "pick another length");
	return s;
}

/** Check and encode @p f, then decode it: every field must come back. */
static void assert_round_trip(const struct record *f, const struct keypair *k)
{
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len = 0;
	struct record *rec;

	cr_assert_eq(record_name_check(f->kind, f->uri), 0, "%s", f->uri);
	if (!f->tombstone)
		cr_assert_eq(record_value_check(f->kind, f->contact), 0, "%s", f->contact);
	encode_ok(f, k, wire, &len);
	rec = decode_ok(wire, len);
	cr_assert_eq(rec->kind, f->kind);
	cr_assert_eq(rec->tombstone, f->tombstone);
	cr_assert_eq(rec->q, 0);
	cr_assert_eq(rec->seq, f->seq);
	cr_assert_eq(rec->expires, f->expires);
	cr_assert_str_eq(rec->uri, f->uri);
	cr_assert_str_eq(rec->contact, f->contact);
	cr_assert_str_eq(rec->instance, f->instance);
	cr_assert_eq(rec->has_cert, f->has_cert);
	cr_assert_arr_eq(rec->publisher, k->pub, KEYS_PUB_LEN);
	record_free(rec);
}

Test(record, known_answer_service)
{
	struct record f = kat_service_fields();
	uint8_t wire[RECORD_MAX_SIZE];
	char hex[2 * RECORD_MAX_SIZE + 1];
	size_t len = 0;
	struct record *rec;

	encode_ok(&f, &device, wire, &len);
	hex_encode(wire, len, hex);
	cr_assert_str_eq(hex, kat_service_hex);
	cr_assert_eq(record_value_id(wire, len), kat_service_id);
	len = (sizeof(kat_service_hex) - 1) / 2;
	hex_decode(kat_service_hex, wire, len);
	rec = decode_ok(wire, len);
	cr_assert_eq(rec->kind, RECORD_SERVICE);
	cr_assert_eq(rec->q, 0);
	cr_assert_eq(rec->seq, 7);
	cr_assert_str_eq(rec->uri, "_sip._udp.example.com");
	cr_assert_str_eq(rec->contact, "10 60 5060 sip1.example.com");
	cr_assert_str_eq(rec->instance, "dev1");
	cr_assert_arr_eq(rec->publisher, device.pub, KEYS_PUB_LEN);
	record_free(rec);
}

Test(record, known_answer_host)
{
	struct record f = kat_host_fields();
	uint8_t wire[RECORD_MAX_SIZE];
	char hex[2 * RECORD_MAX_SIZE + 1];
	size_t len = 0;
	struct record *rec;

	encode_ok(&f, &device, wire, &len);
	hex_encode(wire, len, hex);
	cr_assert_str_eq(hex, kat_host_hex);
	cr_assert_eq(record_value_id(wire, len), kat_host_id);
	len = (sizeof(kat_host_hex) - 1) / 2;
	hex_decode(kat_host_hex, wire, len);
	rec = decode_ok(wire, len);
	cr_assert_eq(rec->kind, RECORD_HOST);
	cr_assert_eq(rec->seq, 8);
	cr_assert_str_eq(rec->uri, "sip1.example.com");
	cr_assert_str_eq(rec->contact, "2001:db8::10");
	record_free(rec);
}

Test(record, round_trip_services_and_hosts)
{
	for (size_t k = 0; k < sizeof(kind_rules) / sizeof(kind_rules[0]); k++) {
		const struct kind_rules *kr = &kind_rules[k];
		struct record f = {.kind = kr->kind, .seq = 1, .expires = 2, .instance = "dev2"};

		f.contact = kr->value;
		for (size_t i = 0; kr->good_names[i]; i++) {
			f.uri = kr->good_names[i];
			assert_round_trip(&f, &other);
		}
		f.uri = kr->name;
		for (size_t i = 0; kr->good_values[i]; i++) {
			f.contact = kr->good_values[i];
			assert_round_trip(&f, &other);
		}
		f.tombstone = true;
		f.contact = "";
		f.seq = UINT64_MAX;
		assert_round_trip(&f, &other);
		f.tombstone = false;
		f.contact = kr->value;
		f.has_cert = true;
		cr_assert_eq(record_cert_make(&domain, other.pub, "*.example.com", 42, &f.cert), 0);
		assert_round_trip(&f, &other);
	}
}

Test(record, several_addresses_are_several_instances)
{
	struct record v4 = kat_host_fields(), v6 = kat_host_fields();
	uint8_t a[RECORD_MAX_SIZE], b[RECORD_MAX_SIZE];
	uint8_t ka[RECORD_KEY_LEN], kb[RECORD_KEY_LEN];
	size_t alen = 0, blen = 0;

	v4.contact = "192.0.2.10";
	v4.instance = "dev1-v4";
	encode_ok(&v4, &device, a, &alen);
	encode_ok(&v6, &device, b, &blen);
	record_dht_key(v4.kind, v4.uri, ka);
	record_dht_key(v6.kind, v6.uri, kb);
	cr_assert_arr_eq(ka, kb, RECORD_KEY_LEN, "one name, one DHT key");
	cr_assert_neq(record_value_id(a, alen), record_value_id(b, blen), "two values under it");
}

Test(record_check, names_and_values_by_kind)
{
	for (size_t k = 0; k < sizeof(kind_rules) / sizeof(kind_rules[0]); k++) {
		const struct kind_rules *kr = &kind_rules[k];

		for (size_t i = 0; kr->good_names[i]; i++)
			cr_expect_eq(record_name_check(kr->kind, kr->good_names[i]), 0, "kind %d '%s'", kr->kind,
				     kr->good_names[i]);
		for (size_t i = 0; kr->bad_names[i]; i++)
			cr_expect_eq(record_name_check(kr->kind, kr->bad_names[i]), -EINVAL, "kind %d '%s'", kr->kind,
				     kr->bad_names[i]);
		for (size_t i = 0; kr->good_values[i]; i++)
			cr_expect_eq(record_value_check(kr->kind, kr->good_values[i]), 0, "kind %d '%s'", kr->kind,
				     kr->good_values[i]);
		for (size_t i = 0; kr->bad_values[i]; i++)
			cr_expect_eq(record_value_check(kr->kind, kr->bad_values[i]), -EINVAL, "kind %d '%s'", kr->kind,
				     kr->bad_values[i]);
		cr_expect_eq(record_name_check(kr->kind, NULL), -EINVAL);
		cr_expect_eq(record_value_check(kr->kind, NULL), -EINVAL);
	}
}

Test(record_check, bindings_and_unknown_kinds)
{
	char *long_uri = repeat('u', RECORD_MAX_URI + 1);

	cr_assert_eq(record_name_check(RECORD_BINDING, "sip:alice@example.com"), 0);
	cr_assert_eq(record_name_check(RECORD_BINDING, "Not Normalized, but text \xc3\xa9"), 0);
	cr_assert_eq(record_name_check(RECORD_BINDING, ""), -EINVAL);
	cr_assert_eq(record_name_check(RECORD_BINDING, "a\x01"), -EINVAL);
	cr_assert_eq(record_name_check(RECORD_BINDING, "\xc0\x80"), -EINVAL);
	cr_assert_eq(record_name_check(RECORD_BINDING, long_uri), -EINVAL);
	cr_assert_eq(record_name_check(RECORD_BINDING, NULL), -EINVAL);
	cr_assert_eq(record_value_check(RECORD_BINDING, "https://a.example/d1"), 0);
	cr_assert_eq(record_value_check(RECORD_BINDING, ""), -EINVAL, "a tombstone's contact is no value");
	cr_assert_eq(record_value_check(RECORD_BINDING, "a\nb"), -EINVAL);
	cr_assert_eq(record_value_check(RECORD_BINDING, long_uri), -EINVAL);
	long_uri[RECORD_MAX_URI] = '\0';
	cr_assert_eq(record_name_check(RECORD_BINDING, long_uri), 0);
	cr_assert_eq(record_value_check(RECORD_BINDING, long_uri), 0);
	cr_assert_eq(record_name_check((enum record_kind)0, "a"), -EINVAL);
	cr_assert_eq(record_name_check((enum record_kind)4, "a"), -EINVAL);
	cr_assert_eq(record_value_check((enum record_kind)0, "192.0.2.1"), -EINVAL);
	cr_assert_eq(record_value_check((enum record_kind)4, "192.0.2.1"), -EINVAL);
	free(long_uri);
}

Test(record, dns_name_length_limits)
{
	static const struct {
		enum record_kind kind;
		const char *prefix;
	} cases[] = {{RECORD_SERVICE, "_sip._udp."}, {RECORD_HOST, ""}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct kind_rules *kr = &kind_rules[i];
		char *fits = name_of_len(cases[i].prefix, RECORD_MAX_DNS_NAME);
		char *too_long = name_of_len(cases[i].prefix, RECORD_MAX_DNS_NAME + 1);
		char *label63 = name_of_len(cases[i].prefix, strlen(cases[i].prefix) + 63);
		char *label64 = repeat('b', strlen(cases[i].prefix) + 64);
		struct record f = {.kind = kr->kind, .contact = kr->value, .instance = "dev1"};
		uint8_t wire[RECORD_MAX_SIZE];
		size_t len;
		struct raw r;

		cr_assert_eq(kr->kind, cases[i].kind);
		memcpy(label64, cases[i].prefix, strlen(cases[i].prefix));
		cr_assert_eq(record_name_check(kr->kind, fits), 0, "%s", fits);
		cr_assert_eq(record_name_check(kr->kind, label63), 0, "%s", label63);
		cr_assert_eq(record_name_check(kr->kind, too_long), -EINVAL, "%s", too_long);
		cr_assert_eq(record_name_check(kr->kind, label64), -EINVAL, "%s", label64);
		f.uri = fits;
		assert_round_trip(&f, &device);
		f.uri = too_long;
		cr_assert_eq(record_encode(&f, &device, wire, &len), -EINVAL);
		f.uri = label64;
		cr_assert_eq(record_encode(&f, &device, wire, &len), -EINVAL);
		r = raw_kind(kr->kind, too_long, kr->value);
		expect_decode(&r, -EBADMSG, "254-byte name");
		r = raw_kind(kr->kind, label64, kr->value);
		expect_decode(&r, -EBADMSG, "64-byte label");
		free(fits);
		free(too_long);
		free(label63);
		free(label64);
	}
	/* The service and protocol labels have the same cap: '_' and 62 more bytes. */
	{
		char *svc = repeat('s', 64 + strlen("._udp.example.com"));

		svc[0] = '_';
		strcpy(svc + 64, "._udp.example.com");
		cr_assert_eq(record_name_check(RECORD_SERVICE, svc), -EINVAL);
		strcpy(svc + 63, "._udp.example.com");
		cr_assert_eq(record_name_check(RECORD_SERVICE, svc), 0);
		free(svc);
	}
}

Test(record, encode_rejects_bad_services_and_hosts)
{
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len = 12345;

	for (size_t k = 0; k < sizeof(kind_rules) / sizeof(kind_rules[0]); k++) {
		const struct kind_rules *kr = &kind_rules[k];
		struct record f = {.kind = kr->kind, .uri = kr->name, .contact = kr->value, .instance = "dev1"};

		encode_ok(&f, &device, wire, &len);
		for (size_t i = 0; kr->bad_names[i]; i++) {
			f.uri = kr->bad_names[i];
			cr_expect_eq(record_encode(&f, &device, wire, &len), -EINVAL, "name '%s'", f.uri);
		}
		f.uri = kr->name;
		for (size_t i = 0; kr->bad_values[i]; i++) {
			f.contact = kr->bad_values[i];
			cr_expect_eq(record_encode(&f, &device, wire, &len), -EINVAL, "value '%s'", f.contact);
		}
		f.contact = kr->value;
		len = 12345;
		f.q = 1;
		cr_expect_eq(record_encode(&f, &device, wire, &len), -EINVAL, "q 1");
		f.q = RECORD_Q_MAX;
		cr_expect_eq(record_encode(&f, &device, wire, &len), -EINVAL, "q 1000");
		f.q = 0;
		f.tombstone = true;
		cr_expect_eq(record_encode(&f, &device, wire, &len), -EINVAL, "tombstone with a value");
		f.contact = "";
		f.q = 1;
		cr_expect_eq(record_encode(&f, &device, wire, &len), -EINVAL, "tombstone with q 1");
		f.tombstone = false;
		f.q = 0;
		cr_expect_eq(record_encode(&f, &device, wire, &len), -EINVAL, "empty value");
		cr_assert_eq(len, 12345, "ret_len written on failure");
	}
}

Test(record, decode_rejects_bad_services_and_hosts)
{
	for (size_t k = 0; k < sizeof(kind_rules) / sizeof(kind_rules[0]); k++) {
		const struct kind_rules *kr = &kind_rules[k];
		struct raw r = raw_kind(kr->kind, kr->name, kr->value);

		expect_decode(&r, 0, "the valid pair");
		for (size_t i = 0; kr->bad_names[i]; i++) {
			r = raw_kind(kr->kind, kr->bad_names[i], kr->value);
			expect_decode(&r, -EBADMSG, kr->bad_names[i]);
		}
		for (size_t i = 0; kr->bad_values[i]; i++) {
			r = raw_kind(kr->kind, kr->name, kr->bad_values[i]);
			expect_decode(&r, -EBADMSG, kr->bad_values[i]);
		}
		/* A NUL would end the text early for a C parser. */
		r = raw_kind(kr->kind, kr->name, kr->value);
		r.uri_len++;
		expect_decode(&r, -EBADMSG, "NUL after the name");
		r = raw_kind(kr->kind, kr->name, kr->value);
		r.contact_len++;
		expect_decode(&r, -EBADMSG, "NUL after the value");
		r = raw_kind(kr->kind, kr->name, kr->value);
		r.q = 1;
		expect_decode(&r, -EBADMSG, "q 1");
		r.q = RECORD_Q_MAX;
		expect_decode(&r, -EBADMSG, "q 1000");
		r = raw_kind(kr->kind, kr->name, "");
		expect_decode(&r, -EBADMSG, "empty value");
		r.flags = 0x01;
		expect_decode(&r, 0, "tombstone");
		r.q = 1;
		expect_decode(&r, -EBADMSG, "tombstone with q 1");
		r = raw_kind(kr->kind, kr->name, kr->value);
		r.flags = 0x01;
		expect_decode(&r, -EBADMSG, "tombstone with a value");
		r = raw_kind(kr->kind, "sip:alice@example.com", kr->value);
		expect_decode(&r, -EBADMSG, "a URI as the name");
	}
}

Test(record, kinds_do_not_share_rules)
{
	struct raw r;

	/* Each kind's valid name and value, under the other two kinds. */
	r = raw_kind(RECORD_HOST, "_sip._udp.example.com", "10 60 5060 sip1.example.com");
	expect_decode(&r, -EBADMSG, "a service under kind 3");
	r = raw_kind(RECORD_SERVICE, "sip1.example.com", "192.0.2.1");
	expect_decode(&r, -EBADMSG, "a host under kind 2");
	r = raw_kind(RECORD_BINDING, "sip1.example.com", "192.0.2.1");
	expect_decode(&r, 0, "a binding's name and value are any text");
	r = raw_kind(RECORD_SERVICE, "_sip._udp.example.com", "192.0.2.1");
	expect_decode(&r, -EBADMSG, "an address as SRV data");
	r = raw_kind(RECORD_HOST, "sip1.example.com", "10 60 5060 sip1.example.com");
	expect_decode(&r, -EBADMSG, "SRV data as an address");
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
	record_dht_key(RECORD_SERVICE, "_sip._udp.example.com", key);
	hex_encode(key, sizeof(key), hex);
	cr_assert_str_eq(hex, "426e4530ae62a4ec9d00d006c38550536b4fbbb8");
	record_dht_key(RECORD_HOST, "sip1.example.com", key);
	hex_encode(key, sizeof(key), hex);
	cr_assert_str_eq(hex, "b10e9568afa24a7819ea5c5d7e1fd2c327631079");
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

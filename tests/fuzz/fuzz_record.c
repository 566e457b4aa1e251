/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: a wire record from the DHT, decoded, verified and checked against policy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/core/policy.h"
#include "resolverd/core/record.h"
#include "resolverd/core/uri.h"

/* The expiry of the known-answer records in tests/unit/test_record.c. */
#define KAT_EXPIRES 1700000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 8032 section 7.1 TEST 2 public key: the domain key of the known-answer cert. */
static const uint8_t domain_pub[KEYS_PUB_LEN] = {
	0x3d, 0x40, 0x17, 0xc3, 0xe8, 0x43, 0x89, 0x5a, 0x92, 0xb7, 0x0a, 0xa7, 0x4d, 0x1b, 0x7e, 0xbc,
	0x9c, 0x98, 0x2c, 0xcf, 0x2e, 0xc4, 0x96, 0x8c, 0xc0, 0xcd, 0x55, 0xf1, 0x2a, 0xf4, 0x66, 0x0c,
};

/* Open by default; example.com pinned to the domain key, locked.example to a key nobody holds. */
static struct policy *get_policy(void)
{
	static struct policy *p;
	static const uint8_t nobody[KEYS_PUB_LEN] = {1};
	if (!p && (!(p = policy_new(POLICY_OPEN)) || policy_add_domain_key(p, "example.com", domain_pub) < 0 ||
		   policy_add_domain_key(p, "locked.example", nobody) < 0))
		abort();
	return p;
}

/* The domain policy applies to, as the publisher and cache find it; owned by @p parts or @p rec. */
static const char *record_domain(const struct record *rec, struct uri_parts *parts)
{
	const char *reason, *d;
	switch (rec->kind) {
	case RECORD_BINDING:
		return uri_normalize(rec->uri, parts, &reason) == 0 ? parts->host : NULL;
	case RECORD_SERVICE:
		d = strchr(rec->uri, '.');
		d = d ? strchr(d + 1, '.') : NULL;
		return d ? d + 1 : NULL;
	case RECORD_HOST:
		return rec->uri;
	}
	return NULL;
}

/* What record.h promises of a decoded record. */
static void check_record(const struct record *rec, const uint8_t *data, size_t size)
{
	/* canonical: the one valid encoding is the input itself */
	if (rec->wire_len != size || memcmp(rec->wire, data, size) != 0)
		abort();
	if (record_name_check(rec->kind, rec->uri) < 0 || !rec->instance || !*rec->instance)
		abort();
	if (rec->tombstone ? rec->contact[0] != 0 || rec->q != 0 : record_value_check(rec->kind, rec->contact) < 0)
		abort();
	if (rec->q > RECORD_Q_MAX || (rec->kind != RECORD_BINDING && rec->q != 0))
		abort();
	if (rec->has_cert && !record_cert_verify(&rec->cert, rec->publisher))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record *rec = NULL;
	if (record_decode(data, size, &rec) < 0) {
		if (rec)
			abort(); /* untouched on failure */
		return 0;
	}
	check_record(rec, data, size);
	uint8_t key[RECORD_KEY_LEN], again[RECORD_KEY_LEN];
	record_dht_key(rec->kind, rec->uri, key);
	record_dht_key(rec->kind, rec->uri, again);
	if (memcmp(key, again, sizeof(key)) != 0 || record_value_id(rec->wire, rec->wire_len) != record_value_id(data, size))
		abort();
	struct uri_parts parts = {0};
	const char *domain = record_domain(rec, &parts);
	/* while the known-answer cert (not_after 1800000000) is valid, and long after */
	(void)policy_check(get_policy(), rec, domain, KAT_EXPIRES - 1);
	(void)policy_check(get_policy(), rec, domain, UINT64_MAX);
	uri_parts_deinit(&parts);
	record_free(rec);
	return 0;
}

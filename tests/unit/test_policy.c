/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for resolverd/core/policy.c: open and keys modes, domain matching, delegation certs. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "resolverd/core/policy.h"

static struct keypair domain_a, domain_b, device, stranger;

static void keys_setup(void)
{
	cr_assert_eq(keys_generate(&domain_a), 0);
	cr_assert_eq(keys_generate(&domain_b), 0);
	cr_assert_eq(keys_generate(&device), 0);
	cr_assert_eq(keys_generate(&stranger), 0);
}

static void keys_teardown(void)
{
	keys_deinit(&domain_a);
	keys_deinit(&domain_b);
	keys_deinit(&device);
	keys_deinit(&stranger);
}

TestSuite(policy, .init = keys_setup, .fini = keys_teardown);

/** A binding for @p uri published by @p publisher (not encoded: policy reads the fields only). */
static struct record binding(const char *uri, const struct keypair *publisher)
{
	struct record rec = {
		.kind = RECORD_BINDING,
		.q = 1000,
		.seq = 1,
		.expires = 2000,
		.uri = uri,
		.contact = "https://d.example/",
		.instance = "d1",
	};

	memcpy(rec.publisher, publisher->pub, KEYS_PUB_LEN);
	return rec;
}

/** @p rec published by device, carrying a cert from @p signer. */
static void add_cert(struct record *rec, const struct keypair *signer, const uint8_t *for_pub,
		     const char *pattern, uint64_t not_after)
{
	rec->has_cert = true;
	cr_assert_eq(record_cert_make(signer, for_pub, pattern, not_after, &rec->cert), 0);
}

static struct policy *policy_with(enum policy_mode mode)
{
	struct policy *p = policy_new(mode);

	cr_assert_not_null(p);
	return p;
}

Test(policy, open_default_accepts_any_signer)
{
	struct policy *p = policy_with(POLICY_OPEN);
	struct record rec = binding("sip:alice@example.com", &stranger);

	cr_assert_eq(policy_check(p, &rec, "example.com", 100), 0);
	cr_assert_eq(policy_check(p, &rec, NULL, 100), 0);
	policy_free(p);
	policy_free(NULL);
}

Test(policy, keys_default_without_keys_refuses)
{
	struct policy *p = policy_with(POLICY_KEYS);
	struct record rec = binding("sip:alice@example.com", &domain_a);

	cr_assert_eq(policy_check(p, &rec, "example.com", 100), -EACCES);
	cr_assert_eq(policy_check(p, &rec, NULL, 100), -EACCES);
	cr_assert_eq(policy_add_domain_key(p, "example.com", domain_a.pub), 0);
	cr_assert_eq(policy_check(p, &rec, "example.com", 100), 0);
	cr_assert_eq(policy_check(p, &rec, "example.org", 100), -EACCES);
	policy_free(p);
}

Test(policy, pinned_domain_overrides_open_default)
{
	struct policy *p = policy_with(POLICY_OPEN);
	struct record mine = binding("sip:alice@example.com", &domain_a);
	struct record theirs = binding("sip:alice@example.com", &stranger);

	cr_assert_eq(policy_add_domain_key(p, "example.com", domain_a.pub), 0);
	cr_assert_eq(policy_check(p, &mine, "example.com", 100), 0);
	cr_assert_eq(policy_check(p, &theirs, "example.com", 100), -EACCES);
	cr_assert_eq(policy_check(p, &theirs, NULL, 100), 0, "no host: the open default applies");
	policy_free(p);
}

Test(policy, several_keys_per_domain)
{
	struct policy *p = policy_with(POLICY_KEYS);
	struct record a = binding("sip:x@example.com", &domain_a);
	struct record b = binding("sip:x@example.com", &domain_b);
	struct record s = binding("sip:x@example.com", &stranger);

	cr_assert_eq(policy_add_domain_key(p, "example.com", domain_a.pub), 0);
	cr_assert_eq(policy_add_domain_key(p, "example.com", domain_b.pub), 0);
	cr_assert_eq(policy_check(p, &a, "example.com", 100), 0);
	cr_assert_eq(policy_check(p, &b, "example.com", 100), 0);
	cr_assert_eq(policy_check(p, &s, "example.com", 100), -EACCES);
	policy_free(p);
}

Test(policy, suffix_match_on_label_boundaries)
{
	struct policy *p = policy_with(POLICY_OPEN);
	struct record s = binding("sip:x@y", &stranger);
	struct record a = binding("sip:x@y", &domain_a);

	cr_assert_eq(policy_add_domain_key(p, "example.com", domain_a.pub), 0);
	cr_assert_eq(policy_check(p, &s, "sip.example.com", 100), -EACCES, "subdomain is covered");
	cr_assert_eq(policy_check(p, &s, "a.b.example.com", 100), -EACCES, "deeper subdomain is covered");
	cr_assert_eq(policy_check(p, &a, "a.b.example.com", 100), 0);
	cr_assert_eq(policy_check(p, &s, "badexample.com", 100), 0, "not a label boundary");
	cr_assert_eq(policy_check(p, &s, "example.com.evil", 100), 0);
	cr_assert_eq(policy_check(p, &s, "com", 100), 0, "a parent is not covered by its child");
	policy_free(p);
}

Test(policy, longest_suffix_wins)
{
	struct policy *p = policy_with(POLICY_OPEN);
	struct record a = binding("sip:x@y", &domain_a);
	struct record b = binding("sip:x@y", &domain_b);

	cr_assert_eq(policy_add_domain_key(p, "example.com", domain_a.pub), 0);
	cr_assert_eq(policy_add_domain_key(p, "corp.example.com", domain_b.pub), 0);
	cr_assert_eq(policy_check(p, &b, "x.corp.example.com", 100), 0);
	cr_assert_eq(policy_check(p, &a, "x.corp.example.com", 100), -EACCES,
		     "the parent's key does not reach into a more specific entry");
	cr_assert_eq(policy_check(p, &a, "corp.example.com", 100), -EACCES);
	cr_assert_eq(policy_check(p, &a, "www.example.com", 100), 0);
	cr_assert_eq(policy_check(p, &b, "www.example.com", 100), -EACCES);
	policy_free(p);
}

Test(policy, delegation_cert)
{
	struct policy *p = policy_with(POLICY_KEYS);
	struct record rec = binding("sip:alice@example.com", &device);

	cr_assert_eq(policy_add_domain_key(p, "example.com", domain_a.pub), 0);
	cr_assert_eq(policy_check(p, &rec, "example.com", 100), -EACCES, "no cert yet");
	add_cert(&rec, &domain_a, device.pub, "sip:*@example.com", 1000);
	cr_assert_eq(policy_check(p, &rec, "example.com", 100), 0);
	cr_assert_eq(policy_check(p, &rec, "example.com", 999), 0, "last second before not_after");
	policy_free(p);
}

Test(policy, delegation_cert_expiry)
{
	struct policy *p = policy_with(POLICY_KEYS);
	struct record rec = binding("sip:alice@example.com", &device);

	cr_assert_eq(policy_add_domain_key(p, "example.com", domain_a.pub), 0);
	add_cert(&rec, &domain_a, device.pub, "sip:*@example.com", 1000);
	cr_assert_eq(policy_check(p, &rec, "example.com", 1000), -EACCES, "void at not_after");
	cr_assert_eq(policy_check(p, &rec, "example.com", 5000), -EACCES);
	policy_free(p);
}

Test(policy, delegation_cert_pattern)
{
	struct policy *p = policy_with(POLICY_KEYS);
	struct record rec = binding("sip:alice@example.com", &device);

	cr_assert_eq(policy_add_domain_key(p, "example.com", domain_a.pub), 0);
	add_cert(&rec, &domain_a, device.pub, "sip:bob@example.com", 1000);
	cr_assert_eq(policy_check(p, &rec, "example.com", 100), -EACCES);
	add_cert(&rec, &domain_a, device.pub, "sip:alice@example.com", 1000);
	cr_assert_eq(policy_check(p, &rec, "example.com", 100), 0);
	policy_free(p);
}

Test(policy, delegation_cert_signer_must_be_pinned_for_the_entry)
{
	struct policy *p = policy_with(POLICY_KEYS);
	struct record rec = binding("sip:alice@corp.example.com", &device);

	cr_assert_eq(policy_add_domain_key(p, "example.com", domain_a.pub), 0);
	cr_assert_eq(policy_add_domain_key(p, "corp.example.com", domain_b.pub), 0);
	add_cert(&rec, &stranger, device.pub, "*", 1000);
	cr_assert_eq(policy_check(p, &rec, "corp.example.com", 100), -EACCES, "unpinned signer");
	add_cert(&rec, &domain_a, device.pub, "*", 1000);
	cr_assert_eq(policy_check(p, &rec, "corp.example.com", 100), -EACCES,
		     "signer pinned only for the parent entry");
	add_cert(&rec, &domain_b, device.pub, "*", 1000);
	cr_assert_eq(policy_check(p, &rec, "corp.example.com", 100), 0);
	policy_free(p);
}

Test(policy, delegation_cert_must_be_made_for_the_publisher)
{
	struct policy *p = policy_with(POLICY_KEYS);
	struct record rec = binding("sip:alice@example.com", &device);

	cr_assert_eq(policy_add_domain_key(p, "example.com", domain_a.pub), 0);
	add_cert(&rec, &domain_a, stranger.pub, "*", 1000);
	cr_assert_eq(policy_check(p, &rec, "example.com", 100), -EACCES);
	add_cert(&rec, &domain_a, device.pub, "*", 1000);
	rec.cert.not_after = 2000; /* no longer what domain_a signed */
	cr_assert_eq(policy_check(p, &rec, "example.com", 100), -EACCES);
	rec.cert.not_after = 1000;
	cr_assert_eq(policy_check(p, &rec, "example.com", 100), 0);
	policy_free(p);
}

Test(policy, decoded_record_with_cert)
{
	struct policy *p = policy_with(POLICY_KEYS);
	struct record fields = binding("sip:alice@example.com", &device);
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len = 0;
	struct record *rec = NULL;

	cr_assert_eq(policy_add_domain_key(p, "example.com", domain_a.pub), 0);
	add_cert(&fields, &domain_a, device.pub, "sip:*@example.com", 1000);
	cr_assert_eq(record_encode(&fields, &device, wire, &len), 0);
	cr_assert_eq(record_decode(wire, len, &rec), 0);
	cr_assert_eq(policy_check(p, rec, "example.com", 100), 0);
	cr_assert_eq(policy_check(p, rec, "example.com", 1000), -EACCES);
	record_free(rec);
	policy_free(p);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Signed records: the canonical binary encoding (format v1), signing, verification and DHT keys. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolverd/core/keys.h"

/*
 * DESIGN
 * A record is what a publisher signs and stores under a DHT key. The wire
 * format is documented in schemas/record-format.md; this file is the only
 * code that reads or writes it. The encoding is canonical: a record has
 * exactly one valid byte string, so two equal records always have equal
 * bytes (and equal OpenDHT value ids). record_decode() refuses anything that
 * is not in canonical form, and verifies every signature it carries, so a
 * struct record in memory is always a verified one.
 */

#define RECORD_FORMAT_VERSION 1
#define RECORD_MAX_SIZE 1024  /**< cap on the whole encoded record, signature included */
#define RECORD_MAX_URI 512    /**< cap on uri, contact and cert pattern, in bytes */
#define RECORD_MAX_DNS_NAME 253 /**< cap on a service or host name (kinds 2, 3) and SRV target, in bytes */
#define RECORD_MAX_INSTANCE 128
#define RECORD_KEY_LEN 20     /**< DHT key length (OpenDHT InfoHash) */
#define RECORD_Q_MAX 1000     /**< q is stored in thousandths: 1000 means q=1.0 */

/** What a record maps; the name is its uri field, the value its contact field. */
enum record_kind {
	RECORD_BINDING = 1, /**< normalized URI -> device URL */
	RECORD_SERVICE = 2, /**< "_svc._proto.domain" -> "PRIORITY WEIGHT PORT TARGET" (DNS SRV) */
	RECORD_HOST = 3,    /**< host name -> one IPv4 or IPv6 address (DNS A/AAAA) */
};

/** A delegation: a domain key allows a device key to publish URIs matching pattern until not_after. */
struct record_cert {
	uint8_t domain_key[KEYS_PUB_LEN]; /**< the signer, checked against policy */
	uint64_t not_after;               /**< unix seconds; the cert is void from then on */
	const char *pattern;              /**< NUL-terminated glob, '*' matches any run; owned by the record */
	uint8_t signature[KEYS_SIG_LEN];  /**< domain key's signature, see record-format.md */
};

/**
 * A decoded (and therefore verified) record, or the fields of one to encode.
 * Strings are NUL-terminated UTF-8. In a record from record_decode() they live
 * in the same allocation as the struct (freed by record_free()).
 */
struct record {
	enum record_kind kind;
	bool tombstone;       /**< the (publisher, instance) device is gone */
	uint16_t q;           /**< preference 0..RECORD_Q_MAX (thousandths); always 0 outside bindings */
	uint64_t seq;         /**< monotonic per (publisher, instance) */
	uint64_t expires;     /**< absolute expiry, unix seconds */
	const char *uri;      /**< the name: a normalized URI, a service name or a host name (record_name_check()) */
	const char *contact;  /**< the value (record_value_check()): URL, SRV data, address; "" in a tombstone */
	const char *instance; /**< stable device id */
	uint8_t publisher[KEYS_PUB_LEN];
	bool has_cert;
	struct record_cert cert;
	uint8_t signature[KEYS_SIG_LEN];
	const uint8_t *wire;  /**< the canonical encoding (decoded records only) */
	size_t wire_len;
};

/**
 * Check a record name (the uri field) against the rules of @p kind in
 * record-format.md. A binding name only needs 1..RECORD_MAX_URI bytes of
 * UTF-8 without control characters (uri.h normalizes URIs); a service name is
 * "_svc._proto.domain" and a host name a lower-case LDH name, both without a
 * trailing dot. Pure function, any thread.
 * @param name borrowed; NULL is -EINVAL.
 * @return 0, or -EINVAL (also for an unknown kind).
 */
int record_name_check(enum record_kind kind, const char *name);

/**
 * Check a record value (the contact field of a record that is not a
 * tombstone) against the rules of @p kind: a binding's device URL (1..
 * RECORD_MAX_URI bytes of text), a service's "PRIORITY WEIGHT PORT TARGET",
 * or a host's address in inet_ntop() form. Pure function, any thread.
 * @param contact borrowed; NULL and "" are -EINVAL.
 * @return 0, or -EINVAL (also for an unknown kind).
 */
int record_value_check(enum record_kind kind, const char *contact);

/**
 * Encode and sign @p fields with @p key. fields->publisher, fields->signature,
 * wire and wire_len are ignored: the publisher is key's public key.
 * A cert, if present, is copied as is (it must have been made for key: a cert
 * whose signature does not verify for key's public key is -EINVAL).
 * @param out buffer of at least RECORD_MAX_SIZE bytes.
 * @return 0 and *ret_len, -EINVAL if a field is out of range or missing (see record-format.md),
 *         -EMSGSIZE if the record would exceed RECORD_MAX_SIZE, -EIO on a crypto failure.
 */
int record_encode(const struct record *fields, const struct keypair *key, uint8_t *out,
		  size_t *ret_len);

/**
 * Decode, check canonical form and verify the signature(s) of a wire record.
 * @param[out] ret_rec new record (free with record_free()); untouched on failure.
 * @return 0, -EBADMSG if malformed or not canonical, -EKEYREJECTED if a signature
 *         does not verify, -ENOMEM.
 */
int record_decode(const uint8_t *wire, size_t len, struct record **ret_rec);

/**
 * record_decode() without the signature checks, for a wire record whose
 * signatures this process has already verified or has just made itself
 * (the publisher's own records and their copies offered to the cache). Never
 * for bytes from the network or the disk. Canonical form is still checked.
 * @return 0, -EBADMSG, -ENOMEM.
 */
int record_decode_trusted(const uint8_t *wire, size_t len, struct record **ret_rec);

/** Free a record from record_decode(). NULL is a no-op. */
void record_free(struct record *rec);

/**
 * Make a delegation certificate: @p domain_key lets @p device_pub publish URIs
 * matching @p pattern until @p not_after.
 * @param[out] ret_cert filled; ret_cert->pattern points to @p pattern (borrowed).
 * @return 0, -EINVAL, -EIO.
 */
int record_cert_make(const struct keypair *domain_key, const uint8_t device_pub[KEYS_PUB_LEN],
		     const char *pattern, uint64_t not_after, struct record_cert *ret_cert);

/**
 * Serialize a cert on its own, for files and the CLI (same layout as inside
 * a record). @return bytes written, -EMSGSIZE if @p cap is too small, or
 * -EINVAL if the pattern is missing or out of range.
 */
int record_cert_encode(const struct record_cert *cert, uint8_t *out, size_t cap);

/**
 * Parse a cert made by record_cert_encode() and verify its signature against
 * @p device_pub. @p storage (cap >= RECORD_MAX_URI + 1) receives the pattern.
 * @return 0, -EBADMSG, -EKEYREJECTED, -EINVAL if @p storage_cap is too small
 *         for the pattern. @p ret_cert and @p storage are untouched on failure.
 */
int record_cert_decode(const uint8_t *in, size_t len, const uint8_t device_pub[KEYS_PUB_LEN],
		       struct record_cert *ret_cert, char *storage, size_t storage_cap);

/**
 * Check that @p cert is a valid delegation to @p device_pub: its pattern is in
 * range (record-format.md) and the domain key's signature verifies. Says
 * nothing about expiry or whether the domain key is trusted (see policy.h).
 * Thread-safe.
 */
bool record_cert_verify(const struct record_cert *cert, const uint8_t device_pub[KEYS_PUB_LEN]);

/** True if @p uri matches glob @p pattern ('*' matches any run of characters, including none). */
bool record_pattern_match(const char *pattern, const char *uri);

/**
 * The DHT key of a name: SHA-256("resolverd" 0x00 kind version name) cut to
 * RECORD_KEY_LEN bytes. The same kind and name always give the same key.
 */
void record_dht_key(enum record_kind kind, const char *name, uint8_t ret_key[RECORD_KEY_LEN]);

/** Room for record_kind_key() of any name a record can carry. */
#define RECORD_KIND_KEY_MAX (RECORD_MAX_URI + 8)

/**
 * The text key "<kind>/<name>" that tables of names of every kind (the cache,
 * the publisher's groups) use, so kinds never collide. Any thread.
 * @return 0, or -ENAMETOOLONG if it does not fit in @p cap bytes.
 */
int record_kind_key(enum record_kind kind, const char *name, char *buf, size_t cap);

/** The OpenDHT value id of a wire record: the first 8 bytes of its SHA-256, big-endian. */
uint64_t record_value_id(const uint8_t *wire, size_t len);

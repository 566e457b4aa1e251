/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Signed records: the canonical binary encoding (format v1, see schemas/record-format.md). */
#include "resolverd/core/record.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* Domain-separation prefixes; each is signed or hashed with its terminating NUL. */
#define RECORD_SIG_PREFIX "resolverd-record-v1"
#define CERT_SIG_PREFIX "resolverd-cert-v1"
#define DHT_KEY_PREFIX "resolverd"

#define MAGIC "rd"
#define MAGIC_LEN 2
#define FLAG_TOMBSTONE 0x01u
#define FLAG_CERT 0x02u
#define FLAGS_KNOWN (FLAG_TOMBSTONE | FLAG_CERT)

/** Longest DNS label (RFC 1035). */
#define DNS_LABEL_MAX 63

/** Longest signed cert message: prefix, device key, not_after, pattern length, pattern. */
#define CERT_MSG_MAX (sizeof(CERT_SIG_PREFIX) + KEYS_PUB_LEN + 8 + 2 + RECORD_MAX_URI)

/** A byte string inside a buffer: not NUL-terminated. */
struct span {
	const uint8_t *p; /**< borrowed */
	size_t n;
};

/** The variable-length and checked fields of a record, as spans (to encode or just decoded). */
struct record_view {
	unsigned kind;
	bool tombstone;
	bool has_cert;
	uint16_t q;
	struct span uri;
	struct span contact;
	struct span instance;
	struct span pattern; /**< cert pattern, if has_cert */
};

/** Appends to a fixed buffer; on overflow it stops writing and remembers. */
struct writer {
	uint8_t *buf;  /**< borrowed */
	size_t cap;
	size_t len;
	bool overflow;
};

/** Reads from a buffer; reading past the end yields zeros and marks the reader bad. */
struct reader {
	const uint8_t *buf; /**< borrowed */
	size_t len;
	size_t pos;
	bool bad;
};

static void put_bytes(struct writer *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put_uint(struct writer *w, uint64_t v, size_t width)
{
	uint8_t be[8];

	for (size_t i = 0; i < width; i++)
		be[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
	put_bytes(w, be, width);
}

static void put_span16(struct writer *w, struct span s)
{
	put_uint(w, s.n, 2);
	put_bytes(w, s.p, s.n);
}

static const uint8_t *get_bytes(struct reader *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	p = r->buf + r->pos;
	r->pos += n;
	return p;
}

static uint64_t get_uint(struct reader *r, size_t width)
{
	const uint8_t *p = get_bytes(r, width);
	uint64_t v = 0;

	for (size_t i = 0; p != NULL && i < width; i++)
		v = v << 8 | p[i];
	return v;
}

static void get_into(struct reader *r, uint8_t *out, size_t n)
{
	const uint8_t *p = get_bytes(r, n);

	if (p != NULL)
		memcpy(out, p, n);
}

static struct span get_span16(struct reader *r)
{
	size_t n = (size_t)get_uint(r, 2);
	const uint8_t *p = get_bytes(r, n);

	return p == NULL ? (struct span){(const uint8_t *)"", 0} : (struct span){p, n};
}

static struct span span_of(const char *s)
{
	return (struct span){(const uint8_t *)s, strlen(s)};
}

/** Length of the UTF-8 sequence led by @p c and the lowest code point it may encode; 0 if invalid. */
static size_t utf8_lead(uint8_t c, uint32_t *ret_cp, uint32_t *ret_min)
{
	if ((c & 0xe0) == 0xc0) {
		*ret_cp = c & 0x1fu;
		*ret_min = 0x80;
		return 2;
	}
	if ((c & 0xf0) == 0xe0) {
		*ret_cp = c & 0x0fu;
		*ret_min = 0x800;
		return 3;
	}
	if ((c & 0xf8) == 0xf0) {
		*ret_cp = c & 0x07u;
		*ret_min = 0x10000;
		return 4;
	}
	return 0;
}

/** Valid UTF-8 (shortest form, no surrogates) without C0 controls or DEL. */
static bool text_valid(struct span s)
{
	size_t i = 0;

	while (i < s.n) {
		uint32_t cp, min;
		size_t len;

		if (s.p[i] < 0x80) {
			if (s.p[i] < 0x20 || s.p[i] == 0x7f)
				return false;
			i++;
			continue;
		}
		len = utf8_lead(s.p[i], &cp, &min);
		if (len == 0 || len > s.n - i)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s.p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s.p[i + k] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static bool text_in_range(struct span s, size_t min, size_t max)
{
	return s.n >= min && s.n <= max && text_valid(s);
}

static bool is_ldh_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/** A host name label: 1..63 of [a-z0-9-], neither starting nor ending with '-'. */
static bool host_label_valid(const uint8_t *p, size_t n)
{
	if (n == 0 || n > DNS_LABEL_MAX || p[0] == '-' || p[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_ldh_char(p[i]))
			return false;
	}
	return true;
}

/** A service or protocol label: '_' and then [a-z0-9-], 2..63 bytes in all. */
static bool underscore_label_valid(const uint8_t *p, size_t n)
{
	if (n < 2 || n > DNS_LABEL_MAX || p[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++) {
		if (!is_ldh_char(p[i]))
			return false;
	}
	return true;
}

/**
 * Is @p s a lower-case DNS name of at most RECORD_MAX_DNS_NAME bytes, without a
 * trailing dot, whose first @p n_underscore labels are underscore labels and
 * whose other labels (at least one) are host name labels?
 */
static bool dns_name_valid(struct span s, unsigned n_underscore)
{
	unsigned labels = 0;
	size_t start = 0;

	if (s.n == 0 || s.n > RECORD_MAX_DNS_NAME)
		return false;
	for (size_t i = 0; i <= s.n; i++) {
		const uint8_t *label = s.p + start;
		size_t len = i - start;

		if (i < s.n && s.p[i] != '.')
			continue;
		if (labels < n_underscore ? !underscore_label_valid(label, len) : !host_label_valid(label, len))
			return false;
		labels++;
		start = i + 1;
	}
	return labels > n_underscore;
}

/** Consume a decimal 0..65535 without leading zeros, and the single space after it. */
static bool take_u16_space(struct span *s)
{
	uint32_t v = 0;
	size_t i = 0;

	while (i < s->n && i < 5 && s->p[i] >= '0' && s->p[i] <= '9')
		v = v * 10 + (uint32_t)(s->p[i++] - '0');
	if (i == 0 || (i > 1 && s->p[0] == '0') || v > UINT16_MAX || i == s->n || s->p[i] != ' ')
		return false;
	s->p += i + 1;
	s->n -= i + 1;
	return true;
}

/** "PRIORITY WEIGHT PORT TARGET" of an SRV record; TARGET is a host name or "." (RFC 2782). */
static bool srv_value_valid(struct span s)
{
	if (!take_u16_space(&s) || !take_u16_space(&s) || !take_u16_space(&s))
		return false;
	return (s.n == 1 && s.p[0] == '.') || dns_name_valid(s, 0);
}

/** Is @p s an IPv4 or IPv6 address written exactly as inet_ntop() writes it? */
static bool ip_canonical(struct span s)
{
	char text[INET6_ADDRSTRLEN], back[INET6_ADDRSTRLEN];
	struct in6_addr addr;
	int family;

	if (s.n == 0 || s.n >= sizeof(text))
		return false;
	memcpy(text, s.p, s.n);
	text[s.n] = '\0';
	family = memchr(s.p, ':', s.n) ? AF_INET6 : AF_INET;
	if (inet_pton(family, text, &addr) != 1 || inet_ntop(family, &addr, back, sizeof(back)) == NULL)
		return false;
	/* Compare lengths too: a NUL inside @p s would cut text short. */
	return strlen(back) == s.n && memcmp(back, s.p, s.n) == 0;
}

/** The name (uri field) rules of @p kind; false for an unknown kind. */
static bool name_valid(unsigned kind, struct span name)
{
	switch (kind) {
	case RECORD_BINDING:
		return text_in_range(name, 1, RECORD_MAX_URI);
	case RECORD_SERVICE:
		return dns_name_valid(name, 2);
	case RECORD_HOST:
		return dns_name_valid(name, 0);
	default:
		return false;
	}
}

/** The value (contact field, outside tombstones) rules of @p kind; false for an unknown kind. */
static bool value_valid(unsigned kind, struct span value)
{
	switch (kind) {
	case RECORD_BINDING:
		return text_in_range(value, 1, RECORD_MAX_URI);
	case RECORD_SERVICE:
		return srv_value_valid(value);
	case RECORD_HOST:
		return ip_canonical(value);
	default:
		return false;
	}
}

int record_name_check(enum record_kind kind, const char *name)
{
	return name != NULL && name_valid((unsigned)kind, span_of(name)) ? 0 : -EINVAL;
}

int record_value_check(enum record_kind kind, const char *contact)
{
	return contact != NULL && value_valid((unsigned)kind, span_of(contact)) ? 0 : -EINVAL;
}

/** The canonical-form rules shared by the encoder and the decoder (record-format.md). */
static bool view_valid(const struct record_view *v)
{
	/* An SRV answer orders by its own priority and weight, and addresses have no order: q is for bindings. */
	uint16_t q_max = v->kind == RECORD_BINDING ? RECORD_Q_MAX : 0;

	if (!name_valid(v->kind, v->uri) || v->q > q_max)
		return false;
	if (v->tombstone ? v->contact.n != 0 || v->q != 0 : !value_valid(v->kind, v->contact))
		return false;
	if (v->has_cert && !text_in_range(v->pattern, 1, RECORD_MAX_URI))
		return false;
	return text_in_range(v->instance, 1, RECORD_MAX_INSTANCE);
}

/**
 * SHA-256 over the concatenation of @p parts. OpenSSL fails here only when it
 * cannot allocate a digest context; the callers promise a result, so abort.
 */
static void sha256_parts(const struct span *parts, size_t n, uint8_t ret_md[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int md_len = 0;
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].n) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, ret_md, &md_len) == 1 && md_len == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		abort();
}

/** Build the message a cert signature covers. @return its length. */
static size_t cert_message(uint8_t out[CERT_MSG_MAX], const uint8_t device_pub[KEYS_PUB_LEN],
			   uint64_t not_after, struct span pattern)
{
	struct writer w = {.buf = out, .cap = CERT_MSG_MAX};

	put_bytes(&w, CERT_SIG_PREFIX, sizeof(CERT_SIG_PREFIX));
	put_bytes(&w, device_pub, KEYS_PUB_LEN);
	put_uint(&w, not_after, 8);
	put_span16(&w, pattern);
	return w.len;
}

/** Verify a cert's signature for @p device_pub; @p pattern must already be in range. */
static bool cert_sig_valid(const struct record_cert *cert, struct span pattern,
			   const uint8_t device_pub[KEYS_PUB_LEN])
{
	uint8_t msg[CERT_MSG_MAX];
	size_t len = cert_message(msg, device_pub, cert->not_after, pattern);

	return keys_verify(cert->domain_key, msg, len, cert->signature);
}

bool record_cert_verify(const struct record_cert *cert, const uint8_t device_pub[KEYS_PUB_LEN])
{
	struct span pattern;

	if (cert->pattern == NULL)
		return false;
	pattern = span_of(cert->pattern);
	return text_in_range(pattern, 1, RECORD_MAX_URI) && cert_sig_valid(cert, pattern, device_pub);
}

int record_cert_make(const struct keypair *domain_key, const uint8_t device_pub[KEYS_PUB_LEN],
		     const char *pattern, uint64_t not_after, struct record_cert *ret_cert)
{
	uint8_t msg[CERT_MSG_MAX];
	struct record_cert cert = {.not_after = not_after, .pattern = pattern};
	size_t len;
	int err;

	if (pattern == NULL || !text_in_range(span_of(pattern), 1, RECORD_MAX_URI))
		return -EINVAL;
	len = cert_message(msg, device_pub, not_after, span_of(pattern));
	err = keys_sign(domain_key, msg, len, cert.signature);
	if (err < 0)
		return err;
	memcpy(cert.domain_key, domain_key->pub, KEYS_PUB_LEN);
	*ret_cert = cert;
	return 0;
}

static void put_cert(struct writer *w, const struct record_cert *cert, struct span pattern)
{
	put_bytes(w, cert->domain_key, KEYS_PUB_LEN);
	put_uint(w, cert->not_after, 8);
	put_span16(w, pattern);
	put_bytes(w, cert->signature, KEYS_SIG_LEN);
}

static struct span get_cert(struct reader *r, struct record_cert *cert)
{
	struct span pattern;

	get_into(r, cert->domain_key, KEYS_PUB_LEN);
	cert->not_after = get_uint(r, 8);
	pattern = get_span16(r);
	get_into(r, cert->signature, KEYS_SIG_LEN);
	return pattern;
}

int record_cert_encode(const struct record_cert *cert, uint8_t *out, size_t cap)
{
	struct writer w = {.buf = out, .cap = cap};
	struct span pattern;

	if (cert->pattern == NULL)
		return -EINVAL;
	pattern = span_of(cert->pattern);
	if (!text_in_range(pattern, 1, RECORD_MAX_URI))
		return -EINVAL;
	put_cert(&w, cert, pattern);
	return w.overflow ? -EMSGSIZE : (int)w.len;
}

int record_cert_decode(const uint8_t *in, size_t len, const uint8_t device_pub[KEYS_PUB_LEN],
		       struct record_cert *ret_cert, char *storage, size_t storage_cap)
{
	struct reader r = {.buf = in, .len = len};
	struct record_cert cert = {0};
	struct span pattern = get_cert(&r, &cert);

	if (r.bad || r.pos != len || !text_in_range(pattern, 1, RECORD_MAX_URI))
		return -EBADMSG;
	if (pattern.n >= storage_cap)
		return -EINVAL;
	if (!cert_sig_valid(&cert, pattern, device_pub))
		return -EKEYREJECTED;
	memcpy(storage, pattern.p, pattern.n);
	storage[pattern.n] = '\0';
	cert.pattern = storage;
	*ret_cert = cert;
	return 0;
}

/** Spans for the strings of @p f. @return false if a required string is missing. */
static bool view_from_fields(const struct record *f, struct record_view *ret)
{
	if (f->uri == NULL || f->contact == NULL || f->instance == NULL ||
	    (f->has_cert && f->cert.pattern == NULL))
		return false;
	*ret = (struct record_view){
		.kind = (unsigned)f->kind,
		.tombstone = f->tombstone,
		.has_cert = f->has_cert,
		.q = f->q,
		.uri = span_of(f->uri),
		.contact = span_of(f->contact),
		.instance = span_of(f->instance),
		.pattern = f->has_cert ? span_of(f->cert.pattern) : (struct span){NULL, 0},
	};
	return true;
}

/** Everything but the signature, in wire order. */
static void put_body(struct writer *w, const struct record_view *v, const struct record *f,
		     const uint8_t publisher[KEYS_PUB_LEN])
{
	unsigned flags = (v->tombstone ? FLAG_TOMBSTONE : 0) | (v->has_cert ? FLAG_CERT : 0);

	put_bytes(w, MAGIC, MAGIC_LEN);
	put_uint(w, RECORD_FORMAT_VERSION, 1);
	put_uint(w, v->kind, 1);
	put_uint(w, flags, 1);
	put_uint(w, v->q, 2);
	put_uint(w, f->seq, 8);
	put_uint(w, f->expires, 8);
	put_bytes(w, publisher, KEYS_PUB_LEN);
	put_span16(w, v->uri);
	put_span16(w, v->contact);
	put_span16(w, v->instance);
	if (v->has_cert)
		put_cert(w, &f->cert, v->pattern);
}

int record_encode(const struct record *fields, const struct keypair *key, uint8_t *out,
		  size_t *ret_len)
{
	/* The signed message is the prefix followed by the body, so build both in one buffer. */
	uint8_t msg[sizeof(RECORD_SIG_PREFIX) + RECORD_MAX_SIZE];
	struct writer w = {.buf = msg, .cap = sizeof(msg)};
	const size_t prefix_len = sizeof(RECORD_SIG_PREFIX);
	struct record_view v;
	size_t body_len;
	int err;

	if (!view_from_fields(fields, &v) || !view_valid(&v))
		return -EINVAL;
	if (v.has_cert && !cert_sig_valid(&fields->cert, v.pattern, key->pub))
		return -EINVAL;
	put_bytes(&w, RECORD_SIG_PREFIX, prefix_len);
	put_body(&w, &v, fields, key->pub);
	body_len = w.len - prefix_len;
	if (w.overflow || body_len + KEYS_SIG_LEN > RECORD_MAX_SIZE)
		return -EMSGSIZE;
	err = keys_sign(key, msg, w.len, out + body_len);
	if (err < 0)
		return err;
	memcpy(out, msg + prefix_len, body_len);
	*ret_len = body_len + KEYS_SIG_LEN;
	return 0;
}

/** Parse and check canonical form; no signature is checked yet. @return 0 or -EBADMSG. */
static int parse_record(const uint8_t *wire, size_t len, struct record *rec, struct record_view *v)
{
	struct reader r = {.buf = wire, .len = len};
	const uint8_t *magic = get_bytes(&r, MAGIC_LEN);
	unsigned version = (unsigned)get_uint(&r, 1);
	unsigned flags;

	v->kind = (unsigned)get_uint(&r, 1);
	flags = (unsigned)get_uint(&r, 1);
	v->q = (uint16_t)get_uint(&r, 2);
	rec->seq = get_uint(&r, 8);
	rec->expires = get_uint(&r, 8);
	get_into(&r, rec->publisher, KEYS_PUB_LEN);
	v->uri = get_span16(&r);
	v->contact = get_span16(&r);
	v->instance = get_span16(&r);
	v->has_cert = (flags & FLAG_CERT) != 0;
	v->tombstone = (flags & FLAG_TOMBSTONE) != 0;
	if (v->has_cert)
		v->pattern = get_cert(&r, &rec->cert);
	get_into(&r, rec->signature, KEYS_SIG_LEN);
	if (r.bad || r.pos != len || memcmp(magic, MAGIC, MAGIC_LEN) != 0)
		return -EBADMSG;
	if (version != RECORD_FORMAT_VERSION || (flags & ~FLAGS_KNOWN) != 0 || !view_valid(v))
		return -EBADMSG;
	return 0;
}

/** Copy @p s into @p *cursor as a C string and advance the cursor. @return the copy. */
static const char *stash(char **cursor, struct span s)
{
	char *copy = *cursor;

	memcpy(copy, s.p, s.n);
	copy[s.n] = '\0';
	*cursor += s.n + 1;
	return copy;
}

/** Build the single allocation that record_free() releases. */
static int record_materialize(const struct record *parsed, const struct record_view *v,
			      const uint8_t *wire, size_t len, struct record **ret_rec)
{
	size_t strings = v->uri.n + v->contact.n + v->instance.n + 3 + (v->has_cert ? v->pattern.n + 1 : 0);
	struct record *rec = malloc(sizeof(*rec) + strings + len);
	char *cursor;

	if (rec == NULL)
		return -ENOMEM;
	*rec = *parsed;
	cursor = (char *)(rec + 1);
	rec->kind = (enum record_kind)v->kind;
	rec->tombstone = v->tombstone;
	rec->q = v->q;
	rec->has_cert = v->has_cert;
	rec->uri = stash(&cursor, v->uri);
	rec->contact = stash(&cursor, v->contact);
	rec->instance = stash(&cursor, v->instance);
	if (v->has_cert)
		rec->cert.pattern = stash(&cursor, v->pattern);
	memcpy(cursor, wire, len);
	rec->wire = (const uint8_t *)cursor;
	rec->wire_len = len;
	*ret_rec = rec;
	return 0;
}

/** Verify the record signature over the prefix and everything before the signature. */
static bool record_sig_valid(const uint8_t *wire, size_t len, const struct record *rec)
{
	uint8_t msg[sizeof(RECORD_SIG_PREFIX) + RECORD_MAX_SIZE];
	size_t body_len = len - KEYS_SIG_LEN;

	memcpy(msg, RECORD_SIG_PREFIX, sizeof(RECORD_SIG_PREFIX));
	memcpy(msg + sizeof(RECORD_SIG_PREFIX), wire, body_len);
	return keys_verify(rec->publisher, msg, sizeof(RECORD_SIG_PREFIX) + body_len, rec->signature);
}

int record_decode(const uint8_t *wire, size_t len, struct record **ret_rec)
{
	struct record parsed = {0};
	struct record_view v = {0};
	int err;

	if (wire == NULL || len > RECORD_MAX_SIZE)
		return -EBADMSG;
	err = parse_record(wire, len, &parsed, &v);
	if (err < 0)
		return err;
	if (v.has_cert && !cert_sig_valid(&parsed.cert, v.pattern, parsed.publisher))
		return -EKEYREJECTED;
	if (!record_sig_valid(wire, len, &parsed))
		return -EKEYREJECTED;
	return record_materialize(&parsed, &v, wire, len, ret_rec);
}

int record_decode_trusted(const uint8_t *wire, size_t len, struct record **ret_rec)
{
	struct record parsed = {0};
	struct record_view v = {0};
	if (wire == NULL || len > RECORD_MAX_SIZE)
		return -EBADMSG;
	int err = parse_record(wire, len, &parsed, &v);
	return err < 0 ? err : record_materialize(&parsed, &v, wire, len, ret_rec);
}

void record_free(struct record *rec)
{
	free(rec);
}

bool record_pattern_match(const char *pattern, const char *uri)
{
	const char *p = pattern;
	const char *u = uri;
	const char *star = NULL; /* pattern position just after the last '*' seen */
	const char *resume = NULL; /* where that '*' would next resume matching in uri */

	/*
	 * Greedy with one backtrack point: a later '*' supersedes an earlier one,
	 * so the work is bounded by strlen(pattern) * strlen(uri), never exponential.
	 */
	while (*u != '\0') {
		if (*p == '*') {
			star = ++p;
			resume = u;
		} else if (*p == *u) {
			p++;
			u++;
		} else if (star != NULL) {
			p = star;
			u = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

void record_dht_key(enum record_kind kind, const char *name, uint8_t ret_key[RECORD_KEY_LEN])
{
	const uint8_t tag[2] = {(uint8_t)kind, RECORD_FORMAT_VERSION};
	const struct span parts[] = {
		{(const uint8_t *)DHT_KEY_PREFIX, sizeof(DHT_KEY_PREFIX)},
		{tag, sizeof(tag)},
		span_of(name),
	};
	uint8_t md[32];

	sha256_parts(parts, sizeof(parts) / sizeof(parts[0]), md);
	memcpy(ret_key, md, RECORD_KEY_LEN);
}

uint64_t record_value_id(const uint8_t *wire, size_t len)
{
	const struct span part = {wire, len};
	uint8_t md[32];
	uint64_t id = 0;

	sha256_parts(&part, 1, md);
	for (size_t i = 0; i < 8; i++)
		id = id << 8 | md[i];
	return id;
}

int record_kind_key(enum record_kind kind, const char *name, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%d/%s", (int)kind, name);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

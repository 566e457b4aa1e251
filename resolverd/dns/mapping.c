/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The DNS view of the DHT: which record name a query name stands for, and which zone holds it. */
#include "resolverd/dns/mapping.h"

#include "resolverd/core/map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/consts.h>

/** A wire name has at most 127 labels (255 bytes, two per label at least, plus the root). */
#define MAX_LABELS 128

/** The labels of a wire name, each pointing at its length byte. */
struct labels {
	const uint8_t *l[MAX_LABELS];
	size_t n;
};

/** Text built in a caller's buffer of a documented maximum size; overflow is sticky. */
struct text {
	char *buf;     /**< borrowed, cap bytes */
	size_t len;
	size_t cap;
	bool overflow; /**< something did not fit (buf is then not NUL-terminated) */
};

static void split_labels(const knot_dname_t *name, struct labels *ret)
{
	ret->n = 0;
	while (*name != 0 && ret->n < MAX_LABELS) {
		ret->l[ret->n++] = name;
		name += *name + 1;
	}
}

static void text_put(struct text *t, const char *s, size_t n)
{
	if (t->overflow || n >= t->cap - t->len) {
		t->overflow = true;
		return;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void text_putc(struct text *t, char c)
{
	text_put(t, &c, 1);
}

/** Bytes of the host name labels we map: lower-case LDH and '_' (RFC 2181 allows any; DHT names do not). */
static bool is_host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static bool label_is_host(const uint8_t *label)
{
	for (uint8_t i = 1; i <= label[0]; i++) {
		if (!is_host_char(label[i]))
			return false;
	}
	return true;
}

/** Append labels [from, n) joined by dots. @return false if there are none or one is not a host label. */
static bool put_host(struct text *t, const struct labels *ls, size_t from)
{
	if (from >= ls->n)
		return false;
	for (size_t i = from; i < ls->n; i++) {
		if (!label_is_host(ls->l[i]))
			return false;
		if (i > from)
			text_putc(t, '.');
		text_put(t, (const char *)ls->l[i] + 1, ls->l[i][0]);
	}
	return true;
}

static bool starts_with_underscore(const uint8_t *label)
{
	return label[0] > 0 && label[1] == '_';
}

/** Is @p label "_<scheme>" with an RFC 3986 scheme (lower-case; '.' excluded, it would be a label break)? */
static bool label_is_scheme(const uint8_t *label)
{
	if (label[0] < 2 || label[1] != '_' || label[2] < 'a' || label[2] > 'z')
		return false;
	for (uint8_t i = 3; i <= label[0]; i++) {
		uint8_t c = label[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-'))
			return false;
	}
	return true;
}

/** RFC 3986 unreserved and sub-delims: the bytes a user label keeps as they are. */
static bool is_user_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("-._~!$&'()*+,;=", c) != NULL);
}

/** Append the user label, percent-encoding every other byte. */
static void put_user(struct text *t, const uint8_t *label)
{
	static const char hex[] = "0123456789ABCDEF";

	for (uint8_t i = 1; i <= label[0]; i++) {
		uint8_t c = label[i];

		if (is_user_char(c)) {
			text_putc(t, (char)c);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

			text_put(t, esc, sizeof(esc));
		}
	}
}

/** Convert a configured name ("" or "." is the root) to lower-case wire form in @p out. */
static bool name_to_wire(const char *text, uint8_t out[KNOT_DNAME_MAXLEN])
{
	if (text == NULL)
		return false;
	if (knot_dname_from_str(out, text[0] == '\0' ? "." : text, KNOT_DNAME_MAXLEN) == NULL)
		return false;
	knot_dname_to_lower(out);
	return true;
}

const struct dns_zone *mapping_zone(const struct dns_conf *conf, const knot_dname_t *qname,
				    bool *ret_apex)
{
	const struct dns_zone *best = NULL;
	size_t best_labels = 0;
	bool apex = false;

	for (size_t i = 0; i < conf->n_zones; i++) {
		uint8_t wire[KNOT_DNAME_MAXLEN];
		int below;
		size_t labels;

		if (!name_to_wire(conf->zones[i].apex, wire))
			continue;
		below = knot_dname_in_bailiwick(qname, wire);
		labels = knot_dname_labels(wire, NULL);
		if (below < 0 || (best != NULL && labels <= best_labels))
			continue;
		best = &conf->zones[i];
		best_labels = labels;
		apex = below == 0;
	}
	if (best != NULL)
		*ret_apex = apex;
	return best;
}

#define MEMO_SLOTS 128

/** One remembered normalization: the URI built from the name, and what it gave. */
struct memo_slot {
	bool used;
	int err;                        /**< 0 or -ENOENT */
	char in[URI_MAX_LEN + 1];
	char name[URI_MAX_LEN + 1];
	char host[256];
};

struct mapping_memo {
	struct memo_slot slot[MEMO_SLOTS];
};

struct mapping_memo *mapping_memo_new(void)
{
	return calloc(1, sizeof(struct mapping_memo));
}

void mapping_memo_free(struct mapping_memo *memo)
{
	free(memo);
}

static int normalize_fresh(const char *uri, const char *host, struct dns_lookup *ret);

/* Look @p uri up in @p memo, or normalize it and remember the result. */
static int normalize_into(struct mapping_memo *memo, const char *uri, const char *host, struct dns_lookup *ret)
{
	if (memo == NULL)
		return normalize_fresh(uri, host, ret);
	size_t n = strlen(uri);
	struct memo_slot *s = &memo->slot[map_hash(uri, n) % MEMO_SLOTS];
	if (s->used && strcmp(s->in, uri) == 0) {
		if (s->err == 0) {
			memcpy(ret->name, s->name, sizeof(ret->name));
			memcpy(ret->host, s->host, sizeof(ret->host));
		}
		return s->err;
	}
	int err = normalize_fresh(uri, host, ret);
	if (err == 0 || err == -ENOENT) {
		s->used = true;
		s->err = err;
		memcpy(s->in, uri, n + 1);
		if (err == 0) {
			memcpy(s->name, ret->name, sizeof(s->name));
			memcpy(s->host, ret->host, sizeof(s->host));
		}
	}
	return err;
}

/** Copy the normalized form of @p uri and the policy host into @p ret. */
static int normalize_fresh(const char *uri, const char *host, struct dns_lookup *ret)
{
	struct uri_parts parts = {0};
	const char *reason = NULL;
	const char *h;
	int err = uri_normalize(uri, &parts, &reason);

	if (err == -ENOMEM)
		return -ENOMEM;
	if (err < 0)
		return -ENOENT;
	h = parts.host != NULL ? parts.host : host;
	if (strlen(parts.uri) >= sizeof(ret->name) || strlen(h) >= sizeof(ret->host)) {
		err = -ENOENT;
	} else {
		strcpy(ret->name, parts.uri);
		strcpy(ret->host, h);
	}
	uri_parts_deinit(&parts);
	return err;
}

/** Are labels [0, n) single digits? */
static bool digit_labels(const struct labels *ls, int n)
{
	for (int d = 0; d < n; d++) {
		if (ls->l[d][0] != 1 || ls->l[d][1] < '0' || ls->l[d][1] > '9')
			return false;
	}
	return true;
}

/**
 * ENUM (RFC 6116): one or more single-digit labels under one of the suffixes
 * stand for "tel:+" and the digits in reverse order.
 * @return 0, 1 if @p qname is no ENUM name, -ENOENT, -ENOMEM.
 */
static int map_enum(const struct dns_conf *conf, const struct labels *ls, const knot_dname_t *qname,
		    struct mapping_memo *memo, struct dns_lookup *ret)
{
	for (size_t i = 0; i < conf->n_enum; i++) {
		uint8_t suffix[KNOT_DNAME_MAXLEN];
		char uri[URI_MAX_LEN + 1];
		struct text t = {uri, 0, sizeof(uri), false};
		int digits;

		if (!name_to_wire(conf->enum_suffixes[i], suffix))
			continue;
		digits = knot_dname_in_bailiwick(qname, suffix);
		if (digits <= 0 || !digit_labels(ls, digits))
			continue;
		text_put(&t, "tel:+", 5);
		for (int d = digits - 1; d >= 0; d--)
			text_putc(&t, (char)ls->l[d][1]);
		return t.overflow ? -ENOENT : normalize_into(memo, uri, "", ret);
	}
	return 1;
}

/** "<scheme>:[<user>@]<host>" from the labels; the scheme is label @p at, the user label 0 if @p at is 1. */
static int map_binding(const struct labels *ls, size_t at, struct mapping_memo *memo, struct dns_lookup *ret)
{
	char uri[URI_MAX_LEN + 1];
	struct text t = {uri, 0, sizeof(uri), false};
	char host[KNOT_DNAME_MAXLEN + 1];
	size_t host_at;

	text_put(&t, (const char *)ls->l[at] + 2, ls->l[at][0] - 1u);
	text_putc(&t, ':');
	if (at == 1) {
		put_user(&t, ls->l[0]);
		text_putc(&t, '@');
	}
	host_at = t.len;
	if (!put_host(&t, ls, at + 1) || t.overflow || t.len - host_at >= sizeof(host))
		return -ENOENT;
	memcpy(host, uri + host_at, t.len - host_at + 1);
	return normalize_into(memo, uri, host, ret);
}

/** "_svc._proto.domain", or a host name: the name itself, with @p host_from its policy domain. */
static int map_name(const struct labels *ls, size_t host_from, struct dns_lookup *ret)
{
	struct text t = {ret->name, 0, sizeof(ret->name), false};
	struct text h = {ret->host, 0, sizeof(ret->host), false};

	if (!put_host(&t, ls, 0) || !put_host(&h, ls, host_from) || t.overflow || h.overflow)
		return -ENOENT;
	return 0;
}

/** The non-ENUM shapes; @return 1 when @p qname has none of them. */
static int map_shapes(const struct labels *ls, struct mapping_memo *memo, struct dns_lookup *ret,
		      enum mapping_shape *ret_shape)
{
	bool first = ls->n >= 1 && starts_with_underscore(ls->l[0]);
	bool second = ls->n >= 2 && starts_with_underscore(ls->l[1]);

	if (first && second && ls->n >= 3) {
		*ret_shape = MAPPING_SERVICE;
		return map_name(ls, 2, ret);
	}
	if (first && !second && ls->n >= 2 && label_is_scheme(ls->l[0])) {
		*ret_shape = MAPPING_BINDING;
		return map_binding(ls, 0, memo, ret);
	}
	if (!first && second && ls->n >= 3 && label_is_scheme(ls->l[1])) {
		*ret_shape = MAPPING_BINDING;
		return map_binding(ls, 1, memo, ret);
	}
	return 1;
}

int mapping_lookup(const struct dns_conf *conf, const knot_dname_t *qname, bool in_zone,
		   struct mapping_memo *memo, struct dns_lookup *ret, enum mapping_shape *ret_shape)
{
	struct labels ls;
	struct dns_lookup tmp = {0};
	enum mapping_shape shape = MAPPING_ENUM;
	int err;

	split_labels(qname, &ls);
	tmp.kind = RECORD_BINDING;
	err = map_enum(conf, &ls, qname, memo, &tmp);
	if (err == 1)
		err = map_shapes(&ls, memo, &tmp, &shape);
	if (err == 1 && in_zone) {
		shape = MAPPING_HOST;
		err = map_name(&ls, 0, &tmp);
	}
	if (err != 0)
		return err == 1 ? -ENOENT : err;
	tmp.kind = shape == MAPPING_SERVICE ? RECORD_SERVICE
		 : shape == MAPPING_HOST    ? RECORD_HOST
					    : RECORD_BINDING;
	*ret = tmp;
	*ret_shape = shape;
	return 0;
}

int mapping_host(const knot_dname_t *qname, struct dns_lookup *ret)
{
	struct labels ls;
	struct dns_lookup tmp = {.kind = RECORD_HOST};
	int err;

	split_labels(qname, &ls);
	err = map_name(&ls, 0, &tmp);
	if (err == 0)
		*ret = tmp;
	return err;
}

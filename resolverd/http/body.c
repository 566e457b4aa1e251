/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Request bodies of the HTTP API: the checks of POST /v1/bindings and the helpers other bodies share. */
#include "resolverd/http/body.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "resolverd/core/record.h"

/** Why a binding body was refused. */
struct refusal {
	const char *why;   /**< static, or the caller's why buffer */
	const char *field; /**< static, or borrowed from the JSON object; NULL for none */
};

/** Length of the valid UTF-8 sequence that starts at @p s (as jansson checks it), or 0. */
static size_t utf8_sequence(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	/* 0xc0, 0xc1 and past 0xf4 start only overlong or out-of-range sequences */
	size_t n = 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	if (n == 0)
		return 0;
	unsigned cp = s[0] & (0x7fu >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * Make @p s valid UTF-8 in place: every byte that starts no valid sequence
 * becomes '?'. A detail quotes the body (jansson's error text, an unknown
 * member cut at 100 bytes), and one that is not UTF-8 cannot become the JSON
 * string of a problem response: the connection would close with no answer.
 */
static void utf8_repair(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p;) {
		size_t n = utf8_sequence(p);
		if (n == 0)
			*p++ = '?';
		else
			p += n;
	}
}

json_t *body_load_object(const char *json, size_t len, char *why, size_t why_cap)
{
	json_error_t err;
	json_t *o = json ? json_loadb(json, len, JSON_REJECT_DUPLICATES, &err) : NULL;
	if (o && json_is_object(o))
		return o;
	snprintf(why, why_cap, "the body is not a JSON object%s%s", o || !json ? "" : ": ",
		 o || !json ? "" : err.text);
	utf8_repair(why);
	json_decref(o);
	return NULL;
}

const char *body_unknown_member(json_t *o, const char *const *known)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		const char *const *it = known;
		while (*it && strcmp(*it, k) != 0)
			it++;
		if (!*it)
			return k;
	}
	return NULL;
}

bool body_printable(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x21 || *p == 0x7f)
			return false;
	return true;
}

bool body_valid_contact(const char *s)
{
	if (!body_printable(s, RECORD_MAX_URI))
		return false;
	const char *p = s;
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return false;
	while (*p && *p != ':') {
		char ch = *p++;
		if (!(ch == '+' || ch == '-' || ch == '.' || (ch >= '0' && ch <= '9') ||
		      (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
			return false;
	}
	return *p == ':' && p[1] != 0;
}

char *body_default_instance(const char *prefix, const char *value)
{
	uint8_t d[SHA256_DIGEST_LENGTH];
	SHA256((const uint8_t *)value, strlen(value), d);
	char *s = NULL;
	if (asprintf(&s, "%s-%02x%02x%02x%02x%02x%02x%02x%02x", prefix, d[0], d[1], d[2], d[3], d[4], d[5],
		     d[6], d[7]) < 0)
		return NULL;
	return s;
}

const char *body_expires(json_t *o, unsigned default_expires, unsigned max_expires, unsigned *ret_secs)
{
	json_t *e = json_object_get(o, "expires");
	json_int_t secs = default_expires;
	if (e && (!json_is_integer(e) || (secs = json_integer_value(e)) < 1 || secs > (json_int_t)max_expires))
		return "expires: an integer number of seconds from 1 to publish.max_expires";
	*ret_secs = (unsigned)secs;
	return NULL;
}

/* Normalize "uri" into b->parts. @return 0, -EINVAL, -ENOMEM with *r (its why may be @p why). */
static int take_uri(json_t *o, struct binding_body *b, char *why, size_t why_cap, struct refusal *r)
{
	json_t *u = json_object_get(o, "uri");
	*r = (struct refusal){.why = why, .field = "uri"};
	if (u && !json_is_string(u)) {
		r->why = "uri: must be a string";
		return -EINVAL;
	}
	const char *uri = u ? json_string_value(u) : NULL, *reason = "missing";
	int rc = uri && *uri ? uri_normalize(uri, &b->parts, &reason) : -EINVAL;
	if (rc == 0)
		return 0;
	snprintf(why, why_cap, "uri: %s", uri && *uri ? reason : "required");
	return rc;
}

/* Check and copy "contact" and "instance". @return 0, -EINVAL, -ENOMEM with *r. */
static int take_strings(json_t *o, struct binding_body *b, struct refusal *r)
{
	json_t *c = json_object_get(o, "contact"), *i = json_object_get(o, "instance");
	if (!json_is_string(c) || !body_valid_contact(json_string_value(c))) {
		*r = (struct refusal){c ? "contact: a URL (scheme:...) of printable ASCII, at most 512 bytes"
					: "contact: required", "contact"};
		return -EINVAL;
	}
	if (i && (!json_is_string(i) || !body_printable(json_string_value(i), RECORD_MAX_INSTANCE))) {
		*r = (struct refusal){"instance: 1 to 128 printable characters", "instance"};
		return -EINVAL;
	}
	b->contact = strdup(json_string_value(c));
	if (b->contact)
		b->instance = i ? strdup(json_string_value(i)) : body_default_instance("c", b->contact);
	if (!b->contact || !b->instance) {
		*r = (struct refusal){"out of memory", NULL};
		return -ENOMEM;
	}
	return 0;
}

/* Check "expires" and "q". @return 0 or -EINVAL with *r. */
static int take_numbers(json_t *o, unsigned default_expires, unsigned max_expires, struct binding_body *b,
			struct refusal *r)
{
	const char *why = body_expires(o, default_expires, max_expires, &b->expires);
	if (why) {
		*r = (struct refusal){why, "expires"};
		return -EINVAL;
	}
	json_t *q = json_object_get(o, "q");
	double qv = 1.0;
	if (q && (!json_is_number(q) || (qv = json_number_value(q)) < 0.0 || qv > 1.0)) {
		*r = (struct refusal){"q: a number from 0 to 1", "q"};
		return -EINVAL;
	}
	b->q = (uint16_t)(qv * RECORD_Q_MAX + 0.5);
	return 0;
}

int body_parse_binding(const char *json, size_t len, unsigned default_expires, unsigned max_expires,
		       struct binding_body *ret, char **ret_field, char *why, size_t why_cap)
{
	static const char *const known[] = {"uri", "contact", "expires", "q", "instance", NULL};
	struct binding_body b = {0};
	struct refusal r = {0};
	json_t *o = body_load_object(json, len, why, why_cap);
	if (!o) {
		*ret_field = NULL;
		return -EBADMSG;
	}
	const char *extra = body_unknown_member(o, known);
	int rc = -EINVAL;
	if (extra) {
		snprintf(why, why_cap, "unknown member '%.100s'", extra);
		r = (struct refusal){why, extra};
	} else if ((rc = take_uri(o, &b, why, why_cap, &r)) == 0 && (rc = take_strings(o, &b, &r)) == 0) {
		rc = take_numbers(o, default_expires, max_expires, &b, &r);
	}
	if (rc == 0) {
		json_decref(o);
		*ret = b;
		return 0;
	}
	if (r.why != why)
		snprintf(why, why_cap, "%s", r.why);
	utf8_repair(why);
	/* r.field may point into o: copy it before releasing o */
	*ret_field = r.field ? strdup(r.field) : NULL;
	json_decref(o);
	body_binding_deinit(&b);
	return rc;
}

void body_binding_deinit(struct binding_body *b)
{
	uri_parts_deinit(&b->parts);
	free(b->contact);
	free(b->instance);
	*b = (struct binding_body){0};
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* RDATA of the RRs resolverd serves, built from records and from zone settings. */
#include "resolverd/dns/rdata.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/dname.h>
#include <libknot/wire.h>

#define SOA_REFRESH 3600
#define SOA_RETRY 600
#define SOA_EXPIRE 604800
#define CHARSTR_MAX 255
#define LABEL_MAX 63

/** Writes into a caller's buffer; overflow is sticky and reported at the end. */
struct wbuf {
	uint8_t *p;    /**< borrowed, cap bytes */
	size_t len;
	size_t cap;
	bool overflow;
};

static void put_bytes(struct wbuf *w, const void *data, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void put_u8(struct wbuf *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

static void put_u16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2];

	knot_wire_write_u16(b, v);
	put_bytes(w, b, sizeof(b));
}

static void put_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4];

	knot_wire_write_u32(b, v);
	put_bytes(w, b, sizeof(b));
}

/** A character-string (length byte, then at most 255 bytes). */
static void put_charstr(struct wbuf *w, const char *s, size_t n)
{
	put_u8(w, (uint8_t)n);
	put_bytes(w, s, n);
}

static int wbuf_result(const struct wbuf *w)
{
	if (w->overflow)
		return -ENOSPC;
	return w->len > UINT16_MAX ? -EINVAL : (int)w->len;
}

static uint16_t inverse_q(const struct record *rec)
{
	return rec->q >= RECORD_Q_MAX ? 0 : (uint16_t)(RECORD_Q_MAX - rec->q);
}

static int rdata_uri(const struct record *rec, struct wbuf *w)
{
	size_t n = strlen(rec->contact);

	if (n == 0)
		return -EINVAL;
	put_u16(w, inverse_q(rec));
	put_u16(w, RDATA_URI_WEIGHT);
	put_bytes(w, rec->contact, n);
	return wbuf_result(w);
}

/** "E2U+<scheme>" (RFC 6116) from the contact's scheme, lower-cased, into @p out (CHARSTR_MAX + 1 bytes). */
static int naptr_service(const char *contact, char *out)
{
	size_t n = 0;

	while (contact[n] != ':' && contact[n] != '\0')
		n++;
	if (contact[n] != ':' || n == 0 || n > CHARSTR_MAX - 4)
		return -EINVAL;
	memcpy(out, "E2U+", 4);
	for (size_t i = 0; i < n; i++) {
		char c = contact[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool other = (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';

		if (!alpha && !(i > 0 && other))
			return -EINVAL;
		out[4 + i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	return (int)n + 4;
}

/** "!^.*$!<contact>!" (RFC 3402), escaping the delimiter and backslash, into @p out (CHARSTR_MAX bytes). */
static int naptr_regexp(const char *contact, char *out)
{
	struct wbuf w = {(uint8_t *)out, 0, CHARSTR_MAX, false};

	put_bytes(&w, "!^.*$!", 6);
	for (const char *c = contact; *c != '\0'; c++) {
		if (*c == '!' || *c == '\\')
			put_u8(&w, '\\');
		put_u8(&w, (uint8_t)*c);
	}
	put_u8(&w, '!');
	return w.overflow ? -EINVAL : (int)w.len;
}

static int rdata_naptr(const struct record *rec, struct wbuf *w)
{
	char service[CHARSTR_MAX + 1];
	char regexp[CHARSTR_MAX];
	int service_len = naptr_service(rec->contact, service);
	int regexp_len = naptr_regexp(rec->contact, regexp);

	if (service_len < 0 || regexp_len < 0)
		return -EINVAL;
	put_u16(w, inverse_q(rec));
	put_u16(w, RDATA_NAPTR_PREFERENCE);
	put_charstr(w, "u", 1);
	put_charstr(w, service, (size_t)service_len);
	put_charstr(w, regexp, (size_t)regexp_len);
	put_u8(w, 0);
	return wbuf_result(w);
}

static int rdata_txt(const struct record *rec, struct wbuf *w)
{
	const char *s = rec->contact;
	size_t n = strlen(s);

	if (n == 0)
		return -EINVAL;
	while (n > 0) {
		size_t chunk = n < CHARSTR_MAX ? n : CHARSTR_MAX;

		put_charstr(w, s, chunk);
		s += chunk;
		n -= chunk;
	}
	return wbuf_result(w);
}

/** A decimal 0..65535 followed by one or more spaces; advances *s past them. */
static bool parse_u16_field(const char **s, uint16_t *ret)
{
	const char *p = *s;
	uint32_t v = 0;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint32_t)(*p - '0');
		if (v > UINT16_MAX)
			return false;
	}
	if (*p != ' ')
		return false;
	while (*p == ' ')
		p++;
	*s = p;
	*ret = (uint16_t)v;
	return true;
}

static bool is_target_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

/** Write host name @p name ("." is the root; a trailing dot is allowed) in wire form. */
static bool put_target(struct wbuf *w, const char *name)
{
	size_t start = w->len;

	if (*name == '\0')
		return false;
	if (strcmp(name, ".") != 0) {
		while (*name != '\0') {
			size_t n = 0;

			while (is_target_char(name[n]))
				n++;
			if (n == 0 || n > LABEL_MAX || (name[n] != '.' && name[n] != '\0'))
				return false;
			put_charstr(w, name, n);
			name += n + (name[n] == '.');
		}
	}
	put_u8(w, 0);
	return w->overflow || w->len - start <= KNOT_DNAME_MAXLEN;
}

static int rdata_srv(const struct record *rec, struct wbuf *w)
{
	const char *s = rec->contact;
	uint16_t prio, weight, port;

	if (!parse_u16_field(&s, &prio) || !parse_u16_field(&s, &weight) || !parse_u16_field(&s, &port))
		return -EINVAL;
	put_u16(w, prio);
	put_u16(w, weight);
	put_u16(w, port);
	if (!put_target(w, s))
		return -EINVAL;
	return wbuf_result(w);
}

static int rdata_address(int family, const struct record *rec, struct wbuf *w)
{
	uint8_t addr[16];

	if (inet_pton(family, rec->contact, addr) != 1)
		return -EINVAL;
	put_bytes(w, addr, family == AF_INET ? 4 : 16);
	return wbuf_result(w);
}

int rdata_from_record(uint16_t type, const struct record *rec, uint8_t *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};

	if (rec->contact == NULL)
		return -EINVAL;
	switch (type) {
	case KNOT_RRTYPE_URI:
		return rdata_uri(rec, &w);
	case KNOT_RRTYPE_NAPTR:
		return rdata_naptr(rec, &w);
	case KNOT_RRTYPE_TXT:
		return rdata_txt(rec, &w);
	case KNOT_RRTYPE_SRV:
		return rdata_srv(rec, &w);
	case KNOT_RRTYPE_A:
		return rdata_address(AF_INET, rec, &w);
	case KNOT_RRTYPE_AAAA:
		return rdata_address(AF_INET6, rec, &w);
	default:
		return -EINVAL;
	}
}

int rdata_hinfo_rfc8482(uint8_t *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};

	put_charstr(&w, "RFC8482", 7);
	put_charstr(&w, "", 0);
	return wbuf_result(&w);
}

/** Append configured name @p name in wire form (escapes as in zone files). */
static bool put_conf_name(struct wbuf *w, const char *name)
{
	uint8_t wire[KNOT_DNAME_MAXLEN];

	if (name == NULL || knot_dname_from_str(wire, name[0] == '\0' ? "." : name, sizeof(wire)) == NULL)
		return false;
	put_bytes(w, wire, knot_dname_size(wire));
	return true;
}

int rdata_name(const char *name, uint8_t *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};

	if (!put_conf_name(&w, name))
		return -EINVAL;
	return wbuf_result(&w);
}

int rdata_soa(const struct dns_zone *zone, uint8_t *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, false};
	const char *mname = zone->n_ns > 0 ? zone->ns[0] : zone->apex;
	char rname[KNOT_DNAME_MAXLEN + 16];
	bool ok;

	if (zone->apex == NULL)
		return -EINVAL;
	if (zone->hostmaster != NULL)
		ok = put_conf_name(&w, mname) && put_conf_name(&w, zone->hostmaster);
	else
		ok = (size_t)snprintf(rname, sizeof(rname), "hostmaster.%s", zone->apex) < sizeof(rname) &&
		     put_conf_name(&w, mname) && put_conf_name(&w, rname);
	if (!ok)
		return -EINVAL;
	put_u32(&w, zone->serial);
	put_u32(&w, SOA_REFRESH);
	put_u32(&w, SOA_RETRY);
	put_u32(&w, SOA_EXPIRE);
	put_u32(&w, zone->negative_ttl);
	return wbuf_result(&w);
}

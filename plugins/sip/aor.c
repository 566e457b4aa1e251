/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SIP and SIPS addresses of record: parse a sip:/sips: URI by the RFC 3261 grammar and rebuild its canonical AoR. */
#include "plugins/sip/aor.h"
#include "plugins/common/escape.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/*
 * DESIGN
 * The AoR is the DHT key of a SIP user, so every spelling of one address
 * must give one string, and addresses that RFC 3261 section 19.1.4 calls
 * different must give different strings. The rules:
 *  - scheme: lower-cased. sips: and sip: are different AoRs (19.1.4: "a SIP
 *    and SIPS URI are never equivalent").
 *  - user and password: case kept (19.1.4). An escape of an RFC 3261
 *    unreserved character (alphanum and mark: - _ . ! ~ * ' ( )) is decoded,
 *    since 19.1.4 makes every character outside the reserved set equal to its
 *    %HH; other escapes keep their meaning and get upper-case hex. A literal
 *    character the user grammar forbids but that is not reserved (" < > [ ]
 *    { } | \ ^ `) is escaped, for the same reason. A reserved character the
 *    password grammar forbids (; / ? : @) is refused, since escaping it would
 *    change its meaning. An empty password ("alice:@") stays distinct.
 *  - host: lower-cased, one trailing dot dropped; a host name must follow the
 *    hostname grammar (labels of letters, digits and inner hyphens, at most
 *    63 bytes, a top label starting with a letter); IPv4 and [IPv6] are
 *    rewritten by inet_ntop (RFC 5952 form for IPv6). No escapes in hosts.
 *  - port: KEPT when present, even 5060 for sip: or 5061 for sips:, without
 *    leading zeros. 19.1.4 says sip:bob@biloxi.com and sip:bob@biloxi.com:5060
 *    are not equivalent, and RFC 3263 resolves them differently (the first
 *    through NAPTR and SRV, the second straight to A/AAAA), so merging them
 *    would make one key stand for two places. Port 0 is refused.
 *  - URI parameters and headers: checked against their grammar, then
 *    dropped (10.3: "all URI parameters MUST be removed"; headers are not
 *    part of an address of record).
 * Refused: no host, bad escapes, control characters, spaces, non-ASCII
 * bytes, fragments, more than one '@', "//" after the scheme, a bad port;
 * an AoR longer than RD_NAME_MAX or a host longer than RD_HOST_MAX gives
 * -ENAMETOOLONG. The function works on the caller's stack and the result
 * struct only: no allocation, no global state, safe from any thread.
 */

#define REASON_SCHEME "not a sip: or sips: URI"
#define REASON_CONTROL "control characters and spaces are not allowed in a SIP URI"
#define REASON_NON_ASCII "SIP URIs are ASCII: percent-encode other characters"
#define REASON_FRAGMENT "fragments are not part of a SIP URI"
#define REASON_BAD_ESCAPE "invalid percent-encoding: '%' must be followed by two hex digits"
#define REASON_EMPTY "sip: URI has nothing after the scheme (write sip:user@host)"
#define REASON_SLASHES "sip: URIs have no '//' after the scheme (write sip:user@host)"
#define REASON_TWO_AT "sip: URI has more than one '@' (write '@' in the user part as %40)"
#define REASON_NO_USER "sip: URI has an empty user part before '@'"
#define REASON_PASSWORD "character not allowed in the password of a sip: URI"
#define REASON_NO_HOST "sip: URI has no host"
#define REASON_HOST_CHAR "invalid character in the host of a sip: URI (a host name, an IPv4 address or an [IPv6] reference)"
#define REASON_LABEL "invalid host name: labels are 1 to 63 letters, digits and inner hyphens"
#define REASON_TOPLABEL "invalid host name: its last label must start with a letter"
#define REASON_IPV4 "invalid IPv4 address in the host of a sip: URI"
#define REASON_IPV6 "invalid IPv6 reference in the host of a sip: URI"
#define REASON_PORT "invalid port: it must be a number from 1 to 65535"
#define REASON_PARAMS "invalid character in the parameters of a sip: URI"
#define REASON_HEADERS "invalid character in the headers of a sip: URI"

/** Appends to a fixed buffer; len may run past cap, which means "too long". */
struct builder {
	char *buf; /**< borrowed, cap + 1 bytes */
	size_t len;
	size_t cap;
};

/** A byte range of the input. */
struct span {
	const char *p; /**< borrowed */
	size_t n;
};

/** The pieces of a SIP URI, split but not yet checked. */
struct sip_parts {
	bool sips;
	bool has_userinfo;
	bool has_password;
	struct span user, password, hostport, params, headers;
};

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

static bool in_set(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/** RFC 3261 unreserved: alphanum / mark. */
static bool is_unreserved(char c)
{
	return is_alnum(c) || in_set(c, "-_.!~*'()");
}

/** RFC 3261 reserved. */
static bool is_reserved(char c)
{
	return in_set(c, ";/?:@&=+$,");
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void put_char(struct builder *b, char c)
{
	if (b->len < b->cap)
		b->buf[b->len] = c;
	b->len++;
}

static void put_mem(struct builder *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_char(b, s[i]);
}

static void put_hex(struct builder *b, unsigned char v)
{
	static const char hex[] = "0123456789ABCDEF";

	put_char(b, '%');
	put_char(b, hex[v >> 4]);
	put_char(b, hex[v & 0xf]);
}

/** Check every byte of @p in. @return NULL, or why it is not a URI. */
static const char *check_bytes(const char *in)
{
	for (size_t i = 0; in[i] != '\0'; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x80)
			return REASON_NON_ASCII;
		if (c < 0x21 || c == 0x7f)
			return REASON_CONTROL;
		if (c == '#')
			return REASON_FRAGMENT;
		/* in is NUL-terminated, so a truncated escape fails on the NUL. */
		if (c == '%' && (esc_hex_value(in[i + 1]) < 0 || esc_hex_value(in[i + 2]) < 0))
			return REASON_BAD_ESCAPE;
	}
	return NULL;
}

/** Match the scheme; set *ret_rest to what follows its ':'. @return NULL or a reason. */
static const char *split_scheme(const char *in, struct sip_parts *parts, const char **ret_rest)
{
	if (strncasecmp(in, "sip:", 4) == 0) {
		*ret_rest = in + 4;
		parts->sips = false;
	} else if (strncasecmp(in, "sips:", 5) == 0) {
		*ret_rest = in + 5;
		parts->sips = true;
	} else {
		return REASON_SCHEME;
	}
	if (**ret_rest == '\0')
		return REASON_EMPTY;
	if (strncmp(*ret_rest, "//", 2) == 0)
		return REASON_SLASHES;
	return NULL;
}

/**
 * Split what follows the scheme. '@' appears nowhere in a SIP URI but after
 * the userinfo (parameters and headers must escape it), so the userinfo runs
 * to the one '@'; the host part then ends at the first ';' or '?'.
 */
static const char *split_rest(const char *rest, struct sip_parts *parts)
{
	const char *at = strchr(rest, '@');
	const char *hp = rest;
	const char *tail;

	if (at != NULL) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));

		if (strchr(at + 1, '@') != NULL)
			return REASON_TWO_AT;
		parts->has_userinfo = true;
		parts->user = (struct span){rest, (size_t)((colon != NULL ? colon : at) - rest)};
		if (colon != NULL) {
			parts->has_password = true;
			parts->password = (struct span){colon + 1, (size_t)(at - colon - 1)};
		}
		if (parts->user.n == 0)
			return REASON_NO_USER;
		hp = at + 1;
	}
	tail = hp + strcspn(hp, ";?");
	parts->hostport = (struct span){hp, (size_t)(tail - hp)};
	if (*tail == ';') {
		size_t n = strcspn(tail, "?");

		parts->params = (struct span){tail, n};
		tail += n;
	}
	parts->headers = (struct span){tail, strlen(tail)};
	return NULL;
}

/**
 * Append a user or password: escapes of unreserved characters decoded, the
 * other escapes upper-cased, literal characters of neither @p allowed nor
 * the reserved set escaped. @return NULL, or a reason for a literal reserved
 * character outside @p allowed.
 */
static const char *put_userinfo_part(struct builder *b, struct span s, const char *allowed, const char *reason)
{
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];

		if (c == '%') {
			unsigned char v = (unsigned char)(esc_hex_value(s.p[i + 1]) << 4 | esc_hex_value(s.p[i + 2]));

			i += 2;
			if (is_unreserved((char)v))
				put_char(b, (char)v);
			else
				put_hex(b, v);
		} else if (is_unreserved(c) || in_set(c, allowed)) {
			put_char(b, c);
		} else if (is_reserved(c)) {
			return reason;
		} else {
			put_hex(b, (unsigned char)c);
		}
	}
	return NULL;
}

/** Check that @p s is only unreserved characters, escapes and characters of @p extra. */
static bool chars_in(struct span s, const char *extra)
{
	for (size_t i = 0; i < s.n; i++) {
		if (!is_unreserved(s.p[i]) && s.p[i] != '%' && !in_set(s.p[i], extra))
			return false;
	}
	return true;
}

/** Check a host name (lower-case, no trailing dot) by the RFC 3261 hostname rule. */
static const char *check_hostname(const char *h, size_t n)
{
	size_t start = 0;

	while (start <= n) {
		const char *dot = memchr(h + start, '.', n - start);
		size_t end = dot != NULL ? (size_t)(dot - h) : n;
		size_t len = end - start;

		if (len == 0 || len > 63 || !is_alnum(h[start]) || !is_alnum(h[end - 1]))
			return REASON_LABEL;
		for (size_t i = start; i < end; i++) {
			if (!is_alnum(h[i]) && h[i] != '-')
				return REASON_LABEL;
		}
		if (dot == NULL)
			return is_alpha(h[start]) ? NULL : REASON_TOPLABEL;
		start = end + 1;
	}
	return REASON_LABEL;
}

/** Rewrite the IP address @p text (NUL-terminated) of family @p af in canonical form into @p out. */
static bool canonical_ip(int af, const char *text, char *out, size_t out_len)
{
	unsigned char addr[16];

	return inet_pton(af, text, addr) == 1 && inet_ntop(af, addr, out, (socklen_t)out_len) != NULL;
}

/**
 * Check the host @p s and write its canonical form (no brackets) to @p ret.
 * @return 0, -EINVAL (*ret_reason set), -ENAMETOOLONG.
 */
static int canonical_host(struct span s, bool literal, char ret[RD_HOST_MAX + 1], const char **ret_reason)
{
	char text[RD_HOST_MAX + 1];
	bool numeric = true;

	if (s.n > 1 && !literal && s.p[s.n - 1] == '.')
		s.n--;
	if (s.n > RD_HOST_MAX)
		return literal ? (*ret_reason = REASON_IPV6, -EINVAL) : -ENAMETOOLONG;
	for (size_t i = 0; i < s.n; i++) {
		if (!is_alnum(s.p[i]) && !in_set(s.p[i], literal ? ":." : "-.")) {
			*ret_reason = literal ? REASON_IPV6 : REASON_HOST_CHAR;
			return -EINVAL;
		}
		text[i] = ascii_lower(s.p[i]);
		numeric = numeric && (is_digit(s.p[i]) || s.p[i] == '.');
	}
	text[s.n] = '\0';
	if (literal || numeric) {
		if (!canonical_ip(literal ? AF_INET6 : AF_INET, text, ret, RD_HOST_MAX + 1)) {
			*ret_reason = literal ? REASON_IPV6 : REASON_IPV4;
			return -EINVAL;
		}
		return 0;
	}
	*ret_reason = check_hostname(text, s.n);
	if (*ret_reason != NULL)
		return -EINVAL;
	memcpy(ret, text, s.n + 1);
	return 0;
}

/** Parse 1..65535 from @p s, without leading zeros into @p ret. @return false if it is not a port. */
static bool parse_port(struct span s, struct span *ret)
{
	unsigned long value = 0;

	if (s.n == 0)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		if (!is_digit(s.p[i]))
			return false;
		value = value * 10 + (unsigned long)(s.p[i] - '0');
		if (value > 65535)
			return false;
	}
	while (s.n > 1 && s.p[0] == '0') {
		s.p++;
		s.n--;
	}
	*ret = s;
	return value > 0;
}

/** Append "host[:port]" from @p hp and set @p ret_host. @return 0, -EINVAL, -ENAMETOOLONG. */
static int put_hostport(struct builder *b, struct span hp, char ret_host[RD_HOST_MAX + 1], const char **ret_reason)
{
	struct span host = hp, port = {NULL, 0};
	const char *sep;
	bool literal = hp.n > 0 && hp.p[0] == '[';
	int err;

	if (literal) {
		const char *close = memchr(hp.p, ']', hp.n);

		if (close == NULL || (close + 1 < hp.p + hp.n && close[1] != ':')) {
			*ret_reason = REASON_IPV6;
			return -EINVAL;
		}
		host = (struct span){hp.p + 1, (size_t)(close - hp.p - 1)};
		sep = close + 1 < hp.p + hp.n ? close + 1 : NULL;
	} else {
		sep = memchr(hp.p, ':', hp.n);
		host.n = sep != NULL ? (size_t)(sep - hp.p) : hp.n;
	}
	if (host.n == 0) {
		*ret_reason = literal ? REASON_IPV6 : REASON_NO_HOST;
		return -EINVAL;
	}
	err = canonical_host(host, literal, ret_host, ret_reason);
	if (err < 0)
		return err;
	if (sep != NULL && !parse_port((struct span){sep + 1, (size_t)(hp.p + hp.n - sep - 1)}, &port)) {
		*ret_reason = REASON_PORT;
		return -EINVAL;
	}
	if (literal)
		put_char(b, '[');
	put_mem(b, ret_host, strlen(ret_host));
	if (literal)
		put_char(b, ']');
	if (port.n > 0) {
		put_char(b, ':');
		put_mem(b, port.p, port.n);
	}
	return 0;
}

/** Check the dropped parts: parameters (";name[=value]"...) and headers ("?name=value&..."). */
static const char *check_tail(const struct sip_parts *parts)
{
	struct span headers = parts->headers;

	/* paramchar: unreserved, escaped, param-unreserved "[]/:&+$"; plus the ';' and '=' separators. */
	if (!chars_in(parts->params, "[]/:&+$;="))
		return REASON_PARAMS;
	if (headers.n > 0) {
		headers.p++;
		headers.n--;
	}
	/* hvalue: unreserved, escaped, hnv-unreserved "[]/?:+$"; plus '=' and '&'. */
	return chars_in(headers, "[]/?:+$=&") ? NULL : REASON_HEADERS;
}

/** Build the AoR of @p parts into @p out. @return 0, -EINVAL (*ret_reason), -ENAMETOOLONG. */
static int build(const struct sip_parts *parts, struct rd_name *out, const char **ret_reason)
{
	struct builder b = {.buf = out->name, .cap = RD_NAME_MAX};
	const char *reason;
	int err;

	put_mem(&b, parts->sips ? "sips:" : "sip:", parts->sips ? 5 : 4);
	if (parts->has_userinfo) {
		/* user-unreserved: "&=+$,;?/" */
		put_userinfo_part(&b, parts->user, "&=+$,;?/", NULL);
		if (parts->has_password) {
			put_char(&b, ':');
			reason = put_userinfo_part(&b, parts->password, "&=+$,", REASON_PASSWORD);
			if (reason != NULL) {
				*ret_reason = reason;
				return -EINVAL;
			}
		}
		put_char(&b, '@');
	}
	err = put_hostport(&b, parts->hostport, out->host, ret_reason);
	if (err < 0)
		return err;
	reason = check_tail(parts);
	if (reason != NULL) {
		*ret_reason = reason;
		return -EINVAL;
	}
	if (b.len > b.cap)
		return -ENAMETOOLONG;
	b.buf[b.len] = '\0';
	out->instance[0] = '\0';
	return 0;
}

int sip_aor_normalize(const char *uri, struct rd_name *ret, const char **ret_reason)
{
	struct sip_parts parts = {0};
	struct rd_name out;
	const char *rest = NULL;
	const char *reason = check_bytes(uri);
	int err;

	if (reason == NULL)
		reason = split_scheme(uri, &parts, &rest);
	if (reason == NULL)
		reason = split_rest(rest, &parts);
	if (reason != NULL) {
		*ret_reason = reason;
		return -EINVAL;
	}
	err = build(&parts, &out, &reason);
	if (err == -EINVAL)
		*ret_reason = reason;
	if (err < 0)
		return err;
	memcpy(ret->name, out.name, strlen(out.name) + 1);
	memcpy(ret->host, out.host, strlen(out.host) + 1);
	ret->instance[0] = '\0';
	return 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Normalization of h323: URLs (RFC 3508) to the address of record that keys the DHT. */
#include "plugins/h323/h323.h"
#include "plugins/common/escape.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/*
 * The grammar (RFC 3508 section 2) is
 *     H323-URL = "h323:" address [ url-parameters ]
 *     address  = user / "@" hostport / user "@" hostport
 * and the decisions this file takes on it:
 *  - The scheme and the host are case-insensitive: "The host is case
 *    insensitive" (section 2) is the only case rule RFC 3508 states, so the
 *    user part (the alias) keeps its case: h323:Carol@x and h323:carol@x are
 *    different names.
 *  - Escapes: the alias is the decoded string ("escaped" may stand for any
 *    character), so every escape is decoded and the alias is written back
 *    with RFC 3986 unreserved and sub-delims characters as they are, and every
 *    other byte as %XX in upper-case hex. A raw ';' ends the address (it
 *    starts the url-parameters): an alias holding ';' must escape it.
 *  - Port: 1720, the H.225.0 call-signalling port, is what a URL without a
 *    port reaches; RFC 3508 defines no other meaning for it, so ":1720" is
 *    dropped (the core's RFC 3986 rule for h323 did the same). An empty port
 *    ("host:") is no port (RFC 3986 section 6.2.3). Port 0 is rejected.
 *  - url-parameters are "for further study" (section 2): they are checked
 *    against the grammar and dropped; they do not name another entity.
 *  - "h323:alias" without a host is valid (address = user) and has no
 *    domain: rd_name.host is "". "h323:@host" names the host's own entity
 *    (a gatekeeper or endpoint) and keeps its '@': "h323:host" would be an
 *    alias. "h323:" and "h323:alias@" are rejected.
 *  - A host is a hostname (lower-cased, one trailing dot removed, the last
 *    label starting with a letter), an IPv4 address (no leading zeros) or a
 *    bracketed IPv6 address (written back in RFC 5952 form).
 */

static const char R_SCHEME[] = "not an h323: URL";
static const char R_RAW[] = "spaces, control characters and non-ASCII bytes must be percent-encoded in an H.323 URL "
			    "(RFC 3508 section 2)";
static const char R_EMPTY[] = "an H.323 URL needs an alias, '@' and a host, or both (RFC 3508 section 2)";
static const char R_ESCAPE[] = "invalid percent-encoding: '%' must be followed by two hex digits";
static const char R_NO_HOST[] = "missing host after '@'";
static const char R_HOST[] = "invalid host: a hostname's labels are letters, digits and '-', and its last label "
			     "starts with a letter (RFC 3508 section 2)";
static const char R_IPV4[] = "invalid IPv4 address in host";
static const char R_IPV6[] = "invalid IPv6 reference in host: it must be '[' an IPv6 address ']'";
static const char R_PORT[] = "invalid port: it must be a number from 1 to 65535";
static const char R_PARAM[] = "invalid url-parameter: parameters are one or more characters between ';' "
			      "(RFC 3508 section 2)";

/** Text built in a caller's buffer; overflow is sticky. */
struct text {
	char *buf;     /**< borrowed, cap bytes */
	size_t len;
	size_t cap;
	bool overflow; /**< something did not fit */
};

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

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/** The bytes an alias is written back with as they are: RFC 3986 unreserved and sub-delims but ';'. */
static bool alias_keeps(unsigned char c)
{
	return is_alpha((char)c) || is_digit((char)c) || (c != 0 && strchr("-._~!$&'()*+,=", c) != NULL);
}

/** Append the canonical form of the alias [s, end) (raw bytes already checked). */
static int put_alias(struct text *t, const char *s, const char *end, const char **ret_reason)
{
	static const char hex[] = "0123456789ABCDEF";

	while (s < end) {
		int c = (unsigned char)*s;

		if (c == '%') {
			c = esc_decode(s, end);
			if (c < 0) {
				*ret_reason = R_ESCAPE;
				return -EINVAL;
			}
			s += 3;
		} else {
			s++;
		}
		if (alias_keeps((unsigned char)c)) {
			text_putc(t, (char)c);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

			text_put(t, esc, sizeof(esc));
		}
	}
	return 0;
}

/** Check one hostname label [s, end): letters, digits, inner '-'; at most 63 bytes. */
static bool label_ok(const char *s, const char *end)
{
	if (end <= s || end - s > 63 || s[0] == '-' || end[-1] == '-')
		return false;
	for (const char *p = s; p < end; p++) {
		if (!is_alpha(*p) && !is_digit(*p) && *p != '-')
			return false;
	}
	return true;
}

/** Check and lower-case the hostname [s, end) into @p out (RD_HOST_MAX + 1 bytes). */
static int put_hostname(char *out, const char *s, const char *end, const char **ret_reason)
{
	const char *label = s, *last = s;

	if (end > s && end[-1] == '.')
		end--;
	if (end - s > RD_HOST_MAX)
		return -ENAMETOOLONG;
	for (const char *p = s; p <= end; p++) {
		if (p < end && *p != '.')
			continue;
		if (!label_ok(label, p)) {
			*ret_reason = R_HOST;
			return -EINVAL;
		}
		last = label;
		label = p + 1;
	}
	if (!is_alpha(*last)) {
		*ret_reason = R_HOST;
		return -EINVAL;
	}
	for (size_t i = 0; i < (size_t)(end - s); i++)
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	out[end - s] = '\0';
	return 0;
}

/** Check the address literal [s, end) of family @p af and write its canonical text to @p out. */
static int put_address(int af, char *out, const char *s, const char *end)
{
	char tmp[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];

	if ((size_t)(end - s) >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, (size_t)(end - s));
	tmp[end - s] = '\0';
	if (inet_pton(af, tmp, bin) != 1 || inet_ntop(af, bin, out, RD_HOST_MAX + 1) == NULL)
		return -EINVAL;
	return 0;
}

static bool all_digits_and_dots(const char *s, const char *end)
{
	for (const char *p = s; p < end; p++) {
		if (!is_digit(*p) && *p != '.')
			return false;
	}
	return true;
}

/** Parse the port [s, end) ("" is no port). @return 0 and *ret_port (0 when absent), -EINVAL. */
static int parse_port(const char *s, const char *end, unsigned *ret_port)
{
	unsigned port = 0;

	for (const char *p = s; p < end; p++) {
		if (!is_digit(*p))
			return -EINVAL;
		port = port * 10 + (unsigned)(*p - '0');
		if (port > 65535)
			return -EINVAL;
	}
	if (end > s && port == 0)
		return -EINVAL;
	*ret_port = port;
	return 0;
}

/** The parts of a hostport. */
struct hostport {
	char host[RD_HOST_MAX + 1]; /**< canonical host, no brackets */
	bool ipv6;                  /**< host is an IPv6 address: write it in brackets */
	unsigned port;              /**< 0: none (or the default, dropped) */
};

/** Parse the hostport [s, end) into @p ret. */
static int parse_hostport(const char *s, const char *end, struct hostport *ret, const char **ret_reason)
{
	const char *host_end, *colon;
	int err;

	if (s == end) {
		*ret_reason = R_NO_HOST;
		return -EINVAL;
	}
	if (*s == '[') {
		host_end = memchr(s, ']', (size_t)(end - s));
		if (host_end == NULL || put_address(AF_INET6, ret->host, s + 1, host_end) < 0) {
			*ret_reason = R_IPV6;
			return -EINVAL;
		}
		ret->ipv6 = true;
		colon = ++host_end;
		if (colon < end && *colon != ':') {
			*ret_reason = R_IPV6;
			return -EINVAL;
		}
	} else {
		colon = memchr(s, ':', (size_t)(end - s));
		host_end = colon != NULL ? colon : end;
		if (host_end == s) {
			*ret_reason = R_NO_HOST;
			return -EINVAL;
		}
		if (all_digits_and_dots(s, host_end)) {
			if (put_address(AF_INET, ret->host, s, host_end) < 0) {
				*ret_reason = R_IPV4;
				return -EINVAL;
			}
		} else {
			err = put_hostname(ret->host, s, host_end, ret_reason);
			if (err < 0)
				return err;
		}
		ret->ipv6 = false;
	}
	ret->port = 0;
	if (colon != NULL && colon < end && parse_port(colon + 1, end, &ret->port) < 0) {
		*ret_reason = R_PORT;
		return -EINVAL;
	}
	if (ret->port == H323_DEFAULT_PORT)
		ret->port = 0;
	return 0;
}

/** Check the url-parameters [s, end), each after a ';': non-empty, valid escapes. */
static int check_params(const char *s, const char *end, const char **ret_reason)
{
	while (s < end) {
		const char *p = ++s; /* past ';' */

		while (p < end && *p != ';') {
			if (*p == '%' && esc_decode(p, end) < 0) {
				*ret_reason = R_ESCAPE;
				return -EINVAL;
			}
			p++;
		}
		if (p == s) {
			*ret_reason = R_PARAM;
			return -EINVAL;
		}
		s = p;
	}
	return 0;
}

/** Every byte must be printable ASCII (0x21..0x7E); escapes are checked where they are decoded. */
static bool all_printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	}
	return true;
}

/** Write "h323:" alias ["@" host [":" port]] into @p t. */
static int build_name(struct text *t, const char *user, const char *user_end, const struct hostport *hp,
		      const char **ret_reason)
{
	char port[12];
	int err;

	text_put(t, "h323:", 5);
	err = put_alias(t, user, user_end, ret_reason);
	if (err < 0 || hp == NULL)
		return err;
	text_putc(t, '@');
	if (hp->ipv6)
		text_putc(t, '[');
	text_put(t, hp->host, strlen(hp->host));
	if (hp->ipv6)
		text_putc(t, ']');
	if (hp->port != 0) {
		int n = snprintf(port, sizeof(port), ":%u", hp->port);

		text_put(t, port, (size_t)n);
	}
	return 0;
}

int h323_normalize(void *state, const char *uri, struct rd_name *ret, const char **ret_reason)
{
	char name[RD_NAME_MAX + 1];
	struct text t = {name, 0, sizeof(name), false};
	struct hostport hp;
	const char *user, *end, *params, *at;
	int err;

	(void)state;
	if (strncasecmp(uri, "h323:", 5) != 0) {
		*ret_reason = R_SCHEME;
		return -EINVAL;
	}
	if (!all_printable(uri)) {
		*ret_reason = R_RAW;
		return -EINVAL;
	}
	user = uri + 5;
	end = user + strlen(user);
	params = strchr(user, ';');
	if (params == NULL)
		params = end;
	at = memchr(user, '@', (size_t)(params - user));
	if (at == NULL && params == user) {
		*ret_reason = R_EMPTY;
		return -EINVAL;
	}
	if (at != NULL) {
		err = parse_hostport(at + 1, params, &hp, ret_reason);
		if (err < 0)
			return err;
	}
	err = check_params(params, end, ret_reason);
	if (err == 0)
		err = build_name(&t, user, at != NULL ? at : params, at != NULL ? &hp : NULL, ret_reason);
	if (err < 0)
		return err;
	if (t.overflow)
		return -ENAMETOOLONG;
	memcpy(ret->name, name, t.len + 1);
	strcpy(ret->host, at != NULL ? hp.host : "");
	ret->instance[0] = '\0';
	return 0;
}

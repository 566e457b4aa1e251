/* SPDX-License-Identifier: GPL-3.0-or-later */
/* XMPP addresses: RFC 5122 URI parsing and RFC 6122 preparation (libidn) of a JID's three parts. */
#include "plugins/xmpp/jid.h"
#include "plugins/common/escape.h"

#include <arpa/inet.h>
#include <errno.h>
#include <idna.h>
#include <stringprep.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

_Static_assert(RD_NAME_MAX == 512 && RD_INSTANCE_MAX == 128 && RD_HOST_MAX == 253,
	       "the reason strings below spell these limits out");

#define REASON_SCHEME "not an xmpp: URI"
#define REASON_CONTROL "spaces and control characters are not allowed in a URI: percent-encode them"
#define REASON_BAD_CHAR "character not allowed in an xmpp: URI (RFC 5122): percent-encode it"
#define REASON_BAD_ESCAPE "invalid percent-encoding: '%' must be followed by two hex digits"
#define REASON_UTF8 "the URI is not valid UTF-8"
#define REASON_NUL "a JID cannot contain a NUL character (%00)"
#define REASON_AUTH_ONLY \
	"the authority of xmpp:// names the sending account: the JID to resolve must follow it after '/'"
#define REASON_NO_DOMAIN "the JID has no domain"
#define REASON_EMPTY_NODE "the JID has '@' but an empty localpart"
#define REASON_EMPTY_RES "the JID has '/' but an empty resource"
#define REASON_NODE_PROHIBITED \
	"the localpart contains a character nodeprep prohibits (RFC 6122: spaces, controls, \"&'/:<>@ and others)"
#define REASON_NODE_UNASSIGNED "the localpart contains a code point unassigned in Unicode 3.2 (RFC 3454)"
#define REASON_NODE_BIDI "the localpart mixes right-to-left and left-to-right text as RFC 3454 section 6 forbids"
#define REASON_NODE_EMPTY "the localpart is empty once nodeprep has mapped it"
#define REASON_RES_PROHIBITED "the resource contains a character resourceprep prohibits (RFC 6122: controls and others)"
#define REASON_RES_BIDI "the resource mixes right-to-left and left-to-right text as RFC 3454 section 6 forbids"
#define REASON_RES_EMPTY "the resource is empty once resourceprep has mapped it"
#define REASON_DOM_PREP \
	"the domain contains a character nameprep prohibits or one unassigned in Unicode 3.2 (RFC 3490, 3491)"
#define REASON_DOM_LDH "the domain may hold only letters, digits, '-' and '.' (no port, no '_')"
#define REASON_DOM_MINUS "a domain label cannot begin or end with '-'"
#define REASON_DOM_LABEL "a domain label is empty or longer than 63 bytes"
#define REASON_DOM_IDNA "the domain cannot be converted to ASCII (IDNA ToASCII failed)"
#define REASON_DOM_LITERAL "invalid IP literal: only a bracketed IPv6 address is allowed"
#define REASON_NODE_LONG "the localpart is longer than 1023 bytes (RFC 6122)"
#define REASON_DOM_LONG "the domain is longer than 253 bytes"
#define REASON_RES_LONG "the resource is longer than 128 bytes, the longest instance id resolverd stores"
#define REASON_NAME_LONG "the normalized JID is longer than 512 bytes"

/** Borrowed slices of the input: the JID's three parts, still percent-encoded. */
struct jid_split {
	const char *node;   /**< NULL when the JID has no '@' */
	size_t node_len;
	const char *domain;
	size_t domain_len;
	const char *res;    /**< NULL when the JID has no '/' */
	size_t res_len;
};

/** The prepared parts. Strings are owned (heap) and freed by jid_prep_free(). */
struct jid_prep {
	char *node;                   /**< nodeprep'd UTF-8, or NULL */
	char domain[RD_HOST_MAX + 3]; /**< ASCII, with brackets for an IPv6 literal */
	char host[RD_HOST_MAX + 1];   /**< domain without brackets */
	char *res;                    /**< resourceprep'd UTF-8, or NULL */
};

static bool is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/** Length of the UTF-8 sequence at @p s (at most @p n bytes), or 0 if it is not valid UTF-8. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 (RFC 3629). */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq(p + i, n - i);

		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

/** Check every byte of the URI. @return NULL, or the reason it is refused. */
static const char *check_chars(const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c < 0x21 || c == 0x7f)
			return REASON_CONTROL;
		if (c < 0x80 && strchr("\"<>\\^`{|}", c) != NULL)
			return REASON_BAD_CHAR;
		/* in is NUL-terminated, so a truncated escape fails on the NUL. */
		if (c == '%' && (esc_hex_value(in[i + 1]) < 0 || esc_hex_value(in[i + 2]) < 0))
			return REASON_BAD_ESCAPE;
	}
	return utf8_valid(in, len) ? NULL : REASON_UTF8;
}

static bool has_bracket(const char *s, size_t n)
{
	return s != NULL && (memchr(s, '[', n) != NULL || memchr(s, ']', n) != NULL);
}

/**
 * Split the part after "xmpp:" into the JID's parts (RFC 6122 section 2.1:
 * the first '/' starts the resource, the first '@' before it ends the node).
 * @return NULL, or the reason it is refused.
 */
static const char *split_jid(const char *rest, struct jid_split *ret)
{
	size_t end = strcspn(rest, "?#");
	const char *slash, *at;

	*ret = (struct jid_split){0};
	if (end >= 2 && rest[0] == '/' && rest[1] == '/') {
		const char *path = memchr(rest + 2, '/', end - 2);

		if (path == NULL)
			return REASON_AUTH_ONLY;
		end -= (size_t)(path + 1 - rest);
		rest = path + 1;
	}
	slash = memchr(rest, '/', end);
	if (slash != NULL) {
		ret->res = slash + 1;
		ret->res_len = end - (size_t)(slash + 1 - rest);
		end = (size_t)(slash - rest);
	}
	at = memchr(rest, '@', end);
	if (at != NULL) {
		ret->node = rest;
		ret->node_len = (size_t)(at - rest);
		end -= ret->node_len + 1;
		rest = at + 1;
	}
	ret->domain = rest;
	ret->domain_len = end;
	/* Brackets are for an IP literal domain only (RFC 3986 3.2.2). */
	if (has_bracket(ret->node, ret->node_len) || has_bracket(ret->res, ret->res_len))
		return REASON_BAD_CHAR;
	if (ret->domain_len == 0)
		return REASON_NO_DOMAIN;
	if (ret->node != NULL && ret->node_len == 0)
		return REASON_EMPTY_NODE;
	if (ret->res != NULL && ret->res_len == 0)
		return REASON_EMPTY_RES;
	return NULL;
}

/**
 * Percent-decode @p n bytes (escapes already checked) into a new string.
 * @param[out] ret owned by the caller on success.
 * @return 0, -EINVAL (NUL or bad UTF-8, *reason set), -ENOMEM.
 */
static int decode(const char *s, size_t n, char **ret, const char **reason)
{
	char *out = malloc(n + 1);
	size_t len = 0;

	if (out == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			c = (char)(esc_hex_value(s[i + 1]) << 4 | esc_hex_value(s[i + 2]));
			i += 2;
		}
		out[len++] = c;
	}
	out[len] = '\0';
	*reason = memchr(out, '\0', len) != NULL ? REASON_NUL : !utf8_valid(out, len) ? REASON_UTF8 : NULL;
	if (*reason != NULL) {
		free(out);
		return -EINVAL;
	}
	*ret = out;
	return 0;
}

/** A stringprep failure as a reason, for the localpart (@p node) or the resource. */
static const char *prep_reason(int rc, bool node)
{
	switch (rc) {
	case STRINGPREP_CONTAINS_UNASSIGNED:
		return REASON_NODE_UNASSIGNED;
	case STRINGPREP_BIDI_BOTH_L_AND_RAL:
	case STRINGPREP_BIDI_LEADTRAIL_NOT_RAL:
	case STRINGPREP_BIDI_CONTAINS_PROHIBITED:
		return node ? REASON_NODE_BIDI : REASON_RES_BIDI;
	case STRINGPREP_ICONV_ERROR:
	case STRINGPREP_NFKC_FAILED:
		return REASON_UTF8;
	default:
		return node ? REASON_NODE_PROHIBITED : REASON_RES_PROHIBITED;
	}
}

/**
 * Decode and prepare the localpart (@p node) or the resource with libidn.
 * @param[out] ret owned by the caller on success.
 * @return 0, -EINVAL, -ENAMETOOLONG (*reason set), -ENOMEM.
 */
static int prep_part(const char *s, size_t n, bool node, char **ret, const char **reason)
{
	char *raw = NULL, *out = NULL;
	int err = decode(s, n, &raw, reason);
	int rc;

	if (err < 0)
		return err;
	/* The localpart is identity: refuse what a newer Unicode might map differently (RFC 6122 3.1). */
	rc = stringprep_profile(raw, &out, node ? "Nodeprep" : "Resourceprep", node ? STRINGPREP_NO_UNASSIGNED : 0);
	free(raw);
	if (rc == STRINGPREP_MALLOC_ERROR)
		return -ENOMEM;
	if (rc != STRINGPREP_OK) {
		free(out);
		*reason = prep_reason(rc, node);
		return -EINVAL;
	}
	if (out[0] == '\0')
		*reason = node ? REASON_NODE_EMPTY : REASON_RES_EMPTY;
	else if (strlen(out) > (node ? JID_PART_MAX : RD_INSTANCE_MAX))
		*reason = node ? REASON_NODE_LONG : REASON_RES_LONG;
	if (*reason != NULL) {
		err = out[0] == '\0' ? -EINVAL : -ENAMETOOLONG;
		free(out);
		return err;
	}
	*ret = out;
	return 0;
}

/** Check and canonicalize a bracketed IPv6 literal [@p s, @p s + @p n). @return NULL or a reason. */
static const char *prep_literal(const char *s, size_t n, struct jid_prep *p)
{
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr a6;

	if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof(addr))
		return REASON_DOM_LITERAL;
	memcpy(addr, s + 1, n - 2);
	addr[n - 2] = '\0';
	if (inet_pton(AF_INET6, addr, &a6) != 1 || inet_ntop(AF_INET6, &a6, p->host, sizeof(p->host)) == NULL)
		return REASON_DOM_LITERAL;
	snprintf(p->domain, sizeof(p->domain), "[%s]", p->host);
	return NULL;
}

/** An IDNA ToASCII failure as a reason. */
static const char *idna_reason(int rc)
{
	switch (rc) {
	case IDNA_STRINGPREP_ERROR:
		return REASON_DOM_PREP;
	case IDNA_CONTAINS_NON_LDH:
		return REASON_DOM_LDH;
	case IDNA_CONTAINS_MINUS:
		return REASON_DOM_MINUS;
	case IDNA_INVALID_LENGTH:
		return REASON_DOM_LABEL;
	case IDNA_ICONV_ERROR:
		return REASON_UTF8;
	default:
		return REASON_DOM_IDNA;
	}
}

/**
 * Check an ASCII domain from ToASCII: drop one trailing dot, refuse empty
 * labels, lower-case, copy into @p p. @return 0, -EINVAL, -ENAMETOOLONG.
 */
static int finish_domain(char *ascii, struct jid_prep *p, const char **reason)
{
	size_t len = strlen(ascii);

	if (len > 0 && ascii[len - 1] == '.')
		ascii[--len] = '\0';
	if (len == 0)
		*reason = REASON_NO_DOMAIN;
	else if (ascii[0] == '.' || strstr(ascii, "..") != NULL)
		*reason = REASON_DOM_LABEL;
	else if (len > RD_HOST_MAX)
		*reason = REASON_DOM_LONG;
	if (*reason != NULL)
		return len > RD_HOST_MAX ? -ENAMETOOLONG : -EINVAL;
	for (size_t i = 0; i < len; i++)
		p->host[i] = ascii[i] >= 'A' && ascii[i] <= 'Z' ? (char)(ascii[i] - 'A' + 'a') : ascii[i];
	p->host[len] = '\0';
	memcpy(p->domain, p->host, len + 1);
	return 0;
}

/**
 * Decode and prepare the domainpart: ToASCII with STD3 rules, so that an IDN
 * and its punycode spelling give one name (and one DNS name for the fallback).
 * @return 0, -EINVAL, -ENAMETOOLONG (*reason set), -ENOMEM.
 */
static int prep_domain(const char *s, size_t n, struct jid_prep *p, const char **reason)
{
	char *raw = NULL, *ascii = NULL;
	int err, rc;

	if (s[0] == '[') {
		*reason = prep_literal(s, n, p);
		return *reason != NULL ? -EINVAL : 0;
	}
	err = decode(s, n, &raw, reason);
	if (err < 0)
		return err;
	if (strlen(raw) > JID_PART_MAX) {
		free(raw);
		*reason = REASON_DOM_LONG;
		return -ENAMETOOLONG;
	}
	rc = idna_to_ascii_8z(raw, &ascii, IDNA_USE_STD3_ASCII_RULES);
	free(raw);
	if (rc == IDNA_MALLOC_ERROR)
		return -ENOMEM;
	if (rc != IDNA_SUCCESS) {
		free(ascii);
		*reason = idna_reason(rc);
		return -EINVAL;
	}
	err = finish_domain(ascii, p, reason);
	free(ascii);
	return err;
}

static void jid_prep_free(struct jid_prep *p)
{
	free(p->node);
	free(p->res);
}

/** Append @p s to @p buf (capacity @p cap) at *len, encoding what RFC 5122's nodeid does not allow raw. */
static void put_node(char *buf, size_t cap, size_t *len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (is_unreserved(c) || strchr("!$()*+,;=", c) != NULL) {
			if (*len + 1 < cap)
				buf[*len] = (char)c;
			*len += 1;
		} else {
			if (*len + 3 < cap)
				snprintf(buf + *len, 4, "%%%c%c", hex[c >> 4], hex[c & 0xf]);
			*len += 3;
		}
	}
}

/** Build ret from the prepared parts. @return 0, -ENAMETOOLONG. */
static int build_name(const struct jid_prep *p, struct rd_name *ret, const char **reason)
{
	size_t len = strlen("xmpp:");

	memcpy(ret->name, "xmpp:", len + 1);
	if (p->node != NULL) {
		put_node(ret->name, sizeof(ret->name), &len, p->node);
		if (len + 1 < sizeof(ret->name))
			ret->name[len] = '@';
		len++;
	}
	if (len + strlen(p->domain) > RD_NAME_MAX) {
		*reason = REASON_NAME_LONG;
		return -ENAMETOOLONG;
	}
	memcpy(ret->name + len, p->domain, strlen(p->domain) + 1);
	memcpy(ret->host, p->host, strlen(p->host) + 1);
	ret->instance[0] = '\0';
	if (p->res != NULL)
		memcpy(ret->instance, p->res, strlen(p->res) + 1);
	return 0;
}

int jid_normalize(const char *uri, struct rd_name *ret, const char **ret_reason)
{
	struct jid_prep p = {0};
	struct jid_split js;
	struct rd_name out;
	const char *reason = NULL;
	int err = -EINVAL;

	if (strncasecmp(uri, "xmpp:", 5) != 0)
		reason = REASON_SCHEME;
	else if ((reason = check_chars(uri, strlen(uri))) == NULL)
		reason = split_jid(uri + 5, &js);
	if (reason != NULL)
		goto out;
	if (js.node != NULL && (err = prep_part(js.node, js.node_len, true, &p.node, &reason)) < 0)
		goto out;
	if ((err = prep_domain(js.domain, js.domain_len, &p, &reason)) < 0)
		goto out;
	if (js.res != NULL && (err = prep_part(js.res, js.res_len, false, &p.res, &reason)) < 0)
		goto out;
	err = build_name(&p, &out, &reason);
	if (err == 0)
		*ret = out;
out:
	jid_prep_free(&p);
	if (err < 0 && reason != NULL)
		*ret_reason = reason;
	return err;
}

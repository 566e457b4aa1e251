/* SPDX-License-Identifier: GPL-3.0-or-later */
/* URI normalization: the scheme registry and the generic RFC 3986 (6.2.2, 6.2.3) normalizer. */
#include "resolverd/core/uri.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URI_MAX_NORMALIZERS 32

_Static_assert(URI_MAX_LEN == 512, "the reason strings below say 512");

#define REASON_TOO_LONG "URI longer than 512 bytes"
#define REASON_NO_SCHEME "missing scheme"
#define REASON_BAD_SCHEME "invalid scheme: it must be a letter followed by letters, digits, '+', '-' or '.'"
#define REASON_CONTROL "control characters and spaces are not allowed in a URI"
#define REASON_NON_ASCII "URIs are ASCII (RFC 3986): percent-encode other characters"
#define REASON_BAD_CHAR "character not allowed in a URI (RFC 3986): percent-encode it"
#define REASON_FRAGMENT "fragments are not part of a URI's identity"
#define REASON_BAD_ESCAPE "invalid percent-encoding: '%' must be followed by two hex digits"
#define REASON_BAD_PORT "invalid port: it must be a number from 0 to 65535"
#define REASON_BAD_HOST "invalid character in host"
#define REASON_BAD_LITERAL "invalid IP literal in host"
#define REASON_BAD_USERINFO "invalid character in userinfo"
#define REASON_NO_HOST "missing host after '@'"
#define REASON_NO_URI "the scheme's normalizer returned no URI"
#define REASON_PATH_SLASHES "a path without an authority cannot begin with '//' once its dot-segments are removed"

/* Written only at start-up, before threads start; read-only afterwards. */
static const struct uri_normalizer *registry[URI_MAX_NORMALIZERS];
static size_t registry_len;

/** Default ports, dropped from normalized URIs. Schemes are lower-case. */
static const struct {
	const char *scheme;
	const char *port;
} default_ports[] = {
	{"http", "80"},   {"https", "443"}, {"ws", "80"},      {"wss", "443"},   {"sip", "5060"},
	{"sips", "5061"}, {"xmpp", "5222"}, {"h323", "1720"}, {"ftp", "21"},
};

/** Authority-less schemes shaped "scheme:user@host...", whose host is case-insensitive. */
static const char *const at_host_schemes[] = {"sip", "sips", "xmpp", "h323", "mailto", "im", "pres"};

/** Appends to a buffer sized in advance; len may run past cap, which callers treat as too long. */
struct builder {
	char *buf; /**< owned by the caller */
	size_t len;
	size_t cap;
};

/** The state of one generic normalization. */
struct norm {
	size_t scheme_len;  /**< the lower-case scheme is out.buf[0..scheme_len) */
	struct builder out; /**< the normalized URI being built */
	char *scratch;      /**< owned; room for one escape-normalized path */
	size_t host_off;    /**< host (no brackets) in out.buf; valid if host_len > 0 */
	size_t host_len;
	const char *reason; /**< static; set on failure */
};

/** A "host[:port]" piece of the input, split and checked. */
struct hostport {
	const char *host; /**< borrowed, without brackets */
	size_t host_len;
	bool literal;     /**< host was "[...]" */
	const char *port; /**< borrowed digits without leading zeros; NULL if none or empty */
	size_t port_len;
};

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_unreserved(char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delim(char c)
{
	return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

static bool is_uri_char(char c)
{
	return is_unreserved(c) || is_sub_delim(c) || (c != '\0' && strchr(":/?#[]@%", c) != NULL);
}

/** Length of the scheme of @p in (up to its first ':'), or 0 if it has no valid scheme. */
static size_t scheme_length(const char *in)
{
	size_t i;

	if (!is_alpha(in[0]))
		return 0;
	for (i = 1; in[i] != ':'; i++) {
		if (!is_alpha(in[i]) && !is_digit(in[i]) && in[i] != '+' && in[i] != '-' && in[i] != '.')
			return 0;
	}
	return i;
}

/** Check every byte of @p in. @return NULL, or the reason it is not a URI. */
static const char *check_chars(const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x80)
			return REASON_NON_ASCII;
		if (c < 0x21 || c == 0x7f)
			return REASON_CONTROL;
		if (c == '#')
			return REASON_FRAGMENT;
		if (!is_uri_char((char)c))
			return REASON_BAD_CHAR;
		/* in is NUL-terminated, so a truncated escape fails on the NUL. */
		if (c == '%' && (hex_value(in[i + 1]) < 0 || hex_value(in[i + 2]) < 0))
			return REASON_BAD_ESCAPE;
	}
	return NULL;
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

/**
 * Append @p n bytes of already-checked input, decoding escapes of unreserved
 * characters and upper-casing the hex digits of the others; @p lower also
 * lower-cases every literal (or decoded) character.
 */
static void put_escaped(struct builder *b, const char *s, size_t n, bool lower)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int v = hex_value(s[i + 1]) << 4 | hex_value(s[i + 2]);

			i += 2;
			if (!is_unreserved((char)v)) {
				put_char(b, '%');
				put_char(b, hex[v >> 4]);
				put_char(b, hex[v & 0xf]);
				continue;
			}
			c = (char)v;
		}
		put_char(b, lower ? ascii_lower(c) : c);
	}
}

/** Remove the last segment, and the '/' before it, from the path that starts at @p start. */
static void pop_segment(struct builder *b, size_t start)
{
	while (b->len > start && b->buf[b->len - 1] != '/')
		b->len--;
	if (b->len > start)
		b->len--;
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t len = strlen(prefix);

	return n >= len && memcmp(s, prefix, len) == 0;
}

/** RFC 3986 section 5.2.4 on the path @p in (modified in place), appended to @p b. */
static void remove_dot_segments(struct builder *b, char *in, size_t n)
{
	const size_t start = b->len;
	size_t i = 0;

	while (i < n) {
		const char *s = in + i;
		size_t left = n - i;

		if (has_prefix(s, left, "../")) {
			i += 3;
		} else if (has_prefix(s, left, "./") || has_prefix(s, left, "/./")) {
			i += 2;
		} else if (left == 2 && has_prefix(s, left, "/.")) {
			in[i + 1] = '/';
			i += 1;
		} else if (has_prefix(s, left, "/../")) {
			i += 3;
			pop_segment(b, start);
		} else if (left == 3 && has_prefix(s, left, "/..")) {
			in[i + 2] = '/';
			i += 2;
			pop_segment(b, start);
		} else if ((left == 1 && s[0] == '.') || (left == 2 && has_prefix(s, left, ".."))) {
			i = n;
		} else {
			const char *next = memchr(s + 1, '/', left - 1);
			size_t seg = next != NULL ? (size_t)(next - s) : left;

			put_mem(b, s, seg);
			i += seg;
		}
	}
}

/** Append the escape-normalized path @p p (length @p n) with its dot-segments removed. */
static void put_hier_path(struct norm *nm, const char *p, size_t n)
{
	struct builder tmp = {.buf = nm->scratch, .cap = n};

	put_escaped(&tmp, p, n, false);
	remove_dot_segments(&nm->out, nm->scratch, tmp.len);
}

/** Check that every character of @p s is unreserved, a sub-delim, an escape or in @p extra. */
static bool chars_in(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++) {
		if (!is_unreserved(s[i]) && !is_sub_delim(s[i]) && s[i] != '%' &&
		    memchr(extra, s[i], strlen(extra)) == NULL)
			return false;
	}
	return true;
}

/** Check a port's digits and set hp->port to them without leading zeros (NULL if empty). */
static bool parse_port(const char *s, size_t n, struct hostport *hp)
{
	unsigned long value = 0;

	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		value = value * 10 + (unsigned long)(s[i] - '0');
		if (value > 65535)
			return false;
	}
	while (n > 1 && s[0] == '0') {
		s++;
		n--;
	}
	hp->port = s;
	hp->port_len = n;
	return true;
}

/** Split "host[:port]" (host may be an IP literal in brackets). @return NULL or a reason. */
static const char *split_hostport(const char *s, size_t n, struct hostport *ret)
{
	const char *end = s + n;
	const char *rest;

	*ret = (struct hostport){.host = s};
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (close == NULL || close == s + 1 || (close + 1 < end && close[1] != ':'))
			return REASON_BAD_LITERAL;
		ret->host = s + 1;
		ret->host_len = (size_t)(close - s - 1);
		ret->literal = true;
		rest = close + 1;
		if (!chars_in(ret->host, ret->host_len, ":"))
			return REASON_BAD_LITERAL;
	} else {
		const char *colon = memchr(s, ':', n);

		rest = colon != NULL ? colon : end;
		ret->host_len = (size_t)(rest - s);
		if (!chars_in(s, ret->host_len, ""))
			return REASON_BAD_HOST;
	}
	if (rest < end && !parse_port(rest + 1, (size_t)(end - rest - 1), ret))
		return REASON_BAD_PORT;
	return NULL;
}

static bool is_default_port(const struct norm *nm, const struct hostport *hp)
{
	for (size_t i = 0; i < sizeof(default_ports) / sizeof(default_ports[0]); i++) {
		if (strlen(default_ports[i].scheme) == nm->scheme_len &&
		    memcmp(default_ports[i].scheme, nm->out.buf, nm->scheme_len) == 0)
			return strlen(default_ports[i].port) == hp->port_len &&
			       memcmp(default_ports[i].port, hp->port, hp->port_len) == 0;
	}
	return false;
}

/** Append the host lower-cased, and the port unless it is the scheme's default. */
static void put_hostport(struct norm *nm, const struct hostport *hp)
{
	if (hp->literal)
		put_char(&nm->out, '[');
	nm->host_off = nm->out.len;
	put_escaped(&nm->out, hp->host, hp->host_len, true);
	nm->host_len = nm->out.len - nm->host_off;
	if (hp->literal)
		put_char(&nm->out, ']');
	if (hp->port != NULL && !is_default_port(nm, hp)) {
		put_char(&nm->out, ':');
		put_mem(&nm->out, hp->port, hp->port_len);
	}
}

/** Append the authority [@p a, @p end) after "//". @return 0 or -EINVAL with nm->reason. */
static int put_authority(struct norm *nm, const char *a, const char *end)
{
	const char *at = memrchr(a, '@', (size_t)(end - a));
	const char *host = at != NULL ? at + 1 : a;
	struct hostport hp;

	if (at != NULL && !chars_in(a, (size_t)(at - a), ":"))
		nm->reason = REASON_BAD_USERINFO;
	else
		nm->reason = split_hostport(host, (size_t)(end - host), &hp);
	if (nm->reason != NULL)
		return -EINVAL;
	put_mem(&nm->out, "//", 2);
	if (at != NULL) {
		put_escaped(&nm->out, a, (size_t)(at - a), false);
		put_char(&nm->out, '@');
	}
	put_hostport(nm, &hp);
	return 0;
}

static bool scheme_has_at_host(const struct norm *nm)
{
	for (size_t i = 0; i < sizeof(at_host_schemes) / sizeof(at_host_schemes[0]); i++) {
		if (strlen(at_host_schemes[i]) == nm->scheme_len &&
		    memcmp(at_host_schemes[i], nm->out.buf, nm->scheme_len) == 0)
			return true;
	}
	return false;
}

/**
 * Append an authority-less, rootless path such as "alice@example.com;transport=udp".
 * For the schemes in at_host_schemes, the host runs from after the last '@' that comes
 * before any '/' or '?', up to the first ';', '/' or '?'. @return 0 or -EINVAL.
 */
static int put_opaque_path(struct norm *nm, const char *p, size_t n)
{
	/* p[n] is '?' or the end, so these scans stay inside the path. */
	const char *at = scheme_has_at_host(nm) ? memrchr(p, '@', strcspn(p, "/?")) : NULL;
	const char *host;
	size_t host_len;
	struct hostport hp;

	if (at == NULL) {
		put_escaped(&nm->out, p, n, false);
		return 0;
	}
	host = at + 1;
	host_len = strcspn(host, ";/?");
	nm->reason = host_len == 0 ? REASON_NO_HOST : split_hostport(host, host_len, &hp);
	/* "user@:5060" has a port but no host: written "user@" it would have neither. */
	if (nm->reason == NULL && hp.host_len == 0)
		nm->reason = REASON_NO_HOST;
	if (nm->reason != NULL)
		return -EINVAL;
	put_escaped(&nm->out, p, (size_t)(at - p) + 1, false);
	put_hostport(nm, &hp);
	put_escaped(&nm->out, host + host_len, n - (size_t)(host + host_len - p), false);
	return 0;
}

/** Append everything after "scheme:". @return 0 or -EINVAL with nm->reason. */
static int put_rest(struct norm *nm, const char *rest)
{
	size_t path_len = strcspn(rest, "?");
	const char *query = rest + path_len;
	int err = 0;

	if (has_prefix(rest, path_len, "//")) {
		size_t auth_len = strcspn(rest + 2, "/?");

		err = put_authority(nm, rest + 2, rest + 2 + auth_len);
		if (err == 0 && auth_len + 2 == path_len)
			put_char(&nm->out, '/');
		else if (err == 0)
			put_hier_path(nm, rest + 2 + auth_len, path_len - auth_len - 2);
	} else if (path_len > 0 && rest[0] == '/') {
		size_t start = nm->out.len;

		put_hier_path(nm, rest, path_len);
		/* "scheme:/..//x" would become "scheme://x", whose "x" reads as an authority (RFC 3986 3.3). */
		if (nm->out.len >= start + 2 && start + 1 < nm->out.cap && nm->out.buf[start + 1] == '/') {
			nm->reason = REASON_PATH_SLASHES;
			err = -EINVAL;
		}
	} else {
		err = put_opaque_path(nm, rest, path_len);
	}
	if (err == 0 && *query == '?')
		put_escaped(&nm->out, query, strlen(query), false);
	return err;
}

/** Hand the built URI and its host to @p ret. @return 0 or -ENOMEM. */
static int norm_finish(struct norm *nm, struct uri_parts *ret)
{
	char *host = NULL;

	if (nm->host_len > 0) {
		host = strndup(nm->out.buf + nm->host_off, nm->host_len);
		if (host == NULL)
			return -ENOMEM;
	}
	nm->out.buf[nm->out.len] = '\0';
	*ret = (struct uri_parts){.uri = nm->out.buf, .host = host, .instance = NULL};
	nm->out.buf = NULL;
	return 0;
}

/** Normalize @p in (already checked, scheme of @p scheme_len bytes) into @p nm. */
static int norm_run(struct norm *nm, const char *in, size_t len, struct uri_parts *ret)
{
	int err;

	nm->out.cap = len + 1; /* only an empty path after an authority grows the URI ("/") */
	nm->out.buf = malloc(nm->out.cap + 1);
	nm->scratch = malloc(len + 1);
	if (nm->out.buf == NULL || nm->scratch == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < nm->scheme_len; i++)
		put_char(&nm->out, ascii_lower(in[i]));
	put_char(&nm->out, ':');
	err = put_rest(nm, in + nm->scheme_len + 1);
	if (err < 0)
		return err;
	if (nm->out.len > URI_MAX_LEN || nm->out.len > nm->out.cap) {
		nm->reason = REASON_TOO_LONG;
		return -EINVAL;
	}
	return norm_finish(nm, ret);
}

int uri_normalize_generic(const char *in, struct uri_parts *ret, const char **ret_reason,
			  void *ud)
{
	struct norm nm = {0};
	size_t len = strlen(in);
	int err;

	if (len > URI_MAX_LEN)
		nm.reason = REASON_TOO_LONG;
	else
		nm.reason = check_chars(in, len);
	if (nm.reason == NULL && strchr(in, ':') == NULL)
		nm.reason = REASON_NO_SCHEME;
	if (nm.reason == NULL && (nm.scheme_len = scheme_length(in)) == 0)
		nm.reason = in[0] == ':' ? REASON_NO_SCHEME : REASON_BAD_SCHEME;
	err = nm.reason != NULL ? -EINVAL : norm_run(&nm, in, len, ret);
	free(nm.out.buf);
	free(nm.scratch);
	if (err == -EINVAL)
		*ret_reason = nm.reason;
	return err;
}

/** The registered normalizer for the scheme of @p in, or NULL. */
static const struct uri_normalizer *find_normalizer(const char *in)
{
	size_t len = strchr(in, ':') != NULL ? scheme_length(in) : 0;

	for (size_t i = 0; len > 0 && i < registry_len; i++) {
		if (strlen(registry[i]->scheme) == len && strncasecmp(registry[i]->scheme, in, len) == 0)
			return registry[i];
	}
	return NULL;
}

int uri_register_normalizer(const struct uri_normalizer *n)
{
	for (size_t i = 0; i < registry_len; i++) {
		if (strcasecmp(registry[i]->scheme, n->scheme) == 0) {
			registry[i] = n;
			return 0;
		}
	}
	if (registry_len == URI_MAX_NORMALIZERS)
		return -EEXIST;
	registry[registry_len++] = n;
	return 0;
}

void uri_clear_normalizers(void)
{
	memset(registry, 0, sizeof(registry));
	registry_len = 0;
}

int uri_normalize(const char *in, struct uri_parts *ret, const char **ret_reason)
{
	const struct uri_normalizer *n;
	struct uri_parts parts = {0};
	int err;

	if (strlen(in) > URI_MAX_LEN) {
		*ret_reason = REASON_TOO_LONG;
		return -EINVAL;
	}
	n = find_normalizer(in);
	if (n == NULL)
		return uri_normalize_generic(in, ret, ret_reason, NULL);
	err = n->normalize(in, &parts, ret_reason, n->ud);
	if (err < 0)
		return err;
	if (parts.uri == NULL || strlen(parts.uri) > URI_MAX_LEN) {
		*ret_reason = parts.uri == NULL ? REASON_NO_URI : REASON_TOO_LONG;
		uri_parts_deinit(&parts);
		return -EINVAL;
	}
	*ret = parts;
	return 0;
}

void uri_parts_deinit(struct uri_parts *parts)
{
	free(parts->uri);
	free(parts->host);
	free(parts->instance);
	*parts = (struct uri_parts){0};
}

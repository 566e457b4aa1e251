/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The tel plugin: tel: URIs (RFC 3966) normalized to the global E.164 number the DHT and ENUM key on. */
#include "resolverd/plugin.h"
#include "plugins/common/escape.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/*
 * DESIGN
 * One pure function, tel_normalize(); no state, no fallback (the DNS front
 * end answers ENUM for tel: names itself, from the DHT). The normalized name
 * is what the DNS front end builds from an ENUM name, "tel:+15551234", so that
 * a number published over HTTP is found by an ENUM query and vice versa.
 *
 * Decisions (RFC 3966):
 *  - The scheme and parameter names are case-insensitive; visual separators
 *    '-', '.', '(' and ')' are removed (section 3, section 4).
 *  - A global number is '+' and 1 to 15 digits (E.164 allows 15).
 *  - ";ext=" and ";isub=" name another line behind the number (an extension,
 *    an ISDN subaddress): section 4 compares them, and so do we. They are
 *    kept, ext as digits and isub with letters folded (comparisons are
 *    case-insensitive, section 4), unreserved escapes decoded and other
 *    escapes in upper-case hex, in the order ext, isub. ENUM reaches only the
 *    plain number.
 *  - Every other parameter (rn, npdi, cic, tgrp, trunk-context...) is
 *    routing information about the number, not another subscriber: checked
 *    against the grammar, then dropped.
 *  - A global number must not carry a phone-context (section 5.1.5: it is
 *    for local numbers). A local number is accepted only with a
 *    phone-context that is a global number prefix ("+1555"): the digits are
 *    appended to it, which is the global number the context says it is. A
 *    domain-name context, or none, leaves no global number to key on, so the
 *    URI is rejected. A local number with '*', '#' or hex digits has no
 *    global form either.
 *  - A parameter given twice is rejected: it would be ambiguous.
 */

#define TEL_MAX_DIGITS 15 /**< E.164: at most 15 digits after the '+' */

static const char R_SCHEME[] = "not a tel: URI";
static const char R_RAW[] = "spaces, control characters and non-ASCII bytes must be percent-encoded in a tel: URI";
static const char R_GLOBAL[] = "tel: a global number is '+' and digits, with '-', '.', '(' or ')' as visual "
			       "separators (RFC 3966 section 3)";
static const char R_NO_DIGITS[] = "tel: the number has no digits";
static const char R_TOO_LONG[] = "tel: a number has at most 15 digits (E.164)";
static const char R_LOCAL[] = "tel: local number needs a phone-context that is a global number prefix (e.g. "
			      ";phone-context=+1555)";
static const char R_LOCAL_DOMAIN[] = "tel: a local number's phone-context must be a global number prefix such as "
				     "+1555; a domain-name context gives no global number";
static const char R_LOCAL_DIGITS[] = "tel: only a local number of decimal digits can be made global ('*', '#' and "
				     "hex digits cannot)";
static const char R_LOCAL_CHAR[] = "tel: a local number is hex digits, '*' and '#', with '-', '.', '(' or ')' as "
				   "visual separators (RFC 3966 section 3)";
static const char R_GLOBAL_CONTEXT[] = "tel: a global number (+...) must not carry a phone-context "
				       "(RFC 3966 section 5.1.5)";
static const char R_PARAM[] = "tel: invalid parameter: ';' name ['=' value], the name letters, digits and '-' "
			      "(RFC 3966 section 3)";
static const char R_TWICE[] = "tel: a parameter appears twice";
static const char R_EXT[] = "tel: ;ext= must be digits, with optional visual separators";
static const char R_ISUB[] = "tel: invalid ;isub= value (RFC 3966 section 5.3)";
static const char R_ESCAPE[] = "invalid percent-encoding: '%' must be followed by two hex digits";

/** Text built in a caller's buffer; overflow is sticky. */
struct text {
	char *buf;     /**< borrowed, cap bytes */
	size_t len;
	size_t cap;
	bool overflow; /**< something did not fit */
};

static void text_putc(struct text *t, char c)
{
	if (t->overflow || t->len + 1 >= t->cap) {
		t->overflow = true;
		return;
	}
	t->buf[t->len++] = c;
	t->buf[t->len] = '\0';
}

static void text_puts(struct text *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		text_putc(t, s[i]);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_separator(char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')';
}

/** A parameter: [name, name_end) and [value, end), value NULL when it has no '='. */
struct param {
	const char *name, *name_end;
	const char *value, *end;
};

/** What the parameters say. */
struct tel_params {
	struct param ext, isub, context; /**< .name NULL when absent */
};

static bool param_is(const struct param *p, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(p->name_end - p->name) == n && strncasecmp(p->name, name, n) == 0;
}

/** Is every byte of [s, end) one of @p extra, alphanumeric or a valid escape? Sets *ret_reason only for a bad escape. */
static int check_chars(const char *s, const char *end, const char *extra, const char **ret_reason)
{
	for (const char *p = s; p < end; p++) {
		if (*p == '%') {
			if (esc_decode(p, end) < 0) {
				*ret_reason = R_ESCAPE;
				return -EINVAL;
			}
			p += 2;
		} else if (!is_alnum(*p) && strchr(extra, *p) == NULL) {
			return -EINVAL;
		}
	}
	return 0;
}

/** Split one parameter [s, end) (after its ';') into @p ret and check its grammar. */
static int parse_param(const char *s, const char *end, struct param *ret, const char **ret_reason)
{
	/* RFC 3966: paramchar = param-unreserved / unreserved / pct-encoded. */
	static const char paramchar[] = "[]/:&+$-_.!~*'()";
	const char *eq = memchr(s, '=', (size_t)(end - s));
	const char *name_end = eq != NULL ? eq : end;

	if (name_end == s) {
		*ret_reason = R_PARAM;
		return -EINVAL;
	}
	for (const char *p = s; p < name_end; p++) {
		if (!is_alnum(*p) && *p != '-') {
			*ret_reason = R_PARAM;
			return -EINVAL;
		}
	}
	*ret_reason = R_PARAM;
	if (eq != NULL && (eq + 1 == end || check_chars(eq + 1, end, paramchar, ret_reason) < 0))
		return -EINVAL;
	*ret = (struct param){s, name_end, eq != NULL ? eq + 1 : NULL, end};
	return 0;
}

/** Parse the parameters in [s, end), s at the first ';' (or end). */
static int parse_params(const char *s, const char *end, struct tel_params *ret, const char **ret_reason)
{
	memset(ret, 0, sizeof(*ret));
	while (s < end) {
		const char *p_end = memchr(s + 1, ';', (size_t)(end - s - 1));
		struct param p, *slot = NULL;
		int err;

		if (p_end == NULL)
			p_end = end;
		err = parse_param(s + 1, p_end, &p, ret_reason);
		if (err < 0)
			return err;
		if (param_is(&p, "ext"))
			slot = &ret->ext;
		else if (param_is(&p, "isub"))
			slot = &ret->isub;
		else if (param_is(&p, "phone-context"))
			slot = &ret->context;
		if (slot != NULL && slot->name != NULL) {
			*ret_reason = R_TWICE;
			return -EINVAL;
		}
		if (slot != NULL)
			*slot = p;
		s = p_end;
	}
	return 0;
}

/** Append the digits of [s, end), skipping visual separators; @p ret_digits counts them. @return false on another byte. */
static bool put_digits(struct text *t, const char *s, const char *end, size_t *ret_digits)
{
	size_t n = 0;

	for (const char *p = s; p < end; p++) {
		if (is_digit(*p)) {
			text_putc(t, *p);
			n++;
		} else if (!is_separator(*p)) {
			return false;
		}
	}
	*ret_digits = n;
	return true;
}

/** Append the global number of [s, end) ('+' included). */
static int put_global(struct text *t, const char *s, const char *end, const char **ret_reason)
{
	size_t n;

	text_puts(t, "tel:+", 5);
	if (!put_digits(t, s + 1, end, &n)) {
		*ret_reason = R_GLOBAL;
		return -EINVAL;
	}
	if (n == 0) {
		*ret_reason = R_NO_DIGITS;
		return -EINVAL;
	}
	if (n > TEL_MAX_DIGITS) {
		*ret_reason = R_TOO_LONG;
		return -EINVAL;
	}
	return 0;
}

/** Append the global number that local number [s, end) is in its phone-context @p ctx. */
static int put_local(struct text *t, const char *s, const char *end, const struct param *ctx,
		     const char **ret_reason)
{
	size_t n_prefix, n_local;

	for (const char *p = s; p < end; p++) {
		if (esc_hex_value(*p) < 0 && *p != '*' && *p != '#' && !is_separator(*p)) {
			*ret_reason = R_LOCAL_CHAR;
			return -EINVAL;
		}
	}
	if (ctx->name == NULL || ctx->value == NULL) {
		*ret_reason = R_LOCAL;
		return -EINVAL;
	}
	if (ctx->value[0] != '+') {
		*ret_reason = R_LOCAL_DOMAIN;
		return -EINVAL;
	}
	text_puts(t, "tel:+", 5);
	if (!put_digits(t, ctx->value + 1, ctx->end, &n_prefix) || n_prefix == 0) {
		*ret_reason = R_LOCAL;
		return -EINVAL;
	}
	if (!put_digits(t, s, end, &n_local)) {
		*ret_reason = R_LOCAL_DIGITS;
		return -EINVAL;
	}
	if (n_local == 0) {
		*ret_reason = R_NO_DIGITS;
		return -EINVAL;
	}
	if (n_prefix + n_local > TEL_MAX_DIGITS) {
		*ret_reason = R_TOO_LONG;
		return -EINVAL;
	}
	return 0;
}

/** Append ";ext=" and the digits of the extension. */
static int put_ext(struct text *t, const struct param *ext, const char **ret_reason)
{
	size_t n;

	text_puts(t, ";ext=", 5);
	if (ext->value == NULL || !put_digits(t, ext->value, ext->end, &n) || n == 0) {
		*ret_reason = R_EXT;
		return -EINVAL;
	}
	return 0;
}

/** RFC 3986 unreserved: the escapes decoded in isub. */
static bool is_unreserved(int c)
{
	return is_alnum((char)c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/** Append ";isub=" and the subaddress, letters folded, escapes normalized. */
static int put_isub(struct text *t, const struct param *isub, const char **ret_reason)
{
	/* RFC 3966: isub is 1*uric, and ';' already ended it. */
	static const char uric[] = "/?:@&=+$,-_.!~*'()";
	static const char hex[] = "0123456789ABCDEF";

	*ret_reason = R_ISUB;
	if (isub->value == NULL || isub->value == isub->end ||
	    check_chars(isub->value, isub->end, uric, ret_reason) < 0)
		return -EINVAL;
	text_puts(t, ";isub=", 6);
	for (const char *p = isub->value; p < isub->end; p++) {
		int c = (unsigned char)*p;

		if (c == '%') {
			c = esc_decode(p, isub->end);
			p += 2;
			if (!is_unreserved(c)) {
				char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

				text_puts(t, esc, 3);
				continue;
			}
		}
		text_putc(t, (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
	}
	return 0;
}

static bool all_printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	}
	return true;
}

/**
 * Normalize a tel: URI (see DESIGN). Pure and thread-safe: any thread.
 * @param[out] ret written on success only; ret->host and ret->instance are "".
 * @return 0, -EINVAL (with *ret_reason), -ENAMETOOLONG.
 */
static int tel_normalize(void *state, const char *uri, struct rd_name *ret, const char **ret_reason)
{
	char name[RD_NAME_MAX + 1];
	struct text t = {name, 0, sizeof(name), false};
	struct tel_params params;
	const char *num, *num_end, *end;
	int err;

	(void)state;
	if (strncasecmp(uri, "tel:", 4) != 0) {
		*ret_reason = R_SCHEME;
		return -EINVAL;
	}
	if (!all_printable(uri)) {
		*ret_reason = R_RAW;
		return -EINVAL;
	}
	num = uri + 4;
	end = num + strlen(num);
	num_end = strchr(num, ';');
	if (num_end == NULL)
		num_end = end;
	err = parse_params(num_end, end, &params, ret_reason);
	if (err < 0)
		return err;
	if (num < num_end && *num == '+') {
		if (params.context.name != NULL) {
			*ret_reason = R_GLOBAL_CONTEXT;
			return -EINVAL;
		}
		err = put_global(&t, num, num_end, ret_reason);
	} else {
		err = put_local(&t, num, num_end, &params.context, ret_reason);
	}
	if (err == 0 && params.ext.name != NULL)
		err = put_ext(&t, &params.ext, ret_reason);
	if (err == 0 && params.isub.name != NULL)
		err = put_isub(&t, &params.isub, ret_reason);
	if (err < 0)
		return err;
	if (t.overflow)
		return -ENAMETOOLONG;
	memcpy(ret->name, name, t.len + 1);
	ret->host[0] = '\0';
	ret->instance[0] = '\0';
	return 0;
}

static const char *const tel_schemes[] = {"tel", NULL};

static const struct rd_plugin tel_plugin = {
	.abi_major = RD_PLUGIN_ABI_MAJOR,
	.abi_minor = RD_PLUGIN_ABI_MINOR,
	.size = sizeof(struct rd_plugin),
	.name = "tel",
	.schemes = tel_schemes,
	.normalize = tel_normalize,
};

RD_PLUGIN_EXPORT const struct rd_plugin *rd_plugin_entry(void);

RD_PLUGIN_EXPORT const struct rd_plugin *rd_plugin_entry(void)
{
	return &tel_plugin;
}

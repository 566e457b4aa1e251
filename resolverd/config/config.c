/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The configuration: one declarative option table drives YAML loading, --set, defaults, bounds, copy and free. */

/*
 * DESIGN
 *
 * Every option is one row of options[]: its dotted name, its kind (string,
 * unsigned integer, enum, list of strings), where it lives in struct
 * rd_config, its bounds or item check, and its default written as --set text.
 * Everything else is generic code over that table:
 *
 *  - config_init() applies each row's default through the --set code path, so
 *    the defaults obey the same checks and bounds as user input.
 *  - config_set() finds the row by its dotted name and applies the text.
 *  - config_load() walks libyaml events. The table says whether a key is a
 *    section, a map entry or an option; every event it does not expect is an
 *    error at that event's mark. So nesting never goes deeper than the table
 *    (five levels) whatever the input, and anchors and aliases are
 *    refused, never expanded.
 *  - The maps (policy.domains, http.tokens, dns.dht_zones, plugins) are rows whose name
 *    holds one '*' segment: the entry's name, which may contain dots. A struct
 *    map_desc says where the entry array lives; the rows say what an entry
 *    holds. A map row's default is given to each entry when it is created,
 *    with '*' in it standing for the entry's name ("ns.*").
 *  - config_deinit() and the deep copy behind config_load() walk the table too,
 *    so a new option needs a struct member and a row, nothing else.
 *  - plugins.<name> is a map whose rows are only the keys the core knows
 *    (enabled, path, fallback). Any other key below an entry belongs to the
 *    plugin: it is kept as a struct config_raw (text, kind, origin), a
 *    nested mapping as one MAP value plus one value per key inside it, and
 *    checked later by the host's config getters, which the plugin calls
 *    from init(). So the file parser stays strict about structure (no
 *    aliases, tags, duplicate keys, nesting beyond RAW_MAX_DEPTH) while the
 *    plugin decides types and bounds; the host reports a key no plugin read.
 *
 * Error reasons are built without the option name ("0 is out of range
 * 1..64"); the caller prefixes "FILE:LINE:COLUMN: NAME: " or "--set KEY: ".
 * User text is echoed only through echo_of(): printable and truncated. Token
 * secrets are never echoed.
 *
 * Each value also keeps its origin (struct config_origin): the file position
 * of the YAML value that set it last, or the --set that did, or nothing for a
 * built-in default; a map entry keeps the place that first named it too. The
 * config has one origin per plain row, each entry one per row of its map plus
 * its own, and origin_index() maps a row to its slot. config_validate() uses
 * them so that a cross-field error points at a line, as a load error does.
 * An origin is allocated before its value is stored, so storing it cannot
 * fail.
 *
 * config_load() is transactional: it fills a deep copy and swaps it in only on
 * success, so a failed load changes nothing and leaks nothing. A file sets
 * only what it names: a list it names is replaced whole, a map entry it names
 * is created or updated field by field, other entries stay. config_set()
 * checks the whole value before it stores anything.
 *
 * Threads: none here. The caller owns its struct rd_config.
 * config_parse_endpoint() is pure and may be called
 * from any thread.
 */

#include "resolverd/config/config.h"

#include "resolverd/core/acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "resolverd/core/keys.h"
#include "resolverd/core/policy.h"
#include "resolverd/core/record.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/** Largest configuration file read, in bytes: a real one is a few KiB. */
#define CONFIG_MAX_FILE_SIZE (1024 * 1024)
/** Most entries one map (policy.domains, http.tokens, dns.dht_zones) may hold. */
#define CONFIG_MAX_MAP_ENTRIES 1024
/** Shortest accepted bearer token. */
#define TOKEN_MIN_LEN 16
/** Longest http.tokens entry name. */
#define TOKEN_NAME_MAX 64
/** Longest DNS name, without the trailing dot. */
#define HOSTNAME_MAX 253
/** Longest DNS label. */
#define LABEL_MAX 63
/** How much user text an error message echoes before "...". */
#define ECHO_MAX 64
/** Longest plugin name: struct rd_host keeps it in char[32]. */
#define PLUGIN_NAME_MAX 31
/** Deepest nesting of mappings inside a plugin's own keys. */
#define RAW_MAX_DEPTH 4
/** Most plugin-specific values one plugins.<name> section may hold. */
#define RAW_MAX_VALUES 4096

/* Enum options store the index of the name; these tie the names to the enums. */
_Static_assert(sizeof(enum log_level) == sizeof(int), "log.level is stored as an int");
_Static_assert(LOG_LEVEL_ERROR == 0 && LOG_LEVEL_WARN == 1 && LOG_LEVEL_INFO == 2 && LOG_LEVEL_DEBUG == 3,
	       "log_level_names follows enum log_level");
_Static_assert(POLICY_OPEN == 0 && POLICY_KEYS == 1, "policy_mode_names follows enum policy_mode");
_Static_assert(sizeof(uint32_t) == sizeof(unsigned), "dht.network is stored as an unsigned");

/* ------------------------------------------------------------------------- */
/* Small helpers: characters, messages, string vectors.                      */
/* ------------------------------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/** Printable ASCII other than space. */
static bool is_graph(char c)
{
	return c > ' ' && c < 0x7f;
}

static void lower_in_place(char *s)
{
	for (; *s; s++) {
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	}
}

/** A printable, truncated copy of user text, for error messages. */
struct echo {
	char s[ECHO_MAX + 4]; /**< the text, then "..." if it was cut, then NUL */
};

/** @return @p text with non-printable bytes as '?', cut after ECHO_MAX bytes. */
static struct echo echo_of(const char *text)
{
	struct echo e;
	size_t i = 0;

	for (; text[i] != '\0' && i < ECHO_MAX; i++)
		e.s[i] = (text[i] >= ' ' && text[i] < 0x7f) ? text[i] : '?';
	if (text[i] != '\0') {
		memcpy(e.s + i, "...", 3);
		i += 3;
	}
	e.s[i] = '\0';
	return e;
}

/**
 * Set *reason to a new message (no option name: the caller adds where).
 * @return -EINVAL, or -ENOMEM with *reason NULL.
 */
__attribute__((format(printf, 2, 3))) static int fail_reason(char **reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vasprintf(reason, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*reason = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}

/**
 * Set *ret_error (if @p ret_error is not NULL) to a new message; NULL if out
 * of memory. @return @p ret, for "return error_set(...)".
 */
__attribute__((format(printf, 3, 4))) static int error_set(char **ret_error, int ret, const char *fmt, ...)
{
	va_list ap;

	if (!ret_error)
		return ret;
	va_start(ap, fmt);
	if (vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return ret;
}

/** "a.b" from "a" and "b", or "b" when @p parent is empty. @return owned string, NULL if out of memory. */
static char *join(const char *parent, const char *child)
{
	char *s;

	if (asprintf(&s, "%s%s%s", parent, *parent ? "." : "", child) < 0)
		return NULL;
	return s;
}

static void strv_free(struct config_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

/** Append @p s; ownership moves to @p sv on success only. @return 0, -ENOMEM. */
static int strv_push(struct config_strv *sv, char *s)
{
	/* The capacity is the next power of two, so it need not be stored. */
	if ((sv->n & (sv->n - 1)) == 0) {
		size_t cap = sv->n ? 2 * sv->n : 1;
		char **v = realloc(sv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		sv->v = v;
	}
	sv->v[sv->n++] = s;
	return 0;
}

static bool strv_contains(const struct config_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++) {
		if (strcmp(sv->v[i], s) == 0)
			return true;
	}
	return false;
}

/** Deep-copy @p src into the empty @p dst. @return 0, -ENOMEM (@p dst left empty). */
static int strv_copy(struct config_strv *dst, const struct config_strv *src)
{
	for (size_t i = 0; i < src->n; i++) {
		char *s = strdup(src->v[i]);

		if (!s || strv_push(dst, s) < 0) {
			free(s);
			strv_free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Numbers and addresses.                                                    */
/* ------------------------------------------------------------------------- */

/** Parse plain decimal digits. @return 0, -EINVAL (empty, not digits), -ERANGE (overflow). */
static int parse_digits(const char *s, unsigned long long *ret_value)
{
	unsigned long long v = 0;
	bool overflow = false;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (!is_digit(*s))
			return -EINVAL;
		if (v > (ULLONG_MAX - 9) / 10)
			overflow = true;
		else
			v = v * 10 + (unsigned)(*s - '0');
	}
	if (overflow)
		return -ERANGE;
	*ret_value = v;
	return 0;
}

/** Parse an optionally signed decimal in @p min..@p max. @return 0, -EINVAL, -ERANGE. */
static int parse_uint(const char *text, unsigned min, unsigned max, unsigned *ret_value)
{
	bool negative = text[0] == '-';
	unsigned long long v;
	int ret = parse_digits(text + (negative || text[0] == '+'), &v);

	if (ret < 0)
		return ret;
	if ((negative && v != 0) || v < min || v > max)
		return -ERANGE;
	*ret_value = (unsigned)v;
	return 0;
}

/** Parse a port or prefix length: digits, no sign, no leading zero. @return 0, -EINVAL, -ERANGE (> @p max). */
static int parse_small(const char *s, unsigned max, unsigned *ret_value)
{
	unsigned long long v;
	int ret;

	if (s[0] == '0' && s[1] != '\0')
		return -EINVAL;
	ret = parse_digits(s, &v);
	if (ret < 0)
		return ret;
	if (v > max)
		return -ERANGE;
	*ret_value = (unsigned)v;
	return 0;
}

/** Parse the numeric address @p s (@p len bytes, not NUL-terminated) of @p family. @return 0, -EINVAL. */
static int parse_ip(const char *s, size_t len, int family, void *ret_addr)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr addr;

	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(family, buf, &addr) != 1)
		return -EINVAL;
	memcpy(ret_addr, &addr, family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr));
	return 0;
}

/** "HOST:PORT" or "[HOST]:PORT", split; the host is borrowed from the text. */
struct host_port {
	const char *host; /**< borrowed, not NUL-terminated */
	size_t host_len;
	bool bracketed;   /**< written "[...]": an IPv6 literal */
	unsigned port;    /**< 1..65535 */
};

/** Split @p text. @return 0, -EINVAL (malformed), -ERANGE (port not 1..65535). */
static int split_host_port(const char *text, struct host_port *ret)
{
	struct host_port hp = {.host = text, .bracketed = text[0] == '['};
	const char *colon;
	int r;

	if (hp.bracketed) {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hp.host = text + 1;
		hp.host_len = (size_t)(close - hp.host);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		hp.host_len = (size_t)(colon - text);
		/* An IPv6 address must be bracketed, or its last group would pass for a port. */
		if (memchr(text, ':', hp.host_len))
			return -EINVAL;
	}
	if (hp.host_len == 0)
		return -EINVAL;
	r = parse_small(colon + 1, 65535, &hp.port);
	if (r < 0)
		return r;
	if (hp.port == 0)
		return -ERANGE;
	*ret = hp;
	return 0;
}

/** Is @p s (@p len bytes) a DNS name: LDH labels (and '_'), not all digits? */
static bool is_hostname(const char *s, size_t len)
{
	size_t label = 0;
	bool numeric = true;

	if (len == 0 || len > HOSTNAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_')
			return false;
		numeric = numeric && is_digit(s[i]);
		if (++label > LABEL_MAX)
			return false;
	}
	/* "1.2.3.999" is a bad IPv4 address, not a name. */
	return label > 0 && !numeric;
}

int config_parse_endpoint(const char *text, struct sockaddr_storage *ret_ss, socklen_t *ret_len)
{
	struct sockaddr_storage ss;
	struct host_port hp;
	socklen_t len;

	if (!text || split_host_port(text, &hp) < 0)
		return -EINVAL;
	memset(&ss, 0, sizeof(ss));
	if (hp.bracketed) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (parse_ip(hp.host, hp.host_len, AF_INET6, &sin6->sin6_addr) < 0)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)hp.port);
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		if (parse_ip(hp.host, hp.host_len, AF_INET, &sin->sin_addr) < 0)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)hp.port);
		len = sizeof(*sin);
	}
	*ret_ss = ss;
	*ret_len = len;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Value checks. Each takes an owned copy it may normalize in place.         */
/* ------------------------------------------------------------------------- */

static int check_nonempty(char *text, char **reason)
{
	return text[0] ? 0 : fail_reason(reason, "must not be empty");
}

/** ADDR:PORT with a numeric address (something to bind). */
static int check_endpoint(char *text, char **reason)
{
	struct sockaddr_storage ss;
	struct host_port hp;
	socklen_t len;
	int r = split_host_port(text, &hp);

	if (r == -ERANGE)
		return fail_reason(reason, "'%s': the port is out of range 1..65535", echo_of(text).s);
	if (r < 0 || config_parse_endpoint(text, &ss, &len) < 0)
		return fail_reason(reason, "'%s' is not ADDR:PORT (a.b.c.d:PORT or [IPv6]:PORT)", echo_of(text).s);
	return 0;
}

/** HOST:PORT where HOST may also be a DNS name (a peer to reach). */
static int check_host_port(char *text, char **reason)
{
	struct host_port hp;
	struct in6_addr addr;
	int r = split_host_port(text, &hp);
	bool ok;

	if (r == -ERANGE)
		return fail_reason(reason, "'%s': the port is out of range 1..65535", echo_of(text).s);
	if (r < 0)
		ok = false;
	else if (hp.bracketed)
		ok = parse_ip(hp.host, hp.host_len, AF_INET6, &addr) == 0;
	else
		ok = parse_ip(hp.host, hp.host_len, AF_INET, &addr) == 0 || is_hostname(hp.host, hp.host_len);
	if (!ok)
		return fail_reason(reason, "'%s' is not HOST:PORT (name, a.b.c.d or [IPv6], then :PORT)", echo_of(text).s);
	return 0;
}

static int check_cidr(char *text, char **reason)
{
	const char *const one[] = {text};
	const char *bad = NULL;
	struct acl acl;
	int rc = acl_parse(one, 1, &acl, &bad);

	if (rc == -EINVAL)
		return fail_reason(reason, "'%s' is not a CIDR (ADDR/PREFIX or ADDR)", echo_of(text).s);
	if (rc < 0)
		return rc;
	acl_deinit(&acl);
	return 0;
}

/** An Ed25519 public key in hex, stored lower-case. */
static int check_hex_key(char *text, char **reason)
{
	bool ok = strlen(text) == KEYS_PUB_HEX_LEN;

	for (const char *p = text; *p; p++)
		ok = ok && is_hex(*p);
	if (!ok)
		return fail_reason(reason, "'%s' is not a %d-digit hex key", echo_of(text).s, KEYS_PUB_HEX_LEN);
	lower_in_place(text);
	return 0;
}

/** A bearer secret; never echoed. */
static int check_secret(char *text, char **reason)
{
	if (strlen(text) < TOKEN_MIN_LEN)
		return fail_reason(reason, "the token must be at least %d characters long", TOKEN_MIN_LEN);
	for (const char *p = text; *p; p++) {
		if (!is_graph(*p))
			return fail_reason(reason, "the token must be printable ASCII without spaces");
	}
	return 0;
}

/** A URI glob such as "sip:*@example.com". */
static int check_scope(char *text, char **reason)
{
	bool ok = text[0] != '\0';

	for (const char *p = text; *p; p++)
		ok = ok && is_graph(*p);
	if (!ok)
		return fail_reason(reason, "'%s' is not a URI glob (printable ASCII without spaces)", echo_of(text).s);
	return 0;
}

/** A policy.domains entry name, stored lower-case. */
static int check_domain(char *name, char **reason)
{
	lower_in_place(name);
	if (!is_hostname(name, strlen(name)))
		return fail_reason(reason, "'%s' is not a domain name", echo_of(name).s);
	return 0;
}

/** A DNS host name (dns.dht_zones names, dns.enum_suffixes), stored lower-case; the rules are record.h's. */
static int check_dns_name(char *text, char **reason)
{
	lower_in_place(text);
	if (record_name_check(RECORD_HOST, text) < 0)
		return fail_reason(reason, "'%s' is not a host name (LDH labels, no trailing dot)", echo_of(text).s);
	return 0;
}

/** An http.tokens entry name. */
static int check_token_name(char *name, char **reason)
{
	size_t len = strlen(name);
	bool ok = len > 0 && len <= TOKEN_NAME_MAX;

	for (const char *p = name; *p; p++)
		ok = ok && (is_alnum(*p) || *p == '.' || *p == '_' || *p == '-');
	if (!ok)
		return fail_reason(reason, "'%s' is not a token name (1 to %d of A-Z a-z 0-9 . _ -)",
				   echo_of(name).s, TOKEN_NAME_MAX);
	return 0;
}

/** A plugins entry name: a plugin's name, [a-z][a-z0-9_]*. */
static int check_plugin_name(char *name, char **reason)
{
	size_t len = strlen(name);
	bool ok = len > 0 && len <= PLUGIN_NAME_MAX && name[0] >= 'a' && name[0] <= 'z';

	for (const char *p = name; *p; p++)
		ok = ok && ((*p >= 'a' && *p <= 'z') || is_digit(*p) || *p == '_');
	if (!ok)
		return fail_reason(reason, "'%s' is not a plugin name (a-z, then up to %d of a-z 0-9 _)",
				   echo_of(name).s, PLUGIN_NAME_MAX - 1);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* The table.                                                                */
/* ------------------------------------------------------------------------- */

enum opt_kind {
	OPT_STRING, /**< char *, checked by ->check */
	OPT_UINT,   /**< unsigned, ->min..->max */
	OPT_ENUM,   /**< int, the index of the name in ->names */
	OPT_LIST,   /**< struct config_strv, each item checked by ->check */
};

/** Where a map's entries live in struct rd_config, and what names it takes. */
struct map_desc {
	size_t array_off;  /**< offset of the entry array pointer */
	size_t count_off;  /**< offset of its size_t count */
	size_t entry_size; /**< sizeof one entry */
	size_t name_off;   /**< offset in an entry of its owned char *name */
	size_t origins_off; /**< offset in an entry of its owned struct config_origin *origins */
	int (*check_name)(char *name, char **reason); /**< checks, and may normalize, an entry name */
	void (*free_extra)(char *entry);              /**< frees what an entry owns beyond its rows; may be NULL */
	int (*copy_extra)(char *dst, const char *src); /**< deep-copies it; -ENOMEM leaves a partial copy to free */
};

/** One option. */
struct option {
	const char *name;      /**< dotted name; in a map row, one '*' segment stands for the entry name */
	enum opt_kind kind;
	size_t offset;         /**< in struct rd_config, or in the map entry when ->map is set */
	const struct map_desc *map; /**< the map this row belongs to, or NULL */
	int (*check)(char *text, char **reason); /**< OPT_STRING value, OPT_LIST item */
	unsigned min, max;     /**< OPT_UINT bounds, inclusive */
	const char *const *names; /**< OPT_ENUM names, NULL-terminated */
	const char *def;       /**< default, as --set text (lists comma-separated); NULL: none. A map row's
				    default is given to each new entry, '*' standing for the entry's name. */
};

static const char *const policy_mode_names[] = {"open", "keys", NULL};
static const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const bool_names[] = {"false", "true", NULL};

static void plugin_free_extra(char *entry);
static int plugin_copy_extra(char *dst, const char *src);

static const struct map_desc domain_map = {
	.array_off = offsetof(struct rd_config, policy.domains),
	.count_off = offsetof(struct rd_config, policy.n_domains),
	.entry_size = sizeof(struct config_domain),
	.name_off = offsetof(struct config_domain, name),
	.origins_off = offsetof(struct config_domain, origins),
	.check_name = check_domain,
};

static const struct map_desc token_map = {
	.array_off = offsetof(struct rd_config, http.tokens),
	.count_off = offsetof(struct rd_config, http.n_tokens),
	.entry_size = sizeof(struct config_token),
	.name_off = offsetof(struct config_token, name),
	.origins_off = offsetof(struct config_token, origins),
	.check_name = check_token_name,
};

static const struct map_desc zone_map = {
	.array_off = offsetof(struct rd_config, dns.zones),
	.count_off = offsetof(struct rd_config, dns.n_zones),
	.entry_size = sizeof(struct config_zone),
	.name_off = offsetof(struct config_zone, apex),
	.origins_off = offsetof(struct config_zone, origins),
	.check_name = check_dns_name,
};

static const struct map_desc plugin_map = {
	.array_off = offsetof(struct rd_config, plugins),
	.count_off = offsetof(struct rd_config, n_plugins),
	.entry_size = sizeof(struct config_plugin),
	.name_off = offsetof(struct config_plugin, name),
	.origins_off = offsetof(struct config_plugin, origins),
	.check_name = check_plugin_name,
	.free_extra = plugin_free_extra,
	.copy_extra = plugin_copy_extra,
};

static const struct map_desc *const maps[] = {&domain_map, &token_map, &zone_map, &plugin_map};

/** The plugins the built-in defaults enable. */
static const char *const default_plugins[] = {"sip", "xmpp", "h323", "tel"};

#define CFG(member) offsetof(struct rd_config, member)
#define STRING(key, member, fn, dflt) {.name = key, .kind = OPT_STRING, .offset = CFG(member), .check = fn, .def = dflt}
#define UINT(key, member, lo, hi, dflt) {.name = key, .kind = OPT_UINT, .offset = CFG(member), .min = lo, .max = hi, .def = dflt}
#define ENUM(key, member, choices, dflt) {.name = key, .kind = OPT_ENUM, .offset = CFG(member), .names = choices, .def = dflt}
#define LIST(key, member, fn, dflt) {.name = key, .kind = OPT_LIST, .offset = CFG(member), .check = fn, .def = dflt}

/* Keep in step with etc/resolverd.yaml and schemas/config.schema.json. */
static const struct option options[] = {
	STRING("state_dir", state_dir, check_nonempty, "/var/lib/resolverd"),
	STRING("dht.listen", dht.listen, check_endpoint, "127.0.0.1:4222"),
	UINT("dht.network", dht.network, 0, UINT32_MAX, "30741"),
	LIST("dht.bootstrap", dht.bootstrap, check_host_port, ""),
	UINT("dht.get_timeout_ms", dht.get_timeout_ms, 10, 10000, "400"),
	UINT("dht.max_record_size", dht.max_record_size, 256, 1024, "1024"),
	LIST("http.listen", http.listen, check_endpoint, "127.0.0.1:7380"),
	UINT("http.threads", http.threads, 1, 64, "2"),
	UINT("http.max_body", http.max_body, 256, 1048576, "16384"),
	UINT("http.max_connections", http.max_connections, 1, 100000, "1024"),
	UINT("http.max_connections_per_ip", http.max_connections_per_ip, 1, 100000, "256"),
	UINT("http.timeout_s", http.timeout_s, 1, 3600, "30"),
	LIST("http.read_acl", http.read_acl, check_cidr, "127.0.0.0/8,::1/128"),
	UINT("http.rate_limit.requests_per_second", http.rate_limit.requests_per_second, 0, 1000000, "0"),
	UINT("http.rate_limit.burst", http.rate_limit.burst, 1, 1000000, "100"),
	{.name = "http.tokens.*.token", .kind = OPT_STRING, .offset = offsetof(struct config_token, token),
	 .map = &token_map, .check = check_secret},
	{.name = "http.tokens.*.scopes", .kind = OPT_LIST, .offset = offsetof(struct config_token, scopes),
	 .map = &token_map, .check = check_scope},
	LIST("dns.listen", dns.listen, check_endpoint, "127.0.0.1:5300"),
	LIST("dns.enum_suffixes", dns.enum_suffixes, check_dns_name, "e164.arpa"),
	UINT("dns.max_ttl", dns.max_ttl, 1, 604800, "300"),
	UINT("dns.edns_payload", dns.edns_payload, 512, 4096, "1232"),
	{.name = "dns.dht_zones.*.ns", .kind = OPT_LIST, .offset = offsetof(struct config_zone, ns),
	 .map = &zone_map, .check = check_dns_name, .def = "ns.*"},
	{.name = "dns.dht_zones.*.hostmaster", .kind = OPT_STRING, .offset = offsetof(struct config_zone, hostmaster),
	 .map = &zone_map, .check = check_dns_name, .def = "hostmaster.*"},
	{.name = "dns.dht_zones.*.serial", .kind = OPT_UINT, .offset = offsetof(struct config_zone, serial),
	 .map = &zone_map, .min = 1, .max = UINT32_MAX, .def = "1"},
	{.name = "dns.dht_zones.*.negative_ttl", .kind = OPT_UINT, .offset = offsetof(struct config_zone, negative_ttl),
	 .map = &zone_map, .min = 0, .max = 86400, .def = "60"},
	LIST("dns.forward.upstreams", dns.forward.upstreams, check_endpoint, ""),
	LIST("dns.forward.allow", dns.forward.allow, check_cidr, "127.0.0.0/8,::1/128"),
	UINT("dns.forward.timeout_ms", dns.forward.timeout_ms, 100, 30000, "1500"),
	UINT("dns.forward.cache_entries", dns.forward.cache_entries, 0, 1000000, "10000"),
	UINT("dns.rrl.responses_per_second", dns.rrl.responses_per_second, 0, 1000000, "200"),
	UINT("dns.rrl.slip", dns.rrl.slip, 0, 10, "2"),
	UINT("dns.rrl.ipv4_prefix", dns.rrl.ipv4_prefix, 8, 32, "24"),
	UINT("dns.rrl.ipv6_prefix", dns.rrl.ipv6_prefix, 32, 128, "56"),
	UINT("dns.rrl.table_size", dns.rrl.table_size, 1024, 16777216, "65536"),
	UINT("dns.tcp.max_connections", dns.tcp.max_connections, 1, 100000, "256"),
	UINT("dns.tcp.idle_timeout_ms", dns.tcp.idle_timeout_ms, 100, 600000, "10000"),
	ENUM("policy.default", policy.default_mode, policy_mode_names, "open"),
	{.name = "policy.domains.*.keys", .kind = OPT_LIST, .offset = offsetof(struct config_domain, keys),
	 .map = &domain_map, .check = check_hex_key},
	UINT("resolve.max_bindings", resolve.max_bindings, 1, 1000, "16"),
	UINT("resolve.max_values_per_key", resolve.max_values_per_key, 1, 100000, "256"),
	UINT("publish.default_expires", publish.default_expires, 1, 31536000, "3600"),
	UINT("publish.max_expires", publish.max_expires, 1, 31536000, "86400"),
	UINT("publish.max_publications", publish.max_publications, 1, 1000000, "100000"),
	UINT("cache.max_entries", cache.max_entries, 1, 10000000, "100000"),
	UINT("cache.idle_s", cache.idle_s, 1, 86400, "300"),
	ENUM("log.level", log.level, log_level_names, "info"),
	{.name = "plugins.*.enabled", .kind = OPT_ENUM, .offset = offsetof(struct config_plugin, enabled),
	 .map = &plugin_map, .names = bool_names, .def = "true"},
	{.name = "plugins.*.path", .kind = OPT_STRING, .offset = offsetof(struct config_plugin, path),
	 .map = &plugin_map, .check = check_nonempty},
	{.name = "plugins.*.fallback", .kind = OPT_ENUM, .offset = offsetof(struct config_plugin, fallback),
	 .map = &plugin_map, .names = bool_names, .def = "true"},
	{.name = "plugins.*.tcp.max_connections", .kind = OPT_UINT,
	 .offset = offsetof(struct config_plugin, tcp_max_connections), .map = &plugin_map, .min = 1, .max = 100000,
	 .def = "1024"},
	{.name = "plugins.*.tcp.idle_timeout_ms", .kind = OPT_UINT,
	 .offset = offsetof(struct config_plugin, tcp_idle_timeout_ms), .map = &plugin_map, .min = 100,
	 .max = 3600000, .def = "300000"},
	LIST("fallback.servers", fallback.servers, check_endpoint, ""),
	UINT("fallback.timeout_ms", fallback.timeout_ms, 100, 30000, "2000"),
};

#undef CFG
#undef STRING
#undef UINT
#undef ENUM
#undef LIST

/** The row named exactly @p pattern, or NULL. */
static const struct option *find_row(const char *pattern)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		if (strcmp(options[i].name, pattern) == 0)
			return &options[i];
	}
	return NULL;
}

/** Is @p pattern a section: do some rows start with "@p pattern."? */
static bool has_rows_below(const char *pattern)
{
	size_t len = strlen(pattern);

	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		if (strncmp(options[i].name, pattern, len) == 0 && options[i].name[len] == '.')
			return true;
	}
	return false;
}

/** The map whose entries sit directly below @p pattern ("@p pattern.*.x" rows), or NULL. */
static const struct map_desc *map_below(const char *pattern)
{
	size_t len = strlen(pattern);

	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		if (options[i].map && strncmp(options[i].name, pattern, len) == 0 &&
		    strncmp(options[i].name + len, ".*.", 3) == 0)
			return options[i].map;
	}
	return NULL;
}

/* ------------------------------------------------------------------------- */
/* Origins: where each value came from.                                      */
/* ------------------------------------------------------------------------- */

/** Where one value came from. All zero: a built-in default. */
struct config_origin {
	char *where;      /**< owned: "FILE:LINE:COLUMN" or "--set KEY"; NULL: a built-in default */
	bool is_override; /**< where is "--set KEY", and KEY names the value that keeps this origin */
};

/**
 * How many origins an entry of @p map keeps, or the config itself (@p map
 * NULL): [0] for the entry (unused by the config), then one per row.
 */
static size_t origin_count(const struct map_desc *map)
{
	size_t n = 1;

	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		n += options[i].map == map;
	return n;
}

/** The slot of row @p o in its origins array (the config's, or its map entry's). */
static size_t origin_index(const struct option *o)
{
	size_t slot = 1;

	for (const struct option *p = options; p < o; p++)
		slot += p->map == o->map;
	return slot;
}

/** @return a new array of origin_count(@p map) empty origins, NULL if out of memory. */
static struct config_origin *origins_new(const struct map_desc *map)
{
	return calloc(origin_count(map), sizeof(struct config_origin));
}

/** Free @p origins (NULL is fine), an array of origin_count(@p map). */
static void origins_free(struct config_origin *origins, const struct map_desc *map)
{
	if (!origins)
		return;
	for (size_t i = 0, n = origin_count(map); i < n; i++)
		free(origins[i].where);
	free(origins);
}

/**
 * Deep-copy @p src (NULL: nothing to copy) into *@p dst, which must be NULL.
 * @return 0, -ENOMEM (a partial copy left in *@p dst for origins_free()).
 */
static int origins_copy(struct config_origin **dst, const struct config_origin *src, const struct map_desc *map)
{
	size_t n = origin_count(map);
	struct config_origin *d;

	if (!src)
		return 0;
	d = origins_new(map);
	if (!d)
		return -ENOMEM;
	*dst = d;
	for (size_t i = 0; i < n; i++) {
		d[i].is_override = src[i].is_override;
		if (src[i].where && !(d[i].where = strdup(src[i].where)))
			return -ENOMEM;
	}
	return 0;
}

/** Make *@p where (owned; moved, *@p where becomes NULL) the origin in @p slot. Cannot fail. */
static void origin_put(struct config_origin *slot, char **where, bool is_override)
{
	free(slot->where);
	slot->where = *where;
	slot->is_override = is_override;
	*where = NULL;
}

/** "@p a@p b". Not asprintf(): see expand_default(). @return owned string, NULL if out of memory. */
static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

/* ------------------------------------------------------------------------- */
/* Fields and map entries, reached through the table's offsets.              */
/* ------------------------------------------------------------------------- */

/* The entry array's pointer has the entry's own type; memcpy reads and writes it without aliasing it. */
static char *map_array(const struct rd_config *cfg, const struct map_desc *map)
{
	char *arr;

	memcpy(&arr, (const char *)cfg + map->array_off, sizeof(arr));
	return arr;
}

static size_t map_count(const struct rd_config *cfg, const struct map_desc *map)
{
	return *(const size_t *)((const char *)cfg + map->count_off);
}

static void map_store(struct rd_config *cfg, const struct map_desc *map, char *arr, size_t n)
{
	memcpy((char *)cfg + map->array_off, &arr, sizeof(arr));
	*(size_t *)((char *)cfg + map->count_off) = n;
}

static char **entry_name(const struct map_desc *map, char *entry)
{
	return (char **)(entry + map->name_off);
}

static struct config_origin **entry_origins(const struct map_desc *map, char *entry)
{
	return (struct config_origin **)(entry + map->origins_off);
}

/** The entry @p name of @p map, borrowed from @p cfg, or NULL. */
static char *entry_find(const struct rd_config *cfg, const struct map_desc *map, const char *name)
{
	char *arr = map_array(cfg, map);
	size_t n = map_count(cfg, map);

	for (size_t i = 0; i < n; i++) {
		char *entry = arr + i * map->entry_size;

		if (strcmp(*entry_name(map, entry), name) == 0)
			return entry;
	}
	return NULL;
}

static int apply_text(struct rd_config *cfg, const struct option *o, const char *entry, const char *text,
		      char **reason);
static void entry_free(const struct map_desc *map, char *entry);
static void map_free(struct rd_config *cfg, const struct map_desc *map);

/** @p def with its '*', if any, replaced by @p name. @return owned string, NULL if out of memory. */
static char *expand_default(const char *def, const char *name)
{
	const char *star = strchr(def, '*');
	size_t pre, len;
	char *s;

	if (!star)
		return strdup(def);
	pre = (size_t)(star - def);
	len = strlen(name);
	/* Not asprintf(): glibc's may succeed after a failed allocation, and the tests fail each one in turn. */
	s = malloc(pre + len + strlen(star + 1) + 1);
	if (!s)
		return NULL;
	memcpy(s, def, pre);
	memcpy(s + pre, name, len);
	strcpy(s + pre + len, star + 1);
	return s;
}

/**
 * Make a new entry @p name of @p map, holding its rows' defaults. A default
 * that fails its check ("hostmaster.*" for a long apex) is left unset, for
 * config_validate() to report.
 * @param[out] ret_entry an owned block of map->entry_size bytes (free with entry_free(), then free()).
 * @return 0, -ENOMEM (nothing left allocated).
 */
static int entry_new(const struct map_desc *map, const char *name, char **ret_entry)
{
	/* The defaults go through the --set path, which finds entries in a config: give it one of its own. */
	struct rd_config scratch = {0};
	char *entry = calloc(1, map->entry_size);
	char *copy = strdup(name);
	struct config_origin *origins = origins_new(map);

	if (!entry || !copy || !origins) {
		free(entry);
		free(copy);
		free(origins);
		return -ENOMEM;
	}
	*entry_name(map, entry) = copy;
	*entry_origins(map, entry) = origins;
	map_store(&scratch, map, entry, 1);
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct option *o = &options[i];
		char *text, *reason = NULL;
		int ret;

		if (o->map != map || !o->def)
			continue;
		text = expand_default(o->def, name);
		ret = text ? apply_text(&scratch, o, name, text, &reason) : -ENOMEM;
		free(reason);
		free(text);
		if (ret == -ENOMEM) {
			map_free(&scratch, map);
			return ret;
		}
	}
	*ret_entry = entry;
	return 0;
}

/**
 * Find the entry @p name of @p map, adding one with the rows' defaults if there is none.
 * @param[out] ret_entry the entry, borrowed from @p cfg (moves when the map grows); may be NULL.
 * @return 0, -EINVAL (map full, *reason set), -ENOMEM (nothing added).
 */
static int entry_get(struct rd_config *cfg, const struct map_desc *map, const char *name, char **ret_entry,
		     char **reason)
{
	char *arr = map_array(cfg, map);
	size_t n = map_count(cfg, map);
	char *entry = entry_find(cfg, map, name), *fresh;
	int ret;

	if (entry)
		goto out_found;
	if (n >= CONFIG_MAX_MAP_ENTRIES)
		return fail_reason(reason, "too many entries (at most %d)", CONFIG_MAX_MAP_ENTRIES);
	ret = entry_new(map, name, &fresh);
	if (ret < 0)
		return ret;
	/* The last allocation: a failure here or before leaves cfg as it was. */
	arr = realloc(arr, (n + 1) * map->entry_size);
	if (!arr) {
		entry_free(map, fresh);
		free(fresh);
		return -ENOMEM;
	}
	entry = arr + n * map->entry_size;
	memcpy(entry, fresh, map->entry_size);
	free(fresh);
	map_store(cfg, map, arr, n + 1);
out_found:
	if (ret_entry)
		*ret_entry = entry;
	return 0;
}

/** The storage of row @p o: in @p cfg, or in map entry @p entry (created if needed). @return 0, -EINVAL, -ENOMEM. */
static int field_of(struct rd_config *cfg, const struct option *o, const char *entry, void **ret_field,
		    char **reason)
{
	char *base = (char *)cfg;

	if (o->map) {
		int ret = entry_get(cfg, o->map, entry, &base, reason);

		if (ret < 0)
			return ret;
	}
	*ret_field = base + o->offset;
	return 0;
}

static void field_free(const struct option *o, void *field)
{
	if (o->kind == OPT_STRING) {
		free(*(char **)field);
		*(char **)field = NULL;
	} else if (o->kind == OPT_LIST) {
		strv_free(field);
	}
}

/** Deep-copy one field into zeroed @p dst. @return 0, -ENOMEM. */
static int field_copy(const struct option *o, void *dst, const void *src)
{
	const char *s;

	switch (o->kind) {
	case OPT_STRING:
		s = *(char *const *)src;
		if (s && !(*(char **)dst = strdup(s)))
			return -ENOMEM;
		return 0;
	case OPT_UINT:
		*(unsigned *)dst = *(const unsigned *)src;
		return 0;
	case OPT_ENUM:
		*(int *)dst = *(const int *)src;
		return 0;
	case OPT_LIST:
		return strv_copy(dst, src);
	}
	return -EINVAL;
}

static void entry_free(const struct map_desc *map, char *entry)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		if (options[i].map == map)
			field_free(&options[i], entry + options[i].offset);
	}
	free(*entry_name(map, entry));
	origins_free(*entry_origins(map, entry), map);
	if (map->free_extra)
		map->free_extra(entry);
}

static void map_free(struct rd_config *cfg, const struct map_desc *map)
{
	char *arr = map_array(cfg, map);
	size_t n = map_count(cfg, map);

	for (size_t i = 0; i < n; i++)
		entry_free(map, arr + i * map->entry_size);
	free(arr);
	map_store(cfg, map, NULL, 0);
}

/** Deep-copy entry @p src into zeroed @p dst. @return 0, -ENOMEM (partial copy left for entry_free). */
static int entry_copy(const struct map_desc *map, char *dst, char *src)
{
	if (!(*entry_name(map, dst) = strdup(*entry_name(map, src))))
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct option *o = &options[i];

		if (o->map == map && field_copy(o, dst + o->offset, src + o->offset) < 0)
			return -ENOMEM;
	}
	if (map->copy_extra && map->copy_extra(dst, src) < 0)
		return -ENOMEM;
	return origins_copy(entry_origins(map, dst), *entry_origins(map, src), map);
}

/** Deep-copy the entries of @p map. @return 0, -ENOMEM (partial copy left for map_free). */
static int map_copy(struct rd_config *dst, const struct rd_config *src, const struct map_desc *map)
{
	size_t n = map_count(src, map);
	char *sarr = map_array(src, map);
	char *darr;

	if (n == 0)
		return 0;
	darr = calloc(n, map->entry_size);
	if (!darr)
		return -ENOMEM;
	map_store(dst, map, darr, n);
	for (size_t i = 0; i < n; i++) {
		if (entry_copy(map, darr + i * map->entry_size, sarr + i * map->entry_size) < 0)
			return -ENOMEM;
	}
	return 0;
}

/** Deep-copy @p src into @p dst (overwritten, not freed). @return 0, -ENOMEM (@p dst then empty). */
static int config_copy(struct rd_config *dst, const struct rd_config *src)
{
	int ret = 0;

	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < ARRAY_SIZE(options) && ret == 0; i++) {
		const struct option *o = &options[i];

		if (!o->map)
			ret = field_copy(o, (char *)dst + o->offset, (const char *)src + o->offset);
	}
	for (size_t i = 0; i < ARRAY_SIZE(maps) && ret == 0; i++)
		ret = map_copy(dst, src, maps[i]);
	if (ret == 0)
		ret = origins_copy(&dst->origins, src->origins, NULL);
	if (ret < 0)
		config_deinit(dst);
	return ret;
}

/* ------------------------------------------------------------------------- */
/* Plugin-specific values (struct config_raw).                               */
/* ------------------------------------------------------------------------- */

static void raw_free(struct config_raw *r)
{
	free(r->key);
	free(r->text);
	strv_free(&r->items);
	free(r->where);
	memset(r, 0, sizeof(*r));
}

static void plugin_free_extra(char *entry)
{
	struct config_plugin *p = (struct config_plugin *)entry;

	for (size_t i = 0; i < p->n_raw; i++)
		raw_free(&p->raw[i]);
	free(p->raw);
	p->raw = NULL;
	p->n_raw = 0;
}

/** Deep-copy @p src into zeroed @p dst. @return 0, -ENOMEM (a partial copy left for raw_free()). */
static int raw_copy(struct config_raw *dst, const struct config_raw *src)
{
	dst->leaf_off = src->leaf_off;
	dst->kind = src->kind;
	dst->is_string = src->is_string;
	dst->plain = src->plain;
	dst->is_null = src->is_null;
	dst->from_set = src->from_set;
	if (!(dst->key = strdup(src->key)))
		return -ENOMEM;
	if (src->text && !(dst->text = strdup(src->text)))
		return -ENOMEM;
	if (src->where && !(dst->where = strdup(src->where)))
		return -ENOMEM;
	return strv_copy(&dst->items, &src->items);
}

static int plugin_copy_extra(char *dst, const char *src)
{
	struct config_plugin *d = (struct config_plugin *)dst;
	const struct config_plugin *s = (const struct config_plugin *)src;

	d->raw = NULL;
	d->n_raw = 0;
	if (s->n_raw == 0)
		return 0;
	d->raw = calloc(s->n_raw, sizeof(*d->raw));
	if (!d->raw)
		return -ENOMEM;
	d->n_raw = s->n_raw;
	for (size_t i = 0; i < s->n_raw; i++) {
		if (raw_copy(&d->raw[i], &s->raw[i]) < 0)
			return -ENOMEM;
	}
	return 0;
}

long config_plugin_raw_index(const struct config_plugin *p, const char *key)
{
	for (size_t i = 0; i < p->n_raw; i++) {
		if (strcmp(p->raw[i].key, key) == 0)
			return (long)i;
	}
	return -1;
}

/**
 * Store @p node (moved: zeroed on success) in @p p, replacing the value of
 * the same key. @return 0, -EINVAL (*reason set: too many values), -ENOMEM.
 */
static int raw_put(struct config_plugin *p, struct config_raw *node, char **reason)
{
	long at = config_plugin_raw_index(p, node->key);
	struct config_raw *arr;

	if (at >= 0) {
		raw_free(&p->raw[at]);
		p->raw[at] = *node;
		memset(node, 0, sizeof(*node));
		return 0;
	}
	if (p->n_raw >= RAW_MAX_VALUES)
		return fail_reason(reason, "too many values (at most %d)", RAW_MAX_VALUES);
	arr = realloc(p->raw, (p->n_raw + 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	p->raw = arr;
	p->raw[p->n_raw++] = *node;
	memset(node, 0, sizeof(*node));
	return 0;
}

/** Is @p s (@p len bytes) a plugin key segment: printable ASCII, no space, no '*'? */
static bool is_raw_segment(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_graph(s[i]) || s[i] == '*')
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------------- */
/* Setting values: shared by defaults, --set and YAML.                       */
/* ------------------------------------------------------------------------- */

/** Set *reason to "'TEXT' is not one of A|B|C". @return -EINVAL, -ENOMEM. */
static int fail_choice(const struct option *o, const char *text, char **reason)
{
	char *choices = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&choices, &size);
	int ret;

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; o->names[i]; i++)
		fprintf(f, "%s%s", i ? "|" : "", o->names[i]);
	if (fclose(f) != 0) {
		free(choices);
		return -ENOMEM;
	}
	ret = fail_reason(reason, "'%s' is not one of %s", echo_of(text).s, choices);
	free(choices);
	return ret;
}

static int set_string(struct rd_config *cfg, const struct option *o, const char *entry, const char *text,
		      char **reason)
{
	char *copy = strdup(text);
	void *field = NULL;
	int ret;

	if (!copy)
		return -ENOMEM;
	ret = o->check(copy, reason);
	if (ret == 0)
		ret = field_of(cfg, o, entry, &field, reason);
	if (ret < 0) {
		free(copy);
		return ret;
	}
	free(*(char **)field);
	*(char **)field = copy;
	return 0;
}

static int set_uint(struct rd_config *cfg, const struct option *o, const char *entry, const char *text,
		    char **reason)
{
	unsigned value;
	void *field;
	int ret = parse_uint(text, o->min, o->max, &value);

	if (ret == -EINVAL)
		return fail_reason(reason, "expected an integer");
	if (ret < 0)
		return fail_reason(reason, "%s is out of range %u..%u", echo_of(text).s, o->min, o->max);
	ret = field_of(cfg, o, entry, &field, reason);
	if (ret < 0)
		return ret;
	*(unsigned *)field = value;
	return 0;
}

static int set_enum(struct rd_config *cfg, const struct option *o, const char *entry, const char *text,
		    char **reason)
{
	void *field;

	for (int i = 0; o->names[i]; i++) {
		if (strcmp(text, o->names[i]) != 0)
			continue;
		int ret = field_of(cfg, o, entry, &field, reason);

		if (ret < 0)
			return ret;
		*(int *)field = i;
		return 0;
	}
	return fail_choice(o, text, reason);
}

/** Check and store scalar @p text in row @p o (of map entry @p entry). @return 0, -EINVAL (*reason set), -ENOMEM. */
static int set_scalar(struct rd_config *cfg, const struct option *o, const char *entry, const char *text,
		      char **reason)
{
	switch (o->kind) {
	case OPT_STRING:
		return set_string(cfg, o, entry, text, reason);
	case OPT_UINT:
		return set_uint(cfg, o, entry, text, reason);
	case OPT_ENUM:
		return set_enum(cfg, o, entry, text, reason);
	case OPT_LIST:
		break;
	}
	return -EINVAL;
}

/** Store the already checked @p items in list row @p o; they move on success. @return 0, -EINVAL, -ENOMEM. */
static int set_list(struct rd_config *cfg, const struct option *o, const char *entry, struct config_strv *items,
		    char **reason)
{
	void *field;
	int ret = field_of(cfg, o, entry, &field, reason);

	if (ret < 0)
		return ret;
	strv_free(field);
	*(struct config_strv *)field = *items;
	items->v = NULL;
	items->n = 0;
	return 0;
}

/** Check the item between @p start and @p end (trimmed) and append it to @p items. @return 0, -EINVAL, -ENOMEM. */
static int split_item(const struct option *o, const char *start, const char *end, struct config_strv *items,
		      char **reason)
{
	char *item;
	int ret;

	while (start < end && *start == ' ')
		start++;
	while (end > start && end[-1] == ' ')
		end--;
	if (start == end)
		return fail_reason(reason, "empty list item");
	item = strndup(start, (size_t)(end - start));
	if (!item)
		return -ENOMEM;
	ret = o->check(item, reason);
	if (ret == 0)
		ret = strv_push(items, item);
	if (ret < 0)
		free(item);
	return ret;
}

/** Split comma-separated @p text into checked @p items; "" is the empty list. @return 0, -EINVAL, -ENOMEM. */
static int split_list(const struct option *o, const char *text, struct config_strv *items, char **reason)
{
	if (text[strspn(text, " ")] == '\0')
		return 0;
	for (;;) {
		const char *comma = strchrnul(text, ',');
		int ret = split_item(o, text, comma, items, reason);

		if (ret < 0)
			return ret;
		if (*comma == '\0')
			return 0;
		text = comma + 1;
	}
}

/** Apply --set style @p text to row @p o. @return 0, -EINVAL (*reason set), -ENOMEM. */
static int apply_text(struct rd_config *cfg, const struct option *o, const char *entry, const char *text,
		      char **reason)
{
	struct config_strv items = {0};
	int ret;

	if (o->kind != OPT_LIST)
		return set_scalar(cfg, o, entry, text, reason);
	ret = split_list(o, text, &items, reason);
	if (ret == 0)
		ret = set_list(cfg, o, entry, &items, reason);
	strv_free(&items);
	return ret;
}

/**
 * Record where row @p o's value (of map entry @p entry, which exists) came
 * from: @p where[0]; and @p where[1] (may be NULL) as the entry's origin if it
 * has none yet. Takes the strings it keeps, setting their pointers to NULL.
 * Cannot fail.
 */
static void origins_record(struct rd_config *cfg, const struct option *o, const char *entry, char *where[2],
			   bool is_override)
{
	struct config_origin *origins = cfg->origins;

	if (o->map) {
		char *e = entry_find(cfg, o->map, entry);

		origins = e ? *entry_origins(o->map, e) : NULL;
	}
	/* NULL: a struct that config_init() did not fill keeps no origins. */
	if (!origins)
		return;
	origin_put(&origins[origin_index(o)], &where[0], is_override);
	if (o->map && where[1] && !origins[0].where)
		origin_put(&origins[0], &where[1], false);
}

/**
 * The origins an override of @p key (row @p o) records: "--set KEY" for the
 * value and, for a map row, a copy for the entry it may create.
 * @param[out] ret_where two owned strings, the second NULL for a plain row.
 * @return 0, -ENOMEM.
 */
static int override_origins(const char *key, const struct option *o, char *ret_where[2])
{
	char *value = concat("--set ", key);
	char *entry = o->map && value ? strdup(value) : NULL;

	if (!value || (o->map && !entry)) {
		free(value);
		free(entry);
		return -ENOMEM;
	}
	ret_where[0] = value;
	ret_where[1] = entry;
	return 0;
}

/**
 * Find the row for dotted @p key; for a map row, also the entry name (the
 * part the '*' stands for, checked and normalized).
 * @param[out] ret_entry owned entry name, NULL for a plain row.
 * @return 0, -EINVAL (*reason set), -ENOMEM.
 */
static int resolve_key(const char *key, const struct option **ret_row, char **ret_entry, char **reason)
{
	size_t key_len = strlen(key);

	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct option *o = &options[i];
		const char *star = strchr(o->name, '*');
		size_t pre, suf;
		char *entry;
		int ret;

		if (!star) {
			if (strcmp(o->name, key) != 0)
				continue;
			*ret_row = o;
			*ret_entry = NULL;
			return 0;
		}
		pre = (size_t)(star - o->name);
		suf = strlen(star + 1);
		if (key_len <= pre + suf || strncmp(key, o->name, pre) != 0 || strcmp(key + key_len - suf, star + 1) != 0)
			continue;
		entry = strndup(key + pre, key_len - pre - suf);
		if (!entry)
			return -ENOMEM;
		ret = o->map->check_name(entry, reason);
		if (ret < 0) {
			free(entry);
			return ret;
		}
		*ret_row = o;
		*ret_entry = entry;
		return 0;
	}
	return fail_reason(reason, "unknown key");
}

/* ------------------------------------------------------------------------- */
/* Public: defaults, release, --set, validation.                             */
/* ------------------------------------------------------------------------- */

int config_init(struct rd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->origins = origins_new(NULL);
	if (!cfg->origins)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		char *reason = NULL;
		int ret;

		/* A map row's default is for each entry it creates (entry_get()). */
		if (!options[i].def || options[i].map)
			continue;
		ret = apply_text(cfg, &options[i], NULL, options[i].def, &reason);
		free(reason);
		if (ret < 0) {
			config_deinit(cfg);
			return ret;
		}
	}
	/* Built-in entries keep no origin: config_plugin_is_explicit() tells them from named ones. */
	for (size_t i = 0; i < ARRAY_SIZE(default_plugins); i++) {
		char *reason = NULL;
		int ret = entry_get(cfg, &plugin_map, default_plugins[i], NULL, &reason);

		free(reason);
		if (ret < 0) {
			config_deinit(cfg);
			return ret;
		}
	}
	return 0;
}

void config_deinit(struct rd_config *cfg)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		if (!options[i].map)
			field_free(&options[i], (char *)cfg + options[i].offset);
	}
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++)
		map_free(cfg, maps[i]);
	origins_free(cfg->origins, NULL);
	memset(cfg, 0, sizeof(*cfg));
}

/**
 * Build the --set value of plugin key @p rel ("users.alice.password").
 * @return 0, -EINVAL (*reason set), -ENOMEM (@p node left for raw_free()).
 */
static int raw_from_set(const char *key, const char *rel, const char *text, struct config_raw *node, char **reason)
{
	static const struct option any = {.kind = OPT_LIST, .check = check_nonempty};
	const char *dot = strrchr(rel, '.');

	node->kind = CONFIG_RAW_SCALAR;
	node->leaf_off = dot ? (size_t)(dot - rel) + 1 : 0;
	node->is_string = node->plain = node->from_set = true;
	if (!(node->key = strdup(rel)) || !(node->text = strdup(text)) || !(node->where = concat("--set ", key)))
		return -ENOMEM;
	/* A plugin list option takes "a,b,c", as core lists do. */
	return split_list(&any, text, &node->items, reason);
}

/** Append @p node (moved) to @p p, whose array has room (raw_reserve()); or replace the same key. Cannot fail. */
static void raw_put_reserved(struct config_plugin *p, struct config_raw *node)
{
	long at = config_plugin_raw_index(p, node->key);

	if (at >= 0)
		raw_free(&p->raw[at]);
	else
		at = (long)p->n_raw++;
	p->raw[at] = *node;
	memset(node, 0, sizeof(*node));
}

/** The nodes a --set of @p rel adds to @p p (NULL: a new entry): the missing parents, then the value. */
struct raw_set {
	struct config_raw nodes[RAW_MAX_DEPTH]; /**< owned until stored */
	size_t n;
	size_t n_new;                           /**< how many are not in @p p yet */
};

/** Build @p rs for "--set KEY=TEXT" of plugin key @p rel. @return 0, -EINVAL (*reason set), -ENOMEM. */
static int raw_set_build(const struct config_plugin *p, const char *key, const char *rel, const char *text,
			 struct raw_set *rs, char **reason)
{
	/* set_raw() checked the depth: the parents and the value fit in rs->nodes. */
	for (const char *dot = strchr(rel, '.'); dot; dot = strchr(dot + 1, '.')) {
		struct config_raw *node = &rs->nodes[rs->n];
		const char *up = memrchr(rel, '.', (size_t)(dot - rel));

		node->kind = CONFIG_RAW_MAP;
		node->from_set = true;
		node->leaf_off = up ? (size_t)(up - rel) + 1 : 0;
		if (!(node->key = strndup(rel, (size_t)(dot - rel))))
			return -ENOMEM;
		if (p && config_plugin_raw_index(p, node->key) >= 0) {
			raw_free(node);
			continue;
		}
		if (!(node->where = concat("--set ", key)))
			return -ENOMEM;
		rs->n++;
		rs->n_new++;
	}
	rs->n_new += !p || config_plugin_raw_index(p, rel) < 0;
	return raw_from_set(key, rel, text, &rs->nodes[rs->n++], reason);
}

/** Is @p key "plugins.NAME.KEY" with a KEY no row describes (the plugin's own)? Makes no allocation. */
static bool is_raw_key(const char *key)
{
	const char *dot;

	if (strncmp(key, "plugins.", 8) != 0 || !(dot = strchr(key + 8, '.')))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		if (options[i].map == &plugin_map && strcmp(options[i].name + strlen("plugins.*"), dot) == 0)
			return false;
	}
	return true;
}

/**
 * --set of a plugin's own key "plugins.NAME.KEY=TEXT": kept as text for the
 * plugin's getters, as a YAML value would be. Every allocation comes before
 * the first change, so a failure changes nothing.
 * @return 0, -EINVAL (*reason set), -ENOMEM.
 */
static int set_raw(struct rd_config *cfg, const char *key, const char *text, char **reason)
{
	const char *name = key + 8, *dot = strchr(name, '.'), *rel;
	struct raw_set rs = {0};
	struct config_plugin *p;
	struct config_raw *arr = NULL;
	char *entry, *e, *where = NULL;
	int ret, depth = 0;

	if (!dot)
		return fail_reason(reason, "unknown key");
	rel = dot + 1;
	for (const char *seg = rel;; depth++) {
		const char *end = strchrnul(seg, '.');

		if (!is_raw_segment(seg, (size_t)(end - seg)))
			return fail_reason(reason, "'%s' is not a plugin option name", echo_of(rel).s);
		if (depth >= RAW_MAX_DEPTH)
			return fail_reason(reason, "'%s' is nested deeper than %d levels", echo_of(rel).s, RAW_MAX_DEPTH);
		if (*end == '\0')
			break;
		seg = end + 1;
	}
	entry = strndup(name, (size_t)(dot - name));
	if (!entry)
		return -ENOMEM;
	ret = check_plugin_name(entry, reason);
	if (ret < 0)
		goto out;
	p = (struct config_plugin *)entry_find(cfg, &plugin_map, entry);
	ret = raw_set_build(p, key, rel, text, &rs, reason);
	if (ret == 0 && (!p || !config_plugin_is_explicit(p)) && !(where = concat("--set ", key)))
		ret = -ENOMEM;
	if (ret == 0 && p && p->n_raw + rs.n_new > RAW_MAX_VALUES)
		ret = fail_reason(reason, "too many values (at most %d)", RAW_MAX_VALUES);
	if (ret < 0)
		goto out;
	/* Make room first: a bigger array holding the same values changes nothing visible. */
	arr = realloc(p ? p->raw : NULL, ((p ? p->n_raw : 0) + rs.n_new + 1) * sizeof(*arr));
	if (!arr) {
		ret = -ENOMEM;
		goto out;
	}
	if (p)
		p->raw = arr;
	if (!p) {
		/* The last step that can fail; the new entry has no values yet. */
		ret = entry_get(cfg, &plugin_map, entry, &e, reason);
		if (ret < 0) {
			free(arr);
			goto out;
		}
		p = (struct config_plugin *)e;
		p->raw = arr;
	}
	for (size_t i = 0; i < rs.n; i++)
		raw_put_reserved(p, &rs.nodes[i]);
	if (where && p->origins && !p->origins[0].where)
		origin_put(&p->origins[0], &where, false);
out:
	/* All of them: a node being built when an allocation failed is not counted in rs.n. */
	for (size_t i = 0; i < RAW_MAX_DEPTH; i++)
		raw_free(&rs.nodes[i]);
	free(where);
	free(entry);
	return ret;
}

int config_set(struct rd_config *cfg, const char *assignment, char **ret_error)
{
	const char *eq = strchr(assignment, '=');
	const struct option *o = NULL;
	char *key, *entry = NULL, *reason = NULL;
	char *where[2] = {NULL, NULL};
	int ret;

	if (!eq)
		return error_set(ret_error, -EINVAL, "--set %s: expected KEY=VALUE", echo_of(assignment).s);
	key = strndup(assignment, (size_t)(eq - assignment));
	if (!key)
		return error_set(ret_error, -ENOMEM, "--set: out of memory");
	if (is_raw_key(key)) {
		ret = set_raw(cfg, key, eq + 1, &reason);
		if (ret < 0)
			error_set(ret_error, ret, "--set %s: %s", echo_of(key).s, reason ? reason : "out of memory");
		goto out_free;
	}
	ret = resolve_key(key, &o, &entry, &reason);
	if (ret == 0)
		ret = override_origins(key, o, where);
	if (ret == 0)
		ret = apply_text(cfg, o, entry, eq + 1, &reason);
	if (ret == 0)
		origins_record(cfg, o, entry, where, true);
	else
		error_set(ret_error, ret, "--set %s: %s", echo_of(key).s, reason ? reason : "out of memory");
out_free:
	free(where[0]);
	free(where[1]);
	free(reason);
	free(entry);
	free(key);
	return ret;
}

/** The origin of row @p row in @p origins (the config's or an entry's), or NULL if none are kept. */
static const struct config_origin *origin_of(const struct config_origin *origins, const char *row)
{
	return origins ? &origins[origin_index(find_row(row))] : NULL;
}

/** The origin of the map entry that keeps @p origins, or NULL. */
static const struct config_origin *entry_origin(const struct config_origin *origins)
{
	return origins ? &origins[0] : NULL;
}

/**
 * Fail validation with the message @p fmt, placed where the offending value
 * came from: @p own, its origin, or else @p other, a related value's. When
 * @p named, the message starts "NAME: " with the name of @p own's option,
 * which "--set NAME" replaces; see config_validate() for the forms.
 * @return -EINVAL (*@p ret_error NULL if out of memory).
 */
__attribute__((format(printf, 5, 6))) static int fail_at(char **ret_error, const struct config_origin *own,
							  const struct config_origin *other, bool named,
							  const char *fmt, ...)
{
	const struct config_origin *at = own && own->where ? own : other && other->where ? other : NULL;
	const char *text;
	char *message;
	va_list ap;
	int n;

	if (!ret_error)
		return -EINVAL;
	va_start(ap, fmt);
	n = vasprintf(&message, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*ret_error = NULL;
		return -EINVAL;
	}
	if (!at) {
		*ret_error = message;
		return -EINVAL;
	}
	text = message;
	/* Option names hold no ": ", so the first one ends the name. */
	if (named && at == own && own->is_override && strstr(message, ": "))
		text = strstr(message, ": ") + 2;
	if (asprintf(ret_error, "%s: %s", at->where, text) < 0)
		*ret_error = NULL;
	free(message);
	return -EINVAL;
}

/** Every token has a secret, and no two share one. @return 0, -EINVAL. */
static int validate_tokens(const struct rd_config *cfg, char **ret_error)
{
	const struct config_token *t = cfg->http.tokens;

	for (size_t i = 0; i < cfg->http.n_tokens; i++) {
		const struct config_origin *token = origin_of(t[i].origins, "http.tokens.*.token");
		const struct config_origin *entry = entry_origin(t[i].origins);

		if (!t[i].token)
			return fail_at(ret_error, token, entry, true, "http.tokens.%s.token: missing", t[i].name);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(t[j].token, t[i].token) == 0)
				return fail_at(ret_error, token, entry, false,
					       "http.tokens.%s and http.tokens.%s have the same token", t[j].name,
					       t[i].name);
		}
	}
	return 0;
}

/** Every zone has a name server and a hostmaster (their defaults may not have fitted). @return 0, -EINVAL. */
static int validate_zones(const struct rd_config *cfg, char **ret_error)
{
	const struct config_zone *z = cfg->dns.zones;

	for (size_t i = 0; i < cfg->dns.n_zones; i++) {
		const struct config_origin *entry = entry_origin(z[i].origins);

		if (z[i].ns.n == 0)
			return fail_at(ret_error, origin_of(z[i].origins, "dns.dht_zones.*.ns"), entry, true,
				       "dns.dht_zones.%s.ns: at least one name server is required", z[i].apex);
		if (!z[i].hostmaster)
			return fail_at(ret_error, origin_of(z[i].origins, "dns.dht_zones.*.hostmaster"), entry, true,
				       "dns.dht_zones.%s.hostmaster: missing", z[i].apex);
	}
	return 0;
}

/** An endpoint reduced for comparison: an IPv4-mapped IPv6 address counts as the IPv4 one. */
struct endpoint {
	int family;       /**< AF_INET or AF_INET6 */
	uint8_t addr[16]; /**< network byte order, zero-padded for IPv4 */
	unsigned port;
};

/** The endpoint @p text (as check_endpoint() passed it); family 0 if it is not one. */
static struct endpoint endpoint_of(const char *text)
{
	struct endpoint e = {0};
	struct sockaddr_storage ss;
	socklen_t len;

	if (config_parse_endpoint(text, &ss, &len) < 0)
		return e;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

		e.family = AF_INET;
		memcpy(e.addr, &sin->sin_addr, 4);
		e.port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
		bool mapped = IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr);

		e.family = mapped ? AF_INET : AF_INET6;
		memcpy(e.addr, sin6->sin6_addr.s6_addr + (mapped ? 12 : 0), mapped ? 4 : 16);
		e.port = ntohs(sin6->sin6_port);
	}
	return e;
}

static bool endpoint_is_any(const struct endpoint *e)
{
	static const uint8_t zero[16];

	return memcmp(e->addr, zero, sizeof(zero)) == 0;
}

static bool endpoint_is_loopback(const struct endpoint *e)
{
	static const uint8_t v6_loopback[16] = {[15] = 1};

	if (e->family == AF_INET)
		return e->addr[0] == 127;
	return memcmp(e->addr, v6_loopback, sizeof(v6_loopback)) == 0;
}

/** Would a query forwarded to @p up come back to our own listener @p listen? */
static bool forwards_to_self(const struct endpoint *up, const struct endpoint *listen)
{
	if (up->family != listen->family || up->port != listen->port)
		return false;
	if (memcmp(up->addr, listen->addr, sizeof(up->addr)) == 0)
		return true;
	/* A wildcard listener also answers on loopback, and connecting to a wildcard address reaches this host. */
	return endpoint_is_any(listen) && (endpoint_is_loopback(up) || endpoint_is_any(up));
}

/** No upstream is one of our own DNS listeners. @return 0, -EINVAL. */
static int validate_forward(const struct rd_config *cfg, char **ret_error)
{
	const struct config_strv *up = &cfg->dns.forward.upstreams, *listen = &cfg->dns.listen;

	for (size_t i = 0; i < up->n; i++) {
		struct endpoint u = endpoint_of(up->v[i]);

		for (size_t j = 0; j < listen->n; j++) {
			struct endpoint l = endpoint_of(listen->v[j]);

			if (u.family != 0 && forwards_to_self(&u, &l))
				return fail_at(ret_error, origin_of(cfg->origins, "dns.forward.upstreams"),
					       origin_of(cfg->origins, "dns.listen"), true,
					       "dns.forward.upstreams: '%s' is this server's dns.listen '%s' "
					       "(forwarding loop)",
					       up->v[i], listen->v[j]);
		}
	}
	return 0;
}

int config_validate(const struct rd_config *cfg, char **ret_error)
{
	int ret;

	/* Blame default_expires; if it is still the default, the max_expires that went below it. */
	if (cfg->publish.default_expires > cfg->publish.max_expires)
		return fail_at(ret_error, origin_of(cfg->origins, "publish.default_expires"),
			       origin_of(cfg->origins, "publish.max_expires"), true,
			       "publish.default_expires: %u is greater than publish.max_expires (%u)",
			       cfg->publish.default_expires, cfg->publish.max_expires);
	if (cfg->http.listen.n == 0)
		return fail_at(ret_error, origin_of(cfg->origins, "http.listen"), NULL, true,
			       "http.listen: at least one address is required");
	ret = validate_tokens(cfg, ret_error);
	if (ret == 0)
		ret = validate_zones(cfg, ret_error);
	if (ret == 0)
		ret = validate_forward(cfg, ret_error);
	return ret;
}

/* ------------------------------------------------------------------------- */
/* Plugin sections, for the host's config getters.                           */
/* ------------------------------------------------------------------------- */

const struct config_plugin *config_plugin_find(const struct rd_config *cfg, const char *name)
{
	return (const struct config_plugin *)entry_find(cfg, &plugin_map, name);
}

bool config_plugin_is_explicit(const struct config_plugin *p)
{
	return p->origins && p->origins[0].where;
}

int config_raw_string(const struct config_raw *r, const char **ret, char **ret_reason)
{
	if (r->kind != CONFIG_RAW_SCALAR || !(r->is_string || r->from_set))
		return fail_reason(ret_reason, "expected a string");
	*ret = r->text;
	return 0;
}

int config_raw_uint(const struct config_raw *r, unsigned min, unsigned max, unsigned *ret, char **ret_reason)
{
	unsigned value;
	int rc;

	if (r->kind != CONFIG_RAW_SCALAR || !(r->plain || r->from_set) || r->is_null)
		return fail_reason(ret_reason, "expected an integer");
	rc = parse_uint(r->text, min, max, &value);
	if (rc == -EINVAL)
		return fail_reason(ret_reason, "expected an integer");
	if (rc < 0)
		return fail_reason(ret_reason, "%s is out of range %u..%u", echo_of(r->text).s, min, max);
	*ret = value;
	return 0;
}

int config_raw_bool(const struct config_raw *r, int *ret, char **ret_reason)
{
	if (r->kind == CONFIG_RAW_SCALAR && (r->plain || r->from_set)) {
		if (strcmp(r->text, "true") == 0) {
			*ret = 1;
			return 0;
		}
		if (strcmp(r->text, "false") == 0) {
			*ret = 0;
			return 0;
		}
	}
	return fail_reason(ret_reason, "expected true or false");
}

int config_raw_list(const struct config_raw *r, const char *const **ret_v, size_t *ret_n, char **ret_reason)
{
	if (r->kind == CONFIG_RAW_MAP)
		return fail_reason(ret_reason, "expected a list");
	*ret_v = (const char *const *)r->items.v;
	*ret_n = r->items.n;
	return 0;
}

char *config_plugin_message(const struct config_plugin *p, const struct config_raw *r, const char *key,
			    const char *reason)
{
	const char *at = r ? r->where : config_plugin_is_explicit(p) ? p->origins[0].where : NULL;
	char *name = NULL, *msg = NULL;
	int n;

	if (asprintf(&name, "plugins.%s.%s", p->name, key) < 0)
		return NULL;
	/* "--set NAME: reason" when the override set this very value, as for core options. */
	if (r && r->from_set && at && strcmp(at + 6, name) == 0)
		n = asprintf(&msg, "%s: %s", at, reason);
	else if (at)
		n = asprintf(&msg, "%s: %s: %s", at, name, reason);
	else
		n = asprintf(&msg, "%s: %s", name, reason);
	free(name);
	return n < 0 ? NULL : msg;
}

/* ------------------------------------------------------------------------- */
/* YAML loading.                                                             */
/* ------------------------------------------------------------------------- */

/** One config_load() pass over a YAML text. */
struct loader {
	yaml_parser_t parser;
	yaml_event_t event;    /**< the current event; owned while have_event */
	bool have_event;
	const char *path;      /**< borrowed: the file name, for messages */
	const char *text;      /**< borrowed: the file contents, to place reader errors */
	struct rd_config *cfg; /**< borrowed: the configuration being filled */
	char *error;           /**< owned: "FILE:LINE:COLUMN: reason" once failed */
	bool have_anchor;      /**< an anchor was seen: refused at the document's end if no alias was first */
	struct echo anchor;    /**< the first anchor's name, echoed */
	yaml_mark_t anchor_mark; /**< where the first anchor is */
};

/** Record the first error, at @p mark (0-based; printed 1-based). @return -EINVAL, -ENOMEM. */
__attribute__((format(printf, 3, 4))) static int loader_fail(struct loader *l, yaml_mark_t mark, const char *fmt,
							     ...)
{
	char *reason;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&reason, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	free(l->error);
	n = asprintf(&l->error, "%s:%zu:%zu: %s", l->path, mark.line + 1, mark.column + 1, reason);
	free(reason);
	if (n < 0) {
		l->error = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}

/** Report @p reason (owned; NULL after -ENOMEM) about @p name at @p mark. @return @p ret, or -ENOMEM. */
static int loader_fail_option(struct loader *l, yaml_mark_t mark, const char *name, int ret, char *reason)
{
	if (!reason)
		return ret;
	ret = loader_fail(l, mark, "%s: %s", name, reason);
	free(reason);
	return ret;
}

/**
 * The origin of a value at @p mark: "FILE:LINE:COLUMN".
 * @param[out] ret_where owned string. @return 0, -ENOMEM.
 */
static int loader_where(const struct loader *l, yaml_mark_t mark, char **ret_where)
{
	char pos[2 * sizeof(":18446744073709551615")];
	char *where;

	snprintf(pos, sizeof(pos), ":%zu:%zu", mark.line + 1, mark.column + 1);
	where = concat(l->path, pos);
	if (!where)
		return -ENOMEM;
	*ret_where = where;
	return 0;
}

/** The line and column of byte @p offset of the text. */
static yaml_mark_t mark_at(const char *text, size_t offset)
{
	yaml_mark_t mark = {.index = offset};

	for (size_t i = 0; i < offset; i++) {
		mark.column++;
		if (text[i] == '\n') {
			mark.line++;
			mark.column = 0;
		}
	}
	return mark;
}

/** Turn libyaml's parse failure into an error. @return -EINVAL, -ENOMEM. */
static int loader_syntax_error(struct loader *l)
{
	const yaml_parser_t *p = &l->parser;
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (p->error == YAML_READER_ERROR) {
		yaml_mark_t mark = mark_at(l->text, p->problem_offset);

		if (p->problem_value != -1)
			return loader_fail(l, mark, "%s (0x%02X)", problem, (unsigned)p->problem_value);
		return loader_fail(l, mark, "%s", problem);
	}
	if (p->context)
		return loader_fail(l, p->problem_mark, "%s %s", problem, p->context);
	return loader_fail(l, p->problem_mark, "%s", problem);
}

/** The anchor ("&name") on a node event, or NULL. */
static const char *event_anchor(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return (const char *)ev->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return (const char *)ev->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return (const char *)ev->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

static bool event_has_tag(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return ev->data.scalar.tag != NULL;
	case YAML_SEQUENCE_START_EVENT:
		return ev->data.sequence_start.tag != NULL;
	case YAML_MAPPING_START_EVENT:
		return ev->data.mapping_start.tag != NULL;
	default:
		return false;
	}
}

static const char *scalar_text(const yaml_event_t *ev)
{
	return (const char *)ev->data.scalar.value;
}

/**
 * Move to the next event, refusing syntax errors, aliases, tags and NUL
 * bytes, and noting the first anchor for load_stream() to refuse.
 * @return 0, -EINVAL, -ENOMEM.
 */
static int loader_next(struct loader *l)
{
	const yaml_event_t *ev = &l->event;

	if (l->have_event)
		yaml_event_delete(&l->event);
	l->have_event = false;
	if (!yaml_parser_parse(&l->parser, &l->event))
		return loader_syntax_error(l);
	l->have_event = true;
	/* An anchor expands nothing by itself: an alias using it is the error to report, where it is. */
	if (event_anchor(ev) && !l->have_anchor) {
		l->have_anchor = true;
		l->anchor = echo_of(event_anchor(ev));
		l->anchor_mark = ev->start_mark;
	}
	if (ev->type == YAML_ALIAS_EVENT)
		return loader_fail(l, ev->start_mark, "YAML aliases are not supported");
	if (event_has_tag(ev))
		return loader_fail(l, ev->start_mark, "YAML tags are not supported");
	if (ev->type == YAML_SCALAR_EVENT && strlen(scalar_text(ev)) != ev->data.scalar.length)
		return loader_fail(l, ev->start_mark, "NUL characters are not allowed");
	return 0;
}

/** Is @p s one of the NULL-terminated @p words? */
static bool is_one_of(const char *s, const char *const *words)
{
	for (; *words; words++) {
		if (strcmp(s, *words) == 0)
			return true;
	}
	return false;
}

/** Is a scalar event a null under the YAML 1.2 core schema (plain "", "~" or "null")? */
static bool scalar_is_null(const yaml_event_t *ev)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};

	return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && is_one_of(scalar_text(ev), nulls);
}

/** Is a scalar event a string under the YAML 1.2 core schema: quoted, or plain but not null, bool or number? */
static bool scalar_is_string(const yaml_event_t *ev)
{
	static const char *const other[] = {
		"true", "True", "TRUE", "false", "False", "FALSE", ".inf", ".Inf", ".INF", "+.inf", "+.Inf",
		"+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN", NULL,
	};
	const char *s = scalar_text(ev);
	char *end;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return true;
	if (scalar_is_null(ev) || is_one_of(s, other))
		return false;
	if (strchr("+-.0123456789", s[0])) {
		(void)strtod(s, &end);
		if (end != s && *end == '\0')
			return false;
	}
	return true;
}

/** Store the scalar event as the value of row @p o, called @p name. @return 0, -EINVAL, -ENOMEM. */
static int load_scalar(struct loader *l, const struct option *o, const char *name, const char *entry)
{
	const yaml_event_t *ev = &l->event;
	bool ok = ev->type == YAML_SCALAR_EVENT;
	char *reason = NULL, *where[2] = {NULL, NULL};
	int ret;

	/* A quoted "5" is a string, and a plain 5 is not one. */
	if (ok && o->kind == OPT_UINT)
		ok = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (ok && o->kind == OPT_STRING)
		ok = scalar_is_string(ev);
	if (!ok)
		return loader_fail(l, ev->start_mark, "%s: %s", name,
				   o->kind == OPT_UINT ? "expected an integer" : "expected a string");
	ret = loader_where(l, ev->start_mark, &where[0]);
	if (ret < 0)
		return ret;
	ret = set_scalar(l->cfg, o, entry, scalar_text(ev), &reason);
	if (ret == 0)
		origins_record(l->cfg, o, entry, where, false);
	free(where[0]);
	if (ret < 0)
		return loader_fail_option(l, ev->start_mark, name, ret, reason);
	return 0;
}

/** Check the current event as an item of list row @p o and append it to @p items. @return 0, -EINVAL, -ENOMEM. */
static int load_item(struct loader *l, const struct option *o, const char *name, struct config_strv *items)
{
	const yaml_event_t *ev = &l->event;
	char *item, *reason = NULL;
	int ret;

	if (ev->type != YAML_SCALAR_EVENT || !scalar_is_string(ev))
		return loader_fail(l, ev->start_mark, "%s: expected a string", name);
	item = strdup(scalar_text(ev));
	if (!item)
		return -ENOMEM;
	ret = o->check(item, &reason);
	if (ret == 0)
		ret = strv_push(items, item);
	if (ret < 0) {
		free(item);
		return loader_fail_option(l, ev->start_mark, name, ret, reason);
	}
	return 0;
}

/** Read a sequence of strings as the value of list row @p o. @return 0, -EINVAL, -ENOMEM. */
static int load_list(struct loader *l, const struct option *o, const char *name, const char *entry)
{
	yaml_mark_t mark = l->event.start_mark;
	struct config_strv items = {0};
	char *reason = NULL, *where[2] = {NULL, NULL};
	int ret;

	if (l->event.type != YAML_SEQUENCE_START_EVENT)
		return loader_fail(l, mark, "%s: expected a list", name);
	while ((ret = loader_next(l)) == 0 && l->event.type != YAML_SEQUENCE_END_EVENT) {
		ret = load_item(l, o, name, &items);
		if (ret < 0)
			break;
	}
	if (ret == 0)
		ret = loader_where(l, mark, &where[0]);
	if (ret == 0) {
		ret = set_list(l->cfg, o, entry, &items, &reason);
		if (ret == 0)
			origins_record(l->cfg, o, entry, where, false);
		else
			ret = loader_fail_option(l, mark, name, ret, reason);
	}
	free(where[0]);
	strv_free(&items);
	return ret;
}

/** Read the value of row @p o. @return 0, -EINVAL, -ENOMEM. */
static int load_option(struct loader *l, const struct option *o, const char *name, const char *entry)
{
	int ret = loader_next(l);

	if (ret < 0)
		return ret;
	if (o->kind == OPT_LIST)
		return load_list(l, o, name, entry);
	return load_scalar(l, o, name, entry);
}

/** Move to the next event, which must open a mapping: the value of section or entry @p name. */
static int expect_mapping(struct loader *l, const char *name)
{
	int ret = loader_next(l);

	if (ret < 0)
		return ret;
	if (l->event.type != YAML_MAPPING_START_EVENT)
		return loader_fail(l, l->event.start_mark, "%s: expected a mapping", name);
	return 0;
}

static int load_mapping(struct loader *l, const char *path, const char *pattern, const char *entry);

static int load_raw(struct loader *l, const char *name, const char *entry, size_t rel_off, size_t leaf_off,
		    int depth);

/** The scalar event as plugin value @p node. @return 0, -ENOMEM. */
static int raw_scalar(const yaml_event_t *ev, struct config_raw *node)
{
	char *item;

	node->kind = CONFIG_RAW_SCALAR;
	node->is_null = scalar_is_null(ev);
	node->is_string = scalar_is_string(ev);
	node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (!(node->text = strdup(scalar_text(ev))))
		return -ENOMEM;
	/* A null is the empty list to config_list(), and one scalar a list of one. */
	if (node->is_null)
		return 0;
	item = strdup(scalar_text(ev));
	if (!item || strv_push(&node->items, item) < 0) {
		free(item);
		return -ENOMEM;
	}
	return 0;
}

/** The items of the sequence just opened, as plugin value @p node. @return 0, -EINVAL, -ENOMEM. */
static int raw_sequence(struct loader *l, const char *name, struct config_raw *node)
{
	int ret;

	node->kind = CONFIG_RAW_LIST;
	while ((ret = loader_next(l)) == 0 && l->event.type != YAML_SEQUENCE_END_EVENT) {
		char *item;

		if (l->event.type != YAML_SCALAR_EVENT)
			return loader_fail(l, l->event.start_mark, "%s: expected a list of scalars", name);
		item = strdup(scalar_text(&l->event));
		if (!item || strv_push(&node->items, item) < 0) {
			free(item);
			return -ENOMEM;
		}
	}
	return ret;
}

/** The pairs of the mapping just opened, below plugin value @p name. @return 0, -EINVAL, -ENOMEM. */
static int raw_mapping(struct loader *l, const char *name, const char *entry, size_t rel_off, int depth)
{
	struct config_strv seen = {0};
	int ret;

	while ((ret = loader_next(l)) == 0 && l->event.type != YAML_MAPPING_END_EVENT) {
		yaml_mark_t mark = l->event.start_mark;
		const char *key = scalar_text(&l->event);
		char *child, *copy;

		if (l->event.type != YAML_SCALAR_EVENT || !is_raw_segment(key, strlen(key))) {
			ret = loader_fail(l, mark, "%s: expected a key (printable, no space or '*')", name);
			break;
		}
		if (depth >= RAW_MAX_DEPTH) {
			ret = loader_fail(l, mark, "%s: nested deeper than %d levels", name, RAW_MAX_DEPTH);
			break;
		}
		if (strv_contains(&seen, key)) {
			ret = loader_fail(l, mark, "duplicate key '%s.%s'", echo_of(name).s, echo_of(key).s);
			break;
		}
		copy = strdup(key);
		child = join(name, key);
		if (!copy || !child || strv_push(&seen, copy) < 0) {
			free(copy);
			free(child);
			ret = -ENOMEM;
			break;
		}
		ret = load_raw(l, child, entry, rel_off, strlen(name) + 1 - rel_off, depth + 1);
		free(child);
		if (ret < 0)
			break;
	}
	strv_free(&seen);
	return ret;
}

/**
 * Read the value of plugin key @p name ("plugins.sip.users"), which no row
 * describes, and keep it for the plugin's getters.
 * @param rel_off where the key below the section starts in @p name.
 * @param leaf_off where its last segment starts, counted from @p rel_off.
 * @return 0, -EINVAL, -ENOMEM.
 */
static int load_raw(struct loader *l, const char *name, const char *entry, size_t rel_off, size_t leaf_off,
		    int depth)
{
	struct config_raw node = {.leaf_off = leaf_off};
	struct config_plugin *p;
	char *reason = NULL;
	yaml_mark_t mark;
	int ret = loader_next(l);

	if (ret < 0)
		return ret;
	mark = l->event.start_mark;
	node.key = strdup(name + rel_off);
	ret = node.key ? loader_where(l, mark, &node.where) : -ENOMEM;
	if (ret < 0)
		goto out;
	if (l->event.type == YAML_SCALAR_EVENT)
		ret = raw_scalar(&l->event, &node);
	else if (l->event.type == YAML_SEQUENCE_START_EVENT)
		ret = raw_sequence(l, name, &node);
	else
		node.kind = CONFIG_RAW_MAP;
	if (ret < 0)
		goto out;
	/* The mapping's own value goes first, so values stay in file order. */
	p = (struct config_plugin *)entry_find(l->cfg, &plugin_map, entry);
	ret = p ? raw_put(p, &node, &reason) : -ENOMEM;
	if (ret < 0) {
		ret = loader_fail_option(l, mark, name, ret, reason);
		goto out;
	}
	if (l->event.type == YAML_MAPPING_START_EVENT)
		ret = raw_mapping(l, name, entry, rel_off, depth);
out:
	raw_free(&node);
	return ret;
}

/** The value of plain key @p key (full name @p name, row pattern @p pattern): an option or a section. */
static int load_child(struct loader *l, yaml_mark_t mark, const char *key, const char *name, const char *pattern,
		      const char *entry)
{
	const struct option *o;
	int ret;

	/* Outside maps, keys are single segments: "dht.listen" at the top is no shortcut. */
	if (strpbrk(key, ".*"))
		goto out_unknown;
	o = find_row(pattern);
	if (o)
		return load_option(l, o, name, entry);
	if (has_rows_below(pattern)) {
		ret = expect_mapping(l, name);
		if (ret < 0)
			return ret;
		return load_mapping(l, name, pattern, entry);
	}
	/* Below plugins.<name>, a key the core does not know is the plugin's own. */
	if (entry && strncmp(pattern, "plugins.*.", 10) == 0)
		return load_raw(l, name, entry, strlen(name) - strlen(key), 0, 1);
out_unknown:
	return loader_fail(l, mark, "unknown key '%s'", echo_of(name).s);
}

/** The value of map entry @p entry (full name @p name): a mapping of the entry's fields. */
static int load_entry(struct loader *l, yaml_mark_t mark, const struct map_desc *map, const char *entry,
		      const char *name, const char *pattern)
{
	struct config_origin *origins;
	char *reason = NULL, *where = NULL, *e;
	int ret = loader_where(l, mark, &where);

	if (ret == 0)
		ret = entry_get(l->cfg, map, entry, &e, &reason);
	if (ret < 0) {
		free(where);
		return loader_fail_option(l, mark, name, ret, reason);
	}
	origins = *entry_origins(map, e);
	/* An entry's origin is where it was first named. */
	if (origins && !origins[0].where)
		origin_put(&origins[0], &where, false);
	free(where);
	ret = expect_mapping(l, name);
	if (ret < 0)
		return ret;
	return load_mapping(l, name, pattern, entry);
}

/** The key in the current event, and its value, inside mapping @p path. @p seen holds the keys so far. */
static int load_key(struct loader *l, const char *path, const char *pattern, const char *entry,
		    struct config_strv *seen)
{
	yaml_mark_t mark = l->event.start_mark;
	const struct map_desc *map = map_below(pattern);
	char *key, *name = NULL, *child = NULL, *reason = NULL;
	int ret;

	if (l->event.type != YAML_SCALAR_EVENT)
		return loader_fail(l, mark, "%s: expected a scalar key", *path ? path : "top level");
	key = strdup(scalar_text(&l->event));
	if (!key)
		return -ENOMEM;
	ret = map ? map->check_name(key, &reason) : 0;
	if (ret < 0) {
		free(key);
		return loader_fail_option(l, mark, path, ret, reason);
	}
	name = join(path, key);
	child = join(pattern, map ? "*" : key);
	if (!name || !child) {
		ret = -ENOMEM;
		goto out_free_key;
	}
	if (strv_contains(seen, key)) {
		ret = loader_fail(l, mark, "duplicate key '%s'", echo_of(name).s);
		goto out_free_key;
	}
	ret = strv_push(seen, key);
	if (ret < 0)
		goto out_free_key;
	/* key now belongs to seen, which outlives the recursion below. */
	if (map)
		ret = load_entry(l, mark, map, key, name, child);
	else
		ret = load_child(l, mark, key, name, child, entry);
	goto out_free_names;
out_free_key:
	free(key);
out_free_names:
	free(child);
	free(name);
	return ret;
}

/** Read the pairs of the mapping just opened, up to its end. @return 0, -EINVAL, -ENOMEM. */
static int load_mapping(struct loader *l, const char *path, const char *pattern, const char *entry)
{
	struct config_strv seen = {0};
	int ret;

	while ((ret = loader_next(l)) == 0 && l->event.type != YAML_MAPPING_END_EVENT) {
		ret = load_key(l, path, pattern, entry, &seen);
		if (ret < 0)
			break;
	}
	strv_free(&seen);
	return ret;
}

/** Read the whole stream: nothing, or one document whose top is a mapping (or empty). */
static int load_stream(struct loader *l)
{
	int ret = loader_next(l); /* STREAM-START */

	if (ret == 0)
		ret = loader_next(l);
	if (ret < 0 || l->event.type == YAML_STREAM_END_EVENT)
		return ret;
	ret = loader_next(l); /* the top node, after DOCUMENT-START */
	if (ret < 0)
		return ret;
	if (l->event.type == YAML_MAPPING_START_EVENT)
		ret = load_mapping(l, "", "", NULL);
	else if (l->event.type != YAML_SCALAR_EVENT || !scalar_is_null(&l->event))
		return loader_fail(l, l->event.start_mark, "the top level must be a mapping");
	if (ret == 0)
		ret = loader_next(l); /* DOCUMENT-END */
	/* No alias used it, but an anchor is still not accepted: refuse it where it is. */
	if (ret == 0 && l->have_anchor)
		return loader_fail(l, l->anchor_mark, "YAML anchors (&%s) are not supported", l->anchor.s);
	if (ret == 0)
		ret = loader_next(l);
	if (ret == 0 && l->event.type != YAML_STREAM_END_EVENT)
		return loader_fail(l, l->event.start_mark, "only one YAML document is allowed");
	return ret;
}

/** Load YAML @p text (@p len bytes, named @p path) over @p cfg. @return 0, -EINVAL, -ENOMEM. */
static int load_text(struct rd_config *cfg, const char *path, const char *text, size_t len, char **ret_error)
{
	struct loader l = {.path = path, .text = text, .cfg = cfg};
	int ret;

	if (!yaml_parser_initialize(&l.parser))
		return error_set(ret_error, -ENOMEM, "%s: out of memory", path);
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)text, len);
	ret = load_stream(&l);
	if (l.have_event)
		yaml_event_delete(&l.event);
	yaml_parser_delete(&l.parser);
	if (ret < 0 && ret_error) {
		*ret_error = l.error;
		l.error = NULL;
		if (!*ret_error)
			error_set(ret_error, ret, "%s: out of memory", path);
	}
	free(l.error);
	return ret;
}

/** Read all of @p path, at most CONFIG_MAX_FILE_SIZE bytes. @return 0, -EFBIG, -errno. */
static int read_file(const char *path, char **ret_text, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t len;
	int ret = 0;

	if (!f)
		return -errno;
	buf = malloc(CONFIG_MAX_FILE_SIZE + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	errno = 0;
	len = fread(buf, 1, CONFIG_MAX_FILE_SIZE + 1, f);
	if (ferror(f))
		ret = errno ? -errno : -EIO;
	else if (len > CONFIG_MAX_FILE_SIZE)
		ret = -EFBIG;
	if (ret < 0) {
		free(buf);
		goto out_close;
	}
	*ret_text = buf;
	*ret_len = len;
out_close:
	fclose(f);
	return ret;
}

int config_load(struct rd_config *cfg, const char *path, char **ret_error)
{
	struct rd_config tmp;
	char *text = NULL;
	size_t len = 0;
	int ret = read_file(path, &text, &len);

	if (ret < 0)
		return error_set(ret_error, ret, "%s: %s", path, strerrordesc_np(-ret));
	ret = config_copy(&tmp, cfg);
	if (ret < 0) {
		free(text);
		return error_set(ret_error, ret, "%s: out of memory", path);
	}
	ret = load_text(&tmp, path, text, len, ret_error);
	free(text);
	if (ret < 0) {
		config_deinit(&tmp);
		return ret;
	}
	config_deinit(cfg);
	*cfg = tmp;
	return 0;
}

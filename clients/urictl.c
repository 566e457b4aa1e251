/* SPDX-License-Identifier: GPL-3.0-or-later */
/* urictl: the command-line client of the resolverd HTTP API, and a local signer of records. */

/*
 * USAGE
 *   urictl [--url URL] [--token T | --token-file F] [--json] COMMAND [ARGS]
 *
 *   publish URI CONTACT [--expires S] [--q Q] [--instance I]
 *       publish with the daemon's own key (POST /v1/bindings)
 *   publish URI CONTACT [...] --key KEYFILE [--cert CERTFILE] [--seq N]
 *       sign the record here with KEYFILE and submit it (POST /v1/records)
 *   unpublish URI INSTANCE
 *       withdraw one of the daemon's publications (DELETE /v1/bindings)
 *   unpublish URI INSTANCE --key KEYFILE [--cert CERTFILE] [--expires S] [--seq N]
 *       sign a tombstone here and submit it (POST /v1/records)
 *   resolve URI        the live bindings, one per line
 *   list               the daemon's own publications
 *   service NAME TARGET PORT [--priority P] [--weight W] [--expires S] [--instance I]
 *       publish a service (DNS SRV) record with the daemon's key (PUT /v1/services/NAME)
 *   host NAME ADDRESS [--expires S] [--instance I]
 *       publish a host (DNS A/AAAA) record with the daemon's key (PUT /v1/hosts/NAME)
 *   unservice NAME INSTANCE   withdraw a service record (DELETE /v1/services/NAME)
 *   unhost NAME INSTANCE      withdraw a host record (DELETE /v1/hosts/NAME)
 *   lookup-service NAME  the live service records, one per line
 *   lookup-host NAME     the live host records, one per line
 *   status             the daemon's status
 *   keygen FILE [--force]   write a new Ed25519 key (mode 0600), print its public key
 *   pubkey FILE        print the public key of a key file
 *   delegate --key DOMAINKEYFILE --device HEX --pattern GLOB --not-after UNIX
 *       print a delegation certificate in base64, for publish --cert
 *
 * The daemon's URL is --url, else $RESOLVERD_URL, else http://127.0.0.1:7380.
 * Writes send a bearer token: --token or --token-file, else $RESOLVERD_TOKEN,
 * else the file named by $RESOLVERD_TOKEN_FILE, else the admin token file
 * /var/lib/resolverd/admin.token. Reads send no token.
 * Without --instance, a binding's instance is derived from its contact, the
 * same way the daemon does ("c-" and 16 hex digits of SHA-256(contact)); the
 * daemon derives those of service and host records itself ("s-", "a-").
 * NAME is a service name such as _sip._udp.example.com, or a host name.
 * Options may come before or after the command. --json prints the daemon's
 * JSON body as it came instead of human-readable lines.
 * URIs are normalized here as the daemon does, with the protocol plugins'
 * rules: urictl loads rd_sip.so, rd_xmpp.so, rd_h323.so and rd_tel.so the
 * way the daemon finds them (next to the executable's build tree, then the
 * install dir); a plugin that is not installed is skipped (its scheme then
 * gets the generic RFC 3986 rules), one that fails to load is reported.
 *
 * Exit status: 0 success, 1 not found (HTTP 404), 2 usage error, 3 any other
 * error (the problem's status, title and detail, or the transport error, go
 * to stderr).
 *
 * Examples:
 *   urictl publish sip:alice@example.com sip:alice@192.0.2.10:5060 --expires 600
 *   urictl resolve sip:alice@example.com
 *   urictl service _xmpp-server._tcp.a.p2p xmpp.a.p2p 5269 --priority 5 --weight 10
 *   urictl host xmpp.a.p2p 192.0.2.10 --instance v4
 *   urictl keygen phone.key
 *   urictl delegate --key domain.key --device HEX --pattern 'sip:alice@example.com' \
 *          --not-after 1900000000 > phone.cert
 *   urictl publish sip:alice@example.com sip:alice@192.0.2.10 --key phone.key --cert phone.cert
 */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h> /* isfinite() only, a macro: no libm */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "resolverd/core/keys.h"
#include "resolverd/core/record.h"
#include "resolverd/core/uri.h"
#include "resolverd/host/loader.h"

#ifndef RESOLVERD_VERSION
#define RESOLVERD_VERSION "unknown"
#endif

#define DEFAULT_URL "http://127.0.0.1:7380"
#define DEFAULT_TOKEN_FILE "/var/lib/resolverd/admin.token"
#define DEFAULT_EXPIRES 3600
#define MAX_EXPIRES UINT32_MAX      /**< local sanity cap; the daemon enforces its own maximum */
#define MAX_RESPONSE (8u << 20)     /**< refuse response bodies larger than this */
#define MAX_SMALL_FILE (64u << 10)  /**< token and certificate files are tiny */

/** Exit statuses of the program. */
enum exit_status {
	EXIT_OK = 0,
	EXIT_NOT_FOUND = 1,
	EXIT_USAGE = 2,
	EXIT_ERROR = 3,
};

/** Command options, as bits: which ones were given, and which ones a command accepts. */
enum option_bit {
	OPTB_EXPIRES = 1u << 0,
	OPTB_Q = 1u << 1,
	OPTB_INSTANCE = 1u << 2,
	OPTB_KEY = 1u << 3,
	OPTB_CERT = 1u << 4,
	OPTB_SEQ = 1u << 5,
	OPTB_DEVICE = 1u << 6,
	OPTB_PATTERN = 1u << 7,
	OPTB_NOT_AFTER = 1u << 8,
	OPTB_FORCE = 1u << 9,
	OPTB_PRIORITY = 1u << 10,
	OPTB_WEIGHT = 1u << 11,
	OPTB_COUNT = 12, /**< number of command options */
};

/** The parsed command line. Strings are borrowed from argv. */
struct args {
	const char *url;        /**< --url, or NULL */
	const char *token;      /**< --token, or NULL */
	const char *token_file; /**< --token-file, or NULL */
	bool json;              /**< --json: print the daemon's JSON verbatim */
	const char *expires;    /**< --expires S (unparsed) */
	const char *q;          /**< --q Q (unparsed) */
	const char *instance;   /**< --instance I */
	const char *key;        /**< --key KEYFILE */
	const char *cert;       /**< --cert CERTFILE */
	const char *seq;        /**< --seq N (unparsed) */
	const char *device;     /**< --device HEX */
	const char *pattern;    /**< --pattern GLOB */
	const char *not_after;  /**< --not-after UNIX (unparsed) */
	bool force;             /**< --force */
	const char *priority;   /**< --priority P (unparsed) */
	const char *weight;     /**< --weight W (unparsed) */
	unsigned seen;          /**< OPTB_* bits of the command options given */
	char **pos;             /**< owned array of borrowed positional words; pos[0] is the command */
	int npos;               /**< number of words in pos */
};

/** What a command runs with. */
struct ctx {
	const struct args *args; /**< borrowed */
	char *base_url;          /**< owned; the daemon's URL without a trailing '/' */
	char *token;             /**< owned bearer token, or NULL until load_token() */
	CURL *curl;              /**< owned handle, or NULL for offline commands */
};

/** One HTTP exchange's outcome. */
struct http_response {
	long status;       /**< HTTP status, 0 if the exchange failed */
	char *body;        /**< owned, NUL-terminated, or NULL when empty */
	size_t len;        /**< bytes in body, without the NUL */
	const char *error; /**< static transport error text when status is 0 */
};

/** A command of the table that drives dispatch. */
struct command {
	const char *name;             /**< the word on the command line */
	int min_args;                 /**< fewest positional arguments after the name */
	int max_args;                 /**< most positional arguments after the name */
	unsigned options;             /**< OPTB_* bits the command accepts */
	bool network;                 /**< talks to the daemon */
	int (*run)(struct ctx *ctx);  /**< returns an exit_status */
};

static const char usage_text[] =
	"usage: urictl [--url URL] [--token T | --token-file F] [--json] COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  publish URI CONTACT [--expires S] [--q Q] [--instance I]\n"
	"  publish URI CONTACT [...] --key KEYFILE [--cert CERTFILE] [--seq N]\n"
	"  unpublish URI INSTANCE [--key KEYFILE [--cert CERTFILE] [--expires S] [--seq N]]\n"
	"  resolve URI\n"
	"  list\n"
	"  service NAME TARGET PORT [--priority P] [--weight W] [--expires S] [--instance I]\n"
	"  host NAME ADDRESS [--expires S] [--instance I]\n"
	"  unservice NAME INSTANCE\n"
	"  unhost NAME INSTANCE\n"
	"  lookup-service NAME\n"
	"  lookup-host NAME\n"
	"  status\n"
	"  keygen FILE [--force]\n"
	"  pubkey FILE\n"
	"  delegate --key DOMAINKEYFILE --device HEX --pattern GLOB --not-after UNIX\n"
	"\n"
	"URL defaults to $RESOLVERD_URL, else " DEFAULT_URL ".\n"
	"The token defaults to $RESOLVERD_TOKEN, else the file $RESOLVERD_TOKEN_FILE,\n"
	"else " DEFAULT_TOKEN_FILE ".\n"
	"Exit status: 0 success, 1 not found, 2 usage error, 3 other error.\n";

/* ---- small helpers ---- */

/** Print "urictl: MESSAGE" and a hint to stderr. @return EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("urictl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'urictl --help'.\n", stderr);
	return EXIT_USAGE;
}

/**
 * Format one line and write it to @p out with control characters replaced by
 * '?', because it may carry strings from the daemon or the network.
 * @return 0 or -ENOMEM.
 */
__attribute__((format(printf, 2, 3))) static int emit_line(FILE *out, const char *fmt, ...)
{
	va_list ap;
	char *line;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	for (char *c = line; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	}
	fprintf(out, "%s\n", line);
	free(line);
	return 0;
}

/** Parse a whole decimal number within [min, max]. @return 0 or -EINVAL. */
static int parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/** Parse a preference 0..1. @return 0 or -EINVAL. */
static int parse_q(const char *text, double *ret)
{
	double v;
	char *end;

	if (!isdigit((unsigned char)text[0]) && text[0] != '.')
		return -EINVAL;
	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < 0.0 || v > 1.0)
		return -EINVAL;
	*ret = v;
	return 0;
}

/** Current time in unix seconds. */
static uint64_t now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

/** Current time in unix microseconds: the default seq of a locally signed record. */
static uint64_t now_micros(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/**
 * Double *buf's capacity (plus room for a NUL), up to @p max.
 * @return 0, -EFBIG when already at max, -ENOMEM (*buf kept).
 */
static int grow_buffer(char **buf, size_t *cap, size_t max)
{
	size_t want = *cap * 2 < max ? *cap * 2 : max;
	char *grown;

	if (*cap >= max)
		return -EFBIG;
	grown = realloc(*buf, want + 1);
	if (!grown)
		return -ENOMEM;
	*buf = grown;
	*cap = want;
	return 0;
}

/**
 * Read a whole small file.
 * @param[out] ret owned, NUL-terminated contents.
 * @return 0, -EFBIG if longer than @p max, -ENOMEM, -errno.
 */
static int read_small_file(const char *path, size_t max, char **ret)
{
	size_t len = 0, cap = 256, n;
	char *buf = malloc(cap + 1);
	FILE *f;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		rc = errno > 0 ? -errno : -EIO;
		goto out_free;
	}
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len < cap)
			continue;
		rc = grow_buffer(&buf, &cap, max);
		if (rc < 0)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = -EIO;
	fclose(f);
	if (rc < 0)
		goto out_free;
	buf[len] = '\0';
	*ret = buf;
	return 0;
out_free:
	free(buf);
	return rc;
}

/** Remove every ASCII whitespace character from @p s, in place. */
static void strip_space(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (!isspace((unsigned char)*s))
			*out++ = *s;
	}
	*out = '\0';
}

/** Standard base64 with padding. @return owned NUL-terminated text, or NULL on ENOMEM. */
static char *base64_encode(const uint8_t *in, size_t len)
{
	char *out;

	if (len > INT_MAX / 2)
		return NULL;
	out = malloc(4 * ((len + 2) / 3) + 1);
	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

/**
 * Decode standard base64 with padding (no whitespace).
 * @param[out] ret owned bytes; @param[out] ret_len their count.
 * @return 0, -EBADMSG, -ENOMEM.
 */
static int base64_decode(const char *text, uint8_t **ret, size_t *ret_len)
{
	size_t n = strlen(text), pad;
	uint8_t *out;
	int got;

	if (n == 0 || n % 4 != 0 || n > INT_MAX / 2)
		return -EBADMSG;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	got = EVP_DecodeBlock(out, (const unsigned char *)text, (int)n);
	pad = (size_t)(text[n - 1] == '=') + (size_t)(text[n - 2] == '=');
	if (got < 0 || (size_t)got < pad) {
		free(out);
		return -EBADMSG;
	}
	*ret = out;
	*ret_len = (size_t)got - pad;
	return 0;
}

/* ---- token and URL ---- */

/** Strip trailing whitespace and check that a token is printable ASCII. @return 0 or -EINVAL. */
static int clean_token(char *token)
{
	size_t len = strlen(token);

	while (len > 0 && isspace((unsigned char)token[len - 1]))
		token[--len] = '\0';
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f)
			return -EINVAL;
	}
	return 0;
}

/** An environment variable, or NULL when unset or empty. */
static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/**
 * Find the bearer token (see USAGE) and keep it in ctx->token.
 * @return EXIT_OK, or EXIT_ERROR after saying why on stderr.
 */
static int load_token(struct ctx *ctx)
{
	const struct args *a = ctx->args;
	const char *literal = a->token;
	const char *path = NULL;
	int rc;

	if (!literal && !a->token_file)
		literal = env_nonempty("RESOLVERD_TOKEN");
	if (!literal) {
		path = a->token_file ? a->token_file : env_nonempty("RESOLVERD_TOKEN_FILE");
		path = path ? path : DEFAULT_TOKEN_FILE;
	}
	if (literal) {
		ctx->token = strdup(literal);
		rc = ctx->token ? 0 : -ENOMEM;
	} else {
		rc = read_small_file(path, MAX_SMALL_FILE, &ctx->token);
	}
	if (rc < 0) {
		fprintf(stderr, "urictl: cannot read token file %s: %s (use --token or --token-file)\n",
			path ? path : "-", strerror(-rc));
		return EXIT_ERROR;
	}
	if (clean_token(ctx->token) < 0) {
		fprintf(stderr, "urictl: the token%s%s is empty or has invalid characters\n",
			path ? " in " : "", path ? path : "");
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

/** Set ctx->base_url from --url, $RESOLVERD_URL or the default. @return 0 or -ENOMEM. */
static int set_base_url(struct ctx *ctx)
{
	const char *url = ctx->args->url;
	size_t len;

	if (!url)
		url = env_nonempty("RESOLVERD_URL");
	if (!url)
		url = DEFAULT_URL;
	ctx->base_url = strdup(url);
	if (!ctx->base_url)
		return -ENOMEM;
	len = strlen(ctx->base_url);
	while (len > 0 && ctx->base_url[len - 1] == '/')
		ctx->base_url[--len] = '\0';
	return 0;
}

/* ---- HTTP ---- */

/** libcurl write callback: append to a http_response, up to MAX_RESPONSE bytes. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_response *resp = ud;
	size_t n = size * nmemb;
	char *grown;

	if (n > MAX_RESPONSE - resp->len)
		return 0; /* curl then fails with CURLE_WRITE_ERROR */
	grown = realloc(resp->body, resp->len + n + 1);
	if (!grown)
		return 0;
	memcpy(grown + resp->len, data, n);
	resp->body = grown;
	resp->len += n;
	resp->body[resp->len] = '\0';
	return n;
}

/** Append @p line to a header list. @return 0 or -ENOMEM (the list is kept). */
static int add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *grown = curl_slist_append(*list, line);

	if (!grown)
		return -ENOMEM;
	*list = grown;
	return 0;
}

/**
 * The request headers: JSON in and out, and the bearer token if ctx has one.
 * @param[out] ret owned list (curl_slist_free_all()). @return 0 or -ENOMEM.
 */
static int build_headers(const struct ctx *ctx, bool has_body, struct curl_slist **ret)
{
	struct curl_slist *list = NULL;
	char *auth = NULL;
	int rc;

	rc = add_header(&list, "Accept: application/json, application/problem+json");
	if (rc == 0 && has_body)
		rc = add_header(&list, "Content-Type: application/json");
	if (rc == 0 && has_body)
		rc = add_header(&list, "Expect:");
	if (rc == 0 && ctx->token) {
		if (asprintf(&auth, "Authorization: Bearer %s", ctx->token) < 0) {
			auth = NULL;
			rc = -ENOMEM;
		} else {
			rc = add_header(&list, auth);
		}
	}
	free(auth);
	if (rc < 0) {
		curl_slist_free_all(list);
		return rc;
	}
	*ret = list;
	return 0;
}

/** Set the options every request shares. @return 0 or -EINVAL. */
static int set_common_options(CURL *curl, const char *url, struct curl_slist *headers,
			      struct http_response *resp)
{
	if (curl_easy_setopt(curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_USERAGENT, "urictl/" RESOLVERD_VERSION) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L) != CURLE_OK)
		return -EINVAL;
	return 0;
}

/** Set the method and body. @p body may be NULL. @return 0 or -EINVAL. */
static int set_method(CURL *curl, const char *method, const char *body)
{
	if (strcmp(method, "GET") != 0 &&
	    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK)
		return -EINVAL;
	if (body && (curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
		     curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) != CURLE_OK))
		return -EINVAL;
	return 0;
}

/**
 * Send one request to the daemon and wait for its answer.
 * @param path  absolute path with an already escaped query, e.g. "/v1/status".
 * @param body  JSON text to send, or NULL.
 * @param[out] resp always filled: on a transport failure status is 0 and
 *             error says why. Release with http_response_deinit().
 */
static void http_request(struct ctx *ctx, const char *method, const char *path, const char *body,
			 struct http_response *resp)
{
	struct curl_slist *headers = NULL;
	char *url = NULL;
	CURLcode code;

	*resp = (struct http_response){0};
	curl_easy_reset(ctx->curl);
	if (asprintf(&url, "%s%s", ctx->base_url, path) < 0) {
		url = NULL;
		resp->error = "out of memory";
		goto out;
	}
	if (build_headers(ctx, body != NULL, &headers) < 0) {
		resp->error = "out of memory";
		goto out;
	}
	if (set_common_options(ctx->curl, url, headers, resp) < 0 ||
	    set_method(ctx->curl, method, body) < 0) {
		resp->error = "cannot set up the request";
		goto out;
	}
	code = curl_easy_perform(ctx->curl);
	if (code != CURLE_OK) {
		resp->error = curl_easy_strerror(code);
		goto out;
	}
	curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &resp->status);
out:
	curl_slist_free_all(headers);
	free(url);
}

/** Release a response's body. */
static void http_response_deinit(struct http_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

/**
 * Build "PATH?uri=U" or "PATH?uri=U&instance=I" with both values escaped.
 * @param instance may be NULL. @param[out] ret owned path. @return 0 or -ENOMEM.
 */
static int query_path(struct ctx *ctx, const char *path, const char *uri, const char *instance,
		      char **ret)
{
	char *e_uri = curl_easy_escape(ctx->curl, uri, 0);
	char *e_instance = instance ? curl_easy_escape(ctx->curl, instance, 0) : NULL;
	char *out = NULL;
	int n = -1;

	if (e_uri && instance && e_instance)
		n = asprintf(&out, "%s?uri=%s&instance=%s", path, e_uri, e_instance);
	else if (e_uri && !instance)
		n = asprintf(&out, "%s?uri=%s", path, e_uri);
	curl_free(e_uri);
	curl_free(e_instance);
	if (n < 0)
		return -ENOMEM;
	*ret = out;
	return 0;
}

/**
 * Build "PREFIX/NAME" or "PREFIX/NAME?instance=I" with both values escaped,
 * so that NAME stays one path segment.
 * @param instance may be NULL. @param[out] ret owned path. @return 0 or -ENOMEM.
 */
static int name_path(struct ctx *ctx, const char *prefix, const char *name, const char *instance,
		     char **ret)
{
	char *e_name = curl_easy_escape(ctx->curl, name, 0);
	char *e_instance = instance ? curl_easy_escape(ctx->curl, instance, 0) : NULL;
	char *out = NULL;
	int n = -1;

	if (e_name && instance && e_instance)
		n = asprintf(&out, "%s/%s?instance=%s", prefix, e_name, e_instance);
	else if (e_name && !instance)
		n = asprintf(&out, "%s/%s", prefix, e_name);
	curl_free(e_name);
	curl_free(e_instance);
	if (n < 0)
		return -ENOMEM;
	*ret = out;
	return 0;
}

/* ---- responses ---- */

/** A string member, or "?" if absent or not a string. */
static const char *str_member(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "?";
}

/** Print an error response as "urictl: STATUS TITLE: DETAIL (field F)" on stderr. */
static void report_problem(const struct http_response *resp)
{
	json_t *doc = resp->len ? json_loadb(resp->body, resp->len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	const char *title = json_string_value(json_object_get(doc, "title"));
	const char *field = json_string_value(json_object_get(doc, "field"));

	if (title) {
		emit_line(stderr, "urictl: %ld %s: %s%s%s%s", resp->status, title,
			  str_member(doc, "detail"), field ? " (field \"" : "", field ? field : "",
			  field ? "\")" : "");
	} else {
		emit_line(stderr, "urictl: unexpected HTTP status %ld from the daemon", resp->status);
	}
	json_decref(doc);
}

/**
 * Judge a response: report a transport error or an unexpected status, print
 * the body verbatim with --json, else parse it for the caller.
 * @param want the status that means success.
 * @param[out] ret_doc parsed body (json_decref()), or NULL with --json or
 *             when ret_doc is NULL. Set only on EXIT_OK.
 * @return EXIT_OK, EXIT_NOT_FOUND on 404, or EXIT_ERROR.
 */
static int check_response(const struct ctx *ctx, const struct http_response *resp, long want,
			  json_t **ret_doc)
{
	json_error_t err;
	json_t *doc;

	if (resp->status == 0) {
		fprintf(stderr, "urictl: %s: %s\n", ctx->base_url, resp->error);
		return EXIT_ERROR;
	}
	if (ctx->args->json && resp->len > 0) {
		fwrite(resp->body, 1, resp->len, stdout);
		if (resp->body[resp->len - 1] != '\n')
			putchar('\n');
	}
	if (resp->status != want) {
		report_problem(resp);
		return resp->status == 404 ? EXIT_NOT_FOUND : EXIT_ERROR;
	}
	if (ctx->args->json || !ret_doc)
		return EXIT_OK;
	doc = json_loadb(resp->body ? resp->body : "", resp->len, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(doc)) {
		fprintf(stderr, "urictl: the daemon sent a malformed JSON body: %s\n",
			doc ? "not an object" : err.text);
		json_decref(doc);
		return EXIT_ERROR;
	}
	*ret_doc = doc;
	return EXIT_OK;
}

/** Print one resolved binding: "CONTACT q=Q expires=S instance=I publisher=HEX". */
static int print_binding(const json_t *b)
{
	return emit_line(stdout, "%s q=%g expires=%" JSON_INTEGER_FORMAT " instance=%s publisher=%s",
			 str_member(b, "contact"), json_number_value(json_object_get(b, "q")),
			 json_integer_value(json_object_get(b, "expires")), str_member(b, "instance"),
			 str_member(b, "publisher"));
}

/** Print one publication: "URI CONTACT q=Q expires=S instance=I publisher=HEX seq=N [tombstone]". */
static int print_publication(const json_t *p)
{
	const char *contact = str_member(p, "contact");
	bool tombstone = json_is_true(json_object_get(p, "tombstone"));

	return emit_line(stdout,
			 "%s %s q=%g expires=%" JSON_INTEGER_FORMAT " instance=%s publisher=%s seq=%"
			 JSON_INTEGER_FORMAT "%s",
			 str_member(p, "uri"), *contact ? contact : "-",
			 json_number_value(json_object_get(p, "q")),
			 json_integer_value(json_object_get(p, "expires")), str_member(p, "instance"),
			 str_member(p, "publisher"), json_integer_value(json_object_get(p, "seq")),
			 tombstone ? " tombstone" : "");
}

/** An integer member, or 0 if absent or not an integer. */
static json_int_t int_member(const json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

/** Print one service record: "TARGET port=N priority=P weight=W expires=S instance=I publisher=HEX". */
static int print_service(const json_t *r)
{
	return emit_line(stdout,
			 "%s port=%" JSON_INTEGER_FORMAT " priority=%" JSON_INTEGER_FORMAT " weight=%"
			 JSON_INTEGER_FORMAT " expires=%" JSON_INTEGER_FORMAT " instance=%s publisher=%s",
			 str_member(r, "target"), int_member(r, "port"), int_member(r, "priority"),
			 int_member(r, "weight"), int_member(r, "expires"), str_member(r, "instance"),
			 str_member(r, "publisher"));
}

/** Print one published service record: "NAME TARGET port=N ... publisher=HEX seq=N". */
static int print_service_publication(const json_t *r)
{
	return emit_line(stdout,
			 "%s %s port=%" JSON_INTEGER_FORMAT " priority=%" JSON_INTEGER_FORMAT " weight=%"
			 JSON_INTEGER_FORMAT " expires=%" JSON_INTEGER_FORMAT " instance=%s publisher=%s seq=%"
			 JSON_INTEGER_FORMAT,
			 str_member(r, "name"), str_member(r, "target"), int_member(r, "port"),
			 int_member(r, "priority"), int_member(r, "weight"), int_member(r, "expires"),
			 str_member(r, "instance"), str_member(r, "publisher"), int_member(r, "seq"));
}

/** Print one host record: "ADDRESS expires=S instance=I publisher=HEX". */
static int print_host(const json_t *r)
{
	return emit_line(stdout, "%s expires=%" JSON_INTEGER_FORMAT " instance=%s publisher=%s",
			 str_member(r, "address"), int_member(r, "expires"), str_member(r, "instance"),
			 str_member(r, "publisher"));
}

/** Print one published host record: "NAME ADDRESS expires=S instance=I publisher=HEX seq=N". */
static int print_host_publication(const json_t *r)
{
	return emit_line(stdout,
			 "%s %s expires=%" JSON_INTEGER_FORMAT " instance=%s publisher=%s seq=%" JSON_INTEGER_FORMAT,
			 str_member(r, "name"), str_member(r, "address"), int_member(r, "expires"),
			 str_member(r, "instance"), str_member(r, "publisher"), int_member(r, "seq"));
}

/** Print each element of the array member @p member with @p print. @return EXIT_OK or EXIT_ERROR. */
static int print_each(const json_t *doc, const char *member, int (*print)(const json_t *))
{
	const json_t *list = json_object_get(doc, member);
	size_t i;
	json_t *item;

	if (!json_is_array(list)) {
		fprintf(stderr, "urictl: the daemon's answer has no \"%s\" array\n", member);
		return EXIT_ERROR;
	}
	json_array_foreach(list, i, item) {
		if (print(item) < 0)
			return EXIT_ERROR;
	}
	return EXIT_OK;
}

/** Print an object as indented "key: value" lines, nested objects as sections. @return 0 or -ENOMEM. */
static int print_tree(json_t *obj, int depth)
{
	const char *key;
	json_t *value;
	int rc = 0;

	json_object_foreach(obj, key, value) {
		char *dumped = NULL;

		if (json_is_object(value)) {
			rc = emit_line(stdout, "%*s%s:", depth * 2, "", key);
			if (rc == 0)
				rc = print_tree(value, depth + 1);
		} else if (json_is_string(value)) {
			rc = emit_line(stdout, "%*s%s: %s", depth * 2, "", key, json_string_value(value));
		} else {
			dumped = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
			rc = dumped ? emit_line(stdout, "%*s%s: %s", depth * 2, "", key, dumped) : -ENOMEM;
			free(dumped);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- keys and locally signed records ---- */

/** keys_load() that explains a failure on stderr. @return exit status. */
static int load_key(const char *path, struct keypair *key)
{
	int rc = keys_load(path, key);

	if (rc == 0)
		return EXIT_OK;
	fprintf(stderr, "urictl: cannot load key %s: %s\n", path,
		rc == -EPERM ? "group or others may read it (chmod 600)" :
		rc == -EBADMSG ? "not an Ed25519 key file" : strerror(-rc));
	return EXIT_ERROR;
}

/** What signing a record here needs. Release with signer_deinit(). */
struct signer {
	struct keypair key;     /**< the device's key */
	struct uri_parts parts; /**< the normalized URI */
	char *cert_storage;     /**< owned; holds rec.cert.pattern */
	struct record rec;      /**< fields to encode; strings borrowed from above or argv */
};

/** Release a signer. Safe on a zeroed one. */
static void signer_deinit(struct signer *s)
{
	keys_deinit(&s->key);
	uri_parts_deinit(&s->parts);
	free(s->cert_storage);
}

/** Load a base64 certificate file into s->rec.cert, checked against s->key. @return exit status. */
static int signer_load_cert(struct signer *s, const char *path)
{
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	char *text = NULL;
	int rc;

	rc = read_small_file(path, MAX_SMALL_FILE, &text);
	if (rc == 0) {
		strip_space(text);
		rc = base64_decode(text, &raw, &raw_len);
	}
	if (rc == 0) {
		s->cert_storage = malloc(RECORD_MAX_URI + 1);
		rc = s->cert_storage ? 0 : -ENOMEM;
	}
	if (rc == 0)
		rc = record_cert_decode(raw, raw_len, s->key.pub, &s->rec.cert, s->cert_storage,
					RECORD_MAX_URI + 1);
	free(text);
	free(raw);
	if (rc == -EKEYREJECTED) {
		fprintf(stderr, "urictl: certificate %s is not for this key, or its signature is bad\n", path);
		return EXIT_ERROR;
	}
	if (rc < 0) {
		fprintf(stderr, "urictl: cannot load certificate %s: %s\n", path,
			rc == -EBADMSG ? "not a base64 certificate" : strerror(-rc));
		return EXIT_ERROR;
	}
	s->rec.has_cert = true;
	return EXIT_OK;
}

/** Load the key (--key), the certificate (--cert) and normalize @p uri. @return exit status. */
static int signer_init(struct signer *s, const struct args *a, const char *uri)
{
	const char *reason = "invalid URI";
	int rc;

	if (load_key(a->key, &s->key) != EXIT_OK)
		return EXIT_ERROR;
	rc = uri_normalize(uri, &s->parts, &reason);
	if (rc == -EINVAL)
		return usage_error("invalid URI %s: %s", uri, reason);
	if (rc < 0) {
		fprintf(stderr, "urictl: cannot normalize %s: %s\n", uri, strerror(-rc));
		return EXIT_ERROR;
	}
	s->rec.kind = RECORD_BINDING;
	s->rec.uri = s->parts.uri;
	return a->cert ? signer_load_cert(s, a->cert) : EXIT_OK;
}

/** Set rec.expires (now + --expires) and rec.seq (--seq, else now in µs). @return exit status. */
static int signer_set_times(struct signer *s, const struct args *a)
{
	uint64_t expires = DEFAULT_EXPIRES;

	if (a->expires && parse_u64(a->expires, 1, MAX_EXPIRES, &expires) < 0)
		return usage_error("--expires wants seconds from 1 to %u", (unsigned)MAX_EXPIRES);
	s->rec.expires = now_seconds() + expires;
	s->rec.seq = now_micros();
	if (a->seq && parse_u64(a->seq, 0, UINT64_MAX, &s->rec.seq) < 0)
		return usage_error("--seq wants a whole number");
	return EXIT_OK;
}

/** Encode and sign s->rec, then POST it to /v1/records and print the result. @return exit status. */
static int signer_submit(struct ctx *ctx, struct signer *s)
{
	struct http_response resp = {0};
	uint8_t wire[RECORD_MAX_SIZE];
	size_t wire_len = 0;
	char *b64 = NULL, *body = NULL;
	json_t *doc = NULL;
	int code = EXIT_ERROR, rc;

	rc = record_encode(&s->rec, &s->key, wire, &wire_len);
	if (rc < 0) {
		fprintf(stderr, "urictl: cannot sign the record: %s\n",
			rc == -EINVAL ? "a field is out of range (see schemas/record-format.md)" :
			rc == -EMSGSIZE ? "it would be too large" : strerror(-rc));
		return EXIT_ERROR;
	}
	b64 = base64_encode(wire, wire_len);
	doc = b64 ? json_pack("{s:s}", "record", b64) : NULL;
	body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	doc = NULL;
	if (!body) {
		fprintf(stderr, "urictl: out of memory\n");
		goto out;
	}
	code = load_token(ctx);
	if (code != EXIT_OK)
		goto out;
	http_request(ctx, "POST", "/v1/records", body, &resp);
	code = check_response(ctx, &resp, 201, &doc);
	if (code == EXIT_OK && doc && print_publication(doc) < 0)
		code = EXIT_ERROR;
out:
	json_decref(doc);
	http_response_deinit(&resp);
	free(body);
	free(b64);
	return code;
}

/**
 * The default instance of a binding, derived from its contact as the daemon
 * does for POST /v1/bindings: "c-" and the first 8 bytes of SHA-256(contact)
 * in hex, so that both ways of publishing name a device alike.
 * @param[out] ret owned text. @return 0, -ENOMEM, -EIO.
 */
static int default_instance(const char *contact, char **ret)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	char *out;

	if (!EVP_Digest(contact, strlen(contact), digest, &digest_len, EVP_sha256(), NULL) ||
	    digest_len < 8)
		return -EIO;
	out = malloc(2 + 16 + 1);
	if (!out)
		return -ENOMEM;
	memcpy(out, "c-", 2);
	for (int i = 0; i < 8; i++)
		sprintf(out + 2 + 2 * i, "%02x", digest[i]);
	*ret = out;
	return 0;
}

/* ---- commands ---- */

/** publish URI CONTACT --key ...: sign the binding here. */
static int publish_signed(struct ctx *ctx)
{
	const struct args *a = ctx->args;
	struct signer s = {0};
	char *instance = NULL;
	double q = 1.0;
	int code;

	if (a->q && parse_q(a->q, &q) < 0)
		return usage_error("--q wants a number from 0 to 1");
	code = signer_init(&s, a, a->pos[1]);
	if (code == EXIT_OK)
		code = signer_set_times(&s, a);
	if (code != EXIT_OK)
		goto out;
	if (!a->instance && default_instance(a->pos[2], &instance) < 0) {
		fprintf(stderr, "urictl: cannot derive an instance from the contact\n");
		code = EXIT_ERROR;
		goto out;
	}
	s.rec.contact = a->pos[2];
	s.rec.instance = a->instance ? a->instance : instance;
	s.rec.q = (uint16_t)(q * RECORD_Q_MAX + 0.5);
	code = signer_submit(ctx, &s);
out:
	free(instance);
	signer_deinit(&s);
	return code;
}

/**
 * The JSON body of POST /v1/bindings from the command line.
 * @param[out] ret owned text. @return exit status.
 */
static int binding_body(const struct args *a, char **ret)
{
	uint64_t expires = 0;
	double q = 1.0;
	json_error_t err;
	json_t *doc;
	int rc = 0;

	if (a->expires && parse_u64(a->expires, 1, MAX_EXPIRES, &expires) < 0)
		return usage_error("--expires wants seconds from 1 to %u", (unsigned)MAX_EXPIRES);
	if (a->q && parse_q(a->q, &q) < 0)
		return usage_error("--q wants a number from 0 to 1");
	doc = json_pack_ex(&err, 0, "{s:s, s:s}", "uri", a->pos[1], "contact", a->pos[2]);
	if (!doc) {
		fprintf(stderr, "urictl: cannot build the request: %s\n", err.text);
		return EXIT_ERROR;
	}
	if (a->expires)
		rc |= json_object_set_new(doc, "expires", json_integer((json_int_t)expires));
	if (a->q)
		rc |= json_object_set_new(doc, "q", json_real(q));
	if (a->instance)
		rc |= json_object_set_new(doc, "instance", json_string(a->instance));
	*ret = rc == 0 ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!*ret) {
		fprintf(stderr, "urictl: cannot build the request (is --instance valid UTF-8?)\n");
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

/** publish URI CONTACT [--expires S] [--q Q] [--instance I] [--key K [--cert C] [--seq N]]. */
static int cmd_publish(struct ctx *ctx)
{
	const struct args *a = ctx->args;
	struct http_response resp = {0};
	char *body = NULL;
	json_t *doc = NULL;
	int code;

	if (a->key)
		return publish_signed(ctx);
	if (a->seen & (OPTB_CERT | OPTB_SEQ))
		return usage_error("--cert and --seq need --key");
	code = binding_body(a, &body);
	if (code == EXIT_OK)
		code = load_token(ctx);
	if (code != EXIT_OK)
		goto out;
	http_request(ctx, "POST", "/v1/bindings", body, &resp);
	code = check_response(ctx, &resp, 201, &doc);
	if (code == EXIT_OK && doc && print_publication(doc) < 0)
		code = EXIT_ERROR;
out:
	json_decref(doc);
	http_response_deinit(&resp);
	free(body);
	return code;
}

/** unpublish URI INSTANCE --key ...: sign a tombstone here. */
static int unpublish_signed(struct ctx *ctx)
{
	const struct args *a = ctx->args;
	struct signer s = {0};
	int code;

	code = signer_init(&s, a, a->pos[1]);
	if (code == EXIT_OK)
		code = signer_set_times(&s, a);
	if (code == EXIT_OK) {
		s.rec.tombstone = true;
		s.rec.contact = "";
		s.rec.instance = a->pos[2];
		s.rec.q = 0;
		code = signer_submit(ctx, &s);
	}
	signer_deinit(&s);
	return code;
}

/** unpublish URI INSTANCE [--key K [--cert C] [--expires S] [--seq N]]. */
static int cmd_unpublish(struct ctx *ctx)
{
	const struct args *a = ctx->args;
	struct http_response resp = {0};
	char *path = NULL;
	int code;

	if (a->key)
		return unpublish_signed(ctx);
	if (a->seen & (OPTB_CERT | OPTB_SEQ | OPTB_EXPIRES))
		return usage_error("--cert, --seq and --expires need --key");
	if (query_path(ctx, "/v1/bindings", a->pos[1], a->pos[2], &path) < 0) {
		fprintf(stderr, "urictl: out of memory\n");
		return EXIT_ERROR;
	}
	code = load_token(ctx);
	if (code == EXIT_OK) {
		http_request(ctx, "DELETE", path, NULL, &resp);
		code = check_response(ctx, &resp, 204, NULL);
	}
	if (code == EXIT_OK && !a->json)
		emit_line(stdout, "unpublished %s instance=%s", a->pos[1], a->pos[2]);
	http_response_deinit(&resp);
	free(path);
	return code;
}

/** GET @p path and print its array @p member with @p print (or the body with --json). */
static int get_and_print(struct ctx *ctx, const char *path, const char *member, int (*print)(const json_t *))
{
	struct http_response resp = {0};
	json_t *doc = NULL;
	int code;

	http_request(ctx, "GET", path, NULL, &resp);
	code = check_response(ctx, &resp, 200, &doc);
	if (code == EXIT_OK && doc)
		code = print_each(doc, member, print);
	json_decref(doc);
	http_response_deinit(&resp);
	return code;
}

/** resolve URI: one line per live binding; EXIT_NOT_FOUND when there is none. */
static int cmd_resolve(struct ctx *ctx)
{
	char *path = NULL;
	int code;

	if (query_path(ctx, "/v1/resolve", ctx->args->pos[1], NULL, &path) < 0) {
		fprintf(stderr, "urictl: out of memory\n");
		return EXIT_ERROR;
	}
	code = get_and_print(ctx, path, "bindings", print_binding);
	free(path);
	return code;
}

/** list: this node's publications. */
static int cmd_list(struct ctx *ctx)
{
	return get_and_print(ctx, "/v1/bindings", "bindings", print_publication);
}

/* ---- service and host records ---- */

/** What tells the service and host commands apart. */
struct name_kind {
	const char *prefix;                             /**< "/v1/services" or "/v1/hosts" */
	int (*body)(const struct args *a, json_t *doc); /**< add the PUT body's own members; exit status */
	int (*print)(const json_t *);                   /**< print one looked-up record */
	int (*print_published)(const json_t *);         /**< print the 200 body of PUT */
};

/** Parse a 0..65535 argument of a service record into @p doc's member @p key. @return exit status. */
static int add_u16(json_t *doc, const char *key, const char *what, const char *text)
{
	uint64_t v = 0;

	if (parse_u64(text, 0, UINT16_MAX, &v) < 0)
		return usage_error("%s wants a whole number from 0 to 65535", what);
	return json_object_set_new(doc, key, json_integer((json_int_t)v)) == 0 ? EXIT_OK : EXIT_ERROR;
}

/** service NAME TARGET PORT [--priority P] [--weight W]: the members of the PUT body. */
static int service_members(const struct args *a, json_t *doc)
{
	int code = json_object_set_new(doc, "target", json_string(a->pos[2])) == 0 ? EXIT_OK : EXIT_ERROR;

	if (code == EXIT_OK)
		code = add_u16(doc, "port", "PORT", a->pos[3]);
	if (code == EXIT_OK && a->priority)
		code = add_u16(doc, "priority", "--priority", a->priority);
	if (code == EXIT_OK && a->weight)
		code = add_u16(doc, "weight", "--weight", a->weight);
	return code;
}

/** host NAME ADDRESS: the members of the PUT body. */
static int host_members(const struct args *a, json_t *doc)
{
	return json_object_set_new(doc, "address", json_string(a->pos[2])) == 0 ? EXIT_OK : EXIT_ERROR;
}

static const struct name_kind service_kind = {"/v1/services", service_members, print_service,
					      print_service_publication};
static const struct name_kind host_kind = {"/v1/hosts", host_members, print_host, print_host_publication};

/**
 * The JSON body of PUT /v1/services/NAME or /v1/hosts/NAME from the command line.
 * @param[out] ret owned text. @return exit status.
 */
static int name_body(const struct args *a, const struct name_kind *kind, char **ret)
{
	uint64_t expires = 0;
	json_t *doc;
	int code;

	if (a->expires && parse_u64(a->expires, 1, MAX_EXPIRES, &expires) < 0)
		return usage_error("--expires wants seconds from 1 to %u", (unsigned)MAX_EXPIRES);
	doc = json_object();
	code = doc ? kind->body(a, doc) : EXIT_ERROR;
	if (code == EXIT_OK && a->expires &&
	    json_object_set_new(doc, "expires", json_integer((json_int_t)expires)) < 0)
		code = EXIT_ERROR;
	if (code == EXIT_OK && a->instance && json_object_set_new(doc, "instance", json_string(a->instance)) < 0)
		code = EXIT_ERROR;
	*ret = code == EXIT_OK ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (code == EXIT_OK && !*ret)
		code = EXIT_ERROR;
	if (code == EXIT_ERROR)
		fprintf(stderr, "urictl: cannot build the request (are the arguments valid UTF-8?)\n");
	return code;
}

/** service/host: PUT the record, print it as the daemon stored it. */
static int put_name(struct ctx *ctx, const struct name_kind *kind)
{
	struct http_response resp = {0};
	char *body = NULL, *path = NULL;
	json_t *doc = NULL;
	int code;

	code = name_body(ctx->args, kind, &body);
	if (code == EXIT_OK && name_path(ctx, kind->prefix, ctx->args->pos[1], NULL, &path) < 0) {
		fprintf(stderr, "urictl: out of memory\n");
		code = EXIT_ERROR;
	}
	if (code == EXIT_OK)
		code = load_token(ctx);
	if (code != EXIT_OK)
		goto out;
	http_request(ctx, "PUT", path, body, &resp);
	code = check_response(ctx, &resp, 200, &doc);
	if (code == EXIT_OK && doc && kind->print_published(doc) < 0)
		code = EXIT_ERROR;
out:
	json_decref(doc);
	http_response_deinit(&resp);
	free(path);
	free(body);
	return code;
}

/** unservice/unhost NAME INSTANCE: DELETE the record. */
static int delete_name(struct ctx *ctx, const struct name_kind *kind)
{
	const struct args *a = ctx->args;
	struct http_response resp = {0};
	char *path = NULL;
	int code;

	if (name_path(ctx, kind->prefix, a->pos[1], a->pos[2], &path) < 0) {
		fprintf(stderr, "urictl: out of memory\n");
		return EXIT_ERROR;
	}
	code = load_token(ctx);
	if (code == EXIT_OK) {
		http_request(ctx, "DELETE", path, NULL, &resp);
		code = check_response(ctx, &resp, 204, NULL);
	}
	if (code == EXIT_OK && !a->json)
		emit_line(stdout, "unpublished %s instance=%s", a->pos[1], a->pos[2]);
	http_response_deinit(&resp);
	free(path);
	return code;
}

/** lookup-service/lookup-host NAME: one line per live record; EXIT_NOT_FOUND when there is none. */
static int lookup_name(struct ctx *ctx, const struct name_kind *kind)
{
	char *path = NULL;
	int code;

	if (name_path(ctx, kind->prefix, ctx->args->pos[1], NULL, &path) < 0) {
		fprintf(stderr, "urictl: out of memory\n");
		return EXIT_ERROR;
	}
	code = get_and_print(ctx, path, "records", kind->print);
	free(path);
	return code;
}

/** service NAME TARGET PORT [--priority P] [--weight W] [--expires S] [--instance I]. */
static int cmd_service(struct ctx *ctx)
{
	return put_name(ctx, &service_kind);
}

/** host NAME ADDRESS [--expires S] [--instance I]. */
static int cmd_host(struct ctx *ctx)
{
	return put_name(ctx, &host_kind);
}

/** unservice NAME INSTANCE. */
static int cmd_unservice(struct ctx *ctx)
{
	return delete_name(ctx, &service_kind);
}

/** unhost NAME INSTANCE. */
static int cmd_unhost(struct ctx *ctx)
{
	return delete_name(ctx, &host_kind);
}

/** lookup-service NAME. */
static int cmd_lookup_service(struct ctx *ctx)
{
	return lookup_name(ctx, &service_kind);
}

/** lookup-host NAME. */
static int cmd_lookup_host(struct ctx *ctx)
{
	return lookup_name(ctx, &host_kind);
}

/** status: the node's status as indented "key: value" lines. */
static int cmd_status(struct ctx *ctx)
{
	struct http_response resp = {0};
	json_t *doc = NULL;
	int code;

	http_request(ctx, "GET", "/v1/status", NULL, &resp);
	code = check_response(ctx, &resp, 200, &doc);
	if (code == EXIT_OK && doc && print_tree(doc, 0) < 0)
		code = EXIT_ERROR;
	json_decref(doc);
	http_response_deinit(&resp);
	return code;
}

/** Print a public key as hex. */
static void print_pub(const uint8_t pub[KEYS_PUB_LEN])
{
	char hex[KEYS_PUB_HEX_LEN + 1];

	keys_pub_to_hex(pub, hex);
	printf("%s\n", hex);
}

/** keygen FILE [--force]: a new key, saved with mode 0600. */
static int cmd_keygen(struct ctx *ctx)
{
	const char *path = ctx->args->pos[1];
	struct keypair key = {0};
	struct stat st;
	int rc;

	if (!ctx->args->force && lstat(path, &st) == 0) {
		fprintf(stderr, "urictl: %s exists; use --force to replace it\n", path);
		return EXIT_ERROR;
	}
	rc = keys_generate(&key);
	if (rc == 0)
		rc = keys_save(&key, path);
	if (rc < 0) {
		fprintf(stderr, "urictl: cannot create key %s: %s\n", path, strerror(-rc));
	} else {
		print_pub(key.pub);
	}
	keys_deinit(&key);
	return rc < 0 ? EXIT_ERROR : EXIT_OK;
}

/** pubkey FILE: the public key of a key file. */
static int cmd_pubkey(struct ctx *ctx)
{
	struct keypair key = {0};

	if (load_key(ctx->args->pos[1], &key) != EXIT_OK)
		return EXIT_ERROR;
	print_pub(key.pub);
	keys_deinit(&key);
	return EXIT_OK;
}

/** Check delegate's arguments. @return exit status. */
static int delegate_args(const struct args *a, uint8_t device[KEYS_PUB_LEN], uint64_t *ret_not_after)
{
	if (!a->key || !a->device || !a->pattern || !a->not_after)
		return usage_error("delegate needs --key, --device, --pattern and --not-after");
	if (keys_pub_from_hex(a->device, device) < 0)
		return usage_error("--device wants a public key as 64 hex digits");
	if (a->pattern[0] == '\0' || strlen(a->pattern) > RECORD_MAX_URI)
		return usage_error("--pattern wants 1 to %d bytes", RECORD_MAX_URI);
	if (parse_u64(a->not_after, now_seconds() + 1, UINT64_MAX, ret_not_after) < 0)
		return usage_error("--not-after wants a unix time in the future");
	return EXIT_OK;
}

/** delegate --key K --device HEX --pattern GLOB --not-after UNIX: print a base64 certificate. */
static int cmd_delegate(struct ctx *ctx)
{
	const struct args *a = ctx->args;
	uint8_t device[KEYS_PUB_LEN], raw[RECORD_MAX_SIZE];
	struct record_cert cert = {0};
	struct keypair key = {0};
	uint64_t not_after = 0;
	char *b64 = NULL;
	int code, rc;

	code = delegate_args(a, device, &not_after);
	if (code != EXIT_OK)
		return code;
	if (load_key(a->key, &key) != EXIT_OK)
		return EXIT_ERROR;
	rc = record_cert_make(&key, device, a->pattern, not_after, &cert);
	if (rc == 0)
		rc = record_cert_encode(&cert, raw, sizeof(raw));
	if (rc >= 0) {
		b64 = base64_encode(raw, (size_t)rc);
		rc = b64 ? 0 : -ENOMEM;
	}
	if (rc < 0)
		fprintf(stderr, "urictl: cannot make the certificate: %s\n", strerror(-rc));
	else
		printf("%s\n", b64);
	free(b64);
	keys_deinit(&key);
	return rc < 0 ? EXIT_ERROR : EXIT_OK;
}

/* ---- command line ---- */

static const struct command commands[] = {
	{ "publish", 2, 2, OPTB_EXPIRES | OPTB_Q | OPTB_INSTANCE | OPTB_KEY | OPTB_CERT | OPTB_SEQ, true,
	  cmd_publish },
	{ "unpublish", 2, 2, OPTB_KEY | OPTB_CERT | OPTB_EXPIRES | OPTB_SEQ, true, cmd_unpublish },
	{ "resolve", 1, 1, 0, true, cmd_resolve },
	{ "list", 0, 0, 0, true, cmd_list },
	{ "service", 3, 3, OPTB_PRIORITY | OPTB_WEIGHT | OPTB_EXPIRES | OPTB_INSTANCE, true, cmd_service },
	{ "host", 2, 2, OPTB_EXPIRES | OPTB_INSTANCE, true, cmd_host },
	{ "unservice", 2, 2, 0, true, cmd_unservice },
	{ "unhost", 2, 2, 0, true, cmd_unhost },
	{ "lookup-service", 1, 1, 0, true, cmd_lookup_service },
	{ "lookup-host", 1, 1, 0, true, cmd_lookup_host },
	{ "status", 0, 0, 0, true, cmd_status },
	{ "keygen", 1, 1, OPTB_FORCE, false, cmd_keygen },
	{ "pubkey", 1, 1, 0, false, cmd_pubkey },
	{ "delegate", 0, 0, OPTB_KEY | OPTB_DEVICE | OPTB_PATTERN | OPTB_NOT_AFTER, false, cmd_delegate },
};

/** Long options. Values below 256 are global; command options carry 256 + their OPTB_ bit index. */
enum { OPT_URL = 'u', OPT_TOKEN = 't', OPT_TOKEN_FILE = 'f', OPT_JSON = 'j', OPT_HELP = 'h',
       OPT_VERSION = 'V', OPT_CMD = 256 };

static const struct option long_options[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "expires", required_argument, NULL, OPT_CMD + 0 },
	{ "q", required_argument, NULL, OPT_CMD + 1 },
	{ "instance", required_argument, NULL, OPT_CMD + 2 },
	{ "key", required_argument, NULL, OPT_CMD + 3 },
	{ "cert", required_argument, NULL, OPT_CMD + 4 },
	{ "seq", required_argument, NULL, OPT_CMD + 5 },
	{ "device", required_argument, NULL, OPT_CMD + 6 },
	{ "pattern", required_argument, NULL, OPT_CMD + 7 },
	{ "not-after", required_argument, NULL, OPT_CMD + 8 },
	{ "force", no_argument, NULL, OPT_CMD + 9 },
	{ "priority", required_argument, NULL, OPT_CMD + 10 },
	{ "weight", required_argument, NULL, OPT_CMD + 11 },
	{ NULL, 0, NULL, 0 },
};

/** The slot of struct args that a command option (OPT_CMD + bit index) fills, or NULL. */
static const char **command_option_slot(struct args *a, int bit)
{
	/* Indexed by OPTB_ bit; --force (bit 9) takes no value and has no slot. */
	const char **slots[OPTB_COUNT] = {
		&a->expires, &a->q, &a->instance, &a->key, &a->cert,
		&a->seq, &a->device, &a->pattern, &a->not_after, NULL,
		&a->priority, &a->weight,
	};

	return bit >= 0 && bit < OPTB_COUNT ? slots[bit] : NULL;
}

/** Record one option. @return 0, or 1 for --help/--version (done), or -EINVAL. */
static int take_option(struct args *a, int opt, const char *value)
{
	const char **slot;

	switch (opt) {
	case OPT_URL: a->url = value; return 0;
	case OPT_TOKEN: a->token = value; return 0;
	case OPT_TOKEN_FILE: a->token_file = value; return 0;
	case OPT_JSON: a->json = true; return 0;
	case OPT_HELP: fputs(usage_text, stdout); return 1;
	case OPT_VERSION: puts("urictl " RESOLVERD_VERSION); return 1;
	default: break;
	}
	if (opt < OPT_CMD)
		return -EINVAL;
	a->seen |= 1u << (opt - OPT_CMD);
	if (opt == OPT_CMD + 9) {
		a->force = true;
		return 0;
	}
	slot = command_option_slot(a, opt - OPT_CMD);
	if (!slot)
		return -EINVAL;
	*slot = value;
	return 0;
}

/**
 * Parse argv into @p a: options anywhere, words in order into a->pos.
 * @return EXIT_OK, EXIT_USAGE, or -1 when --help/--version was handled.
 */
static int parse_argv(int argc, char **argv, struct args *a)
{
	int opt, rc;

	a->pos = calloc((size_t)argc + 1, sizeof(*a->pos));
	if (!a->pos) {
		fprintf(stderr, "urictl: out of memory\n");
		return EXIT_ERROR;
	}
	opterr = 1;
	/* A leading '-' returns each word as option 1, in order, whatever POSIXLY_CORRECT says. */
	while ((opt = getopt_long(argc, argv, "-hV", long_options, NULL)) != -1) {
		if (opt == 1) {
			a->pos[a->npos++] = optarg;
			continue;
		}
		if (opt == '?') {
			/* getopt_long() has already said what is wrong. */
			fputs("Try 'urictl --help'.\n", stderr);
			return EXIT_USAGE;
		}
		rc = take_option(a, opt, optarg);
		if (rc != 0)
			return rc > 0 ? -1 : usage_error("bad option");
	}
	while (optind < argc)
		a->pos[a->npos++] = argv[optind++];
	if (a->token && a->token_file)
		return usage_error("give --token or --token-file, not both");
	return EXIT_OK;
}

/** The long name of the option whose value is @p val. */
static const char *option_name(int val)
{
	for (const struct option *o = long_options; o->name; o++) {
		if (o->val == val)
			return o->name;
	}
	return "?";
}

/** Find the command named by a->pos[0] and check its arguments. @return exit status. */
static int find_command(const struct args *a, const struct command **ret)
{
	const struct command *cmd = NULL;

	if (a->npos == 0)
		return usage_error("no command given");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, a->pos[0]) == 0)
			cmd = &commands[i];
	}
	if (!cmd)
		return usage_error("unknown command '%s'", a->pos[0]);
	if (a->npos - 1 < cmd->min_args || a->npos - 1 > cmd->max_args)
		return usage_error("wrong number of arguments for %s", cmd->name);
	for (int bit = 0; bit < OPTB_COUNT; bit++) {
		if ((a->seen & ~cmd->options) & (1u << bit))
			return usage_error("--%s does not apply to %s", option_name(OPT_CMD + bit), cmd->name);
	}
	*ret = cmd;
	return EXIT_OK;
}

/** Set up what @p cmd needs, run it and tear down. @return its exit status. */
static int run_command(const struct command *cmd, const struct args *a)
{
	struct ctx ctx = { .args = a };
	int code = EXIT_ERROR;

	if (cmd->network) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fprintf(stderr, "urictl: cannot initialize libcurl\n");
			return EXIT_ERROR;
		}
		ctx.curl = curl_easy_init();
		if (!ctx.curl || set_base_url(&ctx) < 0) {
			fprintf(stderr, "urictl: out of memory\n");
			goto out;
		}
	}
	code = cmd->run(&ctx);
out:
	if (cmd->network) {
		curl_easy_cleanup(ctx.curl);
		curl_global_cleanup();
	}
	free(ctx.base_url);
	free(ctx.token);
	return code;
}

/** The plugins whose normalizers the daemon uses by default (config.c's default_plugins). */
static const char *const plugin_names[] = {"sip", "xmpp", "h323", "tel"};

/** Load each plugin's normalizer into @p loaded; a missing one is skipped, a broken one reported. */
static void load_plugins(struct loaded_plugin *loaded[])
{
	for (size_t i = 0; i < sizeof(plugin_names) / sizeof(plugin_names[0]); i++) {
		char *err = NULL;
		int rc = plugin_load(plugin_names[i], NULL, &loaded[i], &err);

		if (rc < 0 && rc != -ENOENT)
			fprintf(stderr, "urictl: %s (its URIs get the generic rules)\n", err ? err : strerror(-rc));
		if (rc < 0)
			loaded[i] = NULL;
		free(err);
	}
}

static void unload_plugins(struct loaded_plugin *loaded[])
{
	uri_clear_normalizers();
	for (size_t i = 0; i < sizeof(plugin_names) / sizeof(plugin_names[0]); i++)
		plugin_unload(loaded[i]);
}

int main(int argc, char **argv)
{
	struct loaded_plugin *loaded[sizeof(plugin_names) / sizeof(plugin_names[0])] = {NULL};
	const struct command *cmd = NULL;
	struct args args = {0};
	int code;

	code = parse_argv(argc, argv, &args);
	if (code == EXIT_OK)
		code = find_command(&args, &cmd);
	if (code == EXIT_OK && cmd) {
		load_plugins(loaded);
		code = run_command(cmd, &args);
		unload_plugins(loaded);
	}
	free(args.pos);
	return code < 0 ? EXIT_OK : code;
}

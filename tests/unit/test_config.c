/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for resolverd/config/config.c: defaults, YAML loading and its errors, --set, bounds, addresses. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "resolverd/config/config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define KEY_A "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
#define KEY_B "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define KEY_A_UPPER "3B6A27BCCEB6A42D62A3A8D02A6F0D73653215771DE243A63AC048A18B59DA29"

/* ------------------------------------------------------------------------- */
/* Leak checks: LeakSanitizer under ASan, a counting malloc otherwise.       */
/* ------------------------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
/* Criterion ignores the exit status LeakSanitizer sets, so ask for a report now. */
#define assert_no_leaks() \
	cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked: see the LeakSanitizer report")
#else
#define assert_no_leaks() \
	do {              \
	} while (0)

/*
 * Without ASan, this file replaces malloc (glibc supports that by symbol
 * interposition) with a pass-through that, once armed on one thread, fails
 * the Nth allocation and remembers every live block allocated since arming.
 */
#define FAULTS 1
#define FAULTS_LIVE_MAX 8192

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static struct {
	volatile bool armed;   /* checked first: nothing else is touched while false */
	pthread_t owner;       /* the armed thread; others pass through */
	long countdown;        /* allocations left before the failure; < 0: never fail */
	bool failed;           /* the injected failure happened */
	bool overflow;         /* more than FAULTS_LIVE_MAX live blocks */
	size_t live_n;
	void *live[FAULTS_LIVE_MAX];
} faults;

static bool faults_mine(void)
{
	return faults.armed && pthread_equal(pthread_self(), faults.owner);
}

/* @return true if this allocation must fail. */
static bool faults_fail_now(void)
{
	if (faults.countdown < 0)
		return false;
	if (faults.countdown-- > 0)
		return false;
	faults.failed = true;
	return true;
}

static void faults_track(void *p)
{
	if (!p)
		return;
	if (faults.live_n == FAULTS_LIVE_MAX)
		faults.overflow = true;
	else
		faults.live[faults.live_n++] = p;
}

static void faults_untrack(void *p)
{
	for (size_t i = 0; i < faults.live_n; i++) {
		if (faults.live[i] == p) {
			faults.live[i] = faults.live[--faults.live_n];
			return;
		}
	}
}

__attribute__((visibility("default"))) void *malloc(size_t size)
{
	void *p;

	if (!faults_mine())
		return __libc_malloc(size);
	if (faults_fail_now()) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_malloc(size);
	faults_track(p);
	return p;
}

__attribute__((visibility("default"))) void *calloc(size_t n, size_t size)
{
	void *p;

	if (!faults_mine())
		return __libc_calloc(n, size);
	if (faults_fail_now()) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_calloc(n, size);
	faults_track(p);
	return p;
}

__attribute__((visibility("default"))) void *realloc(void *old, size_t size)
{
	void *p;

	if (!faults_mine())
		return __libc_realloc(old, size);
	if (faults_fail_now()) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_realloc(old, size);
	if (p) {
		faults_untrack(old);
		faults_track(p);
	}
	return p;
}

__attribute__((visibility("default"))) void free(void *p)
{
	if (p && faults_mine())
		faults_untrack(p);
	__libc_free(p);
}

/* Fail the allocation after @p n successful ones (-1: none) from now on, on this thread. */
static void faults_arm(long n)
{
	faults.owner = pthread_self();
	faults.countdown = n;
	faults.failed = false;
	faults.overflow = false;
	faults.live_n = 0;
	faults.armed = true;
}

static void faults_disarm(void)
{
	faults.armed = false;
}
#endif

/* ------------------------------------------------------------------------- */
/* Helpers.                                                                  */
/* ------------------------------------------------------------------------- */

/* @return the owned path of @p rel inside the source tree. */
static char *source_path(const char *rel)
{
	const char *root = getenv("RESOLVERD_SOURCE_ROOT");
	char *path;

	cr_assert_not_null(root, "RESOLVERD_SOURCE_ROOT is not set");
	cr_assert_geq(asprintf(&path, "%s/%s", root, rel), 0);
	return path;
}

/* Write @p len bytes of @p text to a new temporary file. @return its owned path. */
static char *temp_file(const char *text, size_t len)
{
	char *path = strdup("/tmp/test_config_XXXXXX.yaml");
	int fd;

	cr_assert_not_null(path);
	fd = mkstemps(path, 5);
	cr_assert_geq(fd, 0, "mkstemps: %s", strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/*
 * Load @p yaml (written to a temporary file) over @p cfg. On failure the
 * message must start with the file's path; *ret_err gets it with the path
 * replaced by "F", so that tables can spell out "F:LINE:COLUMN: reason".
 */
static int load_yaml_len(struct rd_config *cfg, const char *yaml, size_t len, char **ret_err)
{
	char *path = temp_file(yaml, len);
	char *err = NULL;
	int ret = config_load(cfg, path, &err);

	unlink(path);
	*ret_err = NULL;
	if (ret < 0) {
		cr_assert_not_null(err, "no message for %d", ret);
		cr_assert_eq(strncmp(err, path, strlen(path)), 0, "message without the path: %s", err);
		cr_assert_geq(asprintf(ret_err, "F%s", err + strlen(path)), 0);
	} else {
		cr_assert_null(err, "a message after success: %s", err);
	}
	free(err);
	free(path);
	return ret;
}

static int load_yaml(struct rd_config *cfg, const char *yaml, char **ret_err)
{
	return load_yaml_len(cfg, yaml, strlen(yaml), ret_err);
}

/* Apply --set @p assignment, which must succeed. */
static void set_ok(struct rd_config *cfg, const char *assignment)
{
	char *err = NULL;
	int ret = config_set(cfg, assignment, &err);

	cr_assert_eq(ret, 0, "--set %s: %d %s", assignment, ret, err ? err : "");
	cr_assert_null(err);
}

/* Assert @p sv holds exactly the NULL-terminated strings that follow. */
static void assert_strv(const struct config_strv *sv, ...)
{
	va_list ap;
	size_t i = 0;
	const char *s;

	va_start(ap, sv);
	while ((s = va_arg(ap, const char *))) {
		cr_assert_lt(i, sv->n, "only %zu items, expected '%s' next", sv->n, s);
		cr_assert_str_eq(sv->v[i], s);
		i++;
	}
	va_end(ap);
	cr_assert_eq(sv->n, i, "%zu items, expected %zu", sv->n, i);
}

static void assert_strv_eq(const struct config_strv *a, const struct config_strv *b, const char *what)
{
	cr_assert_eq(a->n, b->n, "%s: %zu items, expected %zu", what, a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		cr_assert_str_eq(a->v[i], b->v[i], "%s[%zu]", what, i);
}

static void assert_opt_str_eq(const char *a, const char *b, const char *what)
{
	if (!a || !b)
		cr_assert(a == b, "%s: '%s' vs '%s'", what, a ? a : "(null)", b ? b : "(null)");
	else
		cr_assert_str_eq(a, b, "%s", what);
}

static void assert_maps_eq(const struct rd_config *a, const struct rd_config *b)
{
	cr_assert_eq(a->http.n_tokens, b->http.n_tokens, "http.tokens size");
	for (size_t i = 0; i < a->http.n_tokens; i++) {
		cr_assert_str_eq(a->http.tokens[i].name, b->http.tokens[i].name);
		assert_opt_str_eq(a->http.tokens[i].token, b->http.tokens[i].token, "token");
		assert_strv_eq(&a->http.tokens[i].scopes, &b->http.tokens[i].scopes, "scopes");
	}
	cr_assert_eq(a->policy.n_domains, b->policy.n_domains, "policy.domains size");
	for (size_t i = 0; i < a->policy.n_domains; i++) {
		cr_assert_str_eq(a->policy.domains[i].name, b->policy.domains[i].name);
		assert_strv_eq(&a->policy.domains[i].keys, &b->policy.domains[i].keys, "keys");
	}
	cr_assert_eq(a->dns.n_zones, b->dns.n_zones, "dns.dht_zones size");
	for (size_t i = 0; i < a->dns.n_zones; i++) {
		cr_assert_str_eq(a->dns.zones[i].apex, b->dns.zones[i].apex);
		assert_strv_eq(&a->dns.zones[i].ns, &b->dns.zones[i].ns, "ns");
		assert_opt_str_eq(a->dns.zones[i].hostmaster, b->dns.zones[i].hostmaster, "hostmaster");
		cr_assert_eq(a->dns.zones[i].serial, b->dns.zones[i].serial, "serial");
		cr_assert_eq(a->dns.zones[i].negative_ttl, b->dns.zones[i].negative_ttl, "negative_ttl");
	}
	cr_assert_eq(a->n_plugins, b->n_plugins, "plugins size");
	for (size_t i = 0; i < a->n_plugins; i++) {
		const struct config_plugin *pa = &a->plugins[i], *pb = &b->plugins[i];

		cr_assert_str_eq(pa->name, pb->name);
		cr_assert_eq(pa->enabled, pb->enabled, "plugins.%s.enabled", pa->name);
		assert_opt_str_eq(pa->path, pb->path, "path");
		cr_assert_eq(pa->fallback, pb->fallback, "plugins.%s.fallback", pa->name);
		cr_assert_eq(pa->n_raw, pb->n_raw, "plugins.%s: values", pa->name);
		for (size_t k = 0; k < pa->n_raw; k++) {
			cr_assert_str_eq(pa->raw[k].key, pb->raw[k].key);
			cr_assert_eq(pa->raw[k].kind, pb->raw[k].kind);
			assert_opt_str_eq(pa->raw[k].text, pb->raw[k].text, "plugin value");
			assert_strv_eq(&pa->raw[k].items, &pb->raw[k].items, "plugin list");
		}
	}
}

/* Assert that every option of @p a equals that of @p b. */
static void assert_config_eq(const struct rd_config *a, const struct rd_config *b)
{
	cr_assert_str_eq(a->state_dir, b->state_dir);
	cr_assert_str_eq(a->dht.listen, b->dht.listen);
	cr_assert_eq(a->dht.network, b->dht.network, "dht.network");
	assert_strv_eq(&a->dht.bootstrap, &b->dht.bootstrap, "dht.bootstrap");
	cr_assert_eq(a->dht.get_timeout_ms, b->dht.get_timeout_ms, "dht.get_timeout_ms");
	assert_strv_eq(&a->http.listen, &b->http.listen, "http.listen");
	cr_assert_eq(a->http.threads, b->http.threads, "http.threads");
	cr_assert_eq(a->http.max_body, b->http.max_body, "http.max_body");
	cr_assert_eq(a->http.max_connections, b->http.max_connections, "http.max_connections");
	cr_assert_eq(a->http.max_connections_per_ip, b->http.max_connections_per_ip, "http.max_connections_per_ip");
	cr_assert_eq(a->http.timeout_s, b->http.timeout_s, "http.timeout_s");
	assert_strv_eq(&a->http.read_acl, &b->http.read_acl, "http.read_acl");
	cr_assert_eq(a->http.rate_limit.requests_per_second, b->http.rate_limit.requests_per_second,
		     "http.rate_limit.requests_per_second");
	cr_assert_eq(a->http.rate_limit.burst, b->http.rate_limit.burst, "http.rate_limit.burst");
	assert_strv_eq(&a->dns.listen, &b->dns.listen, "dns.listen");
	assert_strv_eq(&a->dns.enum_suffixes, &b->dns.enum_suffixes, "dns.enum_suffixes");
	cr_assert_eq(a->dns.max_ttl, b->dns.max_ttl, "dns.max_ttl");
	cr_assert_eq(a->dns.edns_payload, b->dns.edns_payload, "dns.edns_payload");
	assert_strv_eq(&a->dns.forward.upstreams, &b->dns.forward.upstreams, "dns.forward.upstreams");
	assert_strv_eq(&a->dns.forward.allow, &b->dns.forward.allow, "dns.forward.allow");
	cr_assert_eq(a->dns.forward.timeout_ms, b->dns.forward.timeout_ms, "dns.forward.timeout_ms");
	cr_assert_eq(a->dns.forward.cache_entries, b->dns.forward.cache_entries, "dns.forward.cache_entries");
	cr_assert_eq(a->dns.rrl.responses_per_second, b->dns.rrl.responses_per_second, "dns.rrl.responses_per_second");
	cr_assert_eq(a->dns.rrl.slip, b->dns.rrl.slip, "dns.rrl.slip");
	cr_assert_eq(a->dns.rrl.ipv4_prefix, b->dns.rrl.ipv4_prefix, "dns.rrl.ipv4_prefix");
	cr_assert_eq(a->dns.rrl.ipv6_prefix, b->dns.rrl.ipv6_prefix, "dns.rrl.ipv6_prefix");
	cr_assert_eq(a->dns.rrl.table_size, b->dns.rrl.table_size, "dns.rrl.table_size");
	cr_assert_eq(a->dns.tcp.max_connections, b->dns.tcp.max_connections, "dns.tcp.max_connections");
	cr_assert_eq(a->dns.tcp.idle_timeout_ms, b->dns.tcp.idle_timeout_ms, "dns.tcp.idle_timeout_ms");
	cr_assert_eq(a->policy.default_mode, b->policy.default_mode, "policy.default");
	cr_assert_eq(a->resolve.max_bindings, b->resolve.max_bindings, "resolve.max_bindings");
	cr_assert_eq(a->resolve.max_values_per_key, b->resolve.max_values_per_key, "resolve.max_values_per_key");
	cr_assert_eq(a->publish.default_expires, b->publish.default_expires, "publish.default_expires");
	cr_assert_eq(a->publish.max_expires, b->publish.max_expires, "publish.max_expires");
	cr_assert_eq(a->publish.max_publications, b->publish.max_publications, "publish.max_publications");
	cr_assert_eq(a->cache.max_entries, b->cache.max_entries, "cache.max_entries");
	cr_assert_eq(a->cache.idle_s, b->cache.idle_s, "cache.idle_s");
	cr_assert_eq(a->log.level, b->log.level, "log.level");
	assert_strv_eq(&a->fallback.servers, &b->fallback.servers, "fallback.servers");
	cr_assert_eq(a->fallback.timeout_ms, b->fallback.timeout_ms, "fallback.timeout_ms");
	assert_maps_eq(a, b);
}

static void assert_is_default(const struct rd_config *cfg)
{
	struct rd_config defaults;

	cr_assert_eq(config_init(&defaults), 0);
	assert_config_eq(cfg, &defaults);
	config_deinit(&defaults);
}

/* Every option but the three maps, each set to a value that is not its default. */
static const char *const non_defaults[] = {
	"state_dir=/tmp/elsewhere",
	"dht.listen=10.0.0.1:1",
	"dht.network=1",
	"dht.bootstrap=peer.example.net:4222",
	"dht.get_timeout_ms=11",
	"http.listen=10.0.0.1:2",
	"http.threads=3",
	"http.max_body=300",
	"http.max_connections=5",
	"http.max_connections_per_ip=6",
	"http.timeout_s=7",
	"http.read_acl=10.0.0.0/8",
	"http.rate_limit.requests_per_second=15",
	"http.rate_limit.burst=16",
	"dns.listen=",
	"dns.enum_suffixes=e164.org,E164.ARPA",
	"dns.max_ttl=1",
	"dns.edns_payload=4096",
	"dns.forward.upstreams=192.0.2.53:53",
	"dns.forward.allow=",
	"dns.forward.timeout_ms=100",
	"dns.forward.cache_entries=0",
	"dns.rrl.responses_per_second=0",
	"dns.rrl.slip=1",
	"dns.rrl.ipv4_prefix=32",
	"dns.rrl.ipv6_prefix=64",
	"dns.rrl.table_size=1024",
	"dns.tcp.max_connections=1",
	"dns.tcp.idle_timeout_ms=600000",
	"policy.default=keys",
	"resolve.max_bindings=8",
	"resolve.max_values_per_key=9",
	"publish.default_expires=10",
	"publish.max_expires=11",
	"publish.max_publications=12",
	"cache.max_entries=13",
	"cache.idle_s=14",
	"log.level=debug",
	"fallback.servers=192.0.2.53:53",
	"fallback.timeout_ms=100",
};

/* A file that sets every option, most to a bound, in block and flow style. */
static const char full_yaml[] =
	"# every option\n"
	"state_dir: \"/srv/resolverd\"\n"
	"dht:\n"
	"  listen: \"[::1]:4223\"\n"
	"  network: 4294967295\n"
	"  bootstrap:\n"
	"    - \"peer.example.net:4222\"\n"
	"    - 192.0.2.1:4222\n"
	"    - \"[2001:db8::1]:4222\"\n"
	"  get_timeout_ms: 10000\n"
	"http:\n"
	"  listen: [\"0.0.0.0:8080\", \"[::]:8080\"]\n"
	"  threads: 64\n"
	"  max_body: 256\n"
	"  max_connections: 100000\n"
	"  max_connections_per_ip: 1\n"
	"  timeout_s: 3600\n"
	"  read_acl: [\"10.0.0.0/8\", \"192.0.2.7\", \"::1\", \"2001:db8::/32\"]\n"
	"  rate_limit: {requests_per_second: 1000000, burst: 1}\n"
	"  tokens:\n"
	"    ops:\n"
	"      token: \"0123456789abcdef\"\n"
	"      scopes: [\"sip:*@a.example\", \"tel:*\"]\n"
	"    ci.bot: {token: 'fedcba9876543210', scopes: []}\n"
	"dns:\n"
	"  listen: []\n"
	"  enum_suffixes: [\"E164.arpa\", e164.example-1.org]\n"
	"  max_ttl: 604800\n"
	"  edns_payload: 512\n"
	"  dht_zones:\n"
	"    A.P2P:\n"
	"      ns: [\"ns1.a.p2p\", NS2.Elsewhere.example]\n"
	"      hostmaster: \"admin.a.p2p\"\n"
	"      serial: 4294967295\n"
	"      negative_ttl: 0\n"
	"    example.net: {serial: 1, negative_ttl: 86400}\n"
	"  forward:\n"
	"    upstreams: [\"192.0.2.53:53\", \"[2001:db8::53]:5353\"]\n"
	"    allow: [\"0.0.0.0/0\", \"::/0\"]\n"
	"    timeout_ms: 30000\n"
	"    cache_entries: 1000000\n"
	"  rrl: {responses_per_second: 1000000, slip: 10, ipv4_prefix: 8, ipv6_prefix: 128, table_size: 16777216}\n"
	"  tcp: {max_connections: 100000, idle_timeout_ms: 100}\n"
	"policy:\n"
	"  default: keys\n"
	"  domains:\n"
	"    Example.COM:\n"
	"      keys:\n"
	"        - " KEY_A_UPPER "\n"
	"        - \"" KEY_B "\"\n"
	"    sub.example.org: {keys: []}\n"
	"resolve: {max_bindings: 1000, max_values_per_key: 1}\n"
	"publish: {default_expires: 60, max_expires: 31536000, max_publications: 1}\n"
	"cache: {max_entries: 10000000, idle_s: 1}\n"
	"log: {level: debug}\n";

/* ------------------------------------------------------------------------- */
/* Defaults and the shipped file.                                            */
/* ------------------------------------------------------------------------- */

Test(config, defaults_are_the_documented_values)
{
	struct rd_config cfg;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_str_eq(cfg.state_dir, "/var/lib/resolverd");
	cr_assert_str_eq(cfg.dht.listen, "127.0.0.1:4222");
	cr_assert_eq(cfg.dht.network, 30741);
	assert_strv(&cfg.dht.bootstrap, NULL);
	cr_assert_eq(cfg.dht.get_timeout_ms, 400);
	assert_strv(&cfg.http.listen, "127.0.0.1:7380", NULL);
	cr_assert_eq(cfg.http.threads, 2);
	cr_assert_eq(cfg.http.max_body, 16384);
	cr_assert_eq(cfg.http.max_connections, 1024);
	cr_assert_eq(cfg.http.max_connections_per_ip, 256);
	cr_assert_eq(cfg.http.timeout_s, 30);
	assert_strv(&cfg.http.read_acl, "127.0.0.0/8", "::1/128", NULL);
	cr_assert_eq(cfg.http.rate_limit.requests_per_second, 0, "HTTP rate limiting is off");
	cr_assert_eq(cfg.http.rate_limit.burst, 100);
	cr_assert_eq(cfg.http.n_tokens, 0);
	cr_assert_null(cfg.http.tokens);
	assert_strv(&cfg.dns.listen, "127.0.0.1:5300", NULL);
	assert_strv(&cfg.dns.enum_suffixes, "e164.arpa", NULL);
	cr_assert_eq(cfg.dns.max_ttl, 300);
	cr_assert_eq(cfg.dns.edns_payload, 1232);
	cr_assert_eq(cfg.dns.n_zones, 0);
	cr_assert_null(cfg.dns.zones);
	assert_strv(&cfg.dns.forward.upstreams, NULL);
	assert_strv(&cfg.dns.forward.allow, "127.0.0.0/8", "::1/128", NULL);
	cr_assert_eq(cfg.dns.forward.timeout_ms, 1500);
	cr_assert_eq(cfg.dns.forward.cache_entries, 10000);
	cr_assert_eq(cfg.dns.rrl.responses_per_second, 200);
	cr_assert_eq(cfg.dns.rrl.slip, 2);
	cr_assert_eq(cfg.dns.rrl.ipv4_prefix, 24);
	cr_assert_eq(cfg.dns.rrl.ipv6_prefix, 56);
	cr_assert_eq(cfg.dns.rrl.table_size, 65536);
	cr_assert_eq(cfg.dns.tcp.max_connections, 256);
	cr_assert_eq(cfg.dns.tcp.idle_timeout_ms, 10000);
	cr_assert_eq(cfg.policy.default_mode, 0, "policy.default is open");
	cr_assert_eq(cfg.policy.n_domains, 0);
	cr_assert_null(cfg.policy.domains);
	cr_assert_eq(cfg.resolve.max_bindings, 16);
	cr_assert_eq(cfg.resolve.max_values_per_key, 256);
	cr_assert_eq(cfg.publish.default_expires, 3600);
	cr_assert_eq(cfg.publish.max_expires, 86400);
	cr_assert_eq(cfg.publish.max_publications, 100000);
	cr_assert_eq(cfg.cache.max_entries, 100000);
	cr_assert_eq(cfg.cache.idle_s, 300);
	cr_assert_eq(cfg.log.level, LOG_LEVEL_INFO);
	assert_strv(&cfg.fallback.servers, NULL);
	cr_assert_eq(cfg.fallback.timeout_ms, 2000);
	/* The protocol plugins are on by default, each with its fallback; none is named by a file yet. */
	cr_assert_eq(cfg.n_plugins, 4);
	for (size_t i = 0; i < cfg.n_plugins; i++) {
		static const char *const names[] = {"sip", "xmpp", "h323", "tel"};

		cr_assert_str_eq(cfg.plugins[i].name, names[i]);
		cr_assert_eq(cfg.plugins[i].enabled, 1);
		cr_assert_eq(cfg.plugins[i].fallback, 1);
		cr_assert_null(cfg.plugins[i].path);
		cr_assert_eq(cfg.plugins[i].n_raw, 0);
		cr_assert_not(config_plugin_is_explicit(&cfg.plugins[i]));
	}
	cr_assert_eq(config_validate(&cfg, NULL), 0);
	config_deinit(&cfg);
	config_deinit(&cfg); /* twice is harmless */
	assert_no_leaks();
}

Test(config, shipped_file_sets_every_option_to_its_default)
{
	char *path = source_path("etc/resolverd.yaml");
	struct rd_config cfg, defaults;
	char *err = NULL;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(config_init(&defaults), 0);
	/* Move every option off its default: the file must bring each one back. */
	for (size_t i = 0; i < ARRAY_SIZE(non_defaults); i++)
		set_ok(&cfg, non_defaults[i]);
	cr_assert_neq(cfg.http.threads, defaults.http.threads);
	cr_assert_eq(config_load(&cfg, path, &err), 0, "%s", err ? err : "");
	cr_assert_null(err);
	assert_config_eq(&cfg, &defaults);
	cr_assert_eq(config_validate(&cfg, &err), 0, "%s", err ? err : "");
	config_deinit(&cfg);
	config_deinit(&defaults);
	free(path);
	assert_no_leaks();
}

Test(config, non_default_list_covers_every_option)
{
	struct rd_config cfg, defaults;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(config_init(&defaults), 0);
	for (size_t i = 0; i < ARRAY_SIZE(non_defaults); i++)
		set_ok(&cfg, non_defaults[i]);
	/* Each scalar and list option must now differ; the maps are tested elsewhere. */
	cr_assert_str_neq(cfg.state_dir, defaults.state_dir);
	cr_assert_str_neq(cfg.dht.listen, defaults.dht.listen);
	cr_assert_neq(cfg.dht.network, defaults.dht.network);
	cr_assert_neq(cfg.dht.bootstrap.n, defaults.dht.bootstrap.n);
	cr_assert_neq(cfg.dht.get_timeout_ms, defaults.dht.get_timeout_ms);
	cr_assert_str_neq(cfg.http.listen.v[0], defaults.http.listen.v[0]);
	cr_assert_neq(cfg.http.threads, defaults.http.threads);
	cr_assert_neq(cfg.http.max_body, defaults.http.max_body);
	cr_assert_neq(cfg.http.max_connections, defaults.http.max_connections);
	cr_assert_neq(cfg.http.max_connections_per_ip, defaults.http.max_connections_per_ip);
	cr_assert_neq(cfg.http.timeout_s, defaults.http.timeout_s);
	cr_assert_neq(cfg.http.read_acl.n, defaults.http.read_acl.n);
	cr_assert_neq(cfg.http.rate_limit.requests_per_second, defaults.http.rate_limit.requests_per_second);
	cr_assert_neq(cfg.http.rate_limit.burst, defaults.http.rate_limit.burst);
	cr_assert_neq(cfg.dns.listen.n, defaults.dns.listen.n);
	cr_assert_neq(cfg.dns.enum_suffixes.n, defaults.dns.enum_suffixes.n);
	cr_assert_neq(cfg.dns.max_ttl, defaults.dns.max_ttl);
	cr_assert_neq(cfg.dns.edns_payload, defaults.dns.edns_payload);
	cr_assert_neq(cfg.dns.forward.upstreams.n, defaults.dns.forward.upstreams.n);
	cr_assert_neq(cfg.dns.forward.allow.n, defaults.dns.forward.allow.n);
	cr_assert_neq(cfg.dns.forward.timeout_ms, defaults.dns.forward.timeout_ms);
	cr_assert_neq(cfg.dns.forward.cache_entries, defaults.dns.forward.cache_entries);
	cr_assert_neq(cfg.dns.rrl.responses_per_second, defaults.dns.rrl.responses_per_second);
	cr_assert_neq(cfg.dns.rrl.slip, defaults.dns.rrl.slip);
	cr_assert_neq(cfg.dns.rrl.ipv4_prefix, defaults.dns.rrl.ipv4_prefix);
	cr_assert_neq(cfg.dns.rrl.ipv6_prefix, defaults.dns.rrl.ipv6_prefix);
	cr_assert_neq(cfg.dns.rrl.table_size, defaults.dns.rrl.table_size);
	cr_assert_neq(cfg.dns.tcp.max_connections, defaults.dns.tcp.max_connections);
	cr_assert_neq(cfg.dns.tcp.idle_timeout_ms, defaults.dns.tcp.idle_timeout_ms);
	cr_assert_neq(cfg.policy.default_mode, defaults.policy.default_mode);
	cr_assert_neq(cfg.resolve.max_bindings, defaults.resolve.max_bindings);
	cr_assert_neq(cfg.resolve.max_values_per_key, defaults.resolve.max_values_per_key);
	cr_assert_neq(cfg.publish.default_expires, defaults.publish.default_expires);
	cr_assert_neq(cfg.publish.max_expires, defaults.publish.max_expires);
	cr_assert_neq(cfg.publish.max_publications, defaults.publish.max_publications);
	cr_assert_neq(cfg.cache.max_entries, defaults.cache.max_entries);
	cr_assert_neq(cfg.cache.idle_s, defaults.cache.idle_s);
	cr_assert_neq(cfg.log.level, defaults.log.level);
	cr_assert_neq(cfg.fallback.servers.n, defaults.fallback.servers.n);
	cr_assert_neq(cfg.fallback.timeout_ms, defaults.fallback.timeout_ms);
	config_deinit(&cfg);
	config_deinit(&defaults);
}

Test(config, shipped_file_comments_every_option)
{
	char *path = source_path("etc/resolverd.yaml");
	FILE *f = fopen(path, "r");
	char *line = NULL, *prev = NULL;
	size_t cap = 0;
	int options = 0;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	/* An option line ("  key: value") must follow a comment line. */
	while (getline(&line, &cap, f) > 0) {
		const char *colon = strstr(line, ": ");
		bool option = line[0] != '#' && strchr(line, '#') == NULL && colon && colon[2] != '\n';

		if (option) {
			cr_assert_not_null(prev, "first line is an option: %s", line);
			cr_assert(strchr(prev, '#') != NULL, "no comment above: %s", line);
			options++;
		}
		free(prev);
		prev = strdup(line);
	}
	fclose(f);
	free(line);
	free(prev);
	free(path);
	cr_assert_eq(options, 54, "%d option lines", options);
}

/* ------------------------------------------------------------------------- */
/* Loading: every type, merging, odd but valid files.                        */
/* ------------------------------------------------------------------------- */

Test(config, full_file_sets_every_type)
{
	struct rd_config cfg;
	char *err;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(load_yaml(&cfg, full_yaml, &err), 0, "%s", err);
	cr_assert_str_eq(cfg.state_dir, "/srv/resolverd");
	cr_assert_str_eq(cfg.dht.listen, "[::1]:4223");
	cr_assert_eq(cfg.dht.network, 4294967295u);
	assert_strv(&cfg.dht.bootstrap, "peer.example.net:4222", "192.0.2.1:4222", "[2001:db8::1]:4222", NULL);
	cr_assert_eq(cfg.dht.get_timeout_ms, 10000);
	assert_strv(&cfg.http.listen, "0.0.0.0:8080", "[::]:8080", NULL);
	cr_assert_eq(cfg.http.threads, 64);
	cr_assert_eq(cfg.http.max_body, 256);
	cr_assert_eq(cfg.http.max_connections, 100000);
	cr_assert_eq(cfg.http.max_connections_per_ip, 1);
	cr_assert_eq(cfg.http.timeout_s, 3600);
	assert_strv(&cfg.http.read_acl, "10.0.0.0/8", "192.0.2.7", "::1", "2001:db8::/32", NULL);
	cr_assert_eq(cfg.http.rate_limit.requests_per_second, 1000000);
	cr_assert_eq(cfg.http.rate_limit.burst, 1);
	cr_assert_eq(cfg.http.n_tokens, 2);
	cr_assert_str_eq(cfg.http.tokens[0].name, "ops");
	cr_assert_str_eq(cfg.http.tokens[0].token, "0123456789abcdef");
	assert_strv(&cfg.http.tokens[0].scopes, "sip:*@a.example", "tel:*", NULL);
	cr_assert_str_eq(cfg.http.tokens[1].name, "ci.bot");
	cr_assert_str_eq(cfg.http.tokens[1].token, "fedcba9876543210");
	assert_strv(&cfg.http.tokens[1].scopes, NULL);
	assert_strv(&cfg.dns.listen, NULL);
	assert_strv(&cfg.dns.enum_suffixes, "e164.arpa", "e164.example-1.org", NULL);
	cr_assert_eq(cfg.dns.max_ttl, 604800);
	cr_assert_eq(cfg.dns.edns_payload, 512);
	cr_assert_eq(cfg.dns.n_zones, 2);
	cr_assert_str_eq(cfg.dns.zones[0].apex, "a.p2p");
	assert_strv(&cfg.dns.zones[0].ns, "ns1.a.p2p", "ns2.elsewhere.example", NULL);
	cr_assert_str_eq(cfg.dns.zones[0].hostmaster, "admin.a.p2p");
	cr_assert_eq(cfg.dns.zones[0].serial, 4294967295u);
	cr_assert_eq(cfg.dns.zones[0].negative_ttl, 0);
	cr_assert_str_eq(cfg.dns.zones[1].apex, "example.net");
	assert_strv(&cfg.dns.zones[1].ns, "ns.example.net", NULL);
	cr_assert_str_eq(cfg.dns.zones[1].hostmaster, "hostmaster.example.net");
	cr_assert_eq(cfg.dns.zones[1].serial, 1);
	cr_assert_eq(cfg.dns.zones[1].negative_ttl, 86400);
	assert_strv(&cfg.dns.forward.upstreams, "192.0.2.53:53", "[2001:db8::53]:5353", NULL);
	assert_strv(&cfg.dns.forward.allow, "0.0.0.0/0", "::/0", NULL);
	cr_assert_eq(cfg.dns.forward.timeout_ms, 30000);
	cr_assert_eq(cfg.dns.forward.cache_entries, 1000000);
	cr_assert_eq(cfg.dns.rrl.responses_per_second, 1000000);
	cr_assert_eq(cfg.dns.rrl.slip, 10);
	cr_assert_eq(cfg.dns.rrl.ipv4_prefix, 8);
	cr_assert_eq(cfg.dns.rrl.ipv6_prefix, 128);
	cr_assert_eq(cfg.dns.rrl.table_size, 16777216);
	cr_assert_eq(cfg.dns.tcp.max_connections, 100000);
	cr_assert_eq(cfg.dns.tcp.idle_timeout_ms, 100);
	cr_assert_eq(cfg.policy.default_mode, 1, "policy.default is keys");
	cr_assert_eq(cfg.policy.n_domains, 2);
	cr_assert_str_eq(cfg.policy.domains[0].name, "example.com");
	assert_strv(&cfg.policy.domains[0].keys, KEY_A, KEY_B, NULL);
	cr_assert_str_eq(cfg.policy.domains[1].name, "sub.example.org");
	assert_strv(&cfg.policy.domains[1].keys, NULL);
	cr_assert_eq(cfg.resolve.max_bindings, 1000);
	cr_assert_eq(cfg.resolve.max_values_per_key, 1);
	cr_assert_eq(cfg.publish.default_expires, 60);
	cr_assert_eq(cfg.publish.max_expires, 31536000);
	cr_assert_eq(cfg.publish.max_publications, 1);
	cr_assert_eq(cfg.cache.max_entries, 10000000);
	cr_assert_eq(cfg.cache.idle_s, 1);
	cr_assert_eq(cfg.log.level, LOG_LEVEL_DEBUG);
	cr_assert_eq(config_validate(&cfg, &err), 0, "%s", err);
	config_deinit(&cfg);
	assert_no_leaks();
}

Test(config, load_overrides_only_what_the_file_names)
{
	struct rd_config cfg;
	char *err;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(load_yaml(&cfg, full_yaml, &err), 0, "%s", err);
	cr_assert_eq(load_yaml(&cfg,
			       "http:\n"
			       "  threads: 5\n"
			       "  tokens:\n"
			       "    ops: {scopes: [\"tel:+49*\"]}\n"
			       "    new: {token: \"abcdefghijklmnopq\"}\n"
			       "policy:\n"
			       "  domains:\n"
			       "    EXAMPLE.com: {keys: [\"" KEY_B "\"]}\n",
			       &err),
		     0, "%s", err);
	cr_assert_eq(cfg.http.threads, 5);
	cr_assert_str_eq(cfg.state_dir, "/srv/resolverd", "untouched by the second file");
	cr_assert_eq(cfg.http.max_body, 256, "untouched by the second file");
	/* Map entries merge by name; within one, a field the file names is replaced. */
	cr_assert_eq(cfg.http.n_tokens, 3);
	cr_assert_str_eq(cfg.http.tokens[0].token, "0123456789abcdef");
	assert_strv(&cfg.http.tokens[0].scopes, "tel:+49*", NULL);
	cr_assert_str_eq(cfg.http.tokens[2].name, "new");
	assert_strv(&cfg.http.tokens[2].scopes, NULL);
	cr_assert_eq(cfg.policy.n_domains, 2);
	assert_strv(&cfg.policy.domains[0].keys, KEY_B, NULL);
	config_deinit(&cfg);
	assert_no_leaks();
}

Test(config, empty_and_comment_only_files_change_nothing)
{
	static const char *const files[] = {"", "# nothing\n", "---\n", "---\n...\n", "~\n", "{}\n", "\n\n"};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		struct rd_config cfg;
		char *err;

		cr_assert_eq(config_init(&cfg), 0);
		cr_assert_eq(load_yaml(&cfg, files[i], &err), 0, "file %zu: %s", i, err);
		assert_is_default(&cfg);
		config_deinit(&cfg);
	}
	assert_no_leaks();
}

Test(config, quoting_styles)
{
	struct rd_config cfg;
	char *err;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(load_yaml(&cfg,
			       "%YAML 1.1\n"
			       "---\n"
			       "state_dir: '/quoted/single'\n"
			       "dht:\n"
			       "  listen: >-\n"
			       "    127.0.0.1:9\n"
			       "log:\n"
			       "  level: \"warn\"\n"
			       "...\n",
			       &err),
		     0, "%s", err);
	cr_assert_str_eq(cfg.state_dir, "/quoted/single");
	cr_assert_str_eq(cfg.dht.listen, "127.0.0.1:9");
	cr_assert_eq(cfg.log.level, LOG_LEVEL_WARN);
	config_deinit(&cfg);
}

/* ------------------------------------------------------------------------- */
/* Loading: errors, with exact positions.                                    */
/* ------------------------------------------------------------------------- */

struct bad_case {
	const char *yaml;
	const char *error; /* "F" stands for the file name */
};

static const struct bad_case bad_files[] = {
	/* keys */
	{"dht:\n  listen: \"127.0.0.1:4222\"\n  listn: 1\n", "F:3:3: unknown key 'dht.listn'"},
	{"dhtt: {}\n", "F:1:1: unknown key 'dhtt'"},
	{"dht.listen: \"127.0.0.1:1\"\n", "F:1:1: unknown key 'dht.listen'"},
	{"policy:\n  domains:\n    example.com:\n      key: []\n", "F:4:7: unknown key 'policy.domains.example.com.key'"},
	{"http:\n  threads: 1\n  threads: 2\n", "F:3:3: duplicate key 'http.threads'"},
	{"http: {}\nlog: {}\nhttp: {}\n", "F:3:1: duplicate key 'http'"},
	{"policy:\n  domains:\n    Example.com: {}\n    example.COM: {}\n",
	 "F:4:5: duplicate key 'policy.domains.example.com'"},
	{"\"a\\tb\": 1\n", "F:1:1: unknown key 'a?b'"},
	{"? [a]\n: 1\n", "F:1:3: top level: expected a scalar key"},
	{"http: {[threads]: 1}\n", "F:1:8: http: expected a scalar key"},
	/* integers and ranges */
	{"dht:\n  network: abc\n", "F:2:12: dht.network: expected an integer"},
	{"dht:\n  network: \"30741\"\n", "F:2:12: dht.network: expected an integer"},
	{"dht:\n  network: 4294967296\n", "F:2:12: dht.network: 4294967296 is out of range 0..4294967295"},
	{"dht:\n  network: -1\n", "F:2:12: dht.network: -1 is out of range 0..4294967295"},
	{"http:\n  threads: 0\n", "F:2:12: http.threads: 0 is out of range 1..64"},
	{"http:\n  threads: 65\n", "F:2:12: http.threads: 65 is out of range 1..64"},
	{"http:\n  threads: 1.5\n", "F:2:12: http.threads: expected an integer"},
	{"http:\n  threads: 0x10\n", "F:2:12: http.threads: expected an integer"},
	{"http:\n  threads:\n", "F:2:11: http.threads: expected an integer"},
	{"http:\n  threads: [1]\n", "F:2:12: http.threads: expected an integer"},
	{"http: {threads: [[[[1]]]]}\n", "F:1:17: http.threads: expected an integer"},
	{"cache: {idle_s: 86401}\n", "F:1:17: cache.idle_s: 86401 is out of range 1..86400"},
	{"http:\n  max_body: 99999999999999999999999\n",
	 "F:2:13: http.max_body: 99999999999999999999999 is out of range 256..1048576"},
	{"http:\n  rate_limit:\n    requests_per_second: 1000001\n",
	 "F:3:26: http.rate_limit.requests_per_second: 1000001 is out of range 0..1000000"},
	{"http: {rate_limit: {burst: 0}}\n", "F:1:28: http.rate_limit.burst: 0 is out of range 1..1000000"},
	{"http: {rate_limit: {burst: \"5\"}}\n", "F:1:28: http.rate_limit.burst: expected an integer"},
	{"http:\n  rate_limit: 5\n", "F:2:15: http.rate_limit: expected a mapping"},
	{"http: {rate_limit: {rps: 5}}\n", "F:1:21: unknown key 'http.rate_limit.rps'"},
	/* strings and enums */
	{"state_dir: \"\"\n", "F:1:12: state_dir: must not be empty"},
	{"state_dir: 5\n", "F:1:12: state_dir: expected a string"},
	{"state_dir: null\n", "F:1:12: state_dir: expected a string"},
	{"state_dir: true\n", "F:1:12: state_dir: expected a string"},
	{"state_dir: [a]\n", "F:1:12: state_dir: expected a string"},
	{"policy:\n  default: closed\n", "F:2:12: policy.default: 'closed' is not one of open|keys"},
	{"log:\n  level: 3\n", "F:2:10: log.level: '3' is not one of error|warn|info|debug"},
	{"log:\n  level: {a: 1}\n", "F:2:10: log.level: expected a string"},
	/* sections and maps */
	{"http: 5\n", "F:1:7: http: expected a mapping"},
	{"http:\n", "F:1:6: http: expected a mapping"},
	{"http:\n  tokens: []\n", "F:2:11: http.tokens: expected a mapping"},
	{"policy:\n  domains:\n    example.com: [\"x\"]\n", "F:3:18: policy.domains.example.com: expected a mapping"},
	{"policy:\n  domains:\n    bad_domain!: {}\n", "F:3:5: policy.domains: 'bad_domain!' is not a domain name"},
	{"policy:\n  domains:\n    \"\": {}\n", "F:3:5: policy.domains: '' is not a domain name"},
	{"http:\n  tokens:\n    o/ps: {}\n",
	 "F:3:5: http.tokens: 'o/ps' is not a token name (1 to 64 of A-Z a-z 0-9 . _ -)"},
	/* lists */
	{"http:\n  listen: \"127.0.0.1:7380\"\n", "F:2:11: http.listen: expected a list"},
	{"http:\n  listen:\n", "F:2:10: http.listen: expected a list"},
	{"http:\n  listen:\n    - \"127.0.0.1:7380\"\n    - \"127.0.0.1\"\n",
	 "F:4:7: http.listen: '127.0.0.1' is not ADDR:PORT (a.b.c.d:PORT or [IPv6]:PORT)"},
	{"http:\n  listen: [\"127.0.0.1:0\"]\n", "F:2:12: http.listen: '127.0.0.1:0': the port is out of range 1..65535"},
	{"http:\n  listen: [{a: 1}]\n", "F:2:12: http.listen: expected a string"},
	{"http:\n  listen: [[\"127.0.0.1:1\"]]\n", "F:2:12: http.listen: expected a string"},
	{"http:\n  read_acl: [10]\n", "F:2:14: http.read_acl: expected a string"},
	{"http:\n  read_acl: [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n",
	 "F:2:28: http.read_acl: '10.0.0.0/33' is not a CIDR (ADDR/PREFIX or ADDR)"},
	{"http:\n  read_acl: [\"everyone\"]\n", "F:2:14: http.read_acl: 'everyone' is not a CIDR (ADDR/PREFIX or ADDR)"},
	{"dns:\n  listen: [\"::1:53\"]\n",
	 "F:2:12: dns.listen: '::1:53' is not ADDR:PORT (a.b.c.d:PORT or [IPv6]:PORT)"},
	{"dht:\n  listen: \"localhost:4222\"\n",
	 "F:2:11: dht.listen: 'localhost:4222' is not ADDR:PORT (a.b.c.d:PORT or [IPv6]:PORT)"},
	{"dht:\n  bootstrap: [\"peer.example.net\"]\n",
	 "F:2:15: dht.bootstrap: 'peer.example.net' is not HOST:PORT (name, a.b.c.d or [IPv6], then :PORT)"},
	{"dht:\n  bootstrap: [\"1.2.3.999:4222\"]\n",
	 "F:2:15: dht.bootstrap: '1.2.3.999:4222' is not HOST:PORT (name, a.b.c.d or [IPv6], then :PORT)"},
	{"dht:\n  bootstrap: [\"[peer]:4222\"]\n",
	 "F:2:15: dht.bootstrap: '[peer]:4222' is not HOST:PORT (name, a.b.c.d or [IPv6], then :PORT)"},
	{"dht:\n  bootstrap: [\"peer:99999\"]\n", "F:2:15: dht.bootstrap: 'peer:99999': the port is out of range 1..65535"},
	{"policy:\n  domains:\n    example.com:\n      keys: [\"abcd\"]\n",
	 "F:4:14: policy.domains.example.com.keys: 'abcd' is not a 64-digit hex key"},
	{"policy:\n  domains:\n    example.com:\n      keys:\n        - " KEY_A "0\n",
	 "F:5:11: policy.domains.example.com.keys: '" KEY_A "...' is not a 64-digit hex key"},
	{"http:\n  tokens:\n    ops:\n      token: \"short\"\n",
	 "F:4:14: http.tokens.ops.token: the token must be at least 16 characters long"},
	{"http:\n  tokens:\n    ops:\n      token: \"0123456789 abcdef\"\n",
	 "F:4:14: http.tokens.ops.token: the token must be printable ASCII without spaces"},
	{"http:\n  tokens:\n    ops:\n      scopes: \"sip:*\"\n", "F:4:15: http.tokens.ops.scopes: expected a list"},
	{"http:\n  tokens:\n    ops:\n      scopes: [\"sip:* x\"]\n",
	 "F:4:16: http.tokens.ops.scopes: 'sip:* x' is not a URI glob (printable ASCII without spaces)"},
	/* dns */
	{"dns:\n  dht_zones:\n    p2p.: {}\n",
	 "F:3:5: dns.dht_zones: 'p2p.' is not a host name (LDH labels, no trailing dot)"},
	{"dns:\n  dht_zones:\n    _x.p2p: {}\n",
	 "F:3:5: dns.dht_zones: '_x.p2p' is not a host name (LDH labels, no trailing dot)"},
	{"dns:\n  dht_zones:\n    p2p: {}\n    P2P: {}\n", "F:4:5: duplicate key 'dns.dht_zones.p2p'"},
	{"dns:\n  dht_zones:\n    p2p:\n      ttl: 1\n", "F:4:7: unknown key 'dns.dht_zones.p2p.ttl'"},
	{"dns:\n  dht_zones: []\n", "F:2:14: dns.dht_zones: expected a mapping"},
	{"dns:\n  dht_zones:\n    p2p: [a]\n", "F:3:10: dns.dht_zones.p2p: expected a mapping"},
	{"dns:\n  dht_zones:\n    p2p: {serial: 0}\n", "F:3:19: dns.dht_zones.p2p.serial: 0 is out of range 1..4294967295"},
	{"dns:\n  dht_zones:\n    p2p: {serial: 4294967296}\n",
	 "F:3:19: dns.dht_zones.p2p.serial: 4294967296 is out of range 1..4294967295"},
	{"dns:\n  dht_zones:\n    p2p: {serial: \"1\"}\n", "F:3:19: dns.dht_zones.p2p.serial: expected an integer"},
	{"dns:\n  dht_zones:\n    p2p: {negative_ttl: 86401}\n",
	 "F:3:25: dns.dht_zones.p2p.negative_ttl: 86401 is out of range 0..86400"},
	{"dns:\n  dht_zones:\n    p2p: {ns: [\"ns1.p2p\", \"-ns.p2p\"]}\n",
	 "F:3:27: dns.dht_zones.p2p.ns: '-ns.p2p' is not a host name (LDH labels, no trailing dot)"},
	{"dns:\n  dht_zones:\n    p2p: {ns: ns.p2p}\n", "F:3:15: dns.dht_zones.p2p.ns: expected a list"},
	{"dns:\n  dht_zones:\n    p2p: {hostmaster: \"a b\"}\n",
	 "F:3:23: dns.dht_zones.p2p.hostmaster: 'a b' is not a host name (LDH labels, no trailing dot)"},
	{"dns:\n  dht_zones:\n    p2p: {hostmaster: 5}\n", "F:3:23: dns.dht_zones.p2p.hostmaster: expected a string"},
	{"dns:\n  enum_suffixes: [\"e164.arpa.\"]\n",
	 "F:2:19: dns.enum_suffixes: 'e164.arpa.' is not a host name (LDH labels, no trailing dot)"},
	{"dns:\n  enum_suffixes: e164.arpa\n", "F:2:18: dns.enum_suffixes: expected a list"},
	{"dns:\n  max_ttl: 604801\n", "F:2:12: dns.max_ttl: 604801 is out of range 1..604800"},
	{"dns:\n  edns_payload: 511\n", "F:2:17: dns.edns_payload: 511 is out of range 512..4096"},
	{"dns:\n  forward:\n    upstreams: [\"resolver.example:53\"]\n",
	 "F:3:17: dns.forward.upstreams: 'resolver.example:53' is not ADDR:PORT (a.b.c.d:PORT or [IPv6]:PORT)"},
	{"dns:\n  forward:\n    allow: [\"10.0.0.0/33\"]\n",
	 "F:3:13: dns.forward.allow: '10.0.0.0/33' is not a CIDR (ADDR/PREFIX or ADDR)"},
	{"dns:\n  forward:\n    upstream: []\n", "F:3:5: unknown key 'dns.forward.upstream'"},
	{"dns: {forward: {timeout_ms: \"1500\"}}\n", "F:1:29: dns.forward.timeout_ms: expected an integer"},
	{"dns:\n  rrl: 5\n", "F:2:8: dns.rrl: expected a mapping"},
	{"dns: {rrl: {slip: 11}}\n", "F:1:19: dns.rrl.slip: 11 is out of range 0..10"},
	{"dns: {tcp: {idle_timeout_ms: 99}}\n", "F:1:30: dns.tcp.idle_timeout_ms: 99 is out of range 100..600000"},
	/* plugins: the core keys are typed, the plugin's own keys only structured */
	{"plugins:\n  Sip: {}\n", "F:2:3: plugins: 'Sip' is not a plugin name (a-z, then up to 30 of a-z 0-9 _)"},
	{"plugins:\n  sip: {enabled: yes}\n", "F:2:18: plugins.sip.enabled: 'yes' is not one of false|true"},
	{"plugins:\n  sip: {fallback: 1}\n", "F:2:19: plugins.sip.fallback: '1' is not one of false|true"},
	{"plugins:\n  sip: {path: \"\"}\n", "F:2:15: plugins.sip.path: must not be empty"},
	{"plugins:\n  sip: {a.b: 1}\n", "F:2:9: unknown key 'plugins.sip.a.b'"},
	{"plugins:\n  sip:\n    listen: [{a: 1}]\n", "F:3:14: plugins.sip.listen: expected a list of scalars"},
	{"plugins:\n  sip:\n    users: {alice: {}, alice: {}}\n", "F:3:24: duplicate key 'plugins.sip.users.alice'"},
	{"plugins:\n  sip:\n    users: {\"a b\": {}}\n",
	 "F:3:13: plugins.sip.users: expected a key (printable, no space or '*')"},
	{"plugins: {sip: {a: {b: {c: {d: {e: 1}}}}}}\n", "F:1:33: plugins.sip.a.b.c.d: nested deeper than 4 levels"},
	{"plugins: {sip: {x: &a 1}}\n", "F:1:20: YAML anchors (&a) are not supported"},
	{"fallback: {timeout_ms: 99}\n", "F:1:24: fallback.timeout_ms: 99 is out of range 100..30000"},
	{"fallback: {servers: [\"dns.example:53\"]}\n",
	 "F:1:22: fallback.servers: 'dns.example:53' is not ADDR:PORT (a.b.c.d:PORT or [IPv6]:PORT)"},
	/* YAML features refused, and broken YAML */
	{"dht:\n  network: &n 1\nhttp:\n  threads: *n\n", "F:4:12: YAML aliases are not supported"},
	{"dht:\n  network: 1\nhttp:\n  threads: *n\n", "F:4:12: YAML aliases are not supported"},
	{"dht:\n  listen: &a \"127.0.0.1:1\"\n", "F:2:11: YAML anchors (&a) are not supported"},
	{"dht: &unused\n  listen: \"127.0.0.1:1\"\n", "F:1:6: YAML anchors (&unused) are not supported"},
	{"http:\n  listen: &l [\"127.0.0.1:1\"]\n", "F:2:11: YAML anchors (&l) are not supported"},
	{"http:\n  listen:\n    - &item \"127.0.0.1:1\"\n", "F:3:7: YAML anchors (&item) are not supported"},
	{"state_dir: &x !!str a\n", "F:1:12: YAML tags are not supported"},
	{"dht: {network: &n 1}\nhttp: {threads: 0}\n", "F:2:17: http.threads: 0 is out of range 1..64"},
	{"dht: {network: &n 1, get_timeout_ms: &t 10}\n", "F:1:16: YAML anchors (&n) are not supported"},
	{"--- &top\n...\n", "F:1:5: YAML anchors (&top) are not supported"},
	{"state_dir: !!str x\n", "F:1:12: YAML tags are not supported"},
	{"http: !!map {}\n", "F:1:7: YAML tags are not supported"},
	{"state_dir: \"a\\0b\"\n", "F:1:12: NUL characters are not allowed"},
	{"- a\n", "F:1:1: the top level must be a mapping"},
	{"just text\n", "F:1:1: the top level must be a mapping"},
	{"5\n", "F:1:1: the top level must be a mapping"},
	{"\"\"\n", "F:1:1: the top level must be a mapping"},
	{"http: {}\n---\nlog: {}\n", "F:2:1: only one YAML document is allowed"},
	{"http:\n  threads: 1\n bad\n", "F:3:2: did not find expected key while parsing a block mapping"},
	{"dht:\n  bootstrap: [\n", "F:3:1: did not find expected node content while parsing a flow node"},
	{"state_dir: \"open\n", "F:2:1: found unexpected end of stream while scanning a quoted scalar"},
	{"http: {}\n\xff\n", "F:2:1: invalid leading UTF-8 octet (0xFF)"},
};

Test(config, bad_files_report_file_line_column)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_files); i++) {
		struct rd_config cfg;
		char *err;
		int ret;

		cr_assert_eq(config_init(&cfg), 0);
		ret = load_yaml(&cfg, bad_files[i].yaml, &err);
		cr_expect_eq(ret, -EINVAL, "case %zu: %d", i, ret);
		cr_expect_str_eq(err ? err : "(success)", bad_files[i].error, "case %zu:\n%s", i, bad_files[i].yaml);
		/* A failed load changes nothing, not even map entries it created. */
		assert_is_default(&cfg);
		free(err);
		config_deinit(&cfg);
	}
	assert_no_leaks();
}

Test(config, failed_load_keeps_previous_contents)
{
	struct rd_config cfg, before;
	char *err;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(load_yaml(&cfg, full_yaml, &err), 0, "%s", err);
	cr_assert_eq(config_init(&before), 0);
	cr_assert_eq(load_yaml(&before, full_yaml, &err), 0, "%s", err);
	/* Valid changes first, then an error at the very end. */
	cr_assert_eq(load_yaml(&cfg,
			       "state_dir: \"/changed\"\n"
			       "http:\n"
			       "  threads: 9\n"
			       "  tokens:\n"
			       "    ops: {scopes: []}\n"
			       "    extra: {token: \"abcdefghijklmnopq\"}\n"
			       "policy:\n"
			       "  domains:\n"
			       "    new.example: {keys: [\"" KEY_A "\"]}\n"
			       "log: {level: nope}\n",
			       &err),
		     -EINVAL);
	cr_assert_str_eq(err, "F:10:14: log.level: 'nope' is not one of error|warn|info|debug");
	free(err);
	assert_config_eq(&cfg, &before);
	config_deinit(&cfg);
	config_deinit(&before);
	assert_no_leaks();
}

Test(config, unreadable_files)
{
	struct rd_config cfg;
	char *err = NULL;
	char *big = malloc(1024 * 1024 + 2);
	char *path;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(config_load(&cfg, "/nonexistent/resolverd.yaml", &err), -ENOENT);
	cr_assert_str_eq(err, "/nonexistent/resolverd.yaml: No such file or directory");
	free(err);
	err = NULL;
	cr_assert_eq(config_load(&cfg, "/tmp", &err), -EISDIR);
	cr_assert_str_eq(err, "/tmp: Is a directory");
	free(err);
	err = NULL;

	/* Over 1 MiB: refused before parsing, however valid. */
	cr_assert_not_null(big);
	memset(big, '#', 1024 * 1024 + 1);
	big[1024 * 1024 + 1] = '\n';
	path = temp_file(big, 1024 * 1024 + 2);
	cr_assert_eq(config_load(&cfg, path, &err), -EFBIG);
	cr_assert_not_null(err);
	cr_assert_str_eq(strstr(err, ": File too large") ? "found" : err, "found");
	unlink(path);
	free(path);
	free(err);
	free(big);
	assert_is_default(&cfg);
	config_deinit(&cfg);
	assert_no_leaks();
}

Test(config, error_is_optional)
{
	struct rd_config cfg;
	char *path = temp_file("http: {threads: 0}\n", 19);

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(config_load(&cfg, path, NULL), -EINVAL);
	cr_assert_eq(config_set(&cfg, "http.threads=0", NULL), -EINVAL);
	cr_assert_eq(config_set(&cfg, "nonsense", NULL), -EINVAL);
	cr_assert_eq(config_load(&cfg, "/nonexistent", NULL), -ENOENT);
	cfg.http.listen.n = 0;
	cr_assert_eq(config_validate(&cfg, NULL), -EINVAL);
	cfg.http.listen.n = 1;
	unlink(path);
	free(path);
	config_deinit(&cfg);
	assert_no_leaks();
}

/* ------------------------------------------------------------------------- */
/* Hostile input.                                                            */
/* ------------------------------------------------------------------------- */

Test(config, billion_laughs_is_refused_at_the_first_alias)
{
	static const char yaml[] = "resolve:\n"
				   "  max_bindings: &a 1\n"
				   "http:\n"
				   "  read_acl: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				   "  listen: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
	struct rd_config cfg;
	char *err;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(load_yaml(&cfg, yaml, &err), -EINVAL);
	cr_assert_str_eq(err, "F:4:17: YAML aliases are not supported");
	free(err);
	config_deinit(&cfg);
	assert_no_leaks();
}

/* Build "PREFIX" + @p n copies of @p open + "1" + @p n copies of @p close + "\n". */
static char *nested(const char *prefix, const char *open, const char *close, size_t n)
{
	size_t lo = strlen(open), lc = strlen(close), lp = strlen(prefix);
	char *s = malloc(lp + n * (lo + lc) + 3);
	char *p = s;

	cr_assert_not_null(s);
	memcpy(p, prefix, lp);
	p += lp;
	for (size_t i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	*p++ = '1';
	for (size_t i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p++ = '\n';
	*p = '\0';
	return s;
}

Test(config, deep_nesting_is_refused_where_it_starts)
{
	static const struct {
		const char *prefix, *open, *close, *error;
	} cases[] = {
		{"http: {threads: ", "[", "]", "F:1:17: http.threads: expected an integer"},
		{"http:\n  listen: [", "[", "]", "F:2:12: http.listen: expected a string"},
		{"http: ", "{a: ", "}", "F:1:8: unknown key 'http.a'"},
		{"policy: {domains: {example.com: {keys: ", "{k: ", "}", "F:1:40: policy.domains.example.com.keys: expected a list"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *yaml = nested(cases[i].prefix, cases[i].open, cases[i].close, 100000);
		struct rd_config cfg;
		time_t start = time(NULL);
		char *err;

		cr_assert_eq(config_init(&cfg), 0);
		cr_assert_eq(load_yaml(&cfg, yaml, &err), -EINVAL, "case %zu", i);
		cr_assert_str_eq(err, cases[i].error, "case %zu", i);
		cr_assert_leq(time(NULL) - start, 2, "case %zu took too long", i);
		free(err);
		free(yaml);
		config_deinit(&cfg);
	}
	assert_no_leaks();
}

Test(config, map_size_is_bounded)
{
	size_t n = 1025, cap = 64 + n * 40;
	char *yaml = malloc(cap);
	size_t len = 0;
	struct rd_config cfg;
	char *err;

	cr_assert_not_null(yaml);
	len += (size_t)snprintf(yaml + len, cap - len, "policy:\n  domains:\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "    d%zu.example: {}\n", i);
	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(load_yaml(&cfg, yaml, &err), -EINVAL);
	cr_assert_str_eq(err, "F:1027:5: policy.domains.d1024.example: too many entries (at most 1024)");
	free(err);
	assert_is_default(&cfg);
	config_deinit(&cfg);
	free(yaml);
	assert_no_leaks();
}

Test(config, raw_control_bytes_and_long_keys)
{
	static const char nul_file[] = "http: {}\nlog:\0 {}\n";
	char key[200 + 8];
	struct rd_config cfg;
	char *err;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(load_yaml_len(&cfg, nul_file, sizeof(nul_file) - 1, &err), -EINVAL);
	cr_assert_str_eq(err, "F:2:5: control characters are not allowed (0x00)");
	free(err);

	/* A long unknown key is echoed cut, so messages stay one short line. */
	memset(key, 'k', 200);
	strcpy(key + 200, ": 1\n");
	cr_assert_eq(load_yaml(&cfg, key, &err), -EINVAL);
	cr_assert_eq(strlen(err), strlen("F:1:1: unknown key ''") + 64 + 3, "%s", err);
	cr_assert(strstr(err, "kkk...'") != NULL, "%s", err);
	free(err);
	config_deinit(&cfg);
	assert_no_leaks();
}

Test(config, token_secrets_are_never_echoed)
{
	static const char *const secrets[] = {"0123456789 SECRETX", "SECRETX", "SECRETX\tSECRETX\tSECRETX"};
	struct rd_config cfg;

	cr_assert_eq(config_init(&cfg), 0);
	for (size_t i = 0; i < ARRAY_SIZE(secrets); i++) {
		char *yaml, *assignment, *err = NULL;

		cr_assert_geq(asprintf(&yaml, "http: {tokens: {ops: {token: \"%s\"}}}\n", secrets[i]), 0);
		cr_assert_geq(asprintf(&assignment, "http.tokens.ops.token=%s", secrets[i]), 0);
		cr_assert_eq(load_yaml(&cfg, yaml, &err), -EINVAL);
		cr_assert_null(strstr(err, "SECRETX"), "%s", err);
		free(err);
		cr_assert_eq(config_set(&cfg, assignment, &err), -EINVAL);
		cr_assert_null(strstr(err, "SECRETX"), "%s", err);
		free(err);
		free(yaml);
		free(assignment);
	}
	config_deinit(&cfg);
}

/* ------------------------------------------------------------------------- */
/* --set                                                                     */
/* ------------------------------------------------------------------------- */

Test(config, set_scalars_enums_and_lists)
{
	struct rd_config cfg;

	cr_assert_eq(config_init(&cfg), 0);
	set_ok(&cfg, "http.threads=7");
	cr_assert_eq(cfg.http.threads, 7);
	set_ok(&cfg, "dht.network=+0");
	cr_assert_eq(cfg.dht.network, 0);
	set_ok(&cfg, "log.level=error");
	cr_assert_eq(cfg.log.level, LOG_LEVEL_ERROR);
	set_ok(&cfg, "policy.default=keys");
	cr_assert_eq(cfg.policy.default_mode, 1);
	set_ok(&cfg, "state_dir=/a=b");
	cr_assert_str_eq(cfg.state_dir, "/a=b", "only the first '=' splits");
	set_ok(&cfg, "dht.listen=[::]:4222");
	cr_assert_str_eq(cfg.dht.listen, "[::]:4222");
	set_ok(&cfg, "http.listen=127.0.0.1:80,[::1]:80");
	assert_strv(&cfg.http.listen, "127.0.0.1:80", "[::1]:80", NULL);
	set_ok(&cfg, "http.listen= 127.0.0.1:81 ,  [::1]:81 ");
	assert_strv(&cfg.http.listen, "127.0.0.1:81", "[::1]:81", NULL);
	set_ok(&cfg, "dns.listen=");
	assert_strv(&cfg.dns.listen, NULL);
	set_ok(&cfg, "dht.bootstrap=peer.example.net:4222,192.0.2.1:1,[2001:db8::1]:65535,under_score.example:2");
	assert_strv(&cfg.dht.bootstrap, "peer.example.net:4222", "192.0.2.1:1", "[2001:db8::1]:65535",
		    "under_score.example:2", NULL);
	set_ok(&cfg, "http.read_acl=0.0.0.0/0,192.0.2.1,::/0,fe80::1");
	assert_strv(&cfg.http.read_acl, "0.0.0.0/0", "192.0.2.1", "::/0", "fe80::1", NULL);
	set_ok(&cfg, "http.read_acl=");
	assert_strv(&cfg.http.read_acl, NULL);
	config_deinit(&cfg);
	assert_no_leaks();
}

Test(config, set_map_keys_may_contain_dots)
{
	struct rd_config cfg;

	cr_assert_eq(config_init(&cfg), 0);
	set_ok(&cfg, "policy.domains.example.com.keys=" KEY_A "," KEY_B);
	set_ok(&cfg, "policy.domains.Sub.Example.ORG.keys=" KEY_A_UPPER);
	cr_assert_eq(cfg.policy.n_domains, 2);
	cr_assert_str_eq(cfg.policy.domains[0].name, "example.com");
	assert_strv(&cfg.policy.domains[0].keys, KEY_A, KEY_B, NULL);
	cr_assert_str_eq(cfg.policy.domains[1].name, "sub.example.org");
	assert_strv(&cfg.policy.domains[1].keys, KEY_A, NULL);
	set_ok(&cfg, "policy.domains.EXAMPLE.com.keys=" KEY_B);
	cr_assert_eq(cfg.policy.n_domains, 2, "same domain, any case");
	assert_strv(&cfg.policy.domains[0].keys, KEY_B, NULL);

	set_ok(&cfg, "http.tokens.ops.scopes=sip:*@a.example,tel:*");
	cr_assert_eq(cfg.http.n_tokens, 1);
	cr_assert_null(cfg.http.tokens[0].token, "not set yet");
	set_ok(&cfg, "http.tokens.ops.token=SECRET-0123456789");
	set_ok(&cfg, "http.tokens.my.bot.token=another-secret-value");
	cr_assert_eq(cfg.http.n_tokens, 2);
	cr_assert_str_eq(cfg.http.tokens[0].name, "ops");
	cr_assert_str_eq(cfg.http.tokens[0].token, "SECRET-0123456789");
	assert_strv(&cfg.http.tokens[0].scopes, "sip:*@a.example", "tel:*", NULL);
	cr_assert_str_eq(cfg.http.tokens[1].name, "my.bot");
	/* The longest matching field wins: this entry is "x.scopes", field "token". */
	set_ok(&cfg, "http.tokens.x.scopes.token=yet-another-secret");
	cr_assert_str_eq(cfg.http.tokens[2].name, "x.scopes");
	cr_assert_eq(config_validate(&cfg, NULL), 0);
	config_deinit(&cfg);
	assert_no_leaks();
}

Test(config, set_dns_zones)
{
	struct rd_config cfg;
	const struct config_zone *z;
	char *err = NULL;

	cr_assert_eq(config_init(&cfg), 0);
	set_ok(&cfg, "dns.dht_zones.a.p2p.ns=ns1.a.p2p,ns2.a.p2p");
	cr_assert_eq(cfg.dns.n_zones, 1);
	z = &cfg.dns.zones[0];
	cr_assert_str_eq(z->apex, "a.p2p");
	assert_strv(&z->ns, "ns1.a.p2p", "ns2.a.p2p", NULL);
	cr_assert_str_eq(z->hostmaster, "hostmaster.a.p2p", "default");
	cr_assert_eq(z->serial, 1, "default");
	cr_assert_eq(z->negative_ttl, 60, "default");
	set_ok(&cfg, "dns.dht_zones.A.P2P.serial=2024010101");
	cr_assert_eq(cfg.dns.n_zones, 1, "same zone, any case");
	cr_assert_eq(cfg.dns.zones[0].serial, 2024010101u);
	assert_strv(&cfg.dns.zones[0].ns, "ns1.a.p2p", "ns2.a.p2p", NULL);

	/* A zone created by any field gets every other field's default. */
	set_ok(&cfg, "dns.dht_zones.p2p.negative_ttl=0");
	set_ok(&cfg, "dns.dht_zones.p2p.hostmaster=Admin.P2P");
	cr_assert_eq(cfg.dns.n_zones, 2);
	z = &cfg.dns.zones[1];
	cr_assert_str_eq(z->apex, "p2p");
	assert_strv(&z->ns, "ns.p2p", NULL);
	cr_assert_str_eq(z->hostmaster, "admin.p2p");
	cr_assert_eq(z->serial, 1);
	cr_assert_eq(z->negative_ttl, 0);
	/* The longest matching field wins: this zone is "x.ns", field "serial". */
	set_ok(&cfg, "dns.dht_zones.x.ns.serial=5");
	cr_assert_eq(cfg.dns.n_zones, 3);
	cr_assert_str_eq(cfg.dns.zones[2].apex, "x.ns");
	assert_strv(&cfg.dns.zones[2].ns, "ns.x.ns", NULL);
	cr_assert_eq(config_validate(&cfg, &err), 0, "%s", err ? err : "");

	set_ok(&cfg, "dns.enum_suffixes=E164.ARPA, e164.example.org");
	assert_strv(&cfg.dns.enum_suffixes, "e164.arpa", "e164.example.org", NULL);
	set_ok(&cfg, "dns.enum_suffixes=");
	assert_strv(&cfg.dns.enum_suffixes, NULL);
	set_ok(&cfg, "dns.forward.upstreams=192.0.2.53:53,[2001:db8::53]:53");
	assert_strv(&cfg.dns.forward.upstreams, "192.0.2.53:53", "[2001:db8::53]:53", NULL);
	set_ok(&cfg, "dns.forward.allow=10.0.0.0/8,2001:db8::/32,192.0.2.7");
	assert_strv(&cfg.dns.forward.allow, "10.0.0.0/8", "2001:db8::/32", "192.0.2.7", NULL);
	set_ok(&cfg, "dns.rrl.slip=+0");
	cr_assert_eq(cfg.dns.rrl.slip, 0);

	set_ok(&cfg, "dns.dht_zones.p2p.ns=");
	cr_assert_eq(config_validate(&cfg, &err), -EINVAL);
	cr_assert_str_eq(err, "--set dns.dht_zones.p2p.ns: at least one name server is required");
	free(err);
	config_deinit(&cfg);
	assert_no_leaks();
}

/* A host name of @p len bytes: labels of 63 'a' (the last one shorter). @return owned string. */
static char *long_name(size_t len)
{
	char *s = malloc(len + 1);

	cr_assert_not_null(s);
	memset(s, 'a', len);
	for (size_t i = 63; i < len; i += 64)
		s[i] = '.';
	s[len] = '\0';
	cr_assert_neq(s[len - 1], '.');
	return s;
}

Test(config, zone_defaults_that_do_not_fit_are_left_unset)
{
	char *apex = long_name(250), *longer = long_name(253);
	char *assignment, *expected, *err = NULL;
	struct rd_config cfg;

	cr_assert_eq(config_init(&cfg), 0);
	/* "ns." + 250 bytes is 253, the most a name may have; "hostmaster." + 250 is too long. */
	cr_assert_geq(asprintf(&assignment, "dns.dht_zones.%s.serial=3", apex), 0);
	set_ok(&cfg, assignment);
	free(assignment);
	cr_assert_eq(strlen(cfg.dns.zones[0].ns.v[0]), 253);
	cr_assert_null(cfg.dns.zones[0].hostmaster);
	cr_assert_eq(cfg.dns.zones[0].negative_ttl, 60);
	/* The value never set: blame the --set that created the zone. */
	cr_assert_geq(asprintf(&expected, "--set dns.dht_zones.%s.serial: dns.dht_zones.%s.hostmaster: missing", apex,
			       apex),
		      0);
	cr_assert_eq(config_validate(&cfg, &err), -EINVAL);
	cr_assert_str_eq(err, expected);
	free(err);
	free(expected);
	cr_assert_geq(asprintf(&assignment, "dns.dht_zones.%s.hostmaster=hm.p2p", apex), 0);
	set_ok(&cfg, assignment);
	free(assignment);
	cr_assert_eq(config_validate(&cfg, NULL), 0);

	/* Neither default fits a 253-byte apex. */
	cr_assert_geq(asprintf(&assignment, "dns.dht_zones.%s.serial=3", longer), 0);
	set_ok(&cfg, assignment);
	free(assignment);
	assert_strv(&cfg.dns.zones[1].ns, NULL);
	cr_assert_null(cfg.dns.zones[1].hostmaster);
	cr_assert_geq(asprintf(&expected,
			       "--set dns.dht_zones.%s.serial: dns.dht_zones.%s.ns: at least one name server is required",
			       longer, longer),
		      0);
	cr_assert_eq(config_validate(&cfg, &err), -EINVAL);
	cr_assert_str_eq(err, expected);
	free(err);
	free(expected);
	config_deinit(&cfg);
	free(apex);
	free(longer);
	assert_no_leaks();
}

/* config_set(@p assignment) must fail with @p expected. */
static void set_fails(struct rd_config *cfg, const char *assignment, const char *expected)
{
	char *err = NULL;

	cr_assert_eq(config_set(cfg, assignment, &err), -EINVAL, "%s", assignment);
	cr_assert_str_eq(err, expected);
	free(err);
}

Test(config, zone_integer_bounds_are_inclusive)
{
	struct rd_config cfg;
	char *err;

	cr_assert_eq(config_init(&cfg), 0);
	set_ok(&cfg, "dns.dht_zones.p2p.serial=1");
	cr_assert_eq(cfg.dns.zones[0].serial, 1);
	set_ok(&cfg, "dns.dht_zones.p2p.serial=4294967295");
	cr_assert_eq(cfg.dns.zones[0].serial, 4294967295u);
	set_fails(&cfg, "dns.dht_zones.p2p.serial=0", "--set dns.dht_zones.p2p.serial: 0 is out of range 1..4294967295");
	set_fails(&cfg, "dns.dht_zones.p2p.serial=4294967296",
		  "--set dns.dht_zones.p2p.serial: 4294967296 is out of range 1..4294967295");
	set_ok(&cfg, "dns.dht_zones.p2p.negative_ttl=0");
	cr_assert_eq(cfg.dns.zones[0].negative_ttl, 0);
	set_ok(&cfg, "dns.dht_zones.p2p.negative_ttl=86400");
	cr_assert_eq(cfg.dns.zones[0].negative_ttl, 86400);
	set_fails(&cfg, "dns.dht_zones.p2p.negative_ttl=86401",
		  "--set dns.dht_zones.p2p.negative_ttl: 86401 is out of range 0..86400");
	set_fails(&cfg, "dns.dht_zones.p2p.negative_ttl=-1",
		  "--set dns.dht_zones.p2p.negative_ttl: -1 is out of range 0..86400");
	set_fails(&cfg, "dns.dht_zones.p2p.negative_ttl=1.5", "--set dns.dht_zones.p2p.negative_ttl: expected an integer");
	cr_assert_eq(cfg.dns.zones[0].serial, 4294967295u, "unchanged by the errors");
	cr_assert_eq(cfg.dns.zones[0].negative_ttl, 86400, "unchanged by the errors");
	cr_assert_eq(load_yaml(&cfg, "dns: {dht_zones: {p2p: {serial: 1, negative_ttl: 0}}}\n", &err), 0, "%s", err);
	cr_assert_eq(cfg.dns.zones[0].serial, 1);
	cr_assert_eq(cfg.dns.zones[0].negative_ttl, 0);
	config_deinit(&cfg);
	assert_no_leaks();
}

Test(config, zones_merge_field_by_field)
{
	struct rd_config cfg;
	char *err;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(load_yaml(&cfg, full_yaml, &err), 0, "%s", err);
	cr_assert_eq(load_yaml(&cfg,
			       "dns:\n"
			       "  dht_zones:\n"
			       "    a.p2p: {serial: 7}\n"
			       "    new.p2p: {}\n"
			       "  rrl: {slip: 0}\n",
			       &err),
		     0, "%s", err);
	cr_assert_eq(cfg.dns.n_zones, 3);
	cr_assert_eq(cfg.dns.zones[0].serial, 7);
	assert_strv(&cfg.dns.zones[0].ns, "ns1.a.p2p", "ns2.elsewhere.example", NULL);
	cr_assert_str_eq(cfg.dns.zones[0].hostmaster, "admin.a.p2p", "kept: the file does not name it");
	cr_assert_eq(cfg.dns.zones[0].negative_ttl, 0, "kept: the file does not name it");
	cr_assert_str_eq(cfg.dns.zones[2].apex, "new.p2p");
	assert_strv(&cfg.dns.zones[2].ns, "ns.new.p2p", NULL);
	cr_assert_str_eq(cfg.dns.zones[2].hostmaster, "hostmaster.new.p2p");
	cr_assert_eq(cfg.dns.zones[2].serial, 1);
	cr_assert_eq(cfg.dns.zones[2].negative_ttl, 60);
	cr_assert_eq(cfg.dns.rrl.slip, 0);
	cr_assert_eq(cfg.dns.rrl.table_size, 16777216, "untouched by the second file");
	cr_assert_eq(config_validate(&cfg, &err), 0, "%s", err);
	config_deinit(&cfg);
	assert_no_leaks();
}

Test(config, set_errors_change_nothing)
{
	static const struct {
		const char *assignment, *error;
	} cases[] = {
		{"http.threads", "--set http.threads: expected KEY=VALUE"},
		{"http.threads=", "--set http.threads: expected an integer"},
		{"http.threads=x", "--set http.threads: expected an integer"},
		{"http.threads= 3", "--set http.threads: expected an integer"},
		{"http.threads=0", "--set http.threads: 0 is out of range 1..64"},
		{"http.threads=-3", "--set http.threads: -3 is out of range 1..64"},
		{"http.threads=99999999999999999999999", "--set http.threads: 99999999999999999999999 is out of range 1..64"},
		{"http.threadz=1", "--set http.threadz: unknown key"},
		{"http=1", "--set http: unknown key"},
		{"=1", "--set : unknown key"},
		{"state_dir=", "--set state_dir: must not be empty"},
		{"log.level=loud", "--set log.level: 'loud' is not one of error|warn|info|debug"},
		{"log.level=INFO", "--set log.level: 'INFO' is not one of error|warn|info|debug"},
		{"policy.default=", "--set policy.default: '' is not one of open|keys"},
		{"dht.listen=", "--set dht.listen: '' is not ADDR:PORT (a.b.c.d:PORT or [IPv6]:PORT)"},
		{"http.listen=127.0.0.1:80,,[::1]:80", "--set http.listen: empty list item"},
		{"http.listen=127.0.0.1:80,", "--set http.listen: empty list item"},
		{"http.listen=127.0.0.1", "--set http.listen: '127.0.0.1' is not ADDR:PORT (a.b.c.d:PORT or [IPv6]:PORT)"},
		{"http.listen=127.0.0.1:65536", "--set http.listen: '127.0.0.1:65536': the port is out of range 1..65535"},
		{"http.read_acl=10.0.0.0/8,::1/129", "--set http.read_acl: '::1/129' is not a CIDR (ADDR/PREFIX or ADDR)"},
		{"dht.bootstrap=:4222",
		 "--set dht.bootstrap: ':4222' is not HOST:PORT (name, a.b.c.d or [IPv6], then :PORT)"},
		{"policy.domains.example.com.keys=abc",
		 "--set policy.domains.example.com.keys: 'abc' is not a 64-digit hex key"},
		{"policy.domains.example.com.keys=" KEY_A ",zz",
		 "--set policy.domains.example.com.keys: 'zz' is not a 64-digit hex key"},
		{"policy.domains.keys=" KEY_A, "--set policy.domains.keys: unknown key"},
		{"policy.domains..keys=", "--set policy.domains..keys: unknown key"},
		{"policy.domains.example.com.key=", "--set policy.domains.example.com.key: unknown key"},
		{"policy.domains.bad!.keys=", "--set policy.domains.bad!.keys: 'bad!' is not a domain name"},
		{"policy.domains.a..b.keys=", "--set policy.domains.a..b.keys: 'a..b' is not a domain name"},
		{"policy.domains.1.2.3.4.keys=", "--set policy.domains.1.2.3.4.keys: '1.2.3.4' is not a domain name"},
		{"http.tokens.ops.token=short", "--set http.tokens.ops.token: the token must be at least 16 characters long"},
		{"http.tokens.ops.scopes=sip:*,", "--set http.tokens.ops.scopes: empty list item"},
		{"http.tokens.o/ps.token=0123456789abcdef",
		 "--set http.tokens.o/ps.token: 'o/ps' is not a token name (1 to 64 of A-Z a-z 0-9 . _ -)"},
		{"http.tokens.token=0123456789abcdef", "--set http.tokens.token: unknown key"},
		{"bad\nkey=1", "--set bad?key: unknown key"},
		{"dns.dht_zones.p2p.ns=ns.p2p.",
		 "--set dns.dht_zones.p2p.ns: 'ns.p2p.' is not a host name (LDH labels, no trailing dot)"},
		{"dns.dht_zones.p2p.ns=a,,b", "--set dns.dht_zones.p2p.ns: empty list item"},
		{"dns.dht_zones.p2p.serial=0", "--set dns.dht_zones.p2p.serial: 0 is out of range 1..4294967295"},
		{"dns.dht_zones.p2p.negative_ttl=86401",
		 "--set dns.dht_zones.p2p.negative_ttl: 86401 is out of range 0..86400"},
		{"dns.dht_zones.p2p.hostmaster=",
		 "--set dns.dht_zones.p2p.hostmaster: '' is not a host name (LDH labels, no trailing dot)"},
		{"dns.dht_zones.p2p..ns=ns.p2p",
		 "--set dns.dht_zones.p2p..ns: 'p2p.' is not a host name (LDH labels, no trailing dot)"},
		{"dns.dht_zones._sip.p2p.ns=ns.p2p",
		 "--set dns.dht_zones._sip.p2p.ns: '_sip.p2p' is not a host name (LDH labels, no trailing dot)"},
		{"dns.dht_zones.ns=ns.p2p", "--set dns.dht_zones.ns: unknown key"},
		{"dns.dht_zones.p2p.ttl=1", "--set dns.dht_zones.p2p.ttl: unknown key"},
		{"dns.dht_zones=", "--set dns.dht_zones: unknown key"},
		{"dns.enum_suffixes=e164.arpa,-x", "--set dns.enum_suffixes: '-x' is not a host name (LDH labels, no trailing dot)"},
		{"dns.forward.upstreams=resolver.example:53",
		 "--set dns.forward.upstreams: 'resolver.example:53' is not ADDR:PORT (a.b.c.d:PORT or [IPv6]:PORT)"},
		{"dns.forward.allow=10.0.0.0/33", "--set dns.forward.allow: '10.0.0.0/33' is not a CIDR (ADDR/PREFIX or ADDR)"},
		{"dns.forward=1", "--set dns.forward: unknown key"},
		{"dns.rrl.slip=x", "--set dns.rrl.slip: expected an integer"},
		{"dns.tcp.max_connections=0", "--set dns.tcp.max_connections: 0 is out of range 1..100000"},
	};
	struct rd_config cfg;

	cr_assert_eq(config_init(&cfg), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *err = NULL;
		int ret = config_set(&cfg, cases[i].assignment, &err);

		cr_expect_eq(ret, -EINVAL, "%s: %d", cases[i].assignment, ret);
		cr_expect_str_eq(err ? err : "(success)", cases[i].error, "%s", cases[i].assignment);
		free(err);
	}
	/* Nothing changed, and no map entry was created by a failed --set. */
	assert_is_default(&cfg);
	config_deinit(&cfg);
	assert_no_leaks();
}

/* Every unsigned option, with its bounds, independently of the table in config.c. */
static const struct {
	const char *name;
	size_t offset;
	unsigned long long min, max;
} uint_options[] = {
	{"dht.network", offsetof(struct rd_config, dht.network), 0, 4294967295ull},
	{"dht.get_timeout_ms", offsetof(struct rd_config, dht.get_timeout_ms), 10, 10000},
	{"http.threads", offsetof(struct rd_config, http.threads), 1, 64},
	{"http.max_body", offsetof(struct rd_config, http.max_body), 256, 1048576},
	{"http.max_connections", offsetof(struct rd_config, http.max_connections), 1, 100000},
	{"http.max_connections_per_ip", offsetof(struct rd_config, http.max_connections_per_ip), 1, 100000},
	{"http.timeout_s", offsetof(struct rd_config, http.timeout_s), 1, 3600},
	{"http.rate_limit.requests_per_second", offsetof(struct rd_config, http.rate_limit.requests_per_second), 0,
	 1000000},
	{"http.rate_limit.burst", offsetof(struct rd_config, http.rate_limit.burst), 1, 1000000},
	{"resolve.max_bindings", offsetof(struct rd_config, resolve.max_bindings), 1, 1000},
	{"resolve.max_values_per_key", offsetof(struct rd_config, resolve.max_values_per_key), 1, 100000},
	{"publish.default_expires", offsetof(struct rd_config, publish.default_expires), 1, 31536000},
	{"publish.max_expires", offsetof(struct rd_config, publish.max_expires), 1, 31536000},
	{"publish.max_publications", offsetof(struct rd_config, publish.max_publications), 1, 1000000},
	{"cache.max_entries", offsetof(struct rd_config, cache.max_entries), 1, 10000000},
	{"cache.idle_s", offsetof(struct rd_config, cache.idle_s), 1, 86400},
	{"dns.max_ttl", offsetof(struct rd_config, dns.max_ttl), 1, 604800},
	{"dns.edns_payload", offsetof(struct rd_config, dns.edns_payload), 512, 4096},
	{"dns.forward.timeout_ms", offsetof(struct rd_config, dns.forward.timeout_ms), 100, 30000},
	{"dns.forward.cache_entries", offsetof(struct rd_config, dns.forward.cache_entries), 0, 1000000},
	{"dns.rrl.responses_per_second", offsetof(struct rd_config, dns.rrl.responses_per_second), 0, 1000000},
	{"dns.rrl.slip", offsetof(struct rd_config, dns.rrl.slip), 0, 10},
	{"dns.rrl.ipv4_prefix", offsetof(struct rd_config, dns.rrl.ipv4_prefix), 8, 32},
	{"dns.rrl.ipv6_prefix", offsetof(struct rd_config, dns.rrl.ipv6_prefix), 32, 128},
	{"dns.rrl.table_size", offsetof(struct rd_config, dns.rrl.table_size), 1024, 16777216},
	{"dns.tcp.max_connections", offsetof(struct rd_config, dns.tcp.max_connections), 1, 100000},
	{"dns.tcp.idle_timeout_ms", offsetof(struct rd_config, dns.tcp.idle_timeout_ms), 100, 600000},
};

static unsigned uint_at(const struct rd_config *cfg, size_t offset)
{
	unsigned v;

	memcpy(&v, (const char *)cfg + offset, sizeof(v));
	return v;
}

/* config_set(@p name=@p value) must fail with "--set NAME: VALUE is out of range MIN..MAX". */
static void assert_out_of_range(struct rd_config *cfg, size_t i, const char *value)
{
	char *assignment, *expected, *err = NULL;

	cr_assert_geq(asprintf(&assignment, "%s=%s", uint_options[i].name, value), 0);
	cr_assert_geq(asprintf(&expected, "--set %s: %s is out of range %llu..%llu", uint_options[i].name, value,
			       uint_options[i].min, uint_options[i].max),
		      0);
	cr_assert_eq(config_set(cfg, assignment, &err), -EINVAL, "%s", assignment);
	cr_assert_str_eq(err, expected);
	free(err);
	free(expected);
	free(assignment);
}

Test(config, integer_bounds_are_inclusive)
{
	struct rd_config cfg;

	cr_assert_eq(config_init(&cfg), 0);
	for (size_t i = 0; i < ARRAY_SIZE(uint_options); i++) {
		char *assignment, *below;

		cr_assert_geq(asprintf(&assignment, "%s=%llu", uint_options[i].name, uint_options[i].min), 0);
		set_ok(&cfg, assignment);
		cr_assert_eq(uint_at(&cfg, uint_options[i].offset), uint_options[i].min, "%s", assignment);
		free(assignment);
		cr_assert_geq(asprintf(&assignment, "%s=%llu", uint_options[i].name, uint_options[i].max), 0);
		set_ok(&cfg, assignment);
		cr_assert_eq(uint_at(&cfg, uint_options[i].offset), uint_options[i].max, "%s", assignment);
		free(assignment);

		cr_assert_geq(asprintf(&assignment, "%llu", uint_options[i].max + 1), 0);
		assert_out_of_range(&cfg, i, assignment);
		free(assignment);
		if (uint_options[i].min > 0)
			cr_assert_geq(asprintf(&below, "%llu", uint_options[i].min - 1), 0);
		else
			below = strdup("-1");
		assert_out_of_range(&cfg, i, below);
		free(below);
		cr_assert_eq(uint_at(&cfg, uint_options[i].offset), uint_options[i].max, "unchanged by the errors");
	}
	config_deinit(&cfg);
	assert_no_leaks();
}

Test(config, integer_bounds_apply_to_files)
{
	struct rd_config cfg;
	char *err;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(load_yaml(&cfg, "dht: {get_timeout_ms: 10}\nhttp: {max_body: 1048576}\n", &err), 0, "%s", err);
	cr_assert_eq(cfg.dht.get_timeout_ms, 10);
	cr_assert_eq(cfg.http.max_body, 1048576);
	cr_assert_eq(load_yaml(&cfg, "dht: {get_timeout_ms: 9}\n", &err), -EINVAL);
	cr_assert_str_eq(err, "F:1:23: dht.get_timeout_ms: 9 is out of range 10..10000");
	free(err);
	cr_assert_eq(load_yaml(&cfg, "http: {max_body: 1048577}\n", &err), -EINVAL);
	cr_assert_str_eq(err, "F:1:18: http.max_body: 1048577 is out of range 256..1048576");
	free(err);
	config_deinit(&cfg);
	assert_no_leaks();
}

/* ------------------------------------------------------------------------- */
/* Validation.                                                               */
/* ------------------------------------------------------------------------- */

/* Apply @p assignments to defaults; config_validate() must give @p expected (NULL: success). */
static void assert_validate(const char *expected, const char *const *assignments, size_t n)
{
	struct rd_config cfg;
	char *err = NULL;

	cr_assert_eq(config_init(&cfg), 0);
	for (size_t i = 0; i < n; i++)
		set_ok(&cfg, assignments[i]);
	if (expected) {
		cr_assert_eq(config_validate(&cfg, &err), -EINVAL, "expected: %s", expected);
		cr_assert_str_eq(err, expected);
	} else {
		cr_assert_eq(config_validate(&cfg, &err), 0, "%s", err ? err : "");
		cr_assert_null(err);
	}
	free(err);
	config_deinit(&cfg);
}

Test(config, validate_cross_field_rules)
{
	static const char *const equal_expires[] = {"publish.default_expires=600", "publish.max_expires=600"};
	static const char *const long_default[] = {"publish.max_expires=600", "publish.default_expires=601"};
	static const char *const no_http[] = {"http.listen="};
	static const char *const no_secret[] = {"http.tokens.ops.scopes=tel:*"};
	static const char *const same_secret[] = {"http.tokens.a.token=0123456789abcdef",
						  "http.tokens.b.token=0123456789abcdef"};
	static const char *const two_secrets[] = {"http.tokens.a.token=0123456789abcdef",
						  "http.tokens.b.token=0123456789abcdeF"};

	assert_validate(NULL, NULL, 0);
	assert_validate(NULL, equal_expires, ARRAY_SIZE(equal_expires));
	assert_validate("--set publish.default_expires: 601 is greater than publish.max_expires (600)", long_default,
			ARRAY_SIZE(long_default));
	assert_validate("--set http.listen: at least one address is required", no_http, ARRAY_SIZE(no_http));
	assert_validate("--set http.tokens.ops.scopes: http.tokens.ops.token: missing", no_secret,
			ARRAY_SIZE(no_secret));
	assert_validate("--set http.tokens.b.token: http.tokens.a and http.tokens.b have the same token", same_secret,
			ARRAY_SIZE(same_secret));
	assert_validate(NULL, two_secrets, ARRAY_SIZE(two_secrets));
	assert_no_leaks();
}

Test(config, validate_dns_rules)
{
	static const char *const loop[] = {"dns.listen=127.0.0.1:5300",
					   "dns.forward.upstreams=192.0.2.1:53,127.0.0.1:5300"};
	static const char *const loop_v6_spelling[] = {"dns.listen=127.0.0.1:5300,[::1]:53",
						       "dns.forward.upstreams=[0:0::1]:53"};
	static const char *const loop_mapped[] = {"dns.forward.upstreams=[::ffff:127.0.0.1]:5300"};
	static const char *const loop_wildcard[] = {"dns.listen=0.0.0.0:53", "dns.forward.upstreams=127.0.0.53:53"};
	static const char *const loop_wildcard_v6[] = {"dns.listen=[::]:53", "dns.forward.upstreams=[::1]:53"};
	static const char *const loop_to_wildcard[] = {"dns.listen=0.0.0.0:53", "dns.forward.upstreams=0.0.0.0:53"};
	static const char *const other_port[] = {"dns.forward.upstreams=127.0.0.1:53"};
	static const char *const other_host[] = {"dns.listen=0.0.0.0:53", "dns.forward.upstreams=192.0.2.1:53"};
	static const char *const other_family[] = {"dns.listen=0.0.0.0:53", "dns.forward.upstreams=[::1]:53"};
	static const char *const no_dns[] = {"dns.listen=", "dns.forward.upstreams=127.0.0.1:5300"};
	static const char *const no_ns[] = {"dns.dht_zones.p2p.serial=2", "dns.dht_zones.p2p.ns="};
	static const char *const zones[] = {"dns.dht_zones.p2p.serial=2", "dns.dht_zones.a.p2p.ns=ns.elsewhere.example"};

	assert_validate("--set dns.forward.upstreams: '127.0.0.1:5300' is this server's dns.listen '127.0.0.1:5300' "
			"(forwarding loop)",
			loop, ARRAY_SIZE(loop));
	assert_validate("--set dns.forward.upstreams: '[0:0::1]:53' is this server's dns.listen '[::1]:53' "
			"(forwarding loop)",
			loop_v6_spelling, ARRAY_SIZE(loop_v6_spelling));
	assert_validate("--set dns.forward.upstreams: '[::ffff:127.0.0.1]:5300' is this server's dns.listen "
			"'127.0.0.1:5300' (forwarding loop)",
			loop_mapped, ARRAY_SIZE(loop_mapped));
	assert_validate("--set dns.forward.upstreams: '127.0.0.53:53' is this server's dns.listen '0.0.0.0:53' "
			"(forwarding loop)",
			loop_wildcard, ARRAY_SIZE(loop_wildcard));
	assert_validate("--set dns.forward.upstreams: '[::1]:53' is this server's dns.listen '[::]:53' "
			"(forwarding loop)",
			loop_wildcard_v6, ARRAY_SIZE(loop_wildcard_v6));
	assert_validate("--set dns.forward.upstreams: '0.0.0.0:53' is this server's dns.listen '0.0.0.0:53' "
			"(forwarding loop)",
			loop_to_wildcard, ARRAY_SIZE(loop_to_wildcard));
	assert_validate(NULL, other_port, ARRAY_SIZE(other_port));
	assert_validate(NULL, other_host, ARRAY_SIZE(other_host));
	assert_validate(NULL, other_family, ARRAY_SIZE(other_family));
	assert_validate(NULL, no_dns, ARRAY_SIZE(no_dns));
	assert_validate("--set dns.dht_zones.p2p.ns: at least one name server is required", no_ns, ARRAY_SIZE(no_ns));
	assert_validate(NULL, zones, ARRAY_SIZE(zones));
	assert_no_leaks();
}

/* ------------------------------------------------------------------------- */
/* Validation: where the offending value came from.                          */
/* ------------------------------------------------------------------------- */

/* The --set assignments applied before and after a file, for assert_validate_origin(). */
struct sets {
	const char *const *v;
	size_t n;
};

#define SETS(...) ((struct sets){(const char *const[]){__VA_ARGS__}, ARRAY_SIZE(((const char *const[]){__VA_ARGS__}))})
#define NO_SETS ((struct sets){NULL, 0})

/*
 * Apply @p before to defaults, load @p yaml (NULL: no file), apply @p after;
 * config_validate() must give @p expected ("F" standing for the file name;
 * NULL: success).
 */
static void assert_validate_origin(struct sets before, const char *yaml, struct sets after, const char *expected)
{
	struct rd_config cfg;
	char *path = yaml ? temp_file(yaml, strlen(yaml)) : NULL;
	char *err = NULL, *got = NULL;

	cr_assert_eq(config_init(&cfg), 0);
	for (size_t i = 0; i < before.n; i++)
		set_ok(&cfg, before.v[i]);
	if (path)
		cr_assert_eq(config_load(&cfg, path, &err), 0, "%s", err);
	for (size_t i = 0; i < after.n; i++)
		set_ok(&cfg, after.v[i]);
	if (!expected) {
		cr_assert_eq(config_validate(&cfg, &err), 0, "%s", err ? err : "");
		cr_assert_null(err);
	} else {
		cr_assert_eq(config_validate(&cfg, &err), -EINVAL, "expected: %s", expected);
		cr_assert_not_null(err);
		if (path && strncmp(err, path, strlen(path)) == 0)
			cr_assert_geq(asprintf(&got, "F%s", err + strlen(path)), 0);
		cr_assert_str_eq(got ? got : err, expected, "got '%s' for:\n%s", got ? got : err,
				 yaml ? yaml : "(no file)");
	}
	if (path)
		unlink(path);
	free(got);
	free(err);
	free(path);
	config_deinit(&cfg);
}

Test(config, validate_errors_point_into_the_file)
{
	static const struct bad_case cases[] = {
		{"publish:\n  default_expires: 100\n  max_expires: 10\n",
		 "F:2:20: publish.default_expires: 100 is greater than publish.max_expires (10)"},
		/* default_expires is still the default: the max_expires that went below it is to blame. */
		{"publish:\n  max_expires: 10\n",
		 "F:2:16: publish.default_expires: 3600 is greater than publish.max_expires (10)"},
		{"publish: {max_expires: 10, default_expires: 11}\n",
		 "F:1:45: publish.default_expires: 11 is greater than publish.max_expires (10)"},
		{"http:\n  listen: []\n", "F:2:11: http.listen: at least one address is required"},
		/* A value never set: the entry's key is to blame. */
		{"http:\n  tokens:\n    ops: {scopes: []}\n", "F:3:5: http.tokens.ops.token: missing"},
		{"http:\n  tokens:\n    a: {token: \"0123456789abcdef\"}\n    b:\n      token: \"0123456789abcdef\"\n",
		 "F:5:14: http.tokens.a and http.tokens.b have the same token"},
		{"dns:\n  dht_zones:\n    p2p:\n      serial: 2\n      ns: []\n",
		 "F:5:11: dns.dht_zones.p2p.ns: at least one name server is required"},
		{"dns:\n  listen: [\"127.0.0.1:53\"]\n  forward:\n    upstreams:\n      - \"192.0.2.1:53\"\n"
		 "      - \"127.0.0.1:53\"\n",
		 "F:5:7: dns.forward.upstreams: '127.0.0.1:53' is this server's dns.listen '127.0.0.1:53' "
		 "(forwarding loop)"},
	};
	char *apex = long_name(250), *yaml, *expected;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_validate_origin(NO_SETS, cases[i].yaml, NO_SETS, cases[i].error);
	/* "hostmaster." + 250 bytes does not fit: the zone's key is to blame. */
	cr_assert_geq(asprintf(&yaml, "dns:\n  dht_zones:\n    %s: {serial: 2}\n", apex), 0);
	cr_assert_geq(asprintf(&expected, "F:3:5: dns.dht_zones.%s.hostmaster: missing", apex), 0);
	assert_validate_origin(NO_SETS, yaml, NO_SETS, expected);
	free(yaml);
	free(expected);
	free(apex);
	assert_no_leaks();
}

Test(config, validate_errors_follow_the_last_setter)
{
	static const char expires[] = "publish:\n  default_expires: 200\n  max_expires: 10\n";

	/* The file came last. */
	assert_validate_origin(SETS("publish.default_expires=100"), expires, NO_SETS,
			       "F:2:20: publish.default_expires: 200 is greater than publish.max_expires (10)");
	/* The --set came last; it names the option itself. */
	assert_validate_origin(NO_SETS, expires, SETS("publish.default_expires=50"),
			       "--set publish.default_expires: 50 is greater than publish.max_expires (10)");
	/* A --set of the other option names the option at fault too. */
	assert_validate_origin(NO_SETS, NULL, SETS("publish.max_expires=10"),
			       "--set publish.max_expires: publish.default_expires: 3600 is greater than "
			       "publish.max_expires (10)");
	assert_validate_origin(NO_SETS, "http:\n  listen: []\n", SETS("http.listen=127.0.0.1:1"), NULL);
	/* A file that does not name the option keeps its origin. */
	assert_validate_origin(SETS("http.listen="), "log: {level: debug}\n", NO_SETS,
			       "--set http.listen: at least one address is required");
	assert_validate_origin(SETS("http.listen="), "http: {listen: [\"127.0.0.1:1\"]}\n", SETS("http.listen="),
			       "--set http.listen: at least one address is required");
	/* An entry's origin is where it was first named; the --set key is echoed as typed. */
	assert_validate_origin(NO_SETS, "http:\n  tokens:\n    ops: {scopes: []}\n",
			       SETS("http.tokens.ops.scopes=tel:*"), "F:3:5: http.tokens.ops.token: missing");
	assert_validate_origin(SETS("http.tokens.ops.scopes=tel:*"), "http:\n  tokens:\n    ops: {scopes: []}\n",
			       NO_SETS, "--set http.tokens.ops.scopes: http.tokens.ops.token: missing");
	assert_validate_origin(SETS("dns.dht_zones.P2P.serial=2"), "dns:\n  dht_zones:\n    p2p:\n      ns: []\n",
			       NO_SETS, "F:4:11: dns.dht_zones.p2p.ns: at least one name server is required");
	assert_validate_origin(NO_SETS, "dns:\n  dht_zones:\n    p2p:\n      ns: []\n", SETS("dns.dht_zones.P2P.ns="),
			       "--set dns.dht_zones.P2P.ns: at least one name server is required");
	/* The loop is blamed on the upstreams, wherever dns.listen came from. */
	assert_validate_origin(NO_SETS, "dns:\n  forward: {upstreams: [\"127.0.0.1:5300\"]}\n",
			       SETS("dns.listen=127.0.0.1:5300"),
			       "F:2:24: dns.forward.upstreams: '127.0.0.1:5300' is this server's dns.listen "
			       "'127.0.0.1:5300' (forwarding loop)");
	assert_no_leaks();
}

Test(config, validate_errors_of_defaults_have_no_origin)
{
	struct rd_config cfg, zero = {0};
	char *err = NULL;

	/* Values changed behind config_set()'s back keep the default's (empty) origin. */
	cr_assert_eq(config_init(&cfg), 0);
	cfg.publish.max_expires = 10;
	cr_assert_eq(config_validate(&cfg, &err), -EINVAL);
	cr_assert_str_eq(err, "publish.default_expires: 3600 is greater than publish.max_expires (10)");
	free(err);
	err = NULL;
	cfg.publish.max_expires = 3600;
	cr_assert_eq(config_validate(&cfg, &err), 0, "%s", err ? err : "");
	config_deinit(&cfg);

	/* A struct that config_init() did not fill keeps no origins, and works all the same. */
	set_ok(&zero, "http.listen=");
	set_ok(&zero, "http.tokens.ops.scopes=tel:*");
	cr_assert_eq(config_validate(&zero, &err), -EINVAL);
	cr_assert_str_eq(err, "http.listen: at least one address is required");
	free(err);
	config_deinit(&zero);
	assert_no_leaks();
}

Test(config, failed_load_keeps_origins)
{
	struct rd_config cfg;
	char *err = NULL;

	cr_assert_eq(config_init(&cfg), 0);
	set_ok(&cfg, "http.listen=");
	cr_assert_eq(load_yaml(&cfg, "http:\n  listen: [\"127.0.0.1:1\"]\nlog: {level: nope}\n", &err), -EINVAL);
	free(err);
	err = NULL;
	cr_assert_eq(config_validate(&cfg, &err), -EINVAL);
	cr_assert_str_eq(err, "--set http.listen: at least one address is required");
	free(err);
	config_deinit(&cfg);
	assert_no_leaks();
}

/* ------------------------------------------------------------------------- */
/* Addresses.                                                                */
/* ------------------------------------------------------------------------- */

Test(config, parse_endpoint_ipv4_and_ipv6)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	char text[INET6_ADDRSTRLEN];

	cr_assert_eq(config_parse_endpoint("127.0.0.1:7380", &ss, &len), 0);
	cr_assert_eq(ss.ss_family, AF_INET);
	cr_assert_eq(len, sizeof(struct sockaddr_in));
	cr_assert_eq(ntohs(sin->sin_port), 7380);
	cr_assert_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001u);

	cr_assert_eq(config_parse_endpoint("[2001:db8::1]:65535", &ss, &len), 0);
	cr_assert_eq(ss.ss_family, AF_INET6);
	cr_assert_eq(len, sizeof(struct sockaddr_in6));
	cr_assert_eq(ntohs(sin6->sin6_port), 65535);
	cr_assert_str_eq(inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)), "2001:db8::1");

	cr_assert_eq(config_parse_endpoint("[::ffff:192.0.2.1]:1", &ss, &len), 0);
	cr_assert_eq(ss.ss_family, AF_INET6);
	cr_assert_eq(ntohs(sin6->sin6_port), 1);
}

Test(config, parse_endpoint_rejects_and_writes_nothing)
{
	static const char *const bad[] = {
		"", ":", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:080", "127.0.0.1:+80",
		"127.0.0.1:8o", "::1:80", "[::1]80", "[::1]:", "[::1", "[1.2.3.4]:80", "localhost:80", "1.2.3:80",
		"01.2.3.4:80", "[::1%lo]:80", " 127.0.0.1:80", "127.0.0.1:80 ", "[]:80", "[::1]]:80",
		"[0123:4567:89ab:cdef:0123:4567:89ab:cdef:0123]:1",
	};
	struct sockaddr_storage ss, pristine;
	socklen_t len = 77;

	memset(&ss, 0xa5, sizeof(ss));
	memcpy(&pristine, &ss, sizeof(ss));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		cr_expect_eq(config_parse_endpoint(bad[i], &ss, &len), -EINVAL, "'%s'", bad[i]);
	cr_assert_eq(config_parse_endpoint(NULL, &ss, &len), -EINVAL);
	cr_assert_eq(memcmp(&ss, &pristine, sizeof(ss)), 0, "ret_ss written on failure");
	cr_assert_eq(len, 77, "ret_len written on failure");
}

/* ------------------------------------------------------------------------- */
/* Allocation failures (without ASan: see the malloc above).                 */
/* ------------------------------------------------------------------------- */
/* plugins.<name>: the core's keys, and the plugin's own kept as text.       */
/* ------------------------------------------------------------------------- */

static const char plugin_yaml[] =
	"plugins:\n"
	"  sip:\n"
	"    enabled: false\n"
	"    fallback: false\n"
	"    path: /opt/rd_sip.so\n"
	"    listen: [\"127.0.0.1:5060\", \"[::1]:5060\"]\n"
	"    min_expires: 60\n"
	"    realm: \"example.org\"\n"
	"    flag: true\n"
	"    users:\n"
	"      alice: {password: \"s3cret\"}\n"
	"      bob.smith:\n"
	"        password: 'x'\n"
	"  mock: {greeting: hi, empty: ~}\n";

/** The value of @p key in plugin @p name of @p cfg; it must exist. */
static const struct config_raw *raw_of(const struct rd_config *cfg, const char *name, const char *key)
{
	const struct config_plugin *p = config_plugin_find(cfg, name);
	long i;

	cr_assert_not_null(p, "no plugins.%s", name);
	i = config_plugin_raw_index(p, key);
	cr_assert_geq(i, 0, "no plugins.%s.%s", name, key);
	return &p->raw[i];
}

Test(config, plugin_sections_keep_their_own_keys)
{
	static const char *const keys[] = {
		"listen", "min_expires", "realm", "flag", "users", "users.alice", "users.alice.password",
		"users.bob.smith", "users.bob.smith.password",
	};
	const struct config_plugin *sip;
	struct rd_config cfg;
	char *err;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(load_yaml(&cfg, plugin_yaml, &err), 0, "%s", err);
	cr_assert_eq(cfg.n_plugins, 5, "the four defaults and mock");
	sip = config_plugin_find(&cfg, "sip");
	cr_assert_eq(sip->enabled, 0);
	cr_assert_eq(sip->fallback, 0);
	cr_assert_str_eq(sip->path, "/opt/rd_sip.so");
	cr_assert(config_plugin_is_explicit(sip));
	cr_assert_not(config_plugin_is_explicit(config_plugin_find(&cfg, "xmpp")));
	cr_assert_eq(config_plugin_find(&cfg, "mock")->enabled, 1, "a new section is enabled by default");
	cr_assert_null(config_plugin_find(&cfg, "nosuch"));
	cr_assert_eq(sip->n_raw, ARRAY_SIZE(keys));
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		cr_assert_str_eq(sip->raw[i].key, keys[i], "values stay in file order");
	/* A map key may hold dots: the last segment is found by offset, not by splitting. */
	cr_assert_str_eq(raw_of(&cfg, "sip", "users.bob.smith")->key + raw_of(&cfg, "sip", "users.bob.smith")->leaf_off,
			 "bob.smith");
	cr_assert_eq(raw_of(&cfg, "sip", "users")->kind, CONFIG_RAW_MAP);
	cr_assert_eq(raw_of(&cfg, "sip", "listen")->kind, CONFIG_RAW_LIST);
	assert_strv(&raw_of(&cfg, "sip", "listen")->items, "127.0.0.1:5060", "[::1]:5060", NULL);
	cr_assert(strstr(raw_of(&cfg, "sip", "min_expires")->where, ":7:18"), "%s",
		  raw_of(&cfg, "sip", "min_expires")->where);
	cr_assert(raw_of(&cfg, "mock", "empty")->is_null);
	cr_assert_eq(raw_of(&cfg, "mock", "empty")->items.n, 0, "a null is the empty list");
	config_deinit(&cfg);
	assert_no_leaks();
}

Test(config, plugin_values_are_checked_by_type_on_request)
{
	const char *const *v;
	const char *text;
	struct rd_config cfg;
	unsigned u;
	size_t n;
	int b;
	char *err, *reason = NULL, *msg;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(load_yaml(&cfg, plugin_yaml, &err), 0, "%s", err);
	cr_assert_eq(config_raw_uint(raw_of(&cfg, "sip", "min_expires"), 1, 100, &u, &reason), 0);
	cr_assert_eq(u, 60);
	cr_assert_eq(config_raw_uint(raw_of(&cfg, "sip", "min_expires"), 61, 100, &u, &reason), -EINVAL);
	cr_assert_str_eq(reason, "60 is out of range 61..100");
	msg = config_plugin_message(config_plugin_find(&cfg, "sip"), raw_of(&cfg, "sip", "min_expires"),
				    "min_expires", reason);
	cr_assert(strstr(msg, ".yaml:7:18: plugins.sip.min_expires: 60 is out of range 61..100"), "%s", msg);
	free(msg);
	free(reason);
	reason = NULL;
	cr_assert_eq(config_raw_uint(raw_of(&cfg, "sip", "realm"), 0, 100, &u, &reason), -EINVAL);
	cr_assert_str_eq(reason, "expected an integer");
	free(reason);
	reason = NULL;
	cr_assert_eq(config_raw_string(raw_of(&cfg, "sip", "realm"), &text, &reason), 0);
	cr_assert_str_eq(text, "example.org");
	cr_assert_eq(config_raw_string(raw_of(&cfg, "sip", "min_expires"), &text, &reason), -EINVAL,
		     "a plain number is not a string, as in the core's options");
	cr_assert_str_eq(reason, "expected a string");
	free(reason);
	reason = NULL;
	cr_assert_eq(config_raw_string(raw_of(&cfg, "sip", "users"), &text, &reason), -EINVAL);
	free(reason);
	reason = NULL;
	cr_assert_eq(config_raw_bool(raw_of(&cfg, "sip", "flag"), &b, &reason), 0);
	cr_assert_eq(b, 1);
	cr_assert_eq(config_raw_bool(raw_of(&cfg, "sip", "realm"), &b, &reason), -EINVAL);
	cr_assert_str_eq(reason, "expected true or false");
	free(reason);
	reason = NULL;
	cr_assert_eq(config_raw_list(raw_of(&cfg, "sip", "realm"), &v, &n, &reason), 0, "one scalar is a list of one");
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0], "example.org");
	cr_assert_eq(config_raw_list(raw_of(&cfg, "sip", "users"), &v, &n, &reason), -EINVAL);
	cr_assert_str_eq(reason, "expected a list");
	free(reason);
	/* An absent key is placed at its section, or nowhere for a built-in one. */
	msg = config_plugin_message(config_plugin_find(&cfg, "sip"), NULL, "max_contacts", "missing");
	cr_assert(strstr(msg, ".yaml:2:3: plugins.sip.max_contacts: missing"), "%s", msg);
	free(msg);
	msg = config_plugin_message(config_plugin_find(&cfg, "tel"), NULL, "x", "bad");
	cr_assert_str_eq(msg, "plugins.tel.x: bad");
	free(msg);
	config_deinit(&cfg);
	assert_no_leaks();
}

Test(config, set_plugin_keys)
{
	const struct config_plugin *p;
	const char *text;
	struct rd_config cfg;
	unsigned u;
	char *reason = NULL, *msg;

	cr_assert_eq(config_init(&cfg), 0);
	set_ok(&cfg, "plugins.sip.min_expires=60");
	set_ok(&cfg, "plugins.sip.listen=127.0.0.1:5060, 127.0.0.1:5062");
	set_ok(&cfg, "plugins.sip.users.alice.password=pw,with,commas");
	set_ok(&cfg, "plugins.sip.fallback=false");
	set_ok(&cfg, "plugins.new.enabled=false");
	set_ok(&cfg, "plugins.other.x=1");
	p = config_plugin_find(&cfg, "sip");
	cr_assert(config_plugin_is_explicit(p));
	cr_assert_eq(p->fallback, 0);
	cr_assert_eq(config_raw_uint(raw_of(&cfg, "sip", "min_expires"), 1, 100, &u, &reason), 0);
	cr_assert_eq(u, 60);
	cr_assert_str_eq(raw_of(&cfg, "sip", "min_expires")->where, "--set plugins.sip.min_expires");
	assert_strv(&raw_of(&cfg, "sip", "listen")->items, "127.0.0.1:5060", "127.0.0.1:5062", NULL);
	/* Any --set text is a string too, whole. */
	cr_assert_eq(config_raw_string(raw_of(&cfg, "sip", "users.alice.password"), &text, &reason), 0);
	cr_assert_str_eq(text, "pw,with,commas");
	cr_assert_eq(raw_of(&cfg, "sip", "users")->kind, CONFIG_RAW_MAP, "parents are made");
	cr_assert_eq(raw_of(&cfg, "sip", "users.alice")->kind, CONFIG_RAW_MAP);
	cr_assert_eq(config_raw_uint(raw_of(&cfg, "sip", "min_expires"), 61, 100, &u, &reason), -EINVAL);
	msg = config_plugin_message(p, raw_of(&cfg, "sip", "min_expires"), "min_expires", reason);
	cr_assert_str_eq(msg, "--set plugins.sip.min_expires: 60 is out of range 61..100");
	free(msg);
	msg = config_plugin_message(p, raw_of(&cfg, "sip", "users"), "users", "expected a string");
	cr_assert_str_eq(msg, "--set plugins.sip.users.alice.password: plugins.sip.users: expected a string");
	free(msg);
	free(reason);
	cr_assert_eq(config_plugin_find(&cfg, "new")->enabled, 0);
	cr_assert(config_plugin_is_explicit(config_plugin_find(&cfg, "other")));
	/* A later --set replaces the value; a file over it does too. */
	set_ok(&cfg, "plugins.sip.min_expires=90");
	cr_assert_str_eq(raw_of(&cfg, "sip", "min_expires")->text, "90");
	cr_assert_eq(config_plugin_find(&cfg, "sip")->n_raw, 5);
	set_fails(&cfg, "plugins.sip=1", "--set plugins.sip: unknown key");
	set_fails(&cfg, "plugins.Sip.x=1", "--set plugins.Sip.x: 'Sip' is not a plugin name (a-z, then up to 30 of a-z 0-9 _)");
	set_fails(&cfg, "plugins.sip.a..b=1", "--set plugins.sip.a..b: 'a..b' is not a plugin option name");
	set_fails(&cfg, "plugins.sip.a.b.c.d.e=1", "--set plugins.sip.a.b.c.d.e: 'a.b.c.d.e' is nested deeper than 4 levels");
	set_fails(&cfg, "plugins.sip.enabled=yes", "--set plugins.sip.enabled: 'yes' is not one of false|true");
	set_fails(&cfg, "plugins.sip.listen=a,,b", "--set plugins.sip.listen: empty list item");
	set_fails(&cfg, "fallback.timeout_ms=30001", "--set fallback.timeout_ms: 30001 is out of range 100..30000");
	config_deinit(&cfg);
	assert_no_leaks();
}

Test(config, failed_load_keeps_plugin_values)
{
	struct rd_config cfg, before;
	char *err;

	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(load_yaml(&cfg, plugin_yaml, &err), 0, "%s", err);
	cr_assert_eq(config_init(&before), 0);
	cr_assert_eq(load_yaml(&before, plugin_yaml, &err), 0, "%s", err);
	cr_assert_eq(load_yaml(&cfg, "plugins:\n  sip: {realm: other, min_expires: 1, x: [{}]}\n", &err), -EINVAL);
	free(err);
	assert_config_eq(&cfg, &before);
	/* A good file changes only what it names. */
	cr_assert_eq(load_yaml(&cfg, "plugins:\n  sip: {realm: \"other\"}\n", &err), 0, "%s", err);
	cr_assert_str_eq(raw_of(&cfg, "sip", "realm")->text, "other");
	cr_assert_str_eq(raw_of(&cfg, "sip", "min_expires")->text, "60");
	config_deinit(&cfg);
	config_deinit(&before);
	assert_no_leaks();
}

/* ------------------------------------------------------------------------- */

#ifdef FAULTS
/* A configuration with every map filled, so that copies and frees walk them. */
static void fill_maps(struct rd_config *cfg)
{
	cr_assert_eq(config_init(cfg), 0);
	set_ok(cfg, "http.tokens.ops.token=0123456789abcdef");
	set_ok(cfg, "http.tokens.ops.scopes=sip:*,tel:*");
	set_ok(cfg, "policy.domains.example.com.keys=" KEY_A);
	set_ok(cfg, "dns.dht_zones.a.p2p.ns=ns1.a.p2p,ns2.a.p2p");
	set_ok(cfg, "plugins.sip.users.alice.password=secret");
}

/* Fail each allocation of config_load(@p yaml) in turn: no leak, no change, then success. */
static void load_under_faults(const char *yaml, int final_ret)
{
	char *path = temp_file(yaml, strlen(yaml));
	long n;

	for (n = 0; n < 100000; n++) {
		struct rd_config cfg, before;
		char *err = NULL;
		int ret;

		fill_maps(&cfg);
		fill_maps(&before);
		faults_arm(n);
		ret = config_load(&cfg, path, &err);
		free(err);
		faults_disarm();
		if (!faults.failed) {
			cr_assert_eq(ret, final_ret, "without failures: %d", ret);
			config_deinit(&cfg);
			config_deinit(&before);
			break;
		}
		/* stdio survives a failed buffer allocation, so success is possible. */
		cr_assert(ret == final_ret || ret == -ENOMEM, "allocation %ld: %d", n, ret);
		if (ret < 0) {
			cr_assert(!faults.overflow);
			cr_assert_eq(faults.live_n, 0, "allocation %ld failed: %zu blocks leaked", n, faults.live_n);
			assert_config_eq(&cfg, &before);
		}
		config_deinit(&cfg);
		config_deinit(&before);
	}
	cr_assert_gt(n, 10, "only %ld allocations: is the fault injection working?", n);
	unlink(path);
	free(path);
}

Test(config, allocation_failures_in_load)
{
	load_under_faults(full_yaml, 0);
	load_under_faults(plugin_yaml, 0);
	load_under_faults("log: {level: loud}\n", -EINVAL);
	load_under_faults("http: {listen: [\"127.0.0.1:1\", \"x\"]}\n", -EINVAL);
	load_under_faults("http:\n  threads: 1\n bad\n", -EINVAL);
}

Test(config, allocation_failures_in_init_and_set)
{
	static const char *const assignments[] = {
		"http.listen=127.0.0.1:1,[::1]:2",
		"policy.domains.example.org.keys=" KEY_A "," KEY_B,
		"http.tokens.new.token=0123456789abcdef",
		"log.level=loud",
		"state_dir=/x",
		"dns.dht_zones.new.p2p.serial=5",
		"dns.dht_zones.a.p2p.hostmaster=hm.a.p2p",
		"dns.enum_suffixes=e164.arpa,e164.example.org",
		"plugins.sip.min_expires=60",
		"plugins.sip.users.bob.password=x",
		"plugins.new.listen=127.0.0.1:1,127.0.0.1:2",
		"plugins.new.enabled=false",
	};
	long n;

	for (n = 0; n < 10000; n++) {
		struct rd_config cfg;
		int ret;

		faults_arm(n);
		ret = config_init(&cfg);
		faults_disarm();
		if (!faults.failed) {
			cr_assert_eq(ret, 0);
			config_deinit(&cfg);
			break;
		}
		cr_assert_eq(ret, -ENOMEM);
		cr_assert_eq(faults.live_n, 0, "config_init, allocation %ld: %zu blocks leaked", n, faults.live_n);
	}
	cr_assert_geq(n, 5, "only %ld allocations: is the fault injection working?", n);
	for (size_t i = 0; i < ARRAY_SIZE(assignments); i++) {
		for (n = 0; n < 10000; n++) {
			struct rd_config cfg, before;
			char *err = NULL;
			int ret;

			fill_maps(&cfg);
			fill_maps(&before);
			faults_arm(n);
			ret = config_set(&cfg, assignments[i], &err);
			free(err);
			faults_disarm();
			if (faults.failed) {
				cr_assert(ret == -ENOMEM || ret == -EINVAL, "%s: %d", assignments[i], ret);
				cr_assert_eq(faults.live_n, 0, "%s, allocation %ld: %zu blocks leaked", assignments[i],
					     n, faults.live_n);
				assert_config_eq(&cfg, &before);
			}
			config_deinit(&cfg);
			config_deinit(&before);
			if (!faults.failed)
				break;
		}
		cr_assert_gt(n, 0, "%s allocates nothing?", assignments[i]);
	}
}
#else
Test(config, allocation_failures_in_load)
{
	cr_skip_test("malloc fault injection is off under ASan");
}
#endif

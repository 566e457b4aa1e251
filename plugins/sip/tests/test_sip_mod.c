/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for plugins/sip/sip_mod.c: the built rd_sip.so, opened as the daemon opens it, with a fake host. */
#include <criterion/criterion.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/plugin.h"

struct rd_host {
	int dns_queries; /**< questions asked through the fake dns_query */
};

static void fake_log(struct rd_host *h, enum rd_log_level level, const char *fmt, ...)
{
	(void)h;
	(void)level;
	(void)fmt;
}

static int fake_string(struct rd_host *h, const char *key, const char *dflt, const char **ret)
{
	*ret = dflt;
	return -ENOENT;
}

static int fake_uint(struct rd_host *h, const char *key, unsigned min, unsigned max, unsigned dflt, unsigned *ret)
{
	*ret = dflt;
	return -ENOENT;
}

static int fake_bool(struct rd_host *h, const char *key, int dflt, int *ret)
{
	*ret = dflt;
	return -ENOENT;
}

static int fake_list(struct rd_host *h, const char *key, const char *const **ret_v, size_t *ret_n)
{
	*ret_v = NULL;
	*ret_n = 0;
	return -ENOENT;
}

static int fake_config_error(struct rd_host *h, const char *key, const char *fmt, ...)
{
	return -EINVAL;
}

static uint64_t fake_now(struct rd_host *h)
{
	return 1700000000;
}

static int fake_dns_query(struct rd_host *h, const char *name, enum rd_dns_type type, rd_dns_cb cb, void *ud)
{
	/* Never answered: the plugin's deinit must complete the fallback itself. */
	h->dns_queries++;
	return 0;
}

static const struct rd_host_api fake_api = {
	.abi_major = RD_PLUGIN_ABI_MAJOR,
	.abi_minor = RD_PLUGIN_ABI_MINOR,
	.size = sizeof(struct rd_host_api),
	.log = fake_log,
	.config_string = fake_string,
	.config_uint = fake_uint,
	.config_bool = fake_bool,
	.config_list = fake_list,
	.config_keys = fake_list,
	.config_error = fake_config_error,
	.now = fake_now,
	.dns_query = fake_dns_query,
};

static void *dl;
static const struct rd_plugin *vt;

static void open_module(void)
{
	const char *path = getenv("RD_SIP_MODULE");
	rd_plugin_entry_fn entry;

	cr_assert_not_null(path, "RD_SIP_MODULE is not set");
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(dl, "dlopen: %s", dlerror());
	*(void **)&entry = dlsym(dl, RD_PLUGIN_ENTRY);
	cr_assert_not_null(entry, "no %s", RD_PLUGIN_ENTRY);
	vt = entry();
	cr_assert_not_null(vt);
}

static void close_module(void)
{
	dlclose(dl);
}

TestSuite(sip_mod, .init = open_module, .fini = close_module);

Test(sip_mod, vtable)
{
	cr_assert_eq(vt->abi_major, RD_PLUGIN_ABI_MAJOR);
	cr_assert_eq(vt->abi_minor, RD_PLUGIN_ABI_MINOR);
	cr_assert_eq(vt->size, sizeof(struct rd_plugin));
	cr_assert_str_eq(vt->name, "sip");
	cr_assert_str_eq(vt->schemes[0], "sip");
	cr_assert_str_eq(vt->schemes[1], "sips");
	cr_assert_null(vt->schemes[2]);
	cr_assert_not_null(vt->normalize);
	cr_assert_not_null(vt->init);
	cr_assert_not_null(vt->deinit);
	cr_assert_not_null(vt->fallback);
	/* Only the entry point is exported. */
	cr_assert_null(dlsym(dl, "sip_aor_normalize"));
	cr_assert_null(dlsym(dl, "sip_fallback_start"));
}

Test(sip_mod, normalize_before_init)
{
	struct rd_name n;
	const char *reason = NULL;

	cr_assert_eq(vt->normalize(NULL, "SIPS:Bob@Example.COM:5061;transport=tls", &n, &reason), 0);
	cr_assert_str_eq(n.name, "sips:Bob@example.com:5061");
	cr_assert_str_eq(n.host, "example.com");
	cr_assert_eq(vt->normalize(NULL, "sip:", &n, &reason), -EINVAL);
	cr_assert_str_eq(reason, "sip: URI has nothing after the scheme (write sip:user@host)");
}

struct calls {
	int n, status;
	size_t targets;
};

static void on_done(void *ud, int status, const struct rd_target *targets, size_t n)
{
	struct calls *c = ud;

	c->n++;
	c->status = status;
	c->targets = n;
}

Test(sip_mod, deinit_cancels_fallbacks)
{
	struct rd_host host = {0};
	struct calls dns = {0}, literal = {0};
	struct rd_name name;
	const char *reason;
	void *state = NULL;

	cr_assert_eq(vt->init(&fake_api, &host, &state), 0);
	cr_assert_not_null(state);
	cr_assert_eq(vt->normalize(state, "sip:bob@example.com", &name, &reason), 0);
	cr_assert_eq(vt->fallback(state, &name, on_done, &dns), 0);
	cr_assert_eq(host.dns_queries, 1, "NAPTR first");
	cr_assert_eq(vt->normalize(state, "sip:bob@192.0.2.1", &name, &reason), 0);
	cr_assert_eq(vt->fallback(state, &name, on_done, &literal), 0);
	cr_assert_eq(literal.n, 1);
	cr_assert_eq(literal.status, 0);
	cr_assert_eq(literal.targets, 1);
	cr_assert_eq(dns.n, 0);
	vt->deinit(state);
	cr_assert_eq(dns.n, 1);
	cr_assert_eq(dns.status, -ECANCELED);
	cr_assert_eq(literal.n, 1);
}

Test(sip_mod, refuses_another_major)
{
	struct rd_host_api api = fake_api;
	struct rd_host host = {0};
	void *state = NULL;

	api.abi_major = RD_PLUGIN_ABI_MAJOR + 1;
	cr_assert_eq(vt->init(&api, &host, &state), -ENOTSUP);
	cr_assert_null(state);
}

Test(sip_mod, refuses_a_smaller_host_api)
{
	struct rd_host_api api = fake_api;
	struct rd_host host = {0};
	void *state = NULL;

	api.size = (uint32_t)offsetof(struct rd_host_api, dns_query);
	cr_assert_eq(vt->init(&api, &host, &state), -ENOTSUP);
	cr_assert_null(state);
}

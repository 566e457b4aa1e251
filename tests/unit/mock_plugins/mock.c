/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A mock resolverd plugin for the ABI tests; -D switches build its broken variants from this one source. */

/*
 * Variants (tests/unit/meson.build):
 *  - rd_mock.so: the good plugin. Scheme "mock": "mock:User@Host" normalizes
 *    to "mock:user@host" (host "host"); a "+tag" after the user is dropped,
 *    so "mock:Alice+x@EXAMPLE.org" and "mock:alice@example.org" are one
 *    name. init() reads greeting (string), limit (1..10), flag (bool),
 *    listen (list; bound with udp_bind) and users.<name>.password. Its
 *    fallback answers from the user part, with no DNS: "dns-..." gives one
 *    target, "nx-..." -ENOENT, "slow-..." -ETIMEDOUT, "err-..." -EIO; each
 *    call is logged "mock fallback call N", so tests can count them.
 *  - MOCK_MAJOR / MOCK_MINOR: claim another ABI version.
 *  - MOCK_SHORT: a vtable of an older minor, ending before ->fallback.
 *  - MOCK_NO_NORMALIZE: leave a MUST member NULL.
 *  - MOCK_NO_ENTRY: export no entry point.
 *  - MOCK_NAME: the name the vtable claims.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/plugin.h"

#ifndef MOCK_NAME
#define MOCK_NAME "mock"
#endif
#ifndef MOCK_MAJOR
#define MOCK_MAJOR RD_PLUGIN_ABI_MAJOR
#endif
#ifndef MOCK_MINOR
#define MOCK_MINOR RD_PLUGIN_ABI_MINOR
#endif

struct mock_state {
	const struct rd_host_api *api;
	struct rd_host *host;
	unsigned calls; /* fallback() calls */
	struct rd_sock *sock;
};

static const char *const schemes[] = {"mock", NULL};

__attribute__((unused)) static int mock_normalize(void *state, const char *uri, struct rd_name *ret,
						  const char **ret_reason)
{
	const char *p = uri + 5, *at;
	struct rd_name n;
	size_t o = 0;

	(void)state;
	if (strncasecmp(uri, "mock:", 5) != 0 || !(at = strchr(p, '@')) || at == p || !at[1]) {
		*ret_reason = "a mock URI is mock:user@host";
		return -EINVAL;
	}
	if (strlen(uri) > 200)
		return -ENAMETOOLONG;
	memset(&n, 0, sizeof(n));
	memcpy(n.name, "mock:", 5);
	o = 5;
	for (; p < at && *p != '+'; p++)
		n.name[o++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
	n.name[o++] = '@';
	for (p = at + 1; *p; p++) {
		char c = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);

		n.name[o++] = c;
		n.host[p - at - 1] = c;
	}
	*ret = n;
	return 0;
}

static void on_datagram(void *ud, struct rd_sock *s, const struct sockaddr *peer, socklen_t peer_len,
			const uint8_t *data, size_t len)
{
	struct mock_state *st = ud;

	/* Echo, so a test can see the socket is real. */
	st->api->udp_send(s, peer, peer_len, data, len);
}

static int read_users(struct mock_state *st)
{
	const struct rd_host_api *api = st->api;
	const char *const *names;
	size_t n;
	int rc = api->config_keys(st->host, "users", &names, &n);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		char key[128];
		const char *pw;

		snprintf(key, sizeof(key), "users.%s.password", names[i]);
		rc = api->config_string(st->host, key, NULL, &pw);
		if (rc == -ENOENT)
			return api->config_error(st->host, key, "missing");
		if (rc < 0)
			return rc;
		if (strlen(pw) < 4)
			return api->config_error(st->host, key, "at least 4 characters");
	}
	return 0;
}

static int mock_init(const struct rd_host_api *api, struct rd_host *host, void **ret_state)
{
	struct mock_state *st = calloc(1, sizeof(*st));
	const char *greeting, *const *listen;
	unsigned limit;
	int flag, rc;
	size_t n;

	if (!st)
		return -ENOMEM;
	st->api = api;
	st->host = host;
	if ((rc = api->config_string(host, "greeting", "hello", &greeting)) == -EINVAL ||
	    (rc = api->config_uint(host, "limit", 1, 10, 5, &limit)) == -EINVAL ||
	    (rc = api->config_bool(host, "flag", 0, &flag)) == -EINVAL ||
	    (rc = api->config_list(host, "listen", &listen, &n)) == -EINVAL || (rc = read_users(st)) < 0)
		goto out_free;
	for (size_t i = 0; i < n; i++) {
		rc = api->udp_bind(host, listen[i], on_datagram, st, &st->sock);
		if (rc < 0) {
			api->log(host, RD_LOG_ERROR, "cannot bind %s: %s", listen[i], strerror(-rc));
			goto out_free;
		}
	}
	api->log(host, RD_LOG_INFO, "mock ready: greeting=%s limit=%u flag=%d listen=%zu", greeting, limit, flag, n);
	*ret_state = st;
	return 0;
out_free:
	free(st);
	return rc;
}

static void mock_deinit(void *state)
{
	struct mock_state *st = state;

	if (st && st->sock)
		st->api->sock_close(st->sock);
	free(st);
}

#ifndef MOCK_SHORT
static int mock_fallback(void *state, const struct rd_name *name, rd_fallback_cb cb, void *ud)
{
	struct mock_state *st = state;
	const char *user = name->name + 5;
	char url[RD_NAME_MAX + 32];
	struct rd_target t[2];

	st->calls++;
	st->api->log(st->host, RD_LOG_INFO, "mock fallback call %u for %s", st->calls, name->name);
	if (strncmp(user, "dns-", 4) == 0) {
		snprintf(url, sizeof(url), "sip:%s:5060;transport=udp", name->host);
		t[0] = (struct rd_target){.url = url, .q = 1000, .ttl = 60, .via = "SRV _sip._udp"};
		t[1] = (struct rd_target){.url = "sip:backup.invalid:5060", .q = 500, .ttl = 30, .via = "A"};
		cb(ud, 0, t, 2);
	} else if (strncmp(user, "slow-", 5) == 0) {
		cb(ud, -ETIMEDOUT, NULL, 0);
	} else if (strncmp(user, "err-", 4) == 0) {
		cb(ud, -EIO, NULL, 0);
	} else {
		cb(ud, -ENOENT, NULL, 0);
	}
	return 0;
}
#endif

#ifdef MOCK_SHORT
/* The vtable as an older minor declared it: no ->fallback yet. */
struct mock_short_plugin {
	uint16_t abi_major, abi_minor;
	uint32_t size;
	const char *name;
	const char *const *schemes;
	int (*normalize)(void *, const char *, struct rd_name *, const char **);
	int (*init)(const struct rd_host_api *, struct rd_host *, void **);
	void (*deinit)(void *);
};
static const struct mock_short_plugin vtable = {
	.abi_major = MOCK_MAJOR, .abi_minor = MOCK_MINOR, .size = sizeof(struct mock_short_plugin),
	.name = MOCK_NAME, .schemes = schemes, .normalize = mock_normalize, .init = mock_init, .deinit = mock_deinit,
};
#define VTABLE ((const struct rd_plugin *)(const void *)&vtable)
#else
static const struct rd_plugin vtable = {
	.abi_major = MOCK_MAJOR,
	.abi_minor = MOCK_MINOR,
	.size = sizeof(struct rd_plugin),
	.name = MOCK_NAME,
	.schemes = schemes,
#ifndef MOCK_NO_NORMALIZE
	.normalize = mock_normalize,
#endif
	.init = mock_init,
	.deinit = mock_deinit,
	.fallback = mock_fallback,
};
#define VTABLE (&vtable)
#endif

#ifdef MOCK_NO_ENTRY
RD_PLUGIN_EXPORT const struct rd_plugin *mock_not_the_entry(void);
RD_PLUGIN_EXPORT const struct rd_plugin *mock_not_the_entry(void)
#else
RD_PLUGIN_EXPORT const struct rd_plugin *rd_plugin_entry(void);
RD_PLUGIN_EXPORT const struct rd_plugin *rd_plugin_entry(void)
#endif
{
	return VTABLE;
}

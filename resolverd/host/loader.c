/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Loading a plugin: find its file, dlopen it, check its ABI, register its URI normalizers. */

/*
 * DESIGN
 * The loader holds no daemon state, so urictl links it too and normalizes
 * exactly as the daemon does. It trusts nothing in the vtable until the
 * version and size are checked: it reads abi_major, abi_minor and size
 * first (they sit at the same place in every version), refuses another
 * major, a newer minor and a vtable shorter than minor 0's, then copies only
 * the first size bytes into a zeroed struct rd_plugin, so a member appended
 * after the plugin was built reads as NULL. The MUST members (name, schemes,
 * normalize) are then checked on that copy.
 *
 * Each scheme gets a struct uri_normalizer whose function adapts the
 * plugin's struct rd_name to the core's struct uri_parts. The registry
 * borrows these structs, so they live as long as the loaded plugin, and
 * the caller clears the registry before plugin_unload().
 *
 * Threads: start-up and shutdown only (the normalizer registry is not
 * locked). The registered normalizers run on any thread.
 */

#include "resolverd/host/loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef RESOLVERD_PLUGIN_DIR
#define RESOLVERD_PLUGIN_DIR "/usr/local/lib/resolverd"
#endif

/** The longest plugin name: struct rd_host keeps it in char[32]. */
#define PLUGIN_NAME_MAX 31
/** Most schemes one plugin may claim. */
#define PLUGIN_MAX_SCHEMES 16

const struct loader_abi loader_abi_current = {
	.major = RD_PLUGIN_ABI_MAJOR,
	.minor = RD_PLUGIN_ABI_MINOR,
	.min_size = (uint32_t)(offsetof(struct rd_plugin, fallback) + sizeof(((struct rd_plugin *)0)->fallback)),
};

/** Set *ret_error to "plugin NAME: message". @return @p ret. */
__attribute__((format(printf, 4, 5))) static int fail(char **ret_error, int ret, const char *name, const char *fmt,
						       ...)
{
	char *msg = NULL;
	va_list ap;

	if (!ret_error)
		return ret;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg || asprintf(ret_error, "plugin %s: %s", name, msg) < 0)
		*ret_error = NULL;
	free(msg);
	return ret;
}

/** Is @p s a plugin or scheme name: 1..max of [a-z0-9_+.-], starting with a letter? */
static bool is_name(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '.' ||
		      c == '-'))
			return false;
	}
	return n <= max;
}

/** The MUST members of the copied vtable. @return 0, -EPROTO. */
static int check_members(const struct rd_plugin *vt, const char *name, char **ret_error)
{
	size_t n = 0;

	if (!vt->name || !vt->schemes || !vt->normalize)
		return fail(ret_error, -EPROTO, name, "the vtable leaves a MUST member NULL (%s)",
			    !vt->name ? "name" : !vt->schemes ? "schemes" : "normalize");
	if (strcmp(vt->name, name) != 0)
		return fail(ret_error, -EPROTO, name, "the plugin calls itself '%.32s', not '%s'", vt->name, name);
	for (; vt->schemes[n]; n++) {
		if (n == PLUGIN_MAX_SCHEMES || !is_name(vt->schemes[n], 32))
			return fail(ret_error, -EPROTO, name, "scheme %zu is not a lower-case URI scheme (or too many)",
				    n);
	}
	if (n == 0)
		return fail(ret_error, -EPROTO, name, "the plugin claims no URI scheme");
	return 0;
}

int loader_check(const struct rd_plugin *vt, const char *name, const struct loader_abi *abi, struct rd_plugin *ret,
		 char **ret_error)
{
	struct rd_plugin copy;

	if (vt->abi_major != abi->major || vt->abi_minor > abi->minor)
		return fail(ret_error, -EPROTO, name, "built for plugin ABI %u.%u, this daemon speaks %u.%u",
			    vt->abi_major, vt->abi_minor, abi->major, abi->minor);
	if (vt->size < abi->min_size)
		return fail(ret_error, -EPROTO, name,
			    "its vtable is %u bytes, shorter than the %u of plugin ABI %u.0 (ABI %u.%u)", vt->size,
			    abi->min_size, abi->major, vt->abi_major, vt->abi_minor);
	/* Members past the plugin's size were appended after it was built: they stay NULL. */
	memset(&copy, 0, sizeof(copy));
	memcpy(&copy, vt, vt->size < sizeof(copy) ? vt->size : sizeof(copy));
	int rc = check_members(&copy, name, ret_error);
	if (rc < 0)
		return rc;
	*ret = copy;
	return 0;
}

/** The build-tree candidate: "<dir of /proc/self/exe>/../plugins/NAME/rd_NAME.so". @return owned, or NULL. */
static char *build_tree_path(const char *name)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash, *path;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	if (asprintf(&path, "%s/../plugins/%s/rd_%s.so", exe, name, name) < 0)
		return NULL;
	return path;
}

/** Pick the file to load. @return 0 and an owned *ret_path, -ENOENT (*ret_error set), -ENOMEM. */
static int find_file(const char *name, const char *path, char **ret_path, char **ret_error)
{
	char *tree, *installed;

	if (path) {
		if (access(path, R_OK) != 0)
			return fail(ret_error, -ENOENT, name, "%s: %s", path, strerror(errno));
		*ret_path = strdup(path);
		return *ret_path ? 0 : -ENOMEM;
	}
	tree = build_tree_path(name);
	if (tree && access(tree, R_OK) == 0) {
		*ret_path = tree;
		return 0;
	}
	if (asprintf(&installed, "%s/rd_%s.so", RESOLVERD_PLUGIN_DIR, name) < 0) {
		free(tree);
		return -ENOMEM;
	}
	if (access(installed, R_OK) == 0) {
		free(tree);
		*ret_path = installed;
		return 0;
	}
	fail(ret_error, -ENOENT, name, "rd_%s.so not found (looked for %s and %s)", name, tree ? tree : "(no exe)",
	     installed);
	free(tree);
	free(installed);
	return -ENOENT;
}

/** The uri_normalize_fn of every plugin scheme: the plugin's normalize(), its struct rd_name made uri_parts. */
static int adapt_normalize(const char *in, struct uri_parts *ret, const char **ret_reason, void *ud)
{
	const struct loaded_plugin *p = ud;
	struct rd_name n;
	struct uri_parts parts = {0};
	const char *reason = NULL;
	int rc;

	memset(&n, 0, sizeof(n));
	rc = p->vt.normalize(p->state, in, &n, &reason);
	if (rc == -ENAMETOOLONG) {
		*ret_reason = "the URI is too long once normalized";
		return -EINVAL;
	}
	if (rc < 0) {
		*ret_reason = reason ? reason : "not a valid URI of this scheme";
		return rc == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	/* Never trust the plugin to terminate its buffers. */
	n.name[RD_NAME_MAX] = n.host[RD_HOST_MAX] = n.instance[RD_INSTANCE_MAX] = '\0';
	if (n.name[0] == '\0') {
		*ret_reason = "the plugin normalized the URI to nothing";
		return -EINVAL;
	}
	parts.uri = strdup(n.name);
	parts.host = n.host[0] ? strdup(n.host) : NULL;
	parts.instance = n.instance[0] ? strdup(n.instance) : NULL;
	if (!parts.uri || (n.host[0] && !parts.host) || (n.instance[0] && !parts.instance)) {
		uri_parts_deinit(&parts);
		return -ENOMEM;
	}
	*ret = parts;
	return 0;
}

/** Register a normalizer for each scheme of @p p. @return 0, -ENOMEM, -EEXIST. */
static int register_schemes(struct loaded_plugin *p, char **ret_error)
{
	size_t n = 0;

	while (p->vt.schemes[n])
		n++;
	p->norms = calloc(n, sizeof(*p->norms));
	if (!p->norms)
		return -ENOMEM;
	p->n_norms = n;
	for (size_t i = 0; i < n; i++) {
		p->norms[i] = (struct uri_normalizer){.scheme = p->vt.schemes[i], .normalize = adapt_normalize, .ud = p};
		if (uri_register_normalizer(&p->norms[i]) < 0)
			return fail(ret_error, -EEXIST, p->vt.name, "too many URI schemes registered");
	}
	return 0;
}

/** dlopen @p path and fetch the vtable. @return 0, -ENOEXEC (*ret_error set). */
static int open_file(const char *name, const char *path, void **ret_dl, const struct rd_plugin **ret_vt,
		     char **ret_error)
{
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	rd_plugin_entry_fn entry;
	const struct rd_plugin *vt;

	if (!dl)
		return fail(ret_error, -ENOEXEC, name, "%s", dlerror());
	/* The POSIX idiom: ISO C has no conversion from void * to a function pointer. */
	*(void **)&entry = dlsym(dl, RD_PLUGIN_ENTRY);
	if (!entry) {
		dlclose(dl);
		return fail(ret_error, -ENOEXEC, name, "%s exports no %s()", path, RD_PLUGIN_ENTRY);
	}
	vt = entry();
	if (!vt) {
		dlclose(dl);
		return fail(ret_error, -ENOEXEC, name, "%s() returned no vtable", RD_PLUGIN_ENTRY);
	}
	*ret_dl = dl;
	*ret_vt = vt;
	return 0;
}

int plugin_load_abi(const char *name, const char *path, const struct loader_abi *abi, struct loaded_plugin **ret,
		    char **ret_error)
{
	struct loaded_plugin *p;
	const struct rd_plugin *vt = NULL;
	int rc;

	if (!is_name(name, PLUGIN_NAME_MAX))
		return fail(ret_error, -EINVAL, "?", "'%.40s' is not a plugin name", name);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	rc = find_file(name, path, &p->path, ret_error);
	if (rc < 0)
		goto out_free;
	rc = open_file(name, p->path, &p->dl, &vt, ret_error);
	if (rc < 0)
		goto out_free;
	rc = loader_check(vt, name, abi, &p->vt, ret_error);
	if (rc == 0)
		rc = register_schemes(p, ret_error);
	if (rc < 0)
		goto out_unregister;
	*ret = p;
	return 0;
out_unregister:
	/* Registered entries point into p: the registry must forget them before p goes. */
	if (p->n_norms)
		uri_clear_normalizers();
	dlclose(p->dl);
out_free:
	free(p->norms);
	free(p->path);
	free(p);
	return rc;
}

int plugin_load(const char *name, const char *path, struct loaded_plugin **ret, char **ret_error)
{
	return plugin_load_abi(name, path, &loader_abi_current, ret, ret_error);
}

void plugin_unload(struct loaded_plugin *p)
{
	if (!p)
		return;
	if (p->dl)
		dlclose(p->dl);
	free(p->norms);
	free(p->path);
	free(p);
}

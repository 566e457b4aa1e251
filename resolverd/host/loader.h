/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Loading a plugin: dlopen, the ABI check, and the registration of its URI normalizers. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "resolverd/core/uri.h"
#include "resolverd/plugin.h"

/** One loaded plugin. Owned by whoever called plugin_load(); freed by plugin_unload(). */
struct loaded_plugin {
	struct rd_plugin vt;          /**< the vtable: the plugin's first vt.size bytes, the rest zero (NULL) */
	void *dl;                     /**< owned dlopen() handle */
	char *path;                   /**< owned: the file that was loaded */
	struct uri_normalizer *norms; /**< owned: one per scheme, registered with uri_register_normalizer() */
	size_t n_norms;
	void *state;                  /**< init()'s state for normalize(); NULL before init. Set before threads start. */
};

/** The ABI a loader accepts: the daemon's own version, and the size of the minor-0 vtable. */
struct loader_abi {
	uint16_t major;    /**< only this major is accepted */
	uint16_t minor;    /**< a plugin with a newer minor is refused */
	uint32_t min_size; /**< the size of struct rd_plugin in minor 0: anything shorter is refused */
};

/** This daemon's ABI: RD_PLUGIN_ABI_MAJOR.RD_PLUGIN_ABI_MINOR, minor 0 ends with ->fallback. */
extern const struct loader_abi loader_abi_current;

/**
 * Find, dlopen (RTLD_NOW | RTLD_LOCAL) and check the plugin @p name, then
 * register its normalizer for each of its schemes (replacing an earlier one).
 * Start-up only: the normalizer registry is not locked.
 * @param name the plugins.<name> section; the vtable's name must equal it.
 * @param path the file to load, or NULL to search, in order,
 *        "<dir of /proc/self/exe>/../plugins/<name>/rd_<name>.so" (the build
 *        tree) and "RESOLVERD_PLUGIN_DIR/rd_<name>.so" (the install dir).
 * @param[out] ret the loaded plugin, owned by the caller.
 * @param[out] ret_error on failure, an owned one-line message starting "plugin NAME: ".
 * @return 0, -ENOENT (no file found, or @p path does not exist), -ENOEXEC
 *         (not a plugin: dlopen failed or no entry symbol), -EPROTO (ABI
 *         mismatch or a MUST member missing), -EEXIST (normalizer registry
 *         full), -ENOMEM.
 */
int plugin_load(const char *name, const char *path, struct loaded_plugin **ret, char **ret_error);

/** plugin_load() against @p abi instead of loader_abi_current (for tests that pretend to be another daemon). */
int plugin_load_abi(const char *name, const char *path, const struct loader_abi *abi, struct loaded_plugin **ret,
		    char **ret_error);

/**
 * Check the vtable @p vt of plugin @p name against @p abi and copy it into
 * the zeroed @p ret (only vt->size bytes are read). Pure.
 * @return 0, -EPROTO (*ret_error set, naming both versions on a mismatch), -ENOMEM.
 */
int loader_check(const struct rd_plugin *vt, const char *name, const struct loader_abi *abi, struct rd_plugin *ret,
		 char **ret_error);

/**
 * dlclose @p p and free it. Its normalizers must already be out of the
 * registry (uri_clear_normalizers()) and no thread may still call them.
 * NULL is a no-op.
 */
void plugin_unload(struct loaded_plugin *p);

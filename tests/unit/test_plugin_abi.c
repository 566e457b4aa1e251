/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for host/loader.c: the plugin ABI checks, against mock plugins built with broken vtables. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/core/uri.h"
#include "resolverd/host/loader.h"

/** The path of mock variant @p variant (tests/unit/meson.build builds them into MOCK_PLUGIN_DIR). */
static char *mock_path(const char *variant)
{
	const char *dir = getenv("MOCK_PLUGIN_DIR");
	char *path;

	cr_assert_not_null(dir, "MOCK_PLUGIN_DIR is not set (run through meson test)");
	cr_assert_geq(asprintf(&path, "%s/rd_%s.so", dir, variant), 0);
	return path;
}

/** Load @p variant as plugin @p name against @p abi; @return the loader's code, the message in *ret_error. */
static int load_variant(const char *variant, const char *name, const struct loader_abi *abi,
			struct loaded_plugin **ret, char **ret_error)
{
	char *path = mock_path(variant);
	int rc = plugin_load_abi(name, path, abi, ret, ret_error);

	free(path);
	return rc;
}

static void unload(struct loaded_plugin *p)
{
	uri_clear_normalizers();
	plugin_unload(p);
}

Test(plugin_abi, good_plugin_loads_and_registers_its_normalizer)
{
	struct loaded_plugin *p = NULL;
	struct uri_parts a = {0}, b = {0};
	const char *reason = NULL;
	char *err = NULL;

	cr_assert_eq(load_variant("mock", "mock", &loader_abi_current, &p, &err), 0, "%s", err ? err : "");
	cr_assert_null(err);
	cr_assert_str_eq(p->vt.name, "mock");
	cr_assert_not_null(p->vt.fallback);
	cr_assert_not_null(p->vt.init);
	cr_assert_eq(p->n_norms, 1);
	/* Two spellings, one name: the plugin's rules, not RFC 3986's (which keep "+x" in the user part). */
	cr_assert_eq(uri_normalize("MOCK:Alice+x@EXAMPLE.org", &a, &reason), 0, "%s", reason);
	cr_assert_eq(uri_normalize("mock:alice@example.org", &b, &reason), 0, "%s", reason);
	cr_assert_str_eq(a.uri, "mock:alice@example.org");
	cr_assert_str_eq(a.uri, b.uri);
	cr_assert_str_eq(a.host, "example.org");
	cr_assert_null(a.instance, "an empty instance is NULL");
	uri_parts_deinit(&a);
	uri_parts_deinit(&b);
	cr_assert_eq(uri_normalize("mock:nobody", &a, &reason), -EINVAL);
	cr_assert_str_eq(reason, "a mock URI is mock:user@host");
	unload(p);
	/* Unloaded: the generic rules are back. */
	cr_assert_eq(uri_normalize("mock:Alice+x@EXAMPLE.org", &a, &reason), 0);
	cr_assert_str_neq(a.uri, "mock:alice@example.org");
	uri_parts_deinit(&a);
}

Test(plugin_abi, another_major_is_refused_naming_both_versions)
{
	struct loaded_plugin *p = NULL;
	char *err = NULL;

	cr_assert_eq(load_variant("mock_major2", "mock", &loader_abi_current, &p, &err), -EPROTO);
	cr_assert_null(p);
	cr_assert_not_null(err);
	cr_assert_str_eq(err, "plugin mock: built for plugin ABI 2.0, this daemon speaks 1.0");
	free(err);
}

Test(plugin_abi, newer_minor_is_refused_naming_both_versions)
{
	struct loaded_plugin *p = NULL;
	char expected[128];
	char *err = NULL;

	snprintf(expected, sizeof(expected), "plugin mock: built for plugin ABI %d.%d, this daemon speaks %d.%d",
		 RD_PLUGIN_ABI_MAJOR, RD_PLUGIN_ABI_MINOR + 1, RD_PLUGIN_ABI_MAJOR, RD_PLUGIN_ABI_MINOR);
	cr_assert_eq(load_variant("mock_newer", "mock", &loader_abi_current, &p, &err), -EPROTO);
	cr_assert_null(p);
	cr_assert_str_eq(err, expected);
	free(err);
}

Test(plugin_abi, older_minor_with_a_shorter_vtable_reads_new_members_as_null)
{
	/* Pretend to be a daemon of minor 1, whose minor-0 vtable ended before ->fallback. */
	const struct loader_abi minor1 = {
		.major = RD_PLUGIN_ABI_MAJOR, .minor = 1, .min_size = offsetof(struct rd_plugin, fallback),
	};
	struct loaded_plugin *p = NULL;
	struct uri_parts parts = {0};
	const char *reason = NULL;
	char *err = NULL;

	cr_assert_eq(load_variant("mock_short", "mock", &minor1, &p, &err), 0, "%s", err ? err : "");
	cr_assert_eq(p->vt.abi_minor, 0);
	cr_assert_eq(p->vt.size, offsetof(struct rd_plugin, fallback));
	cr_assert_not_null(p->vt.init, "members inside its size are kept");
	cr_assert_not_null(p->vt.deinit);
	cr_assert_null(p->vt.fallback, "a member appended after its minor reads as NULL");
	cr_assert_eq(uri_normalize("mock:Bob+1@x.example", &parts, &reason), 0, "%s", reason);
	cr_assert_str_eq(parts.uri, "mock:bob@x.example");
	uri_parts_deinit(&parts);
	unload(p);
}

Test(plugin_abi, vtable_shorter_than_minor_zero_is_refused)
{
	struct loaded_plugin *p = NULL;
	char *err = NULL;

	/* Against this daemon, minor 0 includes ->fallback: the short vtable is too short. */
	cr_assert_eq(load_variant("mock_short", "mock", &loader_abi_current, &p, &err), -EPROTO);
	cr_assert_null(p);
	cr_assert(strstr(err, "shorter than") && strstr(err, "(ABI 1.0)"), "%s", err);
	free(err);
}

Test(plugin_abi, missing_must_member_is_refused)
{
	struct loaded_plugin *p = NULL;
	char *err = NULL;

	cr_assert_eq(load_variant("mock_nomust", "mock", &loader_abi_current, &p, &err), -EPROTO);
	cr_assert_null(p);
	cr_assert_str_eq(err, "plugin mock: the vtable leaves a MUST member NULL (normalize)");
	free(err);
}

Test(plugin_abi, library_without_entry_point_is_refused)
{
	struct loaded_plugin *p = NULL;
	char *err = NULL;

	cr_assert_eq(load_variant("mock_noentry", "mock", &loader_abi_current, &p, &err), -ENOEXEC);
	cr_assert_null(p);
	cr_assert(strstr(err, "exports no rd_plugin_entry()"), "%s", err);
	free(err);
}

Test(plugin_abi, name_must_match_the_section)
{
	struct loaded_plugin *p = NULL;
	char *err = NULL;

	cr_assert_eq(load_variant("mock_misnamed", "mock", &loader_abi_current, &p, &err), -EPROTO);
	cr_assert_str_eq(err, "plugin mock: the plugin calls itself 'other', not 'mock'");
	free(err);
	/* The same file loads under the name it claims. */
	err = NULL;
	cr_assert_eq(load_variant("mock_misnamed", "other", &loader_abi_current, &p, &err), 0, "%s", err ? err : "");
	unload(p);
}

Test(plugin_abi, missing_files_are_enoent)
{
	struct loaded_plugin *p = NULL;
	char *err = NULL;

	cr_assert_eq(plugin_load("mock", "/nonexistent/rd_mock.so", &p, &err), -ENOENT);
	cr_assert(strstr(err, "/nonexistent/rd_mock.so"), "%s", err);
	free(err);
	err = NULL;
	/* The search: the build tree beside the executable, then the install dir. */
	cr_assert_eq(plugin_load("nosuch", NULL, &p, &err), -ENOENT);
	cr_assert(strstr(err, "/../plugins/nosuch/rd_nosuch.so"), "%s", err);
	cr_assert(strstr(err, "/resolverd/rd_nosuch.so"), "%s", err);
	free(err);
	err = NULL;
	cr_assert_eq(plugin_load("Bad-Name", NULL, &p, &err), -EINVAL);
	free(err);
}

Test(plugin_abi, loader_check_reads_only_the_declared_size)
{
	struct rd_plugin vt = {0}, out;
	static const char *const sch[] = {"x", NULL};
	char *err = NULL;

	vt = (struct rd_plugin){.abi_major = RD_PLUGIN_ABI_MAJOR, .abi_minor = 0, .size = sizeof(vt), .name = "x",
				.schemes = sch, .normalize = NULL};
	cr_assert_eq(loader_check(&vt, "x", &loader_abi_current, &out, &err), -EPROTO);
	cr_assert(strstr(err, "(normalize)"), "%s", err);
	free(err);
	err = NULL;
	vt.size = 8;
	cr_assert_eq(loader_check(&vt, "x", &loader_abi_current, &out, &err), -EPROTO);
	cr_assert(strstr(err, "vtable is 8 bytes"), "%s", err);
	free(err);
	err = NULL;
	static const char *const upper[] = {"SIP", NULL};
	vt.size = sizeof(vt);
	vt.schemes = upper;
	vt.normalize = (int (*)(void *, const char *, struct rd_name *, const char **))1;
	cr_assert_eq(loader_check(&vt, "x", &loader_abi_current, &out, &err), -EPROTO, "schemes are lower-case");
	free(err);
}

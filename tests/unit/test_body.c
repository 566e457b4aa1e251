/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for resolverd/http/body.c: the checks of POST /v1/bindings bodies, without HTTP. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "resolverd/http/body.h"

#define DEFAULT_EXPIRES 3600
#define MAX_EXPIRES 86400

/** The outcome of one body_parse_binding() call. */
struct outcome {
	int rc;
	struct binding_body b;  /**< valid when rc is 0 */
	char *field;            /**< owned, when rc < 0 */
	char why[BODY_WHY_CAP]; /**< when rc < 0 */
};

static struct outcome parse(const char *json, size_t len)
{
	struct outcome o = {0};
	o.rc = body_parse_binding(json, len, DEFAULT_EXPIRES, MAX_EXPIRES, &o.b, &o.field, o.why, sizeof(o.why));
	return o;
}

static void outcome_deinit(struct outcome *o)
{
	if (o->rc == 0)
		body_binding_deinit(&o->b);
	free(o->field);
}

/** A refusal, with @p why as the detail and @p field as the member at fault (NULL for none). */
static void expect_refusal(const char *json, int rc, const char *why, const char *field)
{
	struct outcome o = parse(json, strlen(json));

	cr_assert_eq(o.rc, rc, "%s: rc %d", json, o.rc);
	cr_assert_str_eq(o.why, why, "%s", json);
	if (field)
		cr_assert_str_eq(o.field, field, "%s", json);
	else
		cr_assert_null(o.field, "%s", json);
	outcome_deinit(&o);
}

/** The detail must be a JSON string, or api.c cannot build the problem response. */
static void expect_utf8(const char *why)
{
	json_t *s = json_string(why);

	cr_assert_not_null(s, "the detail is not UTF-8: %s", why);
	json_decref(s);
}

Test(body, minimal_binding_gets_the_defaults)
{
	static const char json[] = "{\"uri\":\"SIP:Alice@Example.COM:5060\",\"contact\":\"sip:a@192.0.2.1\"}";
	struct outcome o = parse(json, strlen(json));

	cr_assert_eq(o.rc, 0, "%s", o.why);
	cr_assert_str_eq(o.b.parts.uri, "sip:Alice@example.com");
	cr_assert_str_eq(o.b.parts.host, "example.com");
	cr_assert_str_eq(o.b.contact, "sip:a@192.0.2.1");
	/* "c-" and the first 8 bytes of SHA-256("sip:a@192.0.2.1") */
	char *expected = body_default_instance("c", "sip:a@192.0.2.1");
	cr_assert_str_eq(o.b.instance, expected);
	cr_assert_eq(strlen(o.b.instance), 2 + 16);
	free(expected);
	cr_assert_eq(o.b.q, 1000);
	cr_assert_eq(o.b.expires, DEFAULT_EXPIRES);
	outcome_deinit(&o);
}

Test(body, every_member)
{
	static const char json[] =
		"{\"uri\":\"tel:+15551234\",\"contact\":\"https://p.example/a\",\"expires\":86400,\"q\":0.25,"
		"\"instance\":\"phone-1\"}";
	struct outcome o = parse(json, strlen(json));

	cr_assert_eq(o.rc, 0, "%s", o.why);
	cr_assert_str_eq(o.b.parts.uri, "tel:+15551234");
	cr_assert_null(o.b.parts.host);
	cr_assert_str_eq(o.b.instance, "phone-1");
	cr_assert_eq(o.b.q, 250);
	cr_assert_eq(o.b.expires, 86400);
	outcome_deinit(&o);
}

Test(body, refusals)
{
	expect_refusal("[1, 2]", -EBADMSG, "the body is not a JSON object", NULL);
	expect_refusal("{\"uri\":\"sip:a@b\",\"color\":1}", -EINVAL, "unknown member 'color'", "color");
	expect_refusal("{\"uri\":5}", -EINVAL, "uri: must be a string", "uri");
	expect_refusal("{\"contact\":\"sip:x@y\"}", -EINVAL, "uri: required", "uri");
	expect_refusal("{\"uri\":\"\"}", -EINVAL, "uri: required", "uri");
	expect_refusal("{\"uri\":\"nocolon\"}", -EINVAL, "uri: missing scheme", "uri");
	expect_refusal("{\"uri\":\"sip:a@b\"}", -EINVAL, "contact: required", "contact");
	expect_refusal("{\"uri\":\"sip:a@b\",\"contact\":\"no-colon\"}", -EINVAL,
		       "contact: a URL (scheme:...) of printable ASCII, at most 512 bytes", "contact");
	expect_refusal("{\"uri\":\"sip:a@b\",\"contact\":\"sip:x@y\",\"instance\":\"a b\"}", -EINVAL,
		       "instance: 1 to 128 printable characters", "instance");
	expect_refusal("{\"uri\":\"sip:a@b\",\"contact\":\"sip:x@y\",\"expires\":0}", -EINVAL,
		       "expires: an integer number of seconds from 1 to publish.max_expires", "expires");
	expect_refusal("{\"uri\":\"sip:a@b\",\"contact\":\"sip:x@y\",\"expires\":86401}", -EINVAL,
		       "expires: an integer number of seconds from 1 to publish.max_expires", "expires");
	expect_refusal("{\"uri\":\"sip:a@b\",\"contact\":\"sip:x@y\",\"q\":1.5}", -EINVAL, "q: a number from 0 to 1",
		       "q");
}

/* jansson says why a body does not parse; its words are its own. */
Test(body, unparsable_bodies_say_why)
{
	static const char *const bodies[] = {"{bad", "{\"a\":1,\"a\":2}", "{\"uri\":\"\\u0000\"}", ""};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct outcome o = parse(bodies[i], strlen(bodies[i]));

		cr_assert_eq(o.rc, -EBADMSG, "%s", bodies[i]);
		cr_assert_eq(strncmp(o.why, "the body is not a JSON object: ", 31), 0, "%s: %s", bodies[i], o.why);
		cr_assert_null(o.field);
	}
}

Test(body, no_body)
{
	struct outcome o = parse(NULL, 0);

	cr_assert_eq(o.rc, -EBADMSG);
	cr_assert_str_eq(o.why, "the body is not a JSON object");
	cr_assert_null(o.field);
}

/*
 * Found by tests/fuzz/fuzz_json_binding (tests/fuzz/regressions/json_binding/): jansson's error
 * text quotes the input up to a bad escape, here the first byte of a UTF-8 sequence. The detail was
 * not UTF-8, problem_new() failed, and the daemon closed the connection without an answer.
 */
Test(body, jansson_error_quoting_a_partial_sequence_is_utf8)
{
	static const char json[] = "{\"uri\":\"sins\\u006\xdb\xbf\x99\x87\x9a\x9d" "2\xce\xcfu=ri";
	struct outcome o = parse(json, sizeof(json) - 1);

	cr_assert_eq(o.rc, -EBADMSG);
	cr_assert_eq(strncmp(o.why, "the body is not a JSON object: ", 31), 0, "%s", o.why);
	expect_utf8(o.why);
	outcome_deinit(&o);
}

/* The same with an unknown member cut at 100 bytes inside a two-byte character. */
Test(body, unknown_member_cut_inside_a_character_is_utf8)
{
	char key[1 + 60 * 2 + 1] = "a", json[sizeof(key) + 16];

	for (int i = 0; i < 60; i++)
		memcpy(key + 1 + 2 * i, "\xc3\xa9", 2);
	key[sizeof(key) - 1] = 0;
	snprintf(json, sizeof(json), "{\"%s\": 1}", key);
	struct outcome o = parse(json, strlen(json));

	cr_assert_eq(o.rc, -EINVAL);
	expect_utf8(o.why);
	cr_assert_eq(strncmp(o.why, "unknown member 'a\xc3\xa9", 19), 0, "%s", o.why);
	cr_assert_str_eq(o.field, key, "the field names the whole member");
	outcome_deinit(&o);
}

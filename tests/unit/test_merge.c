/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for resolverd/core/merge.c: the reader rules. */
#include <criterion/criterion.h>

#include <string.h>

#include "resolverd/core/merge.h"

#define NOW 1000
#define MAX_RECS 16

/** A hand-built record: merge reads fields only, so nothing is signed. */
static struct record rec(uint8_t publisher, const char *instance, uint64_t seq, uint16_t q,
			 uint64_t expires, const char *wire)
{
	struct record r = {
		.kind = RECORD_BINDING,
		.q = q,
		.seq = seq,
		.expires = expires,
		.uri = "sip:alice@example.com",
		.contact = "https://d.example/",
		.instance = instance,
		.wire = (const uint8_t *)wire,
		.wire_len = strlen(wire),
	};

	memset(r.publisher, publisher, KEYS_PUB_LEN);
	return r;
}

static struct record tomb(uint8_t publisher, const char *instance, uint64_t seq, uint64_t expires)
{
	struct record r = rec(publisher, instance, seq, 0, expires, "tomb");

	r.tombstone = true;
	r.contact = "";
	return r;
}

/** Run merge_bindings over @p recs (in the given order). @return the count; @p out filled. */
static size_t run(const struct record *recs, size_t n, size_t limit, const struct record **out)
{
	const struct record *in[MAX_RECS];

	cr_assert_leq(n, MAX_RECS);
	for (size_t i = 0; i < n; i++)
		in[i] = &recs[i];
	return merge_bindings(in, n, NOW, limit, out);
}

Test(merge, empty)
{
	const struct record *out[1] = {NULL};

	cr_assert_eq(merge_bindings(NULL, 0, NOW, 10, out), 0);
	cr_assert_null(out[0]);
}

Test(merge, expired_records_are_dropped)
{
	const struct record recs[] = {
		rec(1, "a", 1, 500, NOW, "a"),
		rec(1, "b", 1, 500, NOW - 1, "b"),
		rec(1, "c", 1, 500, NOW + 1, "c"),
		rec(1, "d", 1, 500, 0, "d"),
	};
	const struct record *out[4];

	cr_assert_eq(run(recs, 4, 10, out), 1);
	cr_assert_str_eq(out[0]->instance, "c", "expires <= now is expired");
}

Test(merge, highest_seq_wins_per_device)
{
	const struct record recs[] = {
		rec(1, "a", 3, 100, NOW + 10, "a3"),
		rec(1, "a", 9, 200, NOW + 10, "a9"),
		rec(1, "a", 5, 300, NOW + 10, "a5"),
	};
	const struct record *out[3];

	cr_assert_eq(run(recs, 3, 10, out), 1);
	cr_assert_eq(out[0], &recs[1]);
	cr_assert_eq(out[0]->seq, 9);
}

Test(merge, seq_tie_goes_to_the_larger_wire_image_in_any_order)
{
	struct record recs[] = {
		rec(1, "a", 4, 100, NOW + 10, "abc"),
		rec(1, "a", 4, 200, NOW + 10, "abd"),
		rec(1, "a", 4, 300, NOW + 10, "ab"),
		rec(1, "a", 4, 400, NOW + 10, "abcd"),
	};
	const struct record *out[4];
	const struct record *in[4];
	static const size_t orders[][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1}};

	for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		for (size_t i = 0; i < 4; i++)
			in[i] = &recs[orders[o][i]];
		cr_assert_eq(merge_bindings(in, 4, NOW, 10, out), 1);
		cr_assert_eq(out[0], &recs[1], "order %zu: \"abd\" is the largest image", o);
	}
}

Test(merge, tombstone_removes_the_device)
{
	const struct record recs[] = {
		rec(1, "a", 1, 500, NOW + 10, "a1"),
		tomb(1, "a", 2, NOW + 10),
		rec(1, "b", 1, 500, NOW + 10, "b1"),
	};
	const struct record *out[3];

	cr_assert_eq(run(recs, 3, 10, out), 1);
	cr_assert_str_eq(out[0]->instance, "b");
}

Test(merge, newer_binding_beats_an_older_tombstone)
{
	const struct record recs[] = {
		tomb(1, "a", 2, NOW + 10),
		rec(1, "a", 3, 500, NOW + 10, "a3"),
	};
	const struct record *out[2];

	cr_assert_eq(run(recs, 2, 10, out), 1);
	cr_assert_eq(out[0], &recs[1]);
}

Test(merge, expired_tombstone_still_hides_older_bindings)
{
	const struct record recs[] = {
		rec(1, "a", 1, 500, NOW + 10, "a1"),
		tomb(1, "a", 2, NOW),
		rec(1, "b", 1, 500, NOW + 10, "b1"),
	};
	const struct record *out[3];

	cr_assert_eq(run(recs, 3, 10, out), 1, "the newest record decides, even once expired");
	cr_assert_eq(out[0], &recs[2]);
}

Test(merge, expired_newer_binding_hides_an_older_live_one)
{
	const struct record recs[] = {
		rec(1, "a", 2, 500, NOW - 1, "a2"),
		rec(1, "a", 1, 500, NOW + 3600, "a1"),
	};
	const struct record *out[2];

	cr_assert_eq(run(recs, 2, 10, out), 0, "a re-registration with a shorter lifetime ends the device");
}

Test(merge, same_instance_of_other_publisher_is_independent)
{
	const struct record recs[] = {
		rec(1, "phone", 1, 500, NOW + 10, "p1"),
		rec(2, "phone", 7, 400, NOW + 10, "p2"),
		tomb(2, "phone", 1, NOW + 10),
		tomb(3, "phone", 9, NOW + 10),
	};
	const struct record *out[4];

	cr_assert_eq(run(recs, 4, 10, out), 2);
	cr_assert_eq(out[0], &recs[0]);
	cr_assert_eq(out[1], &recs[1], "publisher 2's seq 7 binding beats its own seq 1 tombstone");
}

Test(merge, ordering)
{
	const struct record recs[] = {
		rec(1, "low", 1, 100, NOW + 10, "1"),
		rec(1, "high", 1, 900, NOW + 10, "2"),
		rec(1, "mid-later", 1, 500, NOW + 50, "3"),
		rec(1, "mid-sooner", 1, 500, NOW + 20, "4"),
		rec(2, "tie-b", 1, 300, NOW + 10, "5"),
		rec(1, "tie-a", 1, 300, NOW + 10, "6"),
		rec(3, "same", 1, 200, NOW + 10, "7"),
		rec(2, "same", 1, 200, NOW + 10, "8"),
	};
	static const int expected[] = {1, 2, 3, 5, 4, 7, 6, 0};
	const struct record *out[8];

	cr_assert_eq(run(recs, 8, 10, out), 8);
	for (size_t i = 0; i < 8; i++)
		cr_assert_eq(out[i], &recs[expected[i]], "position %zu is '%s'", i, out[i]->instance);
}

Test(merge, limit)
{
	const struct record recs[] = {
		rec(1, "a", 1, 100, NOW + 10, "a"),
		rec(1, "b", 1, 900, NOW + 10, "b"),
		rec(1, "c", 1, 500, NOW + 10, "c"),
	};
	const struct record *out[3];

	cr_assert_eq(run(recs, 3, 2, out), 2);
	cr_assert_str_eq(out[0]->instance, "b");
	cr_assert_str_eq(out[1]->instance, "c");
	cr_assert_eq(run(recs, 3, 0, out), 0);
	cr_assert_eq(run(recs, 3, 3, out), 3);
}

Test(merge, input_is_not_modified)
{
	const struct record recs[] = {
		rec(1, "a", 1, 100, NOW + 10, "a"),
		rec(1, "b", 1, 900, NOW + 10, "b"),
		rec(1, "a", 2, 500, NOW + 10, "a2"),
	};
	const struct record *in[3] = {&recs[0], &recs[1], &recs[2]};
	const struct record *out[3];

	cr_assert_eq(merge_bindings(in, 3, NOW, 10, out), 2);
	cr_assert_eq(in[0], &recs[0]);
	cr_assert_eq(in[1], &recs[1]);
	cr_assert_eq(in[2], &recs[2]);
	cr_assert_eq(out[0], &recs[1]);
	cr_assert_eq(out[1], &recs[2]);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Percent-escapes for the scheme plugins' normalizers: header-only, since plugins link nothing of the daemon. */
#pragma once

/** The value of one hex digit, or -1. */
static inline int esc_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/** Decode the escape "%XY" at @p s within [s, end). @return the byte, or -1 if it is not a valid escape. */
static inline int esc_decode(const char *s, const char *end)
{
	if (end - s < 3)
		return -1;
	int hi = esc_hex_value(s[1]), lo = esc_hex_value(s[2]);
	return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

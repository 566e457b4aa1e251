/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The daemon's one logger: leveled, subsystem-tagged lines on stderr. */
#pragma once

#include <stdarg.h>

/** Severity, most severe first. Values are stable: config and tests use the names. */
enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/** Set the most verbose level that is still printed. Call before other threads start. */
void log_set_level(enum log_level level);

/** The level set by log_set_level() (default LOG_LEVEL_INFO). Any thread. */
enum log_level log_get_level(void);

/**
 * Parse a level name ("error", "warn", "info", "debug").
 * @return 0 and *ret_level set, or -EINVAL.
 */
int log_level_parse(const char *name, enum log_level *ret_level);

/**
 * Print one line "LEVEL [subsys] message" to stderr. Lines from different
 * threads never interleave. Any thread.
 * @param subsys borrowed, short subsystem tag such as "http" or "overlay".
 */
void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** va_list variant of log_msg(). Any thread. */
void log_vmsg(enum log_level level, const char *subsys, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define log_error(subsys, ...) log_msg(LOG_LEVEL_ERROR, subsys, __VA_ARGS__)
#define log_warn(subsys, ...) log_msg(LOG_LEVEL_WARN, subsys, __VA_ARGS__)
#define log_info(subsys, ...) log_msg(LOG_LEVEL_INFO, subsys, __VA_ARGS__)
#define log_debug(subsys, ...)                                            \
	do {                                                                  \
		if (log_get_level() >= LOG_LEVEL_DEBUG)                           \
			log_msg(LOG_LEVEL_DEBUG, subsys, __VA_ARGS__);                \
	} while (0)

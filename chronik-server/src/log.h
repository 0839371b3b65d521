/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chronik-server's logger: one line per message on a file descriptor
 * (stderr by default), "2024-05-01T12:00:00.123Z INFO  [config] text".
 *
 * Thread-safety: chronik_log_write() may be called from any thread at
 * once; each line is formatted on the stack and handed to the kernel in a
 * single write(), so lines never interleave. The level may be changed at
 * run time from any thread (it is atomic).
 */
#ifndef CHRONIK_SERVER_LOG_H
#define CHRONIK_SERVER_LOG_H

#include <stdatomic.h>
#include <stdbool.h>

typedef enum chronik_log_level {
	CHRONIK_LOG_ERROR,
	CHRONIK_LOG_WARN,
	CHRONIK_LOG_INFO,
	CHRONIK_LOG_DEBUG,
	CHRONIK_LOG_TRACE
} chronik_log_level;

/* Longest line written; longer messages are cut and end in "...". */
#define CHRONIK_LOG_LINE_MAX 1024

typedef struct chronik_log {
	int fd;
	atomic_int level; /* messages above this level are dropped */
} chronik_log;

void chronik_log_init(chronik_log *log, int fd, chronik_log_level level);
void chronik_log_set_level(chronik_log *log, chronik_log_level level);
bool chronik_log_enabled(chronik_log *log, chronik_log_level level);

/* "error", "warn", "info", "debug", "trace". */
const char *chronik_log_level_name(chronik_log_level level);
/* 0 or CHRONIK_EARG (unknown name); case-insensitive. */
int chronik_log_level_parse(const char *s, chronik_log_level *out);

/* Format and write one line; `subsystem` is a short tag ("config"). A
 * trailing newline in fmt is not needed (and is dropped). */
void chronik_log_write(chronik_log *log, chronik_log_level level,
		       const char *subsystem, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define chronik_log_error(log, sub, ...) \
	chronik_log_write((log), CHRONIK_LOG_ERROR, (sub), __VA_ARGS__)
#define chronik_log_warn(log, sub, ...) \
	chronik_log_write((log), CHRONIK_LOG_WARN, (sub), __VA_ARGS__)
#define chronik_log_info(log, sub, ...) \
	chronik_log_write((log), CHRONIK_LOG_INFO, (sub), __VA_ARGS__)
#define chronik_log_debug(log, sub, ...) \
	chronik_log_write((log), CHRONIK_LOG_DEBUG, (sub), __VA_ARGS__)
#define chronik_log_trace(log, sub, ...) \
	chronik_log_write((log), CHRONIK_LOG_TRACE, (sub), __VA_ARGS__)

#endif /* CHRONIK_SERVER_LOG_H */

/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "chronik/common.h"

static const char *const level_names[] = {
	"error", "warn", "info", "debug", "trace"
};
/* Fixed-width upper-case tags keep the columns aligned. */
static const char *const level_tags[] = {
	"ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"
};

void chronik_log_init(chronik_log *log, int fd, chronik_log_level level)
{
	log->fd = fd;
	atomic_init(&log->level, (int)level);
}

void chronik_log_set_level(chronik_log *log, chronik_log_level level)
{
	atomic_store_explicit(&log->level, (int)level, memory_order_relaxed);
}

bool chronik_log_enabled(chronik_log *log, chronik_log_level level)
{
	return (int)level <=
	       atomic_load_explicit(&log->level, memory_order_relaxed);
}

const char *chronik_log_level_name(chronik_log_level level)
{
	if ((unsigned)level > CHRONIK_LOG_TRACE)
		return "unknown";
	return level_names[level];
}

int chronik_log_level_parse(const char *s, chronik_log_level *out)
{
	for (int i = 0; i <= CHRONIK_LOG_TRACE; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (chronik_log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = CHRONIK_LOG_WARN;
		return 0;
	}
	return CHRONIK_EARG;
}

void chronik_log_write(chronik_log *log, chronik_log_level level,
		       const char *subsystem, const char *fmt, ...)
{
	char line[CHRONIK_LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	size_t n, cap = sizeof line - 1; /* room for the '\n' */
	int k;
	va_list ap;

	if (!chronik_log_enabled(log, level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(line + n, cap - n, ".%03dZ %s [%s] ",
		     (int)(ts.tv_nsec / 1000000),
		     level_tags[(unsigned)level <= CHRONIK_LOG_TRACE ? level
								     : 0],
		     subsystem ? subsystem : "-");
	n += k > 0 ? (size_t)k : 0;
	if (n >= cap)
		n = cap - 1;
	va_start(ap, fmt);
	k = vsnprintf(line + n, cap - n, fmt, ap);
	va_end(ap);
	if (k > 0 && (size_t)k >= cap - n) {
		n = cap;
		line[n - 3] = line[n - 2] = line[n - 1] = '.';
	} else if (k > 0) {
		n += (size_t)k;
	}
	while (n > 0 && line[n - 1] == '\n')
		n--;
	line[n++] = '\n';
	/* One write() per line: concurrent lines never interleave (pipes
	 * and O_APPEND files keep writes below PIPE_BUF whole). */
	for (;;) {
		ssize_t w = write(log->fd, line, n);
		if (w >= 0 || errno != EINTR)
			break;
	}
}

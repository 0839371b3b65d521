/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by the admin API handlers (loop thread). */
#ifndef CHRONIK_SERVER_ADMIN_UTIL_H
#define CHRONIK_SERVER_ADMIN_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"

/* A protocol string viewing a C string (NULL: a null string). */
static inline chronik_protocol_str admin_str(const char *s)
{
	chronik_protocol_str r = { s, s ? (int32_t)strlen(s) : -1 };
	return r;
}

/* Copy a C string into the request arena; NULL stays NULL (and out of
 * memory gives NULL too). */
static inline const char *admin_dup(chronik_request *req, const char *s)
{
	size_t n;
	char *p;

	if (!s)
		return NULL;
	n = strlen(s);
	p = chronik_protocol_arena_alloc(req->arena, n + 1);
	if (p)
		memcpy(p, s, n + 1);
	return p;
}

/* printf into the request arena. */
static inline chronik_protocol_str admin_fmt(chronik_request *req,
					     const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline chronik_protocol_str admin_fmt(chronik_request *req,
					     const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return admin_str(admin_dup(req, buf));
}

static inline bool admin_str_eq(chronik_protocol_str a,
				chronik_protocol_str b)
{
	return a.len == b.len &&
	       (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

/* Kafka's ConfigResource types. */
enum {
	ADMIN_RESOURCE_TOPIC = 2,
	ADMIN_RESOURCE_BROKER = 4,
	ADMIN_RESOURCE_BROKER_LOGGER = 8
};

/* Kafka's topic-name rules with Kafka's messages (Topic.validate);
 * NULL when the name is legal. */
static inline const char *admin_topic_name_error(chronik_request *req,
						 chronik_protocol_str n)
{
	const char *m;

	if (n.len <= 0)
		return "Topic name is illegal, it can't be empty";
	if (n.len == 1 && n.ptr[0] == '.')
		return "Topic name cannot be \".\" or \"..\"";
	if (n.len == 2 && n.ptr[0] == '.' && n.ptr[1] == '.')
		return "Topic name cannot be \".\" or \"..\"";
	if (n.len > 249) {
		m = admin_fmt(req, "Topic name is illegal, it can't be "
			      "longer than 249 characters, topic name: "
			      "%.*s", (int)n.len, n.ptr).ptr;
		return m ? m : "Topic name is illegal";
	}
	if (!chronik_topic_name_valid(n.ptr, (size_t)n.len)) {
		m = admin_fmt(req, "Topic name \"%.*s\" is illegal, it "
			      "contains a character other than ASCII "
			      "alphanumerics, '.', '_' and '-'",
			      (int)n.len, n.ptr).ptr;
		return m ? m : "Topic name is illegal";
	}
	return NULL;
}

#endif /* CHRONIK_SERVER_ADMIN_UTIL_H */

/* SPDX-License-Identifier: Apache-2.0 */
/* Test support (not part of the library): helpers for the generated
 * randomizer and comparator in gen/testsupport.c, which tests and fuzz
 * targets #include. Random values come from a seeded xorshift generator so
 * a failure can be replayed from its seed. */
#ifndef CHRONIK_PROTOCOL_MSG_TESTSUPPORT_H
#define CHRONIK_PROTOCOL_MSG_TESTSUPPORT_H

#include <stdio.h>
#include <stdlib.h>

typedef struct chronik__ts {
	uint64_t s;
	chronik_protocol_arena *arena;
	const char *diff; /* first differing field of the last compare */
} chronik__ts;

static inline uint64_t chronik__ts_next(chronik__ts *g)
{
	uint64_t x = g->s ? g->s : 0x9e3779b97f4a7c15u;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	g->s = x;
	return x;
}

static inline int chronik__ts_coin(chronik__ts *g)
{
	return (chronik__ts_next(g) >> 33) % 3 == 0;
}

static inline void *chronik__ts_alloc(chronik__ts *g, size_t n)
{
	void *p = chronik_protocol_arena_alloc(g->arena, n);
	if (!p) {
		fprintf(stderr, "testsupport: out of memory\n");
		abort();
	}
	return p;
}

static inline void chronik__ts_fill(chronik__ts *g, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(chronik__ts_next(g) >> 40);
}

static inline void chronik__ts_str(chronik__ts *g, chronik_protocol_str *s,
				   int nullable)
{
	if (nullable && chronik__ts_coin(g)) {
		s->ptr = NULL;
		s->len = -1;
		return;
	}
	int32_t n = (int32_t)(chronik__ts_next(g) % 12);
	char *p = chronik__ts_alloc(g, (size_t)n + 1);
	for (int32_t i = 0; i < n; i++)
		p[i] = (char)('a' + chronik__ts_next(g) % 26);
	s->ptr = p;
	s->len = n;
}

static inline void chronik__ts_bytes(chronik__ts *g, chronik_protocol_bytes *b,
				     int nullable)
{
	if (nullable && chronik__ts_coin(g)) {
		b->ptr = NULL;
		b->len = -1;
		return;
	}
	int32_t n = (int32_t)(chronik__ts_next(g) % 40);
	uint8_t *p = chronik__ts_alloc(g, (size_t)n + 1);
	chronik__ts_fill(g, p, (size_t)n);
	b->ptr = p;
	b->len = n;
}

static inline int32_t chronik__ts_count(chronik__ts *g, int nullable)
{
	if (nullable && chronik__ts_coin(g))
		return -1;
	return (int32_t)(chronik__ts_next(g) % 4);
}

/* Unknown tagged fields: tags far above any Kafka uses, increasing. */
static inline void chronik__ts_unknown(chronik__ts *g,
				       chronik_protocol_tagged_fields *u)
{
	if (!chronik__ts_coin(g))
		return;
	int32_t n = 1 + (int32_t)(chronik__ts_next(g) % 2);
	u->items = chronik__ts_alloc(g, (size_t)n * sizeof *u->items);
	u->count = n;
	uint32_t tag = 1000;
	for (int32_t i = 0; i < n; i++) {
		tag += 1 + (uint32_t)(chronik__ts_next(g) % 300);
		u->items[i].tag = tag;
		chronik__ts_bytes(g, &u->items[i].data, 0);
	}
}

static inline int chronik__ts_str_eq(const chronik_protocol_str *a,
				     const chronik_protocol_str *b)
{
	return a->len == b->len &&
	       (a->len <= 0 || memcmp(a->ptr, b->ptr, (size_t)a->len) == 0);
}

static inline int chronik__ts_bytes_eq(const chronik_protocol_bytes *a,
				       const chronik_protocol_bytes *b)
{
	return a->len == b->len &&
	       (a->len <= 0 || memcmp(a->ptr, b->ptr, (size_t)a->len) == 0);
}

static inline int chronik__ts_tags_cmp(const chronik_protocol_tagged_fields *a,
				       const chronik_protocol_tagged_fields *b)
{
	if (a->count != b->count)
		return 1;
	for (int32_t i = 0; i < a->count; i++)
		if (a->items[i].tag != b->items[i].tag ||
		    !chronik__ts_bytes_eq(&a->items[i].data, &b->items[i].data))
			return 1;
	return 0;
}

/* The comparator reports the first differing field here. */
static const char *chronik__ts_last_diff;

static inline int chronik__ts_diff(const char *field)
{
	if (!chronik__ts_last_diff)
		chronik__ts_last_diff = field;
	return 1;
}

#endif

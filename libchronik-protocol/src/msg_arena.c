/* SPDX-License-Identifier: Apache-2.0 */
/* Bump allocator for decoded messages: chunks grow geometrically, nothing
 * is freed individually, internal allocations are not zeroed (the decoder
 * initialises every struct); reset keeps the largest chunk so a warm arena
 * decodes without calling malloc. */
#include <stdlib.h>

#include "msg_wire.h"

#define ARENA_ALIGN 16
#define ARENA_MIN_CHUNK 4096

struct chunk {
	struct chunk *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	/* data follows, ARENA_ALIGN-aligned */
};

#define CHUNK_HDR ((sizeof(struct chunk) + ARENA_ALIGN - 1) & \
		   ~(size_t)(ARENA_ALIGN - 1))

struct chronik_protocol_arena {
	struct chunk *head; /* current chunk; older ones follow */
	size_t first_size;
};

static struct chunk *chunk_new(size_t size)
{
	if (size > SIZE_MAX - CHUNK_HDR)
		return NULL;
	struct chunk *c = malloc(CHUNK_HDR + size);
	if (!c)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

CHRONIK_PROTOCOL_API int chronik_protocol_arena_new(
	chronik_protocol_arena **out, size_t chunk_size)
{
	if (!out)
		return CHRONIK_EARG;
	chronik_protocol_arena *a = malloc(sizeof *a);
	if (!a)
		return CHRONIK_ENOMEM;
	a->first_size = chunk_size ? chunk_size : ARENA_MIN_CHUNK;
	a->head = chunk_new(a->first_size);
	if (!a->head) {
		free(a);
		return CHRONIK_ENOMEM;
	}
	*out = a;
	return 0;
}

void *chronik__arena_alloc(chronik_protocol_arena *a, size_t size)
{
	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (size == 0)
		size = ARENA_ALIGN;
	struct chunk *c = a->head;
	if (CHRONIK__UNLIKELY(!c || c->size - c->used < size)) {
		size_t want = c ? c->size * 2 : a->first_size;
		if (want < size)
			want = size;
		struct chunk *n = chunk_new(want);
		if (!n)
			return NULL;
		n->next = c;
		a->head = c = n;
	}
	void *p = (char *)c + CHUNK_HDR + c->used;
	c->used += size;
	return p;
}

CHRONIK_PROTOCOL_API void *chronik_protocol_arena_alloc(
	chronik_protocol_arena *a, size_t size)
{
	if (!a)
		return NULL;
	void *p = chronik__arena_alloc(a, size);
	if (p)
		memset(p, 0, size);
	return p;
}

CHRONIK_PROTOCOL_API void chronik_protocol_arena_reset(
	chronik_protocol_arena *a)
{
	if (!a || !a->head)
		return;
	/* The head is the newest and so the largest chunk: keep it. */
	struct chunk *keep = a->head, *c = keep->next;
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	keep->next = NULL;
	keep->used = 0;
}

CHRONIK_PROTOCOL_API void chronik_protocol_arena_free(
	chronik_protocol_arena *a)
{
	if (!a)
		return;
	struct chunk *c = a->head;
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	free(a);
}

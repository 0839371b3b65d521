/* SPDX-License-Identifier: Apache-2.0 */
/* Internal (not installed): bounds-checked readers, size helpers and
 * unchecked writers for the Kafka message codec. The generated code in
 * src/gen/ is written against these; every reader checks the bytes left
 * before touching them and records the failing byte offset, so a decode
 * error can name where it happened. Writers never check: the public encode
 * functions compute and validate the size first, then write into a buffer
 * known to be large enough. */
#ifndef CHRONIK_PROTOCOL_MSG_WIRE_H
#define CHRONIK_PROTOCOL_MSG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "chronik/protocol.h"
#include "varint.h"

#if defined(__GNUC__) || defined(__clang__)
#define CHRONIK__LIKELY(x) __builtin_expect(!!(x), 1)
#define CHRONIK__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define CHRONIK__LIKELY(x) (x)
#define CHRONIK__UNLIKELY(x) (x)
#endif
#if defined(__GNUC__) || defined(__clang__)
#define CHRONIK__UNUSED __attribute__((unused))
#else
#define CHRONIK__UNUSED
#endif

/* Kafka's limit for a string's length, flexible or not. */
#define CHRONIK__STR_MAX 0x7fff

/* Arena allocation used by the decoder (msg_arena.c). */
void *chronik__arena_alloc(chronik_protocol_arena *a, size_t size);

/* ---- reader ---- */

typedef struct chronik__rd {
	const uint8_t *p;
	const uint8_t *end;
	const uint8_t *base;   /* offsets in errors are relative to this */
	chronik_protocol_arena *arena;
	int err;
	size_t err_off;
	const char *err_field; /* innermost field that failed */
	const char *err_what;  /* short static reason */
} chronik__rd;

static inline void chronik__rd_init(chronik__rd *r, chronik_protocol_arena *a,
				    const uint8_t *buf, size_t len)
{
	r->p = buf;
	r->end = buf + len;
	r->base = buf;
	r->arena = a;
	r->err = 0;
	r->err_off = 0;
	r->err_field = NULL;
	r->err_what = NULL;
}

static inline size_t chronik__rd_left(const chronik__rd *r)
{
	return (size_t)(r->end - r->p);
}

/* Records the first failure (at the current position) and returns it. */
static inline int chronik__rd_fail(chronik__rd *r, int code, const char *what)
{
	if (!r->err) {
		r->err = code;
		r->err_off = (size_t)(r->p - r->base);
		r->err_what = what;
	}
	return code;
}

/* Attaches a field name to the current failure; the innermost wins. */
static inline int chronik__rd_field(chronik__rd *r, const char *field)
{
	if (!r->err)
		r->err = CHRONIK_EMALFORMED;
	if (!r->err_field)
		r->err_field = field;
	return r->err;
}

#define CHRONIK__RD(call, fname) \
	do { \
		if (CHRONIK__UNLIKELY((call) != 0)) \
			return chronik__rd_field(r, (fname)); \
	} while (0)

static inline void *chronik__rd_alloc(chronik__rd *r, size_t n, size_t size)
{
	if (n > SIZE_MAX / size) {
		chronik__rd_fail(r, CHRONIK_ETOOBIG, "array too large");
		return NULL;
	}
	if (!r->arena) {
		chronik__rd_fail(r, CHRONIK_EARG, "no arena to decode into");
		return NULL;
	}
	void *m = chronik__arena_alloc(r->arena, n * size);
	if (!m)
		chronik__rd_fail(r, CHRONIK_ENOMEM, "out of memory");
	return m;
}

#define CHRONIK__RD_NEED(r, n, what) \
	do { \
		if (CHRONIK__UNLIKELY(chronik__rd_left(r) < (n))) \
			return chronik__rd_fail((r), CHRONIK_ETRUNCATED, (what)); \
	} while (0)

static inline int chronik__rd_i8(chronik__rd *r, int8_t *v)
{
	CHRONIK__RD_NEED(r, 1, "int8 truncated");
	*v = (int8_t)r->p[0];
	r->p += 1;
	return 0;
}

static inline int chronik__rd_bool(chronik__rd *r, bool *v)
{
	CHRONIK__RD_NEED(r, 1, "boolean truncated");
	/* Kafka reads any non-zero byte as true. */
	*v = r->p[0] != 0;
	r->p += 1;
	return 0;
}

static inline uint16_t chronik__be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t chronik__be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t chronik__be64(const uint8_t *p)
{
	return (uint64_t)chronik__be32(p) << 32 | chronik__be32(p + 4);
}

static inline int chronik__rd_i16(chronik__rd *r, int16_t *v)
{
	CHRONIK__RD_NEED(r, 2, "int16 truncated");
	*v = (int16_t)chronik__be16(r->p);
	r->p += 2;
	return 0;
}

static inline int chronik__rd_u16(chronik__rd *r, uint16_t *v)
{
	CHRONIK__RD_NEED(r, 2, "uint16 truncated");
	*v = chronik__be16(r->p);
	r->p += 2;
	return 0;
}

static inline int chronik__rd_i32(chronik__rd *r, int32_t *v)
{
	CHRONIK__RD_NEED(r, 4, "int32 truncated");
	*v = (int32_t)chronik__be32(r->p);
	r->p += 4;
	return 0;
}

static inline int chronik__rd_u32(chronik__rd *r, uint32_t *v)
{
	CHRONIK__RD_NEED(r, 4, "uint32 truncated");
	*v = chronik__be32(r->p);
	r->p += 4;
	return 0;
}

static inline int chronik__rd_i64(chronik__rd *r, int64_t *v)
{
	CHRONIK__RD_NEED(r, 8, "int64 truncated");
	*v = (int64_t)chronik__be64(r->p);
	r->p += 8;
	return 0;
}

static inline int chronik__rd_f64(chronik__rd *r, double *v)
{
	CHRONIK__RD_NEED(r, 8, "float64 truncated");
	uint64_t u = chronik__be64(r->p);
	memcpy(v, &u, sizeof u);
	r->p += 8;
	return 0;
}

static inline int chronik__rd_uuid(chronik__rd *r, chronik_protocol_uuid *v)
{
	CHRONIK__RD_NEED(r, 16, "uuid truncated");
	memcpy(v->bytes, r->p, 16);
	r->p += 16;
	return 0;
}

static inline int chronik__rd_uvarint(chronik__rd *r, uint32_t *v)
{
	int n = chronik_uvarint32_read(v, r->p, chronik__rd_left(r));
	if (CHRONIK__UNLIKELY(n <= 0))
		return n == 0 ?
		       chronik__rd_fail(r, CHRONIK_ETRUNCATED, "varint truncated") :
		       chronik__rd_fail(r, CHRONIK_EMALFORMED, "bad varint");
	r->p += n;
	return 0;
}

/* Length prefix of a string (int16 or compact uvarint); -1 is null. */
static inline int chronik__rd_str(chronik__rd *r, chronik_protocol_str *s,
				  bool compact, bool nullable)
{
	const uint8_t *start = r->p;
	int32_t len;
	if (compact) {
		uint32_t u;
		if (chronik__rd_uvarint(r, &u))
			return r->err;
		if (u > CHRONIK__STR_MAX + 1) {
			r->p = start;
			return chronik__rd_fail(r, CHRONIK_EMALFORMED,
						"string length out of range");
		}
		len = (int32_t)u - 1;
	} else {
		int16_t l16;
		if (chronik__rd_i16(r, &l16))
			return r->err;
		len = l16;
	}
	if (len < 0) {
		if (len < -1 || !nullable) {
			r->p = start;
			return chronik__rd_fail(r, CHRONIK_EMALFORMED, len < -1 ?
						"negative string length" :
						"null in a non-nullable string");
		}
		s->ptr = NULL;
		s->len = -1;
		return 0;
	}
	if (CHRONIK__UNLIKELY(chronik__rd_left(r) < (size_t)len))
		return chronik__rd_fail(r, CHRONIK_ETRUNCATED,
					"string longer than the input");
	s->ptr = (const char *)r->p;
	s->len = len;
	r->p += len;
	return 0;
}

static inline int chronik__rd_bytes(chronik__rd *r, chronik_protocol_bytes *b,
				    bool compact, bool nullable)
{
	const uint8_t *start = r->p;
	int64_t len;
	if (compact) {
		uint32_t u;
		if (chronik__rd_uvarint(r, &u))
			return r->err;
		len = (int64_t)u - 1;
	} else {
		int32_t l32;
		if (chronik__rd_i32(r, &l32))
			return r->err;
		len = l32;
	}
	if (len < 0) {
		if (len < -1 || !nullable) {
			r->p = start;
			return chronik__rd_fail(r, CHRONIK_EMALFORMED, len < -1 ?
						"negative bytes length" :
						"null in non-nullable bytes");
		}
		b->ptr = NULL;
		b->len = -1;
		return 0;
	}
	if (CHRONIK__UNLIKELY((uint64_t)chronik__rd_left(r) < (uint64_t)len))
		return chronik__rd_fail(r, CHRONIK_ETRUNCATED,
					"bytes longer than the input");
	if (len > INT32_MAX) {
		r->p = start;
		return chronik__rd_fail(r, CHRONIK_EMALFORMED,
					"bytes length out of range");
	}
	b->ptr = r->p;
	b->len = (int32_t)len;
	r->p += len;
	return 0;
}

/* Array count; -1 is null. Never trusts the count: each element needs at
 * least minsz bytes (at least one, as Kafka does), so a count the input
 * cannot hold fails before anything is allocated. */
static inline int chronik__rd_count(chronik__rd *r, int32_t *n, bool compact,
				    bool nullable, size_t minsz)
{
	const uint8_t *start = r->p;
	int64_t c;
	if (compact) {
		uint32_t u;
		if (chronik__rd_uvarint(r, &u))
			return r->err;
		c = (int64_t)u - 1;
	} else {
		int32_t c32;
		if (chronik__rd_i32(r, &c32))
			return r->err;
		c = c32;
	}
	if (c < 0) {
		if (c < -1 || !nullable) {
			r->p = start;
			return chronik__rd_fail(r, CHRONIK_EMALFORMED, c < -1 ?
						"negative array length" :
						"null in a non-nullable array");
		}
		*n = -1;
		return 0;
	}
	if (minsz == 0)
		minsz = 1;
	if (CHRONIK__UNLIKELY((uint64_t)c > chronik__rd_left(r) / minsz)) {
		r->p = start;
		return chronik__rd_fail(r, CHRONIK_ETRUNCATED,
					"array count exceeds the input");
	}
	*n = (int32_t)c;
	return 0;
}

/* Nullable struct marker: a negative int8 means null. */
static inline int chronik__rd_present(chronik__rd *r, bool *present)
{
	int8_t m;
	if (chronik__rd_i8(r, &m))
		return r->err;
	*present = m >= 0;
	return 0;
}

/* Tagged-field section: count, then (tag, size, data) in increasing tag
 * order. */
typedef struct chronik__tagrd {
	uint32_t left;      /* tags still to read */
	uint32_t total;
	int64_t last;       /* previous tag, -1 at first */
	const uint8_t *end; /* the reader's end, restored after each tag */
	uint32_t tag;
} chronik__tagrd;

static inline int chronik__rd_tags_begin(chronik__rd *r, chronik__tagrd *t)
{
	const uint8_t *start = r->p;
	if (chronik__rd_uvarint(r, &t->left))
		return r->err;
	/* Each tag needs at least two bytes (tag and size). */
	if (t->left > chronik__rd_left(r) / 2) {
		r->p = start;
		return chronik__rd_fail(r, CHRONIK_ETRUNCATED,
					"tagged field count exceeds the input");
	}
	t->total = t->left;
	t->last = -1;
	t->end = r->end;
	return 0;
}

/* Reads one tag header and narrows the reader to the tag's data. */
static inline int chronik__rd_tag(chronik__rd *r, chronik__tagrd *t)
{
	const uint8_t *start = r->p;
	uint32_t size;
	if (chronik__rd_uvarint(r, &t->tag))
		return r->err;
	if ((int64_t)t->tag <= t->last) {
		r->p = start;
		return chronik__rd_fail(r, CHRONIK_EMALFORMED,
					"tagged fields out of order");
	}
	if (chronik__rd_uvarint(r, &size))
		return r->err;
	if (size > chronik__rd_left(r))
		return chronik__rd_fail(r, CHRONIK_ETRUNCATED,
					"tagged field longer than the input");
	t->last = t->tag;
	t->left--;
	r->end = r->p + size;
	return 0;
}

/* After a known tag: its value must fill the tag's data exactly. */
static inline int chronik__rd_tag_end(chronik__rd *r, chronik__tagrd *t)
{
	if (r->p != r->end)
		return chronik__rd_fail(r, CHRONIK_EMALFORMED,
					"tagged field size mismatch");
	r->end = t->end;
	return 0;
}

/* An unknown tag: keep its raw bytes (a view into the input). */
static inline int chronik__rd_tag_unknown(chronik__rd *r, chronik__tagrd *t,
					  chronik_protocol_tagged_fields *u)
{
	if (!u->items) {
		u->items = (chronik_protocol_tagged_field *)chronik__rd_alloc(
			r, t->left + 1, sizeof *u->items);
		if (!u->items)
			return r->err;
		u->count = 0;
	}
	chronik_protocol_tagged_field *f = &u->items[u->count++];
	f->tag = t->tag;
	f->data.ptr = r->p;
	f->data.len = (int32_t)(r->end - r->p);
	r->p = r->end;
	r->end = t->end;
	return 0;
}

/* ---- encoder: size pass (validates) and write pass ---- */

typedef struct chronik__enc {
	int err;
	const char *err_field;
	const char *err_what;
} chronik__enc;

static inline int chronik__enc_fail(chronik__enc *e, int code,
				    const char *what)
{
	if (!e->err) {
		e->err = code;
		e->err_what = what;
	}
	return code;
}

static inline int chronik__enc_field(chronik__enc *e, const char *field)
{
	if (!e->err)
		e->err = CHRONIK_EARG;
	if (!e->err_field)
		e->err_field = field;
	return e->err;
}

#define CHRONIK__SZ(call, fname) \
	do { \
		if (CHRONIK__UNLIKELY((call) != 0)) \
			return chronik__enc_field(e, (fname)); \
	} while (0)

static inline size_t chronik__uvsz(uint32_t v)
{
	return chronik_uvarint64_size(v);
}

static inline int chronik__sz_str(chronik__enc *e,
				  const chronik_protocol_str *s, bool compact,
				  bool nullable, size_t *n)
{
	if (s->len < 0) {
		if (s->len != -1 || !nullable)
			return chronik__enc_fail(e, CHRONIK_EARG, s->len != -1 ?
						 "bad string length" :
						 "null in a non-nullable string");
		*n += compact ? 1 : 2;
		return 0;
	}
	if (s->len > CHRONIK__STR_MAX)
		return chronik__enc_fail(e, CHRONIK_EARG, "string too long");
	if (s->len > 0 && !s->ptr)
		return chronik__enc_fail(e, CHRONIK_EARG, "string without data");
	*n += (compact ? chronik__uvsz((uint32_t)s->len + 1) : 2) +
	      (size_t)s->len;
	return 0;
}

static inline int chronik__sz_bytes(chronik__enc *e,
				    const chronik_protocol_bytes *b,
				    bool compact, bool nullable, size_t *n)
{
	if (b->len < 0) {
		if (b->len != -1 || !nullable)
			return chronik__enc_fail(e, CHRONIK_EARG, b->len != -1 ?
						 "bad bytes length" :
						 "null in non-nullable bytes");
		*n += compact ? 1 : 4;
		return 0;
	}
	if (b->len > 0 && !b->ptr)
		return chronik__enc_fail(e, CHRONIK_EARG, "bytes without data");
	*n += (compact ? chronik__uvsz((uint32_t)b->len + 1) : 4) +
	      (size_t)b->len;
	return 0;
}

static inline int chronik__sz_count(chronik__enc *e, int32_t count,
				    const void *items, bool compact,
				    bool nullable, size_t *n)
{
	if (count < 0) {
		if (count != -1 || !nullable)
			return chronik__enc_fail(e, CHRONIK_EARG, count != -1 ?
						 "bad array count" :
						 "null in a non-nullable array");
		*n += compact ? 1 : 4;
		return 0;
	}
	if (count > 0 && !items)
		return chronik__enc_fail(e, CHRONIK_EARG, "array without items");
	*n += compact ? chronik__uvsz((uint32_t)count + 1) : 4;
	return 0;
}

/* Unknown tags must be strictly increasing; adds their encoded size. */
static inline int chronik__sz_unknown(chronik__enc *e,
				      const chronik_protocol_tagged_fields *u,
				      uint32_t *ntags, size_t *n)
{
	int64_t last = -1;
	if (u->count < 0 || (u->count > 0 && !u->items))
		return chronik__enc_fail(e, CHRONIK_EARG, "bad tagged fields");
	for (int32_t i = 0; i < u->count; i++) {
		const chronik_protocol_tagged_field *f = &u->items[i];
		if ((int64_t)f->tag <= last || f->data.len < 0 ||
		    (f->data.len > 0 && !f->data.ptr))
			return chronik__enc_fail(e, CHRONIK_EARG,
						 "unknown tagged fields unsorted "
						 "or invalid");
		last = f->tag;
		*n += chronik__uvsz(f->tag) +
		      chronik__uvsz((uint32_t)f->data.len) +
		      (size_t)f->data.len;
	}
	*ntags += (uint32_t)u->count;
	return 0;
}

static inline int chronik__has_tag(const chronik_protocol_tagged_fields *u,
				   uint32_t tag)
{
	for (int32_t i = 0; i < u->count; i++)
		if (u->items[i].tag == tag)
			return 1;
	return 0;
}

typedef struct chronik__wr {
	uint8_t *p;
} chronik__wr;

static inline void chronik__wr_i8(chronik__wr *w, int8_t v)
{
	*w->p++ = (uint8_t)v;
}

static inline void chronik__wr_bool(chronik__wr *w, bool v)
{
	*w->p++ = v ? 1 : 0;
}

static inline void chronik__wr_u16(chronik__wr *w, uint16_t v)
{
	w->p[0] = (uint8_t)(v >> 8);
	w->p[1] = (uint8_t)v;
	w->p += 2;
}

static inline void chronik__wr_i16(chronik__wr *w, int16_t v)
{
	chronik__wr_u16(w, (uint16_t)v);
}

static inline void chronik__wr_u32(chronik__wr *w, uint32_t v)
{
	w->p[0] = (uint8_t)(v >> 24);
	w->p[1] = (uint8_t)(v >> 16);
	w->p[2] = (uint8_t)(v >> 8);
	w->p[3] = (uint8_t)v;
	w->p += 4;
}

static inline void chronik__wr_i32(chronik__wr *w, int32_t v)
{
	chronik__wr_u32(w, (uint32_t)v);
}

static inline void chronik__wr_i64(chronik__wr *w, int64_t v)
{
	chronik__wr_u32(w, (uint32_t)((uint64_t)v >> 32));
	chronik__wr_u32(w, (uint32_t)v);
}

static inline void chronik__wr_f64(chronik__wr *w, double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	chronik__wr_i64(w, (int64_t)u);
}

static inline void chronik__wr_uuid(chronik__wr *w,
				    const chronik_protocol_uuid *v)
{
	memcpy(w->p, v->bytes, 16);
	w->p += 16;
}

static inline void chronik__wr_uvarint(chronik__wr *w, uint32_t v)
{
	w->p += chronik_uvarint64_write(w->p, v);
}

static inline void chronik__wr_raw(chronik__wr *w, const void *p, size_t n)
{
	if (n)
		memcpy(w->p, p, n);
	w->p += n;
}

static inline void chronik__wr_str(chronik__wr *w,
				   const chronik_protocol_str *s, bool compact)
{
	if (s->len < 0) {
		if (compact)
			chronik__wr_uvarint(w, 0);
		else
			chronik__wr_i16(w, -1);
		return;
	}
	if (compact)
		chronik__wr_uvarint(w, (uint32_t)s->len + 1);
	else
		chronik__wr_i16(w, (int16_t)s->len);
	chronik__wr_raw(w, s->ptr, (size_t)s->len);
}

static inline void chronik__wr_bytes(chronik__wr *w,
				     const chronik_protocol_bytes *b,
				     bool compact)
{
	if (b->len < 0) {
		if (compact)
			chronik__wr_uvarint(w, 0);
		else
			chronik__wr_i32(w, -1);
		return;
	}
	if (compact)
		chronik__wr_uvarint(w, (uint32_t)b->len + 1);
	else
		chronik__wr_i32(w, b->len);
	chronik__wr_raw(w, b->ptr, (size_t)b->len);
}

static inline void chronik__wr_count(chronik__wr *w, int32_t count,
				     bool compact)
{
	if (compact)
		chronik__wr_uvarint(w, (uint32_t)(count + 1));
	else
		chronik__wr_i32(w, count);
}

/* Writes unknown tags from index i while their tag is below `below`;
 * returns the next index. Merges them with the known tags in order. */
static inline int32_t chronik__wr_unknown_upto(
	chronik__wr *w, const chronik_protocol_tagged_fields *u, int32_t i,
	int64_t below)
{
	while (i < u->count && (int64_t)u->items[i].tag < below) {
		const chronik_protocol_tagged_field *f = &u->items[i];
		chronik__wr_uvarint(w, f->tag);
		chronik__wr_uvarint(w, (uint32_t)f->data.len);
		chronik__wr_raw(w, f->data.ptr, (size_t)f->data.len);
		i++;
	}
	return i;
}

static inline int chronik__uuid_is_zero(const chronik_protocol_uuid *u)
{
	static const uint8_t z[16];
	return memcmp(u->bytes, z, 16) == 0;
}

static inline int chronik__str_eq(const chronik_protocol_str *s,
				  const char *lit, int32_t len)
{
	return s->len == len && (len == 0 || memcmp(s->ptr, lit, (size_t)len) == 0);
}

#endif

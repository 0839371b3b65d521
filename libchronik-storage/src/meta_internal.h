/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the metadata store (meta*.c): the in-memory key/value map,
 * the encoded mutation list, the handle layout and the on-disk format
 * constants (docs/formats.md, "Metadata store"). Never installed. */
#ifndef CHRONIK_STORAGE_META_INTERNAL_H
#define CHRONIK_STORAGE_META_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "chronik/storage.h"
#include "chronik/wal.h"

/* ---- On-disk format ---- */

/* WAL record type byte of a metadata log record. */
#define META_WAL_TYPE 0x4du
#define META_REC_VERSION 1u
#define META_REC_HDR 12u
#define META_OP_PUT 1u
#define META_OP_DEL 2u
/* Op header: op8 | klen32 | vlen32 */
#define META_OP_HDR 9u

#define META_SNAP_MAGIC "CHRNKMSN"
#define META_SNAP_END_MAGIC "CHRNKMSE"
#define META_SNAP_VERSION 1u
#define META_SNAP_HDR 40u
#define META_SNAP_ENTRY_HDR 12u
#define META_SNAP_TRAILER 24u

/* Key type bytes (first byte of every key). */
#define META_K_TOPIC 'T'
#define META_K_OFFSET 'O'
#define META_K_GROUP 'G'
#define META_K_PRODUCER 'P'
#define META_K_LOG_START 'L'
#define META_K_PID_NEXT 'I'

/* Version byte at the start of typed values (topic, offset, log start,
 * next producer id); blobs are stored raw. */
#define META_VAL_VERSION 1u

static inline void meta__put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void meta__put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void meta__put64(uint8_t *p, uint64_t v)
{
	meta__put32(p, (uint32_t)v);
	meta__put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t meta__get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t meta__get64(const uint8_t *p)
{
	return (uint64_t)meta__get32(p) | (uint64_t)meta__get32(p + 4) << 32;
}

/* Big-endian, used inside keys so that numbers sort. */
static inline void meta__put32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t meta__get32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void meta__put64be(uint8_t *p, uint64_t v)
{
	meta__put32be(p, (uint32_t)(v >> 32));
	meta__put32be(p + 4, (uint32_t)v);
}

static inline uint64_t meta__get64be(const uint8_t *p)
{
	return (uint64_t)meta__get32be(p) << 32 | meta__get32be(p + 4);
}

/* ---- Growable byte buffer ---- */

struct meta_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

int chronik_storage_meta__buf_reserve(struct meta_buf *b, size_t more);
int chronik_storage_meta__buf_add(struct meta_buf *b, const void *d,
				  size_t n);
void chronik_storage_meta__buf_free(struct meta_buf *b);

/* ---- Sorted in-memory key/value map ----
 * A sorted array of entries, each one allocation holding key then value.
 * Lookups are binary searches; inserting a new key moves pointers (fine
 * for metadata sizes; see docs/metadata.md). */

struct meta_entry {
	uint32_t klen;
	uint32_t vlen;
	uint8_t data[]; /* key, then value */
};

static inline const uint8_t *meta__ekey(const struct meta_entry *e)
{
	return e->data;
}

static inline const uint8_t *meta__eval(const struct meta_entry *e)
{
	return e->data + e->klen;
}

struct meta_kv {
	struct meta_entry **v;
	size_t n;
	size_t cap;
};

void chronik_storage_meta__kv_free(struct meta_kv *kv);
/* Index of the first entry with key >= (key, klen). */
size_t chronik_storage_meta__kv_lower(const struct meta_kv *kv,
				      const uint8_t *key, size_t klen);
/* The entry with exactly this key, or NULL. */
const struct meta_entry *chronik_storage_meta__kv_get(
	const struct meta_kv *kv, const uint8_t *key, size_t klen);
int chronik_storage_meta__kv_put(struct meta_kv *kv, const uint8_t *key,
				 size_t klen, const uint8_t *val,
				 size_t vlen);
/* Returns 1 if removed, 0 if absent. */
int chronik_storage_meta__kv_del(struct meta_kv *kv, const uint8_t *key,
				 size_t klen);
/* Does entry i start with prefix? */
int chronik_storage_meta__kv_has_prefix(const struct meta_kv *kv, size_t i,
					const uint8_t *prefix, size_t plen);

/* ---- Encoded mutation list (the body of one log record) ---- */

struct meta_ops {
	struct meta_buf buf; /* ops, without the record header */
	uint32_t count;
};

int chronik_storage_meta__ops_put(struct meta_ops *o, const uint8_t *key,
				  size_t klen, const void *val, size_t vlen);
int chronik_storage_meta__ops_del(struct meta_ops *o, const uint8_t *key,
				  size_t klen);
void chronik_storage_meta__ops_reset(struct meta_ops *o);
/* Verify an encoded op list (count ops in len bytes) and, if kv is not
 * NULL, apply it. On failure fills why (static text) and the byte offset
 * inside the list. */
int chronik_storage_meta__ops_apply(struct meta_kv *kv, const uint8_t *p,
				    size_t len, uint32_t count,
				    const char **why, size_t *at);

/* ---- Keys ---- */

struct meta_key {
	uint8_t *p;
	size_t len;
	uint8_t small[256];
};

/* Build a key: type byte, then for each string its bytes and a NUL, then
 * the optional partition (big-endian u32) and producer id (big-endian
 * u64). Returns 0, CHRONIK_EARG (bad name) or -ENOMEM. */
int chronik_storage_meta__key(struct meta_key *k, uint8_t type,
			      const char *s1, const char *s2,
			      int with_part, int32_t part, int with_pid,
			      int64_t pid);
void chronik_storage_meta__key_free(struct meta_key *k);

/* ---- Handle ---- */

struct chronik_storage_meta {
	pthread_mutex_t mu;      /* state below */
	pthread_mutex_t snap_mu; /* one snapshot at a time */
	char *dir;
	chronik_wal *wal;
	struct meta_kv kv;
	unsigned int flags;
	uint64_t snap_threshold;
	uint64_t last_lsn;
	uint64_t snapshot_lsn;
	uint64_t prev_snapshot_lsn;
	uint64_t log_bytes_total;
	uint64_t log_bytes_at_snapshot;
	uint64_t snapshots_skipped;
	uint64_t records_replayed;
	chronik_storage_meta_log_cb log;
	void *userdata;
	int closing;
	char err[8192];
};

struct chronik_storage_meta_batch {
	chronik_storage_meta *meta;
	struct meta_ops ops;
};

void chronik_storage_meta__set_err(chronik_storage_meta *m, const char *fmt,
				   ...)
	__attribute__((format(printf, 2, 3)));

/* Append ops as one record and apply them; mu must be held. With cb the
 * completion runs from the WAL writer thread; otherwise *lsn_out gets the
 * LSN to wait for. Resets ops on success. */
int chronik_storage_meta__submit_locked(chronik_storage_meta *m,
					struct meta_ops *ops,
					chronik_storage_meta_commit_cb cb,
					void *userdata, uint64_t *lsn_out);
/* Wait for lsn, then maybe write an automatic snapshot; mu not held. */
int chronik_storage_meta__finish_sync(chronik_storage_meta *m, uint64_t lsn);

/* Snapshot encoding/decoding (meta_snapshot.c). */
int chronik_storage_meta__snap_encode(struct meta_buf *out,
				      const struct meta_kv *kv, uint64_t lsn);
/* Decode and verify; on failure *why and *at describe it. */
int chronik_storage_meta__snap_decode(struct meta_kv *kv, uint64_t *lsn_out,
				      const uint8_t *p, size_t len,
				      char *why, size_t whylen, size_t *at);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Metadata store building blocks: byte buffers, the sorted key/value map,
 * encoded mutation lists and key construction. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta_internal.h"

int chronik_storage_meta__buf_reserve(struct meta_buf *b, size_t more)
{
	size_t want, cap;
	uint8_t *np;

	if (more > SIZE_MAX - b->len)
		return -ENOMEM;
	want = b->len + more;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	np = realloc(b->p, cap);
	if (!np)
		return -ENOMEM;
	b->p = np;
	b->cap = cap;
	return 0;
}

int chronik_storage_meta__buf_add(struct meta_buf *b, const void *d, size_t n)
{
	int rc = chronik_storage_meta__buf_reserve(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

void chronik_storage_meta__buf_free(struct meta_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- map ---- */

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
		   size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

void chronik_storage_meta__kv_free(struct meta_kv *kv)
{
	for (size_t i = 0; i < kv->n; i++)
		free(kv->v[i]);
	free(kv->v);
	kv->v = NULL;
	kv->n = kv->cap = 0;
}

size_t chronik_storage_meta__kv_lower(const struct meta_kv *kv,
				      const uint8_t *key, size_t klen)
{
	size_t lo = 0, hi = kv->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct meta_entry *e = kv->v[mid];

		if (key_cmp(meta__ekey(e), e->klen, key, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct meta_entry *chronik_storage_meta__kv_get(
	const struct meta_kv *kv, const uint8_t *key, size_t klen)
{
	size_t i = chronik_storage_meta__kv_lower(kv, key, klen);

	if (i < kv->n && !key_cmp(meta__ekey(kv->v[i]), kv->v[i]->klen, key,
				  klen))
		return kv->v[i];
	return NULL;
}

int chronik_storage_meta__kv_put(struct meta_kv *kv, const uint8_t *key,
				 size_t klen, const uint8_t *val, size_t vlen)
{
	size_t i = chronik_storage_meta__kv_lower(kv, key, klen);
	struct meta_entry *e;

	if (klen > UINT32_MAX || vlen > UINT32_MAX)
		return CHRONIK_ETOOBIG;
	e = malloc(sizeof *e + klen + vlen);
	if (!e)
		return -ENOMEM;
	e->klen = (uint32_t)klen;
	e->vlen = (uint32_t)vlen;
	memcpy(e->data, key, klen);
	if (vlen)
		memcpy(e->data + klen, val, vlen);
	if (i < kv->n && !key_cmp(meta__ekey(kv->v[i]), kv->v[i]->klen, key,
				  klen)) {
		free(kv->v[i]);
		kv->v[i] = e;
		return 0;
	}
	if (kv->n == kv->cap) {
		size_t cap = kv->cap ? kv->cap * 2 : 64;
		struct meta_entry **nv = realloc(kv->v, cap * sizeof *nv);

		if (!nv) {
			free(e);
			return -ENOMEM;
		}
		kv->v = nv;
		kv->cap = cap;
	}
	memmove(kv->v + i + 1, kv->v + i, (kv->n - i) * sizeof *kv->v);
	kv->v[i] = e;
	kv->n++;
	return 0;
}

int chronik_storage_meta__kv_del(struct meta_kv *kv, const uint8_t *key,
				 size_t klen)
{
	size_t i = chronik_storage_meta__kv_lower(kv, key, klen);

	if (i >= kv->n ||
	    key_cmp(meta__ekey(kv->v[i]), kv->v[i]->klen, key, klen))
		return 0;
	free(kv->v[i]);
	memmove(kv->v + i, kv->v + i + 1, (kv->n - i - 1) * sizeof *kv->v);
	kv->n--;
	return 1;
}

int chronik_storage_meta__kv_has_prefix(const struct meta_kv *kv, size_t i,
					const uint8_t *prefix, size_t plen)
{
	return i < kv->n && kv->v[i]->klen >= plen &&
	       !memcmp(meta__ekey(kv->v[i]), prefix, plen);
}

/* ---- op lists ---- */

static int ops_add(struct meta_ops *o, uint8_t op, const uint8_t *key,
		   size_t klen, const void *val, size_t vlen)
{
	uint8_t hdr[META_OP_HDR];
	int rc;

	if (klen > UINT32_MAX || vlen > UINT32_MAX || o->count == UINT32_MAX)
		return CHRONIK_ETOOBIG;
	rc = chronik_storage_meta__buf_reserve(&o->buf,
					       META_OP_HDR + klen + vlen);
	if (rc)
		return rc;
	hdr[0] = op;
	meta__put32(hdr + 1, (uint32_t)klen);
	meta__put32(hdr + 5, (uint32_t)vlen);
	chronik_storage_meta__buf_add(&o->buf, hdr, sizeof hdr);
	chronik_storage_meta__buf_add(&o->buf, key, klen);
	chronik_storage_meta__buf_add(&o->buf, val, vlen);
	o->count++;
	return 0;
}

int chronik_storage_meta__ops_put(struct meta_ops *o, const uint8_t *key,
				  size_t klen, const void *val, size_t vlen)
{
	return ops_add(o, META_OP_PUT, key, klen, val, vlen);
}

int chronik_storage_meta__ops_del(struct meta_ops *o, const uint8_t *key,
				  size_t klen)
{
	return ops_add(o, META_OP_DEL, key, klen, NULL, 0);
}

void chronik_storage_meta__ops_reset(struct meta_ops *o)
{
	o->buf.len = 0;
	o->count = 0;
}

int chronik_storage_meta__ops_apply(struct meta_kv *kv, const uint8_t *p,
				    size_t len, uint32_t count,
				    const char **why, size_t *at)
{
	size_t pos = 0;

	/* Verify the whole list first so that a bad record applies
	 * nothing. */
	for (int pass = kv ? 0 : 1; pass < 2; pass++) {
		pos = 0;
		for (uint32_t i = 0; i < count; i++) {
			uint8_t op;
			uint32_t klen, vlen;

			if (len - pos < META_OP_HDR) {
				*why = "operation header runs past the record";
				*at = pos;
				return CHRONIK_ECORRUPT;
			}
			op = p[pos];
			klen = meta__get32(p + pos + 1);
			vlen = meta__get32(p + pos + 5);
			if ((op != META_OP_PUT && op != META_OP_DEL) ||
			    klen == 0 || (op == META_OP_DEL && vlen)) {
				*why = "unknown operation or bad lengths";
				*at = pos;
				return CHRONIK_ECORRUPT;
			}
			if (len - pos - META_OP_HDR < (uint64_t)klen + vlen) {
				*why = "operation runs past the record";
				*at = pos;
				return CHRONIK_ECORRUPT;
			}
			if (pass == 0) {
				pos += META_OP_HDR + (size_t)klen + vlen;
				continue;
			}
			if (kv) {
				const uint8_t *k = p + pos + META_OP_HDR;
				int rc = 0;

				if (op == META_OP_PUT)
					rc = chronik_storage_meta__kv_put(
						kv, k, klen, k + klen, vlen);
				else
					chronik_storage_meta__kv_del(kv, k,
								     klen);
				if (rc) {
					*why = "out of memory";
					*at = pos;
					return rc;
				}
			}
			pos += META_OP_HDR + (size_t)klen + vlen;
		}
		if (pos != len) {
			*why = "trailing bytes after the last operation";
			*at = pos;
			return CHRONIK_ECORRUPT;
		}
	}
	return 0;
}

/* ---- keys ---- */

static int name_ok(const char *s, size_t *len)
{
	size_t n;

	if (!s)
		return 0;
	n = strnlen(s, CHRONIK_STORAGE_META_MAX_NAME + 1);
	if (n == 0 || n > CHRONIK_STORAGE_META_MAX_NAME)
		return 0;
	*len = n;
	return 1;
}

int chronik_storage_meta__key(struct meta_key *k, uint8_t type,
			      const char *s1, const char *s2, int with_part,
			      int32_t part, int with_pid, int64_t pid)
{
	size_t l1 = 0, l2 = 0, need, pos = 0;

	k->p = k->small;
	k->len = 0;
	/* Entity keys always name s1; s2 is optional only for prefixes. */
	if (!name_ok(s1, &l1) || (s2 && !name_ok(s2, &l2)))
		return CHRONIK_EARG;
	if (with_part && part < 0)
		return CHRONIK_EARG;
	if (with_pid && pid < 0)
		return CHRONIK_EARG;
	need = 1 + (s1 ? l1 + 1 : 0) + (s2 ? l2 + 1 : 0) +
	       (with_part ? 4 : 0) + (with_pid ? 8 : 0);
	if (need > sizeof k->small) {
		k->p = malloc(need);
		if (!k->p)
			return -ENOMEM;
	}
	k->p[pos++] = type;
	if (s1) {
		memcpy(k->p + pos, s1, l1 + 1);
		pos += l1 + 1;
	}
	if (s2) {
		memcpy(k->p + pos, s2, l2 + 1);
		pos += l2 + 1;
	}
	if (with_part) {
		meta__put32be(k->p + pos, (uint32_t)part);
		pos += 4;
	}
	if (with_pid) {
		meta__put64be(k->p + pos, (uint64_t)pid);
		pos += 8;
	}
	k->len = pos;
	return 0;
}

void chronik_storage_meta__key_free(struct meta_key *k)
{
	if (k->p != k->small)
		free(k->p);
	k->p = k->small;
	k->len = 0;
}

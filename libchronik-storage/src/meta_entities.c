/* SPDX-License-Identifier: Apache-2.0 */
/* Metadata store entities on top of the key/value map: topics, group
 * offsets and state, producer ids and state, log start offsets, batches.
 * Key and value layouts: docs/formats.md, "Metadata store". */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "meta_internal.h"

#define MAX_PID_BLOCK (1 << 20)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int random_uuid(uint8_t id[16])
{
	size_t got = 0;

	while (got < 16) {
		ssize_t n = getrandom(id + got, 16 - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* version 4 */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	return 0;
}

/* Lock, submit, unlock, wait: the path of every synchronous mutation
 * that does not need to read the current state first. */
static int commit_ops(chronik_storage_meta *m, struct meta_ops *ops)
{
	uint64_t lsn = 0;
	int rc;

	pthread_mutex_lock(&m->mu);
	rc = chronik_storage_meta__submit_locked(m, ops, NULL, NULL, &lsn);
	pthread_mutex_unlock(&m->mu);
	if (!rc)
		rc = chronik_storage_meta__finish_sync(m, lsn);
	return rc;
}

static int finish_locked(chronik_storage_meta *m, struct meta_ops *ops,
			 int rc)
{
	uint64_t lsn = 0;

	if (!rc)
		rc = chronik_storage_meta__submit_locked(m, ops, NULL, NULL,
							 &lsn);
	pthread_mutex_unlock(&m->mu);
	chronik_storage_meta__buf_free(&ops->buf);
	if (!rc)
		rc = chronik_storage_meta__finish_sync(m, lsn);
	return rc;
}

/* ---- topics ---- */

struct cfg {
	const char *k;
	size_t kl;
	const char *v;
	size_t vl;
};

static int cfg_cmp(const void *a, const void *b)
{
	const struct cfg *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c;
}

/* Sort by key and drop earlier duplicates (the last one wins). Entries
 * carry their input index in vl's place only temporarily, so do a stable
 * sort by hand: insertion sort is fine for config counts. */
static size_t cfg_normalise(struct cfg *c, size_t n)
{
	size_t out = 0;

	for (size_t i = 1; i < n; i++) {
		struct cfg t = c[i];
		size_t j = i;

		while (j > 0 && cfg_cmp(&c[j - 1], &t) > 0) {
			c[j] = c[j - 1];
			j--;
		}
		c[j] = t;
	}
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && !strcmp(c[i].k, c[i + 1].k))
			continue;
		c[out++] = c[i];
	}
	return out;
}

static int encode_topic(struct meta_buf *b, const uint8_t id[16],
			int32_t partitions, int64_t created, int deleted,
			const struct cfg *c, size_t n)
{
	uint8_t h[34];
	int rc = 0;

	b->len = 0;
	h[0] = META_VAL_VERSION;
	memcpy(h + 1, id, 16);
	meta__put32(h + 17, (uint32_t)partitions);
	meta__put64(h + 21, (uint64_t)created);
	h[29] = deleted ? 1 : 0;
	meta__put32(h + 30, (uint32_t)n);
	rc = chronik_storage_meta__buf_add(b, h, sizeof h);
	for (size_t i = 0; !rc && i < n; i++) {
		uint8_t l[4];

		if (c[i].kl > UINT32_MAX || c[i].vl > UINT32_MAX)
			return CHRONIK_ETOOBIG;
		meta__put32(l, (uint32_t)c[i].kl);
		rc = chronik_storage_meta__buf_add(b, l, 4);
		if (!rc)
			rc = chronik_storage_meta__buf_add(b, c[i].k, c[i].kl);
		meta__put32(l, (uint32_t)c[i].vl);
		if (!rc)
			rc = chronik_storage_meta__buf_add(b, l, 4);
		if (!rc)
			rc = chronik_storage_meta__buf_add(b, c[i].v, c[i].vl);
	}
	if (!rc && b->len > CHRONIK_STORAGE_META_MAX_BLOB)
		rc = CHRONIK_ETOOBIG;
	return rc;
}

/* Decode a topic value into one allocation (struct, configs, strings). */
static int decode_topic(chronik_storage_meta_topic **out, const char *name,
			const uint8_t *v, size_t vlen)
{
	chronik_storage_meta_topic *t;
	chronik_storage_meta_config *cfgs;
	size_t need, pos, nl = strlen(name);
	uint32_t n;
	char *s;

	*out = NULL;
	if (vlen < 34 || v[0] != META_VAL_VERSION)
		return CHRONIK_ECORRUPT;
	n = meta__get32(v + 30);
	if (n > vlen / 8)
		return CHRONIK_ECORRUPT;
	/* Pass 1: validate and size. */
	need = sizeof *t + (size_t)n * sizeof *cfgs + nl + 1;
	pos = 34;
	for (uint32_t i = 0; i < n; i++) {
		for (int j = 0; j < 2; j++) {
			uint32_t l;

			if (vlen - pos < 4)
				return CHRONIK_ECORRUPT;
			l = meta__get32(v + pos);
			if (vlen - pos - 4 < l)
				return CHRONIK_ECORRUPT;
			pos += 4 + l;
			need += (size_t)l + 1;
		}
	}
	if (pos != vlen)
		return CHRONIK_ECORRUPT;
	t = calloc(1, need);
	if (!t)
		return -ENOMEM;
	cfgs = (chronik_storage_meta_config *)(t + 1);
	s = (char *)(cfgs + n);
	memcpy(s, name, nl + 1);
	t->name = s;
	s += nl + 1;
	memcpy(t->id, v + 1, 16);
	t->partitions = (int32_t)meta__get32(v + 17);
	t->created_ms = (int64_t)meta__get64(v + 21);
	t->deleted = v[29] != 0;
	t->nconfigs = n;
	t->configs = cfgs;
	pos = 34;
	for (uint32_t i = 0; i < n; i++) {
		const char **dst[2] = { &cfgs[i].key, &cfgs[i].value };

		for (int j = 0; j < 2; j++) {
			uint32_t l = meta__get32(v + pos);

			memcpy(s, v + pos + 4, l);
			s[l] = 0;
			*dst[j] = s;
			s += (size_t)l + 1;
			pos += 4 + l;
		}
	}
	*out = t;
	return 0;
}

static int cfgs_from_input(struct cfg **out, size_t *n_out,
			   const chronik_storage_meta_config *configs,
			   size_t n, int allow_null)
{
	struct cfg *c;

	*out = NULL;
	*n_out = 0;
	if (n && !configs)
		return CHRONIK_EARG;
	if (n > 100000)
		return CHRONIK_ETOOBIG;
	c = calloc(n ? n : 1, sizeof *c);
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!configs[i].key || !configs[i].key[0] ||
		    (!configs[i].value && !allow_null)) {
			free(c);
			return CHRONIK_EARG;
		}
		c[i].k = configs[i].key;
		c[i].kl = strlen(configs[i].key);
		c[i].v = configs[i].value;
		c[i].vl = configs[i].value ? strlen(configs[i].value) : 0;
	}
	*out = c;
	*n_out = n;
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_meta_topic_create(
	uint8_t id_out[16], chronik_storage_meta *meta, const char *name,
	int32_t partitions, const chronik_storage_meta_config *configs,
	size_t nconfigs, int64_t created_ms)
{
	struct meta_ops ops = { 0 };
	struct meta_buf val = { 0 };
	struct meta_key k;
	const struct meta_entry *e;
	struct cfg *c = NULL;
	size_t n = 0;
	uint8_t id[16];
	int rc;

	if (!meta || partitions < 1)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_TOPIC, name, NULL, 0, 0, 0,
				       0);
	if (rc)
		return rc;
	rc = cfgs_from_input(&c, &n, configs, nconfigs, 0);
	if (!rc) {
		n = cfg_normalise(c, n);
		rc = random_uuid(id);
	}
	if (!rc)
		rc = encode_topic(&val, id, partitions,
				  created_ms ? created_ms : now_ms(), 0, c, n);
	free(c);
	if (rc) {
		chronik_storage_meta__key_free(&k);
		chronik_storage_meta__buf_free(&val);
		return rc;
	}
	pthread_mutex_lock(&meta->mu);
	e = chronik_storage_meta__kv_get(&meta->kv, k.p, k.len);
	if (e && e->vlen >= 30 && meta__eval(e)[29] == 0) {
		chronik_storage_meta__set_err(meta, "topic '%s' exists", name);
		rc = CHRONIK_EEXIST;
	}
	if (!rc)
		rc = chronik_storage_meta__ops_put(&ops, k.p, k.len, val.p,
						   val.len);
	chronik_storage_meta__key_free(&k);
	chronik_storage_meta__buf_free(&val);
	rc = finish_locked(meta, &ops, rc);
	if (!rc && id_out)
		memcpy(id_out, id, 16);
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_meta_topic_get(
	chronik_storage_meta_topic **out, chronik_storage_meta *meta,
	const char *name)
{
	const struct meta_entry *e;
	struct meta_key k;
	int rc;

	if (!out)
		return CHRONIK_EARG;
	*out = NULL;
	if (!meta)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_TOPIC, name, NULL, 0, 0, 0,
				       0);
	if (rc)
		return rc;
	pthread_mutex_lock(&meta->mu);
	e = chronik_storage_meta__kv_get(&meta->kv, k.p, k.len);
	rc = e ? decode_topic(out, name, meta__eval(e), e->vlen)
	       : CHRONIK_ENOTFOUND;
	pthread_mutex_unlock(&meta->mu);
	chronik_storage_meta__key_free(&k);
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_meta_topic_get_by_id(
	chronik_storage_meta_topic **out, chronik_storage_meta *meta,
	const uint8_t id[16])
{
	const uint8_t pfx = META_K_TOPIC;
	int rc = CHRONIK_ENOTFOUND;
	size_t i;

	if (!out)
		return CHRONIK_EARG;
	*out = NULL;
	if (!meta || !id)
		return CHRONIK_EARG;
	pthread_mutex_lock(&meta->mu);
	for (i = chronik_storage_meta__kv_lower(&meta->kv, &pfx, 1);
	     chronik_storage_meta__kv_has_prefix(&meta->kv, i, &pfx, 1); i++) {
		const struct meta_entry *e = meta->kv.v[i];

		if (e->vlen >= 17 && !memcmp(meta__eval(e) + 1, id, 16)) {
			rc = decode_topic(out, (const char *)meta__ekey(e) + 1,
					  meta__eval(e), e->vlen);
			break;
		}
	}
	pthread_mutex_unlock(&meta->mu);
	return rc;
}

/* Read-modify-write of a live topic under the lock. */
enum topic_change { TC_PARTITIONS, TC_CONFIGS, TC_DELETE };

static int topic_change(chronik_storage_meta *meta, const char *name,
			enum topic_change what, int32_t partitions,
			const chronik_storage_meta_config *configs,
			size_t nconfigs, unsigned int flags)
{
	struct meta_ops ops = { 0 };
	struct meta_buf val = { 0 };
	chronik_storage_meta_topic *t = NULL;
	const struct meta_entry *e;
	struct cfg *in = NULL, *all = NULL;
	size_t nin = 0, nall = 0;
	struct meta_key k;
	int rc;

	if (!meta)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_TOPIC, name, NULL, 0, 0, 0,
				       0);
	if (rc)
		return rc;
	if (what == TC_CONFIGS) {
		rc = cfgs_from_input(&in, &nin, configs, nconfigs, 1);
		if (rc) {
			chronik_storage_meta__key_free(&k);
			return rc;
		}
	}
	pthread_mutex_lock(&meta->mu);
	e = chronik_storage_meta__kv_get(&meta->kv, k.p, k.len);
	if (!e) {
		chronik_storage_meta__set_err(meta, "no topic '%s'", name);
		rc = CHRONIK_ENOTFOUND;
		goto done;
	}
	rc = decode_topic(&t, name, meta__eval(e), e->vlen);
	if (rc)
		goto done;
	if (t->deleted && what != TC_DELETE) {
		chronik_storage_meta__set_err(meta, "topic '%s' is deleted",
					      name);
		rc = CHRONIK_ENOTFOUND;
		goto done;
	}
	if (what == TC_PARTITIONS && partitions <= t->partitions) {
		chronik_storage_meta__set_err(
			meta, "topic '%s' has %d partitions; %d is no increase",
			name, (int)t->partitions, (int)partitions);
		rc = CHRONIK_EARG;
		goto done;
	}
	/* Current configs, then (for alter) the changes; normalising keeps
	 * the last value of each key, so changes override. */
	all = calloc(t->nconfigs + nin + 1, sizeof *all);
	if (!all) {
		rc = -ENOMEM;
		goto done;
	}
	if (!(what == TC_CONFIGS &&
	      (flags & CHRONIK_STORAGE_META_CONFIGS_REPLACE))) {
		for (size_t i = 0; i < t->nconfigs; i++) {
			all[nall].k = t->configs[i].key;
			all[nall].kl = strlen(t->configs[i].key);
			all[nall].v = t->configs[i].value;
			all[nall].vl = strlen(t->configs[i].value);
			nall++;
		}
	}
	for (size_t i = 0; i < nin; i++)
		all[nall++] = in[i];
	nall = cfg_normalise(all, nall);
	{
		size_t w = 0; /* drop removals (NULL values) */

		for (size_t i = 0; i < nall; i++)
			if (all[i].v)
				all[w++] = all[i];
		nall = w;
	}
	rc = encode_topic(&val, t->id,
			  what == TC_PARTITIONS ? partitions : t->partitions,
			  t->created_ms, what == TC_DELETE ? 1 : t->deleted,
			  all, nall);
	if (!rc)
		rc = chronik_storage_meta__ops_put(&ops, k.p, k.len, val.p,
						   val.len);
done:
	free(t);
	free(in);
	free(all);
	chronik_storage_meta__key_free(&k);
	chronik_storage_meta__buf_free(&val);
	return finish_locked(meta, &ops, rc);
}

CHRONIK_STORAGE_API int chronik_storage_meta_topic_set_partitions(
	chronik_storage_meta *meta, const char *name, int32_t partitions)
{
	return topic_change(meta, name, TC_PARTITIONS, partitions, NULL, 0, 0);
}

CHRONIK_STORAGE_API int chronik_storage_meta_topic_configs_alter(
	chronik_storage_meta *meta, const char *name,
	const chronik_storage_meta_config *configs, size_t nconfigs,
	unsigned int flags)
{
	if (flags & ~CHRONIK_STORAGE_META_CONFIGS_REPLACE)
		return CHRONIK_EARG;
	return topic_change(meta, name, TC_CONFIGS, 0, configs, nconfigs,
			    flags);
}

CHRONIK_STORAGE_API int chronik_storage_meta_topic_mark_deleted(
	chronik_storage_meta *meta, const char *name)
{
	return topic_change(meta, name, TC_DELETE, 0, NULL, 0, 0);
}

/* Add a delete op for every key starting with prefix. */
static int del_prefix(struct meta_ops *ops, const struct meta_kv *kv,
		      const uint8_t *pfx, size_t plen, int *found)
{
	for (size_t i = chronik_storage_meta__kv_lower(kv, pfx, plen);
	     chronik_storage_meta__kv_has_prefix(kv, i, pfx, plen); i++) {
		const struct meta_entry *e = kv->v[i];
		int rc = chronik_storage_meta__ops_del(ops, meta__ekey(e),
						       e->klen);

		if (rc)
			return rc;
		*found = 1;
	}
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_meta_topic_purge(
	chronik_storage_meta *meta, const char *name)
{
	struct meta_ops ops = { 0 };
	struct meta_key k;
	int rc, found = 0, other = 0;

	if (!meta)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_TOPIC, name, NULL, 0, 0, 0,
				       0);
	if (rc)
		return rc;
	pthread_mutex_lock(&meta->mu);
	rc = del_prefix(&ops, &meta->kv, k.p, k.len, &found);
	if (!rc && !found) {
		chronik_storage_meta__set_err(meta, "no topic '%s'", name);
		rc = CHRONIK_ENOTFOUND;
	}
	/* 'L' and 'P' keys of this topic share the "<type>name\0" prefix. */
	k.p[0] = META_K_LOG_START;
	if (!rc)
		rc = del_prefix(&ops, &meta->kv, k.p, k.len, &other);
	k.p[0] = META_K_PRODUCER;
	if (!rc)
		rc = del_prefix(&ops, &meta->kv, k.p, k.len, &other);
	chronik_storage_meta__key_free(&k);
	return finish_locked(meta, &ops, rc);
}

CHRONIK_STORAGE_API int chronik_storage_meta_topic_foreach(
	chronik_storage_meta *meta, chronik_storage_meta_topic_cb cb,
	void *userdata)
{
	const uint8_t pfx = META_K_TOPIC;
	int rc = 0;

	if (!meta || !cb)
		return CHRONIK_EARG;
	pthread_mutex_lock(&meta->mu);
	for (size_t i = chronik_storage_meta__kv_lower(&meta->kv, &pfx, 1);
	     !rc && chronik_storage_meta__kv_has_prefix(&meta->kv, i, &pfx, 1);
	     i++) {
		const struct meta_entry *e = meta->kv.v[i];
		chronik_storage_meta_topic *t;

		rc = decode_topic(&t, (const char *)meta__ekey(e) + 1,
				  meta__eval(e), e->vlen);
		if (rc)
			break;
		rc = cb(t, userdata);
		free(t);
	}
	pthread_mutex_unlock(&meta->mu);
	return rc;
}

/* ---- offsets ---- */

static int encode_offset(struct meta_buf *b,
			 const chronik_storage_meta_offset *v)
{
	uint8_t h[33];
	size_t ml = v->metadata ? strlen(v->metadata) : 0;

	if (ml > CHRONIK_STORAGE_META_MAX_BLOB)
		return CHRONIK_ETOOBIG;
	b->len = 0;
	h[0] = META_VAL_VERSION;
	meta__put64(h + 1, (uint64_t)v->offset);
	meta__put32(h + 9, (uint32_t)v->leader_epoch);
	meta__put64(h + 13, (uint64_t)v->commit_ms);
	meta__put64(h + 21, (uint64_t)v->expire_ms);
	meta__put32(h + 29, (uint32_t)ml);
	if (chronik_storage_meta__buf_add(b, h, sizeof h) ||
	    chronik_storage_meta__buf_add(b, v->metadata, ml))
		return -ENOMEM;
	return 0;
}

/* Decode into *o; the metadata string is copied to str (ml+1 bytes) when
 * given, else points into v (not NUL-terminated: callers use the copy). */
static int decode_offset(chronik_storage_meta_offset *o, size_t *ml_out,
			 const uint8_t *v, size_t vlen)
{
	uint32_t ml;

	if (vlen < 33 || v[0] != META_VAL_VERSION)
		return CHRONIK_ECORRUPT;
	ml = meta__get32(v + 29);
	if (vlen - 33 != ml)
		return CHRONIK_ECORRUPT;
	o->offset = (int64_t)meta__get64(v + 1);
	o->leader_epoch = (int32_t)meta__get32(v + 9);
	o->commit_ms = (int64_t)meta__get64(v + 13);
	o->expire_ms = (int64_t)meta__get64(v + 21);
	o->metadata = NULL;
	*ml_out = ml;
	return 0;
}

static int offset_op(struct meta_ops *ops, const char *group,
		     const char *topic, int32_t partition,
		     const chronik_storage_meta_offset *value)
{
	struct meta_buf val = { 0 };
	struct meta_key k;
	int rc;

	if (!value || !topic)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_OFFSET, group, topic, 1,
				       partition, 0, 0);
	if (rc)
		return rc;
	rc = encode_offset(&val, value);
	if (!rc)
		rc = chronik_storage_meta__ops_put(ops, k.p, k.len, val.p,
						   val.len);
	chronik_storage_meta__key_free(&k);
	chronik_storage_meta__buf_free(&val);
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_meta_offset_commit(
	chronik_storage_meta *meta, const char *group, const char *topic,
	int32_t partition, const chronik_storage_meta_offset *value)
{
	struct meta_ops ops = { 0 };
	int rc;

	if (!meta)
		return CHRONIK_EARG;
	rc = offset_op(&ops, group, topic, partition, value);
	if (!rc)
		rc = commit_ops(meta, &ops);
	chronik_storage_meta__buf_free(&ops.buf);
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_meta_offset_fetch(
	chronik_storage_meta_offset **out, chronik_storage_meta *meta,
	const char *group, const char *topic, int32_t partition)
{
	const struct meta_entry *e;
	chronik_storage_meta_offset o, *r;
	struct meta_key k;
	size_t ml;
	int rc;

	if (!out)
		return CHRONIK_EARG;
	*out = NULL;
	if (!meta || !topic)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_OFFSET, group, topic, 1,
				       partition, 0, 0);
	if (rc)
		return rc;
	pthread_mutex_lock(&meta->mu);
	e = chronik_storage_meta__kv_get(&meta->kv, k.p, k.len);
	if (!e)
		rc = CHRONIK_ENOTFOUND;
	else
		rc = decode_offset(&o, &ml, meta__eval(e), e->vlen);
	if (!rc) {
		r = malloc(sizeof *r + ml + 1);
		if (!r) {
			rc = -ENOMEM;
		} else {
			char *s = (char *)(r + 1);

			*r = o;
			memcpy(s, meta__eval(e) + 33, ml);
			s[ml] = 0;
			r->metadata = s;
			*out = r;
		}
	}
	pthread_mutex_unlock(&meta->mu);
	chronik_storage_meta__key_free(&k);
	return rc;
}

static int simple_delete(chronik_storage_meta *meta, struct meta_key *k)
{
	struct meta_ops ops = { 0 };
	int rc = 0;

	pthread_mutex_lock(&meta->mu);
	if (!chronik_storage_meta__kv_get(&meta->kv, k->p, k->len)) {
		chronik_storage_meta__set_err(meta, "not found");
		rc = CHRONIK_ENOTFOUND;
	} else {
		rc = chronik_storage_meta__ops_del(&ops, k->p, k->len);
	}
	chronik_storage_meta__key_free(k);
	return finish_locked(meta, &ops, rc);
}

CHRONIK_STORAGE_API int chronik_storage_meta_offset_delete(
	chronik_storage_meta *meta, const char *group, const char *topic,
	int32_t partition)
{
	struct meta_key k;
	int rc;

	if (!meta || !topic)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_OFFSET, group, topic, 1,
				       partition, 0, 0);
	if (rc)
		return rc;
	return simple_delete(meta, &k);
}

CHRONIK_STORAGE_API int chronik_storage_meta_offset_foreach(
	chronik_storage_meta *meta, const char *group,
	chronik_storage_meta_offset_cb cb, void *userdata)
{
	struct meta_key k;
	char *mbuf = NULL;
	size_t mcap = 0;
	int rc = 0;

	if (!meta || !cb)
		return CHRONIK_EARG;
	if (group) {
		rc = chronik_storage_meta__key(&k, META_K_OFFSET, group, NULL,
					       0, 0, 0, 0);
		if (rc)
			return rc;
	} else {
		k.p = k.small;
		k.p[0] = META_K_OFFSET;
		k.len = 1;
	}
	pthread_mutex_lock(&meta->mu);
	for (size_t i = chronik_storage_meta__kv_lower(&meta->kv, k.p, k.len);
	     !rc && chronik_storage_meta__kv_has_prefix(&meta->kv, i, k.p,
							k.len);
	     i++) {
		const struct meta_entry *e = meta->kv.v[i];
		const char *g = (const char *)meta__ekey(e) + 1, *t;
		size_t gl = strnlen(g, e->klen - 1), tl, ml;
		chronik_storage_meta_offset o;

		/* 'O' group \0 topic \0 partition(4) */
		if (e->klen < gl + 3 + 4) {
			rc = CHRONIK_ECORRUPT;
			break;
		}
		t = g + gl + 1;
		tl = strnlen(t, e->klen - gl - 2);
		if (e->klen != 1 + gl + 1 + tl + 1 + 4) {
			rc = CHRONIK_ECORRUPT;
			break;
		}
		rc = decode_offset(&o, &ml, meta__eval(e), e->vlen);
		if (rc)
			break;
		if (ml + 1 > mcap) {
			char *nb = realloc(mbuf, ml + 1);

			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			mbuf = nb;
			mcap = ml + 1;
		}
		memcpy(mbuf, meta__eval(e) + 33, ml);
		mbuf[ml] = 0;
		o.metadata = mbuf;
		rc = cb(g, t,
			(int32_t)meta__get32be(meta__ekey(e) + e->klen - 4),
			&o, userdata);
	}
	pthread_mutex_unlock(&meta->mu);
	free(mbuf);
	chronik_storage_meta__key_free(&k);
	return rc;
}

/* ---- groups ---- */

/* Blob callbacks get a non-NULL pointer for an empty blob (NULL means
 * "no blob" in the group iteration). */
static const void *blob_or_empty(const struct meta_entry *e)
{
	return e->vlen ? (const void *)meta__eval(e) : (const void *)"";
}

static int blob_op(struct meta_ops *ops, struct meta_key *k,
		   const void *blob, size_t len)
{
	int rc;

	if (len && !blob)
		rc = CHRONIK_EARG;
	else if (len > CHRONIK_STORAGE_META_MAX_BLOB)
		rc = CHRONIK_ETOOBIG;
	else
		rc = chronik_storage_meta__ops_put(ops, k->p, k->len, blob,
						   len);
	chronik_storage_meta__key_free(k);
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_meta_group_put(
	chronik_storage_meta *meta, const char *group, const void *blob,
	size_t len)
{
	struct meta_ops ops = { 0 };
	struct meta_key k;
	int rc;

	if (!meta)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_GROUP, group, NULL, 0, 0, 0,
				       0);
	if (!rc)
		rc = blob_op(&ops, &k, blob, len);
	if (!rc)
		rc = commit_ops(meta, &ops);
	chronik_storage_meta__buf_free(&ops.buf);
	return rc;
}

static int blob_get(void **blob_out, size_t *len_out,
		    chronik_storage_meta *meta, struct meta_key *k)
{
	const struct meta_entry *e;
	int rc = 0;

	pthread_mutex_lock(&meta->mu);
	e = chronik_storage_meta__kv_get(&meta->kv, k->p, k->len);
	if (!e) {
		rc = CHRONIK_ENOTFOUND;
	} else if (e->vlen) {
		*blob_out = malloc(e->vlen);
		if (!*blob_out)
			rc = -ENOMEM;
		else
			memcpy(*blob_out, meta__eval(e), e->vlen);
		*len_out = rc ? 0 : e->vlen;
	}
	pthread_mutex_unlock(&meta->mu);
	chronik_storage_meta__key_free(k);
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_meta_group_get(
	void **blob_out, size_t *len_out, chronik_storage_meta *meta,
	const char *group)
{
	struct meta_key k;
	int rc;

	if (!blob_out || !len_out)
		return CHRONIK_EARG;
	*blob_out = NULL;
	*len_out = 0;
	if (!meta)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_GROUP, group, NULL, 0, 0, 0,
				       0);
	if (rc)
		return rc;
	return blob_get(blob_out, len_out, meta, &k);
}

CHRONIK_STORAGE_API int chronik_storage_meta_group_delete(
	chronik_storage_meta *meta, const char *group)
{
	struct meta_ops ops = { 0 };
	struct meta_key k;
	int rc, found = 0;

	if (!meta)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_GROUP, group, NULL, 0, 0, 0,
				       0);
	if (rc)
		return rc;
	pthread_mutex_lock(&meta->mu);
	rc = del_prefix(&ops, &meta->kv, k.p, k.len, &found);
	k.p[0] = META_K_OFFSET;
	if (!rc)
		rc = del_prefix(&ops, &meta->kv, k.p, k.len, &found);
	if (!rc && !found) {
		chronik_storage_meta__set_err(meta, "no group '%s'", group);
		rc = CHRONIK_ENOTFOUND;
	}
	chronik_storage_meta__key_free(&k);
	return finish_locked(meta, &ops, rc);
}

CHRONIK_STORAGE_API int chronik_storage_meta_group_foreach(
	chronik_storage_meta *meta, chronik_storage_meta_group_cb cb,
	void *userdata)
{
	const uint8_t gp = META_K_GROUP, op = META_K_OFFSET;
	const struct meta_kv *kv;
	size_t i, j;
	int rc = 0;

	if (!meta || !cb)
		return CHRONIK_EARG;
	pthread_mutex_lock(&meta->mu);
	kv = &meta->kv;
	i = chronik_storage_meta__kv_lower(kv, &gp, 1);
	j = chronik_storage_meta__kv_lower(kv, &op, 1);
	/* Merge the sorted 'G' (state) and 'O' (offsets) ranges by group. */
	while (!rc) {
		int hg = chronik_storage_meta__kv_has_prefix(kv, i, &gp, 1);
		int ho = chronik_storage_meta__kv_has_prefix(kv, j, &op, 1);
		const char *gn = hg ? (const char *)meta__ekey(kv->v[i]) + 1
				    : NULL;
		const char *on = ho ? (const char *)meta__ekey(kv->v[j]) + 1
				    : NULL;
		int c;

		if (!hg && !ho)
			break;
		c = !hg ? 1 : !ho ? -1 : strcmp(gn, on);
		if (c <= 0)
			rc = cb(gn, blob_or_empty(kv->v[i]), kv->v[i]->vlen,
				userdata);
		else
			rc = cb(on, NULL, 0, userdata);
		if (c >= 0) {
			/* Skip every offset of this group: the next key
			 * after "O<group>\0..." is >= "O<group>\1". */
			struct meta_key nk;
			int krc = chronik_storage_meta__key(
				&nk, META_K_OFFSET, on, NULL, 0, 0, 0, 0);

			if (krc) {
				rc = krc;
				break;
			}
			nk.p[nk.len - 1] = 1;
			j = chronik_storage_meta__kv_lower(kv, nk.p, nk.len);
			chronik_storage_meta__key_free(&nk);
		}
		if (c <= 0)
			i++;
	}
	pthread_mutex_unlock(&meta->mu);
	return rc;
}

/* ---- producers ---- */

CHRONIK_STORAGE_API int chronik_storage_meta_producer_id_alloc(
	int64_t *first_out, chronik_storage_meta *meta, int32_t count)
{
	struct meta_ops ops = { 0 };
	const struct meta_entry *e;
	const uint8_t key = META_K_PID_NEXT;
	uint8_t v[9];
	int64_t next = 0;
	int rc = 0;

	if (!first_out || !meta || count < 1 || count > MAX_PID_BLOCK)
		return CHRONIK_EARG;
	pthread_mutex_lock(&meta->mu);
	e = chronik_storage_meta__kv_get(&meta->kv, &key, 1);
	if (e) {
		if (e->vlen != 9 || meta__eval(e)[0] != META_VAL_VERSION)
			rc = CHRONIK_ECORRUPT;
		else
			next = (int64_t)meta__get64(meta__eval(e) + 1);
	}
	if (!rc && (next < 0 || next > INT64_MAX - count))
		rc = CHRONIK_ETOOBIG;
	if (!rc) {
		v[0] = META_VAL_VERSION;
		meta__put64(v + 1, (uint64_t)(next + count));
		rc = chronik_storage_meta__ops_put(&ops, &key, 1, v, sizeof v);
	}
	rc = finish_locked(meta, &ops, rc);
	if (!rc)
		*first_out = next;
	return rc;
}

static int producer_key(struct meta_key *k, const char *topic,
			int32_t partition, int64_t pid)
{
	return chronik_storage_meta__key(k, META_K_PRODUCER, topic, NULL, 1,
					 partition, 1, pid);
}

CHRONIK_STORAGE_API int chronik_storage_meta_producer_state_put(
	chronik_storage_meta *meta, const char *topic, int32_t partition,
	int64_t producer_id, const void *blob, size_t len)
{
	struct meta_ops ops = { 0 };
	struct meta_key k;
	int rc;

	if (!meta)
		return CHRONIK_EARG;
	rc = producer_key(&k, topic, partition, producer_id);
	if (!rc)
		rc = blob_op(&ops, &k, blob, len);
	if (!rc)
		rc = commit_ops(meta, &ops);
	chronik_storage_meta__buf_free(&ops.buf);
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_meta_producer_state_get(
	void **blob_out, size_t *len_out, chronik_storage_meta *meta,
	const char *topic, int32_t partition, int64_t producer_id)
{
	struct meta_key k;
	int rc;

	if (!blob_out || !len_out)
		return CHRONIK_EARG;
	*blob_out = NULL;
	*len_out = 0;
	if (!meta)
		return CHRONIK_EARG;
	rc = producer_key(&k, topic, partition, producer_id);
	if (rc)
		return rc;
	return blob_get(blob_out, len_out, meta, &k);
}

CHRONIK_STORAGE_API int chronik_storage_meta_producer_state_delete(
	chronik_storage_meta *meta, const char *topic, int32_t partition,
	int64_t producer_id)
{
	struct meta_key k;
	int rc;

	if (!meta)
		return CHRONIK_EARG;
	rc = producer_key(&k, topic, partition, producer_id);
	if (rc)
		return rc;
	return simple_delete(meta, &k);
}

CHRONIK_STORAGE_API int chronik_storage_meta_producer_state_foreach(
	chronik_storage_meta *meta, const char *topic, int32_t partition,
	chronik_storage_meta_producer_cb cb, void *userdata)
{
	struct meta_key k;
	int rc = 0;

	if (!meta || !cb || (!topic && partition != -1) || partition < -1)
		return CHRONIK_EARG;
	if (topic) {
		rc = chronik_storage_meta__key(&k, META_K_PRODUCER, topic, NULL,
					       partition >= 0, partition, 0,
					       0);
		if (rc)
			return rc;
	} else {
		k.p = k.small;
		k.p[0] = META_K_PRODUCER;
		k.len = 1;
	}
	pthread_mutex_lock(&meta->mu);
	for (size_t i = chronik_storage_meta__kv_lower(&meta->kv, k.p, k.len);
	     !rc && chronik_storage_meta__kv_has_prefix(&meta->kv, i, k.p,
							k.len);
	     i++) {
		const struct meta_entry *e = meta->kv.v[i];
		const uint8_t *kp = meta__ekey(e);
		const char *t = (const char *)kp + 1;
		size_t tl = strnlen(t, e->klen - 1);

		/* 'P' topic \0 partition(4) producer id(8) */
		if (e->klen != 1 + tl + 1 + 12) {
			rc = CHRONIK_ECORRUPT;
			break;
		}
		rc = cb(t, (int32_t)meta__get32be(kp + e->klen - 12),
			(int64_t)meta__get64be(kp + e->klen - 8),
			blob_or_empty(e), e->vlen, userdata);
	}
	pthread_mutex_unlock(&meta->mu);
	chronik_storage_meta__key_free(&k);
	return rc;
}

/* ---- log start offsets ---- */

static int log_start_op(struct meta_ops *ops, const char *topic,
			int32_t partition, int64_t offset)
{
	struct meta_key k;
	uint8_t v[9];
	int rc;

	if (offset < 0)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_LOG_START, topic, NULL, 1,
				       partition, 0, 0);
	if (rc)
		return rc;
	v[0] = META_VAL_VERSION;
	meta__put64(v + 1, (uint64_t)offset);
	rc = chronik_storage_meta__ops_put(ops, k.p, k.len, v, sizeof v);
	chronik_storage_meta__key_free(&k);
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_meta_log_start_set(
	chronik_storage_meta *meta, const char *topic, int32_t partition,
	int64_t offset)
{
	struct meta_ops ops = { 0 };
	int rc;

	if (!meta)
		return CHRONIK_EARG;
	rc = log_start_op(&ops, topic, partition, offset);
	if (!rc)
		rc = commit_ops(meta, &ops);
	chronik_storage_meta__buf_free(&ops.buf);
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_meta_log_start_get(
	int64_t *out, chronik_storage_meta *meta, const char *topic,
	int32_t partition)
{
	const struct meta_entry *e;
	struct meta_key k;
	int rc;

	if (!out || !meta)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_LOG_START, topic, NULL, 1,
				       partition, 0, 0);
	if (rc)
		return rc;
	pthread_mutex_lock(&meta->mu);
	e = chronik_storage_meta__kv_get(&meta->kv, k.p, k.len);
	if (!e)
		rc = CHRONIK_ENOTFOUND;
	else if (e->vlen != 9 || meta__eval(e)[0] != META_VAL_VERSION)
		rc = CHRONIK_ECORRUPT;
	else
		*out = (int64_t)meta__get64(meta__eval(e) + 1);
	pthread_mutex_unlock(&meta->mu);
	chronik_storage_meta__key_free(&k);
	return rc;
}

/* ---- batches ---- */

CHRONIK_STORAGE_API int chronik_storage_meta_batch_new(
	chronik_storage_meta_batch **out, chronik_storage_meta *meta)
{
	chronik_storage_meta_batch *b;

	if (!out)
		return CHRONIK_EARG;
	*out = NULL;
	if (!meta)
		return CHRONIK_EARG;
	b = calloc(1, sizeof *b);
	if (!b)
		return -ENOMEM;
	b->meta = meta;
	*out = b;
	return 0;
}

CHRONIK_STORAGE_API void chronik_storage_meta_batch_free(
	chronik_storage_meta_batch *b)
{
	if (!b)
		return;
	chronik_storage_meta__buf_free(&b->ops.buf);
	free(b);
}

CHRONIK_STORAGE_API int chronik_storage_meta_batch_offset_commit(
	chronik_storage_meta_batch *b, const char *group, const char *topic,
	int32_t partition, const chronik_storage_meta_offset *value)
{
	if (!b)
		return CHRONIK_EARG;
	return offset_op(&b->ops, group, topic, partition, value);
}

CHRONIK_STORAGE_API int chronik_storage_meta_batch_group_put(
	chronik_storage_meta_batch *b, const char *group, const void *blob,
	size_t len)
{
	struct meta_key k;
	int rc;

	if (!b)
		return CHRONIK_EARG;
	rc = chronik_storage_meta__key(&k, META_K_GROUP, group, NULL, 0, 0, 0,
				       0);
	return rc ? rc : blob_op(&b->ops, &k, blob, len);
}

CHRONIK_STORAGE_API int chronik_storage_meta_batch_producer_state_put(
	chronik_storage_meta_batch *b, const char *topic, int32_t partition,
	int64_t producer_id, const void *blob, size_t len)
{
	struct meta_key k;
	int rc;

	if (!b)
		return CHRONIK_EARG;
	rc = producer_key(&k, topic, partition, producer_id);
	return rc ? rc : blob_op(&b->ops, &k, blob, len);
}

CHRONIK_STORAGE_API int chronik_storage_meta_batch_log_start_set(
	chronik_storage_meta_batch *b, const char *topic, int32_t partition,
	int64_t offset)
{
	if (!b)
		return CHRONIK_EARG;
	return log_start_op(&b->ops, topic, partition, offset);
}

CHRONIK_STORAGE_API size_t chronik_storage_meta_batch_count(
	const chronik_storage_meta_batch *b)
{
	return b ? b->ops.count : 0;
}

CHRONIK_STORAGE_API int chronik_storage_meta_batch_commit(
	chronik_storage_meta_batch *b)
{
	if (!b)
		return CHRONIK_EARG;
	return commit_ops(b->meta, &b->ops);
}

CHRONIK_STORAGE_API int chronik_storage_meta_batch_commit_async(
	chronik_storage_meta_batch *b, chronik_storage_meta_commit_cb cb,
	void *userdata)
{
	int rc;

	if (!b || !cb)
		return CHRONIK_EARG;
	if (b->ops.count == 0) {
		/* Nothing to make durable: report at once, as promised. */
		cb(0, userdata);
		return 0;
	}
	pthread_mutex_lock(&b->meta->mu);
	rc = chronik_storage_meta__submit_locked(b->meta, &b->ops, cb,
						 userdata, NULL);
	pthread_mutex_unlock(&b->meta->mu);
	return rc;
}

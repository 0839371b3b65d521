/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Topic administration shared by the admin handlers: config changes,
 * partition growth, and removal of deleted topics' data (topic_admin.h).
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topic_admin.h"
#include "topic_config.h"

int chronik_topic_admin_set_configs(chronik_broker *b, chronik_topic *t,
				    const chronik_storage_meta_config *cfgs,
				    size_t n)
{
	chronik_storage_topic_config sc;
	char why[256];
	int rc;

	rc = chronik_tc_build(b->cfg, &sc, cfgs, n, why, sizeof why);
	if (rc != 0)
		return rc;
	/* TODO(broker): fsyncs on the loop thread, like topic creation. */
	rc = chronik_storage_meta_topic_configs_alter(b->meta, t->name, cfgs,
		n, CHRONIK_STORAGE_META_CONFIGS_REPLACE);
	if (rc != 0)
		return rc;
	t->cfg = sc;
	for (int32_t p = 0; p < t->partitions; p++) {
		int r = chronik_storage_partition_set_config(t->parts[p], &sc);
		if (r != 0)
			chronik_log_warn(b->log, "admin", "%s-%d: new config "
					 "not applied: %s", t->name, p,
					 chronik_strerror(r));
	}
	chronik_log_info(b->log, "admin", "topic %s: %zu config(s) set",
			 t->name, n);
	return 0;
}

int chronik_topic_admin_grow(chronik_broker *b, chronik_topic *t,
			     int32_t np)
{
	int32_t old = t->partitions;
	chronik_storage_partition **parts;
	chronik_fetch_waiter **waiters;
	int64_t *last_hw;
	size_t *watch_idx;
	int rc;

	if (np <= old)
		return CHRONIK_EARG;
	parts = calloc((size_t)np, sizeof *parts);
	waiters = calloc((size_t)np, sizeof *waiters);
	last_hw = calloc((size_t)np, sizeof *last_hw);
	watch_idx = calloc((size_t)np, sizeof *watch_idx);
	if (!parts || !waiters || !last_hw || !watch_idx) {
		rc = CHRONIK_ENOMEM;
		goto fail;
	}
	/* Open first: a failure leaves at most empty directories that a
	 * later attempt reuses. */
	for (int32_t p = old; p < np; p++) {
		rc = chronik_storage_partition_open(&parts[p], b->storage,
						    t->name, p, &t->cfg);
		if (rc != 0) {
			chronik_log_error(b->log, "admin", "cannot open %s-%d:"
					  " %s (%s)", t->name, p,
					  chronik_strerror(rc),
					  chronik_storage_last_error(
						  b->storage));
			goto fail;
		}
	}
	/* TODO(broker): fsyncs on the loop thread, like topic creation. */
	rc = chronik_storage_meta_topic_set_partitions(b->meta, t->name, np);
	if (rc != 0)
		goto fail;
	for (int32_t p = 0; p < old; p++) {
		parts[p] = t->parts[p];
		last_hw[p] = t->last_hw[p];
		watch_idx[p] = t->watch_idx[p];
		waiters[p] = t->waiters[p];
		/* The list head moved: its first waiter points back at it. */
		if (waiters[p])
			waiters[p]->pprev = &waiters[p];
	}
	free(t->parts);
	free(t->waiters);
	free(t->last_hw);
	free(t->watch_idx);
	t->parts = parts;
	t->waiters = waiters;
	t->last_hw = last_hw;
	t->watch_idx = watch_idx;
	t->partitions = np;
	b->partition_count += np - old;
	chronik_gauge_set(b->bm->partitions, b->partition_count);
	chronik_log_info(b->log, "admin", "topic %s: %d -> %d partitions",
			 t->name, old, np);
	return 0;
fail:
	free(parts);
	free(waiters);
	free(last_hw);
	free(watch_idx);
	return rc;
}

/* ---- start-up purge -------------------------------------------------- */

typedef struct dead_topic {
	char *name;
	uint8_t id[16];
	int32_t partitions;
	int deleted;
} dead_topic;

typedef struct dead_list {
	dead_topic *v;
	size_t n, cap;
} dead_list;

static int collect_cb(const chronik_storage_meta_topic *t, void *ud)
{
	dead_list *l = ud;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->v, cap * sizeof *l->v);
		if (!p)
			return -ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n].name = strdup(t->name);
	if (!l->v[l->n].name)
		return -ENOMEM;
	memcpy(l->v[l->n].id, t->id, 16);
	l->v[l->n].partitions = t->partitions;
	l->v[l->n].deleted = t->deleted;
	l->n++;
	return 0;
}

typedef struct purge_work {
	uv_work_t req;
	chronik_broker *b;
	char dir[CHRONIK_CONFIG_PATH_MAX + 16];
	size_t removed, failed;
} purge_work;

static int rm_cb(const char *path, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Worker thread: remove every <topics>/<...>-delete directory. */
static void purge_run(uv_work_t *req)
{
	purge_work *w = req->data;
	DIR *d = opendir(w->dir);
	struct dirent *de;
	char path[sizeof w->dir + 512];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !ends_with(de->d_name, "-delete"))
			continue;
		snprintf(path, sizeof path, "%s/%s", w->dir, de->d_name);
		nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		if (remove(path) == 0 || errno == ENOENT)
			w->removed++;
		else
			w->failed++;
	}
	closedir(d);
}

static void purge_done(uv_work_t *req, int status)
{
	purge_work *w = req->data;

	if (status == 0 && (w->removed || w->failed))
		chronik_log_info(w->b->log, "admin", "removed %zu deleted "
				 "partition directories (%zu failed)",
				 w->removed, w->failed);
	free(w);
}

static void rename_dead(chronik_broker *b, const char *topics,
			const dead_topic *t, int32_t p)
{
	char src[CHRONIK_CONFIG_PATH_MAX + 300];
	char dst[sizeof src + 48];
	char hex[33];

	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", t->id[i]);
	snprintf(src, sizeof src, "%s/%s-%d", topics, t->name, (int)p);
	snprintf(dst, sizeof dst, "%s.%s-delete", src, hex);
	if (rename(src, dst) == 0)
		chronik_log_info(b->log, "admin", "%s-%d: deleted, moved to "
				 "%s", t->name, (int)p, dst);
	else if (errno != ENOENT)
		chronik_log_warn(b->log, "admin", "cannot rename %s: %s",
				 src, strerror(errno));
}

void chronik_topic_admin_purge_deleted(chronik_broker *b)
{
	dead_list l = { 0 };
	char topics[CHRONIK_CONFIG_PATH_MAX + 16];
	int rc;

	snprintf(topics, sizeof topics, "%s/topics", b->cfg->data_dir);
	rc = chronik_storage_meta_topic_foreach(b->meta, collect_cb, &l);
	if (rc != 0)
		chronik_log_warn(b->log, "admin", "listing topics for the "
				 "purge: %s", chronik_strerror(rc));
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		dead_topic *t = &l.v[i];
		if (t->deleted) {
			for (int32_t p = 0; p < t->partitions; p++)
				rename_dead(b, topics, t, p);
			int r = chronik_storage_meta_topic_purge(b->meta,
								 t->name);
			if (r != 0)
				chronik_log_warn(b->log, "admin", "purging "
						 "topic %s: %s", t->name,
						 chronik_strerror(r));
		}
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].name);
	free(l.v);

	purge_work *w = calloc(1, sizeof *w);
	if (!w)
		return;
	w->b = b;
	w->req.data = w;
	snprintf(w->dir, sizeof w->dir, "%s", topics);
	if (uv_queue_work(b->loop, &w->req, purge_run, purge_done) != 0)
		free(w);
}

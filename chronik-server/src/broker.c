/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Broker lifecycle: start-up (data directory, admin key, HTTP, metadata
 * store, storage recovery, partitions, listener), the topic cache,
 * cross-thread posting, the storage event fd, and the graceful shutdown.
 * Runs on the main thread, which is the loop thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "admin_key.h"
#include "broker.h"
#include "cli.h"
#include "group_broker.h"
#include "handlers/handlers.h"
#include "net.h"
#include "topic_admin.h"

#include "producers.h"
#include "wal_metrics.h"
#include "fsio.h"

/* How long a graceful shutdown waits for in-flight requests. */
#define SHUTDOWN_GRACE_MS 10000

/* ---- posting work to the loop (any thread) ---------------------------- */

static void post_push(chronik_broker *b, chronik_post_item *it,
		      chronik_post_fn fn, void *arg, bool owned, bool wake)
{
	it->fn = fn;
	it->arg = arg;
	it->owned = owned;
	it->next = NULL;
	uv_mutex_lock(&b->post_mu);
	if (b->post_tail)
		b->post_tail->next = it;
	else
		b->post_head = it;
	b->post_tail = it;
	wake = wake && !b->post_closed;
	uv_mutex_unlock(&b->post_mu);
	if (wake)
		uv_async_send(&b->post_async);
}

void chronik_broker_post_item(chronik_broker *b, chronik_post_item *it,
			      chronik_post_fn fn, void *arg, bool wake)
{
	post_push(b, it, fn, arg, false, wake);
}

int chronik_broker_post(chronik_broker *b, chronik_post_fn fn, void *arg)
{
	chronik_post_item *it = malloc(sizeof *it);

	if (!it)
		return -ENOMEM;
	post_push(b, it, fn, arg, true, true);
	return 0;
}

/* Run everything posted so far (loop thread, or main after the loop). */
static void post_drain(chronik_broker *b)
{
	chronik_post_item *it;

	uv_mutex_lock(&b->post_mu);
	it = b->post_head;
	b->post_head = b->post_tail = NULL;
	uv_mutex_unlock(&b->post_mu);
	while (it) {
		/* fn may free a caller-owned item. */
		chronik_post_item *next = it->next;
		bool owned = it->owned;
		it->fn(it->arg);
		if (owned)
			free(it);
		it = next;
	}
}

static void on_post(uv_async_t *a)
{
	post_drain(a->data);
}

/* ---- handlers --------------------------------------------------------- */

int chronik_broker_register(chronik_broker *b, const chronik_handler *h)
{
	const chronik_protocol_api_info *info;

	if (!h || !h->fn || h->api_key < 0 ||
	    h->api_key >= CHRONIK_METRICS_MAX_API)
		return CHRONIK_EARG;
	info = chronik_protocol_api_get(h->api_key);
	if (!info || h->min_version < info->min_version ||
	    h->max_version > info->max_version ||
	    h->min_version > h->max_version)
		return CHRONIK_EARG;
	b->handlers[h->api_key] = *h;
	chronik_broker_metrics_add_api(b->bm, h->api_key, info->name);
	return 0;
}

/* ---- topics ----------------------------------------------------------- */

bool chronik_topic_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > 249)
		return false;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return true;
}

chronik_topic *chronik_broker_topic_find(chronik_broker *b,
					 const char *name, size_t len)
{
	for (chronik_topic *t = b->topics; t; t = t->next)
		if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
			return t;
	return NULL;
}

chronik_topic *chronik_broker_topic_find_id(chronik_broker *b,
					    const uint8_t id[16])
{
	for (chronik_topic *t = b->topics; t; t = t->next)
		if (memcmp(t->id, id, 16) == 0)
			return t;
	return NULL;
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return CHRONIK_EARG;
	*out = v;
	return 0;
}

/* Effective storage config: defaults, then the topic's own configs. */
static int topic_config_build(chronik_broker *b,
			      chronik_storage_topic_config *c,
			      const chronik_storage_meta_config *cfgs,
			      size_t n, const char **why)
{
	const chronik_config_topic_defaults *d = &b->cfg->topic_defaults;
	const char *policy = d->cleanup_policy;

	chronik_storage_topic_config_init(c,
		CHRONIK_STORAGE_TOPIC_CONFIG_VERSION);
	c->retention_ms = d->retention_ms;
	c->retention_bytes = d->retention_bytes;
	c->segment_bytes = (uint64_t)d->segment_bytes;
	c->segment_ms = d->segment_ms;
	c->max_message_bytes = (uint32_t)d->max_message_bytes;
	for (size_t i = 0; i < n; i++) {
		const char *k = cfgs[i].key, *v = cfgs[i].value;
		int64_t x = 0;
		int rc = 0;
		if (!v)
			continue;
		if (strcmp(k, "cleanup.policy") == 0) {
			policy = v;
			continue;
		}
		if (strcmp(k, "message.timestamp.type") == 0) {
			if (strcmp(v, "CreateTime") == 0)
				c->message_timestamp_type =
					CHRONIK_STORAGE_TIMESTAMP_CREATE_TIME;
			else if (strcmp(v, "LogAppendTime") == 0)
				c->message_timestamp_type =
				    CHRONIK_STORAGE_TIMESTAMP_LOG_APPEND_TIME;
			else
				goto bad;
			continue;
		}
		if (strcmp(k, "retention.ms") == 0)
			rc = parse_i64(v, &c->retention_ms);
		else if (strcmp(k, "retention.bytes") == 0)
			rc = parse_i64(v, &c->retention_bytes);
		else if (strcmp(k, "segment.ms") == 0)
			rc = parse_i64(v, &c->segment_ms);
		else if (strcmp(k, "delete.retention.ms") == 0)
			rc = parse_i64(v, &c->delete_retention_ms);
		else if (strcmp(k, "segment.bytes") == 0) {
			rc = parse_i64(v, &x);
			if (rc == 0 && (x < 14 || x > INT32_MAX))
				goto bad;
			c->segment_bytes = (uint64_t)x;
		} else if (strcmp(k, "max.message.bytes") == 0) {
			rc = parse_i64(v, &x);
			if (rc == 0 && (x < 0 || x > INT32_MAX))
				goto bad;
			c->max_message_bytes = (uint32_t)x;
		} else if (strcmp(k, "index.interval.bytes") == 0) {
			rc = parse_i64(v, &x);
			if (rc == 0 && (x < 0 || x > INT32_MAX))
				goto bad;
			c->index_interval_bytes = (uint32_t)x;
		}
		/* Other Kafka configs are stored and reported, not used. */
		if (rc != 0)
			goto bad;
		continue;
bad:
		if (why)
			*why = k;
		return CHRONIK_EARG;
	}
	if (strcmp(policy, "delete") == 0)
		c->cleanup_policy = CHRONIK_STORAGE_CLEANUP_DELETE;
	else if (strcmp(policy, "compact") == 0)
		c->cleanup_policy = CHRONIK_STORAGE_CLEANUP_COMPACT;
	else if (strcmp(policy, "delete,compact") == 0 ||
		 strcmp(policy, "compact,delete") == 0)
		c->cleanup_policy = CHRONIK_STORAGE_CLEANUP_DELETE |
				    CHRONIK_STORAGE_CLEANUP_COMPACT;
	else {
		if (why)
			*why = "cleanup.policy";
		return CHRONIK_EARG;
	}
	/* The partition log's own floor for segment sizes. */
	if (c->segment_bytes < 4096)
		c->segment_bytes = 4096;
	return 0;
}

/* Add a topic to the cache and open its partitions (loop thread). */
static void topic_free(chronik_topic *t)
{
	free(t->name);
	free(t->parts);
	free(t->waiters);
	free(t->last_hw);
	free(t->watch_idx);
	free(t);
}

static int topic_add(chronik_broker *b, const chronik_storage_meta_topic *mt,
		     chronik_topic **out)
{
	chronik_topic *t = calloc(1, sizeof *t);
	const char *why = NULL;
	int rc;

	if (!t)
		return -ENOMEM;
	t->name = strdup(mt->name);
	memcpy(t->id, mt->id, 16);
	t->partitions = mt->partitions;
	t->parts = calloc((size_t)mt->partitions, sizeof *t->parts);
	t->waiters = calloc((size_t)mt->partitions, sizeof *t->waiters);
	t->last_hw = calloc((size_t)mt->partitions, sizeof *t->last_hw);
	t->watch_idx = calloc((size_t)mt->partitions, sizeof *t->watch_idx);
	if (!t->name || !t->parts || !t->waiters || !t->last_hw ||
	    !t->watch_idx) {
		rc = -ENOMEM;
		goto fail;
	}
	if (topic_config_build(b, &t->cfg, mt->configs, mt->nconfigs,
			       &why) != 0) {
		chronik_log_warn(b->log, "broker", "topic %s: invalid config "
				 "%s; using defaults", mt->name, why);
		topic_config_build(b, &t->cfg, NULL, 0, NULL);
	}
	for (int32_t p = 0; p < t->partitions; p++) {
		rc = chronik_storage_partition_open(&t->parts[p], b->storage,
						    t->name, p, &t->cfg);
		if (rc != 0) {
			chronik_log_error(b->log, "broker", "cannot open %s-%d:"
					  " %s (%s)", t->name, p,
					  chronik_strerror(rc),
					  chronik_storage_last_error(
						  b->storage));
			goto fail;
		}
	}
	t->next = b->topics;
	b->topics = t;
	b->partition_count += t->partitions;
	chronik_gauge_set(b->bm->partitions, b->partition_count);
	if (out)
		*out = t;
	return 0;
fail:
	topic_free(t);
	return rc;
}

/* A topic whose partition logs a worker thread is deleting. */
typedef struct chronik_topic_deletion {
	uv_work_t work;
	chronik_broker *b;
	char *name;
	int32_t partitions;
	int failed;
	struct chronik_topic_deletion *next;
} chronik_topic_deletion;

static bool deletion_pending(chronik_broker *b, const char *name)
{
	for (chronik_topic_deletion *d = b->deletions; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return true;
	return false;
}

int chronik_broker_topic_create(chronik_broker *b, chronik_topic **out,
				const char *name, int32_t partitions,
				const chronik_storage_meta_config *configs,
				size_t nconfigs, bool validate_only,
				const char **why)
{
	chronik_storage_topic_config tc;
	chronik_storage_meta_topic *mt = NULL;
	int rc;

	if (why)
		*why = NULL;
	if (!chronik_topic_name_valid(name, strlen(name))) {
		if (why)
			*why = "invalid topic name";
		return CHRONIK_EARG;
	}
	if (chronik_broker_topic_find(b, name, strlen(name)) ||
	    deletion_pending(b, name))
		return CHRONIK_EEXIST;
	if (partitions <= 0)
		partitions = b->cfg->num_partitions;
	if (partitions > 100000) {
		if (why)
			*why = "too many partitions";
		return CHRONIK_EARG;
	}
	rc = topic_config_build(b, &tc, configs, nconfigs, why);
	if (rc != 0)
		return rc;
	if (validate_only)
		return 0;
	/* TODO(broker): this fsyncs on the loop thread; move metadata
	 * writes to a worker once topic churn matters (#5). */
	rc = chronik_storage_meta_topic_create(NULL, b->meta, name,
					       partitions, configs, nconfigs,
					       0);
	if (rc != 0)
		return rc;
	rc = chronik_storage_meta_topic_get(&mt, b->meta, name);
	if (rc != 0)
		return rc;
	rc = topic_add(b, mt, out);
	chronik_storage_meta_free(mt);
	if (rc == 0)
		chronik_log_info(b->log, "broker", "created topic %s with %d "
				 "partition(s)", name, partitions);
	return rc;
}

/* Storage deletion of every partition (threadpool: it waits for
 * appends in flight and fsyncs, which the loop must not). */
static int partitions_delete(chronik_broker *b, const char *name,
			     int32_t partitions)
{
	int failed = 0;

	for (int32_t p = 0; p < partitions; p++) {
		int rc = chronik_storage_partition_delete(b->storage, name, p);
		if (rc != 0 && rc != CHRONIK_ENOTFOUND) {
			chronik_log_error(b->log, "broker", "deleting %s-%d: "
					  "%s (%s)", name, p,
					  chronik_strerror(rc),
					  chronik_storage_last_error(
						  b->storage));
			failed++;
		}
	}
	return failed;
}

static void deletion_work(uv_work_t *w)
{
	chronik_topic_deletion *d = w->data;
	d->failed = partitions_delete(d->b, d->name, d->partitions);
}

static void deletion_done(uv_work_t *w, int status)
{
	chronik_topic_deletion *d = w->data;
	chronik_broker *b = d->b;
	chronik_topic_deletion **pp;

	for (pp = &b->deletions; *pp != d; pp = &(*pp)->next)
		;
	*pp = d->next;
	if (status == 0 && d->failed == 0)
		chronik_log_info(b->log, "broker", "topic %s: partition logs "
				 "deleted", d->name);
	free(d->name);
	free(d);
}

int chronik_broker_topic_delete(chronik_broker *b, const char *name)
{
	chronik_topic **pp, *t;
	int rc;

	for (pp = &b->topics; (t = *pp); pp = &t->next)
		if (strcmp(t->name, name) == 0)
			break;
	if (!t)
		return CHRONIK_ENOTFOUND;
	rc = chronik_storage_meta_topic_mark_deleted(b->meta, name);
	if (rc != 0)
		return rc;
	/* Long polls on it answer now, rebuilt without the topic: they
	 * carry UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID by id), as
	 * Kafka's delayed fetches do. */
	*pp = t->next;
	for (int32_t p = 0; p < t->partitions; p++)
		while (t->waiters[p])
			t->waiters[p]->req->cancel(t->waiters[p]->req);
	b->partition_count -= t->partitions;
	chronik_gauge_set(b->bm->partitions, b->partition_count);
	chronik_log_info(b->log, "broker", "deleted topic %s", name);
	/* The partition logs go on a worker; meanwhile the name cannot be
	 * created again (it would meet the old logs). Without memory for
	 * that, here: blocking the loop beats keeping the data. */
	chronik_topic_deletion *d = calloc(1, sizeof *d);
	if (d && (d->name = strdup(t->name)) != NULL) {
		d->b = b;
		d->partitions = t->partitions;
		d->work.data = d;
		if (uv_queue_work(b->loop, &d->work, deletion_work,
				  deletion_done) == 0) {
			d->next = b->deletions;
			b->deletions = d;
			d = NULL;
		} else {
			partitions_delete(b, t->name, t->partitions);
		}
	} else {
		partitions_delete(b, t->name, t->partitions);
	}
	if (d)
		free(d->name);
	free(d);
	topic_free(t);
	return 0;
}

typedef struct load_ctx {
	chronik_storage_meta_topic **list;
	size_t n, cap;
	/* Deleted topics: "name" strings and partition counts. */
	char **dead;
	int32_t *dead_parts;
	size_t ndead, capdead;
} load_ctx;

/* Copy the topic names (the callback may not call into the store). */
static int load_cb(const chronik_storage_meta_topic *t, void *ud)
{
	load_ctx *l = ud;
	if (t->deleted) {
		if (l->ndead == l->capdead) {
			size_t cap = l->capdead ? l->capdead * 2 : 16;
			void *a = realloc(l->dead, cap * sizeof *l->dead);
			if (!a)
				return -ENOMEM;
			l->dead = a;
			a = realloc(l->dead_parts, cap * sizeof *l->dead_parts);
			if (!a)
				return -ENOMEM;
			l->dead_parts = a;
			l->capdead = cap;
		}
		l->dead[l->ndead] = strdup(t->name);
		if (!l->dead[l->ndead])
			return -ENOMEM;
		l->dead_parts[l->ndead++] = t->partitions;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->list, cap * sizeof *l->list);
		if (!p)
			return -ENOMEM;
		l->list = p;
		l->cap = cap;
	}
	l->list[l->n] = (void *)strdup(t->name);
	if (!l->list[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static int topics_load(chronik_broker *b)
{
	load_ctx l = { 0 };
	int rc = chronik_storage_meta_topic_foreach(b->meta, load_cb, &l);

	for (size_t i = 0; i < l.n; i++) {
		char *name = (char *)l.list[i];
		chronik_storage_meta_topic *mt;
		if (rc == 0 && chronik_storage_meta_topic_get(&mt, b->meta,
							      name) == 0) {
			rc = topic_add(b, mt, NULL);
			chronik_storage_meta_free(mt);
		}
		free(name);
	}
	free(l.list);
	/* A crash between the metadata deletion and the storage's leaves
	 * partition logs of deleted topics: delete them now (unless the
	 * name lives again, as a newer topic that owns them). */
	for (size_t i = 0; i < l.ndead; i++) {
		const char *name = l.dead[i];
		if (rc == 0 && !chronik_broker_topic_find(b, name,
							  strlen(name)))
			partitions_delete(b, name, l.dead_parts[i]);
		free(l.dead[i]);
	}
	free(l.dead);
	free(l.dead_parts);
	return rc;
}

/* ---- cluster id ------------------------------------------------------- */

/* The cluster id is 16 random bytes in Kafka's base64url form, kept in
 * <data>/cluster.id (written once: temp file, fsync, rename). */
static int cluster_id_load(chronik_broker *b)
{
	char path[CHRONIK_CONFIG_PATH_MAX + 32], tmp[sizeof path + 8];
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				  "qrstuvwxyz0123456789-_";
	uint8_t raw[18] = { 0 };
	FILE *f;

	snprintf(path, sizeof path, "%s/cluster.id", b->cfg->data_dir);
	f = fopen(path, "r");
	if (f) {
		char buf[64] = "";
		if (fgets(buf, sizeof buf, f))
			buf[strcspn(buf, "\r\n")] = '\0';
		fclose(f);
		if (buf[0]) {
			snprintf(b->cluster_id, sizeof b->cluster_id, "%s",
				 buf);
			return 0;
		}
	}
	if (getrandom(raw, 16, 0) != 16)
		return -errno;
	size_t o = 0;
	for (size_t i = 0; i < 16; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 |
			     raw[i + 2];
		for (int k = 0; k < 4 && o < 22; k++)
			b->cluster_id[o++] = b64[(v >> (18 - 6 * k)) & 63];
	}
	b->cluster_id[o] = '\0';
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	dprintf(fd, "%s\n", b->cluster_id);
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0)
		return -errno;
	return chronik_util_fsync_dir(b->cfg->data_dir);
}

/* ---- HTTP admin provider (HTTP thread) -------------------------------- */

static int admin_status(json_t **out, void *ud)
{
	chronik_broker *b = ud;
	*out = json_pack("{s:i,s:s,s:s,s:s}", "node_id", (int)b->node_id,
			 "version", chronik_cli_version(), "cluster_id",
			 b->cluster_id, "state",
			 atomic_load(&b->stopping) ? "stopping" :
						     "running");
	return *out ? 0 : CHRONIK_ENOMEM;
}

static int admin_topic_cb(const chronik_storage_meta_topic *t, void *ud)
{
	if (!t->deleted)
		json_array_append_new(ud, json_pack("{s:s,s:i}", "name",
			t->name, "partitions", (int)t->partitions));
	return 0;
}

static int admin_topics(json_t **out, void *ud)
{
	chronik_broker *b = ud;
	json_t *arr = json_array();
	if (!arr)
		return CHRONIK_ENOMEM;
	chronik_storage_meta_topic_foreach(b->meta, admin_topic_cb, arr);
	*out = json_pack("{s:o}", "topics", arr);
	return *out ? 0 : CHRONIK_ENOMEM;
}

/* ---- storage events --------------------------------------------------- */

static void storage_log(int level, const char *msg, void *ud)
{
	chronik_broker *b = ud;
	chronik_log_write(b->log, level == 0 ? CHRONIK_LOG_ERROR :
			  level == 1 ? CHRONIK_LOG_WARN : CHRONIK_LOG_INFO,
			  "storage", "%s", msg);
}

/* The storage's eventfd: some high watermark moved (loop thread). */
static void on_storage_event(uv_poll_t *p, int status, int events)
{
	chronik_broker *b = p->data;
	uint64_t n = 0;
	(void)events;
	if (status < 0)
		return;
	(void)!read(chronik_storage_event_fd(b->storage), &n, sizeof n);
	/* Completions posted without a wake-up (storage callbacks, see
	 * chronik_broker_post_item) are due with this event. */
	post_drain(b);
	chronik_fetch_wake(b);
}

/* End of a loop iteration: the acks=1 batches appended meanwhile
 * (deferred) go to the WAL file in one write, from this thread when the
 * WAL's writer is idle, and the requests that completed are answered now,
 * without waiting for a wake-up. */
static void on_storage_flush(uv_check_t *h)
{
	chronik_broker *b = h->data;

	if (!b->storage_flush_due)
		return;
	b->storage_flush_due = false;
	chronik_storage_append_flush(b->storage);
	post_drain(b);
}

/* Metrics collector (HTTP thread, at each scrape): the WAL's own
 * counters (wal_metrics.c), while the storage is open. */
static void wal_collector(chronik_metrics *reg, void *ud)
{
	chronik_broker *b = ud;
	(void)reg;

	uv_mutex_lock(&b->stats_mu);
	if (b->stats_storage)
		chronik_wal_metrics_copy(b->stats_storage, b->bm->wal_syncs,
					 b->bm->wal_sync_records,
					 b->bm->wal_sync_seconds);
	uv_mutex_unlock(&b->stats_mu);
}

/* ---- shutdown --------------------------------------------------------- */

static void close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void shutdown_finish(chronik_broker *b)
{
	chronik_net_close_all(b);
	chronik_groups_stop(b);
	uv_timer_stop(&b->shutdown_timer);
	close_handle((uv_handle_t *)&b->shutdown_timer);
	close_handle((uv_handle_t *)&b->storage_poll);
	close_handle((uv_handle_t *)&b->storage_flush);
	close_handle((uv_handle_t *)&b->sigterm);
	close_handle((uv_handle_t *)&b->sigint);
	uv_mutex_lock(&b->post_mu);
	b->post_closed = true;
	uv_mutex_unlock(&b->post_mu);
	close_handle((uv_handle_t *)&b->post_async);
}

static void on_shutdown_tick(uv_timer_t *t)
{
	chronik_broker *b = t->data;

	if (chronik_net_idle(b) ||
	    ++b->shutdown_ticks * 20 >= SHUTDOWN_GRACE_MS) {
		if (!chronik_net_idle(b))
			chronik_log_warn(b->log, "broker", "shutdown: requests "
					 "still in flight after %d ms; closing",
					 SHUTDOWN_GRACE_MS);
		shutdown_finish(b);
	}
}

static void on_signal(uv_signal_t *s, int signum)
{
	chronik_broker *b = s->data;

	if (atomic_load(&b->stopping)) {
		chronik_log_warn(b->log, "broker", "second signal: closing "
				 "connections now");
		shutdown_finish(b);
		return;
	}
	chronik_log_info(b->log, "broker", "%s: shutting down",
			 signum == SIGTERM ? "SIGTERM" : "SIGINT");
	atomic_store(&b->stopping, true);
	if (b->http)
		chronik_http_set_ready(b->http, false);
	chronik_net_stop_accepting(b);
	chronik_net_quiesce(b);
	uv_timer_start(&b->shutdown_timer, on_shutdown_tick, 0, 20);
}

/* ---- lifecycle -------------------------------------------------------- */

static int mkdir_p1(const char *dir)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

int chronik_broker_open(chronik_broker *b, const chronik_config *cfg,
			chronik_log *log, uv_loop_t *loop)
{
	char path[CHRONIK_CONFIG_PATH_MAX + 32];
	char key[CHRONIK_ADMIN_KEY_MAX + 1];
	char err[CHRONIK_CONFIG_ERR_MAX];
	int rc;

	memset(b, 0, sizeof *b);
	b->cfg = cfg;
	b->log = log;
	b->loop = loop;
	b->node_id = cfg->node_id;
	b->max_request_bytes = (size_t)cfg->socket_request_max_bytes;
	b->idle_ms = (uint64_t)cfg->connections_max_idle_ms;
	b->max_inflight = 128;
	b->max_queued_output = 64u << 20;
	uv_mutex_init(&b->post_mu);
	uv_mutex_init(&b->stats_mu);
	atomic_init(&b->stopping, false);
	/* Splice markers must not be guessable by clients (they echo
	 * topic names into responses). */
	if (getrandom(b->splice_nonce, sizeof b->splice_nonce, 0) !=
	    (ssize_t)sizeof b->splice_nonce)
		return -errno;
	/* A write to a peer that closed must fail with EPIPE, not kill
	 * the broker (sendfile(2) has no MSG_NOSIGNAL). */
	signal(SIGPIPE, SIG_IGN);
	/* Fetches hold segment fds while their responses are written. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	b->metrics = NULL;
	if (chronik_metrics_new(&b->metrics) != 0)
		return CHRONIK_ENOMEM;
	b->bm = calloc(1, sizeof *b->bm);
	if (!b->bm || chronik_broker_metrics_init(b->bm, b->metrics,
						  chronik_cli_version()) != 0)
		return CHRONIK_ENOMEM;
	for (size_t i = 0; i < chronik_handler_table_len; i++) {
		rc = chronik_broker_register(b, &chronik_handler_table[i]);
		if (rc != 0) {
			chronik_log_error(log, "broker", "bad handler table "
					  "entry for API %d",
					  chronik_handler_table[i].api_key);
			return rc;
		}
	}

	rc = mkdir_p1(cfg->data_dir);
	if (rc != 0) {
		chronik_log_error(log, "broker", "cannot create %s: %s",
				  cfg->data_dir, chronik_strerror(rc));
		return rc;
	}
	rc = chronik_admin_key_load(key, sizeof key, NULL, cfg->admin_api_key,
				    cfg->data_dir, log, err, sizeof err);
	if (rc != 0) {
		chronik_log_error(log, "broker", "%s", err);
		return rc;
	}
	rc = cluster_id_load(b);
	if (rc != 0) {
		chronik_log_error(log, "broker", "cannot store the cluster "
				  "id in %s: %s", cfg->data_dir,
				  chronik_strerror(rc));
		return rc;
	}

	/* HTTP first, so /health answers during recovery (/ready: 503). */
	chronik_http_options ho = {
		.host = cfg->bind_kafka.host,
		.port = cfg->http_port,
		.admin_key = key,
		.metrics = b->metrics,
		.admin = { admin_status, admin_topics, b },
		.log = log,
	};
	rc = chronik_http_start(&b->http, &ho, err, sizeof err);
	memset(key, 0, sizeof key);
	if (rc != 0) {
		chronik_log_error(log, "http", "%s", err);
		return rc;
	}

	chronik_storage_meta_options mo;
	char *merr = NULL;
	chronik_storage_meta_options_init(&mo,
		CHRONIK_STORAGE_META_OPTIONS_VERSION);
	snprintf(path, sizeof path, "%s/meta", cfg->data_dir);
	mo.dir = path;
	chronik_log_info(log, "broker", "opening metadata store %s", path);
	rc = chronik_storage_meta_open(&b->meta, &mo, &merr);
	if (rc != 0) {
		chronik_log_error(log, "broker", "metadata store: %s",
				  merr ? merr : chronik_strerror(rc));
		chronik_storage_meta_free(merr);
		return rc;
	}

	/* Deleted topics' directories go before the storage opens them. */
	chronik_topic_admin_purge_deleted(b);

	chronik_storage_options so;
	chronik_storage_options_init(&so, CHRONIK_STORAGE_OPTIONS_VERSION);
	so.wal_profile = (int)cfg->wal_profile;
	so.log = storage_log;
	so.userdata = b;
	chronik_log_info(log, "broker", "opening storage %s (WAL profile "
			 "%s), recovering", cfg->data_dir,
			 chronik_wal_profile_name(cfg->wal_profile));
	uint64_t t0 = chronik_now_ns();
	rc = chronik_storage_open(&b->storage, cfg->data_dir, &so);
	if (rc != 0) {
		chronik_log_error(log, "broker", "storage: %s",
				  chronik_strerror(rc));
		return rc;
	}
	uv_mutex_lock(&b->stats_mu);
	b->stats_storage = b->storage;
	uv_mutex_unlock(&b->stats_mu);
	chronik_metrics_add_collector(b->metrics, wal_collector, b);
	rc = topics_load(b);
	if (rc != 0)
		return rc;
	rc = chronik_groups_start(b);
	if (rc != 0)
		return rc;
	chronik_log_info(log, "broker", "recovered %d partition(s) in %.0f "
			 "ms", b->partition_count,
			 (double)(chronik_now_ns() - t0) / 1e6);

	uv_async_init(loop, &b->post_async, on_post);
	b->post_async.data = b;
	uv_poll_init(loop, &b->storage_poll,
		     chronik_storage_event_fd(b->storage));
	b->storage_poll.data = b;
	uv_poll_start(&b->storage_poll, UV_READABLE, on_storage_event);
	uv_check_init(loop, &b->storage_flush);
	b->storage_flush.data = b;
	uv_check_start(&b->storage_flush, on_storage_flush);
	uv_unref((uv_handle_t *)&b->storage_flush);
	uv_timer_init(loop, &b->shutdown_timer);
	b->shutdown_timer.data = b;
	uv_signal_init(loop, &b->sigterm);
	uv_signal_init(loop, &b->sigint);
	b->sigterm.data = b->sigint.data = b;
	uv_signal_start(&b->sigterm, on_signal, SIGTERM);
	uv_signal_start(&b->sigint, on_signal, SIGINT);

	rc = chronik_net_listen(b);
	if (rc != 0) {
		shutdown_finish(b);
		uv_run(loop, UV_RUN_DEFAULT);
		return rc;
	}
	snprintf(b->advertised_host, sizeof b->advertised_host, "%s",
		 cfg->advertise_kafka.host);
	b->advertised_port = cfg->advertise_kafka.port ?
			     cfg->advertise_kafka.port : b->bound_port;
	chronik_log_info(log, "net", "kafka listening on %s:%d, advertised "
			 "as %s:%d", cfg->bind_kafka.host, b->bound_port,
			 b->advertised_host, b->advertised_port);
	chronik_http_set_ready(b->http, true);
	return 0;
}

int chronik_broker_run(chronik_broker *b)
{
	uv_run(b->loop, UV_RUN_DEFAULT);
	return b->exit_code;
}

void chronik_broker_close(chronik_broker *b)
{
	int rc;

	if (b->http)
		chronik_http_set_ready(b->http, false);
	chronik_producers_snapshot_all(b);
	uv_mutex_lock(&b->stats_mu);
	b->stats_storage = NULL; /* the metrics collector lets go */
	uv_mutex_unlock(&b->stats_mu);
	if (b->storage) {
		chronik_log_info(b->log, "broker", "syncing and closing "
				 "storage");
		rc = chronik_storage_close(b->storage);
		if (rc != 0) {
			chronik_log_error(b->log, "broker", "storage close: %s",
					  chronik_strerror(rc));
			b->exit_code = 1;
		}
		b->storage = NULL;
	}
	/* Completions that arrived while storage closed. */
	post_drain(b);
	b->arena_pool_closed = true;
	while (b->narena_pool > 0)
		chronik_protocol_arena_free(b->arena_pool[--b->narena_pool]);
	chronik_net__pools_free(b);
	chronik_groups_free(b);
	chronik_producers_free(b);
	if (b->meta) {
		chronik_storage_meta_snapshot(b->meta);
		chronik_storage_meta_close(b->meta);
		b->meta = NULL;
	}
	while (b->topics) {
		chronik_topic *t = b->topics;
		b->topics = t->next;
		topic_free(t);
	}
	free(b->fetch_watch);
	b->fetch_watch = NULL;
	b->nfetch_watch = b->capfetch_watch = 0;
	chronik_http_stop(b->http);
	b->http = NULL;
	if (b->bm) {
		chronik_broker_metrics_free(b->bm);
		free(b->bm);
	}
	chronik_metrics_free(b->metrics);
	uv_mutex_destroy(&b->post_mu);
	uv_mutex_destroy(&b->stats_mu);
	chronik_log_info(b->log, "broker", "stopped");
}

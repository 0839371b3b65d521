/* SPDX-License-Identifier: Apache-2.0 */
/* Metadata store: CRUD and iteration of every entity, batches, reopen
 * (log replay and snapshots), corrupt snapshots and logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>

#include "chronik/storage.h"
#include "test_meta_util.h"

struct fx {
	char *dir;
	chronik_storage_meta *m;
};

static chronik_storage_meta *open_dir(const char *dir, unsigned int flags,
				      uint64_t snap_bytes, int *rc_out,
				      char **err_out)
{
	chronik_storage_meta_options o = CHRONIK_STORAGE_META_OPTIONS_INIT;
	chronik_storage_meta *m = NULL;
	int rc;

	o.dir = dir;
	o.flags = flags;
	o.snapshot_log_bytes = snap_bytes;
	o.log_segment_size = 64 * 1024;
	rc = chronik_storage_meta_open(&m, &o, err_out);
	if (rc_out)
		*rc_out = rc;
	return m;
}

static chronik_storage_meta *must_open(const char *dir)
{
	int rc;
	char *err = NULL;
	chronik_storage_meta *m = open_dir(dir, CHRONIK_STORAGE_META_NO_SYNC,
					   0, &rc, &err);

	if (rc)
		fprintf(stderr, "open: %s: %s\n", chronik_strerror(rc), err);
	assert_int_equal(rc, 0);
	assert_non_null(m);
	return m;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char path[4200];

	f->dir = tm_tmpdir("meta");
	snprintf(path, sizeof path, "%s/meta", f->dir);
	free(f->dir);
	f->dir = strdup(path);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	chronik_storage_meta_close(f->m);
	tm_rmrf(f->dir);
	{
		char *slash = strrchr(f->dir, '/');

		*slash = 0;
		rmdir(f->dir);
	}
	free(f->dir);
	free(f);
	return 0;
}

static void reopen(struct fx *f)
{
	assert_int_equal(chronik_storage_meta_close(f->m), 0);
	f->m = must_open(f->dir);
}

static void test_meta_options_and_args(void **state)
{
	struct fx *f = *state;
	chronik_storage_meta_options o;
	chronik_storage_meta *m = (chronik_storage_meta *)1;
	char *err = (char *)1;

	assert_int_equal(chronik_storage_meta_options_init(NULL, 1),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_meta_options_init(&o, 99),
			 CHRONIK_EVERSION);
	assert_int_equal(chronik_storage_meta_options_init(&o, 1), 0);
	assert_int_equal(chronik_storage_meta_open(&m, &o, &err),
			 CHRONIK_EARG);
	assert_null(m);
	assert_null(err);
	o.dir = f->dir;
	o.version = 7;
	assert_int_equal(chronik_storage_meta_open(&m, &o, NULL),
			 CHRONIK_EVERSION);
	o.version = 1;
	o.flags = CHRONIK_STORAGE_META_NO_CREATE;
	assert_int_equal(chronik_storage_meta_open(&m, &o, &err),
			 CHRONIK_ENOTFOUND);
	assert_non_null(err);
	assert_non_null(strstr(err, f->dir));
	chronik_storage_meta_free(err);
	assert_int_equal(chronik_storage_meta_close(NULL), 0);
	assert_string_equal(chronik_storage_meta_last_error(NULL), "");
}

static int count_topics(const chronik_storage_meta_topic *t, void *ud)
{
	char *names = ud;

	strcat(names, t->name);
	strcat(names, t->deleted ? "(d)," : ",");
	return 0;
}

static void test_meta_topics(void **state)
{
	struct fx *f = *state;
	chronik_storage_meta_config cfg[] = {
		{ "retention.ms", "1000" },
		{ "cleanup.policy", "delete" },
		{ "retention.ms", "2000" }, /* last wins */
	};
	chronik_storage_meta_config alter[] = {
		{ "cleanup.policy", NULL },
		{ "segment.bytes", "1024" },
	};
	chronik_storage_meta_topic *t = NULL;
	uint8_t id[16], id2[16];
	char names[256] = "";

	f->m = must_open(f->dir);
	assert_int_equal(chronik_storage_meta_topic_create(
				 id, f->m, "orders", 3, cfg, 3, 12345),
			 0);
	assert_int_equal((id[6] & 0xf0), 0x40);
	assert_int_equal(chronik_storage_meta_topic_create(
				 NULL, f->m, "orders", 1, NULL, 0, 0),
			 CHRONIK_EEXIST);
	assert_int_equal(chronik_storage_meta_topic_create(
				 NULL, f->m, "", 1, NULL, 0, 0),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_meta_topic_create(
				 NULL, f->m, "x", 0, NULL, 0, 0),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_meta_topic_create(
				 NULL, f->m, "alpha", 1, NULL, 0, 0),
			 0);

	assert_int_equal(chronik_storage_meta_topic_get(&t, f->m, "orders"),
			 0);
	assert_string_equal(t->name, "orders");
	assert_memory_equal(t->id, id, 16);
	assert_int_equal(t->partitions, 3);
	assert_int_equal(t->created_ms, 12345);
	assert_int_equal(t->deleted, 0);
	assert_int_equal(t->nconfigs, 2);
	assert_string_equal(t->configs[0].key, "cleanup.policy");
	assert_string_equal(t->configs[1].key, "retention.ms");
	assert_string_equal(t->configs[1].value, "2000");
	chronik_storage_meta_free(t);
	assert_int_equal(chronik_storage_meta_topic_get(&t, f->m, "nope"),
			 CHRONIK_ENOTFOUND);
	assert_null(t);
	assert_int_equal(chronik_storage_meta_topic_get_by_id(&t, f->m, id),
			 0);
	assert_string_equal(t->name, "orders");
	chronik_storage_meta_free(t);

	assert_int_equal(chronik_storage_meta_topic_set_partitions(
				 f->m, "orders", 2),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_meta_topic_set_partitions(
				 f->m, "orders", 8),
			 0);
	assert_int_equal(chronik_storage_meta_topic_configs_alter(
				 f->m, "orders", alter, 2, 0),
			 0);
	reopen(f); /* everything above replays from the log */
	assert_int_equal(chronik_storage_meta_topic_get(&t, f->m, "orders"),
			 0);
	assert_int_equal(t->partitions, 8);
	assert_int_equal(t->nconfigs, 2);
	assert_string_equal(t->configs[0].key, "retention.ms");
	assert_string_equal(t->configs[1].key, "segment.bytes");
	assert_string_equal(t->configs[1].value, "1024");
	chronik_storage_meta_free(t);
	assert_int_equal(chronik_storage_meta_topic_configs_alter(
				 f->m, "orders", cfg + 1, 1,
				 CHRONIK_STORAGE_META_CONFIGS_REPLACE),
			 0);
	assert_int_equal(chronik_storage_meta_topic_get(&t, f->m, "orders"),
			 0);
	assert_int_equal(t->nconfigs, 1);
	assert_string_equal(t->configs[0].value, "delete");
	chronik_storage_meta_free(t);

	assert_int_equal(chronik_storage_meta_topic_foreach(f->m,
							    count_topics,
							    names),
			 0);
	assert_string_equal(names, "alpha,orders,");
	assert_int_equal(chronik_storage_meta_topic_mark_deleted(f->m,
								 "orders"),
			 0);
	assert_int_equal(chronik_storage_meta_topic_set_partitions(
				 f->m, "orders", 9),
			 CHRONIK_ENOTFOUND);
	names[0] = 0;
	chronik_storage_meta_topic_foreach(f->m, count_topics, names);
	assert_string_equal(names, "alpha,orders(d),");
	/* A deleted name can be created again, with a new id. */
	assert_int_equal(chronik_storage_meta_topic_create(
				 id2, f->m, "orders", 1, NULL, 0, 0),
			 0);
	assert_memory_not_equal(id, id2, 16);
	assert_int_equal(chronik_storage_meta_topic_get_by_id(&t, f->m, id),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_storage_meta_log_start_set(f->m, "orders", 0,
							    77),
			 0);
	assert_int_equal(chronik_storage_meta_producer_state_put(
				 f->m, "orders", 0, 5, "s", 1),
			 0);
	assert_int_equal(chronik_storage_meta_topic_purge(f->m, "orders"), 0);
	assert_int_equal(chronik_storage_meta_topic_purge(f->m, "orders"),
			 CHRONIK_ENOTFOUND);
	{
		int64_t off;
		void *b;
		size_t l;

		assert_int_equal(chronik_storage_meta_log_start_get(
					 &off, f->m, "orders", 0),
				 CHRONIK_ENOTFOUND);
		assert_int_equal(chronik_storage_meta_producer_state_get(
					 &b, &l, f->m, "orders", 0, 5),
				 CHRONIK_ENOTFOUND);
	}
	reopen(f);
	names[0] = 0;
	chronik_storage_meta_topic_foreach(f->m, count_topics, names);
	assert_string_equal(names, "alpha,");
}

struct seen {
	char text[1024];
};

static int offset_cb(const char *group, const char *topic, int32_t part,
		     const chronik_storage_meta_offset *o, void *ud)
{
	struct seen *s = ud;
	char line[200];

	snprintf(line, sizeof line, "%s/%s/%d=%lld:%d:%s;", group, topic,
		 (int)part, (long long)o->offset, (int)o->leader_epoch,
		 o->metadata);
	strcat(s->text, line);
	return 0;
}

static int group_cb(const char *group, const void *blob, size_t len,
		    void *ud)
{
	struct seen *s = ud;
	char line[200];

	snprintf(line, sizeof line, "%s:%s:%zu;", group,
		 blob ? "blob" : "none", len);
	strcat(s->text, line);
	return 0;
}

static int stop_cb(const char *group, const void *blob, size_t len,
		   void *ud)
{
	(void)group;
	(void)blob;
	(void)len;
	(void)ud;
	return 42;
}

static void test_meta_offsets_and_groups(void **state)
{
	struct fx *f = *state;
	chronik_storage_meta_offset o = { 10, 3, "meta", 1000, -1 };
	chronik_storage_meta_offset *got = NULL;
	struct seen s = { "" };
	void *blob;
	size_t len;

	f->m = must_open(f->dir);
	assert_int_equal(chronik_storage_meta_offset_commit(f->m, "g1", "t",
							    1, &o),
			 0);
	o.offset = 20;
	o.metadata = NULL;
	assert_int_equal(chronik_storage_meta_offset_commit(f->m, "g1", "t",
							    0, &o),
			 0);
	assert_int_equal(chronik_storage_meta_offset_commit(f->m, "g1", "a",
							    7, &o),
			 0);
	assert_int_equal(chronik_storage_meta_offset_commit(f->m, "g2", "t",
							    0, &o),
			 0);
	assert_int_equal(chronik_storage_meta_offset_commit(f->m, "g1", "t",
							    -1, &o),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_meta_offset_commit(f->m, NULL, "t",
							    0, &o),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_meta_offset_fetch(&got, f->m, "g1",
							   "t", 1),
			 0);
	assert_int_equal(got->offset, 10);
	assert_int_equal(got->leader_epoch, 3);
	assert_string_equal(got->metadata, "meta");
	assert_int_equal(got->commit_ms, 1000);
	assert_int_equal(got->expire_ms, -1);
	chronik_storage_meta_free(got);
	assert_int_equal(chronik_storage_meta_offset_fetch(&got, f->m, "g1",
							   "t", 9),
			 CHRONIK_ENOTFOUND);

	assert_int_equal(chronik_storage_meta_offset_foreach(f->m, "g1",
							     offset_cb, &s),
			 0);
	assert_string_equal(s.text,
			    "g1/a/7=20:3:;g1/t/0=20:3:;g1/t/1=10:3:meta;");
	s.text[0] = 0;
	chronik_storage_meta_offset_foreach(f->m, NULL, offset_cb, &s);
	assert_non_null(strstr(s.text, "g2/t/0=20"));

	assert_int_equal(chronik_storage_meta_group_put(f->m, "g0", "abc", 3),
			 0);
	assert_int_equal(chronik_storage_meta_group_put(f->m, "g1", "xy", 2),
			 0);
	assert_int_equal(chronik_storage_meta_group_put(f->m, "g3", NULL, 0),
			 0);
	assert_int_equal(chronik_storage_meta_group_get(&blob, &len, f->m,
							"g1"),
			 0);
	assert_int_equal(len, 2);
	assert_memory_equal(blob, "xy", 2);
	chronik_storage_meta_free(blob);
	assert_int_equal(chronik_storage_meta_group_get(&blob, &len, f->m,
							"g2"),
			 CHRONIK_ENOTFOUND);
	s.text[0] = 0;
	assert_int_equal(chronik_storage_meta_group_foreach(f->m, group_cb,
							    &s),
			 0);
	assert_string_equal(s.text,
			    "g0:blob:3;g1:blob:2;g2:none:0;g3:blob:0;");
	assert_int_equal(chronik_storage_meta_group_foreach(f->m, stop_cb,
							    NULL),
			 42);

	reopen(f);
	assert_int_equal(chronik_storage_meta_offset_delete(f->m, "g1", "a",
							    7),
			 0);
	assert_int_equal(chronik_storage_meta_offset_delete(f->m, "g1", "a",
							    7),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_storage_meta_group_delete(f->m, "g1"), 0);
	assert_int_equal(chronik_storage_meta_group_delete(f->m, "g1"),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_storage_meta_group_delete(f->m, "g2"), 0);
	reopen(f);
	s.text[0] = 0;
	chronik_storage_meta_group_foreach(f->m, group_cb, &s);
	assert_string_equal(s.text, "g0:blob:3;g3:blob:0;");
	s.text[0] = 0;
	chronik_storage_meta_offset_foreach(f->m, NULL, offset_cb, &s);
	assert_string_equal(s.text, "");
}

static int producer_cb(const char *topic, int32_t part, int64_t pid,
		       const void *blob, size_t len, void *ud)
{
	struct seen *s = ud;
	char line[200];

	snprintf(line, sizeof line, "%s/%d/%lld=%.*s;", topic, (int)part,
		 (long long)pid, (int)len, (const char *)blob);
	strcat(s->text, line);
	return 0;
}

static void test_meta_producers(void **state)
{
	struct fx *f = *state;
	struct seen s = { "" };
	int64_t first = -1, off = -1;
	void *blob;
	size_t len;

	f->m = must_open(f->dir);
	assert_int_equal(chronik_storage_meta_producer_id_alloc(&first, f->m,
								1000),
			 0);
	assert_int_equal(first, 0);
	assert_int_equal(chronik_storage_meta_producer_id_alloc(&first, f->m,
								10),
			 0);
	assert_int_equal(first, 1000);
	assert_int_equal(chronik_storage_meta_producer_id_alloc(&first, f->m,
								0),
			 CHRONIK_EARG);
	reopen(f);
	assert_int_equal(chronik_storage_meta_producer_id_alloc(&first, f->m,
								1),
			 0);
	assert_int_equal(first, 1010);

	assert_int_equal(chronik_storage_meta_producer_state_put(
				 f->m, "t", 1, 300, "b", 1),
			 0);
	assert_int_equal(chronik_storage_meta_producer_state_put(
				 f->m, "t", 1, 2, "a", 1),
			 0);
	assert_int_equal(chronik_storage_meta_producer_state_put(
				 f->m, "t", 0, 9, "c", 1),
			 0);
	assert_int_equal(chronik_storage_meta_producer_state_put(
				 f->m, "u", 0, 9, "d", 1),
			 0);
	assert_int_equal(chronik_storage_meta_producer_state_put(
				 f->m, "u", 0, -1, "d", 1),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_meta_producer_state_get(
				 &blob, &len, f->m, "t", 1, 300),
			 0);
	assert_int_equal(len, 1);
	assert_memory_equal(blob, "b", 1);
	chronik_storage_meta_free(blob);
	chronik_storage_meta_producer_state_foreach(f->m, "t", 1, producer_cb,
						    &s);
	assert_string_equal(s.text, "t/1/2=a;t/1/300=b;");
	s.text[0] = 0;
	chronik_storage_meta_producer_state_foreach(f->m, "t", -1,
						    producer_cb, &s);
	assert_string_equal(s.text, "t/0/9=c;t/1/2=a;t/1/300=b;");
	s.text[0] = 0;
	chronik_storage_meta_producer_state_foreach(f->m, NULL, -1,
						    producer_cb, &s);
	assert_string_equal(s.text, "t/0/9=c;t/1/2=a;t/1/300=b;u/0/9=d;");
	assert_int_equal(chronik_storage_meta_producer_state_foreach(
				 f->m, NULL, 3, producer_cb, &s),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_meta_producer_state_delete(
				 f->m, "t", 1, 2),
			 0);
	assert_int_equal(chronik_storage_meta_producer_state_delete(
				 f->m, "t", 1, 2),
			 CHRONIK_ENOTFOUND);

	assert_int_equal(chronik_storage_meta_log_start_get(&off, f->m, "t",
							    0),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_storage_meta_log_start_set(f->m, "t", 0, 55),
			 0);
	assert_int_equal(chronik_storage_meta_log_start_set(f->m, "t", 0, -5),
			 CHRONIK_EARG);
	reopen(f);
	assert_int_equal(chronik_storage_meta_log_start_get(&off, f->m, "t",
							    0),
			 0);
	assert_int_equal(off, 55);
	s.text[0] = 0;
	chronik_storage_meta_producer_state_foreach(f->m, NULL, -1,
						    producer_cb, &s);
	assert_string_equal(s.text, "t/0/9=c;t/1/300=b;u/0/9=d;");
}

struct async_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	int status;
};

static void async_cb(int status, void *ud)
{
	struct async_state *a = ud;

	pthread_mutex_lock(&a->mu);
	a->done++;
	a->status = status;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

static void test_meta_batches(void **state)
{
	struct fx *f = *state;
	chronik_storage_meta_batch *b = NULL;
	chronik_storage_meta_offset o = { 1, -1, NULL, 1, -1 };
	chronik_storage_meta_offset *got;
	struct async_state a = { PTHREAD_MUTEX_INITIALIZER,
				 PTHREAD_COND_INITIALIZER, 0, -1 };
	chronik_storage_meta_info info;
	int64_t off;

	f->m = must_open(f->dir);
	assert_int_equal(chronik_storage_meta_batch_new(&b, f->m), 0);
	for (int p = 0; p < 100; p++) {
		o.offset = p * 10;
		assert_int_equal(chronik_storage_meta_batch_offset_commit(
					 b, "g", "t", p, &o),
				 0);
	}
	assert_int_equal(chronik_storage_meta_batch_group_put(b, "g", "st",
							      2),
			 0);
	assert_int_equal(chronik_storage_meta_batch_log_start_set(b, "t", 0,
								  4),
			 0);
	assert_int_equal(chronik_storage_meta_batch_producer_state_put(
				 b, "t", 0, 1, "p", 1),
			 0);
	assert_int_equal(chronik_storage_meta_batch_offset_commit(b, "", "t",
								  0, &o),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_meta_batch_count(b), 103);
	assert_int_equal(chronik_storage_meta_info_get(&info, f->m), 0);
	assert_int_equal(chronik_storage_meta_batch_commit(b), 0);
	assert_int_equal(chronik_storage_meta_batch_count(b), 0);
	{
		chronik_storage_meta_info after;

		chronik_storage_meta_info_get(&after, f->m);
		/* One log record for the whole batch. */
		assert_int_equal(after.last_lsn, info.last_lsn + 1);
		assert_int_equal(after.entries, info.entries + 103);
	}
	o.offset = 999;
	assert_int_equal(chronik_storage_meta_batch_offset_commit(b, "g", "t",
								  5, &o),
			 0);
	assert_int_equal(chronik_storage_meta_batch_commit_async(b, async_cb,
								 &a),
			 0);
	pthread_mutex_lock(&a.mu);
	while (!a.done)
		pthread_cond_wait(&a.cv, &a.mu);
	pthread_mutex_unlock(&a.mu);
	assert_int_equal(a.status, 0);
	chronik_storage_meta_batch_free(b);
	reopen(f);
	assert_int_equal(chronik_storage_meta_offset_fetch(&got, f->m, "g",
							   "t", 99),
			 0);
	assert_int_equal(got->offset, 990);
	chronik_storage_meta_free(got);
	assert_int_equal(chronik_storage_meta_offset_fetch(&got, f->m, "g",
							   "t", 5),
			 0);
	assert_int_equal(got->offset, 999);
	chronik_storage_meta_free(got);
	assert_int_equal(chronik_storage_meta_log_start_get(&off, f->m, "t",
							    0),
			 0);
	assert_int_equal(off, 4);
}

struct thr {
	chronik_storage_meta *m;
	int id;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	chronik_storage_meta_offset o = { 0, -1, "x", 0, -1 };
	char group[32];

	snprintf(group, sizeof group, "grp%d", t->id);
	for (int i = 0; i < 200; i++) {
		o.offset = i;
		if (chronik_storage_meta_offset_commit(t->m, group, "t", i % 8,
						       &o))
			return (void *)1;
	}
	return NULL;
}

static void test_meta_threads_and_snapshots(void **state)
{
	struct fx *f = *state;
	pthread_t th[4];
	struct thr t[4];
	chronik_storage_meta_info info;
	chronik_storage_meta_offset *got;
	int rc;

	/* A small snapshot threshold: automatic snapshots and log
	 * checkpoints happen while four threads commit. */
	f->m = open_dir(f->dir, CHRONIK_STORAGE_META_NO_SYNC, 4096, &rc,
			NULL);
	assert_int_equal(rc, 0);
	for (int i = 0; i < 4; i++) {
		t[i].m = f->m;
		t[i].id = i;
		pthread_create(&th[i], NULL, thr_main, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		void *r;

		pthread_join(th[i], &r);
		assert_null(r);
	}
	chronik_storage_meta_info_get(&info, f->m);
	assert_true(info.snapshot_lsn > 0);
	assert_int_equal(info.entries, 4 * 8);
	reopen(f);
	chronik_storage_meta_info_get(&info, f->m);
	assert_int_equal(info.entries, 4 * 8);
	assert_true(info.snapshot_lsn > 0);
	assert_true(info.records_replayed < 800);
	for (int g = 0; g < 4; g++) {
		char group[32];

		snprintf(group, sizeof group, "grp%d", g);
		for (int p = 0; p < 8; p++) {
			assert_int_equal(chronik_storage_meta_offset_fetch(
						 &got, f->m, group, "t", p),
					 0);
			assert_int_equal(got->offset, 192 + p);
			chronik_storage_meta_free(got);
		}
	}
	/* Explicit snapshot, then nothing left to replay. */
	assert_int_equal(chronik_storage_meta_snapshot(f->m), 0);
	reopen(f);
	chronik_storage_meta_info_get(&info, f->m);
	assert_int_equal(info.records_replayed, 0);
	assert_int_equal(info.entries, 4 * 8);
}

/* Newest snapshot path in dir (static buffer). */
static const char *snap_file(const char *dir, int nth)
{
	static char path[4200];
	char names[8][64];
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "snapshot-", 9) &&
		    strlen(de->d_name) == 34 && n < 8)
			memcpy(names[n++], de->d_name, 35);
	if (d)
		closedir(d);
	/* Sort descending. */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) < 0) {
				char tmp[64];

				memcpy(tmp, names[i], 64);
				memcpy(names[i], names[j], 64);
				memcpy(names[j], tmp, 64);
			}
	if (nth >= n)
		return NULL;
	snprintf(path, sizeof path, "%s/%s", dir, names[nth]);
	return path;
}

static void fill_and_snapshot_twice(struct fx *f)
{
	chronik_storage_meta_offset o = { 0, -1, NULL, 0, -1 };

	f->m = must_open(f->dir);
	for (int round = 0; round < 3; round++) {
		for (int p = 0; p < 20; p++) {
			o.offset = round * 100 + p;
			assert_int_equal(chronik_storage_meta_offset_commit(
						 f->m, "g", "t", p, &o),
					 0);
		}
		if (round < 2)
			assert_int_equal(chronik_storage_meta_snapshot(f->m),
					 0);
	}
	assert_int_equal(chronik_storage_meta_close(f->m), 0);
	f->m = NULL;
	assert_non_null(snap_file(f->dir, 1));
}

static void check_final(struct fx *f)
{
	chronik_storage_meta_offset *got;

	for (int p = 0; p < 20; p++) {
		assert_int_equal(chronik_storage_meta_offset_fetch(
					 &got, f->m, "g", "t", p),
				 0);
		assert_int_equal(got->offset, 200 + p);
		chronik_storage_meta_free(got);
	}
}

static void test_meta_corrupt_snapshot_falls_back(void **state)
{
	struct fx *f = *state;
	chronik_storage_meta_info info;
	const char *newest;
	long size;

	fill_and_snapshot_twice(f);
	newest = snap_file(f->dir, 0);
	size = tm_size(newest);
	/* Bit flips at several places: header, an entry, the trailer. */
	assert_int_equal(tm_flip(newest, size / 2, 3), 0);
	f->m = must_open(f->dir);
	chronik_storage_meta_info_get(&info, f->m);
	assert_int_equal(info.snapshots_skipped, 1);
	check_final(f);
	chronik_storage_meta_close(f->m);
	f->m = NULL;
	/* A truncated newest snapshot falls back the same way. (Only one
	 * level: the log is kept from the previous snapshot on, so the
	 * store starts afresh here rather than damaging the one left.) */
	tm_rmrf(f->dir);
	fill_and_snapshot_twice(f);
	newest = snap_file(f->dir, 0);
	assert_non_null(newest);
	assert_int_equal(truncate(newest, tm_size(newest) - 7), 0);
	f->m = must_open(f->dir);
	chronik_storage_meta_info_get(&info, f->m);
	assert_int_equal(info.snapshots_skipped, 1);
	check_final(f);
}

static void test_meta_corrupt_everything_is_an_error(void **state)
{
	struct fx *f = *state;
	chronik_storage_meta_offset o = { 0, -1, NULL, 0, -1 };
	char *err = NULL;
	int rc;

	/* Enough snapshots that the log no longer starts at LSN 1. */
	f->m = open_dir(f->dir, CHRONIK_STORAGE_META_NO_SYNC, 0, &rc, NULL);
	for (int round = 0; round < 6; round++) {
		for (int p = 0; p < 2000; p++) {
			o.offset = p;
			assert_int_equal(chronik_storage_meta_offset_commit(
						 f->m, "g", "t", p % 50, &o),
					 0);
		}
		assert_int_equal(chronik_storage_meta_snapshot(f->m), 0);
	}
	chronik_storage_meta_close(f->m);
	f->m = NULL;
	for (int i = 0; i < 2; i++) {
		const char *s = snap_file(f->dir, i);

		assert_non_null(s);
		assert_int_equal(tm_flip(s, 0, 1), 0); /* magic */
	}
	f->m = open_dir(f->dir, CHRONIK_STORAGE_META_NO_SYNC, 0, &rc, &err);
	assert_null(f->m);
	assert_int_equal(rc, CHRONIK_ECORRUPT);
	assert_non_null(err);
	assert_non_null(strstr(err, "snapshot-"));
	assert_non_null(strstr(err, "offset"));
	chronik_storage_meta_free(err);
}

static void test_meta_corrupt_log(void **state)
{
	struct fx *f = *state;
	chronik_storage_meta_offset o = { 0, -1, NULL, 0, -1 };
	char waldir[4200], seg[4600];
	DIR *d;
	struct dirent *de;
	char *err = NULL;
	int rc, opened_ok = 0, failed_clearly = 0;

	f->m = must_open(f->dir);
	for (int p = 0; p < 300; p++) {
		o.offset = p;
		assert_int_equal(chronik_storage_meta_offset_commit(
					 f->m, "g", "t", p, &o),
				 0);
	}
	chronik_storage_meta_close(f->m);
	f->m = NULL;
	snprintf(waldir, sizeof waldir, "%s/wal", f->dir);
	d = opendir(waldir);
	seg[0] = 0;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".wal"))
			snprintf(seg, sizeof seg, "%s/%s", waldir, de->d_name);
	closedir(d);
	assert_true(seg[0]);
	/* Flip bits through the written part of the segment: each must
	 * give a clear error or a consistent open, never a crash. */
	for (long off = 100; off < 12000; off += 997) {
		assert_int_equal(tm_flip(seg, off, off % 8), 0);
		f->m = open_dir(f->dir, CHRONIK_STORAGE_META_NO_SYNC, 0, &rc,
				&err);
		if (rc == 0) {
			opened_ok++;
			chronik_storage_meta_close(f->m);
		} else {
			assert_non_null(err);
			assert_non_null(strstr(err, "wal"));
			failed_clearly++;
		}
		f->m = NULL;
		chronik_storage_meta_free(err);
		err = NULL;
		assert_int_equal(tm_flip(seg, off, off % 8), 0); /* undo */
	}
	assert_true(failed_clearly > 0);
	/* With SALVAGE the store opens, minus the records after the flip. */
	assert_int_equal(tm_flip(seg, 5000, 2), 0);
	f->m = open_dir(f->dir,
			CHRONIK_STORAGE_META_NO_SYNC |
				CHRONIK_STORAGE_META_SALVAGE,
			0, &rc, NULL);
	assert_int_equal(rc, 0);
	chronik_storage_meta_close(f->m);
	f->m = NULL;
	/* A truncated segment (lost tail): opens with a prefix of the
	 * records, or fails with a message; never crashes. */
	assert_int_equal(truncate(seg, 3000), 0);
	f->m = open_dir(f->dir, CHRONIK_STORAGE_META_NO_SYNC, 0, &rc, &err);
	if (rc) {
		assert_non_null(err);
		assert_non_null(strstr(err, "wal"));
	}
	chronik_storage_meta_free(err);
	(void)opened_ok;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_meta_options_and_args,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_topics, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_meta_offsets_and_groups,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_producers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_meta_batches, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_meta_threads_and_snapshots, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_meta_corrupt_snapshot_falls_back, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_meta_corrupt_everything_is_an_error, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_meta_corrupt_log, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

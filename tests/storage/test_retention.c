/* SPDX-License-Identifier: Apache-2.0 */
/* Retention (time, size) and compaction (newest per key, tombstones,
 * bounded key map in passes, compact+delete) with real timing. */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "log_internal.h"
#include "log_test_util.h"

struct fixture {
	char *dir;
	chronik_storage *s;
};

static unsigned check_ms = 50;

static int open_fx(struct fixture *f, size_t map_bytes)
{
	chronik_storage_options o;

	chronik_storage_options_init(&o, CHRONIK_STORAGE_OPTIONS_VERSION);
	o.wal_sync_mode = 2;
	o.sync_segments = 0;
	o.flush_interval_ms = 20;
	o.retention_check_ms = check_ms;
	o.cleaner_map_bytes = map_bytes;
	return chronik_storage_open(&f->s, f->dir, &o);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	f->dir = lt_tmpdir();
	*state = f;
	return open_fx(f, 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	chronik_storage_close(f->s);
	lt_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static chronik_storage_partition *part(struct fixture *f,
				       chronik_storage_topic_config *c)
{
	chronik_storage_partition *p = NULL;

	assert_int_equal(chronik_storage_partition_open(&p, f->s, "t", 0, c),
			 0);
	return p;
}

static int64_t put(chronik_storage_partition *p, int key, int vlen,
		   uint32_t tag, int64_t ts)
{
	size_t len;
	int64_t base;
	uint8_t *b = lt_batch(&len, 1, key, vlen, tag, ts);

	assert_int_equal(chronik_storage_append(&base, p, b, len, 0, NULL,
						NULL), 0);
	free(b);
	return base;
}

static void test_retention_time(void **state)
{
	struct fixture *f = *state;
	chronik_storage_topic_config c;
	chronik_storage_partition *p;
	chronik_storage_offsets o;
	chronik_storage_slice sl;
	int64_t last = 0;

	chronik_storage_topic_config_init(&c, 1);
	c.retention_ms = 200;
	c.segment_bytes = 4096;
	p = part(f, &c);
	for (int i = 0; i < 100; i++)
		last = put(p, i, 100, (uint32_t)i, lt_now_ms());
	assert_int_equal(chronik_storage_wait(p, last + 1, 5000), 0);
	assert_int_equal(chronik_storage_flush(f->s), 0);
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	assert_true(o.segments > 3);
	assert_int_equal(o.log_start_offset, 0);
	/* Young data stays. */
	assert_int_equal(chronik_storage_run_cleaner(f->s), 0);
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	assert_int_equal(o.log_start_offset, 0);
	lt_sleep_ms(500); /* the background cleaner runs every 50 ms */
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	assert_int_equal(o.segments, 1); /* never the active segment */
	assert_true(o.log_start_offset > 0);
	assert_int_equal(o.high_watermark, 100);
	assert_int_equal(chronik_storage_read(&sl, p, 0, 100, NULL, 0),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_storage_read(&sl, p, o.log_start_offset, 100,
					      NULL, 0), 0);
	assert_true(sl.fd >= 0);
	close(sl.fd);
}

static void test_retention_bytes(void **state)
{
	struct fixture *f = *state;
	chronik_storage_topic_config c;
	chronik_storage_partition *p;
	chronik_storage_offsets o;
	int64_t last = 0;

	chronik_storage_topic_config_init(&c, 1);
	c.retention_bytes = 3 * 4096;
	c.segment_bytes = 4096;
	p = part(f, &c);
	for (int i = 0; i < 300; i++)
		last = put(p, i, 100, (uint32_t)i, lt_now_ms());
	assert_int_equal(chronik_storage_wait(p, last + 1, 5000), 0);
	assert_int_equal(chronik_storage_flush(f->s), 0);
	assert_int_equal(chronik_storage_run_cleaner(f->s), 0);
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	assert_true(o.size_bytes <= 3 * 4096 + 4096);
	assert_true(o.size_bytes >= 3 * 4096 - 4096);
	assert_true(o.log_start_offset > 200);
	assert_int_equal(o.high_watermark, 300);
}

/* What we wrote at each offset: key (or -1) and tag (or -1 tombstone). */
struct wrote {
	int key;
	int tag;
};

static void check_compacted(chronik_storage_partition *p, struct wrote *w,
			    int64_t n, int nkeys, int64_t clean_end,
			    const int *newest, int young_tomb,
			    int old_tomb)
{
	size_t len;
	uint8_t *all = lt_read_all(&len, NULL, p, 0);
	chronik_protocol_records_iter it;
	chronik_protocol_records_entry e;
	int *seen = calloc((size_t)nkeys, sizeof *seen);
	int64_t prev = -1;

	chronik_protocol_records_iter_init(&it, all, len);
	while (chronik_protocol_records_next(&e, &it) == 1) {
		chronik_protocol_batch b;
		chronik_protocol_record_iter ri;
		chronik_protocol_record r;

		assert_int_equal(chronik_protocol_batch_parse(&b, e.data,
							      e.size), 0);
		assert_int_equal(chronik_protocol_batch_verify_crc(&b), 0);
		assert_int_equal(chronik_protocol_record_iter_init(&ri, &b),
				 0);
		while (chronik_protocol_record_next(&r, &ri) == 1) {
			char kb[16] = {0};
			int key;

			memcpy(kb, r.key + 1, (size_t)r.key_len - 1);
			key = atoi(kb);

			assert_true(r.offset > prev);
			assert_true(r.offset < n);
			prev = r.offset;
			/* Offsets unchanged: the same key and value. */
			assert_int_equal(w[r.offset].key, key);
			if (r.value) {
				uint32_t tag;

				memcpy(&tag, r.value, 4);
				assert_int_equal((int)tag, w[r.offset].tag);
			} else {
				assert_int_equal(w[r.offset].tag, -1);
			}
			if (key < nkeys && r.offset < clean_end) {
				/* Cleaned part: only the newest per key. */
				assert_int_equal(seen[key], 0);
				assert_int_equal(r.offset, newest[key]);
			}
			if (key < nkeys)
				seen[key]++;
		}
	}
	for (int k = 0; k < nkeys; k++) {
		if (k == old_tomb)
			assert_int_equal(seen[k], 0);
		else if (seen[k] < 1)
			fail_msg("key %d missing (newest %d)", k, newest[k]);
	}
	(void)young_tomb;
	free(seen);
	free(all);
}

static void test_compact_keeps_newest_and_young_tombstones(void **state)
{
	struct fixture *f = *state;
	chronik_storage_topic_config c;
	chronik_storage_partition *p;
	chronik_storage_offsets o;
	enum { NK = 20, ROUNDS = 10 };
	struct wrote w[NK * ROUNDS + 200];
	int newest[NK];
	int64_t off = 0, now = lt_now_ms();

	chronik_storage_topic_config_init(&c, 1);
	c.cleanup_policy = CHRONIK_STORAGE_CLEANUP_COMPACT;
	c.segment_bytes = 4096;
	c.delete_retention_ms = 200;
	p = part(f, &c);
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < NK; k++) {
			int tomb = r == ROUNDS - 1 && (k == 3 || k == 4);
			/* key 3's tombstone is old, key 4's young */
			int64_t ts = k == 3 && tomb ? now - 10000 : now;

			int tag = (int)off;

			off = put(p, k, tomb ? -1 : 60, (uint32_t)tag, ts);
			w[off].key = k;
			w[off].tag = tomb ? -1 : tag;
			newest[k] = (int)off;
		}
	/* Filler with other keys so that every round above sits in closed
	 * segments. */
	for (int i = 0; i < 40; i++) {
		int tag = (int)off;

		off = put(p, 1000 + i, 60, (uint32_t)tag, now);
		w[off].key = 1000 + i;
		w[off].tag = tag;
	}
	assert_int_equal(chronik_storage_wait(p, off + 1, 5000), 0);
	assert_int_equal(chronik_storage_flush(f->s), 0);
	assert_int_equal(chronik_storage_run_cleaner(f->s), 0);
	check_compacted(p, w, off + 1, NK, NK * ROUNDS, newest, 4, 3);
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	assert_int_equal(o.high_watermark, off + 1);
	assert_int_equal(o.log_start_offset, 0);
	/* The young tombstone is still there ... */
	uint8_t *all;
	size_t len;
	all = lt_read_all(&len, NULL, p, newest[4]);
	assert_true(len > 0);
	free(all);
	/* ... and survives a restart, with the rebuilt indexes. */
	assert_int_equal(chronik_storage_close(f->s), 0);
	assert_int_equal(open_fx(f, 0), 0);
	p = part(f, &c);
	check_compacted(p, w, off + 1, NK, NK * ROUNDS, newest, 4, 3);
	/* After delete.retention.ms it goes too (background cleaner). */
	lt_sleep_ms(600);
	int64_t o2, ts2;
	assert_int_equal(chronik_storage_lookup_time(&o2, &ts2, p, 0), 0);
	all = lt_read_all(&len, NULL, p, 0);
	chronik_protocol_records_iter it;
	chronik_protocol_records_entry e;
	chronik_protocol_records_iter_init(&it, all, len);
	while (chronik_protocol_records_next(&e, &it) == 1) {
		chronik_protocol_batch b;
		chronik_protocol_record_iter ri;
		chronik_protocol_record r;

		chronik_protocol_batch_parse(&b, e.data, e.size);
		chronik_protocol_record_iter_init(&ri, &b);
		while (chronik_protocol_record_next(&r, &ri) == 1)
			assert_true(r.value != NULL);
	}
	free(all);
}

static void test_compact_in_passes_with_small_map(void **state)
{
	struct fixture *f = *state;
	chronik_storage_topic_config c;
	chronik_storage_partition *p;
	enum { NK = 2000 };
	static struct wrote w[NK * 2 + 300];
	static int newest[NK];
	int64_t off = 0, now = lt_now_ms();

	chronik_storage_close(f->s);
	assert_int_equal(open_fx(f, 1), 0); /* 1024 slots, 768 keys */
	chronik_storage_topic_config_init(&c, 1);
	c.cleanup_policy = CHRONIK_STORAGE_CLEANUP_COMPACT |
			   CHRONIK_STORAGE_CLEANUP_DELETE;
	c.segment_bytes = 16384;
	p = part(f, &c);
	for (int r = 0; r < 2; r++)
		for (int k = 0; k < NK; k++) {
			int tag = (int)off;

			off = put(p, k, 20, (uint32_t)tag, now);
			w[off].key = k;
			w[off].tag = tag;
			newest[k] = (int)off;
		}
	for (int i = 0; i < 250; i++) {
		int tag = (int)off;

		off = put(p, 100000 + i, 20, (uint32_t)tag, now);
		w[off].key = 100000 + i;
		w[off].tag = tag;
	}
	assert_int_equal(chronik_storage_wait(p, off + 1, 5000), 0);
	assert_int_equal(chronik_storage_flush(f->s), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(chronik_storage_run_cleaner(f->s), 0);
	check_compacted(p, w, off + 1, NK, 2 * NK, newest, -1, -1);
}

/* A batch of n records, keys k<key0+i>, value tag*1000+i (as text),
 * with the given codec. */
static uint8_t *codec_batch(size_t *len, int n, int key0, int tag, int codec)
{
	chronik_protocol_batch_builder_options bo =
		CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_INIT;
	chronik_protocol_batch_builder *b = NULL;
	const uint8_t *out;
	uint8_t *copy;

	bo.compression = codec;
	assert_int_equal(chronik_protocol_batch_builder_new(&b, &bo), 0);
	for (int i = 0; i < n; i++) {
		char k[16], v[64];
		int kl = snprintf(k, sizeof k, "k%d", key0 + i);
		int vl = snprintf(v, sizeof v, "%d-value-%d-padding-padding",
				  tag * 1000 + i, tag);

		assert_int_equal(chronik_protocol_batch_builder_append(
					 b, lt_now_ms(), k, kl, v, vl, NULL, 0),
				 0);
	}
	assert_int_equal(chronik_protocol_batch_builder_finish(&out, len, b),
			 0);
	copy = malloc(*len);
	memcpy(copy, out, *len);
	chronik_protocol_batch_builder_free(b);
	return copy;
}

/* Walk the log: every record's key must map to the newest value written
 * for it (want[key] = tag*1000+i), codecs must be `codec` for batches
 * below `below`. Returns the records seen. */
static int check_codec_log(chronik_storage_partition *p, const int *want,
			   int nkeys, int codec, int64_t below)
{
	size_t len;
	uint8_t *all = lt_read_all(&len, NULL, p, 0);
	chronik_protocol_records_iter it;
	chronik_protocol_records_entry e;
	int *seen = calloc((size_t)nkeys, sizeof *seen), nrec = 0;
	int *last = calloc((size_t)nkeys, sizeof *last);

	chronik_protocol_records_iter_init(&it, all, len);
	while (chronik_protocol_records_next(&e, &it) == 1) {
		chronik_protocol_batch b;
		chronik_protocol_record_iter ri;
		chronik_protocol_record r;
		void *plain = NULL;
		size_t pl;

		assert_int_equal(chronik_protocol_batch_parse(&b, e.data,
							      e.size), 0);
		assert_int_equal(chronik_protocol_batch_verify_crc(&b), 0);
		int got = b.header.attributes &
			  CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK;

		if (b.header.base_offset < below)
			assert_int_equal(got, codec);
		if (b.header.attributes &
		    CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK) {
			assert_int_equal(chronik_protocol_batch_decompress(
						 &plain, &pl, &b, 1 << 24), 0);
			assert_int_equal(chronik_protocol_record_iter_init_buf(
						 &ri, &b.header, plain, pl), 0);
		} else {
			assert_int_equal(chronik_protocol_record_iter_init(
						 &ri, &b), 0);
		}
		while (chronik_protocol_record_next(&r, &ri) == 1) {
			char kb[16] = {0}, vb[64] = {0};
			int key;

			memcpy(kb, r.key + 1, (size_t)r.key_len - 1);
			key = atoi(kb);
			memcpy(vb, r.value, (size_t)r.value_len);
			assert_true(key >= 0 && key < nkeys);
			/* Cleaned part: one record per key. */
			if (r.offset < below)
				assert_int_equal(seen[key], 0);
			seen[key]++;
			last[key] = atoi(vb);
			nrec++;
		}
		chronik_protocol_free(plain);
	}
	/* The newest value of every key is there, last. */
	for (int k = 0; k < nkeys; k++) {
		assert_true(seen[k] > 0);
		assert_int_equal(last[k], want[k]);
	}
	free(seen);
	free(last);
	free(all);
	return nrec;
}

static void test_compact_keeps_codec(void **state)
{
	struct fixture *f = *state;
	static const int codecs[] = {
		CHRONIK_PROTOCOL_COMPRESSION_GZIP,
		CHRONIK_PROTOCOL_COMPRESSION_SNAPPY,
		CHRONIK_PROTOCOL_COMPRESSION_LZ4,
		CHRONIK_PROTOCOL_COMPRESSION_ZSTD,
	};

	for (int ci = 0; ci < 4; ci++) {
		chronik_storage_topic_config c;
		chronik_storage_partition *p = NULL;
		enum { NK = 40 };
		int want[NK];
		int64_t base = 0;
		char topic[16];

		chronik_storage_topic_config_init(&c, 1);
		c.cleanup_policy = CHRONIK_STORAGE_CLEANUP_COMPACT;
		c.segment_bytes = 4096;
		snprintf(topic, sizeof topic, "z%d", ci);
		assert_int_equal(chronik_storage_partition_open(&p, f->s,
								topic, 0, &c),
				 0);
		/* Batches of 10 keys; each round rewrites half of them, so
		 * old batches keep some records and get re-encoded. */
		for (int r = 0; r < 6; r++)
			for (int k0 = 0; k0 < NK; k0 += 10) {
				size_t len;
				int n = r == 0 ? 10 : 5;
				int key0 = r == 0 ? k0 : k0 + (r % 2) * 5;
				uint8_t *b = codec_batch(&len, n, key0,
							 r * 100 + k0,
							 codecs[ci]);

				assert_int_equal(chronik_storage_append(
							 &base, p, b, len, 0,
							 NULL, NULL), 0);
				for (int i = 0; i < n; i++)
					want[key0 + i] =
						(r * 100 + k0) * 1000 + i;
				free(b);
			}
		/* Filler so that the rounds above sit in closed segments. */
		for (int i = 0; i < 30; i++) {
			size_t len;
			uint8_t *b = codec_batch(&len, 1, i % NK, 99999,
						 codecs[ci]);

			assert_int_equal(chronik_storage_append(&base, p, b,
								len, 0, NULL,
								NULL), 0);
			want[i % NK] = 99999 * 1000;
			free(b);
		}
		assert_int_equal(chronik_storage_wait(p, base + 1, 5000), 0);
		assert_int_equal(chronik_storage_flush(f->s), 0);
		pthread_mutex_lock(&p->lock);
		int64_t closed_end = p->segs[p->nsegs - 1]->base;
		pthread_mutex_unlock(&p->lock);
		assert_int_equal(chronik_storage_run_cleaner(f->s), 0);
		int nrec = check_codec_log(p, want, NK, codecs[ci],
					   closed_end);
		assert_true(nrec < 6 * 20 + 30);
	}
}

static void test_compact_across_restart(void **state)
{
	struct fixture *f = *state;
	chronik_storage_topic_config c;
	chronik_storage_partition *p;
	chronik_storage_offsets o1, o2;
	enum { NK = 30 };
	int want[NK];
	int64_t base = 0, upto;
	struct stat st1, st2;
	char path[4200];

	chronik_storage_topic_config_init(&c, 1);
	c.cleanup_policy = CHRONIK_STORAGE_CLEANUP_COMPACT;
	c.segment_bytes = 4096;
	p = part(f, &c);
	for (int r = 0; r < 8; r++)
		for (int k = 0; k < NK; k++) {
			size_t len;
			uint8_t *b = codec_batch(&len, 1, k, r * 100 + k, 0);

			assert_int_equal(chronik_storage_append(&base, p, b,
								len, 0, NULL,
								NULL), 0);
			want[k] = (r * 100 + k) * 1000;
			free(b);
		}
	assert_int_equal(chronik_storage_wait(p, base + 1, 5000), 0);
	assert_int_equal(chronik_storage_flush(f->s), 0);
	assert_int_equal(chronik_storage_run_cleaner(f->s), 0);
	upto = p->cleaned_upto;
	assert_true(upto > 0);
	assert_int_equal(chronik_storage_partition_offsets(&o1, p), 0);
	/* Small cleaned segments were merged. */
	assert_true(o1.segments < 8);
	snprintf(path, sizeof path, "%s/topics/t-0/00000000000000000000.log",
		 f->dir);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(chronik_storage_close(f->s), 0);
	assert_int_equal(open_fx(f, 0), 0);
	p = part(f, &c);
	/* The cleaned offset survived; a new round has nothing to do and
	 * rewrites nothing. */
	assert_int_equal(chronik_storage_run_cleaner(f->s), 0);
	assert_int_equal(p->cleaned_upto, upto);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	check_codec_log(p, want, NK, 0, upto);
	/* More updates after the restart are cleaned from where it was. */
	for (int r = 8; r < 12; r++)
		for (int k = 0; k < NK; k += 2) {
			size_t len;
			uint8_t *b = codec_batch(&len, 1, k, r * 100 + k, 0);

			assert_int_equal(chronik_storage_append(&base, p, b,
								len, 0, NULL,
								NULL), 0);
			want[k] = (r * 100 + k) * 1000;
			free(b);
		}
	assert_int_equal(chronik_storage_wait(p, base + 1, 5000), 0);
	assert_int_equal(chronik_storage_flush(f->s), 0);
	assert_int_equal(chronik_storage_run_cleaner(f->s), 0);
	assert_true(p->cleaned_upto > upto);
	check_codec_log(p, want, NK, 0, p->cleaned_upto);
	assert_int_equal(chronik_storage_partition_offsets(&o2, p), 0);
	assert_int_equal(o2.high_watermark, base + 1);
	assert_int_equal(o2.log_start_offset, 0);
}

struct lat_arg {
	chronik_storage_partition *p;
	atomic_int stop;
	double max_append_ms;
	double max_read_ms;
	long appends;
};

static double ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *lat_main(void *arg)
{
	struct lat_arg *a = arg;
	size_t len;
	uint8_t *b = lt_batch(&len, 1, 5000000, 100, 1, lt_now_ms());
	uint8_t *buf = malloc(1 << 16);
	int64_t base = 0;

	while (!atomic_load(&a->stop)) {
		chronik_storage_slice sl;
		double t0 = ms_now(), t1;

		if (chronik_storage_append(&base, a->p, b, len, 0, NULL,
					   NULL) != 0)
			break;
		t1 = ms_now();
		if (t1 - t0 > a->max_append_ms)
			a->max_append_ms = t1 - t0;
		chronik_storage_read(&sl, a->p, 0, 1 << 16, buf, 1 << 16);
		if (sl.fd >= 0)
			close(sl.fd);
		if (ms_now() - t1 > a->max_read_ms)
			a->max_read_ms = ms_now() - t1;
		a->appends++;
		lt_sleep_ms(1);
	}
	chronik_storage_wait(a->p, base + 1, 5000);
	free(buf);
	free(b);
	return NULL;
}

static void test_compact_does_not_block_produce(void **state)
{
	struct fixture *f = *state;
	chronik_storage_topic_config c;
	chronik_storage_partition *p;
	struct lat_arg a = {0};
	pthread_t th;
	int64_t base = 0;
	double t0, clean_ms;

	/* No background rounds: the clean below does all the work. */
	chronik_storage_close(f->s);
	check_ms = 3600 * 1000;
	assert_int_equal(open_fx(f, 0), 0);
	check_ms = 50;
	chronik_storage_topic_config_init(&c, 1);
	c.cleanup_policy = CHRONIK_STORAGE_CLEANUP_COMPACT;
	c.segment_bytes = 64 << 10;
	p = part(f, &c);
	/* 40 x 5000 records in gzip batches: a slow clean. */
	for (int r = 0; r < 40; r++)
		for (int k = 0; k < 5000; k += 50) {
			size_t len;
			uint8_t *b = codec_batch(&len, 50, k, r, 1);

			assert_int_equal(chronik_storage_append(&base, p, b,
								len, 0, NULL,
								NULL), 0);
			free(b);
		}
	assert_int_equal(chronik_storage_wait(p, base + 1, 10000), 0);
	assert_int_equal(chronik_storage_flush(f->s), 0);
	a.p = p;
	assert_int_equal(pthread_create(&th, NULL, lat_main, &a), 0);
	lt_sleep_ms(20);
	t0 = ms_now();
	assert_int_equal(chronik_storage_run_cleaner(f->s), 0);
	clean_ms = ms_now() - t0;
	atomic_store(&a.stop, 1);
	pthread_join(th, NULL);
	print_message("# clean %.1f ms; %ld appends meanwhile, max append "
		      "%.2f ms, max read %.2f ms\n", clean_ms, a.appends,
		      a.max_append_ms, a.max_read_ms);
	assert_true(a.appends > 0);
	assert_true(a.max_append_ms < 100 && a.max_read_ms < 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_retention_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retention_bytes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_compact_keeps_newest_and_young_tombstones, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_compact_in_passes_with_small_map, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_compact_keeps_codec,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact_across_restart,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_compact_does_not_block_produce, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Retention (time, size) and compaction (newest per key, tombstones,
 * bounded key map in passes, compact+delete) with real timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "log_test_util.h"

struct fixture {
	char *dir;
	chronik_storage *s;
};

static int open_fx(struct fixture *f, size_t map_bytes)
{
	chronik_storage_options o;

	chronik_storage_options_init(&o, CHRONIK_STORAGE_OPTIONS_VERSION);
	o.wal_sync_mode = 2;
	o.sync_segments = 0;
	o.flush_interval_ms = 20;
	o.retention_check_ms = 50;
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

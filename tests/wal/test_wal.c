/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of libchronik-wal's public API. */
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>

#include <cmocka.h>

#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include "chronik/wal.h"
#include "wal_test_util.h"

struct fixture {
	char *dir;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	f->dir = wt_tmpdir();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	wt_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static chronik_wal *open_wal(const char *dir, uint64_t seg_size,
			     enum chronik_wal_sync_mode mode)
{
	chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;
	chronik_wal *w = NULL;
	int r;

	o.dir = dir;
	o.segment_size = seg_size;
	o.sync_mode = mode;
	r = chronik_wal_open(&w, &o);
	if (r != 0)
		fail_msg("open: %s: %s", chronik_strerror(r),
			 chronik_wal_last_error(w));
	return w;
}

/* Append records [first, last] with the test payloads. */
static void append_range(chronik_wal *w, uint64_t first, uint64_t last)
{
	uint8_t buf[4096];

	for (uint64_t l = first; l <= last; l++) {
		uint64_t lsn = 0;
		size_t len = wt_len(l);

		wt_fill(buf, len, l);
		assert_int_equal(chronik_wal_append(&lsn, w, (uint8_t)l, buf,
						    len), 0);
		assert_int_equal(lsn, l);
	}
}

/* Read everything from `from` and check records [from, last]. */
static void check_range(chronik_wal *w, uint64_t from, uint64_t last)
{
	chronik_wal_reader *r = NULL;
	chronik_wal_record rec;
	uint64_t want = from ? from : 1;
	int k;

	assert_int_equal(chronik_wal_wait(w, last, -1), 0);
	assert_int_equal(chronik_wal_reader_open(&r, w, from), 0);
	while ((k = chronik_wal_reader_next(&rec, r)) == 1) {
		assert_int_equal(rec.lsn, want);
		assert_int_equal(rec.len, wt_len(want));
		assert_int_equal(rec.type, (uint8_t)want);
		assert_true(wt_check(rec.data, rec.len, want));
		want++;
	}
	assert_int_equal(k, 0);
	assert_int_equal(want, last + 1);
	chronik_wal_reader_close(r);
}

static void test_wal_options_and_profiles(void **state)
{
	chronik_wal_options o;
	enum chronik_wal_profile p;
	chronik_wal *w = (chronik_wal *)&o;

	(void)state;
	assert_int_equal(chronik_wal_options_init(&o, 1), 0);
	assert_int_equal(o.version, 1);
	assert_int_equal(o.profile, CHRONIK_WAL_PROFILE_MEDIUM);
	assert_int_equal(chronik_wal_options_init(&o,
						  CHRONIK_WAL_OPTIONS_VERSION),
			 0);
	assert_int_equal(o.version, CHRONIK_WAL_OPTIONS_VERSION);
	assert_null(o.on_written);
	assert_int_equal(chronik_wal_options_init(&o, 99), CHRONIK_EVERSION);
	assert_int_equal(chronik_wal_options_init(NULL, 1), CHRONIK_EARG);
	assert_int_equal(chronik_wal_profile_parse(&p, "ULTRA"), 0);
	assert_int_equal(p, CHRONIK_WAL_PROFILE_ULTRA);
	assert_int_equal(chronik_wal_profile_parse(&p, "low"), 0);
	assert_int_equal(p, CHRONIK_WAL_PROFILE_LOW);
	assert_int_equal(chronik_wal_profile_parse(&p, "fast"), CHRONIK_EARG);
	assert_string_equal(chronik_wal_profile_name(CHRONIK_WAL_PROFILE_HIGH),
			    "high");
	assert_string_equal(chronik_wal_profile_name(
				    (enum chronik_wal_profile)9),
			    "unknown");
	chronik_wal_options_init(&o, 1);
	o.version = 7;
	o.dir = "/tmp";
	assert_int_equal(chronik_wal_open(&w, &o), CHRONIK_EVERSION);
	assert_null(w);
	chronik_wal_options_init(&o, 1);
	assert_int_equal(chronik_wal_open(&w, &o), CHRONIK_EARG);
	assert_int_equal(chronik_wal_close(NULL), 0);
}

static void test_wal_append_reopen_replay(void **state)
{
	struct fixture *f = *state;
	chronik_wal_recovery rec = {.version = CHRONIK_WAL_RECOVERY_VERSION};
	chronik_wal *w = open_wal(f->dir, 64 * 1024, CHRONIK_WAL_SYNC_DATA);

	assert_int_equal(chronik_wal_next_lsn(w), 1);
	assert_int_equal(chronik_wal_durable_lsn(w), 0);
	append_range(w, 1, 500);
	assert_int_equal(chronik_wal_wait(w, 500, -1), 0);
	assert_int_equal(chronik_wal_durable_lsn(w), 500);
	check_range(w, 1, 500);
	check_range(w, 321, 500);
	assert_int_equal(chronik_wal_close(w), 0);
	assert_true(wt_count_segments(f->dir) > 5);

	w = open_wal(f->dir, 64 * 1024, CHRONIK_WAL_SYNC_DATA);
	assert_int_equal(chronik_wal_recovery_get(&rec, w), 0);
	assert_int_equal(rec.records, 500);
	assert_int_equal(rec.first_lsn, 1);
	assert_int_equal(rec.last_lsn, 500);
	assert_int_equal(rec.torn_bytes, 0);
	assert_int_equal(rec.corrupt, 0);
	assert_int_equal(chronik_wal_next_lsn(w), 501);
	assert_int_equal(chronik_wal_durable_lsn(w), 500);
	check_range(w, 0, 500);
	append_range(w, 501, 700);
	assert_int_equal(chronik_wal_close(w), 0);
	w = open_wal(f->dir, 64 * 1024, CHRONIK_WAL_SYNC_DATA);
	check_range(w, 1, 700);
	assert_int_equal(chronik_wal_close(w), 0);
}

struct cb_state {
	pthread_mutex_t m;
	uint64_t count, last, bad;
	int commits;
};

static void rec_cb(uint64_t lsn, int status, void *ud)
{
	struct cb_state *s = ud;

	pthread_mutex_lock(&s->m);
	if (status != 0 || lsn <= s->last)
		s->bad++;
	s->last = lsn;
	s->count++;
	pthread_mutex_unlock(&s->m);
}

static void commit_cb(chronik_wal *w, uint64_t durable, int status, void *ud)
{
	struct cb_state *s = ud;

	(void)w;
	(void)durable;
	pthread_mutex_lock(&s->m);
	if (status == 0)
		s->commits++;
	pthread_mutex_unlock(&s->m);
}

static void test_wal_appendv_callbacks(void **state)
{
	struct fixture *f = *state;
	struct cb_state s = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0};
	chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;
	chronik_wal_reader *r;
	chronik_wal_record rec;
	chronik_wal_buf bufs[3] = {{"abc", 3}, {NULL, 0}, {"defg", 4}};
	chronik_wal_stats st = {.version = CHRONIK_WAL_STATS_VERSION};
	chronik_wal *w;
	uint64_t lsn;

	o.dir = f->dir;
	o.on_commit = commit_cb;
	o.userdata = &s;
	assert_int_equal(chronik_wal_open(&w, &o), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(chronik_wal_appendv(&lsn, w, 42, bufs, 3, 0,
						     rec_cb, &s), 0);
	assert_int_equal(lsn, 100);
	assert_int_equal(chronik_wal_wait(w, 100, 5000), 0);
	assert_int_equal(chronik_wal_appendv(NULL, w, 1, NULL, 0, 0, NULL,
					     NULL), 0);
	assert_int_equal(chronik_wal_appendv(NULL, w, 1, bufs, 3, 0x80, NULL,
					     NULL), CHRONIK_EARG);
	assert_int_equal(chronik_wal_reader_open(&r, w, 100), 0);
	assert_int_equal(chronik_wal_reader_next(&rec, r), 1);
	assert_int_equal(rec.lsn, 100);
	assert_int_equal(rec.type, 42);
	assert_int_equal(rec.len, 7);
	assert_memory_equal(rec.data, "abcdefg", 7);
	chronik_wal_reader_close(r);
	assert_int_equal(chronik_wal_stats_get(&st, w), 0);
	assert_int_equal(st.records, 101);
	assert_int_equal(st.bytes, 700);
	assert_true(st.syncs >= 1 && st.batches >= 1);
	st.version = 99;
	assert_int_equal(chronik_wal_stats_get(&st, w), CHRONIK_EVERSION);
	assert_int_equal(chronik_wal_close(w), 0);
	assert_int_equal(s.count, 100);
	assert_int_equal(s.bad, 0);
	assert_true(s.commits >= 1);
}

/* CHRONIK_WAL_APPEND_WRITTEN: each flagged record's callback runs first
 * with CHRONIK_WAL_WRITTEN (before its LSN is durable), then with 0;
 * unflagged records only get the final call; on_written follows the
 * writes, from the writer thread. */
struct written_state {
	pthread_mutex_t m;
	int written[201], final[201], order_bad, durable_bad, hooks;
	uint64_t hook_max;
	chronik_wal *w;
};

static void written_cb(uint64_t lsn, int status, void *ud)
{
	struct written_state *s = ud;

	pthread_mutex_lock(&s->m);
	if (lsn > 200) {
		s->order_bad++;
	} else if (status == CHRONIK_WAL_WRITTEN) {
		if (s->written[lsn] || s->final[lsn])
			s->order_bad++;
		s->written[lsn]++;
	} else {
		if (status != 0 || s->final[lsn])
			s->order_bad++;
		if (chronik_wal_durable_lsn(s->w) < lsn)
			s->durable_bad++;
		s->final[lsn]++;
	}
	pthread_mutex_unlock(&s->m);
}

static void written_hook(chronik_wal *w, uint64_t lsn, int status, void *ud)
{
	struct written_state *s = ud;

	(void)w;
	pthread_mutex_lock(&s->m);
	if (status != 0 || lsn < s->hook_max)
		s->order_bad++;
	s->hook_max = lsn;
	s->hooks++;
	pthread_mutex_unlock(&s->m);
}

static void test_wal_written_callbacks(void **state)
{
	struct fixture *f = *state;
	static struct written_state s;
	chronik_wal_options o;
	uint8_t buf[300];

	memset(&s, 0, sizeof s);
	pthread_mutex_init(&s.m, NULL);
	assert_int_equal(chronik_wal_options_init(&o,
						  CHRONIK_WAL_OPTIONS_VERSION),
			 0);
	o.dir = f->dir;
	o.on_written = written_hook;
	o.userdata = &s;
	assert_int_equal(chronik_wal_open(&s.w, &o), 0);
	memset(buf, 7, sizeof buf);
	for (int i = 1; i <= 200; i++) {
		chronik_wal_buf b = {buf, (size_t)i};

		assert_int_equal(chronik_wal_appendv(NULL, s.w, 3, &b, 1,
						     i % 2 ?
						     CHRONIK_WAL_APPEND_WRITTEN
							   : 0,
						     written_cb, &s), 0);
		if (i % 50 == 0)
			assert_int_equal(chronik_wal_wait(s.w, (uint64_t)i,
							  5000), 0);
	}
	assert_int_equal(chronik_wal_close(s.w), 0);
	for (int i = 1; i <= 200; i++) {
		assert_int_equal(s.final[i], 1);
		assert_int_equal(s.written[i], i % 2);
	}
	assert_int_equal(s.order_bad, 0);
	assert_int_equal(s.durable_bad, 0);
	assert_true(s.hooks >= 1);
	assert_int_equal(s.hook_max, 200);
	/* Version 1 options (no on_written) still open. */
	assert_int_equal(chronik_wal_options_init(&o, 1), 0);
	o.dir = f->dir;
	assert_int_equal(chronik_wal_open(&s.w, &o), 0);
	assert_int_equal(chronik_wal_next_lsn(s.w), 201);
	assert_int_equal(chronik_wal_close(s.w), 0);
	pthread_mutex_destroy(&s.m);
}

/* CHRONIK_WAL_APPEND_DEFER and chronik_wal_flush(): a flush finding the
 * writer idle writes the queue in the caller's thread, so the
 * CHRONIK_WAL_WRITTEN callback runs there before the flush returns; under
 * several appenders mixing deferred (flushed now or later), written-
 * acknowledged and plain records, every record still gets its calls in
 * order (written before final, finals in LSN order, each once), and
 * everything reads back in LSN order after a reopen. */
struct inline_state {
	pthread_mutex_t m;
	chronik_wal *w;
	uint64_t last_final;
	int bad, finals, writtens;
};

static _Thread_local int inline_here; /* written callbacks in this thread */

static void inline_cb(uint64_t lsn, int status, void *ud)
{
	struct inline_state *s = ud;

	pthread_mutex_lock(&s->m);
	if (status == CHRONIK_WAL_WRITTEN) {
		s->writtens++;
		inline_here++;
		if (lsn <= s->last_final)
			s->bad++; /* written after its final call */
	} else {
		if (status != 0 || lsn != s->last_final + 1 ||
		    chronik_wal_durable_lsn(s->w) < lsn)
			s->bad++;
		s->last_final = lsn;
		s->finals++;
	}
	pthread_mutex_unlock(&s->m);
}

static void *inline_appender(void *arg)
{
	struct inline_state *s = arg;
	static const unsigned int fl[4] = {
		CHRONIK_WAL_APPEND_DEFER | CHRONIK_WAL_APPEND_WRITTEN,
		CHRONIK_WAL_APPEND_DEFER, CHRONIK_WAL_APPEND_WRITTEN, 0};
	uint8_t buf[700];

	memset(buf, 0x3c, sizeof buf);
	for (int i = 0; i < 1000; i++) {
		chronik_wal_buf b = {buf, 1 + (size_t)(i * 7 % 700)};

		if (chronik_wal_appendv(NULL, s->w, 5, &b, 1, fl[i % 4],
					inline_cb, s) != 0) {
			pthread_mutex_lock(&s->m);
			s->bad++;
			pthread_mutex_unlock(&s->m);
		}
		/* Deferred records are flushed at once, or with the next
		 * ones (a plain append wakes the writer for them too). */
		if (i % 8 < 3 && chronik_wal_flush(s->w) != 0) {
			pthread_mutex_lock(&s->m);
			s->bad++;
			pthread_mutex_unlock(&s->m);
		}
		if (i % 100 == 0)
			usleep(200);
	}
	chronik_wal_flush(s->w);
	return NULL;
}

static void test_wal_inline_writes(void **state)
{
	struct fixture *f = *state;
	static struct inline_state s;
	chronik_wal *w = open_wal(f->dir, 256 * 1024, CHRONIK_WAL_SYNC_DATA);
	chronik_wal_reader *r;
	chronik_wal_record rec;
	pthread_t t[4];
	uint64_t lsn = 0, n = 0;
	int seen = 0;

	memset(&s, 0, sizeof s);
	pthread_mutex_init(&s.m, NULL);
	s.w = w;
	assert_int_equal(chronik_wal_flush(NULL), CHRONIK_EARG);
	assert_int_equal(chronik_wal_flush(w), 0); /* nothing queued */
	/* Alone and idle: written in this thread, answered before return.
	 * The first segment of a new WAL may have unwritten extents, which
	 * the writer leaves as soon as a zero-filled one is ready; until
	 * then appends go to the writer thread. */
	for (int i = 0; i < 2000 && seen < 5; i++) {
		chronik_wal_buf b = {"inline", 6};
		int before = inline_here;

		assert_int_equal(chronik_wal_appendv(
					 &lsn, w, 5, &b, 1,
					 CHRONIK_WAL_APPEND_DEFER |
						 CHRONIK_WAL_APPEND_WRITTEN,
					 inline_cb, &s),
				 0);
		/* Deferred: nothing written before the flush. */
		assert_int_equal(inline_here, before);
		assert_int_equal(chronik_wal_flush(w), 0);
		if (inline_here > before)
			seen++;
		assert_int_equal(chronik_wal_wait(w, lsn, 5000), 0);
		if (!seen)
			usleep(1000);
	}
	assert_int_equal(seen, 5);
	/* Several appenders at once. */
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, inline_appender, &s);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	lsn = chronik_wal_next_lsn(w) - 1;
	assert_int_equal(chronik_wal_wait(w, lsn, 10000), 0);
	assert_int_equal(chronik_wal_close(w), 0);
	assert_int_equal(s.bad, 0);
	assert_int_equal(s.finals, (int)lsn);
	w = open_wal(f->dir, 256 * 1024, CHRONIK_WAL_SYNC_DATA);
	assert_int_equal(chronik_wal_reader_open(&r, w, 1), 0);
	while (chronik_wal_reader_next(&rec, r) == 1) {
		assert_int_equal(rec.lsn, ++n);
		assert_int_equal(rec.type, 5);
	}
	assert_int_equal(n, lsn);
	chronik_wal_reader_close(r);
	assert_int_equal(chronik_wal_close(w), 0);
	pthread_mutex_destroy(&s.m);
}

static void test_wal_limits_and_wait(void **state)
{
	struct fixture *f = *state;
	chronik_wal *w = open_wal(f->dir, 64 * 1024, CHRONIK_WAL_SYNC_DATA);
	static uint8_t big[70 * 1024];
	chronik_wal *w2 = NULL;
	chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;

	assert_int_equal(chronik_wal_append(NULL, w, 0, big, sizeof big),
			 CHRONIK_ETOOBIG);
	assert_int_equal(chronik_wal_append(NULL, w, 0, big, 60 * 1024), 0);
	assert_int_equal(chronik_wal_append(NULL, w, 0, NULL, 3),
			 CHRONIK_EARG);
	assert_int_equal(chronik_wal_wait(w, 1, -1), 0);
	assert_int_equal(chronik_wal_wait(w, 0, 0), 0);
	assert_int_equal(chronik_wal_wait(w, 5, 0), CHRONIK_EARG);
	/* A second handle on the same directory is refused. */
	o.dir = f->dir;
	assert_int_equal(chronik_wal_open(&w2, &o), -EWOULDBLOCK);
	assert_non_null(w2);
	assert_true(strlen(chronik_wal_last_error(w2)) > 0);
	assert_int_equal(chronik_wal_close(w2), -EWOULDBLOCK);
	assert_int_equal(chronik_wal_close(w), 0);
	/* NO_CREATE on a missing directory. */
	{
		char path[4200];

		snprintf(path, sizeof path, "%s/none", f->dir);
		o.dir = path;
		o.flags = CHRONIK_WAL_OPEN_NO_CREATE;
		assert_int_equal(chronik_wal_open(&w2, &o), CHRONIK_ENOTFOUND);
		chronik_wal_close(w2);
	}
}

static void test_wal_event_fd(void **state)
{
	struct fixture *f = *state;
	chronik_wal *w = open_wal(f->dir, 0, CHRONIK_WAL_SYNC_DATA);
	struct pollfd pfd;
	uint64_t v, lsn;

	pfd.fd = chronik_wal_event_fd(w);
	pfd.events = POLLIN;
	assert_true(pfd.fd >= 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(chronik_wal_append(&lsn, w, 1, "x", 1), 0);
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(read(pfd.fd, &v, 8), 8);
	while (chronik_wal_durable_lsn(w) < lsn) {
		assert_int_equal(poll(&pfd, 1, 5000), 1);
		assert_int_equal(read(pfd.fd, &v, 8), 8);
	}
	assert_int_equal(chronik_wal_status(w), 0);
	assert_int_equal(chronik_wal_close(w), 0);
}

struct thr_arg {
	chronik_wal *w;
	int n;
	int id;
};

static void *appender(void *p)
{
	struct thr_arg *a = p;
	uint8_t buf[600];

	for (int i = 0; i < a->n; i++) {
		uint64_t lsn;

		/* Payload names its writer and sequence number. */
		memset(buf, a->id, sizeof buf);
		memcpy(buf, &i, sizeof i);
		if (chronik_wal_append(&lsn, a->w, (uint8_t)a->id, buf,
				       (size_t)(50 + i % 500)) != 0)
			abort();
		if (i % 64 == 0 && chronik_wal_wait(a->w, lsn, -1) != 0)
			abort();
	}
	return NULL;
}

static void test_wal_concurrent_with_reader(void **state)
{
	struct fixture *f = *state;
	chronik_wal *w = open_wal(f->dir, 256 * 1024, CHRONIK_WAL_SYNC_DATA);
	enum { T = 4, N = 3000 };
	pthread_t th[T];
	struct thr_arg a[T];
	chronik_wal_reader *r;
	chronik_wal_record rec;
	int next_seq[T] = {0};
	uint64_t want = 1;

	assert_int_equal(chronik_wal_reader_open(&r, w, 1), 0);
	for (int i = 0; i < T; i++) {
		a[i].w = w;
		a[i].n = N;
		a[i].id = i;
		pthread_create(&th[i], NULL, appender, &a[i]);
	}
	while (want <= (uint64_t)T * N) {
		int k = chronik_wal_reader_next(&rec, r);

		assert_true(k >= 0);
		if (k == 0) {
			usleep(100);
			continue;
		}
		assert_int_equal(rec.lsn, want);
		assert_true(rec.type < T);
		{
			int seq;

			memcpy(&seq, rec.data, sizeof seq);
			assert_int_equal(seq, next_seq[rec.type]);
			assert_int_equal(rec.len, (size_t)(50 + seq % 500));
			next_seq[rec.type]++;
		}
		want++;
	}
	for (int i = 0; i < T; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(chronik_wal_reader_next(&rec, r), 0);
	chronik_wal_reader_close(r);
	assert_int_equal(chronik_wal_close(w), 0);
}

static void test_wal_checkpoint_deletes_segments(void **state)
{
	struct fixture *f = *state;
	chronik_wal *w = open_wal(f->dir, 64 * 1024, CHRONIK_WAL_SYNC_DATA);
	chronik_wal_reader *r = NULL, *old = NULL;
	chronik_wal_record rec;
	int before;

	append_range(w, 1, 400);
	assert_int_equal(chronik_wal_wait(w, 400, -1), 0);
	assert_int_equal(chronik_wal_reader_open(&old, w, 1), 0);
	before = wt_count_segments(f->dir);
	assert_int_equal(chronik_wal_checkpoint(w, 500), CHRONIK_EARG);
	assert_int_equal(chronik_wal_checkpoint(w, 300), 0);
	assert_int_equal(chronik_wal_checkpoint_lsn(w), 300);
	assert_true(wt_count_segments(f->dir) < before);
	assert_true(chronik_wal_first_lsn(w) > 1);
	assert_true(chronik_wal_first_lsn(w) <= 300);
	assert_int_equal(chronik_wal_reader_open(&r, w, 1), CHRONIK_ENOTFOUND);
	/* The reader opened before still reads its open segment. */
	assert_int_equal(chronik_wal_reader_next(&rec, old), 1);
	assert_int_equal(rec.lsn, 1);
	chronik_wal_reader_close(old);
	check_range(w, 300, 400);
	/* Checkpoints never move back. */
	assert_int_equal(chronik_wal_checkpoint(w, 10), 0);
	assert_int_equal(chronik_wal_checkpoint_lsn(w), 300);
	assert_int_equal(chronik_wal_checkpoint(w, 401), 0);
	assert_int_equal(wt_count_segments(f->dir), 1);
	assert_int_equal(chronik_wal_close(w), 0);

	w = open_wal(f->dir, 64 * 1024, CHRONIK_WAL_SYNC_DATA);
	assert_int_equal(chronik_wal_checkpoint_lsn(w), 401);
	assert_int_equal(chronik_wal_next_lsn(w), 401);
	append_range(w, 401, 450);
	check_range(w, 401, 450);
	assert_int_equal(chronik_wal_close(w), 0);
}

/* Whether the file at path has allocated but unwritten extents
 * (fallocate's), as FIEMAP reports them; 0 where it cannot say. */
static int file_has_unwritten(const char *path)
{
	uint64_t buf[(sizeof(struct fiemap) +
		      64 * sizeof(struct fiemap_extent)) / 8 + 1] = {0};
	struct fiemap *fm = (struct fiemap *)buf;
	int fd = open(path, O_RDONLY), r = 0;

	assert_true(fd >= 0);
	fm->fm_length = ~(uint64_t)0;
	fm->fm_extent_count = 64;
	if (ioctl(fd, FS_IOC_FIEMAP, fm) == 0)
		for (unsigned int i = 0; i < fm->fm_mapped_extents; i++)
			if (fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_UNWRITTEN)
				r = 1;
	close(fd);
	return r;
}

/* The first segment is only fallocate'd; where that leaves unwritten
 * extents (ext4, XFS), the writer moves to the zero-filled segment the
 * preparer makes as soon as it is ready, long before the first is full.
 * Records stay in order across the early roll and after a reopen, and a
 * reopened WAL whose last segment has unwritten extents does the same. */
static void test_wal_early_roll_from_unwritten(void **state)
{
	struct fixture *f = *state;
	const uint64_t seg = 8 * 1024 * 1024;
	chronik_wal *w = open_wal(f->dir, seg, CHRONIK_WAL_SYNC_DATA);
	uint64_t last = 1, base = 0;
	char *first, *second;
	int unwritten;

	append_range(w, 1, 1);
	assert_int_equal(chronik_wal_wait(w, 1, -1), 0);
	first = wt_segment(f->dir, 0);
	assert_non_null(first);
	unwritten = file_has_unwritten(first);
	print_message("# first segment has unwritten extents: %s\n",
		      unwritten ? "yes" : "no");
	/* One record at a time, each waited for: the roll comes at a batch
	 * boundary once the prepared segment is ready (bounded: 10 s). */
	for (int i = 0; i < 2000 && wt_count_segments(f->dir) < 2; i++) {
		append_range(w, last + 1, last + 1);
		last++;
		assert_int_equal(chronik_wal_wait(w, last, -1), 0);
		if (!unwritten && last >= 50)
			break;
		usleep(5000);
	}
	if (!unwritten) {
		/* posix_fallocate's zeros, or no FIEMAP (tmpfs): nothing to
		 * leave early. */
		assert_int_equal(wt_count_segments(f->dir), 1);
		check_range(w, 1, last);
		assert_int_equal(chronik_wal_close(w), 0);
		free(first);
		return;
	}
	assert_int_equal(wt_count_segments(f->dir), 2);
	second = wt_segment(f->dir, 1);
	assert_non_null(second);
	assert_false(file_has_unwritten(second));
	assert_int_equal(sscanf(strrchr(second, '/') + 1, "%" SCNu64, &base),
			 1);
	assert_true(base > 1 && base <= last);
	append_range(w, last + 1, last + 100);
	last += 100;
	check_range(w, 1, last);
	assert_int_equal(chronik_wal_close(w), 0);
	free(second);

	/* Reopened with an unwritten last segment: rolls early again. */
	wt_rmrf(f->dir);
	w = open_wal(f->dir, seg, CHRONIK_WAL_SYNC_DATA);
	append_range(w, 1, 1);
	assert_int_equal(chronik_wal_close(w), 0);
	if (wt_count_segments(f->dir) == 1 && file_has_unwritten(first)) {
		w = open_wal(f->dir, seg, CHRONIK_WAL_SYNC_DATA);
		last = 1;
		for (int i = 0; i < 2000 && wt_count_segments(f->dir) < 2;
		     i++) {
			append_range(w, last + 1, last + 1);
			last++;
			assert_int_equal(chronik_wal_wait(w, last, -1), 0);
			usleep(5000);
		}
		assert_int_equal(wt_count_segments(f->dir), 2);
		check_range(w, 1, last);
		assert_int_equal(chronik_wal_close(w), 0);
	}
	free(first);
}

/* Files named spare-*.tmp in dir (checkpointed segments kept for reuse). */
static int count_spares(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "spare-", 6) == 0)
			n++;
	closedir(d);
	return n;
}

/* Copy every regular file of src into dst (a crash image: whatever the
 * files hold now, as a machine crash would leave them once synced). */
static void copy_dir(const char *src, const char *dst)
{
	struct dirent *de;
	DIR *d = opendir(src);
	static uint8_t buf[65536];

	assert_non_null(d);
	while ((de = readdir(d))) {
		char a[4096], b[4096];
		struct stat st;
		int in, out;
		ssize_t k;

		snprintf(a, sizeof a, "%s/%s", src, de->d_name);
		snprintf(b, sizeof b, "%s/%s", dst, de->d_name);
		if (stat(a, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		in = open(a, O_RDONLY);
		out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		assert_true(in >= 0 && out >= 0);
		while ((k = read(in, buf, sizeof buf)) > 0)
			assert_int_equal(write(out, buf, (size_t)k), k);
		assert_int_equal(k, 0);
		close(in);
		close(out);
	}
	closedir(d);
}

/* Checkpointed segments become spares (not while a reader is open) and
 * later segments reuse them: the same inodes come back under new names.
 * Records stay intact across rolls out of recycled segments (whose stale
 * end is cleared), in a crash image taken while the active segment is a
 * recycled one (its stale records count as a torn tail), and after a
 * clean close, which cuts the active segment at its last record and
 * removes the spares (the reopen finds no torn bytes). */
static void test_wal_recycled_segments(void **state)
{
	struct fixture *f = *state;
	const uint64_t seg = 64 * 1024;
	chronik_wal *w = open_wal(f->dir, seg, CHRONIK_WAL_SYNC_DATA);
	chronik_wal *c;
	chronik_wal_reader *r = NULL;
	chronik_wal_recovery rec = {.version = CHRONIK_WAL_RECOVERY_VERSION};
	/* Every segment file seen, by inode, with the base LSN it had
	 * then; an fd stays open on each so that no new file can get the
	 * inode number of a deleted one. */
	struct {
		ino_t ino;
		uint64_t base;
		int fd;
	} seen[1024];
	size_t nseen = 0;
	uint64_t last = 300, ckpt = 200;
	int spared = 0, old_recycled = 0, active_recycled = 0, images = 0;
	char *img = wt_tmpdir();

	append_range(w, 1, last);
	assert_int_equal(chronik_wal_wait(w, last, -1), 0);
	assert_int_equal(chronik_wal_reader_open(&r, w, 1), 0);
	assert_int_equal(chronik_wal_checkpoint(w, ckpt), 0);
	assert_int_equal(count_spares(f->dir), 0);
	chronik_wal_reader_close(r);

	/* Rounds of appends and checkpoints (bounded) until the writer
	 * has rolled out of a recycled segment (clearing its stale end)
	 * and writes into one now, with crash images taken along the way.
	 * Whether a roll finds a spare prepared depends on the preparer's
	 * timing: a short pause after each round gives it time. */
	for (int round = 0; round < 400; round++) {
		int nseg = wt_count_segments(f->dir), recycled = 0;

		active_recycled = 0;
		for (int i = 0; i < nseg; i++) {
			char *p = wt_segment(f->dir, i);
			struct stat st;
			uint64_t base;
			size_t k;

			assert_non_null(p);
			assert_int_equal(stat(p, &st), 0);
			assert_int_equal(sscanf(strrchr(p, '/') + 1,
						"%" SCNu64, &base), 1);
			for (k = 0; k < nseen && seen[k].ino != st.st_ino; k++)
				;
			if (k == nseen) {
				assert_true(nseen < 1024);
				seen[k].ino = st.st_ino;
				seen[k].base = base;
				seen[k].fd = open(p, O_RDONLY);
				assert_true(seen[k].fd >= 0);
				nseen++;
			} else if (seen[k].base != base) {
				recycled++;
				if (i + 1 < nseg)
					old_recycled = 1;
				else
					active_recycled = 1;
			}
			free(p);
		}
		if (recycled) {
			/* A crash image now: recovery must accept it (an
			 * older segment not ending in zeros is corruption). */
			wt_rmrf(img);
			assert_int_equal(mkdir(img, 0755), 0);
			copy_dir(f->dir, img);
			c = open_wal(img, seg, CHRONIK_WAL_SYNC_DATA);
			check_range(c, ckpt, last);
			assert_int_equal(chronik_wal_close(c), 0);
			images++;
		}
		if (old_recycled && active_recycled && images >= 20)
			break;
		append_range(w, last + 1, last + 40);
		last += 40;
		assert_int_equal(chronik_wal_wait(w, last, -1), 0);
		ckpt = last - 60;
		assert_int_equal(chronik_wal_checkpoint(w, ckpt), 0);
		spared |= count_spares(f->dir) > 0;
		usleep(2000);
	}
	for (size_t k = 0; k < nseen; k++)
		close(seen[k].fd);
	assert_true(spared);
	assert_true(old_recycled);
	assert_true(active_recycled);
	check_range(w, ckpt, last);

	/* Crash image: the active segment still holds stale records past
	 * its last one. */
	wt_rmrf(img);
	assert_int_equal(mkdir(img, 0755), 0);
	copy_dir(f->dir, img);
	c = open_wal(img, seg, CHRONIK_WAL_SYNC_DATA);
	assert_int_equal(chronik_wal_recovery_get(&rec, c), 0);
	assert_int_equal(rec.corrupt, 0);
	assert_true(rec.torn_bytes > 0);
	check_range(c, ckpt, last);
	append_range(c, last + 1, last + 200);
	check_range(c, ckpt, last + 200);
	assert_int_equal(chronik_wal_close(c), 0);
	c = open_wal(img, seg, CHRONIK_WAL_SYNC_DATA);
	check_range(c, ckpt, last + 200);
	assert_int_equal(chronik_wal_close(c), 0);

	/* Clean close: no spares left, no torn tail on reopen, and the
	 * segment cut at close is left early for a prepared one. */
	assert_int_equal(chronik_wal_close(w), 0);
	assert_int_equal(count_spares(f->dir), 0);
	w = open_wal(f->dir, seg, CHRONIK_WAL_SYNC_DATA);
	assert_int_equal(chronik_wal_recovery_get(&rec, w), 0);
	assert_int_equal(rec.corrupt, 0);
	assert_int_equal(rec.torn_bytes, 0);
	check_range(w, ckpt, last);
	append_range(w, last + 1, last + 400);
	last += 400;
	check_range(w, ckpt, last);
	assert_int_equal(chronik_wal_close(w), 0);
	w = open_wal(f->dir, seg, CHRONIK_WAL_SYNC_DATA);
	assert_int_equal(chronik_wal_recovery_get(&rec, w), 0);
	assert_int_equal(rec.torn_bytes, 0);
	check_range(w, ckpt, last);
	assert_int_equal(chronik_wal_close(w), 0);
	wt_rmrf(img);
	free(img);
}

static void test_wal_sync_none(void **state)
{
	struct fixture *f = *state;
	chronik_wal *w = open_wal(f->dir, 0, CHRONIK_WAL_SYNC_NONE);
	chronik_wal_stats st = {.version = CHRONIK_WAL_STATS_VERSION};

	append_range(w, 1, 1000);
	assert_int_equal(chronik_wal_wait(w, 1000, -1), 0);
	assert_int_equal(chronik_wal_stats_get(&st, w), 0);
	assert_int_equal(st.syncs, 0);
	assert_true(st.batches >= 1);
	assert_int_equal(chronik_wal_close(w), 0);
	w = open_wal(f->dir, 0, CHRONIK_WAL_SYNC_FULL);
	check_range(w, 1, 1000);
	assert_int_equal(chronik_wal_close(w), 0);
}

static void test_wal_profiles_all_work(void **state)
{
	struct fixture *f = *state;

	for (int p = 0; p < 4; p++) {
		chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;
		chronik_wal *w;
		char dir[4200];

		snprintf(dir, sizeof dir, "%s/p%d", f->dir, p);
		o.dir = dir;
		o.profile = (enum chronik_wal_profile)p;
		assert_int_equal(chronik_wal_open(&w, &o), 0);
		append_range(w, 1, 300);
		assert_int_equal(chronik_wal_wait(w, 300, -1), 0);
		check_range(w, 1, 300);
		assert_int_equal(chronik_wal_close(w), 0);
	}
}

/* ---- concurrency stress (also run under ThreadSanitizer) ---- */

#define STRESS_THREADS 8
#define STRESS_RECORDS 1500

struct stress {
	chronik_wal *w;
	unsigned int tid;
	atomic_uint cb_ok, cb_bad;
	atomic_int *stop_loop;
};

static size_t stress_len(unsigned int tid, unsigned int seq)
{
	/* Every 50th record is large: it outgrows the group buffer, whose
	 * growth has to wait for the copies in flight. */
	if (seq % 50 == 49)
		return 200000;
	return 8 + (size_t)((seq * 131u + tid * 17u) % 3000u);
}

static void stress_cb(uint64_t lsn, int status, void *ud)
{
	struct stress *s = ud;

	(void)lsn;
	if (status == 0)
		atomic_fetch_add(&s->cb_ok, 1);
	else
		atomic_fetch_add(&s->cb_bad, 1);
}

static void *stress_appender(void *arg)
{
	struct stress *s = arg;
	uint8_t *buf = malloc(200000);
	uint64_t last = 0;

	for (unsigned int seq = 0; seq < STRESS_RECORDS; seq++) {
		size_t len = stress_len(s->tid, seq);
		chronik_wal_buf b[2];
		unsigned int mode = (seq + s->tid) % 4;
		uint64_t lsn = 0;
		int r;

		memcpy(buf, &s->tid, 4);
		memcpy(buf + 4, &seq, 4);
		wt_fill(buf + 8, len - 8, (uint64_t)s->tid << 32 | seq);
		b[0].base = buf;
		b[0].len = 5;
		b[1].base = buf + 5;
		b[1].len = len - 5;
		do
			r = chronik_wal_appendv(&lsn, s->w, 7, b, 2,
						mode == 3
							? CHRONIK_WAL_APPEND_NONBLOCK
							: 0,
						mode == 0 ? stress_cb : NULL,
						s);
		while (r == CHRONIK_EAGAIN);
		assert_int_equal(r, 0);
		assert_true(lsn > last);
		last = lsn;
		if (mode == 1) {
			assert_int_equal(chronik_wal_wait(s->w, lsn, -1), 0);
		} else if (mode == 2) {
			while ((r = chronik_wal_wait(s->w, lsn, 1)) ==
			       -ETIMEDOUT)
				;
			assert_int_equal(r, 0);
		}
	}
	assert_int_equal(chronik_wal_wait(s->w, last, -1), 0);
	free(buf);
	return NULL;
}

/* An event-loop thread: the durable LSN it sees never goes back. */
static void *stress_loop(void *arg)
{
	struct stress *s = arg;
	struct pollfd pfd = {chronik_wal_event_fd(s->w), POLLIN, 0};
	uint64_t seen = 0, v;

	while (!atomic_load(s->stop_loop)) {
		uint64_t d;

		if (poll(&pfd, 1, 10) > 0 &&
		    read(pfd.fd, &v, sizeof v) < 0 && errno != EAGAIN)
			fail_msg("read eventfd: %s", strerror(errno));
		d = chronik_wal_durable_lsn(s->w);
		assert_true(d >= seen);
		seen = d;
		assert_int_equal(chronik_wal_status(s->w), 0);
	}
	return NULL;
}

static void test_wal_concurrent_stress(void **state)
{
	struct fixture *f = *state;
	chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;
	struct stress st[STRESS_THREADS + 1];
	pthread_t th[STRESS_THREADS + 1];
	unsigned int seen[STRESS_THREADS] = {0};
	chronik_wal_reader *r;
	chronik_wal_record rec;
	atomic_int stop = 0;
	uint64_t n = 0;
	chronik_wal *w;
	int k;

	o.dir = f->dir;
	o.segment_size = 1024 * 1024;
	o.profile = CHRONIK_WAL_PROFILE_HIGH;
	assert_int_equal(chronik_wal_open(&w, &o), 0);
	memset(st, 0, sizeof st);
	for (unsigned int i = 0; i <= STRESS_THREADS; i++) {
		st[i].w = w;
		st[i].tid = i;
		st[i].stop_loop = &stop;
		assert_int_equal(pthread_create(&th[i], NULL,
						i < STRESS_THREADS
							? stress_appender
							: stress_loop,
						&st[i]),
				 0);
	}
	for (unsigned int i = 0; i < STRESS_THREADS; i++)
		pthread_join(th[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(th[STRESS_THREADS], NULL);
	assert_int_equal(chronik_wal_close(w), 0);
	for (unsigned int i = 0; i < STRESS_THREADS; i++) {
		/* Callbacks ran exactly once, all successful. */
		assert_int_equal(atomic_load(&st[i].cb_bad), 0);
		assert_int_equal(atomic_load(&st[i].cb_ok),
				 (STRESS_RECORDS + 3 - i % 4) / 4);
	}
	{
		char p[4200];

		snprintf(p, sizeof p, "%s/next-segment.tmp", f->dir);
		assert_int_equal(access(p, F_OK), -1);
	}
	/* Every record is there, intact, each thread's in order. */
	w = open_wal(f->dir, 1024 * 1024, CHRONIK_WAL_SYNC_DATA);
	assert_true(wt_count_segments(f->dir) > 10);
	assert_int_equal(chronik_wal_reader_open(&r, w, 0), 0);
	while ((k = chronik_wal_reader_next(&rec, r)) == 1) {
		const uint8_t *d = rec.data;
		unsigned int tid, seq;

		assert_int_equal(rec.lsn, ++n);
		assert_int_equal(rec.type, 7);
		assert_true(rec.len >= 8);
		memcpy(&tid, d, 4);
		memcpy(&seq, d + 4, 4);
		assert_true(tid < STRESS_THREADS);
		assert_int_equal(seq, seen[tid]);
		seen[tid]++;
		assert_int_equal(rec.len, stress_len(tid, seq));
		assert_true(wt_check(d + 8, rec.len - 8,
				     (uint64_t)tid << 32 | seq));
	}
	assert_int_equal(k, 0);
	assert_int_equal(n, (uint64_t)STRESS_THREADS * STRESS_RECORDS);
	chronik_wal_reader_close(r);
	assert_int_equal(chronik_wal_close(w), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wal_options_and_profiles),
		cmocka_unit_test_setup_teardown(test_wal_append_reopen_replay,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_appendv_callbacks,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_written_callbacks,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_inline_writes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wal_limits_and_wait,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_event_fd, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_wal_concurrent_with_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_wal_checkpoint_deletes_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_wal_early_roll_from_unwritten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_recycled_segments,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_sync_none, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wal_profiles_all_work,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_concurrent_stress,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

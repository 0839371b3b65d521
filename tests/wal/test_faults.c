/* SPDX-License-Identifier: Apache-2.0 */
/* Failure injection through the internal I/O hooks: write and sync
 * errors put the WAL in the failed state, fail the affected appends and
 * never acknowledge data that was not made durable. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>

#include <cmocka.h>

#include "wal_internal.h"
#include "wal_test_util.h"

struct inject {
	atomic_int syncs_ok;     /* syncs that succeed before failing */
	atomic_int writes_ok;    /* pwrites that succeed before failing */
	atomic_int falloc_ok;    /* fallocates that succeed before failing */
	int err;
	atomic_int syncs_after_fail; /* sync calls after a failed sync */
	atomic_int failed;
	atomic_int sync_failed;
	int short_writes;        /* write at most 100 bytes per call */
	int fail_prep;           /* every preparation of a next segment
				  * fails (background; not a WAL failure) */
	atomic_int prep_fails;
	int sync_delay_us;       /* every sync takes at least this long */
	int prep_delay_us;       /* preparing a next segment takes this
				  * long (its fallocate) */
	atomic_int prep_calls;
	int fail_zero_writes;    /* a write of zeros only (clearing a
				  * recycled segment's end) fails */
	atomic_int zero_fails;
};

/* 1 if fd is the next segment the background preparer is making. */
static int is_prep_file(int fd)
{
	char link[64], path[4096];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof path - 1);
	if (n < 0)
		return 0;
	path[n] = 0;
	n = (ssize_t)strlen(path) - (ssize_t)strlen(WAL_PREP_NAME);
	return n > 0 && strcmp(path + n, WAL_PREP_NAME) == 0;
}

static ssize_t inj_pwrite(void *ctx, int fd, const void *buf, size_t n,
			  off_t off)
{
	struct inject *in = ctx;
	ssize_t r;

	if (atomic_fetch_sub(&in->writes_ok, 1) <= 0) {
		atomic_store(&in->failed, 1);
		return -in->err;
	}
	if (in->fail_zero_writes) {
		size_t k = 0;

		while (k < n && !((const uint8_t *)buf)[k])
			k++;
		if (k == n) {
			atomic_fetch_add(&in->zero_fails, 1);
			atomic_store(&in->failed, 1);
			return -in->err;
		}
	}
	if (in->short_writes && n > 100)
		n = 100;
	r = pwrite(fd, buf, n, off);
	return r < 0 ? -errno : r;
}

static int inj_sync(void *ctx, int fd, int full)
{
	struct inject *in = ctx;

	/* A sync may run while a write fails (the writer runs ahead of the
	 * sync thread), but none may follow a failed sync. */
	if (atomic_load(&in->sync_failed))
		atomic_fetch_add(&in->syncs_after_fail, 1);
	if (atomic_fetch_sub(&in->syncs_ok, 1) <= 0) {
		atomic_store(&in->failed, 1);
		atomic_store(&in->sync_failed, 1);
		return -in->err;
	}
	if (in->sync_delay_us)
		usleep((useconds_t)in->sync_delay_us);
	return (full ? fsync(fd) : fdatasync(fd)) ? -errno : 0;
}

static int inj_fallocate(void *ctx, int fd, off_t len)
{
	struct inject *in = ctx;
	int prep = is_prep_file(fd);

	if (prep) {
		atomic_fetch_add(&in->prep_calls, 1);
		if (in->prep_delay_us)
			usleep((useconds_t)in->prep_delay_us);
	}
	if (prep && in->fail_prep) {
		atomic_fetch_add(&in->prep_fails, 1);
		return -ENOSPC;
	}
	if (atomic_fetch_sub(&in->falloc_ok, 1) <= 0) {
		/* A failed background preparation is no WAL failure: the
		 * writer keeps syncing the active segment and creates the
		 * next one itself when it needs it. */
		if (!prep)
			atomic_store(&in->failed, 1);
		return -in->err;
	}
	return posix_fallocate(fd, 0, len) ? -EIO : 0;
}

struct acks {
	pthread_mutex_t m;
	uint64_t max_ok;     /* highest LSN acknowledged with status 0 */
	uint64_t n_ok, n_fail, n_written;
	int ok_after_fail;   /* a success reported after a failure */
	int first_err;
};

static void ack_cb(uint64_t lsn, int status, void *ud)
{
	struct acks *a = ud;

	pthread_mutex_lock(&a->m);
	if (status == CHRONIK_WAL_WRITTEN) {
		/* Acknowledged before the sync: not a success yet. */
		a->n_written++;
	} else if (status == 0) {
		a->n_ok++;
		if (lsn > a->max_ok)
			a->max_ok = lsn;
		if (a->n_fail)
			a->ok_after_fail = 1;
	} else {
		a->n_fail++;
		if (!a->first_err)
			a->first_err = status;
	}
	pthread_mutex_unlock(&a->m);
}

static chronik_wal *open_inj(const char *dir, struct inject *in)
{
	chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;
	struct chronik_wal__io io = {inj_pwrite, inj_sync, inj_fallocate, in};
	chronik_wal *w;

	o.dir = dir;
	o.segment_size = 64 * 1024;
	o.profile = CHRONIK_WAL_PROFILE_LOW;
	assert_int_equal(chronik_wal__open_io(&w, &o, &io), 0);
	return w;
}

/* Added to every append's flags: 0, or CHRONIK_WAL_APPEND_DEFER for the
 * runs where appenders write the queue themselves (chronik_wal_flush()
 * after each append). */
static unsigned int extra_flags;

/* Append n records with callbacks; returns how many were accepted. */
static int append_n(chronik_wal *w, int n, struct acks *a)
{
	uint8_t buf[1000];
	int ok = 0;

	memset(buf, 0xab, sizeof buf);
	for (int i = 0; i < n; i++) {
		chronik_wal_buf b = {buf, sizeof buf};
		uint64_t lsn;
		int r = chronik_wal_appendv(&lsn, w, 1, &b, 1,
					    (i % 3 ? 0
						   : CHRONIK_WAL_APPEND_WRITTEN) |
						    extra_flags,
					    ack_cb, a);

		if (extra_flags)
			assert_int_equal(chronik_wal_flush(w), 0);
		if (r == 0)
			ok++;
		else
			assert_int_equal(r, CHRONIK_EFAILED);
		if (i % 7 == 0 && r == 0)
			chronik_wal_wait(w, lsn, -1);
	}
	return ok;
}

static void run_failure(int mode, int err)
{
	struct inject in = {0};
	struct acks a = {.m = PTHREAD_MUTEX_INITIALIZER};
	char *dir = wt_tmpdir();
	chronik_wal *w;
	uint64_t durable, lsn;
	int accepted;

	in.err = err;
	in.syncs_ok = mode == 0 ? 20 : 1 << 30;
	in.writes_ok = mode == 1 ? 30 : 1 << 30;
	in.falloc_ok = mode == 2 ? 2 : 1 << 30;
	w = open_inj(dir, &in);
	accepted = append_n(w, 400, &a);
	if (extra_flags && mode == 1)
		assert_true(w->inline_writes > 0);
	/* Wait for the writer to deal with everything accepted. */
	chronik_wal_wait(w, (uint64_t)accepted, 10000);
	assert_int_equal(chronik_wal_status(w), -err);
	durable = chronik_wal_durable_lsn(w);
	assert_true(durable < (uint64_t)accepted);
	/* Appends are refused now; waits report the error. */
	assert_int_equal(chronik_wal_append(&lsn, w, 1, "x", 1),
			 CHRONIK_EFAILED);
	assert_int_equal(chronik_wal_wait(w, durable + 1, 1000), -err);
	assert_int_equal(chronik_wal_checkpoint(w, 1), CHRONIK_EFAILED);
	assert_true(strlen(chronik_wal_last_error(w)) > 0);
	assert_int_equal(chronik_wal_close(w), -err);
	/* Every callback ran once; no success beyond the durable LSN and
	 * none after the first failure; no sync retried after failing. */
	assert_int_equal(a.n_ok + a.n_fail, (uint64_t)accepted);
	assert_int_equal(a.max_ok, durable);
	assert_int_equal(a.n_ok, durable);
	assert_int_equal(a.ok_after_fail, 0);
	assert_int_equal(a.first_err, -err);
	assert_int_equal(atomic_load(&in.syncs_after_fail), 0);
	/* A third of the records asked for CHRONIK_WAL_WRITTEN: all the
	 * durable ones of those got it, never more than were accepted. */
	assert_true(a.n_written >= durable / 3);
	assert_true(a.n_written <= ((uint64_t)accepted + 2) / 3);

	/* Reopen with real I/O: everything acknowledged is there; whatever
	 * else is there is intact (unacknowledged records may survive). */
	{
		chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;
		chronik_wal_reader *r;
		chronik_wal_record rec;
		uint64_t n = 0;

		o.dir = dir;
		o.segment_size = 64 * 1024;
		assert_int_equal(chronik_wal_open(&w, &o), 0);
		assert_int_equal(chronik_wal_reader_open(&r, w, 1), 0);
		while (chronik_wal_reader_next(&rec, r) == 1) {
			assert_int_equal(rec.lsn, ++n);
			assert_int_equal(rec.len, 1000);
		}
		assert_true(n >= durable);
		chronik_wal_reader_close(r);
		assert_int_equal(chronik_wal_close(w), 0);
	}
	wt_rmrf(dir);
	free(dir);
}

static void test_faults_sync_eio(void **state)
{
	(void)state;
	run_failure(0, EIO);
}

static void test_faults_write_enospc(void **state)
{
	(void)state;
	run_failure(1, ENOSPC);
}

static void test_faults_preallocate_enospc(void **state)
{
	(void)state;
	run_failure(2, ENOSPC);
}

/* Short writes are completed, not mistaken for errors. */
static void test_faults_short_writes(void **state)
{
	struct inject in = {0};
	struct acks a = {.m = PTHREAD_MUTEX_INITIALIZER};
	char *dir = wt_tmpdir();
	chronik_wal *w;

	(void)state;
	in.syncs_ok = in.writes_ok = in.falloc_ok = 1 << 30;
	in.short_writes = 1;
	w = open_inj(dir, &in);
	assert_int_equal(append_n(w, 200, &a), 200);
	assert_int_equal(chronik_wal_wait(w, 200, -1), 0);
	assert_int_equal(chronik_wal_close(w), 0);
	assert_int_equal(a.n_ok, 200);
	wt_rmrf(dir);
	free(dir);
}

/* A next segment that cannot be prepared in the background does not fail
 * the WAL: the roll creates the segment itself. */
static void test_faults_prepare_fails_roll_creates(void **state)
{
	struct inject in = {0};
	struct acks a = {.m = PTHREAD_MUTEX_INITIALIZER};
	chronik_wal_stats st = {.version = CHRONIK_WAL_STATS_VERSION};
	char *dir = wt_tmpdir();
	chronik_wal *w;

	(void)state;
	in.syncs_ok = in.writes_ok = in.falloc_ok = 1 << 30;
	in.fail_prep = 1;
	w = open_inj(dir, &in);
	assert_int_equal(append_n(w, 400, &a), 400);
	assert_int_equal(chronik_wal_wait(w, 400, -1), 0);
	assert_int_equal(chronik_wal_status(w), 0);
	assert_int_equal(chronik_wal_stats_get(&st, w), 0);
	assert_true(st.segments_created > 3);
	assert_true(atomic_load(&in.prep_fails) > 0);
	assert_int_equal(chronik_wal_close(w), 0);
	assert_int_equal(a.n_ok, 400);
	assert_int_equal(a.n_fail, 0);
	wt_rmrf(dir);
	free(dir);
}

/* Slow syncs, several appenders, CHRONIK_WAL_APPEND_WRITTEN: the writer
 * runs ahead of the sync thread (more writes than syncs, records answered
 * as written before they are durable), every record gets both calls in
 * order, and everything is there after a reopen. */
struct slow_state {
	chronik_wal *w;
	pthread_mutex_t m;
	int written_early, written, final_ok, bad;
};

static void slow_cb(uint64_t lsn, int status, void *ud)
{
	struct slow_state *s = ud;

	pthread_mutex_lock(&s->m);
	if (status == CHRONIK_WAL_WRITTEN) {
		s->written++;
		if (chronik_wal_durable_lsn(s->w) < lsn)
			s->written_early++;
	} else if (status == 0) {
		s->final_ok++;
	} else {
		s->bad++;
	}
	pthread_mutex_unlock(&s->m);
}

static void *slow_appender(void *arg)
{
	struct slow_state *s = arg;
	uint8_t buf[300];

	memset(buf, 0x5a, sizeof buf);
	for (int i = 0; i < 500; i++) {
		chronik_wal_buf b = {buf, 50 + (size_t)(i % 250)};

		if (chronik_wal_appendv(NULL, s->w, 2, &b, 1,
					CHRONIK_WAL_APPEND_WRITTEN |
						extra_flags,
					slow_cb, s) != 0 ||
		    (extra_flags && chronik_wal_flush(s->w) != 0)) {
			pthread_mutex_lock(&s->m);
			s->bad++;
			pthread_mutex_unlock(&s->m);
		}
		usleep(100);
	}
	return NULL;
}

static void test_faults_slow_sync_writer_ahead(void **state)
{
	struct inject in = {0};
	static struct slow_state s;
	chronik_wal_stats st = {.version = CHRONIK_WAL_STATS_VERSION};
	char *dir = wt_tmpdir();
	pthread_t t[4];
	chronik_wal_reader *r;
	chronik_wal_record rec;
	uint64_t n = 0;

	(void)state;
	memset(&s, 0, sizeof s);
	pthread_mutex_init(&s.m, NULL);
	in.syncs_ok = in.writes_ok = in.falloc_ok = 1 << 30;
	in.sync_delay_us = 3000;
	s.w = open_inj(dir, &in);
	/* 2000 records of 70-320 bytes trickle in over ~50 ms: rolls of the
	 * 64 KiB segments wait for syncs, but most writes do not. */
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, slow_appender, &s);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(chronik_wal_wait(s.w, 2000, -1), 0);
	assert_int_equal(chronik_wal_stats_get(&st, s.w), 0);
	assert_true(st.batches > st.syncs);
	/* The appenders did write some of it themselves. */
	if (extra_flags)
		assert_true(s.w->inline_writes > 0);
	assert_int_equal(chronik_wal_close(s.w), 0);
	assert_int_equal(s.bad, 0);
	assert_int_equal(s.written, 2000);
	assert_int_equal(s.final_ok, 2000);
	assert_true(s.written_early > 0);
	s.w = open_inj(dir, &in);
	assert_int_equal(chronik_wal_reader_open(&r, s.w, 1), 0);
	while (chronik_wal_reader_next(&rec, r) == 1)
		assert_int_equal(rec.lsn, ++n);
	chronik_wal_reader_close(r);
	assert_int_equal(n, 2000);
	assert_int_equal(chronik_wal_close(s.w), 0);
	pthread_mutex_destroy(&s.m);
	wt_rmrf(dir);
	free(dir);
}

/* A slow preparer: rolls come while it is still making the file asked
 * for earlier, so the writer asks again meanwhile. It must go on
 * preparing segments once the writer has used that file (before 0.3.1
 * the second request was left pending and the preparer never woke
 * again: every later segment was created by the writer with unwritten
 * extents, each sync there a journal commit). */
static void test_faults_slow_prepare_keeps_preparing(void **state)
{
	struct inject in = {0};
	struct acks a = {.m = PTHREAD_MUTEX_INITIALIZER};
	char *dir = wt_tmpdir();
	chronik_wal *w;
	int before, n = 0;

	(void)state;
	in.syncs_ok = in.writes_ok = in.falloc_ok = 1 << 30;
	in.prep_delay_us = 20000;
	w = open_inj(dir, &in);
	/* Fast: several 64 KiB segments while one preparation runs. */
	n += append_n(w, 300, &a);
	assert_int_equal(chronik_wal_wait(w, (uint64_t)n, -1), 0);
	usleep(100000);
	/* Slow (bounded): the preparer has time for every segment now. */
	before = atomic_load(&in.prep_calls);
	for (int i = 0; i < 40 && atomic_load(&in.prep_calls) < before + 2;
	     i++) {
		n += append_n(w, 20, &a);
		assert_int_equal(chronik_wal_wait(w, (uint64_t)n, -1), 0);
		usleep(30000);
	}
	assert_true(atomic_load(&in.prep_calls) >= before + 2);
	assert_int_equal(chronik_wal_close(w), 0);
	assert_int_equal(a.n_fail, 0);
	wt_rmrf(dir);
	free(dir);
}

/* Clearing the stale end of a recycled segment before a roll fails: the
 * WAL fails like for any write error (nothing is acknowledged past the
 * durable end, the error names the segment), and a reopen with real I/O
 * finds every acknowledged record after the checkpoint. */
static void test_faults_recycled_clear_fails(void **state)
{
	struct inject in = {0};
	struct acks a = {.m = PTHREAD_MUTEX_INITIALIZER};
	char *dir = wt_tmpdir();
	chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;
	chronik_wal_reader *r;
	chronik_wal_record rec;
	chronik_wal *w;
	uint64_t durable, ckpt = 0, n;

	(void)state;
	in.err = EIO;
	in.syncs_ok = in.writes_ok = in.falloc_ok = 1 << 30;
	in.fail_zero_writes = 1;
	w = open_inj(dir, &in);
	/* Appends and checkpoints (bounded) until a roll out of a recycled
	 * segment tries to clear its end. */
	for (int i = 0; i < 200 && !atomic_load(&in.zero_fails); i++) {
		if (append_n(w, 20, &a) < 20)
			break;
		durable = chronik_wal_durable_lsn(w);
		if (durable > 30 && chronik_wal_checkpoint(w, durable - 30) == 0)
			ckpt = durable - 30;
	}
	assert_true(atomic_load(&in.zero_fails) > 0);
	chronik_wal_wait(w, chronik_wal_next_lsn(w) - 1, 10000);
	assert_int_equal(chronik_wal_status(w), -EIO);
	assert_non_null(strstr(chronik_wal_last_error(w), "recycled"));
	durable = chronik_wal_durable_lsn(w);
	assert_int_equal(chronik_wal_close(w), -EIO);
	assert_int_equal(a.max_ok, durable);
	assert_int_equal(a.ok_after_fail, 0);

	o.dir = dir;
	o.segment_size = 64 * 1024;
	assert_int_equal(chronik_wal_open(&w, &o), 0);
	assert_int_equal(chronik_wal_reader_open(&r, w, ckpt), 0);
	n = ckpt;
	while (chronik_wal_reader_next(&rec, r) == 1)
		assert_int_equal(rec.lsn, n++);
	assert_true(n > durable);
	chronik_wal_reader_close(r);
	assert_int_equal(chronik_wal_close(w), 0);
	wt_rmrf(dir);
	free(dir);
}

/* The same with appenders writing inline (CHRONIK_WAL_APPEND_DEFER and
 * chronik_wal_flush()):
 * their write failures fail the WAL the same way, and nothing they wrote
 * is acknowledged as durable before a sync. */
static void test_faults_inline(void **state)
{
	extra_flags = CHRONIK_WAL_APPEND_DEFER;
	test_faults_sync_eio(state);
	test_faults_write_enospc(state);
	test_faults_short_writes(state);
	test_faults_slow_sync_writer_ahead(state);
	extra_flags = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_faults_sync_eio),
		cmocka_unit_test(test_faults_write_enospc),
		cmocka_unit_test(test_faults_preallocate_enospc),
		cmocka_unit_test(test_faults_short_writes),
		cmocka_unit_test(test_faults_prepare_fails_roll_creates),
		cmocka_unit_test(test_faults_slow_sync_writer_ahead),
		cmocka_unit_test(test_faults_slow_prepare_keeps_preparing),
		cmocka_unit_test(test_faults_recycled_clear_fails),
		cmocka_unit_test(test_faults_inline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

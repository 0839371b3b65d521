/* SPDX-License-Identifier: Apache-2.0 */
/* Crash test: a child process appends from several threads and reports
 * every acknowledged LSN to the parent through a pipe; the parent kills it
 * with SIGKILL at a random moment, reopens the WAL and checks that every
 * acknowledged record is present and intact and that every record present
 * is intact. Cycles: CHRONIK_WAL_CRASH_CYCLES (default 60). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>

#include <cmocka.h>

#include "chronik/wal.h"
#include "wal_test_util.h"

#define THREADS 4

struct ack {
	uint64_t lsn;
	uint32_t tid, seq;
};

static int g_pipe;

static size_t payload_len(uint32_t tid, uint32_t seq)
{
	return 12 + (size_t)((seq * 131u + tid * 17u) % 2500u);
}

static void make_payload(uint8_t *buf, uint32_t tid, uint32_t seq)
{
	uint32_t len = (uint32_t)payload_len(tid, seq);

	memcpy(buf, &tid, 4);
	memcpy(buf + 4, &seq, 4);
	memcpy(buf + 8, &len, 4);
	wt_fill(buf + 12, len - 12, (uint64_t)tid << 32 | seq);
}

/* A record is intact if its payload is exactly what make_payload made. */
static int payload_ok(const uint8_t *buf, size_t len, uint32_t *tid,
		      uint32_t *seq)
{
	uint32_t l;

	if (len < 12)
		return 0;
	memcpy(tid, buf, 4);
	memcpy(seq, buf + 4, 4);
	memcpy(&l, buf + 8, 4);
	return l == len && len == payload_len(*tid, *seq) &&
	       wt_check(buf + 12, len - 12, (uint64_t)*tid << 32 | *seq);
}

static void child_ack(uint64_t lsn, int status, void *ud)
{
	uintptr_t v = (uintptr_t)ud;
	struct ack a;

	if (status == CHRONIK_WAL_WRITTEN)
		return; /* only durable records are reported */
	if (status != 0)
		_exit(3); /* no I/O errors expected here */
	a.lsn = lsn;
	a.tid = (uint32_t)(v >> 24);
	a.seq = (uint32_t)(v & 0xffffff);
	if (write(g_pipe, &a, sizeof a) != sizeof a)
		_exit(4);
}

struct child_thr {
	chronik_wal *w;
	uint32_t tid, seq0;
	unsigned int flags;
};

static void *child_appender(void *p)
{
	struct child_thr *t = p;
	uint8_t buf[4096];

	for (uint32_t seq = t->seq0;; seq++) {
		chronik_wal_buf b = {buf, payload_len(t->tid, seq)};
		uintptr_t tag = (uintptr_t)t->tid << 24 | (seq & 0xffffff);
		uint64_t lsn;

		make_payload(buf, t->tid, seq);
		if (chronik_wal_appendv(&lsn, t->w, 1, &b, 1, t->flags,
					child_ack, (void *)tag) != 0)
			_exit(5);
		if ((t->flags & CHRONIK_WAL_APPEND_DEFER) && seq % 4 != 1 &&
		    chronik_wal_flush(t->w) != 0)
			_exit(6);
		if (seq % 16 == 0)
			chronik_wal_wait(t->w, lsn, -1);
	}
	return NULL;
}

static void child_main(const char *dir, int cycle, int fd)
{
	chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;
	pthread_t th[THREADS];
	struct child_thr t[THREADS];
	chronik_wal *w;

	g_pipe = fd;
	o.dir = dir;
	o.segment_size = 256 * 1024;
	o.profile = (enum chronik_wal_profile)(cycle % 4);
	o.sync_mode = cycle % 5 == 4 ? CHRONIK_WAL_SYNC_NONE
				     : CHRONIK_WAL_SYNC_DATA;
	o.max_queued_bytes = 512 * 1024;
	if (chronik_wal_open(&w, &o) != 0)
		_exit(2);
	for (int i = 0; i < THREADS; i++) {
		t[i].w = w;
		t[i].tid = (uint32_t)(cycle * THREADS + i);
		t[i].seq0 = 0;
		/* Every other cycle, appenders defer and flush, writing
		 * inline (half of them with written acknowledgements): the
		 * writer, the sync thread and the appenders all write and
		 * sync at once. */
		t[i].flags = cycle % 2 == 0 ? 0
			     : i % 2	    ? CHRONIK_WAL_APPEND_DEFER |
						 CHRONIK_WAL_APPEND_WRITTEN
					    : CHRONIK_WAL_APPEND_DEFER;
		pthread_create(&th[i], NULL, child_appender, &t[i]);
	}
	/* In two cycles of three, checkpoint every few milliseconds, 500
	 * records behind the durable end: checkpointed segments become
	 * spares and later segments reuse them, so kills also land while
	 * the writer writes into (and rolls out of) recycled segments. */
	for (;;) {
		uint64_t d = chronik_wal_durable_lsn(w);

		if (cycle % 3 != 0 && d > 500)
			chronik_wal_checkpoint(w, d - 500);
		usleep(2000);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_crash_kill9_cycles(void **state)
{
	const char *env = getenv("CHRONIK_WAL_CRASH_CYCLES");
	int cycles = env ? atoi(env) : 60;
	char *dir = wt_tmpdir();
	uint64_t total_acked = 0, total_seen = 0;
	unsigned int seed = (unsigned int)time(NULL);

	(void)state;
	print_message("# crash test: %d cycles, seed %u\n", cycles, seed);
	srand(seed);
	for (int c = 0; c < cycles; c++) {
		struct ack *acks = NULL;
		size_t nacks = 0, cap = 0;
		int pfd[2], status;
		pid_t pid;
		uint64_t deadline;
		chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;
		chronik_wal *w;
		chronik_wal_reader *r;
		chronik_wal_record rec;
		uint64_t first, n = 0, k;
		int rr;

		assert_int_equal(pipe(pfd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			child_main(dir, c, pfd[1]);
		}
		close(pfd[1]);
		/* Collect acks for a random 0..80 ms, then SIGKILL. */
		deadline = now_ms() + (uint64_t)(rand() % 80);
		for (int killed = 0;;) {
			struct pollfd p = {pfd[0], POLLIN, 0};
			int wait_ms = 0;
			struct ack buf[256];
			ssize_t got;

			if (!killed) {
				uint64_t t = now_ms();

				if (t >= deadline) {
					kill(pid, SIGKILL);
					killed = 1;
				} else {
					wait_ms = (int)(deadline - t);
				}
			}
			if (!killed && poll(&p, 1, wait_ms) <= 0)
				continue;
			got = read(pfd[0], buf, sizeof buf);
			if (got <= 0) {
				if (killed)
					break;
				continue;
			}
			assert_int_equal(got % (ssize_t)sizeof(struct ack), 0);
			for (ssize_t i = 0; i < got / (ssize_t)sizeof *buf;
			     i++) {
				if (nacks == cap) {
					cap = cap ? cap * 2 : 4096;
					acks = realloc(acks, cap * sizeof *acks);
				}
				acks[nacks++] = buf[i];
			}
		}
		close(pfd[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) &&
			    WTERMSIG(status) == SIGKILL);

		/* Reopen and check. */
		o.dir = dir;
		o.segment_size = 256 * 1024;
		rr = chronik_wal_open(&w, &o);
		if (rr != 0)
			fail_msg("cycle %d: open: %s: %s", c,
				 chronik_strerror(rr),
				 chronik_wal_last_error(w));
		first = chronik_wal_checkpoint_lsn(w);
		if (first == 0)
			first = 1;
		assert_int_equal(chronik_wal_reader_open(&r, w, first), 0);
		/* Acks arrive in LSN order; walk both lists together. */
		k = 0;
		while ((rr = chronik_wal_reader_next(&rec, r)) == 1) {
			uint32_t tid, seq;

			assert_int_equal(rec.lsn, first + n);
			if (!payload_ok(rec.data, rec.len, &tid, &seq))
				fail_msg("cycle %d: LSN %llu is garbage", c,
					 (unsigned long long)rec.lsn);
			while (k < nacks && acks[k].lsn < rec.lsn)
				k++;
			if (k < nacks && acks[k].lsn == rec.lsn) {
				assert_int_equal(acks[k].tid, tid);
				assert_int_equal(acks[k].seq & 0xffffff, seq);
			}
			n++;
		}
		assert_int_equal(rr, 0);
		chronik_wal_reader_close(r);
		for (size_t i = 0; i < nacks; i++) {
			if (acks[i].lsn >= first + n)
				fail_msg("cycle %d: acknowledged LSN %llu lost "
					 "(recovered up to %llu)", c,
					 (unsigned long long)acks[i].lsn,
					 (unsigned long long)(first + n - 1));
			if (i && acks[i].lsn <= acks[i - 1].lsn)
				fail_msg("cycle %d: acks out of order", c);
		}
		total_acked += nacks;
		total_seen += n;
		/* Everything checked: let the WAL drop it. */
		assert_int_equal(chronik_wal_checkpoint(
					 w, chronik_wal_durable_lsn(w) + 1),
				 0);
		assert_int_equal(chronik_wal_close(w), 0);
		free(acks);
	}
	print_message("# crash test: %llu acknowledged, %llu recovered\n",
		      (unsigned long long)total_acked,
		      (unsigned long long)total_seen);
	assert_true(total_acked > 0);
	wt_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_kill9_cycles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_wal: group-commit throughput and commit latency of libchronik-wal,
 * and recovery/replay speed. Not a test; figures go to docs/performance.md.
 *
 *   bench_wal [--dir DIR] [--seconds S] [--profiles low,medium,...]
 *             [--sizes 256,16384] [--appenders 1,8,128] [--window W]
 *             [--sync data|full|none] [--recovery MIB] [--no-commit]
 *             [--completion cb|wait|loop] [--segment-kib K]
 *
 * Each appender thread appends records back to back, keeping at most W
 * (default 1) of its own records in flight: with W = 1 it appends one
 * record and waits for its completion before the next, like a request
 * handler that acknowledges each write. How an appender learns that its
 * records are durable:
 *
 *   cb    a per-record completion callback posts a per-appender semaphore
 *         (one wake-up per record: the costliest way);
 *   wait  (default) chronik_wal_wait() on the oldest in-flight LSN, then
 *         every in-flight record up to chronik_wal_durable_lsn() retires;
 *   loop  an event loop: each "appender" is a loop thread that appends
 *         with CHRONIK_WAL_APPEND_NONBLOCK while fewer than W of its
 *         records are in flight, and otherwise sleeps in poll() on the
 *         WAL's eventfd, then retires up to chronik_wal_durable_lsn()
 *         (--appenders 1 --window 16384 models one server thread).
 *
 * Commit latency is the time from the append call to the moment the
 * appender sees the record durable (callback, wait return, or eventfd).
 * --segment-kib sets the segment size (default 64 MiB), to see rolls:
 * the "max us" column is the slowest commit of the run.
 * --recovery MIB writes a WAL of that size (no sync), then times a reopen
 * (recovery verifies every CRC) and a full replay with a reader, both from
 * the page cache.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chronik/wal.h"

#define MAX_SAMPLES (4u * 1024 * 1024)

enum completion { COMP_CB, COMP_WAIT, COMP_LOOP };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct slot {
	uint64_t t0;
	uint64_t lsn;
	struct appender *a;
};

struct run;

/* Each appender keeps its own latency samples (no shared counter on the
 * hot path); they are merged after the run. */
struct appender {
	struct run *run;
	pthread_t th;
	sem_t room; /* COMP_CB: window slots free */
	struct slot *ring;
	unsigned int window;
	uint64_t head, tail; /* COMP_WAIT/LOOP: ring[tail..head) in flight */
	uint64_t *lat;
	size_t nlat, maxlat;
	atomic_ullong done;
};

struct run {
	chronik_wal *w;
	size_t size;
	enum completion comp;
	unsigned int nthr;
	uint64_t segment_size;
	atomic_int stop;
};

static void sample(struct appender *a, uint64_t ns)
{
	if (a->nlat < a->maxlat)
		a->lat[a->nlat++] = ns;
}

static void on_done(uint64_t lsn, int status, void *ud)
{
	struct slot *s = ud;
	struct appender *a = s->a;

	(void)lsn;
	if (status != 0) {
		fprintf(stderr, "append failed: %s\n", chronik_strerror(status));
		exit(1);
	}
	/* Only the writer thread calls back, once per record, in order. */
	sample(a, now_ns() - s->t0);
	atomic_fetch_add_explicit(&a->done, 1, memory_order_relaxed);
	sem_post(&a->room);
}

/* COMP_WAIT/LOOP: retire every in-flight record up to durable. */
static void retire(struct appender *a, uint64_t durable)
{
	uint64_t t = 0, n = 0;

	while (a->tail < a->head) {
		struct slot *s = &a->ring[a->tail % a->window];

		if (s->lsn > durable)
			break;
		if (!t)
			t = now_ns();
		sample(a, t - s->t0);
		a->tail++;
		n++;
	}
	if (n)
		atomic_fetch_add_explicit(&a->done, n, memory_order_relaxed);
}

static void die(const char *what, int r)
{
	fprintf(stderr, "%s: %s\n", what, chronik_strerror(r));
	exit(1);
}

static void appender_cb(struct appender *a, const uint8_t *buf)
{
	struct run *run = a->run;
	chronik_wal_buf b = {buf, run->size};
	uint64_t seq = 0;
	int r;

	while (!atomic_load_explicit(&run->stop, memory_order_relaxed)) {
		struct slot *s = &a->ring[seq % a->window];

		sem_wait(&a->room);
		s->t0 = now_ns();
		r = chronik_wal_appendv(NULL, run->w, 1, &b, 1, 0, on_done, s);
		if (r != 0)
			die("append", r);
		seq++;
	}
	/* Drain: wait until all of ours completed. */
	for (unsigned int i = 0; i < a->window; i++)
		sem_wait(&a->room);
}

static void appender_wait(struct appender *a, const uint8_t *buf)
{
	struct run *run = a->run;
	chronik_wal_buf b = {buf, run->size};
	int r;

	while (!atomic_load_explicit(&run->stop, memory_order_relaxed)) {
		struct slot *s;

		if (a->head - a->tail == a->window) {
			s = &a->ring[a->tail % a->window];
			r = chronik_wal_wait(run->w, s->lsn, -1);
			if (r != 0)
				die("wait", r);
		}
		retire(a, chronik_wal_durable_lsn(run->w));
		s = &a->ring[a->head % a->window];
		s->t0 = now_ns();
		r = chronik_wal_appendv(&s->lsn, run->w, 1, &b, 1, 0, NULL,
					NULL);
		if (r != 0)
			die("append", r);
		a->head++;
	}
	if (a->head > a->tail) {
		r = chronik_wal_wait(run->w,
				     a->ring[(a->head - 1) % a->window].lsn,
				     -1);
		if (r != 0)
			die("wait", r);
		retire(a, chronik_wal_durable_lsn(run->w));
	}
}

/* One event-loop thread: appends while its window has room, otherwise
 * sleeps on the eventfd. With more than one loop thread sharing the one
 * eventfd, a thread may miss a wake-up another one consumed, so poll()
 * also times out after 1 ms. */
static void appender_loop(struct appender *a, const uint8_t *buf,
			  int nloops)
{
	struct run *run = a->run;
	chronik_wal_buf b = {buf, run->size};
	struct pollfd pfd;
	uint64_t v;
	int r;

	pfd.fd = chronik_wal_event_fd(run->w);
	pfd.events = POLLIN;
	for (;;) {
		int stop = atomic_load_explicit(&run->stop,
						memory_order_relaxed);
		int full = 0;

		if (stop && a->head == a->tail)
			break;
		while (!stop && a->head - a->tail < a->window) {
			struct slot *s = &a->ring[a->head % a->window];

			s->t0 = now_ns();
			r = chronik_wal_appendv(&s->lsn, run->w, 1, &b, 1,
						CHRONIK_WAL_APPEND_NONBLOCK,
						NULL, NULL);
			if (r == CHRONIK_EAGAIN) {
				full = 1;
				break;
			}
			if (r != 0)
				die("append", r);
			a->head++;
		}
		if (a->head - a->tail == a->window || full || stop) {
			uint64_t d = chronik_wal_durable_lsn(run->w);

			if (a->tail < a->head &&
			    a->ring[a->tail % a->window].lsn > d) {
				r = poll(&pfd, 1, nloops > 1 ? 1 : -1);
				if (r < 0 && errno != EINTR) {
					perror("poll");
					exit(1);
				}
				if (read(pfd.fd, &v, sizeof v) < 0 &&
				    errno != EAGAIN) {
					perror("read eventfd");
					exit(1);
				}
				r = chronik_wal_status(run->w);
				if (r != 0)
					die("wal", r);
			}
		}
		retire(a, chronik_wal_durable_lsn(run->w));
	}
}

static void *appender_main(void *p)
{
	struct appender *a = p;
	struct run *run = a->run;
	uint8_t *buf = malloc(run->size);

	memset(buf, 0x5a, run->size);
	switch (run->comp) {
	case COMP_CB:
		appender_cb(a, buf);
		break;
	case COMP_WAIT:
		appender_wait(a, buf);
		break;
	case COMP_LOOP:
		appender_loop(a, buf, (int)run->nthr);
		break;
	}
	free(buf);
	return NULL;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static void rmrf(const char *dir)
{
	char cmd[8300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static uint64_t g_segment_size;

static const char *const comp_names[] = {"cb", "wait", "loop"};

static void run_one(const char *base, enum chronik_wal_profile prof,
		    enum chronik_wal_sync_mode mode, enum completion comp,
		    size_t size, unsigned int nthr, unsigned int window,
		    double seconds)
{
	chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;
	chronik_wal_stats st = {.version = CHRONIK_WAL_STATS_VERSION};
	struct run run;
	struct appender *a = calloc(nthr, sizeof *a);
	uint64_t *lat;
	char dir[8192];
	uint64_t t0, t1, n = 0, syncs0, batches0;
	size_t ns = 0;
	int r;

	snprintf(dir, sizeof dir, "%s/run-%s-%zu-%u", base,
		 chronik_wal_profile_name(prof), size, nthr);
	memset(&run, 0, sizeof run);
	run.size = size;
	run.comp = comp;
	run.nthr = nthr;
	run.segment_size = g_segment_size;
	o.segment_size = run.segment_size;
	o.dir = dir;
	o.profile = prof;
	o.sync_mode = mode;
	r = chronik_wal_open(&run.w, &o);
	if (r != 0)
		die("open", r);
	/* Warm up: create the first segment outside the timing. */
	chronik_wal_append(NULL, run.w, 0, "w", 1);
	chronik_wal_wait(run.w, 1, -1);
	chronik_wal_stats_get(&st, run.w);
	syncs0 = st.syncs;
	batches0 = st.batches;
	for (unsigned int i = 0; i < nthr; i++) {
		a[i].run = &run;
		a[i].window = window;
		a[i].ring = calloc(window, sizeof *a[i].ring);
		a[i].maxlat = MAX_SAMPLES / nthr;
		a[i].lat = malloc(a[i].maxlat * sizeof *a[i].lat);
		for (unsigned int k = 0; k < window; k++)
			a[i].ring[k].a = &a[i];
		sem_init(&a[i].room, 0, window);
	}
	t0 = now_ns();
	for (unsigned int i = 0; i < nthr; i++)
		pthread_create(&a[i].th, NULL, appender_main, &a[i]);
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&run.stop, 1);
	for (unsigned int i = 0; i < nthr; i++)
		pthread_join(a[i].th, NULL);
	t1 = now_ns();
	chronik_wal_stats_get(&st, run.w);
	st.syncs -= syncs0;
	st.batches -= batches0;
	lat = malloc(MAX_SAMPLES * sizeof *lat);
	for (unsigned int i = 0; i < nthr; i++) {
		n += atomic_load(&a[i].done);
		memcpy(lat + ns, a[i].lat, a[i].nlat * sizeof *lat);
		ns += a[i].nlat;
	}
	qsort(lat, ns, sizeof *lat, cmp_u64);
	{
		double secs = (double)(t1 - t0) / 1e9;
		double rps = (double)n / secs;

		printf("%-6s %6zu %4u %5u %-4s %11.0f %7.1f %8.1f %8.1f "
		       "%8.1f %8.1f %8.1f %8.1f %7.0f\n",
		       chronik_wal_profile_name(prof), size, nthr, window,
		       comp_names[comp], rps, rps * (double)size / 1e6,
		       st.batches ? (double)n / (double)st.batches : 0.0,
		       ns ? (double)lat[ns / 2] / 1e3 : 0.0,
		       ns ? (double)lat[(size_t)((double)ns * 0.99)] / 1e3
			  : 0.0,
		       ns ? (double)lat[(size_t)((double)ns * 0.999)] / 1e3
			  : 0.0,
		       ns ? (double)lat[ns - 1] / 1e3 : 0.0,
		       st.syncs ? (double)st.sync_ns_total /
					  (double)st.syncs / 1e3
				: 0.0,
		       st.syncs / secs);
	}
	fflush(stdout);
	chronik_wal_close(run.w);
	for (unsigned int i = 0; i < nthr; i++) {
		sem_destroy(&a[i].room);
		free(a[i].ring);
		free(a[i].lat);
	}
	free(a);
	free(lat);
	rmrf(dir);
}

static void recovery_bench(const char *base, size_t mib)
{
	chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;
	chronik_wal_recovery rec = {.version = CHRONIK_WAL_RECOVERY_VERSION};
	chronik_wal_reader *r;
	chronik_wal_record rd;
	chronik_wal *w;
	char dir[8192];
	size_t size = 16384, n = mib * 1024 * 1024 / size;
	uint8_t *buf = malloc(size);
	uint64_t t0, t1, bytes = 0, cnt = 0;
	int k;

	snprintf(dir, sizeof dir, "%s/recovery", base);
	memset(buf, 0xa5, size);
	o.dir = dir;
	o.profile = CHRONIK_WAL_PROFILE_ULTRA;
	o.sync_mode = CHRONIK_WAL_SYNC_NONE;
	if (chronik_wal_open(&w, &o) != 0)
		exit(1);
	t0 = now_ns();
	for (size_t i = 0; i < n; i++)
		if (chronik_wal_append(NULL, w, 1, buf, size) != 0)
			exit(1);
	chronik_wal_wait(w, n, -1);
	t1 = now_ns();
	chronik_wal_close(w);
	printf("write (no sync) %zu MiB: %.2f s, %.0f MB/s\n", mib,
	       (double)(t1 - t0) / 1e9,
	       (double)(n * size) / ((double)(t1 - t0) / 1e9) / 1e6);

	o.sync_mode = CHRONIK_WAL_SYNC_DATA;
	t0 = now_ns();
	if (chronik_wal_open(&w, &o) != 0)
		exit(1);
	t1 = now_ns();
	chronik_wal_recovery_get(&rec, w);
	printf("recovery (open, verify every CRC): %llu records, %.0f MiB in "
	       "%.3f s: %.0f MB/s\n", (unsigned long long)rec.records,
	       (double)rec.bytes / 1048576.0, (double)(t1 - t0) / 1e9,
	       (double)rec.bytes / ((double)(t1 - t0) / 1e9) / 1e6);
	t0 = now_ns();
	if (chronik_wal_reader_open(&r, w, 0) != 0)
		exit(1);
	while ((k = chronik_wal_reader_next(&rd, r)) == 1) {
		bytes += rd.len;
		cnt++;
	}
	t1 = now_ns();
	chronik_wal_reader_close(r);
	printf("replay (reader, every CRC checked): %llu records, %.0f MiB in "
	       "%.3f s: %.0f MB/s, %.0f records/s%s\n",
	       (unsigned long long)cnt, (double)bytes / 1048576.0,
	       (double)(t1 - t0) / 1e9,
	       (double)bytes / ((double)(t1 - t0) / 1e9) / 1e6,
	       (double)cnt / ((double)(t1 - t0) / 1e9),
	       k < 0 ? " (ERROR)" : "");
	chronik_wal_close(w);
	free(buf);
	rmrf(dir);
}

/* Parse a comma-separated list of numbers. */
static size_t parse_list(const char *s, unsigned long *out, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		char *end;

		out[n++] = strtoul(s, &end, 10);
		s = *end == ',' ? end + 1 : end;
		if (!*end)
			break;
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	char base[4096];
	const char *profiles = "low,medium,high,ultra";
	unsigned long sizes[8] = {256, 16384}, thr[8] = {1, 8, 128};
	size_t nsizes = 2, nthr = 3, recovery_mib = 0;
	unsigned int window = 1;
	double seconds = 1.0;
	int commit = 1;
	enum completion comp = COMP_WAIT;
	enum chronik_wal_sync_mode mode = CHRONIK_WAL_SYNC_DATA;

	snprintf(base, sizeof base, "%s/bench-wal.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";

		if (!strcmp(argv[i], "--dir")) {
			snprintf(base, sizeof base, "%s/bench-wal.XXXXXX", v);
			i++;
		} else if (!strcmp(argv[i], "--seconds")) {
			seconds = atof(v);
			i++;
		} else if (!strcmp(argv[i], "--profiles")) {
			profiles = v;
			i++;
		} else if (!strcmp(argv[i], "--sizes")) {
			nsizes = parse_list(v, sizes, 8);
			i++;
		} else if (!strcmp(argv[i], "--appenders")) {
			nthr = parse_list(v, thr, 8);
			i++;
		} else if (!strcmp(argv[i], "--window")) {
			window = (unsigned int)atoi(v);
			i++;
		} else if (!strcmp(argv[i], "--sync")) {
			mode = !strcmp(v, "none") ? CHRONIK_WAL_SYNC_NONE
			       : !strcmp(v, "full") ? CHRONIK_WAL_SYNC_FULL
						    : CHRONIK_WAL_SYNC_DATA;
			i++;
		} else if (!strcmp(argv[i], "--recovery")) {
			recovery_mib = (size_t)atol(v);
			i++;
		} else if (!strcmp(argv[i], "--completion")) {
			comp = !strcmp(v, "cb")	    ? COMP_CB
			       : !strcmp(v, "loop") ? COMP_LOOP
						    : COMP_WAIT;
			i++;
		} else if (!strcmp(argv[i], "--segment-kib")) {
			g_segment_size = (uint64_t)atol(v) * 1024;
			i++;
		} else if (!strcmp(argv[i], "--no-commit")) {
			commit = 0;
		} else {
			fprintf(stderr, "usage: see the comment in "
					"bench/bench_wal.c\n");
			return 2;
		}
	}
	if (window < 1)
		window = 1;
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	if (commit) {
		char list[256], *save = NULL;

		printf("# libchronik-wal %s, window %u, %.1f s per run\n",
		       chronik_wal_version_string(), window, seconds);
		printf("%-6s %6s %4s %5s %-4s %11s %7s %8s %8s %8s %8s "
		       "%8s %8s %7s\n",
		       "prof", "bytes", "thr", "win", "comp", "records/s",
		       "MB/s", "rec/sync", "p50 us", "p99 us", "p999 us",
		       "max us", "sync us", "syncs/s");
		snprintf(list, sizeof list, "%s", profiles);
		for (char *p = strtok_r(list, ",", &save); p;
		     p = strtok_r(NULL, ",", &save)) {
			enum chronik_wal_profile prof;

			if (chronik_wal_profile_parse(&prof, p) != 0) {
				fprintf(stderr, "bad profile %s\n", p);
				return 2;
			}
			for (size_t s = 0; s < nsizes; s++)
				for (size_t t = 0; t < nthr; t++)
					run_one(base, prof, mode, comp,
						sizes[s],
						(unsigned int)thr[t], window,
						seconds);
		}
	}
	if (recovery_mib)
		recovery_bench(base, recovery_mib);
	rmrf(base);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_wal: group-commit throughput and commit latency of libchronik-wal,
 * and recovery/replay speed. Not a test; figures go to docs/performance.md.
 *
 *   bench_wal [--dir DIR] [--seconds S] [--profiles low,medium,...]
 *             [--sizes 256,16384] [--appenders 1,8,128] [--window W]
 *             [--sync data|full|none] [--recovery MIB] [--no-commit]
 *
 * Each appender thread appends records back to back, keeping at most W
 * (default 1) of its own records in flight: with W = 1 it appends one
 * record and waits for its completion callback before the next, like a
 * request handler that acknowledges each write. Commit latency is the time
 * from the append call to the record's completion callback.
 * --recovery MIB writes a WAL of that size (no sync), then times a reopen
 * (recovery verifies every CRC) and a full replay with a reader, both from
 * the page cache.
 */
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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct slot {
	uint64_t t0;
	struct appender *a;
};

struct run;

struct appender {
	struct run *run;
	pthread_t th;
	sem_t room; /* window slots free */
	struct slot *ring;
	unsigned int window;
	uint64_t done;
};

struct run {
	chronik_wal *w;
	size_t size;
	atomic_int stop;
	uint64_t *lat;
	atomic_uint nlat;
	atomic_ullong completed;
};

static void on_done(uint64_t lsn, int status, void *ud)
{
	struct slot *s = ud;
	struct run *run = s->a->run;
	unsigned int i;

	(void)lsn;
	if (status != 0) {
		fprintf(stderr, "append failed: %s\n", chronik_strerror(status));
		exit(1);
	}
	i = atomic_fetch_add_explicit(&run->nlat, 1, memory_order_relaxed);
	if (i < MAX_SAMPLES)
		run->lat[i] = now_ns() - s->t0;
	atomic_fetch_add_explicit(&run->completed, 1, memory_order_relaxed);
	sem_post(&s->a->room);
}

static void *appender_main(void *p)
{
	struct appender *a = p;
	struct run *run = a->run;
	uint8_t *buf = malloc(run->size);
	uint64_t seq = 0;

	memset(buf, 0x5a, run->size);
	while (!atomic_load_explicit(&run->stop, memory_order_relaxed)) {
		struct slot *s = &a->ring[seq % a->window];
		chronik_wal_buf b = {buf, run->size};
		int r;

		sem_wait(&a->room);
		s->t0 = now_ns();
		r = chronik_wal_appendv(NULL, run->w, 1, &b, 1, 0, on_done, s);
		if (r != 0) {
			fprintf(stderr, "append: %s\n", chronik_strerror(r));
			exit(1);
		}
		seq++;
	}
	/* Drain: wait until all of ours completed. */
	for (unsigned int i = 0; i < a->window; i++)
		sem_wait(&a->room);
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

static void run_one(const char *base, enum chronik_wal_profile prof,
		    enum chronik_wal_sync_mode mode, size_t size,
		    unsigned int nthr, unsigned int window, double seconds)
{
	chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;
	chronik_wal_stats st = {.version = CHRONIK_WAL_STATS_VERSION};
	struct run run;
	struct appender *a = calloc(nthr, sizeof *a);
	char dir[8192];
	uint64_t t0, t1, n;
	unsigned int ns;
	int r;

	snprintf(dir, sizeof dir, "%s/run-%s-%zu-%u", base,
		 chronik_wal_profile_name(prof), size, nthr);
	memset(&run, 0, sizeof run);
	run.size = size;
	run.lat = malloc(MAX_SAMPLES * sizeof *run.lat);
	o.dir = dir;
	o.profile = prof;
	o.sync_mode = mode;
	r = chronik_wal_open(&run.w, &o);
	if (r != 0) {
		fprintf(stderr, "open %s: %s\n", dir, chronik_strerror(r));
		exit(1);
	}
	/* Warm up: create the first segment outside the timing. */
	chronik_wal_append(NULL, run.w, 0, "w", 1);
	chronik_wal_wait(run.w, 1, -1);
	chronik_wal_stats_get(&st, run.w);
	{
		uint64_t syncs0 = st.syncs, batches0 = st.batches;

		t0 = now_ns();
		for (unsigned int i = 0; i < nthr; i++) {
			a[i].run = &run;
			a[i].window = window;
			a[i].ring = calloc(window, sizeof *a[i].ring);
			for (unsigned int k = 0; k < window; k++)
				a[i].ring[k].a = &a[i];
			sem_init(&a[i].room, 0, window);
			pthread_create(&a[i].th, NULL, appender_main, &a[i]);
		}
		usleep((useconds_t)(seconds * 1e6));
		atomic_store(&run.stop, 1);
		for (unsigned int i = 0; i < nthr; i++)
			pthread_join(a[i].th, NULL);
		t1 = now_ns();
		chronik_wal_stats_get(&st, run.w);
		st.syncs -= syncs0;
		st.batches -= batches0;
	}
	n = atomic_load(&run.completed);
	ns = atomic_load(&run.nlat);
	if (ns > MAX_SAMPLES)
		ns = MAX_SAMPLES;
	qsort(run.lat, ns, sizeof *run.lat, cmp_u64);
	{
		double secs = (double)(t1 - t0) / 1e9;
		double rps = (double)n / secs;

		printf("%-6s %6zu %4u %3u %11.0f %8.1f %8.1f %8.1f %8.1f "
		       "%8.1f %8.1f %8.0f\n",
		       chronik_wal_profile_name(prof), size, nthr, window, rps,
		       rps * (double)size / 1e6,
		       st.batches ? (double)n / (double)st.batches : 0.0,
		       ns ? (double)run.lat[ns / 2] / 1e3 : 0.0,
		       ns ? (double)run.lat[(size_t)(ns * 0.99)] / 1e3 : 0.0,
		       ns ? (double)run.lat[(size_t)(ns * 0.999)] / 1e3 : 0.0,
		       st.syncs ? (double)st.sync_ns_total /
					  (double)(st.syncs + 0) / 1e3
				: 0.0,
		       st.syncs / secs);
	}
	fflush(stdout);
	chronik_wal_close(run.w);
	for (unsigned int i = 0; i < nthr; i++) {
		sem_destroy(&a[i].room);
		free(a[i].ring);
	}
	free(a);
	free(run.lat);
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
		printf("%-6s %6s %4s %3s %11s %8s %8s %8s %8s %8s %8s %8s\n",
		       "prof", "bytes", "thr", "win", "records/s", "MB/s",
		       "rec/sync", "p50 us", "p99 us", "p999 us", "sync us",
		       "syncs/s");
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
					run_one(base, prof, mode, sizes[s],
						(unsigned int)thr[t], window,
						seconds);
		}
	}
	if (recovery_mib)
		recovery_bench(base, recovery_mib);
	rmrf(base);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_floor: what this machine charges for the two things every
 * acknowledged acks=all produce pays at least once, measured without any
 * chronik code, so the broker's figures can be read against them:
 *
 *   sync   write N bytes at a new offset of a preallocated, zero-filled
 *          file and make it durable, from 1..T threads at once (each in
 *          its own region of one file), per method:
 *            fdatasync  pwrite, then fdatasync (what libchronik-wal does)
 *            rwf_dsync  pwritev2(RWF_DSYNC): one system call
 *            direct     O_DIRECT pwrite, then fdatasync
 *          Prints syncs/s over all threads and the latency percentiles.
 *   wake   two threads hand a token back and forth through a mutex and
 *          a condition variable (each hand-off wakes a sleeping thread),
 *          and the same through a spinning atomic: the cost of one
 *          thread wake-up, which a request pays at every hand-off
 *          between threads (socket -> event loop -> WAL writer -> loop).
 *
 *   bench_floor [--dir DIR] [--seconds S] [--size BYTES] [--threads 1,2,4]
 *
 * Not a test; figures go to docs/performance.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define REGION ((off_t)64 << 20) /* bytes of file per thread */
#define MAX_THREADS 16
#define MAX_SAMPLES 400000

enum method { M_FDATASYNC, M_RWF_DSYNC, M_DIRECT };
static const char *const method_names[] = {"fdatasync", "rwf_dsync",
					   "direct"};

struct worker {
	pthread_t t;
	int fd;
	int id;
	enum method m;
	size_t size;
	double until;
	double *lat;
	size_t n;
	int err;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void *sync_main(void *arg)
{
	struct worker *w = arg;
	void *buf;
	off_t base = (off_t)w->id * REGION, off = 0;

	if (posix_memalign(&buf, 4096, w->size) != 0) {
		w->err = ENOMEM;
		return NULL;
	}
	memset(buf, 'x', w->size);
	while (w->n < MAX_SAMPLES && now_s() < w->until) {
		double t0 = now_s();
		ssize_t r;

		if (w->m == M_RWF_DSYNC) {
			struct iovec v = {buf, w->size};

			r = pwritev2(w->fd, &v, 1, base + off, RWF_DSYNC);
		} else {
			r = pwrite(w->fd, buf, w->size, base + off);
			if (r == (ssize_t)w->size && fdatasync(w->fd) != 0)
				r = -1;
		}
		if (r != (ssize_t)w->size) {
			w->err = r < 0 ? errno : EIO;
			break;
		}
		w->lat[w->n++] = now_s() - t0;
		off += (off_t)w->size;
		if (off + (off_t)w->size > REGION)
			off = 0;
	}
	free(buf);
	return NULL;
}

static int prepare_file(const char *path, int nthreads)
{
	static char zeros[1 << 20];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	for (off_t o = 0; o < (off_t)nthreads * REGION; o += sizeof zeros)
		if (pwrite(fd, zeros, sizeof zeros, o) != (ssize_t)sizeof zeros) {
			close(fd);
			return -1;
		}
	if (fsync(fd) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int run_sync(const char *dir, double secs, size_t size,
		    enum method m, int nthreads)
{
	struct worker w[MAX_THREADS];
	char path[4096];
	double *all, t0;
	size_t total = 0;
	int fd;

	snprintf(path, sizeof path, "%s/bench_floor.%d.tmp", dir,
		 (int)getpid());
	fd = prepare_file(path, nthreads);
	if (fd < 0) {
		fprintf(stderr, "bench_floor: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (m == M_DIRECT) {
		int dfd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);

		if (dfd < 0) {
			fprintf(stderr, "bench_floor: O_DIRECT %s: %s\n", path,
				strerror(errno));
			close(fd);
			unlink(path);
			return 0; /* not supported here: skip the row */
		}
		close(fd);
		fd = dfd;
	}
	t0 = now_s();
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){.fd = fd, .id = i, .m = m, .size = size,
				       .until = t0 + secs};
		w[i].lat = malloc(MAX_SAMPLES * sizeof *w[i].lat);
		if (!w[i].lat ||
		    pthread_create(&w[i].t, NULL, sync_main, &w[i]) != 0) {
			fprintf(stderr, "bench_floor: out of resources\n");
			exit(1);
		}
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(w[i].t, NULL);
		total += w[i].n;
	}
	secs = now_s() - t0;
	close(fd);
	unlink(path);
	all = malloc((total ? total : 1) * sizeof *all);
	if (!all)
		exit(1);
	total = 0;
	for (int i = 0; i < nthreads; i++) {
		if (w[i].err)
			fprintf(stderr, "bench_floor: %s: %s\n",
				method_names[m], strerror(w[i].err));
		memcpy(all + total, w[i].lat, w[i].n * sizeof *all);
		total += w[i].n;
		free(w[i].lat);
	}
	if (total) {
		qsort(all, total, sizeof *all, cmp_double);
		printf("sync  %-9s %7zu B  %2d thr  %9.0f syncs/s  p50 %6.1f us"
		       "  p90 %6.1f  p99 %6.1f\n", method_names[m], size,
		       nthreads, (double)total / secs,
		       all[total / 2] * 1e6, all[total * 9 / 10] * 1e6,
		       all[total * 99 / 100] * 1e6);
	}
	free(all);
	return 0;
}

/* ---- wake-up cost ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn;
static atomic_int spin_turn;
static int rounds;

static void *cv_peer(void *arg)
{
	(void)arg;
	for (int i = 0; i < rounds; i++) {
		pthread_mutex_lock(&mu);
		while (turn != 1)
			pthread_cond_wait(&cv, &mu);
		turn = 0;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void *spin_peer(void *arg)
{
	(void)arg;
	for (int i = 0; i < rounds; i++) {
		while (atomic_load(&spin_turn) != 1)
			;
		atomic_store(&spin_turn, 0);
	}
	return NULL;
}

static void run_wake(int n)
{
	pthread_t t;
	double t0;

	rounds = n;
	pthread_create(&t, NULL, cv_peer, NULL);
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&mu);
		turn = 1;
		pthread_cond_signal(&cv);
		while (turn != 0)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
	}
	pthread_join(t, NULL);
	printf("wake  condvar round trip (2 wake-ups)  %7.2f us\n",
	       (now_s() - t0) / n * 1e6);
	pthread_create(&t, NULL, spin_peer, NULL);
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		atomic_store(&spin_turn, 1);
		while (atomic_load(&spin_turn) != 0)
			;
	}
	pthread_join(t, NULL);
	printf("wake  spinning round trip              %7.2f us\n",
	       (now_s() - t0) / n * 1e6);
}

int main(int argc, char **argv)
{
	const char *dir = ".";
	double secs = 2;
	size_t size = 8192;
	int threads[MAX_THREADS], nthr = 0;
	char *list = NULL;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--dir") && v) {
			dir = v;
			i++;
		} else if (!strcmp(argv[i], "--seconds") && v) {
			secs = atof(v);
			i++;
		} else if (!strcmp(argv[i], "--size") && v) {
			size = (size_t)strtoul(v, NULL, 10);
			i++;
		} else if (!strcmp(argv[i], "--threads") && v) {
			list = strdup(v);
			i++;
		} else {
			fprintf(stderr, "usage: bench_floor [--dir DIR] "
				"[--seconds S] [--size BYTES] "
				"[--threads 1,2,4]\n");
			return 2;
		}
	}
	if (size == 0 || size % 4096 || size > (size_t)REGION / 2 ||
	    secs <= 0) {
		fprintf(stderr, "bench_floor: --size must be a multiple of "
			"4096 (O_DIRECT) up to 32 MiB, --seconds > 0\n");
		return 2;
	}
	if (list) {
		for (char *s = strtok(list, ","); s && nthr < MAX_THREADS;
		     s = strtok(NULL, ","))
			if (atoi(s) >= 1 && atoi(s) <= MAX_THREADS)
				threads[nthr++] = atoi(s);
		free(list);
	}
	if (nthr == 0) {
		threads[0] = 1;
		threads[1] = 2;
		threads[2] = 4;
		nthr = 3;
	}
	for (int m = 0; m < 3; m++)
		for (int i = 0; i < nthr; i++)
			if (run_sync(dir, secs, size, (enum method)m,
				     threads[i]) < 0)
				return 1;
	run_wake(20000);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libchronik-storage benchmark: append throughput through storage + WAL,
 * sequential sendfile reads, offset/timestamp lookup latency, newest-data
 * read latency, recovery time. Bounded; cleans up. Not a test.
 * Usage: bench_storage [dir] [recovery MiB (default 1024)] [only]
 * where only is "recovery" to run the recovery measurement alone. */
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chronik/protocol_records.h"
#include "chronik/storage.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_cb(const char *p, const struct stat *sb, int f, struct FTW *w)
{
	(void)sb;
	(void)f;
	(void)w;
	return remove(p);
}

static void rmrf(const char *d)
{
	nftw(d, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static uint8_t *make_batch(size_t *len, size_t bytes, int64_t ts)
{
	chronik_protocol_batch_builder *b = NULL;
	const uint8_t *out;
	size_t per = bytes > 1024 ? 1024 : bytes;
	int n = (int)(bytes / per);
	uint8_t *val = calloc(1, per), *copy;

	for (size_t i = 0; i < per; i++)
		val[i] = (uint8_t)(i * 7);
	chronik_protocol_batch_builder_new(&b, NULL);
	for (int i = 0; i < n; i++)
		chronik_protocol_batch_builder_append(b, ts, "key", 3, val,
						      (int32_t)per - 80, NULL,
						      0);
	chronik_protocol_batch_builder_finish(&out, len, b);
	copy = malloc(*len);
	memcpy(copy, out, *len);
	chronik_protocol_batch_builder_free(b);
	free(val);
	return copy;
}

static chronik_storage *open_s(const char *dir, int sync)
{
	chronik_storage_options o;
	chronik_storage *s = NULL;

	chronik_storage_options_init(&o, CHRONIK_STORAGE_OPTIONS_VERSION);
	o.wal_sync_mode = sync ? 0 : 2;
	o.sync_segments = sync;
	o.retention_check_ms = 3600000;
	if (chronik_storage_open(&s, dir, &o) != 0) {
		fprintf(stderr, "open failed\n");
		exit(1);
	}
	return s;
}

static chronik_storage_partition *part(chronik_storage *s, const char *t)
{
	chronik_storage_partition *p = NULL;

	chronik_storage_partition_open(&p, s, t, 0, NULL);
	return p;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void pct(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	printf("%-34s p50 %7.2f us  p99 %7.2f us  max %8.2f us\n", what,
	       v[n / 2] * 1e6, v[n * 99 / 100] * 1e6, v[n - 1] * 1e6);
}

static void bench_append(const char *dir, size_t bsize, size_t total,
			 int sync)
{
	chronik_storage *s = open_s(dir, sync);
	chronik_storage_partition *p = part(s, sync ? "a-sync" : "a-nosync");
	size_t len;
	uint8_t *b = make_batch(&len, bsize, 1);
	size_t n = total / len;
	int64_t base = 0;
	double t0 = now_s(), t;

	for (size_t i = 0; i < n; i++)
		if (chronik_storage_append(&base, p, b, len, 0, NULL, NULL)) {
			fprintf(stderr, "append failed\n");
			exit(1);
		}
	chronik_storage_wait(p, base + 1, -1);
	t = now_s() - t0;
	printf("append %6zu B batches (%s): %8.0f batches/s %7.1f MB/s\n",
	       len, sync ? "fdatasync" : "no sync  ", (double)n / t,
	       (double)(n * len) / t / 1e6);
	free(b);
	chronik_storage_close(s);
}

static void bench_read_lookup(const char *dir)
{
	chronik_storage *s = open_s(dir, 0);
	chronik_storage_partition *p = part(s, "r");
	size_t len;
	uint8_t *b = make_batch(&len, 1024, 0);
	int64_t base = 0, hw, end;
	size_t n = (size_t)(512u << 20) / len, bytes = 0;
	int nul = open("/dev/null", O_WRONLY);
	double t0, t, *lat = malloc(20000 * sizeof *lat);

	/* 512 MiB of 1 KiB batches; timestamp i ms. */
	for (size_t i = 0; i < n; i++) {
		memcpy(b + 27, (uint8_t[8]){0}, 8);
		int64_t ts = (int64_t)i;
		for (int k = 0; k < 8; k++)
			b[27 + k] = b[35 + k] = (uint8_t)(ts >> (56 - 8 * k));
		uint32_t crc = chronik_protocol_crc32c(0, b + 21, len - 21);
		for (int k = 0; k < 4; k++)
			b[17 + k] = (uint8_t)(crc >> (24 - 8 * k));
		chronik_storage_append(&base, p, b, len, 0, NULL, NULL);
	}
	chronik_storage_wait(p, base + 1, -1);
	chronik_storage_flush(s);
	hw = base + 1;
	t0 = now_s();
	for (int64_t off = 0; off < hw;) {
		chronik_storage_slice sl;

		if (chronik_storage_read(&sl, p, off, 1 << 20, NULL, 0) ||
		    sl.length == 0)
			break;
		off_t pos = (off_t)sl.file_position;
		size_t left = sl.length;
		while (left > 0) {
			ssize_t w = sendfile(nul, sl.fd, &pos, left);
			if (w <= 0)
				break;
			left -= (size_t)w;
		}
		bytes += sl.length;
		close(sl.fd);
		off = sl.next_offset;
	}
	t = now_s() - t0;
	printf("sequential read, sendfile 1 MiB:  %7.1f MB/s (%zu MiB)\n",
	       (double)bytes / t / 1e6, bytes >> 20);
	for (int i = 0; i < 20000; i++) {
		chronik_storage_slice sl;
		int64_t off = (int64_t)((unsigned)rand() % (unsigned)hw);
		double a = now_s();

		chronik_storage_read(&sl, p, off, 1, NULL, 0);
		lat[i] = now_s() - a;
		close(sl.fd);
	}
	pct("offset lookup (read 1 batch)", lat, 20000);
	for (int i = 0; i < 20000; i++) {
		int64_t ts = (int64_t)((unsigned)rand() % (unsigned)n), o;
		double a = now_s();

		chronik_storage_lookup_time(&o, NULL, p, ts);
		lat[i] = now_s() - a;
		(void)end;
	}
	pct("timestamp lookup (ListOffsets)", lat, 20000);
	close(nul);
	free(b);
	free(lat);
	chronik_storage_close(s);
}

static void bench_newest(const char *dir)
{
	chronik_storage *s = open_s(dir, 0);
	chronik_storage_partition *p = part(s, "newest");
	size_t len;
	uint8_t *b = make_batch(&len, 1024, 1), *buf = malloc(1 << 20);
	double *lat = malloc(20000 * sizeof *lat);
	int64_t base;

	for (int i = 0; i < 20000; i++) {
		chronik_storage_slice sl;
		double a;

		chronik_storage_append(&base, p, b, len, 0, NULL, NULL);
		chronik_storage_wait(p, base + 1, -1);
		a = now_s();
		chronik_storage_read(&sl, p, base, 1 << 20, buf, 1 << 20);
		lat[i] = now_s() - a;
		if (sl.fd >= 0)
			close(sl.fd);
	}
	pct("read of the newest batch", lat, 20000);
	free(lat);
	free(buf);
	free(b);
	chronik_storage_close(s);
}

static void bench_recovery(const char *dir, size_t mib)
{
	size_t len;
	uint8_t *b = make_batch(&len, 16384, 1);
	pid_t pid = fork();
	double t0, t;

	if (pid == 0) {
		/* Write the data, flush (segments synced, WAL checkpointed),
		 * write a 64 MiB tail, then die without closing: the WAL
		 * keeps the tail, the segment may hold part of it. */
		chronik_storage *s = open_s(dir, 0);
		chronik_storage_topic_config c;
		chronik_storage_partition *p = NULL;
		size_t n = (mib << 20) / len, tail = ((size_t)64 << 20) / len;
		int64_t base = 0;

		chronik_storage_topic_config_init(&c, 1);
		c.segment_bytes = (uint64_t)1 << 30;
		chronik_storage_partition_open(&p, s, "rec", 0, &c);
		for (size_t i = 0; i < n; i++) {
			chronik_storage_append(&base, p, b, len, 0, NULL,
					       NULL);
			if (i + tail == n) {
				chronik_storage_wait(p, base + 1, -1);
				chronik_storage_flush(s);
			}
		}
		chronik_storage_wait(p, base + 1, -1);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	t0 = now_s();
	chronik_storage *s = open_s(dir, 0);
	t = now_s() - t0;
	chronik_storage_partition *p = part(s, "rec");
	chronik_storage_offsets o;

	chronik_storage_partition_offsets(&o, p);
	printf("recovery of %zu MiB after kill (64 MiB WAL tail): "
	       "%.3f s = %.2f GB/s\n", (size_t)(o.size_bytes >> 20), t,
	       (double)o.size_bytes / t / 1e9);
	chronik_storage_close(s);
	t0 = now_s();
	s = open_s(dir, 0);
	t = now_s() - t0;
	printf("open of %zu MiB after a clean close: %.3f s = %.2f GB/s\n",
	       (size_t)(o.size_bytes >> 20), t,
	       (double)o.size_bytes / t / 1e9);
	chronik_storage_close(s);
	free(b);
}

int main(int argc, char **argv)
{
	char dir[4096];
	size_t rec = argc > 2 ? (size_t)atoi(argv[2]) : 1024;
	int only_rec = argc > 3 && !strcmp(argv[3], "recovery");

	snprintf(dir, sizeof dir, "%s/chronik-bench-storage.XXXXXX",
		 argc > 1 ? argv[1] : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	if (only_rec)
		goto recovery;
	bench_append(dir, 256, (size_t)32 << 20, 0);
	bench_append(dir, 16384, (size_t)256 << 20, 0);
	bench_append(dir, 256, (size_t)16 << 20, 1);
	bench_append(dir, 16384, (size_t)128 << 20, 1);
	rmrf(dir);
	mkdir(dir, 0755);
	bench_read_lookup(dir);
	bench_newest(dir);
	rmrf(dir);
	mkdir(dir, 0755);
recovery:
	bench_recovery(dir, rec);
	rmrf(dir);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the partition logs: produce path, reads, ListOffsets,
 * segment rolls, DeleteRecords, truncation, recovery and repair. */
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>

#include <cmocka.h>

#include "log_internal.h"
#include "log_test_util.h"

struct fixture {
	char *dir;
	chronik_storage *s;
	char logbuf[4096];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	f->dir = lt_tmpdir();
	f->s = lt_open(f->dir, 0);
	*state = f;
	return f->s ? 0 : -1;
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

static chronik_storage_partition *part(chronik_storage *s, uint64_t segbytes,
				       uint32_t interval)
{
	chronik_storage_topic_config c;
	chronik_storage_partition *p = NULL;

	chronik_storage_topic_config_init(&c,
					  CHRONIK_STORAGE_TOPIC_CONFIG_VERSION);
	if (segbytes)
		c.segment_bytes = segbytes;
	if (interval)
		c.index_interval_bytes = interval;
	assert_int_equal(chronik_storage_partition_open(&p, s, "orders", 3,
							&c), 0);
	return p;
}

/* Append n batches of `per` records; batch i carries tag i. */
static int64_t append_n(chronik_storage_partition *p, int n, int per,
			int vlen, int64_t ts0)
{
	int64_t base = -1, first = -1;

	for (int i = 0; i < n; i++) {
		size_t len;
		uint8_t *b = lt_batch(&len, per, i * per, vlen, (uint32_t)i,
				      ts0 + i * 10);

		assert_int_equal(chronik_storage_append(&base, p, b, len, 0,
							NULL, NULL), 0);
		if (first < 0)
			first = base;
		free(b);
	}
	assert_int_equal(chronik_storage_wait(p, base + per, 5000), 0);
	return first;
}

/* Walk a blob of batches, checking offsets are contiguous from `from`
 * and every CRC; returns the batch count. */
static int check_blob(const uint8_t *all, size_t len, int64_t from, int per)
{
	chronik_protocol_records_iter it;
	chronik_protocol_records_entry e;
	int64_t want = from;
	int n = 0;

	chronik_protocol_records_iter_init(&it, all, len);
	while (chronik_protocol_records_next(&e, &it) == 1) {
		chronik_protocol_batch b;

		assert_int_equal(chronik_protocol_batch_parse(&b, e.data,
							      e.size), 0);
		assert_int_equal(chronik_protocol_batch_verify_crc(&b), 0);
		assert_int_equal(b.header.base_offset, want);
		assert_int_equal(b.header.records_count, per);
		want = b.header.base_offset + b.header.last_offset_delta + 1;
		n++;
	}
	assert_int_equal(chronik_protocol_records_partial(&it), 0);
	return n;
}

static void test_log_append_read(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 0, 0);
	chronik_storage_offsets o;
	size_t len;
	int64_t end;
	uint8_t *all;

	assert_int_equal(append_n(p, 100, 3, 40, 1000), 0);
	all = lt_read_all(&len, &end, p, 0);
	assert_int_equal(check_blob(all, len, 0, 3), 100);
	assert_int_equal(end, 300);
	free(all);
	/* Reading from the middle of a batch returns that batch. */
	all = lt_read_all(&len, &end, p, 151);
	assert_int_equal(check_blob(all, len, 150, 3), 50);
	free(all);
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	assert_int_equal(o.high_watermark, 300);
	assert_int_equal(o.log_end_offset, 300);
	assert_int_equal(o.last_stable_offset, 300);
	assert_int_equal(o.log_start_offset, 0);
	/* The lock-free accessor agrees. */
	assert_int_equal(chronik_storage_partition_high_watermark(p), 300);
	assert_int_equal(chronik_storage_partition_high_watermark(NULL),
			 CHRONIK_EARG);
	/* Out of range. */
	chronik_storage_slice sl;
	uint8_t buf[64];
	assert_int_equal(chronik_storage_read(&sl, p, 301, 100, buf, 64),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_storage_read(&sl, p, 300, 100, buf, 64), 0);
	assert_int_equal(sl.length, 0);
	/* After a flush everything comes from the segment file. */
	assert_int_equal(chronik_storage_flush(f->s), 0);
	assert_int_equal(chronik_storage_read(&sl, p, 0, 1 << 20, NULL, 0),
			 0);
	assert_true(sl.fd >= 0);
	assert_int_equal(sl.file_position, 0);
	assert_int_equal(sl.next_offset, 300);
	close(sl.fd);
	/* A small budget still returns the first whole batch. */
	assert_int_equal(chronik_storage_read(&sl, p, 3, 1, NULL, 0), 0);
	assert_true(sl.fd >= 0);
	assert_int_equal(sl.next_offset, 6);
	close(sl.fd);
}

static atomic_int cb_calls;
static void on_done(chronik_storage_partition *p, int64_t base, int status,
		    void *ud)
{
	(void)p;
	assert_int_equal(status, 0);
	assert_int_equal(base, *(int64_t *)ud);
	atomic_fetch_add(&cb_calls, 1);
}

static void test_log_completion_eventfd(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 0, 0);
	int efd = chronik_storage_event_fd(f->s);
	struct pollfd pfd = {efd, POLLIN, 0};
	int64_t bases[10], base;
	uint64_t v;
	size_t len;

	assert_true(efd >= 0);
	while (read(efd, &v, 8) == 8)
		;
	for (int i = 0; i < 10; i++) {
		uint8_t *b = lt_batch(&len, 2, 0, 10, (uint32_t)i, 5);

		bases[i] = 2 * i;
		assert_int_equal(chronik_storage_append(&base, p, b, len, 0,
							on_done, &bases[i]),
				 0);
		assert_int_equal(base, bases[i]);
		free(b);
	}
	assert_int_equal(chronik_storage_wait(p, 20, 5000), 0);
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	for (int i = 0; i < 100 && atomic_load(&cb_calls) < 10; i++)
		lt_sleep_ms(10);
	assert_int_equal(atomic_load(&cb_calls), 10);
	assert_int_equal(chronik_storage_wait(p, 21, 50), -ETIMEDOUT);
}

/* CHRONIK_STORAGE_APPEND_WRITTEN answers once the batch is in the WAL
 * file (one call per batch, status 0); with CHRONIK_STORAGE_APPEND_DEFER
 * the batch waits for chronik_storage_append_flush(), which finding the
 * WAL idle writes it in the caller's thread and answers there before it
 * returns. Either way the batch becomes readable once durable. */
struct written_ctx {
	atomic_int calls, bad;
	pthread_t appender;
	atomic_int in_appender; /* answered in the appending thread */
};

static void on_written_done(chronik_storage_partition *p, int64_t base,
			    int status, void *ud)
{
	struct written_ctx *c = ud;

	(void)p;
	(void)base;
	if (status != 0)
		atomic_fetch_add(&c->bad, 1);
	if (pthread_equal(pthread_self(), c->appender))
		atomic_fetch_add(&c->in_appender, 1);
	atomic_fetch_add(&c->calls, 1);
}

static void test_log_append_written_inline(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 0, 0);
	static struct written_ctx c;
	int64_t base = -1, end;
	int n = 0, inline_seen = 0;
	uint8_t *all;
	size_t len;

	memset(&c, 0, sizeof c);
	c.appender = pthread_self();
	/* Written acknowledgements from the WAL's thread. */
	for (; n < 20; n++) {
		uint8_t *b = lt_batch(&len, 2, 0, 30, (uint32_t)n, 5);

		assert_int_equal(chronik_storage_append(
					 &base, p, b, len,
					 CHRONIK_STORAGE_APPEND_WRITTEN,
					 on_written_done, &c),
				 0);
		free(b);
	}
	assert_int_equal(chronik_storage_wait(p, base + 2, 5000), 0);
	assert_int_equal(atomic_load(&c.calls), 20);
	assert_int_equal(atomic_load(&c.in_appender), 0);
	/* Deferred and flushed, one at a time on an idle WAL (whose first
	 * segment may still be the preallocated one it leaves early: until
	 * then the writer thread writes). */
	for (int i = 0; i < 2000 && inline_seen < 5; i++, n++) {
		uint8_t *b = lt_batch(&len, 2, 0, 30, (uint32_t)n, 5);
		int before = atomic_load(&c.in_appender);

		assert_int_equal(chronik_storage_append(
					 &base, p, b, len,
					 CHRONIK_STORAGE_APPEND_WRITTEN |
						 CHRONIK_STORAGE_APPEND_DEFER,
					 on_written_done, &c),
				 0);
		free(b);
		assert_int_equal(atomic_load(&c.in_appender), before);
		assert_int_equal(chronik_storage_append_flush(f->s), 0);
		if (atomic_load(&c.in_appender) > before)
			inline_seen++;
		assert_int_equal(chronik_storage_wait(p, base + 2, 5000), 0);
		if (!inline_seen)
			lt_sleep_ms(1);
	}
	assert_int_equal(inline_seen, 5);
	assert_int_equal(atomic_load(&c.calls), n);
	assert_int_equal(atomic_load(&c.bad), 0);
	all = lt_read_all(&len, &end, p, 0);
	assert_int_equal(check_blob(all, len, 0, 2), n);
	assert_int_equal(end, 2 * n);
	free(all);
	/* DEFER without WRITTEN: durable after the flush. */
	{
		uint8_t *b = lt_batch(&len, 2, 0, 30, 99, 5);

		assert_int_equal(chronik_storage_append(
					 &base, p, b, len,
					 CHRONIK_STORAGE_APPEND_DEFER, NULL,
					 NULL),
				 0);
		free(b);
		assert_int_equal(chronik_storage_append_flush(f->s), 0);
		assert_int_equal(chronik_storage_wait(p, base + 2, 5000), 0);
	}
	assert_int_equal(chronik_storage_append_flush(NULL), CHRONIK_EARG);
}

static void test_log_rejects_bad_batches(void **state)
{
	struct fixture *f = *state;
	chronik_storage_topic_config c;
	chronik_storage_partition *p = part(f->s, 0, 0);
	size_t len;
	uint8_t *b = lt_batch(&len, 3, 0, 100, 1, 5);

	b[len - 1] ^= 1;
	assert_int_equal(chronik_storage_append(NULL, p, b, len, 0, NULL,
						NULL), CHRONIK_ECRC);
	assert_non_null(strstr(chronik_storage_last_error(f->s), "CRC"));
	b[len - 1] ^= 1;
	assert_int_equal(chronik_storage_append(NULL, p, b, len - 1, 0, NULL,
						NULL), CHRONIK_ETRUNCATED);
	chronik_storage_topic_config_init(&c,
					  CHRONIK_STORAGE_TOPIC_CONFIG_VERSION);
	c.max_message_bytes = 100;
	assert_int_equal(chronik_storage_partition_set_config(p, &c), 0);
	assert_int_equal(chronik_storage_append(NULL, p, b, len, 0, NULL,
						NULL), CHRONIK_ETOOBIG);
	c.segment_bytes = 1;
	assert_int_equal(chronik_storage_partition_set_config(p, &c),
			 CHRONIK_EARG);
	c.version = 99;
	assert_int_equal(chronik_storage_partition_set_config(p, &c),
			 CHRONIK_EVERSION);
	assert_int_equal(chronik_storage_partition_open(&p, f->s, "a/b", 0,
							NULL), CHRONIK_EARG);
	free(b);
}

/* The base offset of the first batch a read at `want` returns from a
 * segment file (found through the offset index). */
static int64_t first_base_read(chronik_storage_partition *p, int64_t want)
{
	chronik_storage_slice sl;
	uint8_t hdr[8];
	int64_t base = 0;

	assert_int_equal(chronik_storage_read(&sl, p, want, 1000, NULL, 0), 0);
	assert_true(sl.fd >= 0);
	assert_int_equal(pread(sl.fd, hdr, 8, (off_t)sl.file_position), 8);
	close(sl.fd);
	for (int k = 0; k < 8; k++)
		base = base << 8 | hdr[k];
	return base;
}

static void test_log_roll_index_lookup(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 8192, 512);
	chronik_storage_offsets o;
	int64_t off, ts;

	append_n(p, 400, 2, 60, 100000);
	assert_int_equal(chronik_storage_flush(f->s), 0);
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	assert_true(o.segments > 5);
	srand(7);
	for (int i = 0; i < 200; i++) {
		int64_t want = rand() % 800;

		assert_int_equal(first_base_read(p, want), want - want % 2);
	}
	/* ListOffsets: batch i has timestamp 100000 + 10 i. */
	assert_int_equal(chronik_storage_lookup_time(&off, &ts, p, 100000 +
						     10 * 123 - 3), 0);
	assert_int_equal(off, 246);
	assert_int_equal(ts, 100000 + 10 * 123);
	assert_int_equal(chronik_storage_lookup_time(&off, &ts, p, 0), 0);
	assert_int_equal(off, 0);
	assert_int_equal(chronik_storage_lookup_time(&off, &ts, p, 1LL << 50),
			 0);
	assert_int_equal(off, -1);
	assert_int_equal(chronik_storage_lookup_time(
				 &off, &ts, p, CHRONIK_STORAGE_TIME_LATEST), 0);
	assert_int_equal(off, 800);
	assert_int_equal(chronik_storage_lookup_time(
				 &off, &ts, p, CHRONIK_STORAGE_TIME_EARLIEST),
			 0);
	assert_int_equal(off, 0);
	assert_int_equal(chronik_storage_lookup_time(
			   &off, &ts, p, CHRONIK_STORAGE_TIME_MAX_TIMESTAMP),
			 0);
	assert_int_equal(off, 798);
	assert_int_equal(ts, 100000 + 10 * 399);
}

static void test_log_reopen_continues(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 8192, 512);
	int64_t base;
	size_t len;
	uint8_t *all;

	append_n(p, 300, 2, 30, 5);
	assert_int_equal(chronik_storage_close(f->s), 0);
	f->s = lt_open(f->dir, 0);
	assert_non_null(f->s);
	p = part(f->s, 8192, 512);
	uint8_t *b = lt_batch(&len, 2, 0, 30, 1, 5);
	assert_int_equal(chronik_storage_append(&base, p, b, len, 0, NULL,
						NULL), 0);
	free(b);
	assert_int_equal(base, 600);
	assert_int_equal(chronik_storage_wait(p, 602, 5000), 0);
	all = lt_read_all(&len, NULL, p, 0);
	assert_int_equal(check_blob(all, len, 0, 2), 301);
	free(all);
}

static void test_log_delete_records(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 4096, 512);
	chronik_storage_offsets o;
	chronik_storage_slice sl;
	int64_t off;

	append_n(p, 200, 1, 100, lt_now_ms());
	assert_int_equal(chronik_storage_delete_records(p, 201),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_storage_delete_records(p, 150), 0);
	assert_int_equal(chronik_storage_read(&sl, p, 149, 100, NULL, 0),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_storage_lookup_time(
				 &off, NULL, p, CHRONIK_STORAGE_TIME_EARLIEST),
			 0);
	assert_int_equal(off, 150);
	assert_int_equal(chronik_storage_flush(f->s), 0);
	assert_int_equal(chronik_storage_run_cleaner(f->s), 0);
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	assert_int_equal(o.log_start_offset, 150);
	assert_true(o.size_bytes < 175 * 80);
	assert_int_equal(chronik_storage_close(f->s), 0);
	f->s = lt_open(f->dir, 0);
	p = part(f->s, 4096, 512);
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	assert_int_equal(o.log_start_offset, 150);
	assert_int_equal(o.high_watermark, 200);
}

static void test_log_truncate(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 4096, 512);
	chronik_storage_offsets o;
	int64_t base;
	size_t len;
	uint8_t *all;

	append_n(p, 100, 2, 50, 5);
	assert_int_equal(chronik_storage_truncate(p, 61), 0);
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	assert_int_equal(o.high_watermark, 60);
	assert_int_equal(o.log_end_offset, 60);
	uint8_t *b = lt_batch(&len, 2, 0, 50, 1, 5);
	assert_int_equal(chronik_storage_append(&base, p, b, len, 0, NULL,
						NULL), 0);
	free(b);
	assert_int_equal(base, 60);
	assert_int_equal(chronik_storage_wait(p, 62, 5000), 0);
	/* Without a clean close the truncation is replayed from the WAL. */
	all = lt_read_all(&len, NULL, p, 0);
	assert_int_equal(check_blob(all, len, 0, 2), 31);
	free(all);
	assert_int_equal(chronik_storage_close(f->s), 0);
	f->s = lt_open(f->dir, 0);
	p = part(f->s, 4096, 512);
	all = lt_read_all(&len, NULL, p, 0);
	assert_int_equal(check_blob(all, len, 0, 2), 31);
	free(all);
}

static void collect_log(int level, const char *msg, void *ud)
{
	struct fixture *f = ud;
	size_t n = strlen(f->logbuf);

	(void)level;
	snprintf(f->logbuf + n, sizeof f->logbuf - n, "%s\n", msg);
}

static chronik_storage *open_logged(struct fixture *f, int *err)
{
	chronik_storage_options o;
	chronik_storage *s = NULL;

	chronik_storage_options_init(&o, CHRONIK_STORAGE_OPTIONS_VERSION);
	o.wal_sync_mode = 2;
	o.sync_segments = 0;
	o.log = collect_log;
	o.userdata = f;
	f->logbuf[0] = 0;
	*err = chronik_storage_open(&s, f->dir, &o);
	return s;
}

static void seg_file(char *out, size_t n, const struct fixture *f,
		     int64_t base, const char *ext)
{
	snprintf(out, n, "%s/topics/orders-3/%020lld%s", f->dir,
		 (long long)base, ext);
}

static void test_log_repairs_index_and_tail(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 4096, 256);
	chronik_storage_offsets o;
	char path[4200];
	size_t len;
	uint8_t *all;
	int fd, err;

	append_n(p, 100, 1, 100, 5);
	assert_int_equal(chronik_storage_close(f->s), 0);
	/* Garbage in a closed segment's index, a deleted time index, junk
	 * after the active segment's last batch. */
	seg_file(path, sizeof path, f, 0, ".index");
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f", 8,
				24 + 8), 8);
	close(fd);
	seg_file(path, sizeof path, f, 0, ".timeindex");
	unlink(path);
	f->s = lt_open(f->dir, 0);
	p = part(f->s, 4096, 256);
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	int64_t active = 0;
	for (int64_t b = 99; b >= 0; b--) {
		seg_file(path, sizeof path, f, b, ".log");
		if (access(path, F_OK) == 0) {
			active = b;
			break;
		}
	}
	chronik_storage_close(f->s);
	seg_file(path, sizeof path, f, active, ".log");
	fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "torn tail bytes that are no batch", 33),
			 33);
	close(fd);
	f->s = open_logged(f, &err);
	assert_int_equal(err, 0);
	assert_non_null(strstr(f->logbuf, "torn or corrupt tail"));
	p = part(f->s, 4096, 256);
	all = lt_read_all(&len, NULL, p, 0);
	assert_int_equal(check_blob(all, len, 0, 1), 100);
	free(all);
	int64_t off, ts;
	assert_int_equal(chronik_storage_lookup_time(&off, &ts, p, 5 + 505),
			 0);
	assert_int_equal(off, 51);
}

static long rss_kb(void)
{
	long pages = 0, res = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (fp) {
		if (fscanf(fp, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(fp);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Resident kB of this process's mappings of files whose path has `part`. */
static long mapped_rss_kb(const char *part)
{
	char line[4600];
	long sum = 0, kb;
	int in = 0;
	FILE *fp = fopen("/proc/self/smaps", "r");

	assert_non_null(fp);
	while (fgets(line, sizeof line, fp)) {
		char *dash = strchr(line, '-'), *sp = strchr(line, ' ');

		/* "start-end perms offset dev inode path": lower-case hex
		 * first (field lines start with a capital). */
		if (((line[0] >= '0' && line[0] <= '9') ||
		     (line[0] >= 'a' && line[0] <= 'f')) &&
		    dash && sp && dash < sp)
			in = strstr(line, part) != NULL;
		else if (strncmp(line, "Rss:", 4) == 0 && in &&
			 sscanf(line + 4, "%ld", &kb) == 1)
			sum += kb;
	}
	fclose(fp);
	return sum;
}

/* Index files are sized for a whole segment (2 and 3 MiB at the default
 * 1 GiB) but stay sparse and mostly unmapped: a partition costs pages,
 * not megabytes, of memory and disk. An index whose header is unknown is
 * reinitialised the same way (its old blocks dropped) and rebuilt. */
static void test_log_indexes_stay_sparse(void **state)
{
	struct fixture *f = *state;
	chronik_storage_topic_config c;
	chronik_storage_partition *p;
	struct stat st;
	char path[4200];
	long before = rss_kb();
	int fd;

	chronik_storage_topic_config_init(&c,
					  CHRONIK_STORAGE_TOPIC_CONFIG_VERSION);
	for (int i = 0; i < 64; i++) {
		p = NULL;
		assert_int_equal(chronik_storage_partition_open(
					 &p, f->s, "wide", i, &c), 0);
	}
	/* Was ~5 MiB a partition (every page zeroed through the map),
	 * then a page per index (its header). */
	assert_true(rss_kb() - before < 16 * 1024);
	assert_int_equal(mapped_rss_kb("/topics/wide-"), 0);
	snprintf(path, sizeof path, "%s/topics/wide-63/%020d.index", f->dir,
		 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size >= 2 * 1024 * 1024);
	assert_true((long long)st.st_blocks * 512 <= 64 * 1024);

	p = part(f->s, 0, 512);
	append_n(p, 300, 2, 60, 100000);
	assert_int_equal(chronik_storage_flush(f->s), 0);
	/* (The indexes written to are mapped in: the count above works.) */
	assert_true(mapped_rss_kb("/topics/orders-3/") > 0);
	assert_int_equal(chronik_storage_close(f->s), 0);
	/* An unknown header, and junk far into the file. */
	seg_file(path, sizeof path, f, 0, ".index");
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "NOTANIDX", 8, 0), 8);
	assert_int_equal(pwrite(fd, "junk", 4, 1024 * 1024), 4);
	close(fd);
	f->s = lt_open(f->dir, 0);
	assert_non_null(f->s);
	p = part(f->s, 0, 512);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	char junk[4];
	assert_int_equal(pread(fd, junk, 4, 1024 * 1024), 4);
	assert_memory_equal(junk, "\0\0\0\0", 4);
	assert_int_equal(pread(fd, junk, 4, 0), 4);
	assert_memory_not_equal(junk, "NOTA", 4);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((long long)st.st_blocks * 512 <= 64 * 1024);
	close(fd);
	for (int64_t want = 0; want < 600; want += 37)
		assert_int_equal(first_base_read(p, want), want - want % 2);
	/* Opened again with a recovery point: the index entries after it
	 * are zeroed (stale ones after a cut) the same way, not through the
	 * map. */
	assert_int_equal(chronik_storage_close(f->s), 0);
	f->s = lt_open(f->dir, 0);
	assert_non_null(f->s);
	p = part(f->s, 0, 512);
	assert_int_equal(first_base_read(p, 301), 300);
	assert_true(mapped_rss_kb("/topics/orders-3/") <= 64);
}

static void test_log_corrupt_segment_is_an_error(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 4096, 256);
	chronik_storage_offsets o;
	char path[4200];
	struct stat st;
	int fd, err;

	append_n(p, 100, 1, 100, 5);
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	assert_int_equal(chronik_storage_close(f->s), 0);
	f->s = NULL;
	/* Break the length of the last batch of the first (closed)
	 * segment: it no longer ends at the end of the file. */
	seg_file(path, sizeof path, f, 0, ".log");
	assert_int_equal(stat(path, &st), 0);
	fd = open(path, O_WRONLY);
	uint64_t last = 0;
	{
		int rfd = open(path, O_RDONLY);
		uint8_t h[12];
		uint64_t pos = 0;

		while (pread(rfd, h, 12, (off_t)pos) == 12) {
			uint32_t bl = (uint32_t)h[8] << 24 | h[9] << 16 |
				      h[10] << 8 | h[11];
			last = pos;
			pos += 12 + bl;
		}
		close(rfd);
	}
	assert_int_equal(pwrite(fd, "\x7f", 1, (off_t)last + 8), 1);
	close(fd);
	f->s = open_logged(f, &err);
	assert_null(f->s);
	assert_int_equal(err, CHRONIK_ECORRUPT);
	assert_non_null(strstr(f->logbuf, "00000000000000000000.log"));
	assert_non_null(strstr(f->logbuf, "position"));
	/* Repair by hand (as an operator would), then it opens. */
	assert_int_equal(truncate(path, (off_t)last), 0);
	unlink(path);
	f->s = open_logged(f, &err);
	(void)err;
}

/* Damage inside a closed segment, before its last index entry, is not
 * looked for on open (that would read every closed segment): a read that
 * meets a bad header fails with CHRONIK_ECORRUPT naming the file and
 * position, damaged record bytes reach the consumer, whose CRC check
 * catches them (as with Kafka). Nothing crashes; other data stays
 * readable. */
static void test_log_damage_inside_closed_segment(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 8192, 256);
	chronik_storage_slice sl;
	char path[4200];
	uint8_t h[61], buf[4096];
	uint64_t pos = 0, bad_hdr = 0, bad_body = 0;
	int64_t bad_off = -1, body_off = -1, off, ts;
	int fd, i = 0;

	append_n(p, 200, 1, 100, 5);
	assert_int_equal(chronik_storage_close(f->s), 0);
	/* Batch 20 gets a bad magic, batch 40 a flipped value byte. */
	seg_file(path, sizeof path, f, 0, ".log");
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	while (pread(fd, h, 61, (off_t)pos) == 61) {
		uint32_t bl = (uint32_t)h[8] << 24 | h[9] << 16 | h[10] << 8 |
			      h[11];

		if (i == 20) {
			bad_hdr = pos;
			bad_off = (int64_t)h[7];
		}
		if (i == 40) {
			bad_body = pos + 12 + bl - 10;
			body_off = (int64_t)h[7];
		}
		pos += 12 + bl;
		i++;
	}
	assert_true(body_off > 0);
	assert_int_equal(pwrite(fd, "\x09", 1, (off_t)bad_hdr + 16), 1);
	assert_int_equal(pread(fd, h, 1, (off_t)bad_body), 1);
	h[0] ^= 0x40;
	assert_int_equal(pwrite(fd, h, 1, (off_t)bad_body), 1);
	close(fd);

	f->s = lt_open(f->dir, 0);
	assert_non_null(f->s);
	p = part(f->s, 8192, 256);
	assert_int_equal(chronik_storage_read(&sl, p, bad_off, 1, NULL, 0),
			 CHRONIK_ECORRUPT);
	assert_non_null(strstr(chronik_storage_last_error(f->s), path));
	assert_non_null(strstr(chronik_storage_last_error(f->s),
			       "position"));
	/* The damaged record reaches the reader, whose CRC check fails. */
	assert_int_equal(chronik_storage_read(&sl, p, body_off, 1, NULL, 0),
			 0);
	assert_true(sl.fd >= 0 && sl.length <= sizeof buf);
	assert_int_equal(pread(sl.fd, buf, sl.length,
			       (off_t)sl.file_position),
			 (ssize_t)sl.length);
	close(sl.fd);
	chronik_protocol_batch b;
	assert_int_equal(chronik_protocol_batch_parse(&b, buf, sl.length), 0);
	assert_int_not_equal(chronik_protocol_batch_verify_crc(&b), 0);
	/* Everything else is fine; lookups do not crash. */
	assert_int_equal(chronik_storage_read(&sl, p, 150, 1, NULL, 0), 0);
	if (sl.fd >= 0)
		close(sl.fd);
	(void)chronik_storage_lookup_time(&off, &ts, p, 5 + 10 * 20);
	assert_int_equal(chronik_storage_lookup_time(&off, &ts, p,
						     5 + 10 * 150), 0);
	assert_int_equal(off, 150);
	assert_int_equal(chronik_storage_run_cleaner(f->s), 0);
}

static void put64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* The recovery point lets open skip the CRC check of synced data; when
 * it is damaged or does not match the log, open checks everything. */
static void test_log_recovery_point(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 1 << 20, 256);
	char path[4200];
	uint8_t rp[128];
	size_t len;
	uint8_t *all;
	int fd, err;

	append_n(p, 100, 2, 100, 5);
	assert_int_equal(chronik_storage_close(f->s), 0);
	f->s = NULL;
	snprintf(path, sizeof path, "%s/topics/orders-3/recovery-point",
		 f->dir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, rp, 128, 0), 128);
	/* Two slots, written in turn; at least one is set. */
	if (memcmp(rp, "CHRKRCVP", 8))
		memcpy(rp, rp + 64, 64);
	assert_int_equal(memcmp(rp, "CHRKRCVP", 8), 0);
	memcpy(rp + 64, rp, 64);
	/* Clean close: nothing after the point, no repair messages. */
	f->s = open_logged(f, &err);
	assert_int_equal(err, 0);
	assert_null(strstr(f->logbuf, "recovery"));
	chronik_storage_close(f->s);
	f->s = NULL;
	/* A point in the middle of a batch (valid CRC, higher generation):
	 * does not match, everything is checked. */
	for (int i = 0; i < 2; i++) {
		uint8_t *x = rp + 64 * i;

		put64(x + 16, 1000 + (uint64_t)i);
		put64(x + 32, 100);
		uint32_t c = chronik_protocol_crc32c(0, x, 60);
		memcpy(x + 60, (uint8_t[4]){(uint8_t)c, (uint8_t)(c >> 8),
					    (uint8_t)(c >> 16),
					    (uint8_t)(c >> 24)}, 4);
	}
	assert_int_equal(pwrite(fd, rp, 128, 0), 128);
	f->s = open_logged(f, &err);
	assert_int_equal(err, 0);
	assert_non_null(strstr(f->logbuf, "does not match the recovery "
					  "point"));
	p = part(f->s, 1 << 20, 256);
	all = lt_read_all(&len, NULL, p, 0);
	assert_int_equal(check_blob(all, len, 0, 2), 100);
	free(all);
	chronik_storage_close(f->s);
	f->s = NULL;
	/* Garbage: ignored with a warning. */
	assert_int_equal(pwrite(fd, "garbage!", 8, 0), 8);
	assert_int_equal(pwrite(fd, "garbage!", 8, 64), 8);
	close(fd);
	f->s = open_logged(f, &err);
	assert_int_equal(err, 0);
	assert_non_null(strstr(f->logbuf, "recovery-point unreadable"));
	p = part(f->s, 1 << 20, 256);
	all = lt_read_all(&len, NULL, p, 0);
	assert_int_equal(check_blob(all, len, 0, 2), 100);
	free(all);
}

static void test_log_append_time(void **state)
{
	struct fixture *f = *state;
	chronik_storage_topic_config c;
	chronik_storage_partition *p = NULL;
	int64_t t0 = lt_now_ms(), off, ts;
	size_t len;
	uint8_t *b = lt_batch(&len, 3, 0, 10, 1, 42);

	chronik_storage_topic_config_init(&c,
					  CHRONIK_STORAGE_TOPIC_CONFIG_VERSION);
	c.message_timestamp_type = CHRONIK_STORAGE_TIMESTAMP_LOG_APPEND_TIME;
	assert_int_equal(chronik_storage_partition_open(&p, f->s, "lat", 0,
							&c), 0);
	assert_int_equal(chronik_storage_append(NULL, p, b, len, 0, NULL,
						NULL), 0);
	free(b);
	assert_int_equal(chronik_storage_wait(p, 3, 5000), 0);
	assert_int_equal(chronik_storage_lookup_time(
			   &off, &ts, p, CHRONIK_STORAGE_TIME_MAX_TIMESTAMP),
			 0);
	assert_true(ts >= t0 && ts <= lt_now_ms());
	uint8_t *all = lt_read_all(&len, NULL, p, 0);
	chronik_protocol_batch pb;
	assert_int_equal(chronik_protocol_batch_parse(&pb, all, len), 0);
	assert_int_equal(chronik_protocol_batch_verify_crc(&pb), 0);
	assert_true(pb.header.attributes &
		    CHRONIK_PROTOCOL_ATTR_LOG_APPEND_TIME);
	free(all);
}

static atomic_int cb_appends;
static void append_from_cb(chronik_storage_partition *p, int64_t base,
			   int status, void *ud)
{
	size_t len;
	uint8_t *b;

	(void)base;
	(void)ud;
	if (status != 0 || atomic_fetch_add(&cb_appends, 1) >= 50)
		return;
	/* Never waits for tail space here (that could deadlock). */
	b = lt_batch(&len, 2, 0, 4000, 7, 5);
	assert_int_equal(chronik_storage_append(NULL, p, b, len, 0, NULL,
						NULL), 0);
	free(b);
}

static void test_log_tail_cap(void **state)
{
	struct fixture *f = *state;
	chronik_storage_options o;
	chronik_storage_partition *p;
	chronik_storage_offsets off;
	size_t len, peak = 0, cap = 64 << 10;
	int64_t base = 0;
	uint8_t *all;

	chronik_storage_close(f->s);
	/* A version-1 options struct is still accepted. */
	assert_int_equal(chronik_storage_options_init(&o, 1), 0);
	assert_int_equal(o.version, 1);
	chronik_storage_options_init(&o, CHRONIK_STORAGE_OPTIONS_VERSION);
	o.wal_sync_mode = 0; /* slow commits: the tail fills up */
	o.sync_segments = 0;
	o.tail_max_bytes = cap;
	assert_int_equal(chronik_storage_open(&f->s, f->dir, &o), 0);
	p = part(f->s, 1 << 20, 0);
	for (int i = 0; i < 400; i++) {
		uint8_t *b = lt_batch(&len, 2, 0, 4000, (uint32_t)i, 5);

		assert_int_equal(chronik_storage_append(&base, p, b, len, 0,
							i < 10 ? append_from_cb
							       : NULL, NULL),
				 0);
		free(b);
		pthread_mutex_lock(&f->s->tail_mu);
		if (f->s->tail_bytes > peak)
			peak = f->s->tail_bytes;
		pthread_mutex_unlock(&f->s->tail_mu);
	}
	assert_int_equal(chronik_storage_wait(p, base + 2, 10000), 0);
	/* Callback appends may go over the cap by their own size. */
	assert_true(peak <= cap + 20 * len);
	assert_int_equal(chronik_storage_flush(f->s), 0);
	pthread_mutex_lock(&f->s->tail_mu);
	assert_int_equal(f->s->tail_bytes, 0);
	pthread_mutex_unlock(&f->s->tail_mu);
	assert_int_equal(chronik_storage_partition_offsets(&off, p), 0);
	assert_int_equal(off.high_watermark, 2 * (400 + 10));
	all = lt_read_all(&len, NULL, p, 0);
	assert_int_equal(check_blob(all, len, 0, 2), 410);
	free(all);
	print_message("# tail peak %zu bytes with a %zu byte cap\n", peak,
		      cap);
}

/* Directories under topics/ whose name starts with `prefix`. */
static int count_dirs(const struct fixture *f, const char *prefix,
		      const char *suffix)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "%s/topics", f->dir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), sl = strlen(suffix);
		if (!strncmp(de->d_name, prefix, strlen(prefix)) &&
		    l >= sl && !strcmp(de->d_name + l - sl, suffix))
			n++;
	}
	closedir(d);
	return n;
}

static void test_log_partition_delete(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 8192, 512);
	chronik_storage_offsets o;
	int64_t base;
	size_t len;
	uint8_t *b;

	append_n(p, 200, 2, 30, 5);
	assert_int_equal(chronik_storage_partition_delete(f->s, "orders", 3),
			 0);
	assert_int_equal(count_dirs(f, "orders-3", "3"), 0);
	/* The renamed directory goes in the background. */
	for (int i = 0; i < 200 && count_dirs(f, "orders-3.", "-delete");
	     i++)
		lt_sleep_ms(10);
	assert_int_equal(count_dirs(f, "orders-3.", "-delete"), 0);
	assert_int_equal(chronik_storage_partition_delete(f->s, "orders", 3),
			 CHRONIK_ENOTFOUND);
	/* The old pointer refuses appends instead of touching freed
	 * memory. */
	b = lt_batch(&len, 2, 0, 30, 1, 5);
	assert_int_equal(chronik_storage_append(&base, p, b, len, 0, NULL,
						NULL), CHRONIK_ECLOSED);
	/* Same name again: a new, empty partition. */
	p = part(f->s, 8192, 512);
	chronik_storage_partition_offsets(&o, p);
	assert_int_equal(o.high_watermark, 0);
	assert_int_equal(o.log_start_offset, 0);
	assert_int_equal(chronik_storage_append(&base, p, b, len, 0, NULL,
						NULL), 0);
	assert_int_equal(base, 0);
	assert_int_equal(chronik_storage_wait(p, 2, 5000), 0);
	free(b);
	/* A clean restart keeps only the new partition's data. */
	assert_int_equal(chronik_storage_close(f->s), 0);
	f->s = lt_open(f->dir, 0);
	assert_non_null(f->s);
	p = part(f->s, 8192, 512);
	chronik_storage_partition_offsets(&o, p);
	assert_int_equal(o.high_watermark, 2);
	assert_int_equal(chronik_storage_partition_delete(f->s, "nope", 0),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_storage_partition_delete(f->s, "../x", 0),
			 CHRONIK_EARG);
}

/* A storage whose WAL is never checkpointed while it runs: every record
 * is replayed at the next open. */
static chronik_storage *open_no_checkpoint(const char *dir)
{
	chronik_storage_options o;
	chronik_storage *s = NULL;

	chronik_storage_options_init(&o, CHRONIK_STORAGE_OPTIONS_VERSION);
	o.wal_sync_mode = 2; /* survives a process crash */
	o.sync_segments = 0;
	o.flush_interval_ms = 3600 * 1000;
	o.retention_check_ms = 3600 * 1000;
	o.wal_segment_size = 1 << 20;
	if (chronik_storage_open(&s, dir, &o) != 0)
		return NULL;
	return s;
}

/* kill -9 after a deletion: the deleted partition's WAL records (not
 * checkpointed) must not bring it back, neither as a partition of its
 * own nor inside a new partition of the same name. */
static void test_log_partition_delete_replay(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p;
	chronik_storage_offsets o;
	char path[4096];
	pid_t pid;
	int st;

	assert_int_equal(chronik_storage_close(f->s), 0);
	f->s = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		chronik_storage *s = open_no_checkpoint(f->dir);
		chronik_storage_partition *q, *gone, *keep;

		if (!s)
			_exit(2);
		if (chronik_storage_partition_open(&q, s, "orders", 3,
						   NULL) ||
		    chronik_storage_partition_open(&gone, s, "gone", 0,
						   NULL) ||
		    chronik_storage_partition_open(&keep, s, "keep", 0, NULL))
			_exit(3);
		append_n(q, 50, 2, 30, 5);
		append_n(gone, 20, 1, 30, 5);
		append_n(keep, 10, 3, 30, 5);
		if (chronik_storage_partition_delete(s, "orders", 3) ||
		    chronik_storage_partition_delete(s, "gone", 0))
			_exit(4);
		if (chronik_storage_partition_open(&q, s, "orders", 3, NULL))
			_exit(5);
		append_n(q, 5, 1, 30, 5);
		append_n(keep, 1, 3, 30, 5);
		kill(getpid(), SIGKILL);
		_exit(6);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	f->s = lt_open(f->dir, 0);
	assert_non_null(f->s);
	snprintf(path, sizeof path, "%s/topics/gone-0", f->dir);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(chronik_storage_partition_open(&p, f->s, "orders", 3,
							NULL), 0);
	chronik_storage_partition_offsets(&o, p);
	assert_int_equal(o.high_watermark, 5);
	size_t len;
	uint8_t *all = lt_read_all(&len, NULL, p, 0);
	assert_int_equal(check_blob(all, len, 0, 1), 5);
	free(all);
	assert_int_equal(chronik_storage_partition_open(&p, f->s, "keep", 0,
							NULL), 0);
	chronik_storage_partition_offsets(&o, p);
	assert_int_equal(o.high_watermark, 33);
	/* Leftover "-delete" directories are removed after the open. */
	for (int i = 0; i < 200 && count_dirs(f, "", "-delete"); i++)
		lt_sleep_ms(10);
	assert_int_equal(count_dirs(f, "", "-delete"), 0);
}

static void test_log_wal_stats(void **state)
{
	struct fixture *f = *state;
	chronik_storage_partition *p = part(f->s, 0, 0);
	chronik_wal_stats ws;

	append_n(p, 10, 2, 30, 5);
	memset(&ws, 0, sizeof ws);
	ws.version = CHRONIK_WAL_STATS_VERSION;
	assert_int_equal(chronik_storage_wal_stats(&ws, f->s), 0);
	assert_true(ws.records >= 10);
	assert_true(ws.batches >= 1);
	assert_int_equal(chronik_storage_wal_stats(NULL, f->s), CHRONIK_EARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_log_append_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_log_completion_eventfd,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_append_written_inline,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_rejects_bad_batches,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_roll_index_lookup,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_reopen_continues,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_delete_records, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_log_truncate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_log_repairs_index_and_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_log_corrupt_segment_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_indexes_stay_sparse,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_append_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_log_tail_cap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_log_damage_inside_closed_segment, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_log_recovery_point,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_partition_delete,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_log_partition_delete_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_wal_stats, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

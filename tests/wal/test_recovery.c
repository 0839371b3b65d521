/* SPDX-License-Identifier: Apache-2.0 */
/* Recovery tests: damage copies of a known WAL's segment files (torn
 * writes, bit flips, lost or half-created segments) and check what open
 * reports and keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "chronik/wal.h"
#include "crc32c.h"
#include "wal_internal.h"
#include "wal_test_util.h"

#define NREC 600
#define SEG (64 * 1024)

static char *g_master; /* the pristine WAL, built once */

struct fixture {
	char *dir; /* a fresh copy of g_master */
};

static void copy_dir(const char *from, const char *to)
{
	struct dirent *de;
	DIR *d = opendir(from);
	char a[4200], b[4200];
	static uint8_t buf[1 << 16];

	mkdir(to, 0755);
	while ((de = readdir(d))) {
		int in, out;
		ssize_t n;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "LOCK") == 0)
			continue;
		snprintf(a, sizeof a, "%s/%s", from, de->d_name);
		snprintf(b, sizeof b, "%s/%s", to, de->d_name);
		in = open(a, O_RDONLY);
		out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || out < 0)
			fail_msg("copy %s to %s: %s", a, b, strerror(errno));
		while ((n = read(in, buf, sizeof buf)) > 0)
			if (write(out, buf, (size_t)n) != n)
				fail_msg("write %s: %s", b, strerror(errno));
		if (n < 0)
			fail_msg("read %s: %s", a, strerror(errno));
		close(in);
		close(out);
	}
	closedir(d);
}

static int open_opts(chronik_wal **w, const char *dir, unsigned int flags)
{
	chronik_wal_options o = CHRONIK_WAL_OPTIONS_INIT;

	o.dir = dir;
	o.segment_size = SEG;
	o.flags = flags;
	return chronik_wal_open(w, &o);
}

/* Build the master: NREC records, one write (and sync) per record, so
 * every record ends a write batch. */
static int group_setup(void **state)
{
	chronik_wal *w;
	uint8_t buf[4096];

	(void)state;
	g_master = wt_tmpdir();
	if (open_opts(&w, g_master, 0) != 0)
		return -1;
	for (uint64_t l = 1; l <= NREC; l++) {
		uint64_t lsn;

		wt_fill(buf, wt_len(l), l);
		if (chronik_wal_append(&lsn, w, 7, buf, wt_len(l)) != 0 ||
		    chronik_wal_wait(w, lsn, -1) != 0)
			return -1;
	}
	return chronik_wal_close(w);
}

static int group_teardown(void **state)
{
	(void)state;
	wt_rmrf(g_master);
	free(g_master);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	f->dir = wt_tmpdir();
	copy_dir(g_master, f->dir);
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

/* Check the WAL holds exactly records [1, last] intact. */
static void check_records(chronik_wal *w, uint64_t last)
{
	chronik_wal_reader *r;
	chronik_wal_record rec;
	uint64_t want = 1;
	int k;

	assert_int_equal(chronik_wal_reader_open(&r, w, 1), 0);
	while ((k = chronik_wal_reader_next(&rec, r)) == 1) {
		assert_int_equal(rec.lsn, want);
		assert_int_equal(rec.len, wt_len(want));
		assert_true(wt_check(rec.data, rec.len, want));
		want++;
	}
	assert_int_equal(k, 0);
	assert_int_equal(want - 1, last);
	chronik_wal_reader_close(r);
}

/* One past the last non-zero byte of a file. */
static off_t data_end(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *b;
	off_t e;

	if (fd < 0 || fstat(fd, &st) != 0)
		fail_msg("open %s: %s", path, strerror(errno));
	b = malloc((size_t)st.st_size + 1);
	if (pread(fd, b, (size_t)st.st_size, 0) != st.st_size)
		fail_msg("read %s: %s", path, strerror(errno));
	close(fd);
	for (e = st.st_size; e > 0 && !b[e - 1]; e--)
		;
	free(b);
	return e;
}

/* Offset of the record with LSN lsn in a segment (by walking frames), or
 * -1 when the segment does not hold it. */
static off_t record_offset(const char *path, uint64_t lsn)
{
	uint8_t h[20];
	off_t off = 64;
	struct stat st;

	if (stat(path, &st) != 0)
		fail_msg("stat %s: %s", path, strerror(errno));
	for (;;) {
		uint64_t l;
		uint32_t len;

		if (off + (off_t)sizeof h > st.st_size)
			return -1; /* the segment is full up to its end */
		wt_peek(path, off, h, sizeof h);
		memcpy(&len, h + 4, 4);
		memcpy(&l, h + 8, 8);
		if (l == lsn)
			return off;
		if (l == 0)
			return -1;
		off += 20 + (off_t)len;
	}
}

static char *last_segment(const char *dir)
{
	return wt_segment(dir, wt_count_segments(dir) - 1);
}

/* A segment that is neither of the first two nor the last and whose
 * fourth record has a payload of at least 6 bytes: its path, its first
 * LSN and that record's offset. The master's layout depends on timing:
 * a segment created while the preparer was not ready is left as soon as
 * a prepared one is (see seg_unwritten in wal.c), possibly after a
 * single record, so a fixed index may hold too few records. */
static char *mid_segment(const char *dir, uint64_t *lsn, off_t *off)
{
	int n = wt_count_segments(dir);

	for (int i = 2; i + 1 < n; i++) {
		char *seg = wt_segment(dir, i);
		uint8_t h[20];

		wt_peek(seg, 64, h, sizeof h);
		memcpy(lsn, h + 8, 8);
		*off = record_offset(seg, *lsn + 3);
		if (*off > 0 && wt_len(*lsn + 3) > 5)
			return seg;
		free(seg);
	}
	return NULL;
}

/* XOR one byte of a file with mask. */
static void flip_bits(const char *path, off_t off, uint8_t mask)
{
	uint8_t b;

	wt_peek(path, off, &b, 1);
	b ^= mask;
	wt_poke(path, off, &b, 1);
}

/* Append n small records, each its own write (waited for), to the WAL in
 * dir; they go at the end of the last segment (or into a new one). */
static void append_tiny(const char *dir, int n)
{
	chronik_wal *w;

	assert_int_equal(open_opts(&w, dir, 0), 0);
	for (int i = 0; i < n; i++) {
		uint64_t lsn;

		assert_int_equal(chronik_wal_append(&lsn, w, 1, "tiny", 4), 0);
		assert_int_equal(chronik_wal_wait(w, lsn, -1), 0);
	}
	assert_int_equal(chronik_wal_close(w), 0);
}

static void test_recovery_clean(void **state)
{
	struct fixture *f = *state;
	chronik_wal_recovery rec = {.version = CHRONIK_WAL_RECOVERY_VERSION};
	chronik_wal *w;

	assert_int_equal(open_opts(&w, f->dir, 0), 0);
	assert_int_equal(chronik_wal_recovery_get(&rec, w), 0);
	assert_int_equal(rec.records, NREC);
	assert_int_equal(rec.last_lsn, NREC);
	assert_int_equal(rec.torn_bytes, 0);
	check_records(w, NREC);
	assert_int_equal(chronik_wal_close(w), 0);
}

/* The last record's payload half written: truncated, the rest kept. */
static void test_recovery_torn_last_record(void **state)
{
	struct fixture *f = *state;
	chronik_wal_recovery rec = {.version = CHRONIK_WAL_RECOVERY_VERSION};
	char *seg = last_segment(f->dir);
	chronik_wal *w;
	uint8_t *zeros;
	off_t off, end;

	assert_non_null(seg);
	off = record_offset(seg, NREC);
	end = data_end(seg);
	assert_true(off > 0);
	/* Zero the second half of the last frame, as if its later pages
	 * never reached the disk. */
	assert_true(end > off);
	zeros = calloc(1, (size_t)(end - off));
	wt_poke(seg, off + (end - off) / 2, zeros,
		(size_t)(end - (off + (end - off) / 2)));
	free(zeros);
	assert_int_equal(open_opts(&w, f->dir, 0), 0);
	assert_int_equal(chronik_wal_recovery_get(&rec, w), 0);
	assert_int_equal(rec.records, NREC - 1);
	assert_true(rec.torn_bytes > 0);
	assert_int_equal(rec.corrupt, 0);
	assert_int_equal(chronik_wal_next_lsn(w), NREC);
	check_records(w, NREC - 1);
	/* Appending after the cut works and survives another reopen. */
	{
		uint8_t buf[4096];

		wt_fill(buf, wt_len(NREC), NREC);
		assert_int_equal(chronik_wal_append(NULL, w, 7, buf,
						    wt_len(NREC)), 0);
	}
	assert_int_equal(chronik_wal_close(w), 0);
	assert_int_equal(open_opts(&w, f->dir, 0), 0);
	check_records(w, NREC);
	assert_int_equal(chronik_wal_close(w), 0);
	free(seg);
}

/* Garbage (a partial header) after the last record: cleared. */
static void test_recovery_torn_header(void **state)
{
	struct fixture *f = *state;
	chronik_wal_recovery rec = {.version = CHRONIK_WAL_RECOVERY_VERSION};
	char *seg = last_segment(f->dir);
	const uint8_t junk[11] = {0x13, 0, 0, 0, 0x59, 0x02, 0, 0, 1, 2, 3};
	chronik_wal *w;

	assert_non_null(seg);
	wt_poke(seg, data_end(seg), junk, sizeof junk);
	assert_int_equal(open_opts(&w, f->dir, 0), 0);
	assert_int_equal(chronik_wal_recovery_get(&rec, w), 0);
	assert_int_equal(rec.records, NREC);
	assert_true(rec.torn_bytes > 0 && rec.torn_bytes <= sizeof junk);
	check_records(w, NREC);
	assert_int_equal(chronik_wal_close(w), 0);
	free(seg);
}

/* A bit flip in an early segment: refused with file, offset and LSN;
 * salvage truncates there and reports the loss. */
static void test_recovery_bitflip_mid_log(void **state)
{
	struct fixture *f = *state;
	chronik_wal_recovery rec = {.version = CHRONIK_WAL_RECOVERY_VERSION};
	uint64_t lsn = 0;
	off_t off = 0;
	char *seg = mid_segment(f->dir, &lsn, &off);
	chronik_wal *w;
	char offs[64];

	assert_non_null(seg);
	flip_bits(seg, off + 25, 0x10);

	assert_int_equal(open_opts(&w, f->dir, 0), CHRONIK_ECORRUPT);
	assert_non_null(w);
	assert_non_null(strstr(chronik_wal_last_error(w), strrchr(seg, '/') +
								  1));
	snprintf(offs, sizeof offs, "offset %lld", (long long)off);
	assert_non_null(strstr(chronik_wal_last_error(w), offs));
	assert_int_equal(chronik_wal_recovery_get(&rec, w), 0);
	assert_int_equal(rec.corrupt, 1);
	assert_int_equal(rec.corrupt_lsn, lsn + 3);
	assert_int_equal(rec.corrupt_offset, (uint64_t)off);
	assert_string_equal(rec.corrupt_file, seg);
	assert_int_equal(chronik_wal_close(w), CHRONIK_ECORRUPT);

	/* Still refused on a second try: nothing was changed. */
	assert_int_equal(open_opts(&w, f->dir, 0), CHRONIK_ECORRUPT);
	chronik_wal_close(w);

	assert_int_equal(open_opts(&w, f->dir, CHRONIK_WAL_OPEN_SALVAGE), 0);
	assert_int_equal(chronik_wal_recovery_get(&rec, w), 0);
	assert_int_equal(rec.corrupt, 1);
	assert_true(rec.lost_segments > 0);
	assert_true(rec.lost_bytes > 0);
	assert_int_equal(rec.lost_last_lsn, NREC);
	assert_int_equal(chronik_wal_next_lsn(w), lsn + 3);
	check_records(w, lsn + 2);
	assert_int_equal(chronik_wal_close(w), 0);
	/* After salvage the WAL opens cleanly. */
	assert_int_equal(open_opts(&w, f->dir, 0), 0);
	check_records(w, lsn + 2);
	assert_int_equal(chronik_wal_close(w), 0);
	free(seg);
}

/* A bit flip inside the last segment, followed by records of later,
 * synced writes: corruption, not a torn tail. */
static void test_recovery_bitflip_last_segment(void **state)
{
	struct fixture *f = *state;
	char *seg;
	uint8_t h[20];
	uint64_t lsn;
	off_t off;
	chronik_wal *w;

	/* Make sure the last segment holds several small, separately
	 * synced records. */
	append_tiny(f->dir, 10);
	seg = last_segment(f->dir);
	assert_non_null(seg);
	wt_peek(seg, 64, h, sizeof h);
	memcpy(&lsn, h + 8, 8);
	off = record_offset(seg, lsn + 1);
	assert_true(record_offset(seg, lsn + 4) > 0);
	flip_bits(seg, off + 9, 0x01); /* inside the LSN field */
	assert_int_equal(open_opts(&w, f->dir, 0), CHRONIK_ECORRUPT);
	chronik_wal_close(w);
	free(seg);
}

/* A missing middle segment is a gap: corruption. */
static void test_recovery_missing_segment(void **state)
{
	struct fixture *f = *state;
	char *seg = wt_segment(f->dir, 3);
	chronik_wal *w;

	assert_non_null(seg);
	assert_int_equal(unlink(seg), 0);
	assert_int_equal(open_opts(&w, f->dir, 0), CHRONIK_ECORRUPT);
	assert_non_null(strstr(chronik_wal_last_error(w), "expected"));
	chronik_wal_close(w);
	free(seg);
}

/* A newest segment whose creation was cut short is removed. */
static void test_recovery_half_created_segment(void **state)
{
	struct fixture *f = *state;
	char path[4200];
	chronik_wal *w;
	int fd;

	snprintf(path, sizeof path, "%s/%020d.wal", f->dir, NREC + 1);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_int_equal(write(fd, "CHRNKW", 6), 6);
	assert_int_equal(ftruncate(fd, SEG), 0);
	close(fd);
	assert_int_equal(open_opts(&w, f->dir, 0), 0);
	check_records(w, NREC);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(chronik_wal_close(w), 0);
}

/* A damaged header of an older segment; an unknown format version. */
static void test_recovery_header_damage_and_version(void **state)
{
	struct fixture *f = *state;
	char *seg = wt_segment(f->dir, 1);
	uint8_t h[64];
	chronik_wal *w;

	assert_non_null(seg);
	wt_peek(seg, 0, h, sizeof h);
	h[20] ^= 1;
	wt_poke(seg, 0, h, sizeof h);
	assert_int_equal(open_opts(&w, f->dir, 0), CHRONIK_ECORRUPT);
	chronik_wal_close(w);

	h[20] ^= 1;
	h[8] = 9; /* format version 9, valid CRC */
	{
		uint32_t crc = chronik_util_crc32c(0, h, 60);

		memcpy(h + 60, &crc, 4);
	}
	wt_poke(seg, 0, h, sizeof h);
	assert_int_equal(open_opts(&w, f->dir, 0), CHRONIK_EVERSION);
	assert_non_null(strstr(chronik_wal_last_error(w), "version"));
	chronik_wal_close(w);
	free(seg);
}

/* Set a record's flags and fix its header CRC (payload CRC recomputed). */
static void set_rec_flags(const char *seg, off_t off, uint8_t flags)
{
	uint8_t h[20], *payload;
	uint32_t len, pcrc;

	wt_peek(seg, off, h, sizeof h);
	memcpy(&len, h + 4, 4);
	payload = malloc(len + 1);
	wt_peek(seg, off + 20, payload, len);
	pcrc = chronik_util_crc32c(0, payload, len);
	free(payload);
	h[17] |= flags;
	{
		uint32_t crc = chronik_wal__rec_crc(pcrc, h);

		memcpy(h, &crc, 4);
	}
	wt_poke(seg, off, h, sizeof h);
}

/* Damage before records whose writes overlapped unsynced ones
 * (WAL_REC_OVERLAP): a torn tail, cut; the same damage before a write
 * that did not overlap is corruption (test_recovery_bitflip_last_segment). */
static void test_recovery_overlap_is_torn(void **state)
{
	struct fixture *f = *state;
	chronik_wal_recovery rec = {.version = CHRONIK_WAL_RECOVERY_VERSION};
	const uint64_t last = NREC + 10;
	char *seg;
	off_t a, b, c;
	chronik_wal *w;

	/* Ten small records, each its own write (WAL_REC_BATCH_END), at
	 * least the last three in the last segment. */
	append_tiny(f->dir, 10);
	seg = last_segment(f->dir);
	assert_non_null(seg);
	a = record_offset(seg, last - 2);
	b = record_offset(seg, last - 1);
	c = record_offset(seg, last);
	assert_true(a > 0 && b > a && c > b);
	set_rec_flags(seg, b, WAL_REC_OVERLAP);
	set_rec_flags(seg, c, WAL_REC_OVERLAP);
	flip_bits(seg, a + 22, 0x40);
	assert_int_equal(open_opts(&w, f->dir, 0), 0);
	assert_int_equal(chronik_wal_recovery_get(&rec, w), 0);
	assert_int_equal(rec.corrupt, 0);
	assert_true(rec.torn_bytes > 0);
	assert_int_equal(rec.records, last - 3);
	assert_int_equal(chronik_wal_next_lsn(w), last - 2);
	assert_int_equal(chronik_wal_close(w), 0);
	free(seg);

	/* Without the flag on the last write, the same damage is refused. */
	teardown(state);
	setup(state);
	f = *state;
	append_tiny(f->dir, 10);
	seg = last_segment(f->dir);
	assert_non_null(seg);
	assert_int_equal(record_offset(seg, last - 2), a);
	set_rec_flags(seg, b, WAL_REC_OVERLAP);
	flip_bits(seg, a + 22, 0x40);
	assert_int_equal(open_opts(&w, f->dir, 0), CHRONIK_ECORRUPT);
	chronik_wal_close(w);
	free(seg);
}

/* A segment of format version 1 (before WAL_REC_OVERLAP) is read, and new
 * records go to a new segment. */
static void test_recovery_format_1_segment(void **state)
{
	struct fixture *f = *state;
	char *seg = last_segment(f->dir);
	int nseg = wt_count_segments(f->dir);
	uint8_t h[64];
	uint32_t crc;
	chronik_wal *w;

	assert_non_null(seg);
	wt_peek(seg, 0, h, sizeof h);
	h[8] = 1;
	crc = chronik_util_crc32c(0, h, 60);
	memcpy(h + 60, &crc, 4);
	wt_poke(seg, 0, h, sizeof h);
	assert_int_equal(open_opts(&w, f->dir, 0), 0);
	check_records(w, NREC);
	assert_int_equal(chronik_wal_append(NULL, w, 7, "new", 3), 0);
	assert_int_equal(chronik_wal_close(w), 0);
	assert_int_equal(wt_count_segments(f->dir), nseg + 1);
	wt_peek(seg, 0, h, sizeof h);
	assert_int_equal(h[8], 1);
	free(seg);
	seg = last_segment(f->dir);
	wt_peek(seg, 0, h, sizeof h);
	assert_int_equal(h[8], 2);
	free(seg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_recovery_clean, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recovery_torn_last_record,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_torn_header,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_bitflip_mid_log,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_recovery_bitflip_last_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_missing_segment,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_recovery_half_created_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_recovery_header_damage_and_version, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_recovery_overlap_is_torn,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_format_1_segment,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

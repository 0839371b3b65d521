/* SPDX-License-Identifier: Apache-2.0 */
/* Crash test: a child appends through the storage and reports every
 * acknowledged batch to the parent, which kill -9s it at random points;
 * after each restart every acknowledged batch must be readable at its
 * offset with its content, offsets must never be reused and the log and
 * its indexes must be consistent. */
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "log_internal.h"
#include "log_test_util.h"

#define CYCLES 30

struct ack {
	int64_t base;
	int64_t seq;
};

static int ack_fd = -1;

static void on_ack(chronik_storage_partition *p, int64_t base, int status,
		   void *ud)
{
	struct ack a = {base, (int64_t)(intptr_t)ud};

	(void)p;
	if (status == 0 && write(ack_fd, &a, sizeof a) != sizeof a)
		_exit(3);
}

static chronik_storage_partition *part(chronik_storage *s)
{
	chronik_storage_topic_config c;
	chronik_storage_partition *p = NULL;

	chronik_storage_topic_config_init(&c, 1);
	c.segment_bytes = 16384;
	c.index_interval_bytes = 512;
	if (chronik_storage_partition_open(&p, s, "crash", 0, &c) != 0)
		return NULL;
	return p;
}

static void child(const char *dir, int fd, int64_t seq0)
{
	chronik_storage *s = lt_open(dir, 0);
	chronik_storage_partition *p = s ? part(s) : NULL;

	if (!p)
		_exit(2);
	ack_fd = fd;
	for (int64_t seq = seq0;; seq++) {
		size_t len;
		int n = 1 + (int)(seq % 4);
		uint8_t *b = lt_batch(&len, n, 0, 50 + (int)(seq % 300),
				      (uint32_t)seq, lt_now_ms());

		if (chronik_storage_append(NULL, p, b, len, 0, on_ack,
					   (void *)(intptr_t)seq) != 0)
			_exit(4);
		free(b);
		if (seq % 8 == 0)
			lt_sleep_ms(1);
	}
}

static void verify(const char *dir, const struct ack *acks, size_t nacks)
{
	chronik_storage *s = lt_open(dir, 0);
	chronik_storage_partition *p;
	chronik_storage_offsets o;
	uint8_t *all, *buf = malloc(1 << 16);
	size_t len;
	int64_t end, want = 0;

	assert_non_null(s);
	p = part(s);
	assert_non_null(p);
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	/* The whole log: contiguous offsets, valid CRCs. */
	all = lt_read_all(&len, &end, p, 0);
	assert_int_equal(end, o.high_watermark);
	{
		chronik_protocol_records_iter it;
		chronik_protocol_records_entry e;

		chronik_protocol_records_iter_init(&it, all, len);
		while (chronik_protocol_records_next(&e, &it) == 1) {
			chronik_protocol_batch b;

			assert_int_equal(chronik_protocol_batch_parse(
						 &b, e.data, e.size), 0);
			assert_int_equal(chronik_protocol_batch_verify_crc(&b),
					 0);
			assert_int_equal(b.header.base_offset, want);
			want += b.header.last_offset_delta + 1;
		}
		assert_int_equal(want, o.high_watermark);
	}
	free(all);
	/* Every acknowledged batch, through the index. */
	for (size_t i = 0; i < nacks; i++) {
		chronik_storage_slice sl;
		chronik_protocol_batch b;
		chronik_protocol_record_iter ri;
		chronik_protocol_record r;
		uint32_t tag;

		assert_true(acks[i].base < o.high_watermark);
		assert_int_equal(chronik_storage_read(&sl, p, acks[i].base, 1,
						      buf, 1 << 16), 0);
		if (sl.fd >= 0) {
			assert_int_equal(pread(sl.fd, buf, sl.length,
					       (off_t)sl.file_position),
					 (ssize_t)sl.length);
			close(sl.fd);
		}
		assert_int_equal(chronik_protocol_batch_parse(&b, buf,
							      sl.length), 0);
		assert_int_equal(b.header.base_offset, acks[i].base);
		assert_int_equal(chronik_protocol_record_iter_init(&ri, &b),
				 0);
		assert_int_equal(chronik_protocol_record_next(&r, &ri), 1);
		memcpy(&tag, r.value, 4);
		assert_int_equal(tag, (uint32_t)acks[i].seq);
	}
	free(buf);
	assert_int_equal(chronik_storage_close(s), 0);
}

static void test_crash_kill9_cycles(void **state)
{
	char *dir = lt_tmpdir();
	size_t cap = 1 << 16, nacks = 0;
	struct ack *acks = malloc(cap * sizeof *acks);
	int64_t seq = 0, max_base = -1;

	(void)state;
	srand((unsigned)getpid());
	for (int cyc = 0; cyc < CYCLES; cyc++) {
		int pfd[2];
		pid_t pid;
		int64_t deadline;
		size_t before = nacks;

		assert_int_equal(pipe(pfd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			child(dir, pfd[1], seq);
		}
		close(pfd[1]);
		deadline = lt_now_ms() + 20 + rand() % 150;
		for (;;) {
			struct pollfd pp = {pfd[0], POLLIN, 0};
			int left = (int)(deadline - lt_now_ms());
			struct ack a;

			if (left <= 0)
				break;
			if (poll(&pp, 1, left) <= 0)
				continue;
			if (read(pfd[0], &a, sizeof a) != sizeof a)
				break;
			if (nacks == cap)
				acks = realloc(acks, (cap *= 2) * sizeof *acks);
			acks[nacks++] = a;
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		for (;;) {
			struct ack a;

			if (read(pfd[0], &a, sizeof a) != sizeof a)
				break;
			if (nacks == cap)
				acks = realloc(acks, (cap *= 2) * sizeof *acks);
			acks[nacks++] = a;
		}
		close(pfd[0]);
		/* Offsets never reused: each new ack is above every older
		 * one. */
		for (size_t i = before; i < nacks; i++) {
			assert_true(acks[i].base > max_base);
			max_base = acks[i].base;
			if (acks[i].seq >= seq)
				seq = acks[i].seq + 1;
		}
		seq += 1000; /* unacknowledged sequence numbers are not reused */
		verify(dir, acks, nacks);
	}
	assert_true(nacks > 100);
	print_message("# %zu acknowledged batches over %d kill -9 cycles\n",
		      nacks, CYCLES);
	free(acks);
	lt_rmrf(dir);
	free(dir);
}

/* ------------------------------------------- truncation under kill -9 */

struct msg {
	int64_t kind; /* 0 ack, 1 truncation starts, 2 truncation done */
	int64_t base; /* ack: base offset; else the truncation offset */
	int64_t seq;
};

static int msg_fd = -1;

static void send_msg(int64_t kind, int64_t base, int64_t seq)
{
	struct msg m = {kind, base, seq};

	if (write(msg_fd, &m, sizeof m) != sizeof m)
		_exit(3);
}

static void on_ack_msg(chronik_storage_partition *p, int64_t base,
		       int status, void *ud)
{
	(void)p;
	if (status == 0)
		send_msg(0, base, (int64_t)(intptr_t)ud);
}

static void trunc_child(const char *dir, int fd, int64_t seq0)
{
	chronik_storage *s = lt_open(dir, 0);
	chronik_storage_partition *p = s ? part(s) : NULL;

	if (!p)
		_exit(2);
	msg_fd = fd;
	srand((unsigned)getpid());
	for (int64_t seq = seq0;; seq++) {
		size_t len;
		int n = 1 + (int)(seq % 4);
		uint8_t *b = lt_batch(&len, n, 0, 50 + (int)(seq % 300),
				      (uint32_t)seq, lt_now_ms());

		if (chronik_storage_append(NULL, p, b, len, 0, on_ack_msg,
					   (void *)(intptr_t)seq) != 0)
			_exit(4);
		free(b);
		if (seq % 16 == 0) {
			chronik_storage_offsets o;
			int64_t x;

			chronik_storage_partition_offsets(&o, p);
			x = o.log_end_offset - rand() % 24;
			if (x < o.log_start_offset)
				x = o.log_start_offset;
			send_msg(1, x, 0);
			if (chronik_storage_truncate(p, x) != 0)
				_exit(5);
			send_msg(2, x, 0);
		}
		if (seq % 8 == 0)
			lt_sleep_ms(1);
	}
}

/* Last offset of an acknowledged batch (the child's sizes by seq). */
static int64_t ack_last(const struct ack *a)
{
	return a->base + (a->seq % 4);
}

/* Is the batch of ack a readable with its content? */
static int ack_present(chronik_storage_partition *p, const struct ack *a)
{
	chronik_storage_slice sl;
	chronik_protocol_batch b;
	chronik_protocol_record_iter ri;
	chronik_protocol_record r;
	uint8_t *buf = malloc(1 << 16);
	uint32_t tag;
	int ok = 0;

	if (chronik_storage_read(&sl, p, a->base, 1, buf, 1 << 16) == 0 &&
	    sl.length > 0) {
		if (sl.fd >= 0) {
			assert_int_equal(pread(sl.fd, buf, sl.length,
					       (off_t)sl.file_position),
					 (ssize_t)sl.length);
			close(sl.fd);
		}
		assert_int_equal(chronik_protocol_batch_parse(&b, buf,
							      sl.length), 0);
		assert_int_equal(chronik_protocol_record_iter_init(&ri, &b),
				 0);
		assert_int_equal(chronik_protocol_record_next(&r, &ri), 1);
		memcpy(&tag, r.value, 4);
		ok = b.header.base_offset == a->base &&
		     tag == (uint32_t)a->seq;
	}
	free(buf);
	return ok;
}

static void test_crash_truncate_cycles(void **state)
{
	char *dir = lt_tmpdir();
	size_t cap = 1 << 16, nacks = 0, truncs = 0;
	struct ack *acks = malloc(cap * sizeof *acks);
	int64_t seq = 0, max_last = -1;
	int mid_trunc = 0;

	(void)state;
	srand((unsigned)getpid() * 3u);
	for (int cyc = 0; cyc < 24; cyc++) {
		int pfd[2];
		pid_t pid;
		int64_t deadline, pending = -1;
		struct msg m;

		assert_int_equal(pipe(pfd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			trunc_child(dir, pfd[1], seq);
		}
		close(pfd[1]);
		deadline = lt_now_ms() + 20 + rand() % 150;
		for (int killed = 0;;) {
			struct pollfd pp = {pfd[0], POLLIN, 0};
			int left = (int)(deadline - lt_now_ms());

			if (left <= 0 && !killed) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				killed = 1;
			}
			if (killed) {
				if (read(pfd[0], &m, sizeof m) != sizeof m)
					break;
			} else {
				if (poll(&pp, 1, left) <= 0)
					continue;
				if (read(pfd[0], &m, sizeof m) != sizeof m)
					continue;
			}
			if (m.kind == 1) {
				pending = m.base;
			} else if (m.kind == 2) {
				size_t k = 0;

				/* Batches ending at or above it are gone. */
				for (size_t i = 0; i < nacks; i++)
					if (ack_last(&acks[i]) < m.base)
						acks[k++] = acks[i];
				nacks = k;
				/* The cut is at the start of the batch
				 * holding the offset: new data may start
				 * below it, but above every kept ack. */
				max_last = nacks ? ack_last(&acks[nacks - 1])
						 : -1;
				pending = -1;
				truncs++;
			} else {
				struct ack a = {m.base, m.seq};

				/* Offsets of acknowledged data are never
				 * given again (truncation aside). */
				assert_true(a.base > max_last);
				max_last = ack_last(&a);
				if (nacks == cap)
					acks = realloc(acks, (cap *= 2) *
							     sizeof *acks);
				acks[nacks++] = a;
				if (a.seq >= seq)
					seq = a.seq + 1;
			}
		}
		close(pfd[0]);
		seq += 1000;
		if (pending >= 0) {
			/* Killed inside a truncation: batches from its
			 * offset on may or may not be there. */
			chronik_storage *s = lt_open(dir, 0);
			chronik_storage_partition *p = part(s);
			size_t k = 0;

			for (size_t i = 0; i < nacks; i++)
				if (ack_last(&acks[i]) < pending ||
				    ack_present(p, &acks[i]))
					acks[k++] = acks[i];
			nacks = k;
			max_last = -1;
			if (nacks)
				max_last = ack_last(&acks[nacks - 1]);
			mid_trunc++;
			assert_int_equal(chronik_storage_close(s), 0);
		}
		verify(dir, acks, nacks);
	}
	print_message("# %zu acknowledged batches kept, %zu truncations, "
		      "%d kills inside one\n", nacks, truncs, mid_trunc);
	assert_true(truncs > 20);
	free(acks);
	lt_rmrf(dir);
	free(dir);
}

/* ------------------------------------------- compaction under kill -9 */

#define NKEYS 40

/* Batch of seq: 1..3 records, keys k<seq % NKEYS + i>, every value
 * starting with the 4-byte seq; every third batch lz4. */
static uint8_t *key_batch(size_t *len, int64_t seq)
{
	chronik_protocol_batch_builder_options bo =
		CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_INIT;
	chronik_protocol_batch_builder *b = NULL;
	const uint8_t *out;
	uint8_t val[120], *copy;
	uint32_t tag = (uint32_t)seq;

	memset(val, 'v', sizeof val);
	memcpy(val, &tag, 4);
	bo.compression = seq % 3 == 0 ? CHRONIK_PROTOCOL_COMPRESSION_LZ4 : 0;
	if (chronik_protocol_batch_builder_new(&b, &bo) != 0)
		abort();
	for (int i = 0; i < 1 + (int)(seq % 3); i++) {
		char k[16];
		int kl = snprintf(k, sizeof k, "k%d",
				  (int)(seq % NKEYS) + i);

		if (chronik_protocol_batch_builder_append(
			    b, lt_now_ms(), k, kl, val, 20 + (int)(seq % 100),
			    NULL, 0) != 0)
			abort();
	}
	if (chronik_protocol_batch_builder_finish(&out, len, b) != 0)
		abort();
	copy = malloc(*len);
	memcpy(copy, out, *len);
	chronik_protocol_batch_builder_free(b);
	return copy;
}

static chronik_storage *open_compacting(const char *dir, unsigned check_ms,
					chronik_storage_partition **pp)
{
	chronik_storage_options o;
	chronik_storage_topic_config c;
	chronik_storage *s = NULL;

	chronik_storage_options_init(&o, CHRONIK_STORAGE_OPTIONS_VERSION);
	o.wal_sync_mode = 2;
	o.sync_segments = 0;
	o.flush_interval_ms = 10;
	o.retention_check_ms = check_ms;
	o.wal_segment_size = 1 << 20;
	if (chronik_storage_open(&s, dir, &o) != 0)
		return NULL;
	chronik_storage_topic_config_init(&c, 1);
	c.cleanup_policy = CHRONIK_STORAGE_CLEANUP_COMPACT;
	c.segment_bytes = 4096;
	c.index_interval_bytes = 512;
	if (chronik_storage_partition_open(pp, s, "compact", 0, &c) != 0)
		return NULL;
	return s;
}

static void compact_child(const char *dir, int fd, int64_t seq0)
{
	chronik_storage_partition *p = NULL;
	chronik_storage *s = open_compacting(dir, 5, &p);

	if (!s)
		_exit(2);
	msg_fd = fd;
	for (int64_t seq = seq0;; seq++) {
		size_t len;
		uint8_t *b = key_batch(&len, seq);

		if (chronik_storage_append(NULL, p, b, len, 0, on_ack_msg,
					   (void *)(intptr_t)seq) != 0)
			_exit(4);
		free(b);
		if (seq % 4 == 0)
			lt_sleep_ms(1);
	}
}

/* Check a compacted log: offsets increase, every record is what the
 * child wrote for its batch, and each key's newest acknowledged record
 * (newest[k] offset, tag newest_seq[k]) or a newer one for that key is
 * there. */
static void verify_keyed(chronik_storage_partition *p, const int64_t *newest,
			 const int64_t *newest_seq, int64_t min_hw)
{
	size_t len;
	int64_t end, prev = -1, maxoff[NKEYS + 3];
	uint8_t *all = lt_read_all(&len, &end, p, 0);
	chronik_protocol_records_iter it;
	chronik_protocol_records_entry e;
	chronik_storage_offsets o;

	for (int k = 0; k < NKEYS + 3; k++)
		maxoff[k] = -1;
	assert_int_equal(chronik_storage_partition_offsets(&o, p), 0);
	assert_true(o.high_watermark >= min_hw);
	chronik_protocol_records_iter_init(&it, all, len);
	while (chronik_protocol_records_next(&e, &it) == 1) {
		chronik_protocol_batch b;
		chronik_protocol_record_iter ri;
		chronik_protocol_record r;
		void *plain = NULL;
		size_t pl;

		assert_int_equal(chronik_protocol_batch_parse(&b, e.data,
							      e.size), 0);
		assert_int_equal(chronik_protocol_batch_verify_crc(&b), 0);
		if (b.header.attributes &
		    CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK) {
			assert_int_equal(chronik_protocol_batch_decompress(
						 &plain, &pl, &b, 1 << 24), 0);
			chronik_protocol_record_iter_init_buf(&ri, &b.header,
							      plain, pl);
		} else {
			chronik_protocol_record_iter_init(&ri, &b);
		}
		while (chronik_protocol_record_next(&r, &ri) == 1) {
			uint32_t tag;
			char kb[16] = {0};
			int key;

			assert_true(r.offset > prev);
			prev = r.offset;
			memcpy(&tag, r.value, 4);
			memcpy(kb, r.key + 1, (size_t)r.key_len - 1);
			key = atoi(kb);
			/* Record i of the batch of seq `tag`. */
			int64_t i = r.offset - b.header.base_offset;

			assert_int_equal(key, (int)(tag % NKEYS) + (int)i);
			if (newest[key] == r.offset)
				assert_int_equal(tag,
						 (uint32_t)newest_seq[key]);
			maxoff[key] = r.offset;
		}
		chronik_protocol_free(plain);
	}
	for (int k = 0; k < NKEYS + 3; k++)
		if (newest[k] >= 0 && maxoff[k] < newest[k])
			fail_msg("key %d: newest acknowledged record at %lld "
				 "lost (newest present %lld)", k,
				 (long long)newest[k], (long long)maxoff[k]);
	free(all);
}

static void test_crash_compaction_cycles(void **state)
{
	char *dir = lt_tmpdir();
	int64_t newest[NKEYS + 3], newest_seq[NKEYS + 3];
	int64_t seq = 0, max_last = -1, min_hw = 0;
	size_t nacks = 0;
	int swaps_seen = 0;

	(void)state;
	for (int k = 0; k < NKEYS + 3; k++)
		newest[k] = newest_seq[k] = -1;
	srand((unsigned)getpid() * 5u);
	for (int cyc = 0; cyc < 24; cyc++) {
		chronik_storage_partition *p = NULL;
		chronik_storage *s;
		int pfd[2];
		pid_t pid;
		int64_t deadline;
		struct msg m;

		assert_int_equal(pipe(pfd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			compact_child(dir, pfd[1], seq);
		}
		close(pfd[1]);
		deadline = lt_now_ms() + 30 + rand() % 200;
		for (int killed = 0;;) {
			struct pollfd pp = {pfd[0], POLLIN, 0};
			int left = (int)(deadline - lt_now_ms());

			if (left <= 0 && !killed) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				killed = 1;
			}
			if (killed) {
				if (read(pfd[0], &m, sizeof m) != sizeof m)
					break;
			} else {
				if (poll(&pp, 1, left) <= 0)
					continue;
				if (read(pfd[0], &m, sizeof m) != sizeof m)
					continue;
			}
			assert_true(m.base > max_last);
			max_last = m.base + m.seq % 3;
			if (max_last + 1 > min_hw)
				min_hw = max_last + 1;
			for (int i = 0; i <= (int)(m.seq % 3); i++) {
				int k = (int)(m.seq % NKEYS) + i;

				newest[k] = m.base + i;
				newest_seq[k] = m.seq;
			}
			if (m.seq >= seq)
				seq = m.seq + 1;
			nacks++;
		}
		close(pfd[0]);
		seq += 1000;
		{
			DIR *d;
			struct dirent *de;
			char tdir[4200];

			snprintf(tdir, sizeof tdir, "%s/topics/compact-0",
				 dir);
			d = opendir(tdir);
			while (d && (de = readdir(d)))
				if (strstr(de->d_name, ".swap") ||
				    strstr(de->d_name, ".cleaned"))
					swaps_seen++;
			if (d)
				closedir(d);
		}
		s = open_compacting(dir, 3600 * 1000, &p);
		assert_non_null(s);
		verify_keyed(p, newest, newest_seq, min_hw);
		assert_int_equal(chronik_storage_close(s), 0);
	}
	print_message("# %zu acknowledged batches, %d leftover swap files "
		      "met over 24 kill -9 cycles\n", nacks, swaps_seen);
	assert_true(nacks > 100);
	lt_rmrf(dir);
	free(dir);
}

/* Kill at each step of a compaction swap (merging segments too): open
 * finishes or discards it and nothing is lost. */
static void test_crash_swap_steps(void **state)
{
	(void)state;
	for (int point = 1; point <= 7; point++) {
		char *dir = lt_tmpdir();
		int64_t newest[NKEYS + 3], newest_seq[NKEYS + 3];
		chronik_storage_partition *p = NULL;
		chronik_storage *s;
		int status = 0;
		pid_t pid;

		for (int k = 0; k < NKEYS + 3; k++)
			newest[k] = newest_seq[k] = -1;
		/* The same appends in parent bookkeeping and child. */
		{
			int64_t off = 0;

			for (int64_t seq = 0; seq < 600; seq++) {
				for (int i = 0; i <= (int)(seq % 3); i++) {
					int k = (int)(seq % NKEYS) + i;

					newest[k] = off + i;
					newest_seq[k] = seq;
				}
				off += 1 + seq % 3;
			}
		}
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			s = open_compacting(dir, 3600 * 1000, &p);
			if (!s)
				_exit(2);
			for (int64_t seq = 0; seq < 600; seq++) {
				size_t len;
				uint8_t *b = key_batch(&len, seq);

				if (chronik_storage_append(NULL, p, b, len, 0,
							   NULL, NULL) != 0)
					_exit(4);
				free(b);
				if (seq == 300) {
					/* A first pass leaves small
					 * segments to merge later. */
					chronik_storage_wait(p, 1, 5000);
					if (chronik_storage_flush(s) != 0 ||
					    chronik_storage_run_cleaner(s) !=
						    0)
						_exit(5);
				}
			}
			chronik_storage_offsets o;
			chronik_storage_partition_offsets(&o, p);
			if (chronik_storage_wait(p, o.log_end_offset, 5000) ||
			    chronik_storage_flush(s))
				_exit(6);
			slog_crash_point = point;
			chronik_storage_run_cleaner(s);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) != 77)
			fail_msg("crash point %d not reached (exit %d)", point,
				 WEXITSTATUS(status));
		s = open_compacting(dir, 3600 * 1000, &p);
		assert_non_null(s);
		verify_keyed(p, newest, newest_seq, 0);
		/* No leftovers; compaction runs again cleanly. */
		{
			char tdir[4200];
			DIR *d;
			struct dirent *de;

			snprintf(tdir, sizeof tdir, "%s/topics/compact-0",
				 dir);
			d = opendir(tdir);
			assert_non_null(d);
			while ((de = readdir(d)))
				assert_null(strstr(de->d_name, ".swap"));
			closedir(d);
		}
		assert_int_equal(chronik_storage_run_cleaner(s), 0);
		verify_keyed(p, newest, newest_seq, 0);
		assert_int_equal(chronik_storage_close(s), 0);
		s = open_compacting(dir, 3600 * 1000, &p);
		assert_non_null(s);
		verify_keyed(p, newest, newest_seq, 0);
		assert_int_equal(chronik_storage_close(s), 0);
		lt_rmrf(dir);
		free(dir);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_kill9_cycles),
		cmocka_unit_test(test_crash_truncate_cycles),
		cmocka_unit_test(test_crash_compaction_cycles),
		cmocka_unit_test(test_crash_swap_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

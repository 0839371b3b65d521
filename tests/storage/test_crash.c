/* SPDX-License-Identifier: Apache-2.0 */
/* Crash test: a child appends through the storage and reports every
 * acknowledged batch to the parent, which kill -9s it at random points;
 * after each restart every acknowledged batch must be readable at its
 * offset with its content, offsets must never be reused and the log and
 * its indexes must be consistent. */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>

#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_kill9_cycles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

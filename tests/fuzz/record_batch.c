/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a records blob as carried by Produce/Fetch. Splits it,
 * parses and validates each magic 2 batch, verifies its CRC, decompresses
 * (capped) and iterates the records and headers, then rebuilds the batch
 * with the builder and checks the records survive the round trip; legacy
 * messages are parsed and their compressed wrappers opened. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <chronik/protocol.h>

#define CAP ((size_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die_if(int cond)
{
	if (cond)
		abort();
}

/* Rebuild an iterated batch and compare the records. */
static void rebuild(const chronik_protocol_batch *b, const void *recs,
		    size_t len)
{
	chronik_protocol_batch_builder_options o;
	chronik_protocol_batch_builder *bb;
	chronik_protocol_record_iter it, it2;
	chronik_protocol_record r, r2;
	chronik_protocol_batch nb;
	const uint8_t *out;
	size_t out_len;
	int rc;

	chronik_protocol_batch_builder_options_init(
		&o, CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_VERSION);
	o.base_offset = b->header.base_offset;
	if (chronik_protocol_batch_builder_new(&bb, &o))
		return;
	chronik_protocol_record_iter_init_buf(&it, &b->header, recs, len);
	while ((rc = chronik_protocol_record_next(&r, &it)) == 1) {
		chronik_protocol_record_header hs[16];
		chronik_protocol_record_header h;
		size_t pos = 0, n = 0;
		while (chronik_protocol_record_header_next(&h, &r, &pos) == 1)
			if (n < 16)
				hs[n++] = h;
		if (r.headers_count > 16)
			goto out; /* keep the comparison simple */
		die_if(chronik_protocol_batch_builder_append(
			       bb, r.timestamp, r.key, r.key_len, r.value,
			       r.value_len, hs, n) != 0);
	}
	if (rc != 0 || chronik_protocol_batch_builder_finish(&out, &out_len,
							     bb) != 0)
		goto out;
	die_if(chronik_protocol_batch_parse(&nb, out, out_len) != 0);
	die_if(chronik_protocol_batch_verify_crc(&nb) != 0);
	chronik_protocol_record_iter_init_buf(&it, &b->header, recs, len);
	die_if(chronik_protocol_record_iter_init(&it2, &nb) != 0);
	while (chronik_protocol_record_next(&r, &it) == 1) {
		die_if(chronik_protocol_record_next(&r2, &it2) != 1);
		die_if(r.key_len != r2.key_len || r.value_len != r2.value_len);
		die_if(r.key_len > 0 && memcmp(r.key, r2.key, r.key_len));
		die_if(r.value_len > 0 &&
		       memcmp(r.value, r2.value, r.value_len));
		die_if(r.timestamp != r2.timestamp);
		die_if(r.headers_count != r2.headers_count);
	}
	die_if(chronik_protocol_record_next(&r2, &it2) != 0);
out:
	chronik_protocol_batch_builder_free(bb);
}

static void batch(const chronik_protocol_records_entry *e)
{
	chronik_protocol_batch b;
	chronik_protocol_batch_validate_options vo;
	void *plain = NULL;
	size_t plen = 0;
	const void *recs;
	int problem;

	chronik_protocol_batch_validate_options_init(
		&vo, CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_VERSION);
	vo.max_decompressed_size = CAP;
	(void)chronik_protocol_batch_validate(&problem, e->data, e->size, &vo);
	if (chronik_protocol_batch_parse(&b, e->data, e->size) != 0)
		return;
	(void)chronik_protocol_batch_verify_crc(&b);
	if (b.header.attributes & CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK) {
		if (chronik_protocol_batch_decompress(&plain, &plen, &b, CAP))
			return;
		die_if(plen > CAP);
		recs = plain;
	} else {
		recs = b.records;
		plen = b.records_size;
	}
	rebuild(&b, recs, plen);
	chronik_protocol_free(plain);
}

static void message(const chronik_protocol_records_entry *e, int depth)
{
	chronik_protocol_message m;
	chronik_protocol_records_iter it;
	chronik_protocol_records_entry ie;
	void *plain;
	size_t plen;

	if (chronik_protocol_message_parse(&m, e->data, e->size) != 0)
		return;
	if (!(m.attributes & CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK) ||
	    depth > 0)
		return;
	if (chronik_protocol_message_decompress(&plain, &plen, &m, CAP))
		return;
	die_if(plen > CAP);
	chronik_protocol_records_iter_init(&it, plain, plen);
	while (chronik_protocol_records_next(&ie, &it) == 1)
		if (ie.magic < 2)
			message(&ie, depth + 1);
	chronik_protocol_free(plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	chronik_protocol_records_iter it;
	chronik_protocol_records_entry e;

	chronik_protocol_records_iter_init(&it, data, size);
	while (chronik_protocol_records_next(&e, &it) == 1) {
		if (e.magic == 2)
			batch(&e);
		else
			message(&e, 0);
	}
	return 0;
}

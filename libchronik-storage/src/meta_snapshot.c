/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshot file encoding and verification (docs/formats.md, "Metadata
 * store"): header, entries each with its own CRC-32C, trailer with the
 * entry count and a CRC-32C of everything before it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "meta_internal.h"

int chronik_storage_meta__snap_encode(struct meta_buf *out,
				      const struct meta_kv *kv, uint64_t lsn)
{
	uint8_t hdr[META_SNAP_HDR], tr[META_SNAP_TRAILER];
	size_t total = META_SNAP_HDR + META_SNAP_TRAILER;
	int rc;

	for (size_t i = 0; i < kv->n; i++)
		total += META_SNAP_ENTRY_HDR + kv->v[i]->klen + kv->v[i]->vlen;
	out->len = 0;
	rc = chronik_storage_meta__buf_reserve(out, total);
	if (rc)
		return rc;
	memset(hdr, 0, sizeof hdr);
	memcpy(hdr, META_SNAP_MAGIC, 8);
	meta__put32(hdr + 8, META_SNAP_VERSION);
	meta__put32(hdr + 12, 0); /* flags */
	meta__put64(hdr + 16, lsn);
	meta__put64(hdr + 24, kv->n);
	meta__put32(hdr + 36, chronik_util_crc32c(0, hdr, 36));
	chronik_storage_meta__buf_add(out, hdr, sizeof hdr);
	for (size_t i = 0; i < kv->n; i++) {
		const struct meta_entry *e = kv->v[i];
		uint8_t eh[META_SNAP_ENTRY_HDR];
		uint32_t crc;

		meta__put32(eh, e->klen);
		meta__put32(eh + 4, e->vlen);
		crc = chronik_util_crc32c(0, eh, 8);
		crc = chronik_util_crc32c(crc, e->data,
					  (size_t)e->klen + e->vlen);
		meta__put32(eh + 8, crc);
		chronik_storage_meta__buf_add(out, eh, sizeof eh);
		chronik_storage_meta__buf_add(out, e->data,
					      (size_t)e->klen + e->vlen);
	}
	memcpy(tr, META_SNAP_END_MAGIC, 8);
	meta__put64(tr + 8, kv->n);
	meta__put32(tr + 16, chronik_util_crc32c(0, out->p, out->len));
	meta__put32(tr + 20, 0);
	chronik_storage_meta__buf_add(out, tr, sizeof tr);
	return 0;
}

int chronik_storage_meta__snap_decode(struct meta_kv *kv, uint64_t *lsn_out,
				      const uint8_t *p, size_t len,
				      char *why, size_t whylen, size_t *at)
{
	uint64_t count, lsn;
	size_t pos, body_end;
	int rc;

	*at = 0;
	if (len < META_SNAP_HDR + META_SNAP_TRAILER) {
		snprintf(why, whylen, "file too short (%zu bytes)", len);
		*at = len;
		return CHRONIK_ETRUNCATED;
	}
	if (memcmp(p, META_SNAP_MAGIC, 8)) {
		snprintf(why, whylen, "bad magic");
		return CHRONIK_ECORRUPT;
	}
	if (meta__get32(p + 36) != chronik_util_crc32c(0, p, 36)) {
		snprintf(why, whylen, "header checksum mismatch");
		return CHRONIK_ECRC;
	}
	if (meta__get32(p + 8) != META_SNAP_VERSION) {
		snprintf(why, whylen, "format version %" PRIu32
			 " not supported (this library reads %u)",
			 meta__get32(p + 8), META_SNAP_VERSION);
		*at = 8;
		return CHRONIK_EVERSION;
	}
	lsn = meta__get64(p + 16);
	count = meta__get64(p + 24);
	body_end = len - META_SNAP_TRAILER;
	pos = META_SNAP_HDR;
	for (uint64_t i = 0; i < count; i++) {
		uint32_t klen, vlen, crc;

		if (body_end - pos < META_SNAP_ENTRY_HDR) {
			snprintf(why, whylen,
				 "entry %" PRIu64 " of %" PRIu64
				 ": truncated header", i, count);
			*at = pos;
			return CHRONIK_ETRUNCATED;
		}
		klen = meta__get32(p + pos);
		vlen = meta__get32(p + pos + 4);
		if (klen == 0 ||
		    body_end - pos - META_SNAP_ENTRY_HDR <
			    (uint64_t)klen + vlen) {
			snprintf(why, whylen,
				 "entry %" PRIu64 ": bad or truncated "
				 "lengths (key %" PRIu32 ", value %" PRIu32
				 ")", i, klen, vlen);
			*at = pos;
			return CHRONIK_ETRUNCATED;
		}
		crc = chronik_util_crc32c(0, p + pos, 8);
		crc = chronik_util_crc32c(crc, p + pos + META_SNAP_ENTRY_HDR,
					  (size_t)klen + vlen);
		if (crc != meta__get32(p + pos + 8)) {
			snprintf(why, whylen,
				 "entry %" PRIu64 ": checksum mismatch", i);
			*at = pos;
			return CHRONIK_ECRC;
		}
		pos += META_SNAP_ENTRY_HDR;
		/* Entries are written in key order, so appending keeps the
		 * map sorted; the put is O(log n) + append. */
		rc = chronik_storage_meta__kv_put(kv, p + pos, klen,
						  p + pos + klen, vlen);
		if (rc) {
			snprintf(why, whylen, "out of memory");
			*at = pos;
			return rc;
		}
		pos += (size_t)klen + vlen;
	}
	if (pos != body_end) {
		snprintf(why, whylen, "%zu unexpected bytes after entry %"
			 PRIu64, body_end - pos, count);
		*at = pos;
		return CHRONIK_ECORRUPT;
	}
	if (memcmp(p + pos, META_SNAP_END_MAGIC, 8) ||
	    meta__get64(p + pos + 8) != count) {
		snprintf(why, whylen, "bad trailer");
		*at = pos;
		return CHRONIK_ECORRUPT;
	}
	if (meta__get32(p + pos + 16) != chronik_util_crc32c(0, p, pos)) {
		snprintf(why, whylen, "file checksum mismatch");
		*at = pos + 16;
		return CHRONIK_ECRC;
	}
	*lsn_out = lsn;
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Golden request frames captured from real Kafka clients
 * (tests/protocol/golden/, see its README.md). For every row of
 * MANIFEST.tsv: size and SHA-256 as listed, decode as a request frame
 * (header + body, no size prefix), header API key and version as listed,
 * every byte used except a declared `trailing=N` tail, re-encode byte for
 * byte; for Produce, every record batch parsed, its CRC-32C checked and
 * every record iterated (decompressed as needed).
 *
 * Usage: test_protocol_golden GOLDEN_DIR (meson passes the source dir). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <chronik/protocol.h>

/* Decompression cap for the record walk; the frames are tiny. */
#define MAX_DECOMPRESSED (64u << 20)
#define MAX_API_KEYS 128

/* One row of MANIFEST.tsv, plus what its test found. */
struct golden {
	char *file;
	char *client;
	char *client_version;
	int api_key;
	int api_version;
	long size;
	char *sha256;
	char *scenario;
	char *note;
	long trailing; /* N of a `trailing=N` note, else 0 */
	/* filled by the test */
	int passed;
	long batches;
	long records;
	unsigned codecs; /* bit per compression codec seen */
};

static const char *golden_dir;
static chronik_protocol_arena *arena;

/* ------------------------------------------------------------ SHA-256 */

/* FIPS 180-4; small and slow, enough for 22 KB of vectors. */
static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b,
	0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
	0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
	0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152,
	0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
	0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
	0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
	0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], s[8];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^
			      (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^
			      (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(s, h, sizeof s);
	for (int i = 0; i < 64; i++) {
		uint32_t e = s[4], a = s[0];
		uint32_t t1 = s[7] + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
			      ((e & s[5]) ^ (~e & s[6])) + sha_k[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) +
			      ((a & s[1]) ^ (a & s[2]) ^ (s[1] & s[2]));
		memmove(s + 1, s, 7 * sizeof s[0]);
		s[4] += t1;
		s[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		h[i] += s[i];
}

/* Lower-case hex digest of buf into hex[65]. */
static void sha256_hex(char hex[65], const uint8_t *buf, size_t len)
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	uint8_t tail[128] = { 0 };
	size_t full = len / 64 * 64, rest = len - full;
	for (size_t i = 0; i < full; i += 64)
		sha256_block(h, buf + i);
	memcpy(tail, buf + full, rest);
	tail[rest] = 0x80;
	size_t tlen = rest < 56 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
	for (size_t i = 0; i < tlen; i += 64)
		sha256_block(h, tail + i);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 8 * i, 9, "%08x", (unsigned)h[i]);
}

/* ------------------------------------------------------------ helpers */

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* Read a whole file into an exact-size heap buffer (so ASan sees any
 * over-read). Returns NULL on failure. */
static uint8_t *read_file(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	*len = -1;
	if (!f)
		return NULL;
	uint8_t *buf = NULL;
	long n = -1;
	if (fseek(f, 0, SEEK_END) == 0)
		n = ftell(f);
	if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc(n > 0 ? (size_t)n : 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

/* ------------------------------------------------------ Produce records */

/* Walk one records blob of a Produce partition: every entry is a magic 2
 * batch whose CRC-32C verifies, whose records all decode (after
 * decompression) and number recordsCount, and which passes the broker's
 * validation. */
static void walk_records(struct golden *g, const char *where,
			 const chronik_protocol_bytes *blob)
{
	chronik_protocol_records_iter it;
	chronik_protocol_records_entry ent;
	int rc;
	if (blob->len < 0)
		fail_msg("%s: %s: null records", g->file, where);
	chronik_protocol_records_iter_init(&it, blob->ptr, (size_t)blob->len);
	while ((rc = chronik_protocol_records_next(&ent, &it)) == 1) {
		chronik_protocol_batch b;
		if (ent.magic != 2)
			fail_msg("%s: %s: entry with magic %d (expected 2)",
				 g->file, where, ent.magic);
		rc = chronik_protocol_batch_parse(&b, ent.data, ent.size);
		if (rc)
			fail_msg("%s: %s: batch parse: %s", g->file, where,
				 chronik_strerror(rc));
		assert_int_equal(b.size, ent.size);
		rc = chronik_protocol_batch_verify_crc(&b);
		if (rc)
			fail_msg("%s: %s: batch CRC-32C %08x: %s", g->file,
				 where, (unsigned)b.header.crc,
				 chronik_strerror(rc));

		int codec = b.header.attributes &
			    CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK;
		void *plain = NULL;
		size_t plain_len = 0;
		chronik_protocol_record_iter ri;
		if (codec == CHRONIK_PROTOCOL_COMPRESSION_NONE) {
			rc = chronik_protocol_record_iter_init(&ri, &b);
		} else {
			rc = chronik_protocol_batch_decompress(&plain,
				&plain_len, &b, MAX_DECOMPRESSED);
			if (rc)
				fail_msg("%s: %s: decompress (codec %d): %s",
					 g->file, where, codec,
					 chronik_strerror(rc));
			rc = chronik_protocol_record_iter_init_buf(&ri,
				&b.header, plain, plain_len);
		}
		assert_int_equal(rc, 0);

		chronik_protocol_record r;
		int32_t n = 0;
		while ((rc = chronik_protocol_record_next(&r, &ri)) == 1) {
			chronik_protocol_record_header h;
			size_t pos = 0;
			int32_t nh = 0;
			if (r.offset_delta != n)
				fail_msg("%s: %s: record %d has offset delta "
					 "%d", g->file, where, n,
					 r.offset_delta);
			while ((rc = chronik_protocol_record_header_next(&h,
					&r, &pos)) == 1)
				nh++;
			if (rc != 0 || nh != r.headers_count)
				fail_msg("%s: %s: record %d: %d of %d headers "
					 "(%s)", g->file, where, n, nh,
					 r.headers_count,
					 chronik_strerror(rc));
			n++;
		}
		chronik_protocol_free(plain);
		if (rc != 0)
			fail_msg("%s: %s: record %d: %s", g->file, where, n,
				 chronik_strerror(rc));
		if (n != b.header.records_count ||
		    n != b.header.last_offset_delta + 1)
			fail_msg("%s: %s: %d records, header says %d "
				 "(lastOffsetDelta %d)", g->file, where, n,
				 b.header.records_count,
				 b.header.last_offset_delta);

		/* What a broker checks before appending (CRC, codec, count,
		 * producer fields, every record); no timestamp check. */
		int problem = 0;
		rc = chronik_protocol_batch_validate(&problem, ent.data,
						     ent.size, NULL);
		if (rc)
			fail_msg("%s: %s: batch validate: %s (%s)", g->file,
				 where,
				 chronik_protocol_batch_problem_name(problem),
				 chronik_strerror(rc));
		g->batches++;
		g->records += n;
		g->codecs |= 1u << codec;
	}
	if (rc != 0)
		fail_msg("%s: %s: records blob: %s", g->file, where,
			 chronik_strerror(rc));
	if (chronik_protocol_records_partial(&it) != 0)
		fail_msg("%s: %s: %zu bytes of a partial batch at the end",
			 g->file, where, chronik_protocol_records_partial(&it));
}

static void walk_produce(struct golden *g,
			 const chronik_protocol_produce_request *req)
{
	char where[96];
	long before = g->batches;
	for (int32_t t = 0; t < req->topic_data_count; t++) {
		const chronik_protocol_produce_request_topic_produce_data *td =
			&req->topic_data[t];
		for (int32_t p = 0; p < td->partition_data_count; p++) {
			const struct
			chronik_protocol_produce_request_partition_produce_data
				*pd = &td->partition_data[p];
			snprintf(where, sizeof where, "%.*s[%d]",
				 (int)(td->name.len < 64 ? td->name.len : 64),
				 td->name.ptr ? td->name.ptr : "",
				 (int)pd->index);
			walk_records(g, where, &pd->records);
		}
	}
	if (g->batches == before)
		fail_msg("%s: Produce request without any batch", g->file);
}

/* ---------------------------------------------------------- the test */

/* Index of the first differing byte of a and b (n bytes each). */
static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i = 0;
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

static void test_golden_frame(void **state)
{
	struct golden *g = *state;
	chronik_protocol_errinfo err;
	chronik_protocol_request_header hdr;
	void *body = NULL;
	char hex[65];
	long len = -1;
	int rc;

	char *path = path_join(golden_dir, g->file);
	assert_non_null(path);
	uint8_t *frame = read_file(path, &len);
	free(path);
	if (!frame)
		fail_msg("%s: cannot read the file", g->file);
	if (len != g->size)
		fail_msg("%s: %ld bytes, manifest says %ld", g->file, len,
			 g->size);
	sha256_hex(hex, frame, (size_t)len);
	if (strcmp(hex, g->sha256) != 0)
		fail_msg("%s: sha256 %s, manifest says %s", g->file, hex,
			 g->sha256);
	if (g->trailing < 0 || g->trailing >= len)
		fail_msg("%s: bad note \"%s\"", g->file, g->note);

	/* The part a Kafka broker parses; copied to an exact-size buffer
	 * so ASan catches a read into the trailing bytes. */
	size_t used = (size_t)(len - g->trailing);
	uint8_t *msg = malloc(used);
	assert_non_null(msg);
	memcpy(msg, frame, used);

	chronik_protocol_arena_reset(arena);
	if (g->trailing > 0) {
		/* The whole frame is rejected, exactly at the first byte of
		 * the declared tail: the body before it is complete. */
		rc = chronik_protocol_request_frame_decode(&hdr, &body, arena,
			0, frame, (size_t)len, &err);
		if (rc == 0)
			fail_msg("%s: the whole frame decodes, yet the note "
				 "declares %ld trailing bytes", g->file,
				 g->trailing);
		if (rc != CHRONIK_EMALFORMED || err.offset != used)
			fail_msg("%s: whole frame: expected trailing bytes at "
				 "offset %zu, got: %s", g->file, used,
				 err.message);
		chronik_protocol_arena_reset(arena);
	}

	rc = chronik_protocol_request_frame_decode(&hdr, &body, arena, 0,
						   msg, used, &err);
	if (rc)
		fail_msg("%s: decode: %s (%s)", g->file, err.message,
			 chronik_strerror(rc));
	if (hdr.request_api_key != g->api_key ||
	    hdr.request_api_version != g->api_version)
		fail_msg("%s: header says API %d v%d, manifest %d v%d",
			 g->file, hdr.request_api_key, hdr.request_api_version,
			 g->api_key, g->api_version);

	/* The header alone: decoded length and its own re-encoding. */
	chronik_protocol_request_header h2;
	size_t hlen, hn;
	rc = chronik_protocol_request_header_decode(&h2, &hlen, arena, msg,
						    used, &err);
	if (rc)
		fail_msg("%s: header decode: %s", g->file, err.message);
	uint8_t *out = malloc(used + 4);
	assert_non_null(out);
	rc = chronik_protocol_request_header_encode(&hn, out, used, &hdr,
						    &err);
	if (rc)
		fail_msg("%s: header encode: %s", g->file, err.message);
	if (hn != hlen || memcmp(out, msg, hn) != 0)
		fail_msg("%s: header re-encodes to %zu bytes (was %zu), first "
			 "difference at byte %zu", g->file, hn, hlen,
			 first_diff(out, msg, hn < hlen ? hn : hlen));

	/* The whole frame, byte for byte. */
	size_t n = 0;
	rc = chronik_protocol_request_frame_encode(&n, NULL, 0, 0, &hdr,
						   body, &err);
	if (rc)
		fail_msg("%s: encode (size): %s", g->file, err.message);
	if (n != used)
		fail_msg("%s: re-encodes to %zu bytes, decoded %zu", g->file,
			 n, used);
	rc = chronik_protocol_request_frame_encode(&n, out, used, 0, &hdr,
						   body, &err);
	if (rc)
		fail_msg("%s: encode: %s", g->file, err.message);
	if (memcmp(out, msg, used) != 0) {
		size_t d = first_diff(out, msg, used);
		fail_msg("%s: re-encoding differs at byte %zu (0x%02x, was "
			 "0x%02x; body starts at %zu)", g->file, d, out[d],
			 msg[d], hlen);
	}
	/* With the size prefix too. */
	rc = chronik_protocol_request_frame_encode(&n, out, used + 4,
		CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, &hdr, body, &err);
	if (rc)
		fail_msg("%s: encode with prefix: %s", g->file, err.message);
	size_t fsize = 0;
	assert_int_equal(n, used + 4);
	assert_int_equal(chronik_protocol_frame_size(&fsize, out, n,
						     INT32_MAX), 0);
	assert_int_equal(fsize, used);
	assert_memory_equal(out + 4, msg, used);

	if (g->trailing > 0 && g->api_key == CHRONIK_PROTOCOL_API_METADATA) {
		/* librdkafka 5049: the 4-byte placeholder starts with 0,
		 * which Kafka reads as a null Topics array. */
		const chronik_protocol_metadata_request *m = body;
		assert_int_equal(m->topics_count, -1);
	}
	if (g->api_key == CHRONIK_PROTOCOL_API_PRODUCE)
		walk_produce(g, body);

	g->passed = 1;
	free(out);
	free(msg);
	free(frame);
}

/* ----------------------------------------------------------- manifest */

static const char *const columns[] = {
	"file", "client", "client_version", "api_key", "api_version",
	"size", "sha256", "scenario", "note"
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

/* Split line (modified in place) at tabs into at most max fields. */
static size_t split_tabs(char *line, char **f, size_t max)
{
	size_t n = 0;
	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		f[n++] = line;
		char *tab = strchr(line, '\t');
		if (!tab)
			break;
		*tab = '\0';
		line = tab + 1;
	}
	return n;
}

static int parse_long(const char *s, long *out)
{
	char *end;
	if (!*s)
		return -1;
	*out = strtol(s, &end, 10);
	return *end ? -1 : 0;
}

/* Load MANIFEST.tsv; returns the row count or -1 with a message. */
static long load_manifest(const char *dir, struct golden **rows)
{
	char *path = path_join(dir, "MANIFEST.tsv");
	FILE *f = path ? fopen(path, "r") : NULL;
	char line[4096];
	char *fld[NCOLUMNS + 1];
	long n = 0, cap = 0;
	*rows = NULL;
	if (!f) {
		fprintf(stderr, "# cannot open %s\n", path ? path : dir);
		free(path);
		return -1;
	}
	free(path);
	if (!fgets(line, sizeof line, f) ||
	    split_tabs(line, fld, NCOLUMNS + 1) != NCOLUMNS)
		goto bad;
	for (size_t i = 0; i < NCOLUMNS; i++)
		if (strcmp(fld[i], columns[i]) != 0)
			goto bad;
	while (fgets(line, sizeof line, f)) {
		struct golden g;
		long key, ver;
		memset(&g, 0, sizeof g);
		if (line[0] == '\n')
			continue;
		if (split_tabs(line, fld, NCOLUMNS + 1) != NCOLUMNS ||
		    parse_long(fld[3], &key) || parse_long(fld[4], &ver) ||
		    parse_long(fld[5], &g.size) || strlen(fld[6]) != 64)
			goto bad;
		g.api_key = (int)key;
		g.api_version = (int)ver;
		g.file = strdup(fld[0]);
		g.client = strdup(fld[1]);
		g.client_version = strdup(fld[2]);
		g.sha256 = strdup(fld[6]);
		g.scenario = strdup(fld[7]);
		g.note = strdup(fld[8]);
		if (strncmp(g.note, "trailing=", 9) == 0)
			g.trailing = strtol(g.note + 9, NULL, 10);
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			struct golden *r = realloc(*rows, (size_t)cap *
						   sizeof *r);
			if (!r)
				goto bad;
			*rows = r;
		}
		(*rows)[n++] = g;
	}
	fclose(f);
	return n;
bad:
	fprintf(stderr, "# MANIFEST.tsv: bad line %ld: %s\n", n + 2, line);
	fclose(f);
	return -1;
}

/* Every *.bin file in the client folders (the subfolders of the golden
 * folder) must be listed in the manifest. */
static void check_folder(const struct golden *rows, long nrows,
			 const char *sub)
{
	char *dir = path_join(golden_dir, sub);
	assert_non_null(dir);
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open %s", dir);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 4 || strcmp(e->d_name + l - 4, ".bin") != 0)
			continue;
		char *rel = path_join(sub, e->d_name);
		assert_non_null(rel);
		long j = 0;
		while (j < nrows && strcmp(rows[j].file, rel) != 0)
			j++;
		if (j == nrows)
			fail_msg("%s is not in MANIFEST.tsv", rel);
		free(rel);
	}
	closedir(d);
	free(dir);
}

static void test_manifest_complete(void **state)
{
	const struct golden *rows = *state;
	long nrows = 0, folders = 0;
	while (rows[nrows].file)
		nrows++;
	assert_true(nrows > 0);
	DIR *d = opendir(golden_dir);
	if (!d)
		fail_msg("cannot open %s", golden_dir);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		char *sub = path_join(golden_dir, e->d_name);
		assert_non_null(sub);
		int isdir = stat(sub, &st) == 0 && S_ISDIR(st.st_mode);
		free(sub);
		if (!isdir)
			continue;
		check_folder(rows, nrows, e->d_name);
		folders++;
	}
	closedir(d);
	assert_true(folders > 0);
}

/* Per-client summary as TAP comments. */
static void print_summary(const struct golden *rows, long nrows)
{
	static const char *const codec_names[] = {
		"none", "gzip", "snappy", "lz4", "zstd", "?", "?", "?"
	};
	long tfiles = 0, tpassed = 0;
	for (long i = 0; i < nrows; i++) {
		int seen = 0;
		for (long j = 0; j < i && !seen; j++)
			seen = strcmp(rows[j].client, rows[i].client) == 0;
		if (seen)
			continue;
		long files = 0, passed = 0, bytes = 0, batches = 0;
		long records = 0, apis = 0, versions = 0;
		unsigned codecs = 0;
		unsigned char key_seen[MAX_API_KEYS] = { 0 };
		for (long j = i; j < nrows; j++) {
			const struct golden *g = &rows[j];
			if (strcmp(g->client, rows[i].client) != 0)
				continue;
			files++;
			passed += g->passed;
			bytes += g->size;
			batches += g->batches;
			records += g->records;
			codecs |= g->codecs;
			if (g->api_key >= 0 && g->api_key < MAX_API_KEYS &&
			    !key_seen[g->api_key]) {
				key_seen[g->api_key] = 1;
				apis++;
			}
			int first = 1;
			for (long k = i; k < j && first; k++)
				first = strcmp(rows[k].client, g->client) ||
					rows[k].api_key != g->api_key ||
					rows[k].api_version != g->api_version;
			versions += first;
		}
		char cs[64] = "";
		for (int c = 0; c < 8; c++)
			if (codecs & (1u << c)) {
				strcat(cs, cs[0] ? "," : " ");
				strcat(cs, codec_names[c]);
			}
		printf("# %s (%s): %ld/%ld frames ok, %ld bytes, %ld APIs, "
		       "%ld API versions, %ld batches, %ld records%s\n",
		       rows[i].client, rows[i].client_version, passed, files,
		       bytes, apis, versions, batches, records, cs);
		tfiles += files;
		tpassed += passed;
	}
	printf("# total: %ld/%ld golden frames decoded and re-encoded byte "
	       "for byte\n", tpassed, tfiles);
}

int main(int argc, char **argv)
{
	struct golden *rows;
	if (argc != 2) {
		fprintf(stderr, "usage: %s GOLDEN_DIR\n", argv[0]);
		return 2;
	}
	golden_dir = argv[1];
	long n = load_manifest(golden_dir, &rows);
	if (n <= 0)
		return 1;
	struct golden *r = realloc(rows, (size_t)(n + 1) * sizeof *r);
	struct CMUnitTest *tests = calloc((size_t)n + 1, sizeof *tests);
	if (!r || !tests || chronik_protocol_arena_new(&arena, 0) != 0)
		return 1;
	rows = r;
	memset(&rows[n], 0, sizeof rows[n]); /* terminator */
	tests[0].name = "manifest lists every .bin file";
	tests[0].test_func = test_manifest_complete;
	tests[0].initial_state = rows;
	for (long i = 0; i < n; i++) {
		tests[i + 1].name = rows[i].file;
		tests[i + 1].test_func = test_golden_frame;
		tests[i + 1].initial_state = &rows[i];
	}
	int failed = _cmocka_run_group_tests("golden", tests, (size_t)n + 1,
					     NULL, NULL);
	print_summary(rows, n);
	chronik_protocol_arena_free(arena);
	for (long i = 0; i < n; i++) {
		free(rows[i].file);
		free(rows[i].client);
		free(rows[i].client_version);
		free(rows[i].sha256);
		free(rows[i].scenario);
		free(rows[i].note);
	}
	free(rows);
	free(tests);
	return failed;
}

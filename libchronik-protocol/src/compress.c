/* SPDX-License-Identifier: Apache-2.0 */
/* Compression codecs for record batches and message sets: gzip (zlib),
 * snappy (raw and xerial framing), lz4 (frame format) and zstd. Every
 * decoder writes into a buffer that never grows past the caller's cap
 * (plus one byte, to tell "exactly the cap" from "more"). */
#include <chronik/protocol.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "records_internal.h"

/* ------------------------------------------------------------- XXH32 */

#define XXH_P1 2654435761u
#define XXH_P2 2246822519u
#define XXH_P3 3266489917u
#define XXH_P4 668265263u
#define XXH_P5 374761393u

static inline uint32_t rotl32(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint32_t xxh_round(uint32_t acc, uint32_t lane)
{
	return rotl32(acc + lane * XXH_P2, 13) * XXH_P1;
}

uint32_t chronik_protocol__xxh32(const void *data, size_t len, uint32_t seed)
{
	const uint8_t *p = data;
	const uint8_t *end = p + len;
	uint32_t h;

	if (len >= 16) {
		uint32_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2;
		uint32_t v3 = seed, v4 = seed - XXH_P1;
		do {
			v1 = xxh_round(v1, le32(p));
			v2 = xxh_round(v2, le32(p + 4));
			v3 = xxh_round(v3, le32(p + 8));
			v4 = xxh_round(v4, le32(p + 12));
			p += 16;
		} while ((size_t)(end - p) >= 16);
		h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) +
		    rotl32(v4, 18);
	} else {
		h = seed + XXH_P5;
	}
	h += (uint32_t)len;
	while ((size_t)(end - p) >= 4) {
		h = rotl32(h + le32(p) * XXH_P3, 17) * XXH_P4;
		p += 4;
	}
	while (p < end)
		h = rotl32(h + *p++ * XXH_P5, 11) * XXH_P1;
	h ^= h >> 15;
	h *= XXH_P2;
	h ^= h >> 13;
	h *= XXH_P3;
	h ^= h >> 16;
	return h;
}

/* ----------------------------------------------------- output buffer */

struct obuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t limit; /* max_out + 1, saturating */
};

static int obuf_init(struct obuf *o, size_t hint, size_t max_out)
{
	o->limit = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1;
	o->len = 0;
	o->cap = hint < 4096 ? 4096 : hint;
	if (o->cap > o->limit)
		o->cap = o->limit;
	o->p = malloc(o->cap);
	return o->p ? 0 : CHRONIK_ENOMEM;
}

/* Make room for more output; ETOOBIG once the cap is reached. */
static int obuf_grow(struct obuf *o)
{
	size_t ncap;
	uint8_t *np;

	if (o->cap >= o->limit)
		return CHRONIK_ETOOBIG;
	ncap = o->cap > o->limit / 2 ? o->limit : o->cap * 2;
	np = realloc(o->p, ncap);
	if (!np)
		return CHRONIK_ENOMEM;
	o->p = np;
	o->cap = ncap;
	return 0;
}

static int obuf_finish(struct obuf *o, void **out, size_t *out_len,
		       int rc)
{
	if (rc == 0 && o->len > o->limit - 1)
		rc = CHRONIK_ETOOBIG;
	if (rc != 0) {
		free(o->p);
		return rc;
	}
	if (o->len == 0) {
		/* Keep a valid pointer for empty output. */
		*out = o->p;
	} else {
		void *np = realloc(o->p, o->len);
		*out = np ? np : o->p;
	}
	*out_len = o->len;
	return 0;
}

static size_t initial_hint(size_t in_len)
{
	return in_len > SIZE_MAX / 4 ? SIZE_MAX : in_len * 4;
}

/* --------------------------------------------------------------- gzip */

static int gzip_compress(void **out, size_t *out_len, int level,
			 const uint8_t *in, size_t in_len)
{
	z_stream zs;
	uint8_t *buf;
	size_t bound;
	int zrc;

	memset(&zs, 0, sizeof zs);
	if (level == 0)
		level = Z_DEFAULT_COMPRESSION;
	else if (level < 1 || level > 9)
		level = Z_DEFAULT_COMPRESSION;
	/* windowBits 15 + 16 selects the gzip wrapper. */
	if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return CHRONIK_ECODEC;
	bound = deflateBound(&zs, (uLong)in_len);
	buf = malloc(bound);
	if (!buf) {
		deflateEnd(&zs);
		return CHRONIK_ENOMEM;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)in_len;
	zs.next_out = buf;
	zs.avail_out = (uInt)bound;
	zrc = deflate(&zs, Z_FINISH);
	deflateEnd(&zs);
	if (zrc != Z_STREAM_END) {
		free(buf);
		return CHRONIK_ECODEC;
	}
	*out = buf;
	*out_len = bound - zs.avail_out;
	return 0;
}

static int gzip_decompress(void **out, size_t *out_len, const uint8_t *in,
			   size_t in_len, size_t max_out)
{
	struct obuf o;
	z_stream zs;
	size_t in_left = in_len;
	int rc, zrc = Z_OK;

	rc = obuf_init(&o, initial_hint(in_len), max_out);
	if (rc)
		return rc;
	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 15 + 16) != Z_OK) {
		free(o.p);
		return CHRONIK_ECODEC;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	for (;;) {
		if (o.len == o.cap && (rc = obuf_grow(&o)) != 0)
			break;
		if (zs.avail_in == 0) {
			size_t n = in_left > UINT_MAX ? UINT_MAX : in_left;
			zs.avail_in = (uInt)n;
			in_left -= n;
		}
		size_t room = o.cap - o.len;
		if (room > UINT_MAX)
			room = UINT_MAX;
		zs.next_out = o.p + o.len;
		zs.avail_out = (uInt)room;
		zrc = inflate(&zs, Z_NO_FLUSH);
		o.len += room - zs.avail_out;
		if (zrc == Z_STREAM_END) {
			/* Concatenated gzip members, as GZIPInputStream
			 * accepts. */
			if (zs.avail_in == 0 && in_left == 0)
				break;
			if (inflateReset(&zs) != Z_OK) {
				rc = CHRONIK_ECODEC;
				break;
			}
			continue;
		}
		if (zrc == Z_BUF_ERROR) {
			if (zs.avail_in == 0 && in_left == 0) {
				rc = CHRONIK_ETRUNCATED;
				break;
			}
			continue; /* output full: grow */
		}
		if (zrc == Z_MEM_ERROR) {
			rc = CHRONIK_ENOMEM;
			break;
		}
		if (zrc != Z_OK) {
			rc = CHRONIK_ECODEC;
			break;
		}
		if (zs.avail_in == 0 && in_left == 0 && zs.avail_out != 0) {
			/* All input consumed, output not full, not at the
			 * end of the stream: the input is cut short. */
			rc = CHRONIK_ETRUNCATED;
			break;
		}
	}
	inflateEnd(&zs);
	return obuf_finish(&o, out, out_len, rc);
}

/* ------------------------------------------------------------- snappy */

/* xerial snappy-java framing: magic, version 1, compatible version 1, then
 * big-endian length-prefixed raw snappy blocks. */
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER_SIZE 16
#define XERIAL_BLOCK_SIZE (32 * 1024) /* snappy-java's default */

static int snappy_compress_xerial(void **out, size_t *out_len,
				  const uint8_t *in, size_t in_len)
{
	size_t blocks = in_len / XERIAL_BLOCK_SIZE + 1;
	size_t bound = XERIAL_HEADER_SIZE +
		       blocks * (4 + snappy_max_compressed_length(
					     XERIAL_BLOCK_SIZE));
	uint8_t *buf = malloc(bound);
	size_t pos = XERIAL_HEADER_SIZE;

	if (!buf)
		return CHRONIK_ENOMEM;
	memcpy(buf, xerial_magic, sizeof xerial_magic);
	chronik_protocol__put32(buf + 8, 1);
	chronik_protocol__put32(buf + 12, 1);
	for (size_t off = 0; off < in_len; off += XERIAL_BLOCK_SIZE) {
		size_t n = in_len - off < XERIAL_BLOCK_SIZE
				   ? in_len - off
				   : XERIAL_BLOCK_SIZE;
		size_t clen = bound - pos - 4;
		if (snappy_compress((const char *)in + off, n,
				    (char *)buf + pos + 4,
				    &clen) != SNAPPY_OK) {
			free(buf);
			return CHRONIK_ECODEC;
		}
		chronik_protocol__put32(buf + pos, (uint32_t)clen);
		pos += 4 + clen;
	}
	*out = buf;
	*out_len = pos;
	return 0;
}

static int snappy_decompress_raw(void **out, size_t *out_len,
				 const uint8_t *in, size_t in_len,
				 size_t max_out)
{
	size_t n;
	uint8_t *buf;

	if (snappy_uncompressed_length((const char *)in, in_len, &n) !=
	    SNAPPY_OK)
		return CHRONIK_ECODEC;
	if (n > max_out)
		return CHRONIK_ETOOBIG;
	buf = malloc(n ? n : 1);
	if (!buf)
		return CHRONIK_ENOMEM;
	if (snappy_uncompress((const char *)in, in_len, (char *)buf, &n) !=
	    SNAPPY_OK) {
		free(buf);
		return CHRONIK_ECODEC;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

static int snappy_decompress_xerial(void **out, size_t *out_len,
				    const uint8_t *in, size_t in_len,
				    size_t max_out)
{
	size_t total = 0, pos, n;
	uint8_t *buf;

	/* Pass 1: check framing and sum the block sizes against the cap
	 * before allocating anything. */
	for (pos = XERIAL_HEADER_SIZE; pos < in_len;) {
		if (in_len - pos < 4)
			return CHRONIK_ETRUNCATED;
		uint32_t clen = chronik_protocol__be32(in + pos);
		pos += 4;
		if (clen > in_len - pos)
			return CHRONIK_ETRUNCATED;
		if (snappy_uncompressed_length((const char *)in + pos, clen,
					       &n) != SNAPPY_OK)
			return CHRONIK_ECODEC;
		if (n > max_out - total)
			return CHRONIK_ETOOBIG;
		total += n;
		pos += clen;
	}
	buf = malloc(total ? total : 1);
	if (!buf)
		return CHRONIK_ENOMEM;
	total = 0;
	for (pos = XERIAL_HEADER_SIZE; pos < in_len;) {
		uint32_t clen = chronik_protocol__be32(in + pos);
		pos += 4;
		snappy_uncompressed_length((const char *)in + pos, clen, &n);
		if (snappy_uncompress((const char *)in + pos, clen,
				      (char *)buf + total, &n) != SNAPPY_OK) {
			free(buf);
			return CHRONIK_ECODEC;
		}
		total += n;
		pos += clen;
	}
	*out = buf;
	*out_len = total;
	return 0;
}

/* ---------------------------------------------------------------- lz4 */

/* Frame layout: magic (4), FLG, BD, [content size (8)], HC. */
#define LZ4_FRAME_MAGIC 0x184D2204u

static size_t lz4_header_len(const uint8_t *in, size_t in_len)
{
	if (in_len < 7 || le32(in) != LZ4_FRAME_MAGIC)
		return 0;
	size_t hl = (in[4] & 0x08) ? 15 : 7;
	if (in[4] & 0x01) /* dictionary id */
		hl += 4;
	return in_len >= hl ? hl : 0;
}

static int lz4_compress(void **out, size_t *out_len, int level,
			unsigned flags, const uint8_t *in, size_t in_len)
{
	LZ4F_preferences_t prefs;
	size_t bound, n;
	uint8_t *buf;

	/* What Kafka's KafkaLZ4BlockOutputStream writes: 64 KiB independent
	 * blocks, no block or content checksum, no content size. */
	memset(&prefs, 0, sizeof prefs);
	prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	prefs.frameInfo.blockMode = LZ4F_blockIndependent;
	prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
	prefs.compressionLevel = level;
	bound = LZ4F_compressFrameBound(in_len, &prefs);
	buf = malloc(bound);
	if (!buf)
		return CHRONIK_ENOMEM;
	n = LZ4F_compressFrame(buf, bound, in, in_len, &prefs);
	if (LZ4F_isError(n) || n < 7) {
		free(buf);
		return CHRONIK_ECODEC;
	}
	if (flags & CHRONIK_PROTOCOL_COMPRESS_LZ4_LEGACY_HC) {
		/* Kafka < 0.10 hashed the magic number too. */
		buf[6] = (uint8_t)(chronik_protocol__xxh32(buf, 6, 0) >> 8);
	}
	*out = buf;
	*out_len = n;
	return 0;
}

static int lz4_decompress(void **out, size_t *out_len, unsigned flags,
			  const uint8_t *in, size_t in_len, size_t max_out)
{
	LZ4F_dctx *dctx;
	struct obuf o;
	uint8_t hdr[19];
	size_t hl, pos = 0, hint = 1;
	int rc;

	hl = lz4_header_len(in, in_len);
	if (hl == 0)
		return in_len < 7 ? CHRONIK_ETRUNCATED : CHRONIK_EMALFORMED;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx,
							  LZ4F_VERSION)))
		return CHRONIK_ENOMEM;
	rc = obuf_init(&o, initial_hint(in_len), max_out);
	if (rc) {
		LZ4F_freeDecompressionContext(dctx);
		return rc;
	}
	if (flags & CHRONIK_PROTOCOL_DECOMPRESS_LZ4_LEGACY_HC) {
		/* Ignore the stored descriptor checksum, as Kafka does for
		 * magic 0: feed liblz4 a header with the correct one. */
		memcpy(hdr, in, hl);
		hdr[hl - 1] = (uint8_t)(chronik_protocol__xxh32(
						hdr + 4, hl - 5, 0) >> 8);
		size_t src = hl, dst = o.cap;
		hint = LZ4F_decompress(dctx, o.p, &dst, hdr, &src, NULL);
		if (LZ4F_isError(hint) || src != hl) {
			rc = CHRONIK_ECODEC;
			goto done;
		}
		o.len = dst;
		pos = hl;
	}
	while (hint != 0) {
		if (o.len == o.cap && (rc = obuf_grow(&o)) != 0)
			break;
		size_t src = in_len - pos, dst = o.cap - o.len;
		if (src == 0) {
			rc = CHRONIK_ETRUNCATED;
			break;
		}
		hint = LZ4F_decompress(dctx, o.p + o.len, &dst, in + pos, &src,
				       NULL);
		if (LZ4F_isError(hint)) {
			rc = CHRONIK_ECODEC;
			break;
		}
		pos += src;
		o.len += dst;
		if (src == 0 && dst == 0 && o.len < o.cap) {
			rc = CHRONIK_ECODEC; /* no progress */
			break;
		}
	}
	if (rc == 0 && pos != in_len)
		rc = CHRONIK_EMALFORMED; /* bytes after the frame */
done:
	LZ4F_freeDecompressionContext(dctx);
	return obuf_finish(&o, out, out_len, rc);
}

/* --------------------------------------------------------------- zstd */

static int zstd_compress(void **out, size_t *out_len, int level,
			 const uint8_t *in, size_t in_len)
{
	size_t bound = ZSTD_compressBound(in_len), n;
	uint8_t *buf = malloc(bound);

	if (!buf)
		return CHRONIK_ENOMEM;
	n = ZSTD_compress(buf, bound, in, in_len,
			  level ? level : ZSTD_CLEVEL_DEFAULT);
	if (ZSTD_isError(n)) {
		free(buf);
		return CHRONIK_ECODEC;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

static int zstd_decompress(void **out, size_t *out_len, const uint8_t *in,
			   size_t in_len, size_t max_out)
{
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	ZSTD_inBuffer ib = {in, in_len, 0};
	struct obuf o;
	size_t zrc = 1;
	int rc;

	if (!dctx)
		return CHRONIK_ENOMEM;
	rc = obuf_init(&o, initial_hint(in_len), max_out);
	if (rc) {
		ZSTD_freeDCtx(dctx);
		return rc;
	}
	/* Bound the window a hostile frame header can make us allocate:
	 * 2^23 covers every level up to 19; bigger only for big caps. */
	int wlog = 23;
	while (wlog < 27 && ((size_t)1 << wlog) < max_out)
		wlog++;
	ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, wlog);
	if (in_len == 0)
		rc = CHRONIK_ETRUNCATED;
	while (rc == 0) {
		if (o.len == o.cap && (rc = obuf_grow(&o)) != 0)
			break;
		ZSTD_outBuffer ob = {o.p, o.cap, o.len};
		size_t before = ib.pos;
		zrc = ZSTD_decompressStream(dctx, &ob, &ib);
		o.len = ob.pos;
		if (ZSTD_isError(zrc)) {
			rc = CHRONIK_ECODEC;
			break;
		}
		if (zrc == 0 && ib.pos == ib.size)
			break; /* a frame just ended with the input */
		if (ib.pos == ib.size && ob.pos < ob.size) {
			/* All input used and the output not full: done,
			 * unless a frame is unfinished. */
			if (zrc != 0)
				rc = CHRONIK_ETRUNCATED;
			break;
		}
		if (ib.pos == before && ob.pos < ob.size) {
			rc = CHRONIK_ECODEC;
			break;
		}
	}
	ZSTD_freeDCtx(dctx);
	return obuf_finish(&o, out, out_len, rc);
}

/* ----------------------------------------------------------- public */

int chronik_protocol_compress(void **out, size_t *out_len, int codec,
			      int level, unsigned flags, const void *in,
			      size_t in_len)
{
	static const uint8_t empty[1];

	if (!out || !out_len || (!in && in_len))
		return CHRONIK_EARG;
	if (in_len > INT32_MAX)
		return CHRONIK_ETOOBIG;
	if (!in)
		in = empty;
	switch (codec) {
	case CHRONIK_PROTOCOL_COMPRESSION_GZIP:
		return gzip_compress(out, out_len, level, in, in_len);
	case CHRONIK_PROTOCOL_COMPRESSION_SNAPPY:
		return snappy_compress_xerial(out, out_len, in, in_len);
	case CHRONIK_PROTOCOL_COMPRESSION_LZ4:
		return lz4_compress(out, out_len, level, flags, in, in_len);
	case CHRONIK_PROTOCOL_COMPRESSION_ZSTD:
		return zstd_compress(out, out_len, level, in, in_len);
	default:
		return CHRONIK_EUNSUPPORTED;
	}
}

int chronik_protocol_decompress(void **out, size_t *out_len, int codec,
				unsigned flags, const void *in, size_t in_len,
				size_t max_out)
{
	const uint8_t *p = in;

	if (!out || !out_len || (!in && in_len))
		return CHRONIK_EARG;
	switch (codec) {
	case CHRONIK_PROTOCOL_COMPRESSION_GZIP:
		if (in_len == 0)
			return CHRONIK_ETRUNCATED;
		return gzip_decompress(out, out_len, p, in_len, max_out);
	case CHRONIK_PROTOCOL_COMPRESSION_SNAPPY:
		if (in_len >= sizeof xerial_magic &&
		    memcmp(p, xerial_magic, sizeof xerial_magic) == 0) {
			if (in_len < XERIAL_HEADER_SIZE)
				return CHRONIK_ETRUNCATED;
			return snappy_decompress_xerial(out, out_len, p,
							in_len, max_out);
		}
		if (in_len == 0)
			return CHRONIK_ETRUNCATED;
		return snappy_decompress_raw(out, out_len, p, in_len, max_out);
	case CHRONIK_PROTOCOL_COMPRESSION_LZ4:
		return lz4_decompress(out, out_len, flags, p, in_len, max_out);
	case CHRONIK_PROTOCOL_COMPRESSION_ZSTD:
		return zstd_decompress(out, out_len, p, in_len, max_out);
	default:
		return CHRONIK_EUNSUPPORTED;
	}
}

void chronik_protocol_free(void *p)
{
	free(p);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Public entry points of the message codec: version checks, headers,
 * frames, error reporting, tables and version negotiation. The per-message
 * work is in the generated src/gen/; this file only dispatches to it. */
#include <stdarg.h>
#include <stdio.h>

#include "gen/gen.h"

/* The header "keys" in the generated dispatch (sorted schema names). */
#define HDR_REQUEST 0
#define HDR_RESPONSE 1

static const char *kind_word(int kind)
{
	switch (kind) {
	case CHRONIK__K_REQUEST: return "request";
	case CHRONIK__K_RESPONSE: return "response";
	case CHRONIK__K_DATA: return "data schema";
	default: return "header";
	}
}

static void err_clear(chronik_protocol_errinfo *err, int16_t key,
		      int16_t version)
{
	if (!err)
		return;
	err->code = 0;
	err->api_key = key;
	err->api_version = version;
	err->offset = 0;
	err->field = NULL;
	err->message[0] = '\0';
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static int err_simple(chronik_protocol_errinfo *err, int code,
		      const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int err_from_rd(chronik_protocol_errinfo *err, const chronik__rd *r,
		       const char *name, int16_t version)
{
	if (err) {
		err->code = r->err;
		err->offset = r->err_off;
		err->field = r->err_field;
		snprintf(err->message, sizeof err->message,
			 "%s v%d: %s%s%s%s at byte %zu", name, version,
			 r->err_field ? "field " : "",
			 r->err_field ? r->err_field : "",
			 r->err_field ? ": " : "",
			 r->err_what ? r->err_what : chronik_strerror(r->err),
			 r->err_off);
	}
	return r->err;
}

static int err_from_enc(chronik_protocol_errinfo *err, const chronik__enc *e,
			const char *name, int16_t version)
{
	if (err) {
		err->code = e->err;
		err->field = e->err_field;
		snprintf(err->message, sizeof err->message, "%s v%d: %s%s%s%s",
			 name, version, e->err_field ? "field " : "",
			 e->err_field ? e->err_field : "",
			 e->err_field ? ": " : "",
			 e->err_what ? e->err_what : chronik_strerror(e->err));
	}
	return e->err;
}

static const chronik__msginfo *check_version(int kind, int key,
					     int16_t version,
					     chronik_protocol_errinfo *err,
					     int *rc)
{
	const chronik__msginfo *mi = chronik__gen_info(kind, key);
	if (!mi) {
		*rc = err_simple(err, CHRONIK_EUNSUPPORTED,
				 "unknown %s key %d", kind_word(kind), key);
		return NULL;
	}
	if (version < mi->min_version || version > mi->max_version) {
		if (err) {
			err->code = CHRONIK_EVERSION;
			snprintf(err->message, sizeof err->message,
				 "%s v%d: unsupported version (supported "
				 "%d-%d)", mi->name, version, mi->min_version,
				 mi->max_version);
		}
		*rc = CHRONIK_EVERSION;
		return NULL;
	}
	return mi;
}

/* Decode a body at buf[off, off + len) with offsets relative to base. */
static int decode_at(int kind, void **out, chronik_protocol_arena *a,
		     int16_t key, int16_t version, const uint8_t *base,
		     size_t off, size_t len, chronik_protocol_errinfo *err)
{
	int rc = 0;
	if (!out || !a || (!base && len))
		return err_simple(err, CHRONIK_EARG, "invalid argument");
	const chronik__msginfo *mi = check_version(kind, key, version, err,
						   &rc);
	if (!mi)
		return rc;
	chronik__rd r;
	chronik__rd_init(&r, a, base ? base + off : base, len);
	r.base = base;
	void *m = NULL;
	rc = chronik__gen_decode(kind, key, &r, &m, version);
	if (rc == 0 && r.p != r.end)
		rc = chronik__rd_fail(&r, CHRONIK_EMALFORMED,
				      "trailing bytes after the message");
	if (rc)
		return err_from_rd(err, &r, mi->name, version);
	*out = m;
	return 0;
}

static int size_of(int kind, size_t *n, int16_t key, int16_t version,
		   const void *msg, chronik_protocol_errinfo *err,
		   const chronik__msginfo **mip)
{
	int rc = 0;
	if (!msg)
		return err_simple(err, CHRONIK_EARG, "no message");
	const chronik__msginfo *mi = check_version(kind, key, version, err,
						   &rc);
	if (!mi)
		return rc;
	chronik__enc e = { 0, NULL, NULL };
	*n = 0;
	if (chronik__gen_size(kind, key, &e, msg, version, n) != 0)
		return err_from_enc(err, &e, mi->name, version);
	if (*n > INT32_MAX)
		return err_simple(err, CHRONIK_ETOOBIG,
				  "%s: message over 2 GiB", mi->name);
	*mip = mi;
	return 0;
}

static void write_body(int kind, int16_t key, int16_t version,
		       const void *msg, uint8_t *p, size_t n)
{
	chronik__enc e = { 0, NULL, NULL };
	chronik__wr w = { p };
	chronik__gen_write(kind, key, &e, &w, msg, version);
	(void)n; /* the size pass guarantees w.p == p + n */
}

static int encode(int kind, size_t *written, uint8_t *buf, size_t cap,
		  int16_t key, int16_t version, const void *msg,
		  chronik_protocol_errinfo *err)
{
	const chronik__msginfo *mi;
	size_t n;
	err_clear(err, key, version);
	if (!written)
		return err_simple(err, CHRONIK_EARG, "no output length");
	int rc = size_of(kind, &n, key, version, msg, err, &mi);
	if (rc)
		return rc;
	*written = n;
	if (!buf)
		return 0;
	if (cap < n)
		return err_simple(err, CHRONIK_ETOOBIG,
				  "%s v%d: needs %zu bytes, have %zu",
				  mi->name, version, n, cap);
	write_body(kind, key, version, msg, buf, n);
	return 0;
}

CHRONIK_PROTOCOL_API int chronik_protocol_request_decode(
	void **out, chronik_protocol_arena *a, int16_t api_key,
	int16_t version, const uint8_t *buf, size_t len,
	chronik_protocol_errinfo *err)
{
	err_clear(err, api_key, version);
	return decode_at(CHRONIK__K_REQUEST, out, a, api_key, version, buf, 0,
			 len, err);
}

CHRONIK_PROTOCOL_API int chronik_protocol_response_decode(
	void **out, chronik_protocol_arena *a, int16_t api_key,
	int16_t version, const uint8_t *buf, size_t len,
	chronik_protocol_errinfo *err)
{
	err_clear(err, api_key, version);
	return decode_at(CHRONIK__K_RESPONSE, out, a, api_key, version, buf,
			 0, len, err);
}

CHRONIK_PROTOCOL_API int chronik_protocol_data_decode(
	void **out, chronik_protocol_arena *a, int type, int16_t version,
	const uint8_t *buf, size_t len, chronik_protocol_errinfo *err)
{
	if (type < 0 || type > INT16_MAX)
		type = -1;
	err_clear(err, (int16_t)type, version);
	return decode_at(CHRONIK__K_DATA, out, a, (int16_t)type, version, buf,
			 0, len, err);
}

CHRONIK_PROTOCOL_API int chronik_protocol_request_encode(
	size_t *written, uint8_t *buf, size_t cap, int16_t api_key,
	int16_t version, const void *msg, chronik_protocol_errinfo *err)
{
	return encode(CHRONIK__K_REQUEST, written, buf, cap, api_key, version,
		      msg, err);
}

CHRONIK_PROTOCOL_API int chronik_protocol_response_encode(
	size_t *written, uint8_t *buf, size_t cap, int16_t api_key,
	int16_t version, const void *msg, chronik_protocol_errinfo *err)
{
	return encode(CHRONIK__K_RESPONSE, written, buf, cap, api_key,
		      version, msg, err);
}

CHRONIK_PROTOCOL_API int chronik_protocol_data_encode(
	size_t *written, uint8_t *buf, size_t cap, int type, int16_t version,
	const void *msg, chronik_protocol_errinfo *err)
{
	if (type < 0 || type > INT16_MAX)
		type = -1;
	return encode(CHRONIK__K_DATA, written, buf, cap, (int16_t)type,
		      version, msg, err);
}

static int new_msg(int kind, void **out, chronik_protocol_arena *a,
		   int16_t key)
{
	if (!out || !a)
		return CHRONIK_EARG;
	if (!chronik__gen_info(kind, key))
		return CHRONIK_EUNSUPPORTED;
	void *m = chronik__gen_new(kind, key, a);
	if (!m)
		return CHRONIK_ENOMEM;
	*out = m;
	return 0;
}

CHRONIK_PROTOCOL_API int chronik_protocol_request_new(
	void **out, chronik_protocol_arena *a, int16_t api_key)
{
	return new_msg(CHRONIK__K_REQUEST, out, a, api_key);
}

CHRONIK_PROTOCOL_API int chronik_protocol_response_new(
	void **out, chronik_protocol_arena *a, int16_t api_key)
{
	return new_msg(CHRONIK__K_RESPONSE, out, a, api_key);
}

/* ---- headers ---- */

CHRONIK_PROTOCOL_API int chronik_protocol_request_header_version(
	int16_t api_key, int16_t api_version)
{
	const chronik__msginfo *mi = chronik__gen_info(CHRONIK__K_REQUEST,
						       api_key);
	if (!mi)
		return CHRONIK_EUNSUPPORTED;
	if (api_version > mi->max_version)
		api_version = mi->max_version;
	if (mi->flexible_min >= 0 && api_version >= mi->flexible_min)
		return 2;
	if (api_key == CHRONIK_PROTOCOL_API_CONTROLLED_SHUTDOWN &&
	    api_version == 0)
		return 0;
	return 1;
}

CHRONIK_PROTOCOL_API int chronik_protocol_response_header_version(
	int16_t api_key, int16_t api_version)
{
	const chronik__msginfo *mi = chronik__gen_info(CHRONIK__K_RESPONSE,
						       api_key);
	if (!mi)
		return CHRONIK_EUNSUPPORTED;
	if (api_key == CHRONIK_PROTOCOL_API_API_VERSIONS)
		return 0;
	if (api_version > mi->max_version)
		api_version = mi->max_version;
	if (mi->flexible_min >= 0 && api_version >= mi->flexible_min)
		return 1;
	return 0;
}

static int req_header_decode_at(chronik_protocol_request_header *hdr,
				size_t *consumed, chronik_protocol_arena *a,
				const uint8_t *base, size_t off, size_t len,
				chronik_protocol_errinfo *err)
{
	chronik__rd r;
	if (!hdr || (!base && len))
		return err_simple(err, CHRONIK_EARG, "invalid argument");
	chronik__rd_init(&r, a, base ? base + off : base, len);
	r.base = base;
	int hv = 1, rc = CHRONIK_EUNSUPPORTED;
	if (len >= 4) {
		int16_t key = (int16_t)chronik__be16(base + off);
		int16_t ver = (int16_t)chronik__be16(base + off + 2);
		if (err) {
			err->api_key = key;
			err->api_version = ver;
		}
		hv = chronik_protocol_request_header_version(key, ver);
	}
	if (hv < 0) {
		/* Unknown API key: read what every header version has. */
		if (chronik__gen_dec_request_header(&r, hdr, 0) != 0)
			return err_from_rd(err, &r, "RequestHeader", 0);
		if (consumed)
			*consumed = (size_t)(r.p - base) - off;
		return err_simple(err, rc, "RequestHeader: unknown API key "
				  "%d (correlation id %d)",
				  hdr->request_api_key, hdr->correlation_id);
	}
	if (chronik__gen_dec_request_header(&r, hdr, (int16_t)hv) != 0)
		return err_from_rd(err, &r, "RequestHeader", (int16_t)hv);
	if (consumed)
		*consumed = (size_t)(r.p - base) - off;
	return 0;
}

CHRONIK_PROTOCOL_API int chronik_protocol_request_header_decode(
	struct chronik_protocol_request_header *hdr, size_t *consumed,
	chronik_protocol_arena *a, const uint8_t *buf, size_t len,
	chronik_protocol_errinfo *err)
{
	err_clear(err, -1, -1);
	return req_header_decode_at(hdr, consumed, a, buf, 0, len, err);
}

CHRONIK_PROTOCOL_API int chronik_protocol_request_header_encode(
	size_t *written, uint8_t *buf, size_t cap,
	const struct chronik_protocol_request_header *hdr,
	chronik_protocol_errinfo *err)
{
	err_clear(err, hdr ? hdr->request_api_key : -1,
		  hdr ? hdr->request_api_version : -1);
	if (!hdr)
		return err_simple(err, CHRONIK_EARG, "no header");
	int hv = chronik_protocol_request_header_version(
		hdr->request_api_key, hdr->request_api_version);
	if (hv < 0)
		return err_simple(err, hv, "unknown API key %d",
				  hdr->request_api_key);
	return encode(CHRONIK__K_HEADER, written, buf, cap, HDR_REQUEST,
		      (int16_t)hv, hdr, err);
}

static int resp_header_decode_at(chronik_protocol_response_header *hdr,
				 size_t *consumed, chronik_protocol_arena *a,
				 int hv, const uint8_t *base, size_t off,
				 size_t len, chronik_protocol_errinfo *err)
{
	chronik__rd r;
	if (!hdr || (!base && len))
		return err_simple(err, CHRONIK_EARG, "invalid argument");
	if (hv < 0 || hv > 1)
		return err_simple(err, CHRONIK_EVERSION,
				  "bad response header version %d", hv);
	chronik__rd_init(&r, a, base ? base + off : base, len);
	r.base = base;
	if (chronik__gen_dec_response_header(&r, hdr, (int16_t)hv) != 0)
		return err_from_rd(err, &r, "ResponseHeader", (int16_t)hv);
	if (consumed)
		*consumed = (size_t)(r.p - base) - off;
	return 0;
}

CHRONIK_PROTOCOL_API int chronik_protocol_response_header_decode(
	struct chronik_protocol_response_header *hdr, size_t *consumed,
	chronik_protocol_arena *a, int header_version, const uint8_t *buf,
	size_t len, chronik_protocol_errinfo *err)
{
	err_clear(err, -1, (int16_t)header_version);
	return resp_header_decode_at(hdr, consumed, a, header_version, buf, 0,
				     len, err);
}

CHRONIK_PROTOCOL_API int chronik_protocol_response_header_encode(
	size_t *written, uint8_t *buf, size_t cap, int header_version,
	const struct chronik_protocol_response_header *hdr,
	chronik_protocol_errinfo *err)
{
	if (header_version < 0 || header_version > 1) {
		err_clear(err, -1, -1);
		return err_simple(err, CHRONIK_EVERSION,
				  "bad response header version %d",
				  header_version);
	}
	return encode(CHRONIK__K_HEADER, written, buf, cap, HDR_RESPONSE,
		      (int16_t)header_version, hdr, err);
}

/* ---- frames ---- */

CHRONIK_PROTOCOL_API int chronik_protocol_frame_size(
	size_t *size, const uint8_t *buf, size_t len, size_t max_size)
{
	if (!size || (!buf && len))
		return CHRONIK_EARG;
	if (len < 4)
		return CHRONIK_EAGAIN;
	int32_t s = (int32_t)chronik__be32(buf);
	if (s < 0)
		return CHRONIK_EMALFORMED;
	if ((size_t)s > max_size)
		return CHRONIK_ETOOBIG;
	*size = (size_t)s;
	return 0;
}

/* Checks the size prefix, if any; returns the offset of the frame body. */
static int frame_prefix(size_t *off, unsigned int flags, const uint8_t *buf,
			size_t len, chronik_protocol_errinfo *err)
{
	*off = 0;
	if (!(flags & CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX))
		return 0;
	size_t size;
	int rc = chronik_protocol_frame_size(&size, buf, len, INT32_MAX);
	if (rc == CHRONIK_EAGAIN || (rc == 0 && size > len - 4))
		rc = CHRONIK_ETRUNCATED;
	else if (rc == 0 && size < len - 4)
		rc = CHRONIK_EMALFORMED;
	if (rc) {
		if (err)
			err->offset = 0;
		return err_simple(err, rc, "frame size prefix does not match "
				  "the %zu bytes after it",
				  len >= 4 ? len - 4 : 0);
	}
	*off = 4;
	return 0;
}

CHRONIK_PROTOCOL_API int chronik_protocol_request_frame_decode(
	struct chronik_protocol_request_header *hdr, void **body,
	chronik_protocol_arena *a, unsigned int flags, const uint8_t *buf,
	size_t len, chronik_protocol_errinfo *err)
{
	size_t off, hlen = 0;
	err_clear(err, -1, -1);
	int rc = frame_prefix(&off, flags, buf, len, err);
	if (rc)
		return rc;
	rc = req_header_decode_at(hdr, &hlen, a, buf, off, len - off, err);
	if (rc)
		return rc;
	off += hlen;
	return decode_at(CHRONIK__K_REQUEST, body, a, hdr->request_api_key,
			 hdr->request_api_version, buf, off, len - off, err);
}

CHRONIK_PROTOCOL_API int chronik_protocol_request_frame_encode(
	size_t *written, uint8_t *buf, size_t cap, unsigned int flags,
	const struct chronik_protocol_request_header *hdr, const void *body,
	chronik_protocol_errinfo *err)
{
	size_t hn, bn;
	const chronik__msginfo *mi;
	if (!written)
		return CHRONIK_EARG;
	int rc = chronik_protocol_request_header_encode(&hn, NULL, 0, hdr,
							err);
	if (rc)
		return rc;
	int hv = chronik_protocol_request_header_version(
		hdr->request_api_key, hdr->request_api_version);
	rc = size_of(CHRONIK__K_REQUEST, &bn, hdr->request_api_key,
		     hdr->request_api_version, body, err, &mi);
	if (rc)
		return rc;
	size_t pre = (flags & CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX) ? 4 : 0;
	if (hn + bn > INT32_MAX)
		return err_simple(err, CHRONIK_ETOOBIG, "frame over 2 GiB");
	*written = pre + hn + bn;
	if (!buf)
		return 0;
	if (cap < *written)
		return err_simple(err, CHRONIK_ETOOBIG, "frame needs %zu bytes",
				  *written);
	chronik__wr w = { buf };
	if (pre)
		chronik__wr_u32(&w, (uint32_t)(hn + bn));
	write_body(CHRONIK__K_HEADER, HDR_REQUEST, (int16_t)hv, hdr, w.p, hn);
	write_body(CHRONIK__K_REQUEST, hdr->request_api_key,
		   hdr->request_api_version, body, w.p + hn, bn);
	return 0;
}

CHRONIK_PROTOCOL_API int chronik_protocol_response_frame_decode(
	struct chronik_protocol_response_header *hdr, void **body,
	chronik_protocol_arena *a, unsigned int flags, int16_t api_key,
	int16_t version, const uint8_t *buf, size_t len,
	chronik_protocol_errinfo *err)
{
	size_t off, hlen = 0;
	err_clear(err, api_key, version);
	int hv = chronik_protocol_response_header_version(api_key, version);
	if (hv < 0)
		return err_simple(err, hv, "unknown API key %d", api_key);
	int rc = frame_prefix(&off, flags, buf, len, err);
	if (rc)
		return rc;
	rc = resp_header_decode_at(hdr, &hlen, a, hv, buf, off, len - off,
				   err);
	if (rc)
		return rc;
	off += hlen;
	return decode_at(CHRONIK__K_RESPONSE, body, a, api_key, version, buf,
			 off, len - off, err);
}

CHRONIK_PROTOCOL_API int chronik_protocol_response_frame_encode(
	size_t *written, uint8_t *buf, size_t cap, unsigned int flags,
	int16_t api_key, int16_t version,
	const struct chronik_protocol_response_header *hdr, const void *body,
	chronik_protocol_errinfo *err)
{
	size_t hn, bn;
	const chronik__msginfo *mi;
	if (!written)
		return CHRONIK_EARG;
	err_clear(err, api_key, version);
	int hv = chronik_protocol_response_header_version(api_key, version);
	if (hv < 0)
		return err_simple(err, hv, "unknown API key %d", api_key);
	int rc = chronik_protocol_response_header_encode(&hn, NULL, 0, hv,
							 hdr, err);
	if (rc)
		return rc;
	rc = size_of(CHRONIK__K_RESPONSE, &bn, api_key, version, body, err,
		     &mi);
	if (rc)
		return rc;
	size_t pre = (flags & CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX) ? 4 : 0;
	if (hn + bn > INT32_MAX)
		return err_simple(err, CHRONIK_ETOOBIG, "frame over 2 GiB");
	*written = pre + hn + bn;
	if (!buf)
		return 0;
	if (cap < *written)
		return err_simple(err, CHRONIK_ETOOBIG, "frame needs %zu bytes",
				  *written);
	chronik__wr w = { buf };
	if (pre)
		chronik__wr_u32(&w, (uint32_t)(hn + bn));
	write_body(CHRONIK__K_HEADER, HDR_RESPONSE, (int16_t)hv, hdr, w.p, hn);
	write_body(CHRONIK__K_RESPONSE, api_key, version, body, w.p + hn, bn);
	return 0;
}

/* ---- tables and negotiation ---- */

CHRONIK_PROTOCOL_API const chronik_protocol_api_info *chronik_protocol_api_get(
	int16_t api_key)
{
	if (api_key < 0 || api_key >= CHRONIK_PROTOCOL_API_COUNT)
		return NULL;
	return &chronik__api_table[api_key];
}

CHRONIK_PROTOCOL_API const chronik_protocol_error_info *chronik_protocol_error_get(
	int16_t code)
{
	/* The table is sorted by code and dense from -1. */
	long i = (long)code + 1;
	if (i < 0 || (size_t)i >= chronik__error_count)
		return NULL;
	const chronik_protocol_error_info *e = &chronik__error_table[i];
	return e->code == code ? e : NULL;
}

CHRONIK_PROTOCOL_API const char *chronik_protocol_error_name(int16_t code)
{
	const chronik_protocol_error_info *e = chronik_protocol_error_get(code);
	return e ? e->name : "UNKNOWN";
}

CHRONIK_PROTOCOL_API int chronik_protocol_version_pick(
	int16_t *version,
	const struct chronik_protocol_api_versions_response *peer,
	int16_t api_key, int16_t our_min, int16_t our_max)
{
	const chronik_protocol_api_info *api = chronik_protocol_api_get(api_key);
	if (!api)
		return CHRONIK_EUNSUPPORTED;
	if (our_min == -1 && our_max == -1) {
		our_min = api->min_version;
		our_max = api->max_version;
	}
	if (!version || !peer || our_min < 0 || our_min > our_max ||
	    (peer->api_keys_count > 0 && !peer->api_keys))
		return CHRONIK_EARG;
	for (int32_t i = 0; i < peer->api_keys_count; i++) {
		const struct chronik_protocol_api_versions_response_api_version
			*k = &peer->api_keys[i];
		if (k->api_key != api_key)
			continue;
		int16_t lo = k->min_version > our_min ? k->min_version : our_min;
		int16_t hi = k->max_version < our_max ? k->max_version : our_max;
		if (lo > hi)
			return CHRONIK_ENOTFOUND;
		*version = hi;
		return 0;
	}
	return CHRONIK_ENOTFOUND;
}

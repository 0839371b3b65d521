/* SPDX-License-Identifier: Apache-2.0 */
/* ApiVersions: the registered handlers and their version ranges. The
 * v0 fallback for a too-new request version is built in net.c with
 * chronik_api_versions_fill(). Loop thread. */
#include "handlers.h"

int chronik_api_versions_fill(chronik_request *req, void *resp_)
{
	chronik_protocol_api_versions_response *resp = resp_;
	chronik_broker *b = req->broker;
	int32_t n = 0;

	for (int k = 0; k < CHRONIK_METRICS_MAX_API; k++)
		if (b->handlers[k].fn)
			n++;
	resp->api_keys = chronik_protocol_arena_alloc(req->arena,
		(size_t)n * sizeof *resp->api_keys);
	if (!resp->api_keys)
		return CHRONIK_ENOMEM;
	resp->api_keys_count = 0;
	for (int k = 0; k < CHRONIK_METRICS_MAX_API; k++) {
		const chronik_handler *h = &b->handlers[k];
		if (!h->fn)
			continue;
		chronik_protocol_api_versions_response_api_version *v =
			&resp->api_keys[resp->api_keys_count++];
		chronik_protocol_api_versions_response_api_version_init(v);
		v->api_key = h->api_key;
		v->min_version = h->min_version;
		v->max_version = h->max_version;
	}
	return 0;
}

int chronik_handle_api_versions(chronik_request *req, const void *body,
				void *resp)
{
	(void)body;
	return chronik_api_versions_fill(req, resp);
}

int16_t chronik_kafka_error_from(int rc)
{
	switch (rc) {
	case 0:
		return CHRONIK_PROTOCOL_ERR_NONE;
	case CHRONIK_ETOOBIG:
		return CHRONIK_PROTOCOL_ERR_MESSAGE_TOO_LARGE;
	case CHRONIK_ECRC:
		return CHRONIK_PROTOCOL_ERR_CORRUPT_MESSAGE;
	case CHRONIK_ETRUNCATED:
	case CHRONIK_EMALFORMED:
	case CHRONIK_ECODEC:
		return CHRONIK_PROTOCOL_ERR_INVALID_RECORD;
	case CHRONIK_EUNSUPPORTED:
		return CHRONIK_PROTOCOL_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
	case CHRONIK_ENOTFOUND:
		return CHRONIK_PROTOCOL_ERR_OFFSET_OUT_OF_RANGE;
	case CHRONIK_EEXIST:
		return CHRONIK_PROTOCOL_ERR_TOPIC_ALREADY_EXISTS;
	default:
		return CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DescribeCluster v0-1: this node as the only broker and the controller,
 * the cluster id, and the authorized cluster operations when asked for
 * (no authorizer: every operation Kafka defines on a cluster; otherwise
 * Kafka's "not requested" value, INT32_MIN). Endpoint type (v1): brokers
 * (1) only; controllers (2) get MISMATCHED_ENDPOINT_TYPE, anything else
 * UNSUPPORTED_ENDPOINT_TYPE. Loop thread.
 */
#include "admin_util.h"

/* AclOperation bits a cluster supports: CREATE 5, ALTER 7, DESCRIBE 8,
 * CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,
 * IDEMPOTENT_WRITE 12. */
#define CLUSTER_OPS ((1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | \
		     (1 << 10) | (1 << 11) | (1 << 12))

int chronik_handle_describe_cluster(chronik_request *req, const void *body,
				    void *resp_)
{
	const chronik_protocol_describe_cluster_request *r = body;
	chronik_protocol_describe_cluster_response *resp = resp_;
	chronik_broker *b = req->broker;

	if (req->api_version >= 1 && r->endpoint_type != 1) {
		resp->endpoint_type = r->endpoint_type;
		resp->brokers_count = 0;
		if (r->endpoint_type == 2) {
			resp->error_code =
				CHRONIK_PROTOCOL_ERR_MISMATCHED_ENDPOINT_TYPE;
			resp->error_message = admin_str("The request was sent "
				"to an endpoint of type BROKER, but we wanted "
				"an endpoint of type CONTROLLER");
		} else {
			resp->error_code =
				CHRONIK_PROTOCOL_ERR_UNSUPPORTED_ENDPOINT_TYPE;
			resp->error_message = admin_str("Unsupported endpoint "
							"type");
		}
		req->error_code = resp->error_code;
		return CHRONIK_HANDLER_DONE;
	}
	resp->brokers = chronik_protocol_arena_alloc(req->arena,
						     sizeof *resp->brokers);
	if (!resp->brokers)
		return CHRONIK_ENOMEM;
	chronik_protocol_describe_cluster_response_describe_cluster_broker_init(
		resp->brokers);
	resp->brokers->broker_id = b->node_id;
	resp->brokers->host = admin_str(b->advertised_host);
	resp->brokers->port = b->advertised_port;
	resp->brokers_count = 1;
	resp->cluster_id = admin_str(b->cluster_id);
	resp->controller_id = b->node_id;
	if (r->include_cluster_authorized_operations)
		resp->cluster_authorized_operations = CLUSTER_OPS;
	return CHRONIK_HANDLER_DONE;
}

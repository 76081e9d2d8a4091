/* api_mcp.c — the MCP server's HTTP transports: Streamable HTTP at /mcp
 * (POST a JSON-RPC message, answered as JSON or as an SSE stream per the
 * Accept header; sessions by Mcp-Session-Id; GET 405, no server stream;
 * DELETE ends a session) and the older HTTP+SSE at /sse (GET holds an
 * event stream whose first event names the message endpoint,
 * /sse/message?sessionId=..., whose POSTs are answered over the stream).
 * Every request needs a gateway key. The messages are mcp.c's, the tools
 * mcp_tools.c's, the sessions mcp_session.c's. */
#include "autoconf.h"
#include "api.h"
#include "admit.h"
#include "log.h"
#include "mcp.h"
#include "mcp_session.h"
#include "mcp_tools.h"
#include "xmalloc.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PING_MS_DEFAULT 15000
#define SSE_WAKE_MS 1000

/* An HTTP error with a JSON-RPC error body (id null). */
static void rpc_http_error(struct http_req *r, int status, int code, const char *extra, const char *reason,
			   const char *msg)
{
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	char *body = xasprintf("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":%d,\"message\":\"%s\"}}", code, msg);
	http_respond(r, status, "application/json", extra, body, strlen(body));
	free(body);
}

/* The key; 0, or -1 after a 401. */
static int mcp_auth(const struct api_call *call, struct auth_entry *who)
{
	int k = gateway_key_lookup(call->w, call->r, who);
	if (k == 1)
		return 0;
	rpc_http_error(call->r, 401, -32001, "WWW-Authenticate: Bearer realm=\"llmgate\"\r\n", "invalid_api_key",
		       k == 0 ? "Unauthorized: send a gateway key as 'Authorization: Bearer YOUR_KEY'"
			      : "Unauthorized: incorrect API key; use a key issued by this gateway");
	return -1;
}

static int mcp_enabled(const struct api_call *call)
{
	if (call->snap->cfg.mcp_enabled)
		return 1;
	rpc_http_error(call->r, 404, -32601, NULL, "mcp_disabled", "The MCP endpoint is turned off ([mcp] enabled)");
	return 0;
}

/* What every MCP route checks first: turned on, the method (method_ok;
 * else 405 with allow and why), the key. 0, or -1 after an answer. */
static int mcp_gate(const struct api_call *call, int method_ok, const char *allow, const char *why,
		    struct auth_entry *who)
{
	if (!mcp_enabled(call))
		return -1;
	if (!method_ok) {
		char extra[64];
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
		rpc_http_error(call->r, 405, MCP_INVALID_REQUEST, extra, "method_not_allowed", why);
		return -1;
	}
	return mcp_auth(call, who);
}

/* The JSON body; 0, or -1 after an answer (415, 413, 400). */
static int mcp_body(const struct api_call *call)
{
	struct http_req *r = call->r;
	const char *ct = http_header(r, "Content-Type");
	if (!ct || strncasecmp(ct, "application/json", 16) || (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
		rpc_http_error(r, 415, MCP_INVALID_REQUEST, NULL, "unsupported_media_type",
			       "Content-Type must be application/json");
		return -1;
	}
	int rb = http_read_body(r, call->snap->cfg.max_body);
	if (rb == 0)
		return 0;
	if (rb == -1)
		rpc_http_error(r, 413, MCP_INVALID_REQUEST, NULL, "request_too_large", "The message is too large");
	else
		rpc_http_error(r, rb == -3 ? 408 : 400, MCP_PARSE_ERROR, NULL, "invalid_body", "The body could not be read");
	return -1;
}

/* Does the Accept header take type (or any)? An absent header takes all. */
static int accepts(struct http_req *r, const char *type)
{
	const char *a = http_header(r, "Accept");
	return !a || !*a || strstr(a, type) || strstr(a, "*/*");
}

/* Is j one error for a message that could not be read at all (its id
 * null: not JSON, not a JSON-RPC message)? Such a POST is refused with 400,
 * the error as its body, as the transport asks. */
static int unreadable(const cJSON *j)
{
	return cJSON_IsObject(j) && cJSON_GetObjectItemCaseSensitive(j, "error") &&
	       cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "id"));
}

/* When answer is such an error: the 400 sent (answer consumed), 1; else 0. */
static int refused_unreadable(struct http_req *r, cJSON *answer)
{
	if (!answer || !unreadable(answer))
		return 0;
	char *text = cJSON_PrintUnformatted(answer);
	cJSON_Delete(answer);
	snprintf(r->reason, sizeof(r->reason), "invalid_message");
	http_respond(r, 400, "application/json", NULL, text, strlen(text));
	free(text);
	return 1;
}

/* Answer j (consumed) as JSON, or as one SSE event when the client takes
 * only event streams. */
static void mcp_answer(struct http_req *r, cJSON *j, const char *extra)
{
	char *text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!accepts(r, "application/json")) {
		char *ev = xasprintf("event: message\ndata: %s\n\n", text);
		char hdr[256];
		snprintf(hdr, sizeof(hdr), "Cache-Control: no-cache\r\n%s", extra ? extra : "");
		http_respond(r, 200, "text/event-stream", hdr, ev, strlen(ev));
		free(ev);
	} else {
		http_respond(r, 200, "application/json", extra, text, strlen(text));
	}
	free(text);
}

/* POST /mcp: one message or batch. */
static void mcp_post(const struct api_call *call, const struct auth_entry *who)
{
	struct http_req *r = call->r;
	struct gateway *gw = call->w->gw;
	if (!accepts(r, "application/json") && !accepts(r, "text/event-stream")) {
		rpc_http_error(r, 406, MCP_INVALID_REQUEST, NULL, "not_acceptable",
			       "Accept must take application/json or text/event-stream");
		return;
	}
	if (mcp_body(call) != 0)
		return;
	const char *sid = http_header(r, "Mcp-Session-Id");
	int init = mcp_is_initialize(r->body.data, r->body.len);
	if (!init) {
		const char *pv = http_header(r, "MCP-Protocol-Version");
		if (!sid || !*sid) {
			rpc_http_error(r, 400, MCP_INVALID_REQUEST, NULL, "no_session",
				       "Bad Request: Mcp-Session-Id header is required (initialize first)");
			return;
		}
		if (!mcp_session_get(gw->mcp, sid, who->id, pool_now_ms(), NULL)) {
			rpc_http_error(r, 404, -32001, NULL, "unknown_session", "Session not found: initialize again");
			return;
		}
		if (pv && *pv && !mcp_version_ok(pv)) {
			rpc_http_error(r, 400, MCP_INVALID_REQUEST, NULL, "bad_protocol_version",
				       "Bad Request: unsupported MCP-Protocol-Version");
			return;
		}
	}
	struct mcp_tool_ctx tc = { call, who };
	struct mcp_server srv = { mcp_tools, mcp_tools_count, &tc };
	struct mcp_outcome out;
	cJSON *answer = mcp_handle_text(&srv, r->body.data, r->body.len, &out);
	char extra[96] = "";
	if (init && out.initialize) {
		char id[MCP_SESSION_ID_LEN + 1];
		if (mcp_session_new(gw->mcp, who->id, out.version, 0, 0, 0, pool_now_ms(), id) != 0) {
			cJSON_Delete(answer);
			rpc_http_error(r, 503, MCP_INTERNAL_ERROR, "Retry-After: 5\r\n", "session_store_error",
				       "The session could not be stored; try again later");
			return;
		}
		snprintf(extra, sizeof(extra), "Mcp-Session-Id: %s\r\n", id);
	}
	if (!answer) {
		http_respond(r, 202, "application/json", NULL, "", 0);
		return;
	}
	if (refused_unreadable(r, answer))
		return;
	mcp_answer(r, answer, extra[0] ? extra : NULL);
}

/* /mcp: POST messages, DELETE ends a session, GET 405 (no server stream). */
void api_mcp_handle(const struct api_call *call)
{
	struct http_req *r = call->r;
	int post = !strcmp(r->method, "POST"), del = !strcmp(r->method, "DELETE");
	struct auth_entry who;
	if (mcp_gate(call, post || del, "POST, DELETE",
		     "Method not allowed: POST messages, DELETE to end a session (no GET stream is offered)", &who) != 0)
		return;
	if (post) {
		mcp_post(call, &who);
		return;
	}
	const char *sid = http_header(r, "Mcp-Session-Id");
	if (!sid || !*sid) {
		rpc_http_error(r, 400, MCP_INVALID_REQUEST, NULL, "no_session", "Bad Request: Mcp-Session-Id header is required");
		return;
	}
	if (!mcp_session_end(call->w->gw->mcp, sid, who.id)) {
		rpc_http_error(r, 404, -32001, NULL, "unknown_session", "Session not found");
		return;
	}
	http_respond(r, 204, "application/json", NULL, "", 0);
}

/* ------------------------------------------------------------ HTTP+SSE */

/* The streams' cap in all ([mcp] sse_max; 0: a quarter of the threads,
 * at least one, and always a thread left for everything else). */
static int sse_max(const struct config *c)
{
	int n = c->mcp_sse_max ? c->mcp_sse_max : c->threads / 4 ? c->threads / 4 : 1;
	return n < c->threads ? n : c->threads - 1;
}

/* Hold the stream of session id until it ends, its client goes, or it
 * idles out; the answers to its POSTs go out as they come. */
static void sse_hold(const struct api_call *call, const char *id)
{
	struct http_req *r = call->r;
	const struct config *c = &call->snap->cfg;
	struct mcp_sessions *t = call->w->gw->mcp;
	int64_t ping_ms = c->stream_ping_s > 0 ? c->stream_ping_s * 1000 : PING_MS_DEFAULT;
	long idle_ms = c->mcp_sse_idle_s * 1000;
	int64_t next_ping = pool_now_ms() + ping_ms;
	admit_leave();   /* a held stream waits: its admission slot goes to others */
	for (;;) {
		int ended = 0;
		/* short waits: a client gone is seen within one (the web server
		 * closes its connection) */
		char *ev = mcp_session_wait(t, id, SSE_WAKE_MS, idle_ms, &ended);
		int bad = 0;
		if (ev) {
			bad = http_write(r, ev, strlen(ev)) != 0 || http_flush(r) != 0;
		} else if (!ended && pool_now_ms() >= next_ping) {
			bad = http_write(r, ": ping\n\n", 8) != 0 || http_flush(r) != 0;
			next_ping = pool_now_ms() + ping_ms;
		}
		free(ev);
		if (bad || ended || http_peer_closed(r))
			break;
	}
	mcp_session_stream_closed(t, id);
}

/* GET /sse: the event stream; its first event, "endpoint", names where to
 * POST messages. */
void api_mcp_sse(const struct api_call *call)
{
	struct http_req *r = call->r;
	struct auth_entry who;
	if (mcp_gate(call, !strcmp(r->method, "GET"), "GET",
		     "Method not allowed: GET opens the event stream; POST to the endpoint it names", &who) != 0)
		return;
	if (!r->fcgx) {
		rpc_http_error(r, 501, MCP_INTERNAL_ERROR, NULL, "no_streams_in_cgi",
			       "The /sse transport needs the router under FastCGI; use /mcp");
		return;
	}
	/* the (empty) body read to its end: what comes on the connection after
	 * it can only be its end (http_peer_closed) */
	if (http_read_body(r, 0) != 0) {
		rpc_http_error(r, 400, MCP_INVALID_REQUEST, NULL, "invalid_body", "GET /sse takes no body");
		return;
	}
	const struct config *c = &call->snap->cfg;
	char id[MCP_SESSION_ID_LEN + 1];
	if (mcp_session_new(call->w->gw->mcp, who.id, "", 1, c->mcp_sse_per_key, sse_max(c), pool_now_ms(), id) != 0) {
		rpc_http_error(r, 429, MCP_INTERNAL_ERROR, "Retry-After: 30\r\n", "too_many_streams",
			       "Too many open /sse streams for this key or in all; close one or use /mcp");
		return;
	}
	http_begin(r, 200, "text/event-stream", "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n");
	char ev[HTTP_PATH_MAX + 128];
	snprintf(ev, sizeof(ev), "event: endpoint\ndata: %s/message?sessionId=%s\n\n", r->path, id);
	if (http_write(r, ev, strlen(ev)) == 0 && http_flush(r) == 0)
		sse_hold(call, id);
	else
		mcp_session_stream_closed(call->w->gw->mcp, id);
}

/* The sessionId of the query, if it is one of ours in form; else "". */
static void query_session(const char *q, char id[MCP_SESSION_ID_LEN + 1])
{
	id[0] = '\0';
	for (const char *p = q; p && *p;) {
		if (!strncmp(p, "sessionId=", 10)) {
			size_t n = strcspn(p + 10, "&");
			if (n == MCP_SESSION_ID_LEN) {
				memcpy(id, p + 10, n);
				id[n] = '\0';
			}
			return;
		}
		p = strchr(p, '&');
		if (p)
			p++;
	}
}

/* POST /sse/message?sessionId=...: the answer goes over the stream; the
 * POST gets 202. */
void api_mcp_message(const struct api_call *call)
{
	struct http_req *r = call->r;
	struct auth_entry who;
	if (mcp_gate(call, !strcmp(r->method, "POST"), "POST", "Method not allowed: POST", &who) != 0)
		return;
	struct mcp_sessions *t = call->w->gw->mcp;
	char id[MCP_SESSION_ID_LEN + 1];
	query_session(r->query, id);
	if (!id[0] || !mcp_session_get(t, id, who.id, pool_now_ms(), NULL)) {
		rpc_http_error(r, 404, -32001, NULL, "unknown_session", "Session not found: open /sse again");
		return;
	}
	if (mcp_body(call) != 0)
		return;
	struct mcp_tool_ctx tc = { call, &who };
	struct mcp_server srv = { mcp_tools, mcp_tools_count, &tc };
	struct mcp_outcome out;
	cJSON *answer = mcp_handle_text(&srv, r->body.data, r->body.len, &out);
	if (out.initialize)
		mcp_session_set_version(t, id, out.version);
	if (refused_unreadable(r, answer))
		return;
	if (answer) {
		char *text = cJSON_PrintUnformatted(answer);
		cJSON_Delete(answer);
		int pushed = mcp_session_push(t, id, who.id, text);
		free(text);
		if (pushed != 0) {
			rpc_http_error(r, 404, -32001, NULL, "unknown_session", "The session's stream is gone: open /sse again");
			return;
		}
	}
	http_respond(r, 202, "text/plain", NULL, "Accepted", 8);
}

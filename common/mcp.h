/* mcp.h — the Model Context Protocol server's messages: JSON-RPC 2.0
 * parsing and checks, the methods (initialize, ping, tools/list,
 * tools/call, notifications), protocol version negotiation and tool
 * arguments checked against each tool's declared input schema. No
 * transport here (api_mcp.c is the HTTP side) and no tool's work
 * (mcp_tools.c): a tool is an entry of a table handed in. */
#ifndef LLMGATE_MCP_H
#define LLMGATE_MCP_H
#include <cjson/cJSON.h>
#include <stddef.h>

#define MCP_VERSION_MAX 16
#define MCP_VERSION_DEFAULT "2025-03-26"   /* a request without MCP-Protocol-Version */

/* JSON-RPC error codes */
#define MCP_PARSE_ERROR -32700
#define MCP_INVALID_REQUEST -32600
#define MCP_METHOD_NOT_FOUND -32601
#define MCP_INVALID_PARAMS -32602
#define MCP_INTERNAL_ERROR -32603

/* One tool: its name, description and input schema (JSON Schema text:
 * an object with "properties", "required", "additionalProperties"), and
 * what it does: fill result (a CallToolResult: "content", and "isError"
 * true for a failure the model should see) for args, which were checked
 * against the schema. */
struct mcp_tool {
	const char *name;
	const char *title;
	const char *description;
	const char *input_schema;
	void (*call)(void *ctx, const cJSON *args, cJSON *result);
};

struct mcp_server {
	const struct mcp_tool *tools;
	size_t ntools;
	void *ctx;                    /* handed to each tool's call */
};

/* What one body held, for the transport. */
struct mcp_outcome {
	int requests;                 /* requests answered (0: only notifications or responses) */
	int initialize;               /* one was an initialize that succeeded */
	char version[MCP_VERSION_MAX];/* ... and the version agreed */
};

/* Is v a protocol version this server speaks? */
int mcp_version_ok(const char *v);
/* The version to answer an initialize asking for v: v when spoken, else
 * the newest. */
const char *mcp_negotiate(const char *v);

/* Handle a body of n bytes: one message, or a batch (a non-empty array).
 * The answer (a response object, or an array of them), or NULL when there
 * is nothing to answer; errors as JSON-RPC errors (parse error, invalid
 * request with id null when the id cannot be read, method not found,
 * invalid params). */
cJSON *mcp_handle_text(const struct mcp_server *s, const char *body, size_t n, struct mcp_outcome *out);
/* Is body (n bytes) a single initialize request? (it needs no session) */
int mcp_is_initialize(const char *body, size_t n);

/* Check args against a tool's input schema text: types of the declared
 * properties (string, integer, number, boolean, object, array), the
 * required ones present, no others when additionalProperties is false,
 * integer "minimum"/"maximum". 1, or 0 with the reason in why. */
int mcp_args_ok(const char *schema, const cJSON *args, char *why, size_t whylen);
#endif

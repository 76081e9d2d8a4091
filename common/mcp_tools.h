/* mcp_tools.h — the tools the gateway's MCP server offers (the table
 * mcp.c lists and calls): ask a model, list the models, the caller's own
 * usage and quota, search a knowledge base. A new tool is one entry of the table in mcp_tools.c:
 * its name, title, description, input schema and call. */
#ifndef LLMGATE_MCP_TOOLS_H
#define LLMGATE_MCP_TOOLS_H
#include "api.h"
#include "mcp.h"

/* What a tool call knows: the HTTP request it came in (its snapshot,
 * worker, request id) and the gateway key that made it. */
struct mcp_tool_ctx {
	const struct api_call *call;
	const struct auth_entry *who;
};

extern const struct mcp_tool mcp_tools[];
extern const size_t mcp_tools_count;
#endif

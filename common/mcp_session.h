/* mcp_session.h — MCP sessions: made at initialize (Streamable HTTP) or
 * when a /sse stream opens (HTTP+SSE), owned by the gateway key that made
 * them, ended by DELETE, by their stream closing, or after session_idle_s
 * unused. A Streamable HTTP session is a small file in state_dir/run/mcp/
 * (its key id and version; its time of last use the file's), so every
 * router process of the state folder knows it, CGI included. An HTTP+SSE
 * session lives in the memory of the process holding its stream, with the
 * stream's queue: the answers to the POSTs of its message endpoint wait
 * there for the thread holding the stream. Thread-safe. */
#ifndef LLMGATE_MCP_SESSION_H
#define LLMGATE_MCP_SESSION_H
#include "mcp.h"
#include <stdint.h>

#define MCP_SESSION_ID_LEN 32      /* hex digits */
#define MCP_SESSIONS_MAX 4096

struct mcp_sessions;

/* The sessions of state_dir (its run/mcp/ is made when missing). */
struct mcp_sessions *mcp_sessions_new(const char *state_dir);
void mcp_sessions_free(struct mcp_sessions *t);

/* A new session of key_id (version "" until agreed; stream: an HTTP+SSE
 * session, its stream counted against the caps). 0 and its id, or -1 when
 * it cannot be stored, or (stream) the table is full, key_id already holds
 * per_key streams or all hold max. */
int mcp_session_new(struct mcp_sessions *t, const char *key_id, const char *version, int stream, int per_key,
		    int max, int64_t now_ms, char id[MCP_SESSION_ID_LEN + 1]);
/* Is id a live session of key_id? 1 (its version into version, when not
 * NULL; marked used), or 0. */
int mcp_session_get(struct mcp_sessions *t, const char *id, const char *key_id, int64_t now_ms,
		    char version[MCP_VERSION_MAX]);
/* Set a session's agreed version. */
void mcp_session_set_version(struct mcp_sessions *t, const char *id, const char *version);
/* End key_id's session id: 1, or 0 when there was none. Its stream, if
 * any, ends at its next wake. */
int mcp_session_end(struct mcp_sessions *t, const char *id, const char *key_id);
/* Queue text (one JSON-RPC message; copied) on key_id's stream session id:
 * 0, or -1 when there is no such session or stream, or the queue is full. */
int mcp_session_push(struct mcp_sessions *t, const char *id, const char *key_id, const char *text);
/* The stream's side: wait up to wait_ms for queued messages; the queue's
 * text (a new string: one SSE "message" event each), or NULL when none
 * came; *ended when the session ended (or idled out: no message for
 * idle_ms since the last). */
char *mcp_session_wait(struct mcp_sessions *t, const char *id, int wait_ms, long idle_ms, int *ended);
/* The stream of session id closed (its client went, or it ended): the
 * session ends and may be dropped. */
void mcp_session_stream_closed(struct mcp_sessions *t, const char *id);
/* End sessions unused for idle_ms (streams end on their own wait), also
 * other processes' files. */
void mcp_sessions_expire(struct mcp_sessions *t, int64_t now_ms, long idle_ms);
#endif

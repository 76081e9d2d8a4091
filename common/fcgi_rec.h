/* fcgi_rec.h — the FastCGI record layer, written by hand for answers sent
 * without blocking.
 *
 * libfcgi's FCGX streams write with blocking write(2): a thread that
 * writes to a slow client waits. An answer relayed from an event loop
 * instead encodes its records into a buffer of its own (capped: what is
 * held for one client) and writes what the socket takes; and it reads what
 * the web server sends on that connection meanwhile (an abort, a request
 * that would multiplex the connection, a management query) with an
 * incremental reader that takes any split of the bytes.
 *
 * The protocol's limits (FastCGI 1.0): version 1; a record's content at
 * most 65535 bytes, its padding at most 255; request id 0 for management
 * records only. The writer pads content to a multiple of 8 bytes. The
 * router serves one request per connection: a BEGIN_REQUEST for another id
 * is answered FCGI_CANT_MPX_CONN (fcgi_rec_reply), a GET_VALUES with
 * FCGI_MPXS_CONNS 0, an unknown management type with UNKNOWN_TYPE. */
#ifndef LLMGATE_FCGI_REC_H
#define LLMGATE_FCGI_REC_H
#include "buf.h"
#include <stddef.h>

#define FCGI_REC_HEADER 8
#define FCGI_REC_CONTENT_MAX 65535u
#define FCGI_REC_PADDING_MAX 255u

enum fcgi_rec_type {
	FCGI_REC_BEGIN_REQUEST = 1, FCGI_REC_ABORT_REQUEST = 2, FCGI_REC_END_REQUEST = 3,
	FCGI_REC_PARAMS = 4, FCGI_REC_STDIN = 5, FCGI_REC_STDOUT = 6, FCGI_REC_STDERR = 7,
	FCGI_REC_DATA = 8, FCGI_REC_GET_VALUES = 9, FCGI_REC_GET_VALUES_RESULT = 10,
	FCGI_REC_UNKNOWN_TYPE = 11,
};

/* END_REQUEST's protocolStatus */
enum { FCGI_REC_REQUEST_COMPLETE = 0, FCGI_REC_CANT_MPX_CONN = 1 };

/* Append n bytes of answer (the CGI head and body, as libfcgi's FCGX_PutStr
 * takes them) for request id as STDOUT records, each at most
 * FCGI_REC_CONTENT_MAX bytes of content, padded to 8. n = 0 appends
 * nothing (an empty STDOUT ends the stream: fcgi_rec_end). 0, or -1 when
 * out's cap would be passed (out unchanged). */
int fcgi_rec_stdout(struct buf *out, unsigned id, const void *p, size_t n);
/* Append the end of request id's answer: an empty STDOUT record, then
 * END_REQUEST (appStatus app_status, REQUEST_COMPLETE). 0, or -1 (out
 * unchanged) over out's cap. */
int fcgi_rec_end(struct buf *out, unsigned id, unsigned app_status);

/* Append an empty STDERR record for request id: the end of its error
 * stream (nothing is ever written to it), harmless to a web server that
 * is still there. Sent when the web server stopped sending: a connection
 * it only half-closed takes it, one it closed answers with an error,
 * which says that the client went away. 0, or -1 (out unchanged). */
int fcgi_rec_stderr_end(struct buf *out, unsigned id);
/* What the reader keeps of a record's content: enough for every record
 * the router acts on (BEGIN_REQUEST and END_REQUEST 8 bytes, ABORT_REQUEST
 * none, a GET_VALUES query), so that a reader costs little per open
 * stream; longer content (a late STDIN) is counted and skipped. */
#define FCGI_REC_KEEP 512

/* One record as the reader hands it on: len, its content's length (the
 * padding dropped); content, its first kept = min(len, FCGI_REC_KEEP)
 * bytes. */
struct fcgi_rec {
	unsigned type;
	unsigned id;
	const unsigned char *content;
	size_t kept;
	size_t len;
};
/* Called for each complete record; non-zero stops fcgi_rec_feed. */
typedef int (*fcgi_rec_cb)(const struct fcgi_rec *rec, void *user);

/* The incremental reader: a record's bytes may come in any pieces. */
struct fcgi_rec_reader {
	unsigned char head[FCGI_REC_HEADER];
	size_t have;       /* bytes of the current record so far, header included */
	unsigned char content[FCGI_REC_KEEP];
	int failed;
};
void fcgi_rec_reader_init(struct fcgi_rec_reader *rd);
/* Feed n bytes: cb for every record they complete, in order. Returns 0
 * when all were taken, the callback's non-zero value when it stopped (the
 * bytes after that record are not taken), or -1 on a record that breaks
 * the protocol (a version other than 1, a management type with an id, a
 * request record with id 0); the reader stays failed after -1. */
int fcgi_rec_feed(struct fcgi_rec_reader *rd, const void *p, size_t n, fcgi_rec_cb cb, void *user);

/* What the router says to a record the web server sends on the
 * connection of request id while its answer is under way: a BEGIN_REQUEST
 * for another id -> END_REQUEST FCGI_CANT_MPX_CONN for that id; GET_VALUES
 * -> GET_VALUES_RESULT naming FCGI_MPXS_CONNS 0 (when asked); a management
 * record of another type -> UNKNOWN_TYPE. Returns 1 when rec is an
 * ABORT_REQUEST of id (the client went away: stop), 0 otherwise; -1 when
 * out's cap was passed. Records of id's own request (its STDIN, PARAMS)
 * are ignored. */
int fcgi_rec_reply(struct buf *out, unsigned id, const struct fcgi_rec *rec);
#endif

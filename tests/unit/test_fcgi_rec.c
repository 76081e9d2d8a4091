/* test_fcgi_rec.c — the hand-written FastCGI record layer: records as the
 * protocol lays them out (header, content at most 65535, padding to 8),
 * the end of a request, the writer's cap, the reader in any pieces, its
 * refusals, and the answers to records that would multiplex. */
#include "autoconf.h"
#include "fcgi_rec.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

struct got {
	unsigned type[16], id[16];
	size_t len[16];
	struct buf stdout_all;
	int n;
};

static int collect(const struct fcgi_rec *rec, void *user)
{
	struct got *g = user;
	if (g->n < 16) {
		g->type[g->n] = rec->type;
		g->id[g->n] = rec->id;
		g->len[g->n] = rec->len;
	}
	g->n++;
	if (rec->type == FCGI_REC_STDOUT)
		buf_append(&g->stdout_all, rec->content, rec->kept);
	return 0;
}

static void layout(void)
{
	struct buf out;
	buf_init(&out, 1 << 20);
	is_int(fcgi_rec_stdout(&out, 1, "", 0), 0, "no bytes: fine");
	is_int(out.len, 0, "and no record (an empty STDOUT would end the stream)");
	fcgi_rec_stdout(&out, 0x1234, "hello", 5);
	is_int(out.len, 16, "5 bytes: header, content, 3 of padding");
	const unsigned char *h = (const unsigned char *)out.data;
	ok(h[0] == 1 && h[1] == FCGI_REC_STDOUT && h[2] == 0x12 && h[3] == 0x34 && h[4] == 0 && h[5] == 5 && h[6] == 3,
	   "version 1, STDOUT, the id and lengths big-endian");
	buf_reset(&out);
	char *big = malloc(70000);
	memset(big, 'x', 70000);
	fcgi_rec_stdout(&out, 1, big, 70000);
	h = (const unsigned char *)out.data;
	is_int(((size_t)h[4] << 8) | h[5], 65535, "the first record carries the most a record may");
	is_int(h[6], 1, "padded to 8");
	size_t second = 8 + 65535 + 1;
	h += second;
	is_int(((size_t)h[4] << 8) | h[5], 70000 - 65535, "the rest in a second record");
	is_int(out.len % 8, 0, "every record a multiple of 8 bytes");
	fcgi_rec_end(&out, 1, 0);
	h = (const unsigned char *)out.data + out.len - 24;
	ok(h[1] == FCGI_REC_STDOUT && h[5] == 0, "the end: an empty STDOUT");
	ok(h[9] == FCGI_REC_END_REQUEST && h[13] == 8 && h[20] == FCGI_REC_REQUEST_COMPLETE,
	   "then END_REQUEST, REQUEST_COMPLETE");

	/* read back, byte by byte */
	struct got g = { .n = 0 };
	buf_init(&g.stdout_all, 1 << 20);
	struct fcgi_rec_reader *rd = malloc(sizeof(*rd));
	fcgi_rec_reader_init(rd);
	int rc = 0;
	for (size_t i = 0; i < out.len && rc == 0; i++)
		rc = fcgi_rec_feed(rd, out.data + i, 1, collect, &g);
	is_int(rc, 0, "every byte taken");
	is_int(g.n, 4, "four records");
	ok(g.len[0] == 65535 && g.len[1] == 4465 && g.len[2] == 0 && g.type[3] == FCGI_REC_END_REQUEST,
	   "their lengths and types");
	is_int(g.stdout_all.len, 2 * FCGI_REC_KEEP, "the reader keeps the first FCGI_REC_KEEP bytes of each");
	free(rd);
	free(big);
	buf_free(&g.stdout_all);

	buf_reset(&out);
	is_int(fcgi_rec_stderr_end(&out, 0x0102), 0, "the end of the error stream");
	h = (const unsigned char *)out.data;
	ok(out.len == 8 && h[0] == 1 && h[1] == FCGI_REC_STDERR && h[2] == 1 && h[3] == 2 && h[4] == 0 && h[5] == 0 &&
	   h[6] == 0, "an empty STDERR record: a header alone");

	struct buf small;
	buf_init(&small, 20);
	is_int(fcgi_rec_stdout(&small, 1, "0123456789abcdef", 16), -1, "over the cap: refused");
	is_int(small.len, 0, "and nothing left of it");
	is_int(fcgi_rec_stdout(&small, 1, "0123", 4), 0, "a record that fits");
	is_int(fcgi_rec_end(&small, 1, 0), -1, "an end over the cap refused");
	is_int(small.len, 16, "leaving what was there");
	buf_free(&small);
	buf_free(&out);
}

static void refusals(void)
{
	struct fcgi_rec_reader rd;
	struct got g = { .n = 0 };
	buf_init(&g.stdout_all, 1024);
	unsigned char v2[8] = { 2, FCGI_REC_STDIN, 0, 1, 0, 0, 0, 0 };
	fcgi_rec_reader_init(&rd);
	is_int(fcgi_rec_feed(&rd, v2, 8, collect, &g), -1, "version 2 refused");
	unsigned char ok1[8] = { 1, FCGI_REC_ABORT_REQUEST, 0, 1, 0, 0, 0, 0 };
	is_int(fcgi_rec_feed(&rd, ok1, 8, collect, &g), -1, "and the reader stays failed");
	unsigned char mg[8] = { 1, FCGI_REC_GET_VALUES, 0, 1, 0, 0, 0, 0 };
	fcgi_rec_reader_init(&rd);
	is_int(fcgi_rec_feed(&rd, mg, 8, collect, &g), -1, "a management record with a request id refused");
	unsigned char app0[8] = { 1, FCGI_REC_STDIN, 0, 0, 0, 0, 0, 0 };
	fcgi_rec_reader_init(&rd);
	is_int(fcgi_rec_feed(&rd, app0, 8, collect, &g), -1, "a request record with id 0 refused");
	buf_free(&g.stdout_all);
}

static void replies(void)
{
	struct buf out;
	buf_init(&out, 4096);
	unsigned char begin[8] = { 0, 1, 0, 0 };
	struct fcgi_rec rec = { FCGI_REC_BEGIN_REQUEST, 2, begin, 8, 8 };
	is_int(fcgi_rec_reply(&out, 1, &rec), 0, "a second request on the connection: answered, go on");
	const unsigned char *h = (const unsigned char *)out.data;
	ok(out.len == 16 && h[1] == FCGI_REC_END_REQUEST && h[3] == 2 && h[12] == FCGI_REC_CANT_MPX_CONN,
	   "END_REQUEST CANT_MPX_CONN for its id");
	buf_reset(&out);
	rec = (struct fcgi_rec){ FCGI_REC_ABORT_REQUEST, 1, NULL, 0, 0 };
	is_int(fcgi_rec_reply(&out, 1, &rec), 1, "an abort of the request: stop");
	rec.id = 3;
	is_int(fcgi_rec_reply(&out, 1, &rec), 0, "an abort of another: nothing");
	rec = (struct fcgi_rec){ FCGI_REC_STDIN, 1, (const unsigned char *)"x", 1, 1 };
	is_int(fcgi_rec_reply(&out, 1, &rec), 0, "late STDIN ignored");
	is_int(out.len, 0, "nothing written for those");
	static const unsigned char q[] = "\x0f\x00" "FCGI_MPXS_CONNS" "\x0e\x00" "FCGI_MAX_CONNS";
	rec = (struct fcgi_rec){ FCGI_REC_GET_VALUES, 0, q, sizeof(q) - 1, sizeof(q) - 1 };
	is_int(fcgi_rec_reply(&out, 1, &rec), 0, "GET_VALUES answered");
	h = (const unsigned char *)out.data;
	ok(h[1] == FCGI_REC_GET_VALUES_RESULT && h[5] == 18 && !memcmp(h + 10, "FCGI_MPXS_CONNS0", 16),
	   "FCGI_MPXS_CONNS 0");
	buf_reset(&out);
	unsigned char none[8] = { 0 };
	rec = (struct fcgi_rec){ 42, 0, none, 0, 0 };
	fcgi_rec_reply(&out, 1, &rec);
	h = (const unsigned char *)out.data;
	ok(out.len == 16 && h[1] == FCGI_REC_UNKNOWN_TYPE && h[8] == 42, "an unknown management type: UNKNOWN_TYPE");
	buf_free(&out);
}

int main(void)
{
	layout();
	refusals();
	replies();
	return done_testing();
}

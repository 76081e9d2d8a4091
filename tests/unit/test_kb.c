/* test_kb.c — the knowledge-base pieces: chunking (characters not bytes,
 * Chinese sentence ends, paragraphs, overlap, no chunk over the size, all
 * text covered), the text extractors (kinds, HTML stripped of tags,
 * scripts and comments, entities; UTF-8 checks; JSON; empty text; PDF
 * through pdftotext when installed, a broken one refused), multipart
 * bodies, vector files (written, searched by cosine with a threshold,
 * top-k in order, another model seen as stale), and indexing with a fake
 * embedder: a file indexed whole or not at all, re-indexed when the
 * embedding model changes. */
#include "autoconf.h"
#include "config.h"
#include "kb_chunk.h"
#include "kb_index.h"
#include "kb_store.h"
#include "kb_text.h"
#include "kb_vec.h"
#include "multipart.h"
#include "settings.h"
#include "tap.h"
#include "xmalloc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct got {
	char *v[256];
	size_t n;
};

static int keep(const char *p, size_t n, void *user)
{
	struct got *g = user;
	if (g->n < 256) {
		g->v[g->n] = xmalloc(n + 1);
		memcpy(g->v[g->n], p, n);
		g->v[g->n++][n] = '\0';
	}
	return 0;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i]);
	g->n = 0;
}

static void test_chunk(void)
{
	struct got g = { 0 };
	const char *zh = "公司食堂位于主楼地下一层。午餐供应时间是十一点半到一点半！每周三中午提供素食自助餐？"
			 "班车每天早上七点五十出发。";
	long n = kb_chunk_split(zh, strlen(zh), 30, 0, keep, &g);
	ok(n >= 2, "Chinese text in %ld chunks of 30 characters", n);
	int within = 1, at_end = 1;
	for (size_t i = 0; i < g.n; i++) {
		within &= kb_chunk_chars(g.v[i], strlen(g.v[i])) <= 30;
		const char *e = g.v[i] + strlen(g.v[i]) - 3;
		at_end &= !strcmp(e, "。") || !strcmp(e, "！") || !strcmp(e, "？");
	}
	ok(within, "no chunk over 30 characters (bytes are 3 times more)");
	ok(at_end, "every chunk ends at a sentence end (。！？)");
	is_int(kb_chunk_chars("中文abc", strlen("中文abc")), 5, "characters, not bytes");
	got_free(&g);

	const char *en = "First paragraph is here.\n\nSecond paragraph has two sentences. This is the second one.\n\n"
			 "Third paragraph.";
	n = kb_chunk_split(en, strlen(en), 60, 0, keep, &g);
	ok(n >= 2 && !strcmp(g.v[0], "First paragraph is here."), "cut at the paragraph: '%s'", g.n ? g.v[0] : "");
	got_free(&g);

	char words[2000] = "";
	for (int i = 0; i < 150; i++)
		snprintf(words + strlen(words), sizeof(words) - strlen(words), "word%03d ", i);
	n = kb_chunk_split(words, strlen(words), 100, 30, keep, &g);
	int spaces = 1, overlap = 1;
	for (size_t i = 0; i < g.n; i++) {
		spaces &= kb_chunk_chars(g.v[i], strlen(g.v[i])) <= 100 && !strncmp(g.v[i], "word", 4);
		if (i) {   /* the last word of the chunk before is in this one */
			const char *last = strrchr(g.v[i - 1], ' ');
			overlap &= last && strstr(g.v[i], last + 1) != NULL;
		}
	}
	ok(n > 1 && spaces, "space-separated text cut between words");
	ok(overlap, "each chunk repeats the end of the one before");
	ok(strstr(g.v[g.n - 1], "word149") != NULL, "the text's end is in the last chunk");
	got_free(&g);

	is_int(kb_chunk_split(" \n\n ", 4, 100, 10, keep, &g), 0, "white space alone: no chunk");
	char mono[400];
	memset(mono, 'x', sizeof(mono));
	n = kb_chunk_split(mono, sizeof(mono), 100, 0, keep, &g);
	is_int(n, 4, "no boundary at all: cut at the size");
	got_free(&g);
}

static void test_text(void)
{
	is_int(kb_text_kind("a.MD", NULL, "", 0), KB_MARKDOWN, ".MD");
	is_int(kb_text_kind("a.htm", NULL, "", 0), KB_HTML, ".htm");
	is_int(kb_text_kind("blob", "text/csv; charset=utf-8", "", 0), KB_CSV, "by Content-Type");
	is_int(kb_text_kind("x", NULL, "%PDF-1.7", 8), KB_PDF, "by its first bytes");
	is_int(kb_text_kind("a.exe", "text/plain", "", 0), KB_UNKNOWN, "an extension we do not read");
	size_t len;
	const char *html = "<html><head><title>T</title><style>p{}</style><script>var x='<p>';</script></head>"
			   "<body><!-- note --><p>Fish &amp; chips &lt;3 &#x4E2D;&#25991;</p><br>next<b>bold</b></body></html>";
	char *t = kb_text_strip_html(html, strlen(html), &len);
	is_str(t, "T\n\nFish & chips <3 中文\n\nnext bold", "HTML: tags, scripts, styles, comments out; entities in");
	free(t);
	t = kb_text_strip_html("a < b <", 7, &len);
	is_str(t, "a < b <", "a lone '<' is text");
	free(t);
	ok(kb_text_utf8_ok("中文", 6) && !kb_text_utf8_ok("caf\xe9", 4) && !kb_text_utf8_ok("\xed\xa0\x80", 3) &&
	   !kb_text_utf8_ok("a\0b", 3) && !kb_text_utf8_ok("\xe4\xb8", 2) && !kb_text_utf8_ok("\xc0\xaf", 2),
	   "UTF-8: valid, Latin-1, surrogate, NUL, cut, overlong");
	char err[256], *out;
	ok(kb_text_extract(KB_JSON, "{\"a\":", 5, NULL, &out, &len, err, sizeof(err)) == -1 && strstr(err, "JSON"),
	   "broken JSON refused: %s", err);
	ok(kb_text_extract(KB_PLAIN, " \n\t", 3, NULL, &out, &len, err, sizeof(err)) == -1 && strstr(err, "no text"),
	   "white space alone refused: %s", err);
	ok(kb_text_extract(KB_UNKNOWN, "x", 1, NULL, &out, &len, err, sizeof(err)) == -1 && strstr(err, "unsupported"),
	   "unknown kind refused: %s", err);
	ok(kb_text_extract(KB_PLAIN, "\xef\xbb\xbfhi", 5, NULL, &out, &len, err, sizeof(err)) == 0 && !strcmp(out, "hi"),
	   "a BOM dropped");
	free(out);
	if (!kb_text_pdf_tool()) {
		ok(kb_text_extract(KB_PDF, "%PDF-1.4", 8, NULL, &out, &len, err, sizeof(err)) == -1 &&
		   strstr(err, "pdftotext"), "no pdftotext: said so");
		return;
	}
	ok(kb_text_extract(KB_PDF, "%PDF-1.4\nbroken", 15, NULL, &out, &len, err, sizeof(err)) == -1 &&
	   strstr(err, "could not be read"), "a broken PDF refused: %s", err);
	FILE *f = NULL;
	const char *dirs[] = { getenv("LLMGATE_SRCDIR"), ".", "..", "../.." };
	for (size_t i = 0; i < 4 && !f; i++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/tests/fixtures/kb/canal.pdf", dirs[i] ? dirs[i] : ".");
		f = fopen(p, "rb");
	}
	char pdf[4096];
	size_t pl = f ? fread(pdf, 1, sizeof(pdf), f) : 0;
	if (f)
		fclose(f);
	ok(pl && kb_text_extract(KB_PDF, pdf, pl, NULL, &out, &len, err, sizeof(err)) == 0 && strstr(out, "lock gates"),
	   "a PDF's text through pdftotext");
	if (pl)
		free(out);
}

static void test_multipart(void)
{
	char b[80], err[200];
	ok(multipart_boundary("multipart/form-data; boundary=\"abc d\"", b, sizeof(b)) == 0 && !strcmp(b, "abc d"),
	   "quoted boundary");
	ok(multipart_boundary("application/json", b, sizeof(b)) == -1, "not multipart");
	const char body[] = "preamble\r\n--XY\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nassistants\r\n"
			    "--XY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\\\dir\\\\a.txt\"\r\n"
			    "Content-Type: text/plain\r\n\r\nline1\r\n--XYnot\r\n\r\n--XY--\r\n";
	struct multipart_part p[4];
	int n = multipart_parse(body, sizeof(body) - 1, "XY", p, 4, err, sizeof(err));
	is_int(n, 2, "two parts");
	const struct multipart_part *f = multipart_find(p, n, "file");
	ok(f && !strcmp(f->filename, "a.txt") && !strcmp(f->ctype, "text/plain"), "file name cut to its last part");
	ok(f && f->len == 16 && !memcmp(f->data, "line1\r\n--XYnot\r\n", 16), "a delimiter inside a longer line is data");
	ok(multipart_parse(body, 60, "XY", p, 4, err, sizeof(err)) == -1, "cut short: refused (%s)", err);
	ok(multipart_parse(body, sizeof(body) - 1, "XY", p, 1, err, sizeof(err)) == -1, "more parts than room");
}

/* A deterministic fake embedding: letter counts, a model name that
 * decides a sign (so another model gives other vectors). */
static int fake_calls, fake_fail;
static int fake_embed(void *user, int as_admin, const char *const *texts, size_t n, float **out, int *dim, char *err,
		      size_t el)
{
	(void)user;
	(void)as_admin;
	fake_calls++;
	if (fake_fail) {
		snprintf(err, el, "fake failure");
		return -1;
	}
	*dim = 27;
	*out = xcalloc(n * 27, sizeof(float));
	for (size_t i = 0; i < n; i++) {
		for (const char *p = texts[i]; *p; p++)
			(*out)[i * 27 + ((*p | 32) >= 'a' && (*p | 32) <= 'z' ? (*p | 32) - 'a' : 26)] += 1;
	}
	return 0;
}

static void test_vec_and_index(void)
{
	char dir[] = "/tmp/llmgate-test-kb-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	struct config c;
	memset(&c, 0, sizeof(c));
	settings_defaults(&c);
	free(c.state_dir);
	c.state_dir = xstrdup(dir);
	c.rag_chunk_size = 100;
	c.rag_chunk_overlap = 0;

	/* vector files */
	float v[3 * 4] = { 1, 0, 0, 0, 0.9f, 0.1f, 0, 0, 0, 0, 1, 0 };
	const char *texts[3] = { "a", "bb", "ccc" };
	size_t lens[3] = { 1, 2, 3 };
	char path[4200];
	snprintf(path, sizeof(path), "%s/t.vec", dir);
	is_int(kb_vec_write(path, "m1", 4, 3, v, texts, lens), 0, "vector file written");
	char model[64];
	int dim;
	size_t count;
	ok(kb_vec_info(path, model, sizeof(model), &dim, &count) == 0 && !strcmp(model, "m1") && dim == 4 && count == 3,
	   "its head");
	struct kb_query q;
	float qv[4] = { 2, 0, 0, 0 };
	kb_vec_query_init(&q, qv, 4);
	struct kb_top top;
	kb_top_init(&top, 2);
	is_int(kb_vec_search(path, "m1", &q, 0.5f, "src", &top), 0, "searched");
	ok(top.n == 2 && !strcmp(top.v[0].text, "a") && !strcmp(top.v[1].text, "bb"), "top 2 in order");
	ok(fabsf(top.v[0].score - 1) < 0.01f && fabsf(top.v[1].score - 0.994f) < 0.01f, "cosine scores %.3f %.3f",
	   top.v[0].score, top.v[1].score);
	kb_top_free(&top);
	kb_top_init(&top, 5);
	kb_vec_search(path, "m1", &q, 0.999f, "src", &top);
	is_int(top.n, 1, "the threshold leaves one");
	kb_top_free(&top);
	kb_top_init(&top, 5);
	is_int(kb_vec_search(path, "m2", &q, 0, "src", &top), 1, "another model: stale, nothing scored");
	kb_top_free(&top);
	kb_vec_query_free(&q);

	/* indexing */
	char fid[KB_ID_MAX], vs[KB_ID_MAX], err[256];
	const char *doc = "Apples are red. Bananas are yellow.\n\nZebras are striped.";
	ok(kb_store_file_put(&c, "k1", "doc.txt", "assistants", "plain", strlen(doc), doc, strlen(doc), fid,
			     sizeof(fid)) == 0, "file kept");
	ok(kb_store_vs_create(&c, "k1", "s", vs, sizeof(vs)) == 0, "store made");
	struct kb_embedder e = { .fn = fake_embed, .model = "fake-1" };
	long chunks = 0;
	fake_fail = 1;
	ok(kb_index_file(&c, &e, 0, vs, fid, &chunks, err, sizeof(err)) == -1, "a failing embedder: refused");
	cJSON *files = kb_store_vs_files(&c, vs);
	is_int(cJSON_GetArraySize(files), 0, "nothing half indexed");
	cJSON_Delete(files);
	fake_fail = 0;
	ok(kb_index_file(&c, &e, 0, vs, fid, &chunks, err, sizeof(err)) == 0 && chunks >= 1, "indexed: %ld chunks", chunks);
	kb_top_init(&top, 1);
	const char *list[1] = { vs };
	fake_calls = 0;
	ok(kb_index_search(&c, &e, list, 1, "zebra stripes", 0, &top, err, sizeof(err)) == 0 && top.n == 1 &&
	   strstr(top.v[0].text, "Zebras") && !strcmp(top.v[0].source, fid), "searched: the zebra chunk, from the file");
	is_int(fake_calls, 1, "an up-to-date store: only the query embedded");
	kb_top_free(&top);
	struct kb_embedder e2 = { .fn = fake_embed, .model = "fake-2" };
	kb_top_init(&top, 1);
	fake_calls = 0;
	ok(kb_index_search(&c, &e2, list, 1, "apples", 0, &top, err, sizeof(err)) == 0 && top.n == 1,
	   "another embedding model: the store indexed again, then searched");
	ok(fake_calls >= 2, "the file embedded again (%d calls)", fake_calls);
	kb_top_free(&top);
	files = kb_store_vs_files(&c, vs);
	ok(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(files, 0), "model")),
		   "fake-2"), "its vectors are the new model's");
	cJSON_Delete(files);
	is_int(kb_store_vs_mark_pending(&c, vs, fid), 0, "marked for indexing");
	files = kb_store_vs_files(&c, vs);
	ok(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(files, 0), "status")),
		   "in_progress"), "listed in progress");
	cJSON_Delete(files);
	is_int(kb_index_sync(&c, &e2, vs, err, sizeof(err)), 0, "synced");
	files = kb_store_vs_files(&c, vs);
	ok(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(files, 0), "status")),
		   "completed"), "completed");
	cJSON_Delete(files);
	cJSON *meta = kb_store_vs_get(&c, vs);
	ok(kb_store_vs_visible(meta, "k1") && !kb_store_vs_visible(meta, "k2"), "a key's store: its own only");
	cJSON_Delete(meta);
	is_int(kb_store_vs_delete(&c, vs), 0, "store removed");
	ok(kb_store_vs_get(&c, vs) == NULL, "gone");
	kb_store_file_delete(&c, fid);
	config_free(&c);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ok(system(cmd) == 0, "cleaned up");
}

int main(void)
{
	test_chunk();
	test_text();
	test_multipart();
	test_vec_and_index();
	return done_testing();
}

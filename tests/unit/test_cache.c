/* test_cache.c — response cache: keys, TTL, LRU, reopen, locking, SSE replay, threads. */
#include "autoconf.h"
#include "cache.h"
#include "buf.h"
#include "log.h"
#include "tap.h"
#include "xmalloc.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NTHREADS 4
#define NOPS 2000
#define NKEYS 64

/* ------------------------------------------------------------ helpers */

static time_t fake_now = 1700000000;

static time_t fake_clock(void)
{
	return fake_now;
}

/* Key of a request given as JSON text. */
static void key_of(const char *json, const char *provider, const char *model, const char *scope,
		   char out[CACHE_KEY_HEX])
{
	cJSON *j = cJSON_Parse(json);
	if (!j)
		diag("bad test JSON: %s", json);
	cache_key(j, provider, model, scope, out);
	cJSON_Delete(j);
}

static int same_key(const char *a, const char *b)
{
	char ka[CACHE_KEY_HEX], kb[CACHE_KEY_HEX];
	key_of(a, "openai", "gpt-4o", "", ka);
	key_of(b, "openai", "gpt-4o", "", kb);
	return !strcmp(ka, kb);
}

/* A key made from a number, for store tests. */
static void num_key(int n, char out[CACHE_KEY_HEX])
{
	char json[64];
	snprintf(json, sizeof(json), "{\"n\":%d}", n);
	key_of(json, "p", "m", "", out);
}

/* A body of size bytes, its content determined by n. */
static char *body_of(int n, size_t size)
{
	char *b = xmalloc(size + 1);
	int k = snprintf(b, size + 1, "{\"n\":%d,\"pad\":\"", n);
	for (size_t i = (size_t)k; i < size; i++)
		b[i] = (char)('a' + n % 26);
	if (size >= 2) {
		b[size - 2] = '"';
		b[size - 1] = '}';
	}
	b[size] = '\0';
	return b;
}

static int present(struct cache *c, int n)
{
	char k[CACHE_KEY_HEX];
	num_key(n, k);
	char *b = cache_get(c, k, NULL, NULL);
	free(b);
	return b != NULL;
}

static int put_num(struct cache *c, int n, size_t size)
{
	char k[CACHE_KEY_HEX];
	num_key(n, k);
	char *b = body_of(n, size);
	int r = cache_put(c, k, b, size);
	free(b);
	return r;
}

/* ------------------------------------------------------------ keys */

static void test_keys(void)
{
	static const char base[] =
		"{\"model\":\"gpt\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
		"{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.7,\"stream\":false,"
		"\"user\":\"alice\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
		"\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}]}";
	char k1[CACHE_KEY_HEX], k2[CACHE_KEY_HEX];

	key_of(base, "openai", "gpt-4o", "", k1);
	is_int(strlen(k1), 64, "key is 64 characters");
	ok(strspn(k1, "0123456789abcdef") == 64, "key is lowercase hex");
	key_of(base, "openai", "gpt-4o", "", k2);
	is_str(k1, k2, "same request, same key");

	ok(same_key(base,
		    "{\"tools\":[{\"function\":{\"parameters\":{\"properties\":{\"a\":{\"type\":\"string\"}},"
		    "\"type\":\"object\"},\"name\":\"f\"},\"type\":\"function\"}],\"user\":\"alice\","
		    "\"stream\":false,\"temperature\":0.7,\"messages\":[{\"content\":\"be brief\",\"role\":\"system\"},"
		    "{\"content\":\"hi\",\"role\":\"user\"}],\"model\":\"gpt\"}"),
	   "key order does not matter, at any depth");
	ok(same_key(base,
		    "{\"model\":\"other-public-name\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
		    "{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.70,\"stream\":true,"
		    "\"stream_options\":{\"include_usage\":true},\"user\":\"bob\",\"metadata\":{\"x\":\"y\"},"
		    "\"store\":true,\"service_tier\":\"auto\",\"safety_identifier\":\"s\",\"prompt_cache_key\":\"k\","
		    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
		    "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}]}"),
	   "stream, stream_options, user, metadata, store, service_tier, model... ignored");
	ok(same_key("{\"max_tokens\":100}", "{\"max_tokens\":100.0}"), "numbers compare by value");

	ok(!same_key(base,
		     "{\"model\":\"gpt\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
		     "{\"role\":\"user\",\"content\":\"hi!\"}],\"temperature\":0.7,\"stream\":false,"
		     "\"user\":\"alice\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
		     "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}]}"),
	   "a different message, a different key");
	ok(!same_key(base,
		     "{\"model\":\"gpt\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
		     "{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.8,\"stream\":false,"
		     "\"user\":\"alice\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
		     "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}]}"),
	   "a different temperature, a different key");
	ok(!same_key(base,
		     "{\"model\":\"gpt\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
		     "{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.7,\"stream\":false,"
		     "\"user\":\"alice\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"g\","
		     "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}]}"),
	   "different tools, a different key");
	ok(!same_key(base,
		     "{\"model\":\"gpt\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
		     "{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.7,\"stream\":false,"
		     "\"user\":\"alice\"}"),
	   "no tools, a different key");
	ok(!same_key(base,
		     "{\"model\":\"gpt\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
		     "{\"role\":\"system\",\"content\":\"be brief\"}],\"temperature\":0.7,\"stream\":false,"
		     "\"user\":\"alice\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
		     "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}]}"),
	   "message order matters");
	ok(!same_key("{\"messages\":[],\"parallel_tool_calls\":false}", "{\"messages\":[]}"),
	   "parallel_tool_calls counts");
	ok(!same_key("{\"messages\":[],\"n\":2}", "{\"messages\":[]}"), "n counts");
	ok(!same_key("{\"a\":\"1\"}", "{\"a\":1}"), "a string is not a number");
	ok(!same_key("{\"a\":[\"x\",\"y\"]}", "{\"a\":[\"xy\"]}"), "no ambiguity between strings");
	ok(!same_key("{\"x\":{\"user\":1}}", "{\"x\":{}}"), "ignored names are ignored at the top level only");

	key_of(base, "deepseek", "gpt-4o", "", k2);
	ok(strcmp(k1, k2) != 0, "a different provider, a different key");
	key_of(base, "openai", "gpt-4o-mini", "", k2);
	ok(strcmp(k1, k2) != 0, "a different upstream model, a different key");
	key_of(base, "openai", "gpt-4o", "key-1", k2);
	ok(strcmp(k1, k2) != 0, "a different scope, a different key");
	key_of(base, NULL, NULL, NULL, k2);
	key_of(base, "", "", "", k1);
	is_str(k1, k2, "NULL names are empty names");
}

/* ------------------------------------------------------------ store */

static void test_store(const char *dir)
{
	struct cache_stats st;
	char k[CACHE_KEY_HEX], k2[CACHE_KEY_HEX];
	size_t len = 0;
	long age = -1;
	char *got;
	static const char body[] = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[]}";

	struct cache *c = cache_open(dir, 60, 8000);
	ok(c != NULL, "open");
	if (!c)
		return;
	cache_set_clock(c, fake_clock);
	num_key(1, k);
	num_key(2, k2);
	ok(cache_get(c, k, &len, &age) == NULL, "empty cache misses");
	is_int(cache_put(c, k, body, strlen(body)), 0, "put");
	fake_now += 5;
	got = cache_get(c, k, &len, &age);
	is_str(got, body, "get returns the body");
	is_int(len, strlen(body), "and its length");
	is_int(age, 5, "and its age");
	free(got);
	ok(cache_get(c, k2, &len, &age) == NULL, "another key misses");
	char badk[CACHE_KEY_HEX];
	memcpy(badk, k, sizeof(badk));
	badk[10] = 'g';
	ok(cache_get(c, badk, &len, &age) == NULL, "a malformed key misses");
	is_int(cache_put(c, badk, body, strlen(body)), -1, "a malformed key is not stored");

	/* replace */
	is_int(cache_put(c, k, "{}", 2), 0, "put again replaces");
	got = cache_get(c, k, &len, &age);
	is_str(got, "{}", "the new body");
	is_int(age, 0, "stored now");
	free(got);
	cache_stats(c, &st);
	is_int(st.entries, 1, "one entry");
	is_int(st.bytes, 2, "its bytes");
	is_int(st.hits, 2, "two hits");
	is_int(st.misses, 2, "two misses (a malformed key is no lookup)");

	/* TTL: 60 s */
	fake_now += 59;
	got = cache_get(c, k, &len, &age);
	ok(got != NULL, "59 s old: a hit");
	is_int(age, 59, "age 59");
	free(got);
	fake_now += 1;
	ok(cache_get(c, k, &len, &age) == NULL, "60 s old: expired");
	cache_stats(c, &st);
	is_int(st.expired, 1, "counted as expired");
	is_int(st.entries, 0, "and removed");
	is_int(st.bytes, 0, "bytes back to 0");

	/* oversize: max_bytes / 8 = 1000 */
	is_int(put_num(c, 10, 1001), -1, "a body over max_bytes/8 is not stored");
	ok(!present(c, 10), "and not found");
	is_int(put_num(c, 10, 1000), 0, "a body of max_bytes/8 is stored");
	ok(present(c, 10), "and found");
	cache_close(c);
}

static void test_lru(const char *dir)
{
	struct cache_stats st;
	struct cache *c = cache_open(dir, 0, 8000);
	ok(c != NULL, "open for LRU");
	if (!c)
		return;
	cache_set_clock(c, fake_clock);
	for (int i = 0; i < 8; i++) {
		fake_now++;
		put_num(c, 100 + i, 900);
	}
	cache_stats(c, &st);
	is_int(st.entries, 8, "8 entries of 900 bytes fit in 8000");
	is_int(st.bytes, 7200, "7200 bytes");
	ok(present(c, 100), "touch the oldest");
	fake_now++;
	is_int(put_num(c, 108, 900), 0, "a ninth");
	cache_stats(c, &st);
	is_int(st.evictions, 1, "one eviction");
	is_int(st.entries, 8, "still 8 entries");
	ok(st.bytes <= 8000, "bytes under the cap");
	ok(present(c, 100), "the touched entry survived");
	ok(!present(c, 101), "the least recently used went");
	ok(present(c, 102) && present(c, 108), "the others stay");
	fake_now++;
	put_num(c, 109, 1000);   /* 8*900 - 900 + 1000 > 8000: two go */
	ok(!present(c, 103), "next LRU evicted");
	cache_stats(c, &st);
	is_int(st.evictions, 2, "two evictions");
	ok(st.bytes <= 8000, "bytes under the cap: %zu", st.bytes);

	/* reopen keeps entries and bytes */
	struct cache_stats before = st;
	cache_close(c);
	c = cache_open(dir, 0, 8000);
	ok(c != NULL, "reopen");
	if (!c)
		return;
	cache_stats(c, &st);
	is_int(st.entries, before.entries, "entries kept across reopen");
	is_int(st.bytes, before.bytes, "bytes kept across reopen");
	char k[CACHE_KEY_HEX];
	num_key(109, k);
	size_t len = 0;
	char *got = cache_get(c, k, &len, NULL);
	char *want = body_of(109, 1000);
	is_mem(got, len, want, 1000, "a body read back after reopen");
	free(got);
	free(want);
	cache_close(c);

	/* reopen with a smaller cap evicts the oldest-stored */
	c = cache_open(dir, 0, 2000);
	ok(c != NULL, "reopen smaller");
	if (!c)
		return;
	cache_stats(c, &st);
	is_int(st.entries, 2, "evicted down to the new cap");
	ok(present(c, 109) && present(c, 108), "the newest stay");
	cache_close(c);

	/* reopen with a short TTL drops expired entries */
	c = cache_open(dir, 1, 8000);
	ok(c != NULL, "reopen with ttl 1 s");
	if (!c)
		return;
	cache_stats(c, &st);
	is_int(st.entries, 0, "old entries dropped at open");
	is_int(st.expired, 2, "counted as expired");
	cache_close(c);
}

static void test_lock(const char *dir)
{
	struct cache *c = cache_open(dir, 60, 100000);
	ok(c != NULL, "open for the lock test");
	if (!c)
		return;
	for (int round = 0; round < 2; round++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			struct cache *c2 = cache_open(dir, 60, 100000);
			_exit(c2 == NULL ? 0 : 1);
		}
		int status = -1;
		waitpid(pid, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "%s: another process gets NULL", round ? "after a compaction" : "held");
		if (round == 0) {
			put_num(c, 1, 500);
			is_int(cache_reorganize(c), 0, "compaction");
			ok(present(c, 1), "entries survive compaction");
		}
	}
	cache_close(c);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct cache *c2 = cache_open(dir, 60, 100000);
		int r = c2 != NULL && present(c2, 1);
		cache_close(c2);
		_exit(r ? 0 : 1);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "once closed, another process opens it");
}

static void test_damaged(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/cache.db", dir);
	FILE *f = fopen(path, "w");
	if (f) {
		for (int i = 0; i < 200; i++)
			fputs("this is not a gdbm file ", f);
		fclose(f);
	}
	struct cache *c = cache_open(dir, 60, 100000);
	ok(c != NULL, "a damaged file is replaced");
	is_int(put_num(c, 5, 300), 0, "and the cache works");
	ok(present(c, 5), "round trip");
	cache_close(c);
	unlink(path);
}

static void test_compaction(const char *dir)
{
	struct cache_stats st;
	char path[512];
	struct stat sb;
	const size_t max = 200000;
	struct cache *c = cache_open(dir, 0, max);
	unsigned int seed = 7;

	ok(c != NULL, "open for compaction");
	if (!c)
		return;
	snprintf(path, sizeof(path), "%s/cache.db", dir);
	/* churn with bodies of every size: the file must not keep growing */
	for (int i = 0; i < 4000; i++)
		put_num(c, i, 100 + (size_t)rand_r(&seed) % (max / 8 - 100));
	cache_stats(c, &st);
	ok(st.evictions > 3500, "evictions: %lu", st.evictions);
	ok(st.bytes <= max, "bytes under the cap");
	int r = stat(path, &sb);
	long long size = r == 0 ? (long long)sb.st_size : -1;
	ok(r == 0 && size < (long long)(2 * max + CACHE_REORG_SLACK), "file stays bounded: %lld bytes for %zu live, %lu compactions",
	   size, st.bytes, st.compactions);
	ok(present(c, 3999), "the newest is there");
	unsigned long before = st.compactions;
	is_int(cache_reorganize(c), 0, "explicit compaction");
	cache_stats(c, &st);
	is_int(st.compactions, before + 1, "counted");
	r = stat(path, &sb);
	ok(r == 0 && (long long)sb.st_size <= size, "not larger after: %lld bytes", r == 0 ? (long long)sb.st_size : -1LL);
	ok(present(c, 3999), "entries readable after compaction");
	for (int i = 4000; i < 4300; i++)
		put_num(c, i, 100 + (size_t)rand_r(&seed) % (max / 8 - 100));
	ok(present(c, 4299), "and writable");
	struct cache_stats st2 = st;
	cache_stats(c, &st);
	cache_close(c);
	c = cache_open(dir, 0, max);
	cache_stats(c, &st2);
	is_int(st2.entries, st.entries, "entries kept across reopen after compaction");
	is_int(st2.bytes, st.bytes, "bytes kept too");
	cache_close(c);
	unlink(path);
}

/* ------------------------------------------------------------ SSE replay */

#define MAXCH 4
#define MAXTC 4

struct replay {
	int chunks, done, after_done, bad, usage_chunks, usage_null;
	char *id, *model, *fp;
	double created;
	cJSON *usage;
	struct buf role[MAXCH], content[MAXCH], reasoning[MAXCH], finish[MAXCH];
	struct buf tc_id[MAXCH][MAXTC], tc_type[MAXCH][MAXTC], tc_name[MAXCH][MAXTC], tc_args[MAXCH][MAXTC];
	int ntc[MAXCH];
	int nchoices;
};

static void rp_init(struct replay *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < MAXCH; i++) {
		buf_init(&r->role[i], 1 << 20);
		buf_init(&r->content[i], 1 << 20);
		buf_init(&r->reasoning[i], 1 << 20);
		buf_init(&r->finish[i], 1 << 20);
		for (int j = 0; j < MAXTC; j++) {
			buf_init(&r->tc_id[i][j], 1 << 20);
			buf_init(&r->tc_type[i][j], 1 << 20);
			buf_init(&r->tc_name[i][j], 1 << 20);
			buf_init(&r->tc_args[i][j], 1 << 20);
		}
	}
}

static void rp_free(struct replay *r)
{
	for (int i = 0; i < MAXCH; i++) {
		buf_free(&r->role[i]);
		buf_free(&r->content[i]);
		buf_free(&r->reasoning[i]);
		buf_free(&r->finish[i]);
		for (int j = 0; j < MAXTC; j++) {
			buf_free(&r->tc_id[i][j]);
			buf_free(&r->tc_type[i][j]);
			buf_free(&r->tc_name[i][j]);
			buf_free(&r->tc_args[i][j]);
		}
	}
	free(r->id);
	free(r->model);
	free(r->fp);
	cJSON_Delete(r->usage);
}

static void append_str(struct buf *b, const cJSON *s)
{
	if (cJSON_IsString(s))
		buf_puts(b, s->valuestring);
}

static void rp_chunk(struct replay *r, cJSON *j)
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(j, "object");
	if (!cJSON_IsString(obj) || strcmp(obj->valuestring, "chat.completion.chunk"))
		r->bad++;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "id");
	if (cJSON_IsString(v) && !r->id)
		r->id = xstrdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "model");
	if (cJSON_IsString(v) && !r->model)
		r->model = xstrdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "system_fingerprint");
	if (cJSON_IsString(v) && !r->fp)
		r->fp = xstrdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "created");
	if (cJSON_IsNumber(v))
		r->created = v->valuedouble;
	cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
	if (cJSON_IsNull(u))
		r->usage_null++;
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
	if (!cJSON_IsArray(choices)) {
		r->bad++;
		return;
	}
	if (cJSON_GetArraySize(choices) == 0) {
		r->usage_chunks++;
		if (cJSON_IsObject(u) && !r->usage)
			r->usage = cJSON_Duplicate(u, 1);
		return;
	}
	const cJSON *ch;
	cJSON_ArrayForEach(ch, choices) {
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ch, "index");
		int i = cJSON_IsNumber(idx) ? (int)idx->valuedouble : -1;
		if (i < 0 || i >= MAXCH) {
			r->bad++;
			continue;
		}
		if (i + 1 > r->nchoices)
			r->nchoices = i + 1;
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(ch, "delta");
		if (!cJSON_IsObject(d))
			r->bad++;
		append_str(&r->role[i], cJSON_GetObjectItemCaseSensitive(d, "role"));
		append_str(&r->content[i], cJSON_GetObjectItemCaseSensitive(d, "content"));
		append_str(&r->reasoning[i], cJSON_GetObjectItemCaseSensitive(d, "reasoning_content"));
		append_str(&r->finish[i], cJSON_GetObjectItemCaseSensitive(ch, "finish_reason"));
		const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(d, "tool_calls"), *tc;
		cJSON_ArrayForEach(tc, tcs) {
			const cJSON *ti = cJSON_GetObjectItemCaseSensitive(tc, "index");
			int t = cJSON_IsNumber(ti) ? (int)ti->valuedouble : -1;
			if (t < 0 || t >= MAXTC) {
				r->bad++;
				continue;
			}
			if (t + 1 > r->ntc[i])
				r->ntc[i] = t + 1;
			const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
			append_str(&r->tc_id[i][t], cJSON_GetObjectItemCaseSensitive(tc, "id"));
			append_str(&r->tc_type[i][t], cJSON_GetObjectItemCaseSensitive(tc, "type"));
			append_str(&r->tc_name[i][t], cJSON_GetObjectItemCaseSensitive(fn, "name"));
			append_str(&r->tc_args[i][t], cJSON_GetObjectItemCaseSensitive(fn, "arguments"));
		}
	}
}

/* Parse an SSE stream of "data: ...\n\n" events the way a client would. */
static void rp_parse(struct replay *r, const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	while (p < end) {
		const char *e = memmem(p, (size_t)(end - p), "\n\n", 2);
		if (!e || strncmp(p, "data: ", 6) != 0) {
			r->bad++;
			return;
		}
		const char *d = p + 6;
		size_t dl = (size_t)(e - d);
		if (memchr(d, '\n', dl))
			r->bad++;
		if (r->done)
			r->after_done++;
		if (dl == 6 && !memcmp(d, "[DONE]", 6)) {
			r->done++;
		} else {
			cJSON *j = cJSON_ParseWithLength(d, dl);
			if (!j)
				r->bad++;
			else
				rp_chunk(r, j);
			cJSON_Delete(j);
			r->chunks++;
		}
		p = e + 2;
	}
}

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* Replay body and compare what a client rebuilds with the original. */
static void check_replay(const char *label, const char *body, int include_usage)
{
	struct buf out;
	struct replay r;
	cJSON *orig = cJSON_Parse(body);
	buf_init(&out, 1 << 20);
	rp_init(&r);
	is_int(cache_to_sse(body, strlen(body), include_usage, &out), 0, label);
	rp_parse(&r, out.data, out.len);
	is_int(r.bad, 0, "  well-formed chunks");
	is_int(r.done, 1, "  ends with [DONE]");
	is_int(r.after_done, 0, "  nothing after [DONE]");
	is_str(r.id, jstr(orig, "id"), "  id kept");
	is_str(r.model, jstr(orig, "model"), "  model kept");
	const cJSON *fp = cJSON_GetObjectItemCaseSensitive(orig, "system_fingerprint");
	if (cJSON_IsString(fp))
		is_str(r.fp, fp->valuestring, "  system_fingerprint kept");
	is_int((long long)r.created, (long long)cJSON_GetObjectItemCaseSensitive(orig, "created")->valuedouble,
	       "  created kept");
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(orig, "choices");
	is_int(r.nchoices, cJSON_GetArraySize(choices), "  every choice");
	const cJSON *ch;
	cJSON_ArrayForEach(ch, choices) {
		int i = (int)cJSON_GetObjectItemCaseSensitive(ch, "index")->valuedouble;
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(ch, "message");
		is_str(buf_str(&r.role[i]), "assistant", "  role");
		is_str(buf_str(&r.content[i]), jstr(m, "content"), "  content rebuilt");
		is_str(buf_str(&r.reasoning[i]), jstr(m, "reasoning_content"), "  reasoning_content rebuilt");
		is_str(buf_str(&r.finish[i]), jstr(ch, "finish_reason"), "  finish_reason");
		const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(m, "tool_calls"), *tc;
		is_int(r.ntc[i], cJSON_GetArraySize(tcs), "  tool call count");
		int t = 0;
		cJSON_ArrayForEach(tc, tcs) {
			const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
			is_str(buf_str(&r.tc_id[i][t]), jstr(tc, "id"), "  tool call id");
			is_str(buf_str(&r.tc_type[i][t]), jstr(tc, "type"), "  tool call type");
			is_str(buf_str(&r.tc_name[i][t]), jstr(fn, "name"), "  tool call name");
			is_str(buf_str(&r.tc_args[i][t]), jstr(fn, "arguments"), "  tool call arguments");
			t++;
		}
	}
	if (include_usage) {
		is_int(r.usage_chunks, 1, "  one usage chunk");
		ok(cJSON_Compare(r.usage, cJSON_GetObjectItemCaseSensitive(orig, "usage"), 1), "  stored usage");
		is_int(r.usage_null, r.chunks - 1, "  the other chunks say usage null");
		ok(out.len > 20 && strstr(out.data, "\"choices\":[],\"usage\":{") != NULL, "  usage chunk is last but [DONE]");
	} else {
		is_int(r.usage_chunks, 0, "  no usage chunk");
		is_int(r.usage_null, 0, "  no usage member");
	}
	rp_free(&r);
	buf_free(&out);
	cJSON_Delete(orig);
}

static void test_sse(void)
{
	static const char text[] =
		"{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\",\"created\":1700000123,"
		"\"model\":\"deepseek-reasoner\",\"system_fingerprint\":\"fp_x1\","
		"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
		"\"content\":\"Hello \\\"world\\\"\\n\\u4f60\\u597d\",\"reasoning_content\":\"think\\tfirst\"},"
		"\"logprobs\":null,\"finish_reason\":\"stop\"}],"
		"\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":20,\"total_tokens\":30,"
		"\"completion_tokens_details\":{\"reasoning_tokens\":5}}}";
	static const char tools[] =
		"{\"id\":\"chatcmpl-t\",\"object\":\"chat.completion\",\"created\":1700000200,\"model\":\"gpt-4o\","
		"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
		"\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
		"\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},{\"id\":\"call_2\",\"type\":\"function\","
		"\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}],"
		"\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":30,\"total_tokens\":80}}";
	static const char multi[] =
		"{\"id\":\"chatcmpl-n\",\"object\":\"chat.completion\",\"created\":1700000300,\"model\":\"gpt-4o\","
		"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"one\"},\"finish_reason\":\"stop\"},"
		"{\"index\":1,\"message\":{\"role\":\"assistant\",\"content\":\"two, longer\"},\"finish_reason\":\"length\"}],"
		"\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}";
	struct buf out;

	check_replay("text + reasoning, with usage", text, 1);
	check_replay("text + reasoning, without usage", text, 0);
	check_replay("tool calls, with usage", tools, 1);
	check_replay("tool calls, without usage", tools, 0);
	check_replay("n=2, with usage", multi, 1);
	check_replay("n=2, without usage", multi, 0);

	buf_init(&out, 1 << 20);
	buf_puts(&out, "keep");
	static const char notcc[] = "{\"object\":\"list\",\"data\":[]}";
	is_int(cache_to_sse(notcc, strlen(notcc), 1, &out), -1, "not a chat.completion: -1");
	is_int(cache_to_sse("{\"id\":", 6, 1, &out), -1, "not JSON: -1");
	is_int(cache_to_sse("{\"object\":\"chat.completion\"}", 28, 1, &out), -1, "no choices: -1");
	is_str(buf_str(&out), "keep", "out unchanged on failure");
	buf_free(&out);

	buf_init(&out, 200);
	buf_puts(&out, "keep");
	is_int(cache_to_sse(text, strlen(text), 1, &out), -1, "over the cap: -1");
	is_str(buf_str(&out), "keep", "out unchanged when over the cap");
	buf_free(&out);

	/* first event is the role chunk, exactly like OpenAI's */
	buf_init(&out, 1 << 20);
	cache_to_sse(multi, strlen(multi), 0, &out);
	static const char role[] =
		"data: {\"id\":\"chatcmpl-n\",\"object\":\"chat.completion.chunk\",\"created\":1700000300,"
		"\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
		"\"logprobs\":null,\"finish_reason\":null}]}\n\n";
	ok(out.len >= strlen(role) && !strncmp(out.data, role, strlen(role)), "role chunk shape");
	if (out.len < strlen(role) || strncmp(out.data, role, strlen(role)))
		diag("%s", buf_str(&out));
	buf_free(&out);
}

/* ------------------------------------------------------------ threads */

struct hammer {
	struct cache *c;
	int seed;
	unsigned long gets, hits, puts, bad;
};

static size_t size_of(int n)
{
	return 200 + (size_t)n * 50;
}

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	unsigned int s = (unsigned int)h->seed;
	for (int i = 0; i < NOPS; i++) {
		int n = rand_r(&s) % NKEYS;
		char k[CACHE_KEY_HEX];
		num_key(n, k);
		if (rand_r(&s) % 2) {
			size_t len = 0;
			long age = -1;
			char *b = cache_get(h->c, k, &len, &age);
			h->gets++;
			if (b) {
				char *want = body_of(n, size_of(n));
				h->hits++;
				if (len != size_of(n) || memcmp(b, want, len) != 0 || age < 0)
					h->bad++;
				free(want);
				free(b);
			}
		} else {
			char *b = body_of(n, size_of(n));
			if (cache_put(h->c, k, b, size_of(n)) == 0)
				h->puts++;
			else
				h->bad++;
			free(b);
		}
	}
	return NULL;
}

static void test_threads(const char *dir)
{
	struct cache_stats st, st2;
	struct hammer h[NTHREADS];
	pthread_t t[NTHREADS];
	unsigned long gets = 0, hits = 0, puts = 0, bad = 0;
	size_t bytes = 0;
	unsigned long entries = 0;
	struct cache *c = cache_open(dir, 3600, 40000);   /* bodies 200..3350 bytes, about 1/3 fit */

	ok(c != NULL, "open for threads");
	if (!c)
		return;
	for (int i = 0; i < NTHREADS; i++) {
		h[i] = (struct hammer){ .c = c, .seed = 1234 + i };
		pthread_create(&t[i], NULL, hammer_run, &h[i]);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		gets += h[i].gets;
		hits += h[i].hits;
		puts += h[i].puts;
		bad += h[i].bad;
	}
	cache_stats(c, &st);
	is_int(bad, 0, "threads: every hit had the right body, every put stored");
	is_int(gets + puts, NTHREADS * NOPS, "threads: all operations done");
	is_int(st.hits, hits, "threads: hits counted");
	is_int(st.misses, gets - hits, "threads: misses counted");
	ok(st.evictions > 0, "threads: evictions happened (%lu)", st.evictions);
	ok(st.bytes <= 40000, "threads: bytes under the cap (%zu)", st.bytes);
	for (int n = 0; n < NKEYS; n++) {
		if (present(c, n)) {
			entries++;
			bytes += size_of(n);
		}
	}
	is_int(st.entries, entries, "threads: entries match what is found");
	is_int(st.bytes, bytes, "threads: bytes match what is found");
	cache_close(c);
	c = cache_open(dir, 3600, 40000);
	cache_stats(c, &st2);
	is_int(st2.entries, st.entries, "threads: entries after reopen");
	is_int(st2.bytes, st.bytes, "threads: bytes after reopen");
	cache_close(c);
}

int main(void)
{
	char dir[] = "/tmp/llmgate-test-cache-XXXXXX";
	char path[512];
	struct cache_stats st;

	log_init("test", LOG_ERR);
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/cache.db", dir);

	test_keys();
	test_store(dir);
	unlink(path);
	test_lru(dir);
	unlink(path);
	test_lock(dir);
	unlink(path);
	test_damaged(dir);
	test_compaction(dir);
	test_sse();
	test_threads(dir);
	unlink(path);

	/* no cache: every call is harmless */
	char k[CACHE_KEY_HEX];
	num_key(1, k);
	ok(cache_get(NULL, k, NULL, NULL) == NULL, "NULL cache: get misses");
	is_int(cache_put(NULL, k, "{}", 2), -1, "NULL cache: put fails");
	cache_stats(NULL, &st);
	is_int(st.entries, 0, "NULL cache: zero stats");
	cache_close(NULL);
	snprintf(path, sizeof(path), "%s/missing/dir", dir);
	ok(cache_open(path, 60, 1000) == NULL, "an unusable directory: NULL");

	rmdir(dir);
	return done_testing();
}

/* kb_bench.c — the knowledge bases' figures (make bench-kb; also part of
 * make bench): N chunks (default 10,000) of D dimensions (1,024) indexed
 * into a store through kb_index_file with a stand-in embedder (seeded
 * gaussian vectors; the embedding call itself is not measured), then
 * top-5 searches through kb_index_search, the router's own code path.
 *
 * Prints: ingestion rate (chunks/s: chunking, quantising, writing), bytes
 * per chunk on disk, search time per query (median and 95th percentile
 * over Q queries, each a chunk's vector with noise), recall@5 of the int8
 * vectors against exact float cosine, and the process's anonymous memory
 * (heap) before and after searching a store of N/10 chunks and one of N:
 * the vectors are read through mmap, so the heap must not grow with the
 * corpus (the file pages are the page cache's, shown as RssFile).
 *
 *   kb_bench [chunks] [dims] [queries] */
#include "autoconf.h"
#include "config.h"
#include "kb_index.h"
#include "kb_store.h"
#include "settings.h"
#include "xmalloc.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

static int D = 1024;
static uint64_t *seeds;      /* per chunk, in indexing order */
static size_t nseeds, capseeds;

static double clock_ms(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static float gauss(uint64_t *s)
{
	double u = ((rnd(s) >> 11) + 1.0) / 9007199254740993.0, v = (rnd(s) >> 11) / 9007199254740992.0;
	return (float)(sqrt(-2 * log(u)) * cos(2 * M_PI * v));
}

static void vec_of(uint64_t seed, float *v)
{
	uint64_t s = seed | 1;
	for (int i = 0; i < D; i++)
		v[i] = gauss(&s);
}

static uint64_t hash(const char *t)
{
	uint64_t h = 1469598103934665603ull;
	for (; *t; t++)
		h = (h ^ (unsigned char)*t) * 1099511628211ull;
	return h;
}

/* Documents: a chunk's vector from its text's hash. A query "q:<seed>":
 * that chunk's vector with noise. */
static int fake(void *user, int as_admin, const char *const *texts, size_t n, float **out, int *dim, char *err,
		size_t el)
{
	(void)user;
	(void)as_admin;
	(void)err;
	(void)el;
	*dim = D;
	*out = xmalloc(n * (size_t)D * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		float *v = *out + i * (size_t)D;
		if (!strncmp(texts[i], "q:", 2)) {
			uint64_t s = strtoull(texts[i] + 2, NULL, 10), ns = s * 31 + 7;
			vec_of(s, v);
			for (int k = 0; k < D; k++)
				v[k] += 0.6f * gauss(&ns);
		} else {
			uint64_t s = hash(texts[i]);
			vec_of(s, v);
			if (nseeds == capseeds)
				seeds = xrealloc(seeds, (capseeds = capseeds * 2 + 1024) * sizeof(*seeds));
			seeds[nseeds++] = s;
		}
	}
	return 0;
}

static long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = atol(line + strlen(field) + 1);
	if (f)
		fclose(f);
	return v;
}

/* A document of about `chunks` chunks of ~500 characters, Chinese and
 * English sentences. */
static char *document(int doc, int chunks)
{
	size_t cap = (size_t)chunks * 1200 + 64, len = 0;
	char *t = xmalloc(cap);
	for (int c = 0; c < chunks; c++) {
		for (int s = 0; s < 8; s++)
			len += (size_t)snprintf(t + len, cap - len, s % 2 ? "文档%d第%d段第%d句，仓库与物流的说明。" :
					      "Doc %d part %d sentence %d about shipping. ", doc, c, s);
		len += (size_t)snprintf(t + len, cap - len, "\n\n");
	}
	return t;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long N = argc > 1 ? atol(argv[1]) : 10000;
	D = argc > 2 ? atoi(argv[2]) : 1024;
	int Q = argc > 3 ? atoi(argv[3]) : 200;
	char dir[] = "/tmp/llmgate-kb-bench-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	struct config c;
	memset(&c, 0, sizeof(c));
	settings_defaults(&c);
	free(c.state_dir);
	c.state_dir = xstrdup(dir);
	c.rag_chunk_size = 600;
	c.rag_chunk_overlap = 0;
	struct kb_embedder e = { .fn = fake, .model = "bench" };
	char small[KB_ID_MAX], big[KB_ID_MAX], fid[KB_ID_MAX], err[256];
	kb_store_vs_create(&c, "k", "small", small, sizeof(small));
	kb_store_vs_create(&c, "k", "big", big, sizeof(big));
	long docs = 0, total = 0;
	double t0 = now_ms(), embed_ms = 0;
	while (total < N) {   /* documents of 100 paragraphs (about 40 chunks) until N chunks */
		char *text = document((int)docs, 100);
		kb_store_file_put(&c, "k", "doc.txt", "assistants", "plain", strlen(text), text, strlen(text), fid,
				  sizeof(fid));
		long chunks = 0;
		if (kb_index_file(&c, &e, 0, total < N / 10 ? small : big, fid, &chunks, err, sizeof(err)) != 0) {
			fprintf(stderr, "kb_bench: %s\n", err);
			return 1;
		}
		total += chunks;
		docs++;
		free(text);
	}
	/* the small store's files also in the big one: big holds all N */
	char sdir[KB_PATH_MAX], bdir[KB_PATH_MAX];
	kb_store_vs_path(&c, small, "", "", sdir, sizeof(sdir));
	kb_store_vs_path(&c, big, "", "", bdir, sizeof(bdir));
	double ingest_ms = now_ms() - t0;
	/* the stand-in embedder's own time, measured alone, is taken out */
	{
		double e0 = now_ms();
		float *v = xmalloc((size_t)D * sizeof(float));
		for (long i = 0; i < total; i++)
			vec_of((uint64_t)i * 77 + 1, v);
		free(v);
		embed_ms = now_ms() - e0;
	}
	DIR *dd = opendir(sdir);
	struct dirent *de;
	long long vec_bytes = 0;
	while (dd && (de = readdir(dd))) {
		if (!strstr(de->d_name, ".vec"))
			continue;
		char a[KB_PATH_MAX + 300], b[KB_PATH_MAX + 300];
		snprintf(a, sizeof(a), "%s/%s", sdir, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", bdir, de->d_name);
		if (link(a, b) != 0)
			perror("link");
	}
	if (dd)
		closedir(dd);
	dd = opendir(bdir);
	while (dd && (de = readdir(dd))) {
		struct stat st;
		char a[KB_PATH_MAX + 300];
		snprintf(a, sizeof(a), "%s/%s", bdir, de->d_name);
		if (strstr(de->d_name, ".vec") && stat(a, &st) == 0)
			vec_bytes += st.st_size;
	}
	if (dd)
		closedir(dd);
	printf("knowledge base: %ld chunks of %d dimensions in %ld files\n", total, D, docs);
	printf("ingestion: %.0f chunks/s (chunking, quantising, writing; the embedding call excluded)\n",
	       total / ((ingest_ms - embed_ms) / 1e3));
	printf("bytes per chunk on disk: %.0f (int8 vector %d + record 16 + text)\n", (double)vec_bytes / total, D);

	/* searches: heap before and after, small store then big */
	long anon0 = status_kb("RssAnon:");
	double *ms = xmalloc((size_t)Q * sizeof(double)), *cpu = xmalloc((size_t)Q * sizeof(double));
	const char *ls[1] = { small }, *lb[1] = { big };
	struct kb_top top;
	char q[64];
	for (int i = 0; i < Q; i++) {
		snprintf(q, sizeof(q), "q:%llu", (unsigned long long)seeds[(size_t)i % (nseeds / 10 + 1)]);
		kb_top_init(&top, 5);
		kb_index_search(&c, &e, ls, 1, q, 0, &top, err, sizeof(err));
		kb_top_free(&top);
	}
	long anon_small = status_kb("RssAnon:");
	uint64_t rs = 12345;
	float *qv = xmalloc((size_t)D * sizeof(float)), *cv = xmalloc((size_t)D * sizeof(float));
	double recall = 0;
	int rq = Q < 50 ? Q : 50;
	for (int i = 0; i < Q; i++) {
		size_t pick = rnd(&rs) % nseeds;
		snprintf(q, sizeof(q), "q:%llu", (unsigned long long)seeds[pick]);
		kb_top_init(&top, 5);
		double a = now_ms(), ac = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
		kb_index_search(&c, &e, lb, 1, q, 0, &top, err, sizeof(err));
		ms[i] = now_ms() - a;
		cpu[i] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - ac;
		if (i < rq) {   /* exact float top-5 by brute force */
			float *v = NULL;
			int dim;
			const char *qt[1] = { q };
			fake(NULL, 0, qt, 1, &v, &dim, err, sizeof(err));
			double best[5] = { -2, -2, -2, -2, -2 };
			double qn = 0;
			for (int k = 0; k < D; k++)
				qn += (double)v[k] * v[k];
			for (size_t j = 0; j < nseeds; j++) {
				vec_of(seeds[j], cv);
				double dot = 0, cn = 0;
				for (int k = 0; k < D; k++) {
					dot += (double)v[k] * cv[k];
					cn += (double)cv[k] * cv[k];
				}
				double s = dot / sqrt(qn * cn);
				for (int b = 0; b < 5; b++)
					if (s > best[b]) {
						memmove(best + b + 1, best + b, (size_t)(4 - b) * sizeof(double));
						best[b] = s;
						break;
					}
			}
			/* a hit counts when its exact float cosine (its vector made
			 * again from its text) is among the exact top 5 */
			int hit = 0;
			for (size_t h = 0; h < top.n; h++) {
				vec_of(hash(top.v[h].text), cv);
				double dot = 0, cn = 0;
				for (int k = 0; k < D; k++) {
					dot += (double)v[k] * cv[k];
					cn += (double)cv[k] * cv[k];
				}
				hit += dot / sqrt(qn * cn) >= best[4] - 1e-9;
			}
			recall += hit / 5.0;
			free(v);
		}
		kb_top_free(&top);
	}
	long anon_big = status_kb("RssAnon:"), file_big = status_kb("RssFile:");
	qsort(ms, (size_t)Q, sizeof(double), cmp_d);
	qsort(cpu, (size_t)Q, sizeof(double), cmp_d);
	double load[3] = { 0 };
	FILE *la = fopen("/proc/loadavg", "r");
	if (la && fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
		load[0] = -1;
	if (la)
		fclose(la);
	printf("search top-5 over %ld chunks: median %.2f ms, p95 %.2f ms wall; CPU median %.2f ms, p95 %.2f ms "
	       "(%d queries, the query's stand-in embedding included; target < 20 ms; load average %.1f)\n", total,
	       ms[Q / 2], ms[Q * 95 / 100], cpu[Q / 2], cpu[Q * 95 / 100], Q, load[0]);
	printf("recall@5 of the int8 vectors against exact float cosine: %.3f (%d queries; the 2nd to 5th of each are "
	       "near ties of unrelated vectors, the hardest case)\n", recall / rq, rq);
	printf("heap (RssAnon): %ld kB before searching, %ld kB after %ld chunks, %ld kB after %ld chunks "
	       "(file pages, RssFile: %ld kB)\n", anon0, anon_small, total / 10, anon_big, total, file_big);
	free(ms);
	free(cpu);
	free(qv);
	free(cv);
	free(seeds);
	config_free(&c);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}

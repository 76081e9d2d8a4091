/* kb_vec.c — vector files: written whole, searched through mmap (see
 * kb_vec.h). */
#include "autoconf.h"
#include "kb_vec.h"
#include "kb_store.h"
#include "xmalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "LGKBVEC1"

struct head {
	char magic[8];
	uint32_t dim, count;
	uint64_t text_base;
	char model[KB_VEC_MODEL_MAX];
	char pad[256 - 8 - 8 - 8 - KB_VEC_MODEL_MAX];
};
_Static_assert(sizeof(struct head) == 256, "the head is 256 bytes");

struct rec {
	uint32_t text_off, text_len;
	float scale, norm;   /* v = q * scale; norm = |q| * scale */
	int8_t q[];
};

static size_t rec_size(int dim)
{
	return (sizeof(struct rec) + (size_t)dim + 7) & ~(size_t)7;
}

/* q from v: scale = max|v| / 127. */
static void quantise(const float *v, int dim, int8_t *q, float *scale, float *norm)
{
	float mx = 0;
	for (int i = 0; i < dim; i++)
		if (fabsf(v[i]) > mx)
			mx = fabsf(v[i]);
	float s = mx > 0 ? mx / 127.0f : 1.0f;
	double nn = 0;
	for (int i = 0; i < dim; i++) {
		long r = lrintf(v[i] / s);
		q[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
		nn += (double)q[i] * q[i];
	}
	*scale = s;
	*norm = (float)(sqrt(nn) * s);
}

void kb_top_init(struct kb_top *t, size_t k)
{
	t->k = k ? k : 1;
	t->n = 0;
	t->v = xcalloc(t->k, sizeof(*t->v));
}

void kb_top_free(struct kb_top *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].text);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

int kb_vec_query_init(struct kb_query *q, const float *v, int dim)
{
	q->dim = dim;
	q->q = xmalloc((size_t)dim);
	quantise(v, dim, q->q, &q->scale, &q->norm);
	return q->norm > 0 ? 0 : -1;
}

void kb_vec_query_free(struct kb_query *q)
{
	free(q->q);
	q->q = NULL;
}

int kb_vec_write(const char *path, const char *model, int dim, size_t n, const float *vecs, const char *const *texts,
		 const size_t *lens)
{
	if (dim <= 0 || dim > KB_VEC_DIM_MAX || n > 0x7fffffffu) {   /* record counts fit 31 bits */
		errno = EINVAL;
		return -1;
	}
	size_t rs = rec_size(dim);
	struct head h = { .dim = (uint32_t)dim, .count = (uint32_t)n };
	memcpy(h.magic, MAGIC, 8);
	snprintf(h.model, sizeof(h.model), "%s", model);
	h.text_base = sizeof(h) + rs * n;
	char *tmp = xmalloc(strlen(path) + 8);
	sprintf(tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	int rc = kb_store_write_all(fd, &h, sizeof(h));
	struct rec *r = xcalloc(1, rs);
	uint64_t off = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		memset(r, 0, rs);
		quantise(vecs + i * (size_t)dim, dim, r->q, &r->scale, &r->norm);
		r->text_off = (uint32_t)off;
		r->text_len = (uint32_t)lens[i];
		off += lens[i];
		rc = off > UINT32_MAX ? -1 : kb_store_write_all(fd, r, rs);
	}
	free(r);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = kb_store_write_all(fd, texts[i], lens[i]);
	if (rc == 0)
		rc = fsync(fd);
	int e = errno;
	if (close(fd) != 0 && rc == 0)
		rc = -1, e = errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1, e = errno;
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	errno = e;
	return rc;
}

/* The file mapped, its head checked: the map and its size, or NULL. */
static const struct head *map_file(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	void *m = MAP_FAILED;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(struct head))
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return NULL;
	const struct head *h = m;
	*size = (size_t)st.st_size;
	if (memcmp(h->magic, MAGIC, 8) || h->dim == 0 || h->dim > KB_VEC_DIM_MAX ||
	    h->text_base != sizeof(*h) + rec_size((int)h->dim) * h->count || h->text_base > *size ||
	    memchr(h->model, '\0', sizeof(h->model)) == NULL) {
		munmap(m, *size);
		return NULL;
	}
	return h;
}

int kb_vec_info(const char *path, char *model, size_t mlen, int *dim, size_t *count)
{
	size_t size;
	const struct head *h = map_file(path, &size);
	if (!h)
		return -1;
	snprintf(model, mlen, "%s", h->model);
	*dim = (int)h->dim;
	*count = h->count;
	munmap((void *)h, size);
	return 0;
}

/* Put a hit into top when it is good enough (texts copied only then). */
static void top_offer(struct kb_top *t, float score, const char *text, size_t len, uint32_t chunk, const char *source)
{
	if (t->n == t->k && score <= t->v[t->n - 1].score)
		return;
	size_t at = t->n < t->k ? t->n : t->k - 1;
	if (t->n == t->k)
		free(t->v[at].text);
	else
		t->n++;
	while (at > 0 && t->v[at - 1].score < score) {
		t->v[at] = t->v[at - 1];
		at--;
	}
	struct kb_hit *hit = &t->v[at];
	hit->score = score;
	hit->text = xmalloc(len + 1);
	memcpy(hit->text, text, len);
	hit->text[len] = '\0';
	hit->text_len = len;
	hit->chunk = chunk;
	snprintf(hit->source, sizeof(hit->source), "%s", source);
}

/* The scan's inner loop: GCC vectorises it at -O3 (at -O2 its cheap cost
 * model leaves the widening reduction scalar, 4 times slower). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("O3")))
#endif
static int32_t dot8(const int8_t *a, const int8_t *b, int n)
{
	int32_t s = 0;
	for (int i = 0; i < n; i++)
		s += (int32_t)a[i] * (int32_t)b[i];
	return s;
}

int kb_vec_search(const char *path, const char *model, const struct kb_query *q, float min_score, const char *source,
		  struct kb_top *top)
{
	size_t size;
	const struct head *h = map_file(path, &size);
	if (!h)
		return -1;
	int rc = 0;
	if ((int)h->dim != q->dim || strcmp(h->model, model)) {
		rc = 1;
		goto out;
	}
	size_t rs = rec_size(q->dim);
	const char *base = (const char *)h;
	const char *texts = base + h->text_base;
	size_t tlen = size - h->text_base;
	for (uint32_t i = 0; i < h->count; i++) {
		const struct rec *r = (const struct rec *)(base + sizeof(*h) + rs * i);
		if (!(r->norm > 0))
			continue;
		float score = (float)dot8(r->q, q->q, q->dim) * r->scale * q->scale / (r->norm * q->norm);
		if (score < min_score || (top->n == top->k && score <= top->v[top->n - 1].score))
			continue;
		if ((size_t)r->text_off + r->text_len > tlen)
			continue;
		top_offer(top, score, texts + r->text_off, r->text_len, i, source);
	}
out:
	munmap((void *)h, size);
	return rc;
}

int kb_vec_each_text(const char *path, void (*fn)(const char *text, size_t len, void *user), void *user)
{
	size_t size;
	const struct head *h = map_file(path, &size);
	if (!h)
		return -1;
	size_t rs = rec_size((int)h->dim);
	const char *base = (const char *)h;
	size_t tlen = size - h->text_base;
	for (uint32_t i = 0; i < h->count; i++) {
		const struct rec *r = (const struct rec *)(base + sizeof(*h) + rs * i);
		if ((size_t)r->text_off + r->text_len <= tlen)
			fn(base + h->text_base + r->text_off, r->text_len, user);
	}
	munmap((void *)h, size);
	return 0;
}

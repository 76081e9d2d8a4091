/* hmap.c — a hash map from byte-string keys to pointers (hmap.h). */
#include "hmap.h"
#include "xmalloc.h"
#include <stdlib.h>
#include <string.h>

#define HMAP_MIN_CAP 64

/* Eight bytes at a time, each mixed in with a multiply and a shift, then
 * MurmurHash3's finaliser: a few cycles per word, every input bit reaching
 * the low bits the table uses. In memory only: the value may differ
 * between machines (byte order). */
static uint32_t hmap_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
	uint64_t w;
	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* The slot holding key, or the empty slot where it would go (cap > 0). */
static size_t hmap_slot(const struct hmap_slot *s, size_t cap, const void *key, size_t len, uint32_t h)
{
	size_t i = h & (cap - 1);
	while (s[i].key && (s[i].hash != h || s[i].len != len || memcmp(s[i].key, key, len) != 0))
		i = (i + 1) & (cap - 1);
	return i;
}

/* Keep the load at three quarters or less. */
static void hmap_grow(struct hmap *m)
{
	if ((m->n + 1) * 4 <= m->cap * 3)
		return;
	size_t cap = m->cap ? m->cap * 2 : HMAP_MIN_CAP;
	struct hmap_slot *s = xcalloc(cap, sizeof(*s));
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key) {
			size_t j = m->slots[i].hash & (cap - 1);
			while (s[j].key)
				j = (j + 1) & (cap - 1);
			s[j] = m->slots[i];
		}
	}
	free(m->slots);
	m->slots = s;
	m->cap = cap;
}

void hmap_init(struct hmap *m, int copy_keys)
{
	memset(m, 0, sizeof(*m));
	m->copy_keys = copy_keys;
}

void hmap_clear(struct hmap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->copy_keys)
			free((void *)m->slots[i].key);
		m->slots[i].key = NULL;
	}
	m->n = 0;
}

void hmap_free(struct hmap *m)
{
	hmap_clear(m);
	free(m->slots);
	m->slots = NULL;
	m->cap = 0;
}

int hmap_get(const struct hmap *m, const void *key, size_t len, void **val)
{
	if (!m->cap)
		return 0;
	size_t i = hmap_slot(m->slots, m->cap, key, len, hmap_hash(key, len));
	if (!m->slots[i].key)
		return 0;
	if (val)
		*val = m->slots[i].val;
	return 1;
}

void hmap_put(struct hmap *m, const void *key, size_t len, void *val)
{
	hmap_grow(m);
	uint32_t h = hmap_hash(key, len);
	struct hmap_slot *s = &m->slots[hmap_slot(m->slots, m->cap, key, len, h)];
	if (!s->key) {
		if (m->copy_keys) {
			char *k = xmalloc(len + 1);
			memcpy(k, key, len);
			k[len] = '\0';
			key = k;
		}
		*s = (struct hmap_slot){ key, NULL, h, (uint32_t)len };
		m->n++;
	}
	s->val = val;
}

int hmap_del(struct hmap *m, const void *key, size_t len)
{
	if (!m->cap)
		return 0;
	size_t mask = m->cap - 1;
	size_t i = hmap_slot(m->slots, m->cap, key, len, hmap_hash(key, len));
	if (!m->slots[i].key)
		return 0;
	if (m->copy_keys)
		free((void *)m->slots[i].key);
	/* shift back the entries of the run after i that may live at i */
	for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;
		int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (!stays) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].key = NULL;
	m->n--;
	return 1;
}

size_t hmap_count(const struct hmap *m)
{
	return m->n;
}

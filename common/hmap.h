/* hmap.h — a hash map from byte-string keys to pointers (open addressing,
 * linear probing, a word-at-a-time hash; deletion shifts entries back, no
 * tombstones).
 *
 * Keys are compared by length and bytes, so a C string and a binary digest
 * are both keys. With copy_keys the map keeps its own copy of each key and
 * frees it; otherwise the caller's key bytes must stay unchanged for as
 * long as their entry is in the map. Values are the caller's: the map never
 * frees them. Not thread-safe: one writer, or the caller's lock. A zeroed
 * struct hmap is an empty map that does not copy keys. */
#ifndef LLMGATE_HMAP_H
#define LLMGATE_HMAP_H
#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
	const void *key;   /* NULL: empty */
	void *val;
	uint32_t hash;
	uint32_t len;
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap;        /* a power of two, or 0 */
	size_t n;          /* entries */
	int copy_keys;
};

/* An empty map; copy_keys: keep a copy of each key. */
void hmap_init(struct hmap *m, int copy_keys);
/* Free the table and the copied keys (not the values); m is then empty
 * and may be used again. */
void hmap_free(struct hmap *m);
/* Remove every entry, keeping the table's size. */
void hmap_clear(struct hmap *m);
/* 1 and *val (when val is not NULL) if key is in m, 0 if not. */
int hmap_get(const struct hmap *m, const void *key, size_t len, void **val);
/* Set key to val, adding the key (len under 4 GiB) if new. */
void hmap_put(struct hmap *m, const void *key, size_t len, void *val);
/* Remove key: 1 if it was there, 0 if not. */
int hmap_del(struct hmap *m, const void *key, size_t len);
/* The number of entries. */
size_t hmap_count(const struct hmap *m);
#endif

/* test_hmap.c — the hash map: get/put/del, copied and borrowed keys, binary
 * keys, growth, deletion inside probe runs (against a plain array). */
#include "autoconf.h"
#include "hmap.h"
#include "tap.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_empty(void)
{
	struct hmap m = { 0 };
	void *v = (void *)1;
	ok(!hmap_get(&m, "a", 1, &v) && v == (void *)1, "a zeroed map finds nothing and leaves *val");
	is_int(hmap_del(&m, "a", 1), 0, "deleting from an empty map: 0");
	is_int(hmap_count(&m), 0, "count 0");
	hmap_free(&m);
	hmap_free(&m);
	ok(m.slots == NULL && m.cap == 0, "free twice is harmless");
}

static void test_copy_keys(void)
{
	struct hmap m;
	void *v = NULL;
	hmap_init(&m, 1);
	char *k = strdup("alpha");
	hmap_put(&m, k, strlen(k), (void *)10);
	memset(k, 'x', 5);
	free(k);
	ok(hmap_get(&m, "alpha", 5, &v) && v == (void *)10, "a copied key outlives the caller's buffer");
	hmap_put(&m, "alpha", 5, (void *)11);
	ok(hmap_get(&m, "alpha", 5, &v) && v == (void *)11, "put on a present key replaces the value");
	is_int(hmap_count(&m), 1, "replacing adds no entry");
	ok(!hmap_get(&m, "alph", 4, NULL), "a prefix is another key");
	ok(!hmap_get(&m, "alpha", 6, NULL), "the length is part of the key");
	hmap_put(&m, "", 0, (void *)12);
	ok(hmap_get(&m, "", 0, &v) && v == (void *)12, "the empty key is a key");
	is_int(hmap_del(&m, "alpha", 5), 1, "del of a present key: 1");
	ok(!hmap_get(&m, "alpha", 5, NULL), "gone after del");
	is_int(hmap_del(&m, "alpha", 5), 0, "del again: 0");
	is_int(hmap_count(&m), 1, "count after del");
	hmap_clear(&m);
	is_int(hmap_count(&m), 0, "clear empties");
	ok(m.cap > 0, "clear keeps the table");
	ok(!hmap_get(&m, "", 0, NULL), "nothing found after clear");
	hmap_put(&m, "beta", 4, (void *)13);
	ok(hmap_get(&m, "beta", 4, &v) && v == (void *)13, "usable after clear");
	hmap_free(&m);
}

/* Binary keys (as the cache's digests), borrowed, with NUL bytes inside. */
static void test_binary_keys(void)
{
	struct hmap m;
	unsigned char keys[300][32];
	hmap_init(&m, 0);
	for (int i = 0; i < 300; i++) {
		memset(keys[i], 0, sizeof(keys[i]));
		keys[i][31] = (unsigned char)i;
		keys[i][30] = (unsigned char)(i >> 8);
		hmap_put(&m, keys[i], 32, keys[i]);
	}
	int found = 0;
	for (int i = 0; i < 300; i++) {
		void *v = NULL;
		found += hmap_get(&m, keys[i], 32, &v) && v == keys[i];
	}
	is_int(found, 300, "300 binary keys differing after NUL bytes, all found after growth");
	is_int(hmap_count(&m), 300, "count 300");
	ok(m.n * 4 <= m.cap * 3, "load at most three quarters");
	hmap_free(&m);
}

/* Many puts and dels of few distinct keys (long probe runs, wrapping at
 * the table's end), checked against a plain array after every step. */
static void test_against_model(void)
{
	enum { NKEYS = 400, STEPS = 20000 };
	struct hmap m;
	char names[NKEYS][16];
	long model[NKEYS];   /* -1: absent */
	uint32_t seed = 12345;
	int bad = 0, counted = 1;
	hmap_init(&m, 1);
	for (int i = 0; i < NKEYS; i++) {
		snprintf(names[i], sizeof(names[i]), "k%d", i);
		model[i] = -1;
	}
	for (long step = 0; step < STEPS; step++) {
		seed = seed * 1103515245u + 12345u;
		int k = (int)((seed >> 8) % NKEYS);
		size_t len = strlen(names[k]);
		if ((seed >> 20) % 3) {
			hmap_put(&m, names[k], len, (void *)(intptr_t)step);
			model[k] = step;
		} else {
			bad += hmap_del(&m, names[k], len) != (model[k] >= 0);
			model[k] = -1;
		}
		if (step % 97)
			continue;
		size_t n = 0;
		for (int i = 0; i < NKEYS; i++) {
			void *v = NULL;
			int got = hmap_get(&m, names[i], strlen(names[i]), &v);
			n += model[i] >= 0;
			bad += got != (model[i] >= 0) || (got && (intptr_t)v != model[i]);
		}
		counted &= n == hmap_count(&m);
	}
	is_int(bad, 0, "20000 random puts and dels agree with the model");
	ok(counted, "the count agrees with the model");
	hmap_free(&m);
}

int main(void)
{
	test_empty();
	test_copy_keys();
	test_binary_keys();
	test_against_model();
	return done_testing();
}

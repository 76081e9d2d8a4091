/* sha256.h — SHA-256 (FIPS 180-4), HMAC-SHA256, hex, constant-time compare, OS randomness. */
#ifndef LLMGATE_SHA256_H
#define LLMGATE_SHA256_H
#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN  64
#define SHA256_HEX_LEN    (2 * SHA256_DIGEST_LEN + 1)  /* with the NUL */

struct sha256_ctx {
	uint32_t h[8];
	uint64_t nbytes;                        /* total bytes hashed so far */
	unsigned char block[SHA256_BLOCK_LEN];  /* partial block */
	size_t nblock;                          /* bytes used in block */
};

/* Incremental hashing: init, any number of updates, final (which wipes ctx;
 * init again to reuse it). */
void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *p, size_t n);
void sha256_final(struct sha256_ctx *c, unsigned char out[SHA256_DIGEST_LEN]);

/* One-shot digest of n bytes at p. */
void sha256(const void *p, size_t n, unsigned char out[SHA256_DIGEST_LEN]);
/* One-shot digest as lowercase hex, NUL-terminated. */
void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN]);
/* HMAC-SHA256 (RFC 2104); keys longer than a block are hashed first. */
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
		 unsigned char out[SHA256_DIGEST_LEN]);

/* Lowercase hex of n bytes into out, which holds 2n+1 chars (NUL-terminated). */
void hex_encode(const unsigned char *in, size_t n, char *out);
/* 1 if the n bytes at a and b are equal, else 0; time depends only on n. */
int ct_equal(const void *a, const void *b, size_t n);
/* 1 if header is "Bearer <secret>" (any case of "Bearer", spaces before the
 * token skipped), compared in time that does not depend on where they
 * differ; 0 otherwise (also for a NULL header). */
int bearer_ok(const char *header, const char *secret);
/* Fill p with n bytes from the kernel CSPRNG (getrandom(2)); 0 or -1. */
int random_bytes(void *p, size_t n);
#endif

/* sha256.c — SHA-256 (FIPS 180-4), HMAC-SHA256, hex, constant-time compare, OS randomness. */
#include "autoconf.h"
#include "sha256.h"
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/types.h>

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Overwrite memory in a way the compiler may not drop. */
static void sha256_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

static uint32_t sha256_ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64];
	uint32_t a, b, c, d, e, f, g, hh;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = sha256_ror(w[i - 15], 7) ^ sha256_ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = sha256_ror(w[i - 2], 17) ^ sha256_ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3];
	e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (i = 0; i < 64; i++) {
		uint32_t s1 = sha256_ror(e, 6) ^ sha256_ror(e, 11) ^ sha256_ror(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t t1 = hh + s1 + ch + sha256_k[i] + w[i];
		uint32_t s0 = sha256_ror(a, 2) ^ sha256_ror(a, 13) ^ sha256_ror(a, 22);
		uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
		uint32_t t2 = s0 + maj;
		hh = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
	sha256_wipe(w, sizeof(w));
}

void sha256_init(struct sha256_ctx *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	memcpy(c->h, iv, sizeof(iv));
	c->nbytes = 0;
	c->nblock = 0;
}

void sha256_update(struct sha256_ctx *c, const void *p, size_t n)
{
	const unsigned char *s = p;

	c->nbytes += n;
	if (c->nblock) {
		size_t take = SHA256_BLOCK_LEN - c->nblock;
		if (take > n)
			take = n;
		memcpy(c->block + c->nblock, s, take);
		c->nblock += take;
		s += take;
		n -= take;
		if (c->nblock < SHA256_BLOCK_LEN)
			return;
		sha256_block(c->h, c->block);
		c->nblock = 0;
	}
	while (n >= SHA256_BLOCK_LEN) {
		sha256_block(c->h, s);
		s += SHA256_BLOCK_LEN;
		n -= SHA256_BLOCK_LEN;
	}
	if (n) {
		memcpy(c->block, s, n);
		c->nblock = n;
	}
}

void sha256_final(struct sha256_ctx *c, unsigned char out[SHA256_DIGEST_LEN])
{
	uint64_t bits = c->nbytes * 8;
	int i;

	c->block[c->nblock++] = 0x80;
	if (c->nblock > SHA256_BLOCK_LEN - 8) {
		memset(c->block + c->nblock, 0, SHA256_BLOCK_LEN - c->nblock);
		sha256_block(c->h, c->block);
		c->nblock = 0;
	}
	memset(c->block + c->nblock, 0, SHA256_BLOCK_LEN - 8 - c->nblock);
	for (i = 0; i < 8; i++)
		c->block[SHA256_BLOCK_LEN - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha256_block(c->h, c->block);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(c->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)c->h[i];
	}
	sha256_wipe(c, sizeof(*c));
}

void sha256(const void *p, size_t n, unsigned char out[SHA256_DIGEST_LEN])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, p, n);
	sha256_final(&c, out);
}

void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN])
{
	unsigned char md[SHA256_DIGEST_LEN];

	sha256(p, n, md);
	hex_encode(md, sizeof(md), out);
}

void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
		 unsigned char out[SHA256_DIGEST_LEN])
{
	unsigned char k0[SHA256_BLOCK_LEN];
	unsigned char pad[SHA256_BLOCK_LEN];
	unsigned char inner[SHA256_DIGEST_LEN];
	struct sha256_ctx c;
	size_t i;

	memset(k0, 0, sizeof(k0));
	if (klen > SHA256_BLOCK_LEN)
		sha256(key, klen, k0);
	else if (klen)
		memcpy(k0, key, klen);

	for (i = 0; i < SHA256_BLOCK_LEN; i++)
		pad[i] = k0[i] ^ 0x36;
	sha256_init(&c);
	sha256_update(&c, pad, sizeof(pad));
	sha256_update(&c, msg, mlen);
	sha256_final(&c, inner);

	for (i = 0; i < SHA256_BLOCK_LEN; i++)
		pad[i] = k0[i] ^ 0x5c;
	sha256_init(&c);
	sha256_update(&c, pad, sizeof(pad));
	sha256_update(&c, inner, sizeof(inner));
	sha256_final(&c, out);

	sha256_wipe(k0, sizeof(k0));
	sha256_wipe(pad, sizeof(pad));
	sha256_wipe(inner, sizeof(inner));
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

int ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *pa = a;
	const volatile unsigned char *pb = b;
	unsigned int d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (unsigned int)(pa[i] ^ pb[i]);
	/* d is 0..255: (d - 1) >> 8 has its low bit set only when d == 0. */
	return (int)(1 & ((d - 1) >> 8));
}

int random_bytes(void *p, size_t n)
{
	unsigned char *s = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(s + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int bearer_ok(const char *header, const char *secret)
{
	unsigned char a[SHA256_DIGEST_LEN], b[SHA256_DIGEST_LEN];
	if (!header || strncasecmp(header, "Bearer ", 7))
		return 0;
	const char *given = header + 7;
	while (*given == ' ')
		given++;
	sha256(given, strlen(given), a);
	sha256(secret, strlen(secret), b);
	return ct_equal(a, b, sizeof(a));
}

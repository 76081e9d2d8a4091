/* test_sha256.c — SHA-256 and HMAC against published vectors; hex, ct_equal, random_bytes. */
#include "autoconf.h"
#include "sha256.h"
#include "tap.h"
#include <stdio.h>
#include <string.h>

static void hex_of(const void *p, size_t n, char out[SHA256_HEX_LEN])
{
	sha256_hex(p, n, out);
}

/* Hash msg in pieces of the given size through the incremental API. */
static void hex_chunked(const char *msg, size_t n, size_t piece, char out[SHA256_HEX_LEN])
{
	struct sha256_ctx c;
	unsigned char md[SHA256_DIGEST_LEN];
	size_t off;

	sha256_init(&c);
	for (off = 0; off < n; off += piece)
		sha256_update(&c, msg + off, n - off < piece ? n - off : piece);
	sha256_final(&c, md);
	hex_encode(md, sizeof(md), out);
}

static void test_nist(void)
{
	static const struct { const char *msg, *md, *name; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448-bit" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
		  "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1", "896-bit" },
	};
	char hex[SHA256_HEX_LEN];
	size_t i, piece;
	int same;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hex_of(v[i].msg, strlen(v[i].msg), hex);
		is_str(hex, v[i].md, v[i].name);
		same = 1;
		for (piece = 1; piece <= 70; piece++) {
			hex_chunked(v[i].msg, strlen(v[i].msg), piece, hex);
			same &= strcmp(hex, v[i].md) == 0;
		}
		ok(same, "%s: incremental, every piece size 1..70", v[i].name);
	}
}

static void test_padding_edges(void)
{
	static const struct { size_t n; const char *md; } v[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
		{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
		{ 128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e" },
	};
	char a[128], hex[SHA256_HEX_LEN], name[64];
	size_t i;

	memset(a, 'a', sizeof(a));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hex_of(a, v[i].n, hex);
		snprintf(name, sizeof(name), "padding edge: %zu bytes of 'a'", v[i].n);
		is_str(hex, v[i].md, name);
	}
}

static void test_million(void)
{
	struct sha256_ctx c;
	unsigned char md[SHA256_DIGEST_LEN];
	char chunk[1000], hex[SHA256_HEX_LEN];
	int i;

	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&c);
	for (i = 0; i < 1000; i++)
		sha256_update(&c, chunk, sizeof(chunk));
	sha256_final(&c, md);
	hex_encode(md, sizeof(md), hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "one million 'a' (incremental, 1000-byte pieces)");

	sha256_init(&c);
	for (i = 0; i < 1000000 / 7; i++)
		sha256_update(&c, chunk, 7);
	sha256_update(&c, chunk, 1000000 % 7);
	sha256_final(&c, md);
	hex_encode(md, sizeof(md), hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "one million 'a' (incremental, 7-byte pieces)");
}

static void test_hmac(void)
{
	unsigned char k20_0b[20], k20_aa[20], k25[25], k131[131];
	unsigned char d50_dd[50], d50_cd[50], md[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN];
	static const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char *m7 = "This is a test using a larger than block-size key and a larger "
		"than block-size data. The key needs to be hashed before being used by the HMAC "
		"algorithm.";
	size_t i;

	memset(k20_0b, 0x0b, sizeof(k20_0b));
	memset(k20_aa, 0xaa, sizeof(k20_aa));
	for (i = 0; i < sizeof(k25); i++)
		k25[i] = (unsigned char)(i + 1);
	memset(k131, 0xaa, sizeof(k131));
	memset(d50_dd, 0xdd, sizeof(d50_dd));
	memset(d50_cd, 0xcd, sizeof(d50_cd));

	hmac_sha256(k20_0b, sizeof(k20_0b), "Hi There", 8, md);
	hex_encode(md, sizeof(md), hex);
	is_str(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", "RFC 4231 case 1");

	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, md);
	hex_encode(md, sizeof(md), hex);
	is_str(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "RFC 4231 case 2");

	hmac_sha256(k20_aa, sizeof(k20_aa), d50_dd, sizeof(d50_dd), md);
	hex_encode(md, sizeof(md), hex);
	is_str(hex, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", "RFC 4231 case 3");

	hmac_sha256(k25, sizeof(k25), d50_cd, sizeof(d50_cd), md);
	hex_encode(md, sizeof(md), hex);
	is_str(hex, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", "RFC 4231 case 4");

	hmac_sha256(k131, sizeof(k131), m6, strlen(m6), md);
	hex_encode(md, sizeof(md), hex);
	is_str(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", "RFC 4231 case 6");

	hmac_sha256(k131, sizeof(k131), m7, strlen(m7), md);
	hex_encode(md, sizeof(md), hex);
	is_str(hex, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", "RFC 4231 case 7");

	hmac_sha256("", 0, "", 0, md);
	hex_encode(md, sizeof(md), hex);
	is_str(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", "empty key and message");

	hmac_sha256("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 64, "msg", 3, md);
	hex_encode(md, sizeof(md), hex);
	is_str(hex, "d62ad25bb128e96ab6ef43464aaf2bb91b5b85f013381e9ba6be747e8d0911b2", "key of exactly one block");
}

static void test_hex(void)
{
	static const unsigned char in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof(in) + 1];

	memset(out, 'x', sizeof(out));
	hex_encode(in, sizeof(in), out);
	is_str(out, "00017f80abff", "hex_encode lowercase, NUL-terminated");
	hex_encode(in, 0, out);
	is_str(out, "", "hex_encode of nothing is empty");
}

static void test_ct_equal(void)
{
	unsigned char a[64], b[64];
	size_t i;
	int all = 1;

	for (i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (unsigned char)(i * 37);
	ok(ct_equal(a, b, sizeof(a)) == 1, "ct_equal: equal buffers give 1");
	ok(ct_equal(a, b, 0) == 1, "ct_equal: zero length gives 1");
	for (i = 0; i < sizeof(a); i++) {
		unsigned bit;
		for (bit = 0; bit < 8; bit++) {
			b[i] ^= (unsigned char)(1u << bit);
			all &= ct_equal(a, b, sizeof(a)) == 0;
			b[i] ^= (unsigned char)(1u << bit);
		}
	}
	ok(all, "ct_equal: every single-bit difference gives 0");
	ok(ct_equal("\x00", "\xff", 1) == 0, "ct_equal: 0x00 vs 0xff gives 0");
}

static void test_random(void)
{
	static unsigned char big[1u << 20];
	unsigned char a[32], b[32];
	size_t i, nonzero = 0;
	const size_t bign = sizeof(big);

	ok(random_bytes(a, sizeof(a)) == 0, "random_bytes succeeds");
	ok(random_bytes(b, sizeof(b)) == 0, "random_bytes succeeds again");
	ok(memcmp(a, b, sizeof(a)) != 0, "two draws differ");
	ok(random_bytes(a, 0) == 0, "random_bytes of 0 bytes succeeds");
	ok(random_bytes(big, bign) == 0, "random_bytes fills 1 MiB");
	for (i = 0; i < bign; i++)
		nonzero += big[i] != 0;
	/* about 1/256 of random bytes are zero */
	ok(nonzero > bign - bign / 64, "1 MiB draw is not mostly zero (%zu nonzero)", nonzero);
}

int main(void)
{
	test_nist();
	test_padding_edges();
	test_million();
	test_hmac();
	test_hex();
	test_ct_equal();
	test_random();
	return done_testing();
}

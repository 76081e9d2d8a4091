/* pwhash.c — admin password hashing: crypt(3) yescrypt from libxcrypt. */
#include "autoconf.h"
#include "pwhash.h"
#include "sha256.h"
#include "xmalloc.h"
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PWHASH_SALT_BYTES 32

_Static_assert(PWHASH_PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE, "libxcrypt refuses longer passphrases");
_Static_assert(PWHASH_MAX_LEN >= CRYPT_OUTPUT_SIZE, "room for any crypt(3) output");

/* Wipe and free a crypt_data (it held the password while hashing). */
static void free_data(struct crypt_data *d)
{
	if (!d)
		return;
	explicit_bzero(d, sizeof(*d));
	free(d);
}

/* crypt_rn(password, setting) into a new string (free()), or NULL. */
static char *run_crypt(const char *password, const char *setting)
{
	char *result = NULL;
	/* about 32 KiB: on the heap, not on a worker thread's stack */
	struct crypt_data *d = xcalloc(1, sizeof(*d));
	const char *h = crypt_rn(password, setting, d, (int)sizeof(*d));
	/* a failing method answers NULL, or a string starting with '*' */
	if (!h || h[0] == '*') {
		if (!errno)
			errno = EINVAL;
		goto out;
	}
	result = xstrdup(h);
out:
	free_data(d);
	return result;
}

char *pwhash_make(const char *password)
{
	char *result = NULL;
	unsigned char rnd[PWHASH_SALT_BYTES];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	if (!password || strlen(password) > PWHASH_PASSWORD_MAX) {
		errno = EINVAL;
		goto out;
	}
	if (random_bytes(rnd, sizeof(rnd)) != 0)
		goto out;
	/* count 0: the library's default cost for yescrypt; a libxcrypt built
	 * without it (OpenWrt's has only the "solaris" group of methods) gets
	 * sha512crypt at 100000 rounds */
	if (!crypt_gensalt_rn(PWHASH_PREFIX, 0, (const char *)rnd, (int)sizeof(rnd), setting,
			      (int)sizeof(setting)) &&
	    !crypt_gensalt_rn(PWHASH_FALLBACK_PREFIX, 100000, (const char *)rnd, 16, setting, (int)sizeof(setting))) {
		if (!errno)
			errno = ENOSYS;
		goto out;
	}
	errno = 0;
	result = run_crypt(password, setting);
out:
	explicit_bzero(rnd, sizeof(rnd));
	return result;
}

int pwhash_verify(const char *password, const char *hash)
{
	int result = 0;
	char *got = NULL;
	if (!password || !hash || strlen(password) > PWHASH_PASSWORD_MAX)
		goto out;
	/* a modular crypt string ("$y$...", also "$6$..." set by hand); never
	 * the old DES form, nor a disabled "*" or "!" entry */
	if (hash[0] != '$' || strlen(hash) >= PWHASH_MAX_LEN)
		goto out;
	errno = 0;
	got = run_crypt(password, hash);
	if (!got)
		goto out;
	size_t n = strlen(hash);
	/* same method and salt give the same length; compare all of it */
	result = strlen(got) == n && ct_equal(got, hash, n);
out:
	free(got);
	return result;
}

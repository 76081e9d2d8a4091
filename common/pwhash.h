/* pwhash.h — admin password hashing: crypt(3) yescrypt from libxcrypt. */
#ifndef LLMGATE_PWHASH_H
#define LLMGATE_PWHASH_H
#include <stddef.h>

#define PWHASH_PREFIX "$y$"        /* yescrypt */
#define PWHASH_FALLBACK_PREFIX "$6$"   /* sha512crypt, where libxcrypt has no yescrypt */
#define PWHASH_MAX_LEN 384         /* CRYPT_OUTPUT_SIZE: longest hash, with the NUL */
#define PWHASH_PASSWORD_MAX 511    /* longest password, in bytes (libxcrypt takes < 512) */

/* Hash password with yescrypt (libxcrypt's default cost) and a fresh salt
 * from the kernel. Returns a new "$y$..." string (free()), or NULL when the
 * password is longer than PWHASH_PASSWORD_MAX or libcrypt fails (errno
 * says why: EINVAL, ENOSYS when yescrypt is not built in, ENOMEM). */
char *pwhash_make(const char *password);

/* 1 if password matches hash (a "$id$..." crypt(3) string, e.g. from pwhash_make),
 * else 0 — also when hash is malformed or the password is too long. The
 * final comparison takes the same time wherever the strings differ. */
int pwhash_verify(const char *password, const char *hash);
#endif

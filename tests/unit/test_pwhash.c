/* test_pwhash.c — admin password hashing: yescrypt hash and verify. */
#include "autoconf.h"
#include "pwhash.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *h1 = pwhash_make("correct horse battery staple");
	char *h2 = pwhash_make("correct horse battery staple");
	ok(h1 != NULL && h2 != NULL, "hashes made");
	if (!h1 || !h2)
		return done_testing() + 1;
	ok(!strncmp(h1, "$y$", 3), "yescrypt format: %.12s...", h1);
	ok(strlen(h1) < PWHASH_MAX_LEN, "fits PWHASH_MAX_LEN");
	ok(strcmp(h1, h2) != 0, "two hashes of one password differ (fresh salts)");
	ok(!strstr(h1, "correct horse"), "the password is not in the hash");

	is_int(pwhash_verify("correct horse battery staple", h1), 1, "right password verifies");
	is_int(pwhash_verify("correct horse battery staple", h2), 1, "right password verifies against the other salt");
	is_int(pwhash_verify("correct horse battery stapl", h1), 0, "one character short is refused");
	is_int(pwhash_verify("correct horse battery staple ", h1), 0, "one character more is refused");
	is_int(pwhash_verify("Correct horse battery staple", h1), 0, "case matters");
	is_int(pwhash_verify("", h1), 0, "empty password is refused");
	is_int(pwhash_verify(NULL, h1), 0, "no password is refused");

	/* a hash that does not check out */
	char *bad = strdup(h1);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'a' ? 'b' : 'a';
	is_int(pwhash_verify("correct horse battery staple", bad), 0, "a changed hash refuses the password");
	free(bad);
	is_int(pwhash_verify("x", ""), 0, "empty hash refuses");
	is_int(pwhash_verify("x", "*"), 0, "a disabled entry refuses");
	is_int(pwhash_verify("x", "!locked"), 0, "a locked entry refuses");
	is_int(pwhash_verify("x", "abJnggxhB/yWI"), 0, "the old DES form is refused");
	is_int(pwhash_verify("x", NULL), 0, "no hash refuses");

	/* the length limit */
	char *lng = malloc(PWHASH_PASSWORD_MAX + 2);
	memset(lng, 'a', PWHASH_PASSWORD_MAX + 1);
	lng[PWHASH_PASSWORD_MAX + 1] = '\0';
	ok(pwhash_make(lng) == NULL, "a password over PWHASH_PASSWORD_MAX is refused");
	lng[PWHASH_PASSWORD_MAX] = '\0';
	char *h3 = pwhash_make(lng);
	ok(h3 != NULL, "a password of PWHASH_PASSWORD_MAX bytes is hashed");
	is_int(pwhash_verify(lng, h3), 1, "and verifies");
	free(h3);
	free(lng);

	/* UTF-8 is bytes to crypt(3) */
	char *h4 = pwhash_make("pässwörd-ünïcode");
	is_int(pwhash_verify("pässwörd-ünïcode", h4), 1, "UTF-8 password verifies");
	is_int(pwhash_verify("passwort-unicode", h4), 0, "its ASCII look-alike does not");
	free(h4);

	free(h1);
	free(h2);
	return done_testing();
}

/* fuzz_html_strip.c — kb_text_strip_html (HTML uploads to knowledge
 * bases) and kb_text_utf8_ok, kb_text_kind. Properties: the text is
 * NUL-terminated at its length; from input without '&' (no entity to
 * decode into one) no '<' followed by a letter, '!' or '?' survives (every
 * tag, script and comment is removed); it never starts or ends with a
 * blank or line break, has no run of three line breaks; valid UTF-8 in
 * gives valid UTF-8 out. */
#include "fuzz_common.h"
#include "kb_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	const char *d = (const char *)data;
	size_t n;
	char *t = kb_text_strip_html(d, size, &n);
	FUZZ_ASSERT(strlen(t) <= n && t[n] == '\0', "length %zu, text %zu", n, strlen(t));
	if (strlen(t) == n) {
		FUZZ_ASSERT(!strstr(t, "\n\n\n"), "three line breaks in a row");
		FUZZ_ASSERT(!n || (t[0] != ' ' && t[0] != '\n' && t[n - 1] != ' ' && t[n - 1] != '\n'),
			    "blank at an end");
		if (kb_text_utf8_ok(d, size))
			FUZZ_ASSERT(kb_text_utf8_ok(t, n), "valid UTF-8 in, invalid out");
		for (const char *p = t; !memchr(d, '&', size) && (p = strchr(p, '<')) != NULL; p++) {
			unsigned char c = (unsigned char)p[1];
			FUZZ_ASSERT(!((c | 32) >= 'a' && (c | 32) <= 'z') && c != '!' && c != '?', "a tag survived: %.40s",
				    p);
		}
	}
	free(t);
	(void)kb_text_kind(size ? "x.html" : NULL, "text/html", d, size);
	return 0;
}

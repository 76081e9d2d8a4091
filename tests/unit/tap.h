/* tap.h — minimal header-only TAP producer for automake's TAP driver. */
#ifndef LLMGATE_TAP_H
#define LLMGATE_TAP_H
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_run, tap_failed;

/* Print a "# ..." diagnostic line. */
__attribute__((format(printf, 1, 2)))
static inline void diag(const char *fmt, ...)
{
	va_list ap;
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

__attribute__((format(printf, 4, 5)))
static inline int tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	printf("%sok %d - ", cond ? "" : "not ", ++tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	if (!cond) {
		tap_failed++;
		diag("  failed at %s:%d", file, line);
	}
	fflush(stdout);
	return cond;
}

/* Show bytes with C escapes in a diagnostic. */
static inline void tap_show_(const char *label, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;
	printf("#   %s: \"", label);
	for (i = 0; i < n && i < 512; i++) {
		if (s[i] == '\\' || s[i] == '"')
			printf("\\%c", s[i]);
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			putchar(s[i]);
		else if (s[i] == '\n')
			fputs("\\n", stdout);
		else if (s[i] == '\r')
			fputs("\\r", stdout);
		else
			printf("\\x%02x", s[i]);
	}
	printf("\"%s (%zu bytes)\n", i < n ? "..." : "", n);
}

static inline int tap_is_int_(long long a, long long b, const char *name,
			      const char *file, int line)
{
	int r = tap_ok_(a == b, file, line, "%s", name);
	if (!r)
		diag("  got %lld, expected %lld", a, b);
	return r;
}

static inline int tap_is_mem_(const void *a, size_t alen, const void *b, size_t blen,
			      const char *name, const char *file, int line)
{
	int eq = a && b ? alen == blen && (alen == 0 || memcmp(a, b, alen) == 0) : a == b;
	int r = tap_ok_(eq, file, line, "%s", name);
	if (!r) {
		if (a)
			tap_show_("     got", a, alen);
		else
			diag("       got: NULL");
		if (b)
			tap_show_("expected", b, blen);
		else
			diag("  expected: NULL");
	}
	return r;
}

static inline int tap_is_str_(const char *a, const char *b, const char *name,
			      const char *file, int line)
{
	return tap_is_mem_(a, a ? strlen(a) : 0, b, b ? strlen(b) : 0, name, file, line);
}

/* Print the plan; return the exit status (number of failures, max 255). */
static inline int done_testing(void)
{
	printf("1..%d\n", tap_run);
	fflush(stdout);
	return tap_failed > 255 ? 255 : tap_failed;
}

/* Each returns its condition (1 pass, 0 fail). */
#define ok(cond, ...)        tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(a, b, name)   tap_is_int_((long long)(a), (long long)(b), (name), __FILE__, __LINE__)
#define is_str(a, b, name)   tap_is_str_((a), (b), (name), __FILE__, __LINE__)
#define is_mem(a, alen, b, blen, name) \
	tap_is_mem_((a), (alen), (b), (blen), (name), __FILE__, __LINE__)
#endif

/* secrets.h — secrets files in the .dev.vars format (the dotenv format the
 * replaced deployments kept per environment): NAME="value" lines whose
 * values config.c uses as the environment variables it knows
 * (DEEPSEEK_API_KEY, AUTH_KEY, INTERNAL_SECRET, BACKEND_URL, ...).
 *
 * The format, one assignment a line:
 *   # a comment                   blank lines and comment lines are skipped
 *   NAME=value                    unquoted: up to a " #" comment, trimmed
 *   export NAME = "va\"lue\n"     double quotes: \n \r \t \" \\ decoded
 *   NAME='literal $value'         single quotes: taken as they are
 * NAME is [A-Za-z_][A-Za-z0-9_]*. A quoted value ends on its own line (no
 * multi-line values); only spaces or a comment may follow it. A line longer
 * than SECRETS_LINE_MAX, a NUL byte, a name given twice, a line that is no
 * assignment: the whole file is refused, with the line number (never a
 * value) in the reason. */
#ifndef LLMGATE_SECRETS_H
#define LLMGATE_SECRETS_H
#include <stddef.h>

#define SECRETS_FILE_MAX (256u << 10)
#define SECRETS_LINE_MAX 8192
#define SECRETS_NAME_MAX 128
#define SECRETS_MAX 1024         /* assignments in one file */

struct secrets {
	char **names;
	char **values;
	size_t n;
};

/* Parse len bytes of text into s (emptied first). 0, or -1 with "line N:
 * why" in err and s empty. */
int secrets_parse(const char *text, size_t len, struct secrets *s, char *err, size_t errlen);
/* Read and parse path: refused (-1, why in err, s empty) unless it is a
 * regular file owned by the effective user with no permission for group or
 * others (mode 0600 or stricter). */
int secrets_load(const char *path, struct secrets *s, char *err, size_t errlen);
/* The value of name, or NULL. */
const char *secrets_get(const struct secrets *s, const char *name);
void secrets_free(struct secrets *s);
#endif

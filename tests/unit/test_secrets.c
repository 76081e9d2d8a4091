/* test_secrets.c — the .dev.vars parser (quoting, comments, bad lines,
 * over-long lines, names twice), the file's owner and mode rules, and the
 * config using its values and an [env.NAME] section (LLMGATE_ENV). */
#include "config.h"
#include "secrets.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int parse(const char *text, struct secrets *s, char *err, size_t errlen)
{
	return secrets_parse(text, strlen(text), s, err, errlen);
}

static void test_parse(void)
{
	struct secrets s;
	char err[200];
	const char *text =
		"# production secrets\n"
		"\n"
		"DEEPSEEK_API_KEY=sk-plain-value\n"
		"export AUTH_KEY = \"gk with \\\"quotes\\\" and \\n\"  # a comment\n"
		"HASH=abc#def # comment\n"
		"EMPTY=\n"
		"  INDENTED=\"x\"";
	ok(parse(text, &s, err, sizeof(err)) == 0, "a file in the .dev.vars format parses: %s", err);
	is_int(s.n, 5, "five assignments");
	is_str(secrets_get(&s, "DEEPSEEK_API_KEY"), "sk-plain-value", "unquoted");
	is_str(secrets_get(&s, "AUTH_KEY"), "gk with \"quotes\" and \n", "double quotes: escapes decoded, export taken");
	secrets_free(&s);
	ok(parse("SINGLE='literal $x \\n' \r\n", &s, err, sizeof(err)) == 0 && !strcmp(secrets_get(&s, "SINGLE"), "literal $x \\n"),
	   "single quotes: taken as they are; CRLF line ends");
	secrets_free(&s);
	ok(parse("HASH=abc#def # comment\nEMPTY=\n  INDENTED=\"x\"", &s, err, sizeof(err)) == 0, "comments and spaces");
	is_str(secrets_get(&s, "HASH"), "abc#def", "a '#' inside an unquoted value stays; after a space it is a comment");
	is_str(secrets_get(&s, "EMPTY"), "", "an empty value");
	is_str(secrets_get(&s, "INDENTED"), "x", "an indented line, no final newline");
	secrets_free(&s);

	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "A=\"open\n", "line 1: a quoted value does not end on its line" },
		{ "A='x' tail\n", "line 1: only a comment may follow a quoted value" },
		{ "A='it''s'\n", "line 1: only a comment may follow a quoted value" },
		{ "OK=1\nA=1\nA=2\n", "line 3: this name is given twice" },
		{ "just words\n", "line 1: not a NAME=value line" },
		{ "1A=x\n", "line 1: not a NAME=value line" },
		{ "=x\n", "line 1: not a NAME=value line" },
		{ "A-B=x\n", "line 1: not a NAME=value line" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i].text, &s, err, sizeof(err));
		ok(r == -1 && !strncmp(err, bad[i].why, strlen(bad[i].why)) && s.n == 0, "refused: %s (%s)", bad[i].why, err);
	}
	ok(secrets_parse("A=se\0cret\n", 10, &s, err, sizeof(err)) == -1 && strstr(err, "NUL"), "a NUL byte refused");
	ok(parse("A=\"sk-the-secret-value\n", &s, err, sizeof(err)) == -1 && !strstr(err, "sk-the"), "no value in a reason");
	size_t n = SECRETS_LINE_MAX + 10;
	char *longl = malloc(n + 1);
	memcpy(longl, "A=", 2);
	memset(longl + 2, 'x', n - 2);
	longl[n] = '\0';
	ok(parse(longl, &s, err, sizeof(err)) == -1 && strstr(err, "line 1: line too long"), "an over-long line refused: %s", err);
	longl[SECRETS_LINE_MAX] = '\0';
	ok(parse(longl, &s, err, sizeof(err)) == 0 && s.n == 1, "a line of SECRETS_LINE_MAX bytes taken");
	secrets_free(&s);
	free(longl);
}

static char dir[] = "/tmp/llmgate-secrets-XXXXXX";

static char *write_file(const char *name, const char *text, mode_t mode)
{
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void test_load(void)
{
	struct secrets s;
	char err[300];
	char *p = write_file("ok.vars", "X=1\n", 0600);
	ok(secrets_load(p, &s, err, sizeof(err)) == 0 && s.n == 1, "mode 0600 taken: %s", err);
	secrets_free(&s);
	chmod(p, 0400);
	ok(secrets_load(p, &s, err, sizeof(err)) == 0, "mode 0400 taken");
	secrets_free(&s);
	chmod(p, 0640);
	ok(secrets_load(p, &s, err, sizeof(err)) == -1 && strstr(err, "chmod 600"), "mode 0640 refused: %s", err);
	chmod(p, 0604);
	ok(secrets_load(p, &s, err, sizeof(err)) == -1, "mode 0604 refused");
	if (geteuid() == 0) {
		chmod(p, 0600);
		ok(chown(p, 65534, 65534) == 0 && secrets_load(p, &s, err, sizeof(err)) == -1 && strstr(err, "not owned"),
		   "a file owned by another user refused: %s", err);
	} else {
		ok(1, "# SKIP owner test needs root");
	}
	ok(secrets_load(dir, &s, err, sizeof(err)) == -1, "a directory refused");
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/none", dir);
	ok(secrets_load(missing, &s, err, sizeof(err)) == -1 && strstr(err, "cannot read"), "a missing file: %s", err);
	unlink(p);
	free(p);
}

static void test_config(void)
{
	char *vars = write_file("dev.vars",
				"DEEPSEEK_API_KEY=\"sk-from-secrets-file-1\"\nBACKEND_URL=https://dev.billing.example\n"
				"API_KEY=sk-app-from-secrets-file\n", 0600);
	char conf[2048];
	snprintf(conf, sizeof(conf),
		 "[settle]\nbackend_url = https://prod.billing.example\n"
		 "[env.development]\nsettle.backend_url = https://dev-file.billing.example\nserver.secrets_file = %s\n"
		 "[env.staging]\nprovider.deepseek.base_url = https://staging.example/v1\n", vars);
	char *path = write_file("llmgate.conf", conf, 0600);
	struct config c;
	char err[512];
	unsetenv("LLMGATE_ENV");
	unsetenv("BACKEND_URL");
	unsetenv("DEEPSEEK_API_KEY");
	unsetenv("API_KEY");
	setenv("LLMGATE_STATE_DIR", dir, 1);
	ok(config_load(&c, path, err, sizeof(err)) == 0, "loads without LLMGATE_ENV: %s", err);
	is_str(c.settle_backend_url, "https://prod.billing.example", "the file's own value");
	config_free(&c);

	setenv("LLMGATE_ENV", "staging", 1);
	ok(config_load(&c, path, err, sizeof(err)) == 0, "LLMGATE_ENV=staging: %s", err);
	const struct provider_conf *ds = config_provider(&c, "deepseek");
	is_str(ds->base_url, "https://staging.example/v1", "[env.staging] sets a provider's key");
	config_free(&c);

	setenv("LLMGATE_ENV", "development", 1);
	ok(config_load(&c, path, err, sizeof(err)) == 0, "LLMGATE_ENV=development: %s", err);
	is_str(c.settle_backend_url, "https://dev.billing.example", "BACKEND_URL from the environment's secrets file");
	ds = config_provider(&c, "deepseek");
	ok(ds->nkeys == 1 && !strcmp(ds->keys[0], "sk-from-secrets-file-1"), "a provider key from the secrets file");
	const struct provider_conf *pa = config_provider(&c, "pip-aide");
	ok(pa && pa->nkeys == 1 && !strcmp(pa->keys[0], "sk-app-from-secrets-file"),
	   "the pip-aide app's API_KEY from the secrets file");
	config_free(&c);
	setenv("BACKEND_URL", "https://env.billing.example", 1);
	ok(config_load(&c, path, err, sizeof(err)) == 0 && !strcmp(c.settle_backend_url, "https://env.billing.example"),
	   "the real environment wins over the secrets file");
	config_free(&c);
	unsetenv("BACKEND_URL");

	chmod(vars, 0644);
	ok(config_load(&c, path, err, sizeof(err)) == -1 && strstr(err, "refused"), "a readable secrets file stops the load: %s", err);
	chmod(vars, 0600);
	setenv("LLMGATE_ENV", "prodution", 1);
	ok(config_load(&c, path, err, sizeof(err)) == -1 && strstr(err, "[env.prodution]"), "an unknown environment: %s", err);
	unsetenv("LLMGATE_ENV");
	char *bad = write_file("bad.conf", "[env.x]\nbackend_url = y\n", 0600);
	ok(config_load(&c, bad, err, sizeof(err)) == -1 && strstr(err, "section.key"), "[env.x] keys are section.key: %s", err);
	unlink(bad);
	unlink(vars);
	unlink(path);
	free(bad);
	free(vars);
	free(path);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	chmod(dir, 0700);
	test_parse();
	test_load();
	test_config();
	rmdir(dir);
	return done_testing();
}

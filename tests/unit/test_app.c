/* test_app.c — prompt apps: the [app.NAME] settings, the pip-aide preset
 * and environment, field checks, templates, answer shapes, the call log's
 * trimming and queries. */
#include "autoconf.h"
#include "app.h"
#include "applog.h"
#include "config.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int conf_with(const char *text, struct config *c, char *err, size_t errlen)
{
	char path[] = "/tmp/test_app_confXXXXXX";
	int fd = mkstemp(path);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -2;
	close(fd);
	int rc = config_load(c, path, err, errlen);
	unlink(path);
	return rc;
}

static void test_config(void)
{
	struct config c;
	char err[512];
	unsetenv("API_KEY");
	is_int(conf_with("[server]\nthreads = 2\n", &c, err, sizeof(err)), 0, "no app without API_KEY or a section");
	is_int(c.napps, 0, "no apps");
	config_free(&c);
	setenv("API_KEY", "sk-pip-secret-0123456789", 1);
	setenv("API_BASE", "http://127.0.0.1:9/v1/", 1);
	unsetenv("MODEL");
	is_int(conf_with("", &c, err, sizeof(err)), 0, "API_KEY alone");
	const struct app_conf *a = app_find(&c, "/analyze_error");
	ok(a && a->auth == APP_AUTH_OPEN && a->nfields == 2, "the pip-aide preset at /analyze_error");
	is_str(a ? a->model : "", "pip-aide/deepseek-chat", "its model on the pip-aide provider");
	const struct provider_conf *p = config_provider(&c, "pip-aide");
	is_str(p ? p->base_url : "", "http://127.0.0.1:9/v1", "API_BASE, its trailing / dropped");
	config_free(&c);
	unsetenv("API_KEY");
	unsetenv("API_BASE");
	static const char *const bad[] = {
		"[app.x]\nmodel = m\n",                                   /* no prompt, no fields */
		"[app.x]\nmodel = m\nprompt = p\nfields = a:0\n",          /* a cap of 0 */
		"[app.x]\nmodel = m\nprompt = p\nfields = a\npath = /v1/chat/completions\n",
		"[app.x]\nmodel = m\nprompt = p\nfields = a\npath = /metrics\n",
		"[app.x]\nmodel = m\nprompt = p\nfields = a\nanswer = json\n",   /* no shape */
		"[app.x]\nmodel = m\nprompt = p\nfields = a\nshape = {\"a\":\"date\"}\n",
		"[app.X]\nmodel = m\n",
		"[app.x]\nwhat = 1\n",
		"[app.x]\nmodel = m\nprompt = p\nfields = a\n[app.y]\nmodel = m\nprompt = p\nfields = a\npath = /x\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ok(conf_with(bad[i], &c, err, sizeof(err)) != 0 && err[0], "refused: %s", err);
	}
	is_int(conf_with("[app.t]\nmodel = m\nfields = a:10, b\nprompt = A={{a}}\\nB={{b}} {{c}}\nsystem = s\n"
			 "answer = json\nshape = {\"k\":[\"integer\"],\"o\":{\"b\":\"boolean\"}}\n", &c, err, sizeof(err)),
	       0, "a declared app");
	a = app_find(&c, "/t");
	ok(a && a->nfields == 2 && a->fields[0].cap == 10 && a->fields[1].cap == 4096, "fields and caps");
	cJSON *req = cJSON_Parse("{\"a\":\"x{{b}}\\u0001y\",\"b\":\"two\\nlines\"}");
	int st;
	is_int(app_check_input(a, req, &st, err, sizeof(err)), 0, "input taken");
	char *f = app_fill(a->prompt, req);
	is_str(f, "A=x{{b}}y\nB=two\nlines {{c}}", "filled once, control characters dropped, unknown kept");
	free(f);
	cJSON_Delete(req);
	req = cJSON_Parse("{\"a\":\"01234567890\",\"b\":\"x\"}");
	ok(app_check_input(a, req, &st, err, sizeof(err)) != 0 && st == 413, "over its cap: 413 (%s)", err);
	cJSON_Delete(req);
	req = cJSON_Parse("{\"a\":\"x\",\"b\":\"x\",\"model\":\"gpt\"}");
	ok(app_check_input(a, req, &st, err, sizeof(err)) != 0 && st == 400, "an undeclared member: 400 (%s)", err);
	cJSON_Delete(req);
	static const struct { const char *json; int ok; const char *why; } shapes[] = {
		{ "{\"k\":[1,2],\"o\":{\"b\":true}}", 1, "" },
		{ "{\"k\":[1.5],\"o\":{\"b\":true}}", 0, "k[0] must be an integer" },
		{ "{\"k\":[],\"o\":{}}", 0, "o.b is missing" },
		{ "{\"k\":[],\"o\":{\"b\":false},\"z\":1}", 0, "z is not in the declared shape" },
		{ "[1]", 0, "the answer must be an object" },
	};
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		cJSON *v = cJSON_Parse(shapes[i].json);
		char why[128];
		is_int(app_shape_check(a->shape, v, why, sizeof(why)), shapes[i].ok, shapes[i].json);
		is_str(why, shapes[i].why, "its reason");
		cJSON_Delete(v);
	}
	config_free(&c);
}

static void test_log(void)
{
	char dir[] = "/tmp/test_app_logXXXXXX";
	ok(mkdtemp(dir) != NULL, "state dir");
	cJSON *in = cJSON_Parse("{\"machine_id\":\"m1\",\"error_context\":\"token pypi-AgEIcHlwaS5vcmcSECRET\"}");
	int64_t day = 86400000LL, now = 1800000000000LL;
	for (int i = 0; i < 6; i++) {
		struct applog_entry e = { .client = i % 2 ? "m1" : "m2", .request_id = "req_1", .input = in,
					  .answer = "fine", .status = 200, .ts_ms = now - (5 - i) * day };
		is_int(applog_append(dir, "pa", &e), 0, "appended");
	}
	char err[128];
	cJSON *q = applog_query(dir, "pa", "m1", NULL, 0, 2, err, sizeof(err));
	const cJSON *ents = cJSON_GetObjectItem(q, "entries");
	is_int(cJSON_GetArraySize(ents), 2, "a page of m1's entries");
	is_int(cJSON_GetObjectItem(q, "total")->valueint, 3, "of three");
	is_int(cJSON_GetObjectItem(q, "next_offset")->valueint, 2, "the next page");
	ok(cJSON_GetArrayItem(ents, 0)->child && !strncmp(cJSON_GetObjectItem(cJSON_GetArrayItem(ents, 0), "key")->valuestring,
							     "m1:2027-01-15T08:00:00.000Z", 27), "newest first, under machine_id:timestamp");
	char *text = cJSON_PrintUnformatted(q);
	ok(!strstr(text, "SECRET"), "tokens scrubbed");
	free(text);
	cJSON_Delete(q);
	is_int(applog_trim(dir, "pa", 3, 1 << 20, now), 0, "trimmed to 3 days");
	q = applog_query(dir, "pa", NULL, NULL, 0, 50, err, sizeof(err));
	is_int(cJSON_GetObjectItem(q, "total")->valueint, 4, "the last three days kept (and today)");
	cJSON_Delete(q);
	long long size = applog_size(dir, "pa");
	is_int(applog_trim(dir, "pa", 30, size / 2, now), 0, "trimmed to a size");
	ok(applog_size(dir, "pa") <= size / 2, "within the cap");
	q = applog_query(dir, "pa", NULL, "m2", 0, 50, err, sizeof(err));
	ok(cJSON_GetObjectItem(q, "total")->valueint >= 1, "searched by text");
	cJSON_Delete(q);
	q = applog_query(dir, "none", NULL, NULL, 0, 50, err, sizeof(err));
	is_int(cJSON_GetObjectItem(q, "total")->valueint, 0, "no log: empty");
	cJSON_Delete(q);
	cJSON_Delete(in);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "cleaned up");
}

int main(void)
{
	test_config();
	test_log();
	return done_testing();
}

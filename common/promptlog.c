/* promptlog.c — prompts kept for the keys whose operator asked for it (promptlog.h). */
#include "autoconf.h"
#include "promptlog.h"
#include "buf.h"
#include "log.h"
#include "pool.h"
#include "xmalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Append s, cut at the buffer's cap on a UTF-8 character boundary. */
static void append_cut(struct buf *out, const char *s)
{
	size_t n = strlen(s), room = out->cap - out->len;
	if (n > room) {
		n = room;
		while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	buf_append(out, s, n);
}

/* The text of a message's content: a string, or its text parts joined. */
static void content_text(const cJSON *content, struct buf *out)
{
	if (cJSON_IsString(content)) {
		append_cut(out, content->valuestring);
		return;
	}
	const cJSON *part;
	cJSON_ArrayForEach(part, content) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
		if (cJSON_IsString(t)) {
			if (out->len)
				append_cut(out, "\n");
			append_cut(out, t->valuestring);
		}
	}
}

/* "<state>/prompts/<key id>.log" and the folder made; NULL when it cannot be. */
static char *log_path(const char *state_dir, const char *key_id, int make)
{
	if (!key_id[0] || strchr(key_id, '/') || key_id[0] == '.')
		return NULL;
	char *dir = xasprintf("%s/%s", state_dir, PROMPTLOG_DIR);
	if (make && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		free(dir);
		return NULL;
	}
	char *path = xasprintf("%s/%s.log", dir, key_id);
	free(dir);
	return path;
}

int promptlog_filter(cJSON *req, const struct filter_ctx *fc)
{
	if (!fc->who || !fc->who->log_prompts)
		return 0;
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages"), *m, *last = NULL;
	cJSON_ArrayForEach(m, msgs) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		if (cJSON_IsString(role) && !strcmp(role->valuestring, "user"))
			last = m;
	}
	struct buf text;
	buf_init(&text, PROMPTLOG_TEXT_MAX);   /* what is over the cap is dropped */
	if (last)
		content_text(cJSON_GetObjectItemCaseSensitive(last, "content"), &text);
	char *scrubbed = xstrdup(buf_str(&text));
	buf_free(&text);
	log_scrub(scrubbed);
	cJSON *line = cJSON_CreateObject();
	cJSON_AddStringToObject(line, "id", fc->req_id);
	cJSON_AddNumberToObject(line, "ts", (double)pool_now_ms());
	cJSON_AddStringToObject(line, "model", fc->model ? fc->model : "");
	cJSON_AddStringToObject(line, "prompt", scrubbed);
	free(scrubbed);
	char *json = cJSON_PrintUnformatted(line);
	cJSON_Delete(line);
	char *path = log_path(fc->c->state_dir, fc->who->id, 1);
	struct stat st;
	if (path && stat(path, &st) == 0 && st.st_size > PROMPTLOG_FILE_MAX) {
		char *old = xasprintf("%s.1", path);
		rename(path, old);   /* a race with another writer only drops a rotation */
		free(old);
	}
	int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
	size_t n = strlen(json);
	json[n] = '\n';   /* one write: lines of concurrent writers never mix */
	if (fd < 0 || write(fd, json, n + 1) != (ssize_t)(n + 1))
		log_warn("prompt of request %s not kept in %s/: %s", fc->req_id, PROMPTLOG_DIR, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(json);
	free(path);
	return 0;
}

/* Add the lines of path to out (id -> prompt). */
static void read_file(const char *path, cJSON *out)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		cJSON *j = cJSON_ParseWithLength(line, (size_t)len);
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "prompt");
		if (cJSON_IsString(id) && cJSON_IsString(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(out, id->valuestring);
			cJSON_AddStringToObject(out, id->valuestring, p->valuestring);
		}
		cJSON_Delete(j);
	}
	free(line);
	fclose(f);
}

cJSON *promptlog_read(const char *state_dir, const char *key_id)
{
	cJSON *out = cJSON_CreateObject();
	char *path = log_path(state_dir, key_id, 0);
	if (!path)
		return out;
	char *old = xasprintf("%s.1", path);
	read_file(old, out);
	read_file(path, out);
	free(old);
	free(path);
	return out;
}

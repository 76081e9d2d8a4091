/* admin_settle.c — whether llmgate-settle is scheduled, and the crontab
 * line that schedules it for this install (bindir, configuration file,
 * the user owning the state folder). */
#include "autoconf.h"
#include "admin_impl.h"
#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#ifndef BINDIR
#define BINDIR "/usr/local/bin"
#endif
#define SETTLE_RECENT_S (2 * 3600)   /* a run this recent: something runs it */

/* Does the file mention llmgate-settle on a line that is not a comment? */
static int mentions_settle(const char *path)
{
	char line[1024];
	int found = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " \t");
		found = *p != '#' && strstr(p, "llmgate-settle") != NULL;
	}
	fclose(f);
	return found;
}

/* The system crontab file that runs llmgate-settle, into out ("" : none). */
static void cron_file(char *out, size_t outlen)
{
	static const char *const dirs[] = { "/etc/cron.d", "/etc/cron.hourly", NULL };
	out[0] = '\0';
	if (mentions_settle("/etc/crontab")) {
		snprintf(out, outlen, "/etc/crontab");
		return;
	}
	for (const char *const *d = dirs; *d && !out[0]; d++) {
		DIR *dir = opendir(*d);
		struct dirent *e;
		char path[512];
		while (dir && !out[0] && (e = readdir(dir)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", *d, e->d_name);
			if (mentions_settle(path))
				snprintf(out, outlen, "%s", path);
		}
		if (dir)
			closedir(dir);
	}
}

void admin_settle_schedule(struct admin_ctx *x, cJSON *j, int64_t last_run_ms)
{
	char file[512], line[1536], user[64] = "llmgate";
	struct stat st;
	if (stat(x->a->cfg.state_dir, &st) == 0) {
		const struct passwd *pw = getpwuid(st.st_uid);
		if (pw)
			snprintf(user, sizeof(user), "%s", pw->pw_name);
	}
	if (x->a->config_path)
		snprintf(line, sizeof(line), "0 * * * *  %s  LLMGATE_CONFIG=%s %s/llmgate-settle --quiet", user,
			 x->a->config_path, BINDIR);
	else
		snprintf(line, sizeof(line), "0 * * * *  %s  LLMGATE_STATE_DIR=%s %s/llmgate-settle --quiet", user,
			 x->a->cfg.state_dir, BINDIR);
	cron_file(file, sizeof(file));
	const char *how = file[0] ? "cron"
			  : last_run_ms && x->now - last_run_ms / 1000 < SETTLE_RECENT_S ? "recent"
									     : "no";
	cJSON *s = cJSON_AddObjectToObject(j, "schedule");
	cJSON_AddStringToObject(s, "scheduled", how);
	if (file[0])
		cJSON_AddStringToObject(s, "cron_file", file);
	cJSON_AddStringToObject(s, "crontab_line", line);
	cJSON_AddStringToObject(s, "crontab_file", "/etc/cron.d/llmgate");
}

/* test_spool.c — the usage spool: append, rotate, orphans, partial lines. */
#include "autoconf.h"
#include "spool.h"
#include "log.h"
#include "tap.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int count_line(const char *line, size_t len, void *user)
{
	int *n = user;
	(*n)++;
	(void)line;
	(void)len;
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/llmgate-test-spool-XXXXXX";
	char sdir[128], path[256], seg[SPOOL_NAME_MAX], seg2[SPOOL_NAME_MAX];
	struct spool s;
	char **list;
	int partial;
	log_init("test", LOG_ERR);
	if (!mkdtemp(dir))
		return 1;
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);

	is_int(spool_open(&s, dir), 0, "open creates the spool dir");
	struct stat st;
	ok(stat(sdir, &st) == 0 && (st.st_mode & 0777) == 0700, "spool dir is 0700");
	is_int(spool_append(&s, "{\"id\":\"a\"}", 10, seg), 0, "append");
	is_int(spool_append(&s, "{\"id\":\"b\"}", 10, seg2), 0, "append again");
	is_str(seg, seg2, "same segment");
	is_int(spool_list(sdir, ".open", &list), 1, "one open segment");
	is_str(list[0], seg, "named as reported");
	spool_free_list(list, 1);
	is_int(spool_claim_orphans(sdir), 0, "a live writer's segment is not claimed");
	spool_rotate(&s, 0);
	is_int(spool_list(sdir, ".ready", &list), 0, "not rotated before its time");
	spool_free_list(list, 0);
	spool_rotate(&s, 1);
	is_int(spool_list(sdir, ".ready", &list), 1, "forced rotation closes it");
	spool_free_list(list, 1);
	snprintf(path, sizeof(path), "%s/%s.ready", sdir, seg);
	int n = 0;
	is_int(spool_read(path, count_line, &n, &partial), 2, "two records read back");
	is_int(partial, 0, "no partial line");
	spool_rotate(&s, 1);
	is_int(spool_list(sdir, ".open", &list), 0, "an empty writer leaves no segment");
	spool_free_list(list, 0);

	/* too large a record is refused, nothing written */
	char *big = malloc(SPOOL_RECORD_MAX + 10);
	memset(big, 'x', SPOOL_RECORD_MAX + 9);
	big[SPOOL_RECORD_MAX + 9] = '\0';
	is_int(spool_append(&s, big, strlen(big), NULL), -1, "oversized record refused");
	free(big);
	spool_close(&s);

	/* a writer killed with a segment open: its lock dies with it */
	pid_t pid = fork();
	if (pid == 0) {
		struct spool c;
		spool_open(&c, dir);
		spool_append(&c, "{\"id\":\"c\"}", 10, NULL);
		/* a partial line, as a kill in the middle of a write would leave */
		int fd = c.fd;
		if (write(fd, "{\"id\":\"parti", 12) != 12)
			_exit(2);
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	int status;
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status), "writer was killed");
	is_int(spool_list(sdir, ".open", &list), 1, "its segment is still .open");
	spool_free_list(list, 1);
	is_int(spool_claim_orphans(sdir), 1, "claimed as an orphan");
	is_int(spool_list(sdir, ".ready", &list), 2, "now two ready segments");
	snprintf(path, sizeof(path), "%s/%s.ready", sdir, list[1]);
	n = 0;
	is_int(spool_read(path, count_line, &n, &partial), 1, "the complete record is kept");
	is_int(partial, 1, "the partial line is skipped and counted");
	ok(strcmp(list[0], list[1]) < 0, "names sort by creation time");
	spool_free_list(list, 2);

	/* a fresh empty .open held by nobody is left alone (a writer may be about to lock it) */
	snprintf(path, sizeof(path), "%s/seg-9999999999999-1-00000000.open", sdir);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	is_int(spool_claim_orphans(sdir), 0, "a new empty segment is not claimed");
	ok(access(path, F_OK) == 0, "and not removed");
	unlink(path);
	return done_testing();
}

/* test_settle.c — settlement runs stopped after every step (and pairs of steps) still count each record once. */
#include "autoconf.h"
#include "ledger.h"
#include "log.h"
#include "settle.h"
#include "store.h"
#include "tap.h"
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET "unit-test-secret-42"
#define NREC 15
#define MOCK_BATCHES_MAX 256

/* ------------------------------------------------------------ a tiny backend */

struct mock {
	int fd;
	int port;
	pthread_t th;
	pthread_mutex_t mu;
	int status;                 /* what to answer */
	int requests;
	int bad_sig;
	int dup_batches;
	int max_batch;              /* most records in one batch */
	char ids[MOCK_BATCHES_MAX][SETTLE_BATCH_ID_MAX];
	int nids;
	long records;               /* records of distinct batches */
};

static struct mock M;

static void mock_reset(int status)
{
	pthread_mutex_lock(&M.mu);
	M.status = status;
	M.requests = M.bad_sig = M.dup_batches = M.max_batch = M.nids = 0;
	M.records = 0;
	pthread_mutex_unlock(&M.mu);
}

static const char *header(const char *head, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	for (const char *p = head; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t n = strcspn(v, "\r\n");
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return out;
		}
	}
	out[0] = '\0';
	return NULL;
}

static void mock_serve(int c)
{
	char *req = malloc(1 << 20);
	size_t len = 0, need = 0;
	char *body = NULL;
	for (;;) {
		ssize_t n = read(c, req + len, (1 << 20) - 1 - len);
		if (n <= 0)
			goto out;
		len += (size_t)n;
		req[len] = '\0';
		if (!body && (body = strstr(req, "\r\n\r\n")) != NULL) {
			char cl[32];
			body += 4;
			header(req, "Content-Length", cl, sizeof(cl));
			need = (size_t)(body - req) + strtoul(cl, NULL, 10);
		}
		if (body && len >= need)
			break;
	}
	body[-2] = '\0';
	char ts[32], sig[SETTLE_SIG_LEN + 8], id[SETTLE_BATCH_ID_MAX], want[SETTLE_SIG_LEN];
	header(req, "X-Llmgate-Timestamp", ts, sizeof(ts));
	header(req, "X-Llmgate-Signature", sig, sizeof(sig));
	header(req, "X-Llmgate-Batch-Id", id, sizeof(id));
	settle_sign(SECRET, ts, body, len - (size_t)(body - req), want);
	pthread_mutex_lock(&M.mu);
	M.requests++;
	int status = M.status;
	if (strcmp(sig, want)) {
		M.bad_sig++;
		status = 401;
	}
	if (status == 200) {
		cJSON *j = cJSON_Parse(body);
		const cJSON *recs = cJSON_GetObjectItemCaseSensitive(j, "records");
		const cJSON *bid = cJSON_GetObjectItemCaseSensitive(j, "batch_id");
		int n = cJSON_GetArraySize(recs);
		int seen = 0;
		if (!cJSON_IsString(bid) || strcmp(bid->valuestring, id))
			status = 400;
		for (int i = 0; status == 200 && i < M.nids; i++)
			seen |= !strcmp(M.ids[i], id);
		if (status == 200 && seen) {
			M.dup_batches++;
		} else if (status == 200 && M.nids < MOCK_BATCHES_MAX) {
			snprintf(M.ids[M.nids++], SETTLE_BATCH_ID_MAX, "%s", id);
			M.records += n;
			if (n > M.max_batch)
				M.max_batch = n;
		}
		cJSON_Delete(j);
	}
	pthread_mutex_unlock(&M.mu);
	char resp[160];
	int rl = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", status);
	ssize_t w = write(c, resp, (size_t)rl);
	(void)w;
out:
	free(req);
	close(c);
}

static void *mock_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(M.fd, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		mock_serve(c);
	}
	return NULL;
}

static int mock_start(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	M.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (M.fd < 0 || bind(M.fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(M.fd, 16) != 0 ||
	    getsockname(M.fd, (struct sockaddr *)&a, &al) != 0)
		return -1;
	M.port = ntohs(a.sin_port);
	pthread_mutex_init(&M.mu, NULL);
	mock_reset(200);
	return pthread_create(&M.th, NULL, mock_main, NULL);
}

static void mock_stop(void)
{
	shutdown(M.fd, SHUT_RDWR);
	pthread_join(M.th, NULL);
	close(M.fd);
	pthread_mutex_destroy(&M.mu);
}

/* ------------------------------------------------------------ fixtures */

/* Record i: key k_<i%2>, prompt i+1, cost (i+1) * 0.001. */
static void write_seg(const char *spool, const char *name, const char *suffix, int first, int n, int partial)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s%s", spool, name, suffix);
	FILE *f = fopen(path, "w");
	for (int i = first; i < first + n; i++)
		fprintf(f,
			"{\"id\":\"r%d\",\"ts\":1801439999000,\"key_id\":\"k_%d\",\"model\":\"m\",\"prompt\":%d,"
			"\"completion\":1,\"cached\":0,\"reasoning\":0,\"estimated\":false,\"cost\":%.3f,"
			"\"status\":200,\"cache_hit\":false}\n",
			i, i % 2, i + 1, (i + 1) * 0.001);
	if (partial)
		fputs("{\"id\":\"lost\",\"ts\":18014", f);
	fclose(f);
}

static void fixture(const char *dir)
{
	char spool[512];
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	mkdir(spool, 0700);
	write_seg(spool, "seg-1801439990000-1-0000000a", ".ready", 0, 5, 0);
	write_seg(spool, "seg-1801439991000-1-0000000b", ".ready", 5, 4, 1);
	write_seg(spool, "seg-1801439992000-1-0000000c", ".ready", 9, 3, 0);
	write_seg(spool, "seg-1801439993000-2-0000000d", ".open", 12, 3, 0);   /* orphan */
}

static void rm_rf(const char *dir)
{
	char sub[512], arch[600];
	snprintf(sub, sizeof(sub), "%s/spool", dir);
	snprintf(arch, sizeof(arch), "%s/archive", sub);
	const char *dirs[] = { arch, sub, dir };
	for (int k = 0; k < 3; k++) {
		DIR *d = opendir(dirs[k]);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			char p[1024];
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(p, sizeof(p), "%s/%s", dirs[k], e->d_name);
			unlink(p);
		}
		if (d)
			closedir(d);
		rmdir(dirs[k]);
	}
}

/* Files of segments (.open, .ready, .settled) and, with push_files, their .push files. */
static int files_left(const char *dir, int push_files)
{
	char sub[512];
	int n = 0;
	snprintf(sub, sizeof(sub), "%s/spool", dir);
	DIR *d = opendir(sub);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		n += !strncmp(e->d_name, "seg-", 4) && (push_files || !strstr(e->d_name, ".push"));
	if (d)
		closedir(d);
	return n;
}

static int segments_left(const char *dir)
{
	return files_left(dir, 0);
}

static int mock_has(const char *id)
{
	int found = 0;
	pthread_mutex_lock(&M.mu);
	for (int i = 0; i < M.nids; i++)
		found |= !strcmp(M.ids[i], id);
	pthread_mutex_unlock(&M.mu);
	return found;
}

static int exists(const char *dir, const char *name)
{
	char p[1100];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

/* 1 if the ledger holds exactly the NREC records once. */
static int ledger_exact(const char *dir)
{
	char *path = ledger_path(dir);
	GDBM_FILE db = store_open(path, 0, 0);
	int good = db != NULL;
	free(path);
	for (int k = 0; good && k < 2; k++) {
		char key[32];
		struct ledger_totals t;
		long long req = 0, prompt = 0, units = 0;
		for (int i = k; i < NREC; i += 2) {
			req++;
			prompt += i + 1;
			units += (i + 1) * 1000000000LL;
		}
		snprintf(key, sizeof(key), "key:k_%d", k);
		good = ledger_get(db, key, &t) == 1 && t.requests == req && t.prompt == prompt &&
		       t.completion == req && t.cost_units == units;
		if (!good)
			diag("%s: requests %lld prompt %lld cost %lld (want %lld %lld %lld)", key, t.requests, t.prompt,
			     t.cost_units, req, prompt, units);
	}
	struct ledger_totals m;
	if (good)
		good = ledger_get(db, "model:m|2027-01-31", &m) == 1 && m.requests == NREC;
	store_close(db);
	return good;
}

static void opts_for(struct settle_opts *o, const char *dir, const char *url, enum settle_step stop)
{
	memset(o, 0, sizeof(*o));
	o->state_dir = dir;
	o->backend_url = url;
	o->backend_path = "/internal/usage";
	o->secret = SECRET;
	o->batch = 2;
	o->retries = 0;
	o->retry_delay_ms = 1;
	o->connect_timeout_ms = 2000;
	o->timeout_ms = 5000;
	o->stop_after = stop;
}

/* Stop after step k, then (if j) after step j, then run to the end. 1 if
 * every record is in the ledger once and (with a backend) delivered once. */
static int crash_case(const char *url, enum settle_step k, enum settle_step j)
{
	char dir[] = "/tmp/llmgate-test-settle-XXXXXX";
	struct settle_opts o;
	struct settle_result r;
	int good = 1;
	if (!mkdtemp(dir))
		return 0;
	fixture(dir);
	mock_reset(200);
	opts_for(&o, dir, url, k);
	int rc = settle_run(&o, &r);
	if (k && (*url || k <= SETTLE_STEP_MARKED))
		good &= rc == SETTLE_STOPPED;   /* the step was reached */
	if (k == SETTLE_STEP_SYNCED && rc == SETTLE_STOPPED)
		good &= !exists(dir, "ledger.db") && exists(dir, "ledger.db.tmp");
	if (k == SETTLE_STEP_COMMITTED && rc == SETTLE_STOPPED)
		good &= ledger_exact(dir) && exists(dir, "spool/seg-1801439990000-1-0000000a.ready");
	if (j) {
		o.stop_after = j;
		settle_run(&o, &r);
	}
	o.stop_after = SETTLE_STEP_NONE;
	rc = settle_run(&o, &r);
	good &= rc == SETTLE_EXIT_OK;
	good &= ledger_exact(dir);
	good &= files_left(dir, 1) == 0;
	if (*url)
		good &= M.records == NREC && M.bad_sig == 0 && M.max_batch <= 2;
	/* and once more: nothing changes */
	rc = settle_run(&o, &r);
	good &= rc == SETTLE_EXIT_OK && r.folded_records == 0 && r.pushed_records == 0 && ledger_exact(dir);
	if (!good)
		diag("case %s stop %d then %d: rc %d, records at the backend %ld, segments left %d, error '%s'",
		     *url ? "backend" : "no backend", k, j, rc, M.records, files_left(dir, 1), r.error);
	rm_rf(dir);
	return good;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* Damage ledger.db (truncate: cut in half, else zero its first 4 KiB),
 * then a run with a segment ready must exit SETTLE_EXIT_DAMAGED and change
 * nothing; --verify must name the file. */
static void damaged_ledger(const char *dir, int truncate_it)
{
	const char *what = truncate_it ? "ledger cut in half" : "ledger's first 4 KiB zeroed";
	char *path = ledger_path(dir), spool[512], line[1024];
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	struct settle_opts o;
	struct settle_result r;
	opts_for(&o, dir, NULL, SETTLE_STEP_NONE);
	/* a ledger of 300 keys (several blocks) */
	char segp[1100];
	snprintf(segp, sizeof(segp), "%s/seg-1801439998000-1-000000fe.ready", spool);
	FILE *sf = fopen(segp, "w");
	for (int i = 0; i < 300; i++)
		fprintf(sf, "{\"id\":\"d%d\",\"ts\":1801439999000,\"key_id\":\"k_x%d\",\"model\":\"m\",\"prompt\":1,"
			"\"completion\":1,\"cost\":0.001,\"status\":200}\n", i, i);
	fclose(sf);
	is_int(settle_run(&o, &r), SETTLE_EXIT_OK, "a ledger of some blocks");
	write_seg(spool, "seg-1801439999000-1-000000ff", ".ready", 0, 3, 0);
	struct stat st;
	stat(path, &st);
	int fd = open(path, O_WRONLY);
	if (truncate_it) {
		if (ftruncate(fd, st.st_size / 2) != 0)
			diag("ftruncate failed");
	} else {
		char zero[4096] = { 0 };
		if (pwrite(fd, zero, sizeof(zero), 0) != (ssize_t)sizeof(zero))
			diag("pwrite failed");
	}
	close(fd);
	size_t n1, n2;
	char *before = slurp(path, &n1);
	ok(settle_run(&o, &r) == SETTLE_EXIT_DAMAGED, "%s: settle exits %d (EX_DATAERR)", what, SETTLE_EXIT_DAMAGED);
	ok(strstr(r.error, "ledger.db") && strstr(r.error, "nothing folded"), "%s: says why: %s", what, r.error);
	char *after = slurp(path, &n2);
	ok(before && after && n1 == n2 && !memcmp(before, after, n1), "%s: the ledger is left as it was", what);
	ok(exists(spool, "seg-1801439999000-1-000000ff.ready"), "%s: the segment is still ready", what);
	char out[600];
	snprintf(out, sizeof(out), "%s/verify.txt", dir);
	FILE *vf = fopen(out, "w");
	is_int(settle_verify(dir, vf), SETTLE_EXIT_DAMAGED, "--verify: damaged");
	fclose(vf);
	vf = fopen(out, "r");
	int named = 0;
	while (fgets(line, sizeof(line), vf))
		named |= strstr(line, "ledger.db: DAMAGED") != NULL;
	fclose(vf);
	ok(named, "--verify names the damaged ledger");
	unlink(out);
	unlink(path);
	snprintf(segp, sizeof(segp), "%s/seg-1801439999000-1-000000ff.ready", spool);
	unlink(segp);
	free(before);
	free(after);
	free(path);
}

static long long requests_of(const char *dir, const char *key)
{
	char *path = ledger_path(dir);
	GDBM_FILE db = store_open(path, STORE_READ, 0);
	struct ledger_totals t;
	int r = db ? ledger_get(db, key, &t) : -1;
	store_close(db);
	free(path);
	return r == 1 ? t.requests : -1;
}

/* [settle] archive keeps what was folded; a damaged ledger is rebuilt from
 * it with the same totals, and segments still .ready are folded after. */
static void rebuild_case(const char *dir)
{
	char spool[512], err[256];
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	struct settle_opts o;
	struct settle_result r;
	opts_for(&o, dir, NULL, SETTLE_STEP_NONE);
	o.archive = 1;
	write_seg(spool, "seg-1801439990000-7-000000a1", ".ready", 0, 5, 0);
	write_seg(spool, "seg-1801439991000-7-000000a2", ".ready", 5, 6, 0);
	is_int(settle_run(&o, &r), SETTLE_EXIT_OK, "archive: folded");
	char adir[600];
	snprintf(adir, sizeof(adir), "%s/archive", spool);
	ok(exists(adir, "seg-1801439990000-7-000000a1.settled") && exists(adir, "seg-1801439991000-7-000000a2.settled"),
	   "archive: the folded segments are kept in spool/archive/");
	long long k0 = requests_of(dir, "key:k_0"), k1 = requests_of(dir, "key:k_1");
	ok(k0 == 6 && k1 == 5, "totals before: %lld %lld", k0, k1);
	FILE *devnull = fopen("/dev/null", "w");
	is_int(settle_rebuild_ledger(&o, 0, devnull, err, sizeof(err)), SETTLE_EXIT_ERROR, "a healthy ledger is not rebuilt");
	ok(strstr(err, "--force") != NULL, "unless forced: %s", err);
	write_seg(spool, "seg-1801439992000-7-000000a3", ".ready", 11, 2, 0);
	char *path = ledger_path(dir);
	int fd = open(path, O_WRONLY);
	char zero[4096] = { 0 };
	ok(pwrite(fd, zero, sizeof(zero), 0) == (ssize_t)sizeof(zero), "ledger damaged");
	close(fd);
	is_int(settle_run(&o, &r), SETTLE_EXIT_DAMAGED, "settle refuses it");
	is_int(settle_rebuild_ledger(&o, 0, devnull, err, sizeof(err)), SETTLE_EXIT_OK, "rebuilt");
	is_int(settle_verify(dir, devnull), SETTLE_EXIT_OK, "the new ledger reads whole");
	ok(requests_of(dir, "key:k_0") == k0 && requests_of(dir, "key:k_1") == k1, "the same totals as before the damage");
	is_int(settle_run(&o, &r), SETTLE_EXIT_OK, "settle goes on");
	is_int(r.folded_records, 2, "and folds the segment that waited");
	ok(requests_of(dir, "key:k_0") == k0 + 1 && requests_of(dir, "key:k_1") == k1 + 1, "counted once");
	DIR *d = opendir(dir);
	struct dirent *de;
	int kept = 0;
	while ((de = readdir(d)))
		kept += !strncmp(de->d_name, "ledger.db.damaged-", 18);
	closedir(d);
	is_int(kept, 1, "the damaged file is kept beside it");
	fclose(devnull);
	free(path);
}

int main(void)
{
	char url[64], dead[64];
	struct settle_opts o;
	struct settle_result r;
	log_init("test", LOG_ERR);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (mock_start() != 0)
		return 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", M.port);

	/* ---- signing and ids */
	char sig[SETTLE_SIG_LEN], id[SETTLE_BATCH_ID_MAX];
	const char *body = "{\"batch_id\":\"x\"}";
	/* HMAC-SHA256("s3cret-key", "1700000000.{\"batch_id\":\"x\"}"), from Python's hmac */
	settle_sign("s3cret-key", "1700000000", body, strlen(body), sig);
	is_str(sig, "sha256=b7aa662b17e03e3279497e3693ed2ee52f95c32e402184709463c74482e18b2d",
	       "signature over \"<ts>.<body>\"");
	settle_batch_id("seg-1801439990000-1-0000000a", 3, id);
	is_str(id, "seg-1801439990000-1-0000000a.3", "batch id");

	/* ---- one clean run, no backend */
	ok(crash_case("", SETTLE_STEP_NONE, SETTLE_STEP_NONE), "no backend: folded once, segments deleted");
	/* ---- one clean run with the backend */
	ok(crash_case(url, SETTLE_STEP_NONE, SETTLE_STEP_NONE), "backend: folded once, delivered once");

	/* ---- stopped after each step */
	for (int k = 1; k < SETTLE_STEP_MAX; k++) {
		ok(crash_case("", (enum settle_step)k, SETTLE_STEP_NONE), "no backend, stopped after step %d", k);
		ok(crash_case(url, (enum settle_step)k, SETTLE_STEP_NONE), "backend, stopped after step %d", k);
	}
	/* ---- stopped twice, at every pair of steps */
	int pairs_ok = 1, pairs = 0;
	for (int k = 1; k < SETTLE_STEP_MAX; k++) {
		for (int j = 1; j < SETTLE_STEP_MAX; j++) {
			pairs_ok &= crash_case(url, (enum settle_step)k, (enum settle_step)j);
			pairs++;
		}
	}
	ok(pairs_ok, "backend, stopped at each of %d pairs of steps", pairs);

	/* ---- the backend down, refusing, or without a secret */
	char dir[] = "/tmp/llmgate-test-settle-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	fixture(dir);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(s, (struct sockaddr *)&a, sizeof(a));
	getsockname(s, (struct sockaddr *)&a, &al);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", ntohs(a.sin_port));
	close(s);   /* nobody listens there now */
	opts_for(&o, dir, dead, SETTLE_STEP_NONE);
	o.retries = 2;
	is_int(settle_run(&o, &r), SETTLE_EXIT_TEMPFAIL, "unreachable backend: EX_TEMPFAIL");
	ok(r.push_failed && r.folded_records == NREC && r.backlog_records == NREC, "folded, kept: backlog %ld",
	   r.backlog_records);
	ok(ledger_exact(dir), "the ledger does not wait for the backend");
	struct settle_status st;
	char err[256];
	is_int(settle_status(&o, &st, err, sizeof(err)), 0, "status");
	ok(st.settled.segments == 4 && st.settled.records == NREC && st.backlog_records == NREC && st.oldest_ms > 0 &&
	   st.last_push_ok_ms == 0 && st.last_error[0], "status: 4 settled segments, %ld records, error '%s'",
	   st.settled.records, st.last_error);

	mock_reset(500);
	opts_for(&o, dir, url, SETTLE_STEP_NONE);
	o.retries = 1;
	is_int(settle_run(&o, &r), SETTLE_EXIT_TEMPFAIL, "HTTP 500: EX_TEMPFAIL");
	is_int(M.requests, 2, "one try and one retry");
	mock_reset(403);
	is_int(settle_run(&o, &r), SETTLE_EXIT_TEMPFAIL, "HTTP 403: EX_TEMPFAIL");
	is_int(M.requests, 1, "a refusal is not retried");

	o.secret = "";
	is_int(settle_run(&o, &r), SETTLE_EXIT_ERROR, "backend without a secret: configuration error");
	ok(strstr(r.error, "INTERNAL_SECRET") != NULL, "says so: %s", r.error);
	is_int(segments_left(dir), 4, "records kept");

	/* a half-pushed segment keeps its batch size when the setting changes */
	mock_reset(200);
	o.secret = SECRET;
	o.stop_after = SETTLE_STEP_ACKED;
	is_int(settle_run(&o, &r), SETTLE_STOPPED, "stopped after one batch");
	o.stop_after = SETTLE_STEP_NONE;
	o.batch = 5;
	is_int(settle_run(&o, &r), SETTLE_EXIT_OK, "the rest with batch = 5");
	is_int(M.max_batch, 4, "the other segments go in batches of up to 5...");
	ok(mock_has("seg-1801439990000-1-0000000a.2"), "...the half-pushed one keeps batches of 2");
	ok(M.records == NREC && M.dup_batches == 0, "every record arrived once (%ld)", M.records);
	is_int(settle_status(&o, &st, err, sizeof(err)), 0, "status");
	ok(st.backlog_records == 0 && st.last_push_ok_ms > 0 && !st.last_error[0], "status: nothing left, pushed");

	/* ---- another run holds the lock */
	char lock[600];
	snprintf(lock, sizeof(lock), "%s/spool/%s", dir, SETTLE_LOCK_FILE);
	int lfd = open(lock, O_RDWR | O_CREAT, 0600);
	ok(lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) == 0, "lock held here");
	char spool[600];
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	write_seg(spool, "seg-1801439999000-9-0000000f", ".ready", 0, 2, 0);
	is_int(settle_run(&o, &r), SETTLE_EXIT_OK, "busy: exit 0");
	ok(r.busy && r.folded_records == 0, "nothing done");
	close(lfd);

	/* ---- dry run */
	o.dry_run = 1;
	is_int(settle_run(&o, &r), SETTLE_EXIT_OK, "dry run");
	ok(r.folded_records == 2 && r.pushed_records == 2 && r.pushed_batches == 1, "would fold 2, push 2 in 1 batch");
	is_int(segments_left(dir), 1, "nothing changed");
	o.dry_run = 0;
	is_int(settle_run(&o, &r), SETTLE_EXIT_OK, "real run");
	ok(r.folded_records == 2 && r.pushed_records == 2 && segments_left(dir) == 0, "done");

	/* ---- the dump */
	char dump[600];
	snprintf(dump, sizeof(dump), "%s/dump.txt", dir);
	FILE *df = fopen(dump, "w");
	is_int(settle_dump_ledger(dir, 0, df, err, sizeof(err)), 0, "dump");
	fclose(df);
	df = fopen(dump, "r");
	char line[1024];
	int nlines = 0, sorted = 1;
	char prev[1024] = "";
	while (fgets(line, sizeof(line), df)) {
		cJSON *j = cJSON_Parse(line);
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "key");
		sorted &= cJSON_IsString(k) && strcmp(prev, k->valuestring) < 0;
		if (cJSON_IsString(k))
			snprintf(prev, sizeof(prev), "%s", k->valuestring);
		cJSON_Delete(j);
		nlines++;
	}
	fclose(df);
	unlink(dump);
	/* key:k_0 key:k_1 month:k_0 month:k_1 day x2 model x1 meta:last */
	is_int(nlines, 8, "one JSON line per key");
	ok(sorted, "sorted by key");

	/* ---- a damaged ledger: refused whole, nothing moves, --verify says so */
	damaged_ledger(dir, 0);
	damaged_ledger(dir, 1);
	rebuild_case(dir);

	rm_rf(dir);
	mock_stop();
	curl_global_cleanup();
	return done_testing();
}

/* fuzz_request_model.c — what is checked is what runs. The input is a
 * request body. reqbody_parse either refuses it (with a reason, and no
 * tree) or accepts it; for an accepted body the model the gateway checks
 * against the allow-list (reqbody_model) and the one it records (its copy
 * into a MODEL_NAME_MAX buffer, as the router does) must be the model an
 * upstream reads from the very same bytes (passthrough forwards them), and
 * every body built for upstream from it (reqbody_forward spliced and
 * printed, with and without include_usage; Anthropic's passthrough print;
 * anthropic_request_from_oai) must carry exactly the target model.
 *
 * "An upstream reads" is an independent JSON reader below (not cJSON, not
 * jscan): it decodes every member name with all escapes (NUL kept), keeps
 * all members (first-wins and last-wins parsers, and parsers that match
 * names ignoring case, must all find the same single "model"), and
 * decodes the model's string value byte for byte. */
#include "fuzz_common.h"
#include "anthropic.h"
#include "reqbody.h"
#include <strings.h>

#define UP_MAX_DEPTH 2000
#define UP_NAME_CAP 16              /* enough to compare names with "model" */
#define UP_MODEL_CAP (4 * 1024)

struct up {
	const char *s;
	size_t n, i;
};

/* What the reader found among the top-level members. */
struct up_view {
	int object;                 /* the body is a JSON object */
	int exact;                  /* members named exactly "model" */
	int folded;                 /* members named "model" in any case */
	int string;                 /* the last "model" is a string */
	char value[UP_MODEL_CAP];   /* its decoded bytes */
	size_t value_len;
};

static void up_ws(struct up *p)
{
	while (p->i < p->n && strchr(" \t\r\n", p->s[p->i]) && p->s[p->i])
		p->i++;
}

static int hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		char c = s[k];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) :
			     c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16)
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

static void put(char *out, size_t cap, size_t *len, unsigned char c)
{
	if (out && *len < cap)
		out[*len] = (char)c;
	(*len)++;
}

static void put_utf8(char *out, size_t cap, size_t *len, unsigned cp)
{
	if (cp < 0x80) {
		put(out, cap, len, (unsigned char)cp);
	} else if (cp < 0x800) {
		put(out, cap, len, (unsigned char)(0xc0 | cp >> 6));
		put(out, cap, len, (unsigned char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		put(out, cap, len, (unsigned char)(0xe0 | cp >> 12));
		put(out, cap, len, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
		put(out, cap, len, (unsigned char)(0x80 | (cp & 0x3f)));
	} else {
		put(out, cap, len, (unsigned char)(0xf0 | cp >> 18));
		put(out, cap, len, (unsigned char)(0x80 | ((cp >> 12) & 0x3f)));
		put(out, cap, len, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
		put(out, cap, len, (unsigned char)(0x80 | (cp & 0x3f)));
	}
}

/* A string at p->i, decoded into out (cap bytes kept; *len is the whole
 * decoded length). Lone surrogates are kept as their own code points. */
static int up_string(struct up *p, char *out, size_t cap, size_t *len)
{
	*len = 0;
	if (p->i >= p->n || p->s[p->i] != '"')
		return -1;
	for (p->i++; p->i < p->n; p->i++) {
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == '"') {
			p->i++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			put(out, cap, len, c);
			continue;
		}
		if (++p->i >= p->n)
			return -1;
		char e = p->s[p->i];
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e && simple) {
			static const char map[] = "\"\\/\b\f\n\r\t";
			put(out, cap, len, (unsigned char)map[simple - "\"\\/bfnrt"]);
			continue;
		}
		unsigned cp, lo;
		if (e != 'u' || p->n - p->i < 5 || hex4(p->s + p->i + 1, &cp) != 0)
			return -1;
		p->i += 4;
		if (cp >= 0xd800 && cp < 0xdc00 && p->n - p->i >= 7 && p->s[p->i + 1] == '\\' && p->s[p->i + 2] == 'u' &&
		    hex4(p->s + p->i + 3, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p->i += 6;
		}
		put_utf8(out, cap, len, cp);
	}
	return -1;
}

static int up_value(struct up *p, int depth);

static int up_container(struct up *p, int depth, char close)
{
	p->i++;
	up_ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		up_ws(p);
		if (close == '}') {
			size_t kl;
			if (up_string(p, NULL, 0, &kl) != 0)
				return -1;
			up_ws(p);
			if (p->i >= p->n || p->s[p->i] != ':')
				return -1;
			p->i++;
		}
		if (up_value(p, depth - 1) != 0)
			return -1;
		up_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == close) {
			p->i++;
			return 0;
		}
		return -1;
	}
}

/* Any value: checked, skipped. */
static int up_value(struct up *p, int depth)
{
	up_ws(p);
	if (p->i >= p->n || depth <= 0)
		return -1;
	char c = p->s[p->i];
	size_t len;
	if (c == '"')
		return up_string(p, NULL, 0, &len);
	if (c == '{' || c == '[')
		return up_container(p, depth, c == '{' ? '}' : ']');
	static const char *const lits[] = { "true", "false", "null" };
	for (size_t k = 0; k < 3; k++) {
		size_t l = strlen(lits[k]);
		if (p->n - p->i >= l && !memcmp(p->s + p->i, lits[k], l)) {
			p->i += l;
			return 0;
		}
	}
	size_t st = p->i;
	if (p->s[p->i] == '-')
		p->i++;
	while (p->i < p->n && strchr("0123456789.eE+-", p->s[p->i]) && p->s[p->i])
		p->i++;
	return p->i > st ? 0 : -1;
}

/* How an upstream reads the top-level members of s. 0 if s is one JSON
 * value (white space around it aside). */
static int up_read(const char *s, size_t n, struct up_view *v)
{
	struct up p = { s, n, 0 };
	memset(v, 0, sizeof(*v));
	up_ws(&p);
	if (p.i >= n || s[p.i] != '{') {
		if (up_value(&p, UP_MAX_DEPTH) != 0)
			return -1;
		up_ws(&p);
		return p.i == n ? 0 : -1;
	}
	v->object = 1;
	p.i++;
	up_ws(&p);
	if (p.i < n && s[p.i] == '}') {
		p.i++;
		up_ws(&p);
		return p.i == n ? 0 : -1;
	}
	for (;;) {
		char name[UP_NAME_CAP];
		size_t nl;
		up_ws(&p);
		if (up_string(&p, name, sizeof(name), &nl) != 0)
			return -1;
		up_ws(&p);
		if (p.i >= n || s[p.i] != ':')
			return -1;
		p.i++;
		up_ws(&p);
		int is_model = nl == 5 && !memcmp(name, "model", 5);
		v->folded += nl == 5 && !strncasecmp(name, "model", 5) && !memchr(name, '\0', 5);
		if (is_model) {
			v->exact++;
			v->string = p.i < n && s[p.i] == '"';
			if (v->string) {
				if (up_string(&p, v->value, sizeof(v->value), &v->value_len) != 0)
					return -1;
			} else if (up_value(&p, UP_MAX_DEPTH) != 0) {
				return -1;
			}
		} else if (up_value(&p, UP_MAX_DEPTH) != 0) {
			return -1;
		}
		up_ws(&p);
		if (p.i < n && s[p.i] == ',') {
			p.i++;
			continue;
		}
		if (p.i < n && s[p.i] == '}') {
			p.i++;
			up_ws(&p);
			return p.i == n ? 0 : -1;
		}
		return -1;
	}
}

/* A body built for upstream: strict itself, and exactly one "model" (in
 * any case), the target. */
static void check_forwarded(const char *what, char *body, const char *target)
{
	struct up_view v;
	FUZZ_ASSERT(body != NULL, "%s: no body", what);
	FUZZ_ASSERT(up_read(body, strlen(body), &v) == 0, "%s: not JSON to an upstream: %.300s", what, body);
	FUZZ_ASSERT(v.exact == 1 && v.folded == 1 && v.string, "%s: %d models (%d in any case): %.300s", what, v.exact,
		    v.folded, body);
	FUZZ_ASSERT(v.value_len == strlen(target) && !memcmp(v.value, target, v.value_len),
		    "%s: the upstream runs '%.*s', not '%s'", what, (int)(v.value_len < 200 ? v.value_len : 200), v.value,
		    target);
	cJSON *j;
	char msg[256];
	enum reqbody_verdict r = reqbody_parse(body, strlen(body), 1, &j, msg, sizeof(msg));
	FUZZ_ASSERT(r == REQBODY_OK, "%s: the gateway's own body is not strict (%s): %.300s", what, msg, body);
	cJSON_Delete(j);
	free(body);
}

static void forward_all(const char *raw, size_t n, cJSON *req)
{
	static const char target[] = "up-\"target\"\\model";
	for (int usage = 0; usage < 2; usage++) {
		for (int spliced = 1; spliced >= 0; spliced--) {
			/* the print path changes req: each on its own copy */
			cJSON *copy = cJSON_Duplicate(req, 1);
			if (!copy)
				return;
			check_forwarded(spliced ? "reqbody_forward spliced" : "reqbody_forward printed",
					reqbody_forward(copy, spliced ? raw : NULL, n, target, usage), target);
			cJSON_Delete(copy);
		}
	}
	char err[256] = "";
	char *a = anthropic_request_from_oai(req, target, err, sizeof(err));
	if (a)
		check_forwarded("anthropic_request_from_oai", a, target);
	else
		FUZZ_ASSERT(err[0], "anthropic_request_from_oai failed without a reason");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);   /* the bytes, NUL-terminated for messages */
	cJSON *req = (cJSON *)1;
	char msg[256] = "";
	enum reqbody_verdict r = reqbody_parse(s, size, 1, &req, msg, sizeof(msg));
	if (r != REQBODY_OK) {
		FUZZ_ASSERT(req == NULL && msg[0], "a refusal (%d) without a reason or with a tree", (int)r);
		free(s);
		return 0;
	}
	FUZZ_ASSERT(!reqbody_duplicate(req), "accepted with a duplicate");
	struct up_view v;
	FUZZ_ASSERT(up_read(s, size, &v) == 0, "accepted, but not one JSON value to an upstream: %.300s", s);
	FUZZ_ASSERT(v.object && v.exact <= 1 && v.folded == v.exact, "accepted with %d models (%d in any case)", v.exact,
		    v.folded);

	const char *checked;
	enum reqbody_model_verdict mv = reqbody_model(req, &checked);
	if (mv == REQBODY_MODEL_OK) {
		/* what the allow-list sees, what the usage record holds */
		char recorded[MODEL_NAME_MAX];
		size_t cl = strlen(checked);
		FUZZ_ASSERT(cl <= REQBODY_MODEL_LEN, "a model of %zu bytes accepted", cl);
		memcpy(recorded, checked, cl + 1);
		FUZZ_ASSERT(v.exact == 1 && v.string, "checked '%s', but the upstream reads no string model", checked);
		FUZZ_ASSERT(v.value_len == cl && !memcmp(v.value, checked, cl) && !strcmp(recorded, checked),
			    "checked and recorded '%.200s', the upstream runs '%.*s'", checked,
			    (int)(v.value_len < 200 ? v.value_len : 200), v.value);
		forward_all(s, size, req);
	} else if (mv == REQBODY_MODEL_TOO_LONG) {
		FUZZ_ASSERT(v.string && v.value_len > REQBODY_MODEL_LEN, "refused as too long: %zu bytes", v.value_len);
	} else {
		FUZZ_ASSERT(!v.string || v.value_len == 0, "no model seen, but the upstream reads one");
	}
	cJSON_Delete(req);
	free(s);
	return 0;
}

/* reqbody.h — a client's JSON request body as the gateway reads it and as
 * it goes upstream: what is checked (allow-list), what is recorded (usage)
 * and what runs (the upstream's reading of the forwarded body) must be the
 * same model.
 *
 * cJSON keeps every member of an object, finds the first of two with the
 * same name, takes what it can of trailing text and cuts strings at a
 * \u0000 escape; upstream parsers keep the last member, refuse trailing
 * text and keep the NUL. A body on which they could disagree is refused
 * here: it must be exactly one RFC 8259 value, with no \u0000 escape and
 * no member name twice in one object (at any depth; in the top-level
 * object not even in another letter case, since some parsers match those
 * names without regard to case, and for the same reason no top-level
 * "Model", "STREAM" ... nor stream_options.Include_Usage: the names the
 * gateway reads are written in lower case). */
#ifndef LLMGATE_REQBODY_H
#define LLMGATE_REQBODY_H
#include "provider.h"
#include <cjson/cJSON.h>
#include <stddef.h>

/* The longest model name the gateway takes, in bytes: what its buffers
 * (route targets, usage records, translators) hold whole. */
#define REQBODY_MODEL_LEN (MODEL_NAME_MAX - 1)
/* Nesting accepted, as deep as cJSON itself parses. */
#define REQBODY_MAX_DEPTH CJSON_NESTING_LIMIT

enum reqbody_verdict {
	REQBODY_OK = 0,
	REQBODY_NOT_JSON,       /* not exactly one valid JSON value */
	REQBODY_NOT_OBJECT,     /* valid, but an object was wanted */
	REQBODY_NUL,            /* a string holds the escape \u0000 */
	REQBODY_DUPLICATE,      /* a member name twice in one object */
	REQBODY_CASE,           /* "Model", "Stream", "STREAM_OPTIONS", "Include_Usage" */
};

/* Parse the n bytes of s strictly (see above). REQBODY_OK: *out is the
 * tree (cJSON_Delete it). Anything else: *out is NULL and msg holds one
 * sentence for the client (a duplicate's name, cut to 64 bytes, is the only
 * part of the body it quotes). want_object: refuse anything but an object.
 * Linear in n but for sorting each object's member names (n log n). */
enum reqbody_verdict reqbody_parse(const char *s, size_t n, int want_object, cJSON **out, char *msg,
				   size_t msglen);

/* The first member name found twice in one object anywhere in j (names as
 * decoded; top-level names also ignoring ASCII case), or NULL. Points into
 * j. */
const char *reqbody_duplicate(const cJSON *j);

enum reqbody_model_verdict {
	REQBODY_MODEL_OK = 0,
	REQBODY_MODEL_MISSING,  /* absent, not a string, or "" */
	REQBODY_MODEL_TOO_LONG, /* longer than REQBODY_MODEL_LEN bytes */
};

/* The "model" member of the object req: *model points at its string when
 * REQBODY_MODEL_OK, else NULL. Never cut: a name too long is refused. */
enum reqbody_model_verdict reqbody_model(const cJSON *req, const char **model);

/* The body that goes upstream: the request with its "model" set to model
 * and, when add_usage, stream_options.include_usage on (new string).
 * raw (n bytes) is the text req was parsed from, unchanged since, or NULL:
 * then only the model's value is replaced in it (and stream_options added
 * if the client sent none), which keeps the client's bytes; otherwise, or
 * when that is not enough, req itself is changed and printed. Either way
 * the result holds exactly one "model" member, with this value. */
char *reqbody_forward(cJSON *req, const char *raw, size_t n, const char *model, int add_usage);
#endif

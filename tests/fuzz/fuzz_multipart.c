/* fuzz_multipart.c — multipart/form-data uploads (POST /v1/files):
 * multipart_boundary on the first line of the input as a Content-Type,
 * multipart_parse on the rest with that boundary (or "B"). Properties:
 * a refusal says why; every part's data lies inside the body and ends
 * where a delimiter line starts (CRLF or LF, "--", the boundary); names,
 * file names and types are NUL-terminated within their fields; a file
 * name holds no '/' or '\'; at most the parts asked for. */
#include "fuzz_common.h"
#include "multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	const char *d = (const char *)data;
	const char *nl = memchr(d, '\n', size);
	size_t hl = nl ? (size_t)(nl - d) : size;
	char ctype[512], b[80] = "B", err[200] = "";
	snprintf(ctype, sizeof(ctype), "%.*s", (int)(hl < 511 ? hl : 511), d);
	if (multipart_boundary(ctype, b, sizeof(b)) == 0)
		FUZZ_ASSERT(strlen(b) >= 1 && strlen(b) <= 70, "boundary of %zu bytes", strlen(b));
	else
		snprintf(b, sizeof(b), "B");
	const char *body = nl ? nl + 1 : d + size;
	size_t blen = (size_t)(d + size - body);
	/* a copy of exactly blen bytes, so that reading past it is caught */
	char *copy = malloc(blen ? blen : 1);
	if (!copy)
		abort();
	memcpy(copy, body, blen);
	struct multipart_part parts[4];
	int n = multipart_parse(copy, blen, b, parts, 4, err, sizeof(err));
	if (n < 0) {
		FUZZ_ASSERT(err[0], "a refusal without a reason");
	} else {
		FUZZ_ASSERT(n <= 4, "%d parts", n);
		size_t dl = strlen(b) + 2;
		for (int i = 0; i < n; i++) {
			const struct multipart_part *p = &parts[i];
			FUZZ_ASSERT(p->data >= copy && p->data + p->len <= copy + blen, "part %d outside the body", i);
			const char *after = p->data + p->len;
			if (after < copy + blen && *after == '\r')
				after++;
			FUZZ_ASSERT(after < copy + blen && *after == '\n', "part %d does not end at a line end", i);
			FUZZ_ASSERT((size_t)(copy + blen - after - 1) >= dl && !memcmp(after + 1, "--", 2) &&
				    !memcmp(after + 3, b, dl - 2), "part %d is not followed by the delimiter", i);
			FUZZ_ASSERT(memchr(p->name, 0, sizeof(p->name)) && memchr(p->filename, 0, sizeof(p->filename)) &&
				    memchr(p->ctype, 0, sizeof(p->ctype)), "fields not terminated");
			FUZZ_ASSERT(!strchr(p->filename, '/') && !strchr(p->filename, '\\'), "file name with a path: %s",
				    p->filename);
		}
	}
	free(copy);
	return 0;
}

/* multipart.h — a multipart/form-data body (RFC 7578) as its parts, in
 * place: each part's name, file name, Content-Type and bytes point into
 * the body (nothing copied). A parser of outside input: anything malformed
 * (no boundary, a part without headers' end, a missing closing delimiter,
 * more parts than asked for, a header line over 1 KiB) is refused. */
#ifndef LLMGATE_MULTIPART_H
#define LLMGATE_MULTIPART_H
#include <stddef.h>

#define MULTIPART_FIELD_MAX 256   /* name, filename, content type kept */

struct multipart_part {
	char name[MULTIPART_FIELD_MAX];      /* Content-Disposition name ("" when absent) */
	char filename[MULTIPART_FIELD_MAX];  /* its filename ("" when absent; a path is cut to its last part) */
	char ctype[MULTIPART_FIELD_MAX];     /* the part's Content-Type ("" when absent) */
	int has_filename;
	const char *data;
	size_t len;
};

/* The boundary of a Content-Type "multipart/form-data; boundary=..." into
 * b (1..70 characters, quotes removed). 0, or -1 when it is not
 * multipart/form-data with a boundary. */
int multipart_boundary(const char *ctype, char *b, size_t blen);
/* Parse body (len bytes) with boundary into parts[0..max). The number of
 * parts, or -1 with a reason in err. */
int multipart_parse(const char *body, size_t len, const char *boundary, struct multipart_part *parts, int max,
		    char *err, size_t errlen);
/* The first part named name, or NULL. */
const struct multipart_part *multipart_find(const struct multipart_part *parts, int n, const char *name);
#endif

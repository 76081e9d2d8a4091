/* kb_text.c — the text of uploaded documents (see kb_text.h). */
#include "autoconf.h"
#include "kb_text.h"
#include "kb_store.h"
#include "buf.h"
#include "xmalloc.h"
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#define KB_TEXT_PDF_MAX (64u << 20)   /* pdftotext output kept at most */

static const struct {
	const char *ext, *ctype;
	enum kb_kind kind;
} kinds[] = {
	{ ".txt", "text/plain", KB_PLAIN },       { ".text", NULL, KB_PLAIN },
	{ ".md", "text/markdown", KB_MARKDOWN },   { ".markdown", "text/x-markdown", KB_MARKDOWN },
	{ ".html", "text/html", KB_HTML },        { ".htm", "application/xhtml+xml", KB_HTML },
	{ ".csv", "text/csv", KB_CSV },           { ".json", "application/json", KB_JSON },
	{ ".pdf", "application/pdf", KB_PDF },
};

static const char *const kind_names[] = { "unknown", "plain", "markdown", "html", "csv", "json", "pdf" };

const char *kb_text_kind_name(enum kb_kind k)
{
	return kind_names[k];
}

enum kb_kind kb_text_kind(const char *filename, const char *ctype, const char *data, size_t len)
{
	const char *dot = filename ? strrchr(filename, '.') : NULL;
	for (size_t i = 0; dot && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcasecmp(dot, kinds[i].ext))
			return kinds[i].kind;
	if (dot && strcasecmp(dot, ".bin") && strcasecmp(dot, ".dat"))
		return KB_UNKNOWN;   /* an extension we do not read: not guessed from its type */
	size_t cl = ctype ? strcspn(ctype, "; ") : 0;
	for (size_t i = 0; cl && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].ctype && strlen(kinds[i].ctype) == cl && !strncasecmp(ctype, kinds[i].ctype, cl))
			return kinds[i].kind;
	if (len >= 5 && !memcmp(data, "%PDF-", 5))
		return KB_PDF;
	return KB_UNKNOWN;
}

int kb_text_utf8_ok(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		size_t k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 9;
		if (c == 0 || k == 9 || k >= n - i)
			return 0;
		unsigned v = k == 0 ? c : c & (0x3fu >> k);
		for (size_t j = 1; j <= k; j++) {
			if ((u[i + j] & 0xc0) != 0x80)
				return 0;
			v = (v << 6) | (u[i + j] & 0x3f);
		}
		if ((k == 1 && v < 0x80) || (k == 2 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
		    (k == 3 && (v < 0x10000 || v > 0x10ffff)))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* ---------------------------------------------------------------- HTML */

/* Is tag name (n bytes) one whose contents are dropped? */
static int tag_dropped(const char *name, size_t n)
{
	static const char *const drop[] = { "script", "style", "noscript", "template", "svg", NULL };
	for (const char *const *d = drop; *d; d++)
		if (strlen(*d) == n && !strncasecmp(name, *d, n))
			return 1;
	return 0;
}

static int tag_block(const char *name, size_t n)
{
	static const char *const block[] = { "p", "br", "div", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3",
					     "h4", "h5", "h6", "section", "article", "header", "footer", "pre",
					     "blockquote", "title", "hr", "dd", "dt", NULL };
	for (const char *const *d = block; *d; d++)
		if (strlen(*d) == n && !strncasecmp(name, *d, n))
			return 1;
	return 0;
}

/* Decode the entity at h[i] ('&'); appends its text and returns the bytes
 * it took, or 0 when it is none we know (the '&' stays as it is). */
static size_t entity(const char *h, size_t i, size_t len, struct buf *o)
{
	static const struct { const char *name; const char *text; } ents[] = {
		{ "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" }, { "quot;", "\"" }, { "apos;", "'" },
		{ "nbsp;", " " }, { "#39;", "'" },
	};
	for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
		size_t n = strlen(ents[k].name);
		if (i + 1 + n <= len && !strncasecmp(h + i + 1, ents[k].name, n)) {
			buf_append(o, ents[k].text, strlen(ents[k].text));
			return n + 1;
		}
	}
	if (i + 2 < len && h[i + 1] == '#') {
		size_t j = i + 2;
		int hex = h[j] == 'x' || h[j] == 'X';
		unsigned long v = 0;
		size_t digits = 0;
		for (j += hex; j < len && digits < 8 && (hex ? isxdigit((unsigned char)h[j]) : isdigit((unsigned char)h[j]));
		     j++, digits++)
			v = v * (hex ? 16 : 10) + (unsigned long)(isdigit((unsigned char)h[j]) ? h[j] - '0' :
								 (tolower((unsigned char)h[j]) - 'a' + 10));
		if (!digits || j >= len || h[j] != ';' || v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return 0;
		char u[4];
		size_t n;
		if (v < 0x80) { u[0] = (char)v; n = 1; }
		else if (v < 0x800) { u[0] = (char)(0xc0 | (v >> 6)); u[1] = (char)(0x80 | (v & 0x3f)); n = 2; }
		else if (v < 0x10000) { u[0] = (char)(0xe0 | (v >> 12)); u[1] = (char)(0x80 | ((v >> 6) & 0x3f));
			u[2] = (char)(0x80 | (v & 0x3f)); n = 3; }
		else { u[0] = (char)(0xf0 | (v >> 18)); u[1] = (char)(0x80 | ((v >> 12) & 0x3f));
			u[2] = (char)(0x80 | ((v >> 6) & 0x3f)); u[3] = (char)(0x80 | (v & 0x3f)); n = 4; }
		buf_append(o, u, n);
		return j + 1 - i;
	}
	return 0;
}

/* Past the end of a dropped element's contents: the matching "</name"
 * from i, or len. */
static size_t skip_element(const char *h, size_t i, size_t len, const char *name, size_t n)
{
	for (; i + 2 + n <= len; i++)
		if (h[i] == '<' && h[i + 1] == '/' && !strncasecmp(h + i + 2, name, n))
			return i;
	return len;
}

/* o's text with runs of blanks made one space and runs of blank lines one
 * blank line, trimmed at both ends (new string, its length in *out_len). */
static char *collapse(const struct buf *o, size_t *out_len)
{
	struct buf t;
	buf_init(&t, o->len + 1);
	int nl = 2, sp = 0;
	for (size_t k = 0; k < o->len; k++) {
		char c = o->data[k];
		if (c == '\r' || c == '\t' || c == ' ') {
			sp = 1;
		} else if (c == '\n') {
			if (nl < 2)
				buf_append(&t, "\n", 1);
			nl++;
			sp = 0;
		} else {
			if (sp && !nl)
				buf_append(&t, " ", 1);
			buf_append(&t, &c, 1);
			sp = nl = 0;
		}
	}
	while (t.len && (t.data[t.len - 1] == '\n' || t.data[t.len - 1] == ' '))
		t.len--;
	if (t.data)
		t.data[t.len] = '\0';
	*out_len = t.len;
	return buf_steal(&t);
}

char *kb_text_strip_html(const char *h, size_t len, size_t *out_len)
{
	struct buf o;
	buf_init(&o, len * 2 + 64);   /* entities shrink, a tag adds one byte at most */
	size_t i = 0;
	while (i < len) {
		char c = h[i];
		if (c == '&') {
			size_t used = entity(h, i, len, &o);
			if (used) {
				i += used;
				continue;
			}
		}
		if (c != '<') {
			buf_append(&o, &c, 1);
			i++;
			continue;
		}
		if (o.len && o.data[o.len - 1] == '<')
			buf_append(&o, " ", 1);   /* a '<' of the text never joins what follows a tag into one */
		if (i + 4 <= len && !memcmp(h + i, "<!--", 4)) {
			const char *e = memmem(h + i + 4, len - i - 4, "-->", 3);
			i = e ? (size_t)(e - h) + 3 : len;
			continue;
		}
		size_t j = i + 1 + (i + 1 < len && h[i + 1] == '/');
		size_t ns = j;
		while (j < len && (isalnum((unsigned char)h[j]) || h[j] == '-'))
			j++;
		size_t nl = j - ns;
		if (!nl && !(i + 1 < len && (h[i + 1] == '!' || h[i + 1] == '?'))) {
			buf_append(&o, "<", 1);   /* a lone '<' is text */
			i++;
			continue;
		}
		const char *gt = memchr(h + j, '>', len - j);
		size_t after = gt ? (size_t)(gt - h) + 1 : len;
		if (tag_block(h + ns, nl))
			buf_append(&o, "\n", 1);
		else if (nl)
			buf_append(&o, " ", 1);
		if (h[i + 1] != '/' && nl && tag_dropped(h + ns, nl)) {
			after = skip_element(h, after, len, h + ns, nl);
			gt = memchr(h + after, '>', len - after);
			after = gt ? (size_t)(gt - h) + 1 : len;
		}
		i = after;
	}
	char *out = collapse(&o, out_len);
	buf_free(&o);
	return out;
}

/* ---------------------------------------------------------------- PDF */

const char *kb_text_pdf_tool(void)
{
#ifdef PDFTOTEXT_PATH
	if (access(PDFTOTEXT_PATH, X_OK) == 0)
		return PDFTOTEXT_PATH;
#endif
	static const char *const dirs[] = { "/usr/bin/pdftotext", "/usr/local/bin/pdftotext", "/bin/pdftotext", NULL };
	for (const char *const *d = dirs; *d; d++)
		if (access(*d, X_OK) == 0)
			return *d;
	return NULL;
}

/* Run pdftotext on the PDF in path; its text into o. 0 or -1 (err). */
static int pdf_run(const char *tool, const char *path, struct buf *o, char *err, size_t errlen)
{
	int fds[2];
	if (pipe(fds) != 0) {
		snprintf(err, errlen, "the PDF could not be read (pipe: %s)", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		snprintf(err, errlen, "the PDF could not be read (fork: %s)", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(fds[1], 1);
		dup2(devnull, 2);
		close(fds[0]);
		execl(tool, "pdftotext", "-q", "-enc", "UTF-8", "-nopgbrk", path, "-", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char chunk[65536];
	ssize_t n;
	int over = 0;
	while ((n = read(fds[0], chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && buf_append(o, chunk, (size_t)n) != 0)
			over = 1;
	close(fds[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (over) {
		snprintf(err, errlen, "the PDF's text is larger than %u MiB", KB_TEXT_PDF_MAX >> 20);
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "the PDF could not be read (damaged, encrypted or not a PDF)");
		return -1;
	}
	return 0;
}

/* A PDF's text through pdftotext: the file written under tmpdir, read,
 * removed. */
static int pdf_text(const char *data, size_t len, const char *tmpdir, struct buf *o, char *err, size_t errlen)
{
	const char *tool = kb_text_pdf_tool();
	if (!tool) {
		snprintf(err, errlen, "PDF files need poppler's pdftotext (package poppler-utils), which is not installed");
		return -1;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/kbpdf-XXXXXX", tmpdir ? tmpdir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		snprintf(err, errlen, "the PDF could not be stored for reading: %s", strerror(errno));
		return -1;
	}
	int wrote = kb_store_write_all(fd, data, len) == 0;
	close(fd);
	int rc = wrote ? pdf_run(tool, path, o, err, errlen) : -1;
	if (!wrote)
		snprintf(err, errlen, "the PDF could not be stored for reading");
	unlink(path);
	return rc;
}

/* ---------------------------------------------------------------- all */

/* Is there any character other than white space? */
static int has_text(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)p[i]))
			return 1;
	return 0;
}

int kb_text_extract(enum kb_kind k, const char *data, size_t len, const char *tmpdir, char **out, size_t *out_len,
		    char *err, size_t errlen)
{
	*out = NULL;
	*out_len = 0;
	if (k == KB_UNKNOWN) {
		snprintf(err, errlen, "unsupported file type: knowledge bases take plain text (.txt), Markdown (.md), "
			 "HTML (.html), CSV (.csv), JSON (.json) and PDF (.pdf)");
		return -1;
	}
	if (k == KB_PDF) {
		struct buf o;
		buf_init(&o, KB_TEXT_PDF_MAX);
		if (pdf_text(data, len, tmpdir, &o, err, errlen) != 0) {
			buf_free(&o);
			return -1;
		}
		if (!kb_text_utf8_ok(o.data ? o.data : "", o.len)) {
			buf_free(&o);
			snprintf(err, errlen, "the PDF's text is not valid UTF-8");
			return -1;
		}
		*out_len = o.len;
		*out = buf_steal(&o);
	} else {
		if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3)) {
			data += 3;
			len -= 3;
		}
		if (!kb_text_utf8_ok(data, len)) {
			snprintf(err, errlen, "the file is not UTF-8 text (a binary file, or another encoding)");
			return -1;
		}
		if (k == KB_JSON) {
			cJSON *j = cJSON_ParseWithLength(data, len);
			cJSON_Delete(j);
			if (!j) {
				snprintf(err, errlen, "the file is not valid JSON");
				return -1;
			}
		}
		if (k == KB_HTML) {
			*out = kb_text_strip_html(data, len, out_len);
		} else {
			*out = xmalloc(len + 1);
			memcpy(*out, data, len);
			(*out)[len] = '\0';
			*out_len = len;
		}
	}
	if (!has_text(*out, *out_len)) {
		free(*out);
		*out = NULL;
		snprintf(err, errlen, "the file holds no text");
		return -1;
	}
	return 0;
}

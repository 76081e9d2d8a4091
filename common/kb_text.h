/* kb_text.h — the text of an uploaded document: plain text, Markdown, CSV
 * and JSON as they are (UTF-8, a BOM dropped), HTML with its tags, scripts,
 * styles and comments removed and entities decoded, PDF through poppler's
 * pdftotext (an optional program: kb_text_pdf_tool says whether it is
 * there). Anything else is refused with a reason a client can act on. */
#ifndef LLMGATE_KB_TEXT_H
#define LLMGATE_KB_TEXT_H
#include <stddef.h>

enum kb_kind { KB_UNKNOWN = 0, KB_PLAIN, KB_MARKDOWN, KB_HTML, KB_CSV, KB_JSON, KB_PDF };

/* The kind of a document from its file name's extension, else its
 * Content-Type (parameters ignored), else its first bytes (%PDF-). */
enum kb_kind kb_text_kind(const char *filename, const char *ctype, const char *data, size_t len);
/* The kind's name ("plain", "markdown", "html", "csv", "json", "pdf"). */
const char *kb_text_kind_name(enum kb_kind k);

/* The text of data (len bytes) of kind k as a new NUL-terminated UTF-8
 * string (*out, *out_len). 0; -1 with the reason in err (not UTF-8, not
 * valid JSON, a PDF pdftotext cannot read or no pdftotext, an unknown
 * kind, no text at all: only white space). tmpdir: where a PDF is written
 * for pdftotext (NULL: /tmp). */
int kb_text_extract(enum kb_kind k, const char *data, size_t len, const char *tmpdir, char **out, size_t *out_len,
		    char *err, size_t errlen);

/* HTML to text: tags removed (block tags become line breaks), the contents
 * of script, style, head-only tags (title kept) and comments dropped,
 * entities (&amp; &lt; &gt; &quot; &#39; &apos; &nbsp; &#N; &#xH;) decoded.
 * Never fails; a new NUL-terminated string. */
char *kb_text_strip_html(const char *html, size_t len, size_t *out_len);

/* Is p[0..n) valid UTF-8 with no NUL? */
int kb_text_utf8_ok(const char *p, size_t n);

/* pdftotext's path when it is installed (configure's, else PATH), or
 * NULL. */
const char *kb_text_pdf_tool(void);
#endif

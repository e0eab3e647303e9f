/* Markdown tables for report.md: cells collected first, then printed with padded columns. */
#include "mdtable.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void md_cell(struct mdtable *t, const char *fmt, ...)
{
	if (t->n == t->cap) {
		int cap = t->cap ? t->cap * 2 : 64;
		char **cell = realloc(t->cell, (size_t)cap * sizeof(*cell));
		if (!cell)
			return;
		t->cell = cell;
		t->cap = cap;
	}
	char buf[1024], out[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	size_t j = 0;
	for (const char *p = buf; *p && j < sizeof(out) - 2; p++) {
		if (*p == '|') /* a reason may hold one; it would split the cell */
			out[j++] = '\\';
		out[j++] = *p == '\n' ? ' ' : *p;
	}
	out[j] = '\0';
	t->cell[t->n++] = strdup(out);
}

/* Display width of UTF-8 text: continuation bytes take no column. */
static int text_width(const char *s)
{
	int w = 0;
	for (; s && *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

void md_print(struct mdtable *t, FILE *out)
{
	int width[MD_MAX_COLS] = { 0 };
	for (int i = 0; i < t->n; i++) {
		int w = text_width(t->cell[i]);
		if (w > width[i % t->cols])
			width[i % t->cols] = w;
	}
	for (int c = 0; c < t->cols; c++)
		width[c] = width[c] < 3 ? 3 : width[c];
	for (int i = 0; i < t->n; i++) {
		int c = i % t->cols, pad = width[c] - text_width(t->cell[i]);
		const char *s = t->cell[i] ? t->cell[i] : "";
		fprintf(out, "| %*s%s%*s ", t->align[c] == 'r' ? pad : 0, "", s, t->align[c] == 'r' ? 0 : pad, "");
		if (c == t->cols - 1) {
			fputs("|\n", out);
			if (i == t->cols - 1) {
				for (int k = 0; k < t->cols; k++) {
					fputs("| ", out);
					for (int d = 0; d < width[k] - 1; d++)
						fputc('-', out);
					fprintf(out, "%c ", t->align[k] == 'r' ? ':' : '-');
				}
				fputs("|\n", out);
			}
		}
	}
	md_free(t);
}

void md_free(struct mdtable *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->cell[i]);
	free(t->cell);
	t->cell = NULL;
	t->n = t->cap = 0;
}

void md_header(struct mdtable *t, const char *align, const char *const *names)
{
	memset(t, 0, sizeof(*t));
	t->cols = (int)strlen(align) < MD_MAX_COLS ? (int)strlen(align) : MD_MAX_COLS;
	t->align = align;
	for (int c = 0; c < t->cols; c++)
		md_cell(t, "%s", names[c]);
}

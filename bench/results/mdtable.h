/* A Markdown table held until every cell is known, so its columns are padded and read as a table in plain text too. */
#ifndef IPCBENCH_MDTABLE_H
#define IPCBENCH_MDTABLE_H

#include <stdio.h>

#define MD_MAX_COLS 16

/* One table: the header row first, then the cells row by row. */
struct mdtable {
	int cols;
	const char *align; /* one 'l' or 'r' per column */
	char **cell;       /* row-major; the first row is the header */
	int n, cap;
};

/** Start t with one column per character of align ('l' or 'r') and names as its header. */
void md_header(struct mdtable *t, const char *align, const char *const *names);

/** The next cell, printf-style; a '|' in it is escaped and a newline becomes a space. */
void md_cell(struct mdtable *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Print t with padded columns and free its cells; t may be started again. */
void md_print(struct mdtable *t, FILE *out);

/** Free t's cells without printing them. */
void md_free(struct mdtable *t);

#endif

/* The -o bundle (results.json, results.csv, report.md, charts) and the plot command. */
#ifndef IPCBENCH_BUNDLE_H
#define IPCBENCH_BUNDLE_H

#include <jansson.h>
#include <stdbool.h>

/**
 * Write the bundle for doc into dir (which cli_parse checked or created).
 * Charts are skipped with one warning when gnuplot is missing.
 * @return 0, or -1 after printing why a file or a chart could not be written.
 */
int bundle_write(const char *dir, const json_t *doc, bool quiet);

/** `ipcbench plot RESULTS.json -o DIR`: argv[0] is "plot". Returns the exit status. */
int bundle_plot_main(int argc, char **argv);

#endif

/* Running gnuplot on a chart script, as a child process with a deadline. */
#ifndef IPCBENCH_GNUPLOT_H
#define IPCBENCH_GNUPLOT_H

#include <stdbool.h>
#include <stddef.h>

/** Whether gnuplot is an executable in $PATH (where execvp would find it). */
bool gnuplot_in_path(void);

/**
 * Run `gnuplot -d NAME.gp` in dir (never through a shell) and check that it
 * wrote NAME.png with the PNG signature. gnuplot gets its own process group,
 * killed after timeout_s or when SIGINT/SIGTERM arrived.
 * @return 0; -ETIMEDOUT when it was killed; -1 when it failed or wrote no PNG.
 *         On failure msg holds why, with what gnuplot printed on stderr.
 */
int gnuplot_render(const char *dir, const char *name, int timeout_s, char *msg, size_t len);

#endif

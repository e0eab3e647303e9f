/* HdrHistogram interop: a row's merged histogram in results.json, and as a percentile distribution file. */
#ifndef IPCBENCH_HGRM_H
#define IPCBENCH_HGRM_H

#include <jansson.h>

#include "hist.h"

/**
 * The nonzero buckets of h as {"value_ns": [...], "count": [...]}, in rising
 * order; a bucket's value is the one percentiles report for it.
 */
json_t *hgrm_buckets_json(const struct hist *h);

/**
 * Write DIR/hgrm/NAME.hgrm for every ok row of doc that carries a
 * "histogram": HdrHistogram's percentile distribution text (columns Value,
 * Percentile, TotalCount, 1/(1-Percentile); values in microseconds; the
 * #[Mean ...] footer), so HdrHistogram's own plotter reads it. NAME is
 * MECH-SIZE, with the placement, pattern and load when they are not plain.
 * @return 0, or -1 after a message on stderr when a file could not be written.
 */
int hgrm_write_all(const char *dir, const json_t *doc);

/** Remove the "histogram" of every row of doc (for --json without --histograms). */
void hgrm_strip(json_t *doc);

#endif

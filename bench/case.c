/* The patterns' names and masks, and the state memory a case's mechanism gets. */
#include "case.h"

#include <stdlib.h>
#include <string.h>

void *tp_state_alloc(size_t size)
{
	size_t page = 4096, bytes = size ? (size + page - 1) / page * page : page;
	void *p = aligned_alloc(page, bytes);
	if (p)
		memset(p, 0, bytes);
	return p;
}

const char *pattern_name(enum pattern p)
{
	static const char *const names[PAT_COUNT] = { "pingpong", "stream", "oneway", "fanin" };
	return (unsigned)p < PAT_COUNT ? names[p] : "?";
}

unsigned pattern_mask(enum pattern p)
{
	static const unsigned masks[PAT_COUNT] = { TP_PINGPONG, TP_STREAM, TP_ONEWAY, TP_FANIN };
	return (unsigned)p < PAT_COUNT ? masks[p] : 0;
}

bool pattern_runs(const struct transport_ops *ops, enum pattern p)
{
	return (ops->patterns ? ops->patterns : TP_POINT_TO_POINT) & pattern_mask(p);
}

/* The chart palette: ten colours that stay apart (Okabe-Ito and Paul Tol), eight markers, four dash patterns. */
#include "plots/palette.h"

#include <stdbool.h>
#include <string.h>

#include "registry.h"

/*
 * Neighbours in the registry (which the charts draw side by side) get colours
 * far apart; no two are both brownish or both purple. Yellow is left out: it
 * does not show on white.
 */
static const char *const palette_colours[] = {
	"#0072B2", /* blue */
	"#D55E00", /* vermillion */
	"#117733", /* green */
	"#CC79A7", /* reddish purple */
	"#E69F00", /* orange */
	"#56B4E9", /* sky blue */
	"#332288", /* indigo */
	"#999933", /* olive */
	"#8C510A", /* brown */
	"#44AA99", /* teal */
};
#define PALETTE_COLOURS (sizeof(palette_colours) / sizeof(palette_colours[0]))

/* Filled shapes, then + and *: what tells lines apart in greyscale. x (2) marks an unsupported size. */
static const int palette_points[] = { 7, 5, 9, 11, 13, 15, 1, 3 };
#define PALETTE_POINTS (sizeof(palette_points) / sizeof(palette_points[0]))

/* A new dash pattern every PALETTE_POINTS mechanisms; dashed (2) is kept for the floors. */
static const int palette_dashes[] = { 1, 4, 5, 3 };
#define PALETTE_DASHES (sizeof(palette_dashes) / sizeof(palette_dashes[0]))

/* The floors' open markers: circle, square, diamond, triangles, pentagon. */
static const int palette_floor_points[] = { 6, 4, 12, 8, 10, 14 };
#define PALETTE_FLOOR_POINTS (sizeof(palette_floor_points) / sizeof(palette_floor_points[0]))

static bool palette_is_floor(const char *group)
{
	return strcmp(group, "floor") == 0;
}

struct mech_style palette_style(const char *name, const char *group, int unknown)
{
	const struct transport_ops *ops = transport_find(name);
	bool floor = palette_is_floor(ops ? ops->group : group);
	int rank = 0; /* place among the registry's mechanisms of the same kind */
	for (int i = 0; transport_registry[i] && transport_registry[i] != ops; i++)
		rank += palette_is_floor(transport_registry[i]->group) == floor;
	if (!ops)
		rank += unknown; /* after the whole registry: the loop ran to its end */
	if (floor)
		return (struct mech_style){ ops && ops->solo ? "#777777" : "#000000",
					    palette_floor_points[(unsigned)rank % PALETTE_FLOOR_POINTS], 2 };
	/* colour and (marker, dash) cycle at different lengths: the triple repeats only after 160 */
	return (struct mech_style){ palette_colours[(unsigned)rank % PALETTE_COLOURS],
				    palette_points[(unsigned)rank % PALETTE_POINTS],
				    palette_dashes[(unsigned)rank / PALETTE_POINTS % PALETTE_DASHES] };
}

/* How a mechanism looks in every chart: one colour, one marker and one dash pattern, fixed by its registry place. */
#ifndef IPCBENCH_PALETTE_H
#define IPCBENCH_PALETTE_H

/* A mechanism's look; gnuplot's point type and dash type numbers. */
struct mech_style {
	const char *colour; /* "#rrggbb" */
	int point;          /* pt: the marker */
	int dash;           /* dt: 1 solid, 2 dashed (floors only), 3 dotted, 4 dash-dot, 5 dash-dot-dot */
};

/**
 * The style of mechanism name. A registered mechanism's style comes from its
 * place in the registry, counted among the floors or among the others, so it is
 * the same in every chart of every run of this build. Floors are black (grey for
 * a floor with no peer), dashed, with open markers; no other mechanism is black
 * or dashed. Across the registry no two mechanisms share colour, marker and
 * dash; the marker and dash alone tell apart the first 32 non-floor mechanisms
 * (greyscale). A name the registry does not know (an older or newer build wrote
 * the results) takes the places after the registry's: group is its row's group,
 * unknown how many unknown names of that kind (floor or not) came before it.
 */
struct mech_style palette_style(const char *name, const char *group, int unknown);

#endif

/* The processes-vs-threads comparison table: the textbook's rows, each cell from this run's figures. */
#include "model_table.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "decide.h"
#include "doc.h"
#include "models/model_util.h"
#include "parse.h"

#define TABLE_CELL 320
#define TABLE_ASPECT_W 16
#define TABLE_CELL_W 41
#define TABLE_VERDICT_W 83
#define TABLE_SAME 1.25 /* two figures within this factor are "about the same" in a verdict */

enum {
	AS_MEMORY, AS_ISOLATION, AS_CREATION, AS_SWITCH, AS_COMM, AS_COMM_SAME, AS_CRASH, AS_SCALING,
	AS_STABILITY, AS_IO_C, AS_CPU_PY, AS_IO_PY, AS_COMM_PY, TABLE_ROWS
};

static const char *const table_aspects[TABLE_ROWS] = {
	"memory", "isolation", "creation cost", "switch cost", "communication", "comm. same ring",
	"crash behaviour", "scaling", "stability", "I/O-bound (C)", "CPU-bound (Py)", "I/O-bound (Py)", "comm. (Py)",
};

/* cells[row][0] is the process column, cells[row][1] the thread column; verdict[row] the line that weighs them. */
struct table {
	char cells[TABLE_ROWS][2][TABLE_CELL];
	char verdict[TABLE_ROWS][TABLE_CELL];
};

/* The experiment's result when it ran and succeeded; otherwise NULL with the row's cells saying why. */
static const json_t *table_model(struct table *t, int row, const json_t *models, const char *name)
{
	const json_t *m = json_object_get(models, name);
	const json_t *st = json_object_get(m, "status");
	if (json_is_string(st) && strcmp(json_string_value(st), "ok") == 0)
		return m;
	const char *why = !m ? "did not run" : json_is_string(st) && strcmp(json_string_value(st), "unsupported") == 0
						? "unsupported here"
						: "failed";
	for (int c = 0; c < 2; c++)
		snprintf(t->cells[row][c], TABLE_CELL, "not measured (%s %s)", name, why);
	snprintf(t->verdict[row], TABLE_CELL, "none: not measured in this run");
	return NULL;
}

/* "1.07x", "5.2x", "51x": a ratio to the figures it deserves. */
static const char *table_x(double r, char *buf, size_t len)
{
	snprintf(buf, len, r >= 9.95 ? "%.0fx" : r >= 1.995 ? "%.1fx" : "%.2fx", r);
	return buf;
}

/*
 * The verdict of a row from one figure per column: "threads: 51x cheaper to
 * create (figures)", the same for processes, or "about the same (figures)"
 * within TABLE_SAME. lower_better says which way the figure points.
 */
static void table_verdict(struct table *t, int row, double proc, double thr, bool lower_better, const char *what,
			  const char *figures)
{
	double r = lower_better ? proc / thr : thr / proc; /* the threads' advantage */
	char x[24];
	if (!isfinite(r) || r <= 0)
		snprintf(t->verdict[row], TABLE_CELL, "none: a figure is missing (%s)", figures);
	else if (r >= TABLE_SAME)
		snprintf(t->verdict[row], TABLE_CELL, "threads: %s %s (%s)", table_x(r, x, sizeof(x)), what, figures);
	else if (r <= 1 / TABLE_SAME)
		snprintf(t->verdict[row], TABLE_CELL, "processes: %s %s (%s)", table_x(1 / r, x, sizeof(x)), what, figures);
	else
		snprintf(t->verdict[row], TABLE_CELL, "about the same, within %.0f%% (%s)", 100 * (TABLE_SAME - 1), figures);
}

static bool table_bool(const json_t *o, const char *k1, const char *k2, const char *k3)
{
	return json_is_true(json_object_get(json_object_get(json_object_get(o, k1), k2), k3));
}

static const char *table_ns(double ns, char *buf, size_t len)
{
	if (!isfinite(ns)) {
		snprintf(buf, len, "n/a");
		return buf;
	}
	return fmt_ns(ns, buf, len);
}

static const char *table_p50(const json_t *m, const char *key, char *buf, size_t len)
{
	return table_ns(mu_path(m, key, "p50", NULL), buf, len);
}

static void table_memory(struct table *t, const json_t *models)
{
	const json_t *m = table_model(t, AS_MEMORY, models, "spawn");
	if (!m)
		return;
	const json_t *mem = json_object_get(m, "memory");
	char a[32], b[32], c[32], f[160];
	snprintf(t->cells[AS_MEMORY][0], TABLE_CELL,
		 "own copy-on-write address space: +%s per idle process (anon %s + page tables %s)",
		 mu_fmt_bytes(mu_get(mem, "process_bytes"), a, sizeof(a)),
		 mu_fmt_bytes(mu_get(mem, "process_anon_bytes"), b, sizeof(b)),
		 mu_fmt_bytes(mu_get(mem, "process_page_tables_bytes"), c, sizeof(c)));
	snprintf(t->cells[AS_MEMORY][1], TABLE_CELL, "shares the address space: +%s per idle thread (stack: %s reserved)",
		 mu_fmt_bytes(mu_get(mem, "thread_bytes"), a, sizeof(a)),
		 mu_fmt_bytes(mu_get(mem, "thread_stack_reserved_bytes"), b, sizeof(b)));
	snprintf(f, sizeof(f), "%s per idle thread vs %s per idle process",
		 mu_fmt_bytes(mu_get(mem, "thread_bytes"), a, sizeof(a)), mu_fmt_bytes(mu_get(mem, "process_bytes"), b, sizeof(b)));
	table_verdict(t, AS_MEMORY, mu_get(mem, "process_bytes"), mu_get(mem, "thread_bytes"), true, "less memory each", f);
}

static void table_isolation(struct table *t, const json_t *models)
{
	const json_t *m = table_model(t, AS_ISOLATION, models, "isolation");
	if (!m)
		return;
	bool pw = table_bool(m, "memory_write", "process", "seen_by_parent");
	bool tw = table_bool(m, "memory_write", "thread", "seen_by_main");
	bool pf = table_bool(m, "fd_close", "process", "open_in_parent");
	bool tf = table_bool(m, "fd_close", "thread", "open_in_main");
	snprintf(t->cells[AS_ISOLATION][0], TABLE_CELL, "a child's write was %s by the parent; a child's close() %s",
		 pw ? "seen" : "not seen", pf ? "left the parent's fd open" : "closed the parent's fd too");
	snprintf(t->cells[AS_ISOLATION][1], TABLE_CELL, "a thread's write was %s by the main thread; a thread's close() %s",
		 tw ? "seen" : "not seen", tf ? "left the main thread's fd open" : "closed the fd for every thread");
	bool p_iso = !pw && pf, t_iso = !tw && tf;
	if (p_iso && !t_iso)
		snprintf(t->verdict[AS_ISOLATION], TABLE_CELL, "processes: a child's write and close() stayed in the child; "
			 "a thread's %s reached the whole process", tw && !tf ? "write and close()" : tw ? "write" : "close()");
	else if (p_iso == t_iso)
		snprintf(t->verdict[AS_ISOLATION], TABLE_CELL, "no difference observed in this run (see the cells)");
	else
		snprintf(t->verdict[AS_ISOLATION], TABLE_CELL, "threads kept to themselves and a child did not, against "
			 "expectation (see the cells)");
}

static void table_creation(struct table *t, const json_t *models)
{
	const json_t *m = table_model(t, AS_CREATION, models, "spawn");
	if (!m)
		return;
	char a[32], b[32], c[32], d[32], e[32], f[32], v[160];
	snprintf(t->cells[AS_CREATION][0], TABLE_CELL,
		 "fork+wait %s p50 (%s with a %s heap); vfork %s; posix_spawn %s vs fork+exec %s",
		 table_p50(m, "fork_ns", a, sizeof(a)), table_p50(m, "fork_big_heap_ns", b, sizeof(b)),
		 mu_fmt_bytes(mu_get(m, "big_heap_bytes"), c, sizeof(c)), table_p50(m, "vfork_ns", d, sizeof(d)),
		 table_p50(m, "posix_spawn_ns", e, sizeof(e)), table_p50(m, "fork_exec_ns", f, sizeof(f)));
	snprintf(t->cells[AS_CREATION][1], TABLE_CELL, "pthread_create+join %s p50",
		 table_p50(m, "thread_create_ns", a, sizeof(a)));
	snprintf(v, sizeof(v), "pthread_create+join %s vs fork+wait %s", table_p50(m, "thread_create_ns", a, sizeof(a)),
		 table_p50(m, "fork_ns", b, sizeof(b)));
	table_verdict(t, AS_CREATION, mu_path(m, "fork_ns", "p50", NULL), mu_path(m, "thread_create_ns", "p50", NULL), true,
		      "cheaper to create", v);
}

static void table_switch(struct table *t, const json_t *models)
{
	const json_t *m = table_model(t, AS_SWITCH, models, "ctxswitch");
	if (!m)
		return;
	static const char *const modes[] = { "process", "thread" };
	char a[32], b[32], v[160];
	for (int c = 0; c < 2; c++)
		snprintf(t->cells[AS_SWITCH][c], TABLE_CELL, "%s per switch on one CPU (pipe; futex %s)",
			 table_ns(mu_path(m, "pipe", modes[c], "switch_ns", NULL), a, sizeof(a)),
			 table_ns(mu_path(m, "futex", modes[c], "switch_ns", NULL), b, sizeof(b)));
	double p = mu_path(m, "pipe", "process", "switch_ns", NULL), th = mu_path(m, "pipe", "thread", "switch_ns", NULL);
	snprintf(v, sizeof(v), "%s per switch between threads vs %s between processes, through a pipe",
		 table_ns(th, a, sizeof(a)), table_ns(p, b, sizeof(b)));
	table_verdict(t, AS_SWITCH, p, th, true, "cheaper to switch", v);
}

static void table_crash(struct table *t, const json_t *models)
{
	const json_t *m = table_model(t, AS_CRASH, models, "isolation");
	if (!m)
		return;
	const json_t *cr = json_object_get(m, "crash");
	const json_t *p = json_object_get(cr, "process"), *th = json_object_get(cr, "thread");
	const json_t *ps = json_object_get(p, "signal_name"), *ts = json_object_get(th, "signal_name");
	if (json_is_string(ps))
		snprintf(t->cells[AS_CRASH][0], TABLE_CELL, "SIGSEGV in a child: the child died by %s, the parent ran on",
			 json_string_value(ps));
	else
		snprintf(t->cells[AS_CRASH][0], TABLE_CELL, "SIGSEGV in a child: the child exited with status %d",
			 (int)mu_get(p, "exit_status"));
	bool main_on = json_is_true(json_object_get(th, "main_thread_reached_next_step"));
	if (json_is_string(ts))
		snprintf(t->cells[AS_CRASH][1], TABLE_CELL,
			 "SIGSEGV in one thread: its whole process died by %s; the main thread %s its next step",
			 json_string_value(ts), main_on ? "reached" : "never reached");
	else
		snprintf(t->cells[AS_CRASH][1], TABLE_CELL, "SIGSEGV in one thread: its process exited with status %d",
			 (int)mu_get(th, "exit_status"));
	bool parent_on = json_is_true(json_object_get(p, "parent_continued"));
	if (parent_on && !main_on)
		snprintf(t->verdict[AS_CRASH], TABLE_CELL, "processes: a crash ended only the child and the parent ran on; "
			 "in a thread it ended the whole process, main thread included");
	else
		snprintf(t->verdict[AS_CRASH], TABLE_CELL, "no difference observed in this run (see the cells)");
}

/* Speedup and efficiency at the largest worker count of one kind. */
static int table_speedup(const json_t *m, const char *kind, char *buf, size_t len)
{
	const json_t *w = json_object_get(m, "workers"), *k = json_object_get(m, kind);
	size_t last = json_array_size(w);
	if (last == 0)
		return snprintf(buf, len, "no worker counts");
	last--;
	return snprintf(buf, len, "%d workers: %.2fx speedup (%.0f%% efficiency)",
			(int)json_integer_value(json_array_get(w, last)),
			json_number_value(json_array_get(json_object_get(k, "speedup"), last)),
			100 * json_number_value(json_array_get(json_object_get(k, "efficiency"), last)));
}

/* part[kind][key] at the largest worker count; NAN without one. */
static double table_last(const json_t *part, const char *kind, const char *key)
{
	size_t n = json_array_size(json_object_get(part, "workers"));
	const json_t *v = json_array_get(json_object_get(json_object_get(part, kind), key), n ? n - 1 : 0);
	return n && json_is_number(v) ? json_number_value(v) : NAN;
}

static int table_last_workers(const json_t *part)
{
	size_t n = json_array_size(json_object_get(part, "workers"));
	return n ? (int)json_integer_value(json_array_get(json_object_get(part, "workers"), n - 1)) : 0;
}

static void table_scaling(struct table *t, const json_t *models)
{
	const json_t *m = table_model(t, AS_SCALING, models, "scaling");
	if (!m)
		return;
	char sp[96], v[160];
	table_speedup(m, "process", sp, sizeof(sp));
	snprintf(t->cells[AS_SCALING][0], TABLE_CELL, "%s; no memory shared unless mapped, so no false sharing", sp);
	table_speedup(m, "thread", sp, sizeof(sp));
	const json_t *fs = json_object_get(m, "false_sharing");
	const json_t *th = json_object_get(fs, "threads");
	size_t n = json_array_size(th);
	if (n == 0)
		snprintf(t->cells[AS_SCALING][1], TABLE_CELL, "%s; false sharing not measured", sp);
	else
		snprintf(t->cells[AS_SCALING][1], TABLE_CELL, "%s; counters in one cache line %.1fx slower than padded (%d threads)",
			 sp, json_number_value(json_array_get(json_object_get(fs, "shared_over_padded"), n - 1)),
			 (int)json_integer_value(json_array_get(th, n - 1)));
	double ps = table_last(m, "process", "speedup"), ts = table_last(m, "thread", "speedup");
	int w = table_last_workers(m);
	snprintf(v, sizeof(v), "%d threads %.2fx vs %d processes %.2fx over one worker", w, ts, w, ps);
	table_verdict(t, AS_SCALING, ps, ts, false, "the speedup", v);
}

/* An ok plain pingpong row of the group that copies each message (the comparison's terms: not a zero-copy row). */
static bool table_comm_row(const json_t *r, const char *group)
{
	return !strcmp(doc_str(r, "group"), group) && !strcmp(doc_str(r, "status"), "ok") &&
	       !strcmp(doc_str(r, "pattern"), "pingpong") && !doc_is_variant(r) &&
	       !json_is_true(json_object_get(r, "zero_copy"));
}

/* The fastest and the slowest copying round trip of a group at its smallest size; false when it has none. */
static bool table_comm_span(const json_t *results, const char *group, const json_t **lo, const json_t **hi)
{
	const json_t *r;
	size_t i;
	double size = INFINITY;
	json_array_foreach(results, i, r)
		if (table_comm_row(r, group))
			size = fmin(size, doc_num(r, "size_bytes"));
	*lo = *hi = NULL;
	json_array_foreach(results, i, r) {
		if (!table_comm_row(r, group) || doc_num(r, "size_bytes") != size)
			continue;
		double p50 = mu_path(r, "rtt_ns", "p50", NULL);
		if (!*lo || p50 < mu_path(*lo, "rtt_ns", "p50", NULL))
			*lo = r;
		if (!*hi || p50 > mu_path(*hi, "rtt_ns", "p50", NULL))
			*hi = r;
	}
	return *lo != NULL;
}

static void table_comm_cell(char *cell, const json_t *results, const char *group, const char *how)
{
	const json_t *lo, *hi;
	if (!table_comm_span(results, group, &lo, &hi)) {
		snprintf(cell, TABLE_CELL, "%s; no %s pingpong row in this run", how, group);
		return;
	}
	char a[24], b[24];
	fmt_ns(mu_path(lo, "rtt_ns", "p50", NULL), a, sizeof(a));
	fmt_ns(mu_path(hi, "rtt_ns", "p50", NULL), b, sizeof(b));
	if (lo == hi)
		snprintf(cell, TABLE_CELL, "%s; %.0f B round trip p50 %s (%s)", how, doc_num(lo, "size_bytes"), a,
			 doc_str(lo, "mechanism"));
	else
		snprintf(cell, TABLE_CELL, "%s; %.0f B round trip p50 from %s (%s) to %s (%s)", how,
			 doc_num(lo, "size_bytes"), a, doc_str(lo, "mechanism"), b, doc_str(hi, "mechanism"));
}

static void table_comm(struct table *t, const json_t *results)
{
	table_comm_cell(t->cells[AS_COMM][0], results, "process", "through IPC: every message copied in and out");
	table_comm_cell(t->cells[AS_COMM][1], results, "thread", "shared memory; a handoff between threads");
	const json_t *plo, *phi, *tlo, *thi;
	if (!table_comm_span(results, "process", &plo, &phi) || !table_comm_span(results, "thread", &tlo, &thi)) {
		snprintf(t->verdict[AS_COMM], TABLE_CELL, "none: the run lacks pingpong rows of both groups");
		return;
	}
	double pl = mu_path(plo, "rtt_ns", "p50", NULL), ph = mu_path(phi, "rtt_ns", "p50", NULL);
	double tl = mu_path(tlo, "rtt_ns", "p50", NULL), th = mu_path(thi, "rtt_ns", "p50", NULL);
	char a[24], b[24], x[24], y[24], z[24], v[96];
	snprintf(v, sizeof(v), "%.24s %s vs %.24s %s", doc_str(tlo, "mechanism"), fmt_ns(tl, a, sizeof(a)),
		 doc_str(plo, "mechanism"), fmt_ns(pl, b, sizeof(b)));
	double gap = pl > tl ? pl / tl : tl / pl;
	if (fmax(ph / pl, th / tl) > gap)
		snprintf(t->verdict[AS_COMM], TABLE_CELL, "the mechanism matters more than the model: within a column the "
			 "round trip spans %s (processes) and %s (threads), while the fastest of each are %s apart (%s)",
			 table_x(ph / pl, x, sizeof(x)), table_x(th / tl, y, sizeof(y)), table_x(gap, z, sizeof(z)), v);
	else
		table_verdict(t, AS_COMM, pl, tl, true, "faster at best", v);
}

/* The ok plain pingpong row of mech at size, or NULL. */
static const json_t *table_find_row(const json_t *results, const char *mech, double size)
{
	const json_t *r;
	size_t i;
	json_array_foreach(results, i, r)
		if (!strcmp(doc_str(r, "mechanism"), mech) && !strcmp(doc_str(r, "status"), "ok") &&
		    !strcmp(doc_str(r, "pattern"), "pingpong") && !doc_is_variant(r) && doc_num(r, "size_bytes") == size)
			return r;
	return NULL;
}

/* "150 ns [150 ns, 160 ns], 578 ns CPU per round trip": a row's p50, its interval and its cost. */
static void table_rtt_text(const json_t *r, char *buf, size_t len)
{
	const json_t *ci = json_object_get(r, "ci95");
	char a[24], b[24], c[24], d[24];
	int n = snprintf(buf, len, "%s", fmt_ns(mu_path(r, "rtt_ns", "p50", NULL), a, sizeof(a)));
	if (isfinite(mu_get(ci, "low")) && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " [%s, %s]", fmt_ns(mu_get(ci, "low"), b, sizeof(b)),
			      fmt_ns(mu_get(ci, "high"), c, sizeof(c)));
	if (isfinite(mu_path(r, "cpu", "per_msg_ns", NULL)) && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", %s CPU per round trip",
			 fmt_ns(mu_path(r, "cpu", "per_msg_ns", NULL), d, sizeof(d)));
}

/* The same ring with the same adaptive wait, between processes (shm) and between threads (thread-ring). */
static void table_comm_same(struct table *t, const json_t *results)
{
	const json_t *r, *p = NULL, *th = NULL;
	size_t i;
	json_array_foreach(results, i, r) {
		double size = doc_num(r, "size_bytes");
		const json_t *other = !strcmp(doc_str(r, "mechanism"), "shm") ? table_find_row(results, "thread-ring", size) : NULL;
		if (other && table_find_row(results, "shm", size) == r && (!p || size < doc_num(p, "size_bytes"))) {
			p = r;
			th = other;
		}
	}
	if (!p) {
		snprintf(t->cells[AS_COMM_SAME][0], TABLE_CELL, "shm: no pingpong row at a size thread-ring also ran");
		snprintf(t->cells[AS_COMM_SAME][1], TABLE_CELL, "thread-ring: no pingpong row at a size shm also ran");
		snprintf(t->verdict[AS_COMM_SAME], TABLE_CELL, "none: run -m shm,thread-ring for the pair");
		return;
	}
	char a[160], b[160], x[24];
	table_rtt_text(p, a, sizeof(a));
	table_rtt_text(th, b, sizeof(b));
	snprintf(t->cells[AS_COMM_SAME][0], TABLE_CELL, "shm, the ring with an adaptive wait (spin, then a shared futex): "
		 "%.0f B round trip p50 %s", doc_num(p, "size_bytes"), a);
	snprintf(t->cells[AS_COMM_SAME][1], TABLE_CELL, "thread-ring, the same ring and wait (a private futex): "
		 "%.0f B round trip p50 %s", doc_num(th, "size_bytes"), b);
	double pr = mu_path(p, "rtt_ns", "p50", NULL), tr = mu_path(th, "rtt_ns", "p50", NULL);
	char pf[24], tf[24];
	fmt_ns(pr, pf, sizeof(pf));
	fmt_ns(tr, tf, sizeof(tf));
	enum decide_tie tie = decide_tie(p, th);
	if (tie == DECIDE_TIED)
		snprintf(t->verdict[AS_COMM_SAME], TABLE_CELL, "the same: one ring costs what it costs between processes or "
			 "threads (thread-ring %s vs shm %s, which the repetitions cannot tell apart)", tf, pf);
	else
		snprintf(t->verdict[AS_COMM_SAME], TABLE_CELL, "%s: %s faster with the same ring (thread-ring %s vs shm %s; %s)",
			 tr < pr ? "threads" : "processes", table_x(tr < pr ? pr / tr : tr / pr, x, sizeof(x)), tf, pf,
			 tie == DECIDE_APART ? "the repetitions tell them apart" : "too few repetitions to test it");
}

/* One counter of the races experiment: "lost 812345 of 2097152 (38.7%)" or what was seen instead. */
static int table_lost(const json_t *c, char *buf, size_t len)
{
	double lost = mu_get(c, "lost_increments"), all = mu_get(c, "expected_increments");
	if (!(lost > 0))
		return snprintf(buf, len, "lost none of %.0f", all);
	return snprintf(buf, len, "lost %.0f of %.0f (%.1f%%)", lost, all, mu_get(c, "lost_pct"));
}

static void table_stability(struct table *t, const json_t *models)
{
	const json_t *m = table_model(t, AS_STABILITY, models, "races");
	if (!m)
		return;
	const json_t *f = json_object_get(m, "fork");
	snprintf(t->cells[AS_STABILITY][0], TABLE_CELL,
		 "a forked child's %.0f increments of its copy were %s by the parent (it read %.0f); through a "
		 "shared mapping it read %.0f", mu_get(f, "child_increments"),
		 json_is_true(json_object_get(f, "seen_by_parent")) ? "seen" : "not seen", mu_get(f, "parent_read"),
		 mu_get(f, "shared_mapping_parent_read"));
	const json_t *u = json_object_get(m, "unsynchronised"), *a = json_object_get(m, "atomic");
	const json_t *x = json_object_get(m, "mutex"), *d = json_object_get(m, "deadlock");
	char lu[80], la[80], lm[80], na[24], nm[24], dt[24];
	if (mu_get(u, "lost_increments") > 0)
		table_lost(u, lu, sizeof(lu));
	else
		snprintf(lu, sizeof(lu), "a lost update was not observed in %.0f runs", mu_get(u, "attempts"));
	table_lost(a, la, sizeof(la));
	table_lost(x, lm, sizeof(lm));
	table_ns(mu_get(a, "ns_per_increment"), na, sizeof(na));
	table_ns(mu_get(x, "ns_per_increment"), nm, sizeof(nm));
	int n = snprintf(t->cells[AS_STABILITY][1], TABLE_CELL, "2 threads, no lock: %s; atomic_fetch_add %s (%s each); "
			 "mutex %s (%s each); ", lu, la, na, lm, nm);
	if (n > 0 && n < TABLE_CELL)
		snprintf(t->cells[AS_STABILITY][1] + n, (size_t)(TABLE_CELL - n),
			 json_is_true(json_object_get(d, "detected"))
				 ? "lock-order deadlock detected by a timed lock after %s; both backed off"
				 : "lock-order deadlock: none formed (%s)",
			 table_ns(mu_get(d, "detect_ns"), dt, sizeof(dt)));
	if (mu_get(u, "lost_increments") > 0)
		snprintf(t->verdict[AS_STABILITY], TABLE_CELL, "processes: nothing is shared unless mapped, so nothing "
			 "races; threads lost %.1f%% of their increments without a lock, none with atomic_fetch_add (%s "
			 "each) or a mutex (%s)", mu_get(u, "lost_pct"), na, nm);
	else
		snprintf(t->verdict[AS_STABILITY], TABLE_CELL, "processes: nothing is shared unless mapped; threads "
			 "showed no lost update in %.0f runs, yet only atomic_fetch_add (%s each) or a mutex (%s) rules "
			 "one out", mu_get(u, "attempts"), na, nm);
}

/* iobound, one kind: where efficiency holds, and the figures at the largest worker count. */
static void table_io_cell(char *cell, const json_t *m, const char *kind, const char *noun)
{
	const json_t *w = json_object_get(m, "workers"), *k = json_object_get(m, kind);
	size_t n = json_array_size(w);
	if (n == 0) {
		snprintf(cell, TABLE_CELL, "no worker counts");
		return;
	}
	int held = 0;
	for (size_t i = 0; i < n; i++) {
		if (json_number_value(json_array_get(json_object_get(k, "efficiency"), i)) < 0.8)
			break;
		held = (int)json_integer_value(json_array_get(w, i));
	}
	char hold[64], wait[24], work[24], mem[24], create[24];
	if (held)
		snprintf(hold, sizeof(hold), ">= 80%% of ideal up to %d", held);
	else
		snprintf(hold, sizeof(hold), "below 80%% of ideal already with 1");
	n--;
	int at = 0;
	if (strcmp(kind, "process") == 0) /* the workload once, in the first column */
		at = snprintf(cell, TABLE_CELL, "each waits %s then computes %s: ",
			      table_ns(mu_get(m, "wait_ns"), wait, sizeof(wait)),
			      table_ns(mu_get(m, "cpu_work_ns"), work, sizeof(work)));
	snprintf(cell + at, (size_t)(TABLE_CELL - at), "%s %s; %d %s: %.0f ops/s (%.0f%% of ideal), %s and "
		 "%s to create, per %s", hold, noun,
		 (int)json_integer_value(json_array_get(w, n)), noun,
		 json_number_value(json_array_get(json_object_get(k, "ops_per_s"), n)),
		 100 * json_number_value(json_array_get(json_object_get(k, "efficiency"), n)),
		 mu_fmt_bytes(json_number_value(json_array_get(json_object_get(k, "memory_bytes_per_worker"), n)), mem,
			      sizeof(mem)),
		 table_ns(json_number_value(json_array_get(json_object_get(k, "create_ns_per_worker"), n)), create,
			  sizeof(create)),
		 strcmp(kind, "process") ? "thread" : "process");
}

static void table_iobound(struct table *t, const json_t *models)
{
	const json_t *m = table_model(t, AS_IO_C, models, "iobound");
	if (!m)
		return;
	table_io_cell(t->cells[AS_IO_C][0], m, "process", "processes");
	table_io_cell(t->cells[AS_IO_C][1], m, "thread", "threads");
	char a[24], b[24], v[200];
	int w = table_last_workers(m);
	double po = table_last(m, "process", "ops_per_s"), to = table_last(m, "thread", "ops_per_s");
	snprintf(v, sizeof(v), "%d threads %.0f ops/s at %s each vs %d processes %.0f ops/s at %s each", w, to,
		 mu_fmt_bytes(table_last(m, "thread", "memory_bytes_per_worker"), a, sizeof(a)), w, po,
		 mu_fmt_bytes(table_last(m, "process", "memory_bytes_per_worker"), b, sizeof(b)));
	table_verdict(t, AS_IO_C, po, to, false, "the work done", v);
}

/* python, one split and kind: the speedup at the largest worker count. */
static int table_py_speedup(char *buf, size_t len, const json_t *part, const char *kind, const char *noun)
{
	const json_t *w = json_object_get(part, "workers");
	size_t n = json_array_size(w);
	if (n == 0)
		return snprintf(buf, len, "no worker counts");
	return snprintf(buf, len, "%d %s: %.2fx speedup", (int)json_integer_value(json_array_get(w, n - 1)), noun,
			json_number_value(json_array_get(json_object_get(json_object_get(part, kind), "speedup"), n - 1)));
}

/* A Python split's verdict: the speedups of both kinds at the largest worker count, and the GIL. */
static void table_py_verdict(struct table *t, int row, const json_t *part, bool gil)
{
	char v[160];
	int w = table_last_workers(part);
	double ps = table_last(part, "process", "speedup"), ts = table_last(part, "thread", "speedup");
	snprintf(v, sizeof(v), "%d threads %.2fx vs %d processes %.2fx, GIL %s", w, ts, w, ps, gil ? "enabled" : "disabled");
	table_verdict(t, row, ps, ts, false, "the speedup", v);
}

static void table_python(struct table *t, const json_t *models, const json_t *results)
{
	const json_t *m = table_model(t, AS_CPU_PY, models, "python");
	if (!m) {
		table_model(t, AS_IO_PY, models, "python");
		table_model(t, AS_COMM_PY, models, "python");
		return;
	}
	const json_t *in = json_object_get(m, "interpreter");
	const char *ver = json_string_value(json_object_get(in, "version_short"));
	bool gil = json_is_true(json_object_get(in, "gil_enabled"));
	char sp[96];
	const json_t *cpu = json_object_get(m, "cpu_bound"), *io = json_object_get(m, "io_bound");
	table_py_speedup(sp, sizeof(sp), cpu, "process", "processes");
	snprintf(t->cells[AS_CPU_PY][0], TABLE_CELL, "multiprocessing, %s (Python %s, fork)", sp, ver ? ver : "?");
	table_py_speedup(sp, sizeof(sp), cpu, "thread", "threads");
	snprintf(t->cells[AS_CPU_PY][1], TABLE_CELL, "threading, %s (GIL %s in this interpreter)", sp,
		 gil ? "enabled" : "disabled");
	table_py_verdict(t, AS_CPU_PY, cpu, gil);
	table_py_speedup(sp, sizeof(sp), io, "process", "processes");
	snprintf(t->cells[AS_IO_PY][0], TABLE_CELL, "%.0f tasks of time.sleep(1 ms) + work: %s", mu_get(io, "tasks"), sp);
	table_py_speedup(sp, sizeof(sp), io, "thread", "threads");
	snprintf(t->cells[AS_IO_PY][1], TABLE_CELL, "the same tasks: %s, with the GIL %s", sp, gil ? "enabled" : "disabled");
	table_py_verdict(t, AS_IO_PY, io, gil);
	const json_t *rt = json_object_get(m, "roundtrip_64b");
	char a[24], b[24], c[24], d[24], v[160];
	int n = snprintf(t->cells[AS_COMM_PY][0], TABLE_CELL,
			 "64 B round trip p50: Pipe %s pickled, %s as bytes; Queue %s",
			 table_ns(mu_path(rt, "pipe_ns", "p50", NULL), a, sizeof(a)),
			 table_ns(mu_path(rt, "pipe_bytes_ns", "p50", NULL), b, sizeof(b)),
			 table_ns(mu_path(rt, "queue_ns", "p50", NULL), c, sizeof(c)));
	/* The C pipe row of the same run at 64 B, when there is one: what the interpreter and pickling add. */
	const json_t *pipe = table_find_row(results, "pipe", 64);
	double p50 = mu_path(pipe, "rtt_ns", "p50", NULL);
	if (p50 > 0 && n > 0 && n < TABLE_CELL)
		snprintf(t->cells[AS_COMM_PY][0] + n, (size_t)(TABLE_CELL - n), "; C pipe row %s (Pipe %.1fx that)",
			 table_ns(p50, d, sizeof(d)), mu_path(rt, "pipe_ns", "p50", NULL) / p50);
	snprintf(t->cells[AS_COMM_PY][1], TABLE_CELL, "64 B round trip p50 through two queue.Queue between two threads: %s",
		 table_ns(mu_path(rt, "thread_queue_ns", "p50", NULL), a, sizeof(a)));
	double pp = mu_path(rt, "pipe_ns", "p50", NULL), tq = mu_path(rt, "thread_queue_ns", "p50", NULL);
	snprintf(v, sizeof(v), "queue.Queue between threads %s vs a pickling Pipe between processes %s",
		 table_ns(tq, a, sizeof(a)), table_ns(pp, b, sizeof(b)));
	table_verdict(t, AS_COMM_PY, pp, tq, true, "faster round trip", v);
}

static void table_fill(struct table *t, const json_t *models, const json_t *results)
{
	memset(t, 0, sizeof(*t));
	table_memory(t, models);
	table_isolation(t, models);
	table_creation(t, models);
	table_switch(t, models);
	table_comm(t, results);
	table_comm_same(t, results);
	table_crash(t, models);
	table_scaling(t, models);
	table_stability(t, models);
	table_iobound(t, models);
	table_python(t, models, results);
}

/* The next line of s that fits in width columns, broken at a space; advances *s. */
static int table_next_line(const char **s, int width, char *line)
{
	const char *p = *s;
	while (*p == ' ')
		p++;
	int n = (int)strlen(p);
	if (n > width) {
		n = width;
		while (n > 0 && p[n] != ' ')
			n--;
		if (n == 0)
			n = width;
	}
	memcpy(line, p, (size_t)n);
	line[n] = '\0';
	*s = p + n;
	return n;
}

void model_table_print(const json_t *models, const json_t *results, FILE *out)
{
	struct table t;
	table_fill(&t, models, results);
	fprintf(out, "\n== processes vs threads, measured in this run ==\n");
	fprintf(out, "%-*s %-*s %s\n", TABLE_ASPECT_W, "", TABLE_CELL_W, "process", "thread");
	for (int r = 0; r < TABLE_ROWS; r++) {
		const char *s[2] = { t.cells[r][0], t.cells[r][1] };
		for (bool first = true; first || *s[0] || *s[1]; first = false) {
			char a[TABLE_CELL], b[TABLE_CELL];
			table_next_line(&s[0], TABLE_CELL_W, a);
			table_next_line(&s[1], TABLE_CELL_W, b);
			fprintf(out, "%-*s %-*s %s\n", TABLE_ASPECT_W, first ? table_aspects[r] : "", TABLE_CELL_W,
				a, b);
		}
		const char *v = t.verdict[r];
		for (bool first = true; *v; first = false) {
			char line[TABLE_CELL];
			table_next_line(&v, TABLE_VERDICT_W - 3, line);
			fprintf(out, "%-*s %s %s\n", TABLE_ASPECT_W, "", first ? "=>" : "  ", line);
		}
	}
}

static void table_md_cell(FILE *out, const char *s)
{
	fputs(" ", out);
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputs(" |", out);
}

void model_table_markdown(const json_t *models, const json_t *results, FILE *out)
{
	struct table t;
	table_fill(&t, models, results);
	fputs("| | process | thread | verdict |\n|---|---|---|---|\n", out);
	for (int r = 0; r < TABLE_ROWS; r++) {
		fprintf(out, "| %s |", table_aspects[r]);
		table_md_cell(out, t.cells[r][0]);
		table_md_cell(out, t.cells[r][1]);
		table_md_cell(out, t.verdict[r]);
		fputc('\n', out);
	}
}

/* The processes-vs-threads comparison table: the textbook's rows, each cell from this run's figures. */
#include "model_table.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "model_util.h"
#include "output.h"

#define TABLE_ROWS 12
#define TABLE_CELL 320
#define TABLE_ASPECT_W 16
#define TABLE_CELL_W 41

static const char *const table_aspects[TABLE_ROWS] = {
	"memory", "isolation", "creation cost", "switch cost", "communication", "crash behaviour", "scaling",
	"stability", "I/O-bound (C)", "CPU-bound (Py)", "I/O-bound (Py)", "comm. (Py)",
};

/* cells[row][0] is the process column, cells[row][1] the thread column. */
struct table {
	char cells[TABLE_ROWS][2][TABLE_CELL];
};

/* The experiment's result when it ran and succeeded; otherwise NULL with both cells saying why. */
static const json_t *table_model(const json_t *models, const char *name, char cells[2][TABLE_CELL])
{
	const json_t *m = json_object_get(models, name);
	const json_t *st = json_object_get(m, "status");
	if (json_is_string(st) && strcmp(json_string_value(st), "ok") == 0)
		return m;
	const char *why = !m ? "did not run" : json_is_string(st) && strcmp(json_string_value(st), "unsupported") == 0
						? "unsupported here"
						: "failed";
	for (int c = 0; c < 2; c++)
		snprintf(cells[c], TABLE_CELL, "not measured (%s %s)", name, why);
	return NULL;
}

static bool table_bool(const json_t *o, const char *k1, const char *k2, const char *k3)
{
	return json_is_true(json_object_get(json_object_get(json_object_get(o, k1), k2), k3));
}

static void table_memory(struct table *t, const json_t *models)
{
	const json_t *m = table_model(models, "spawn", t->cells[0]);
	if (!m)
		return;
	const json_t *mem = json_object_get(m, "memory");
	char a[32], b[32], c[32];
	snprintf(t->cells[0][0], TABLE_CELL, "own copy-on-write address space: +%s per idle process (anon %s + page tables %s)",
		 mu_fmt_bytes(mu_get(mem, "process_bytes"), a, sizeof(a)),
		 mu_fmt_bytes(mu_get(mem, "process_anon_bytes"), b, sizeof(b)),
		 mu_fmt_bytes(mu_get(mem, "process_page_tables_bytes"), c, sizeof(c)));
	snprintf(t->cells[0][1], TABLE_CELL, "shares the address space: +%s per idle thread (stack: %s reserved)",
		 mu_fmt_bytes(mu_get(mem, "thread_bytes"), a, sizeof(a)),
		 mu_fmt_bytes(mu_get(mem, "thread_stack_reserved_bytes"), b, sizeof(b)));
}

static void table_isolation(struct table *t, const json_t *models)
{
	const json_t *m = table_model(models, "isolation", t->cells[1]);
	if (!m)
		return;
	snprintf(t->cells[1][0], TABLE_CELL, "a child's write was %s by the parent; a child's close() %s",
		 table_bool(m, "memory_write", "process", "seen_by_parent") ? "seen" : "not seen",
		 table_bool(m, "fd_close", "process", "open_in_parent") ? "left the parent's fd open"
									    : "closed the parent's fd too");
	snprintf(t->cells[1][1], TABLE_CELL, "a thread's write was %s by the main thread; a thread's close() %s",
		 table_bool(m, "memory_write", "thread", "seen_by_main") ? "seen" : "not seen",
		 table_bool(m, "fd_close", "thread", "open_in_main") ? "left the main thread's fd open"
								     : "closed the fd for every thread");
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

static void table_creation(struct table *t, const json_t *models)
{
	const json_t *m = table_model(models, "spawn", t->cells[2]);
	if (!m)
		return;
	char a[32], b[32], c[32], d[32], e[32], f[32];
	snprintf(t->cells[2][0], TABLE_CELL,
		 "fork+wait %s p50 (%s with a %s heap); vfork %s; posix_spawn %s vs fork+exec %s",
		 table_p50(m, "fork_ns", a, sizeof(a)), table_p50(m, "fork_big_heap_ns", b, sizeof(b)),
		 mu_fmt_bytes(mu_get(m, "big_heap_bytes"), c, sizeof(c)), table_p50(m, "vfork_ns", d, sizeof(d)),
		 table_p50(m, "posix_spawn_ns", e, sizeof(e)), table_p50(m, "fork_exec_ns", f, sizeof(f)));
	double fork = mu_path(m, "fork_ns", "p50", NULL), thr = mu_path(m, "thread_create_ns", "p50", NULL);
	int n = snprintf(t->cells[2][1], TABLE_CELL, "pthread_create+join %s p50",
			 table_p50(m, "thread_create_ns", a, sizeof(a)));
	if (thr > 0 && isfinite(fork))
		snprintf(t->cells[2][1] + n, (size_t)(TABLE_CELL - n), " (%.0fx less than fork+wait)", fork / thr);
}

static void table_switch(struct table *t, const json_t *models)
{
	const json_t *m = table_model(models, "ctxswitch", t->cells[3]);
	if (!m)
		return;
	static const char *const modes[] = { "process", "thread" };
	for (int c = 0; c < 2; c++) {
		char a[32], b[32];
		snprintf(t->cells[3][c], TABLE_CELL, "%s per switch on one CPU (pipe; futex %s)",
			 table_ns(mu_path(m, "pipe", modes[c], "switch_ns", NULL), a, sizeof(a)),
			 table_ns(mu_path(m, "futex", modes[c], "switch_ns", NULL), b, sizeof(b)));
	}
}

static void table_crash(struct table *t, const json_t *models)
{
	const json_t *m = table_model(models, "isolation", t->cells[5]);
	if (!m)
		return;
	const json_t *cr = json_object_get(m, "crash");
	const json_t *p = json_object_get(cr, "process"), *th = json_object_get(cr, "thread");
	const json_t *ps = json_object_get(p, "signal_name"), *ts = json_object_get(th, "signal_name");
	if (json_is_string(ps))
		snprintf(t->cells[5][0], TABLE_CELL, "SIGSEGV in a child: the child died by %s, the parent ran on",
			 json_string_value(ps));
	else
		snprintf(t->cells[5][0], TABLE_CELL, "SIGSEGV in a child: the child exited with status %d",
			 (int)mu_get(p, "exit_status"));
	if (json_is_string(ts))
		snprintf(t->cells[5][1], TABLE_CELL,
			 "SIGSEGV in one thread: its whole process died by %s; the main thread %s its next step",
			 json_string_value(ts),
			 json_is_true(json_object_get(th, "main_thread_reached_next_step")) ? "reached" : "never reached");
	else
		snprintf(t->cells[5][1], TABLE_CELL, "SIGSEGV in one thread: its process exited with status %d",
			 (int)mu_get(th, "exit_status"));
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

static void table_scaling(struct table *t, const json_t *models)
{
	const json_t *m = table_model(models, "scaling", t->cells[6]);
	if (!m)
		return;
	char sp[96];
	table_speedup(m, "process", sp, sizeof(sp));
	snprintf(t->cells[6][0], TABLE_CELL, "%s; no memory shared unless mapped, so no false sharing", sp);
	table_speedup(m, "thread", sp, sizeof(sp));
	const json_t *fs = json_object_get(m, "false_sharing");
	const json_t *th = json_object_get(fs, "threads");
	size_t n = json_array_size(th);
	if (n == 0) {
		snprintf(t->cells[6][1], TABLE_CELL, "%s; false sharing not measured", sp);
		return;
	}
	snprintf(t->cells[6][1], TABLE_CELL, "%s; counters in one cache line %.1fx slower than padded (%d threads)",
		 sp, json_number_value(json_array_get(json_object_get(fs, "shared_over_padded"), n - 1)),
		 (int)json_integer_value(json_array_get(th, n - 1)));
}

/* The fastest and the slowest 64 B (or smallest) round trip among the group's ok rows. */
static void table_comm(char *cell, const json_t *results, const char *group, const char *how)
{
	const json_t *r, *lo = NULL, *hi = NULL;
	size_t i;
	json_int_t size = 0;
	json_array_foreach(results, i, r) {
		const char *g = json_string_value(json_object_get(r, "group"));
		const char *st = json_string_value(json_object_get(r, "status"));
		const char *pat = json_string_value(json_object_get(r, "pattern"));
		json_int_t sz = json_integer_value(json_object_get(r, "size_bytes"));
		if (!g || !st || !pat || strcmp(g, group) || strcmp(st, "ok") || strcmp(pat, "pingpong"))
			continue;
		if (size == 0 || sz < size) {
			size = sz;
			lo = hi = NULL;
		}
		if (sz != size)
			continue;
		double p50 = json_number_value(json_object_get(json_object_get(r, "rtt_ns"), "p50"));
		if (!lo || p50 < json_number_value(json_object_get(json_object_get(lo, "rtt_ns"), "p50")))
			lo = r;
		if (!hi || p50 > json_number_value(json_object_get(json_object_get(hi, "rtt_ns"), "p50")))
			hi = r;
	}
	if (!lo) {
		snprintf(cell, TABLE_CELL, "%s; no %s pingpong row in this run", how, group);
		return;
	}
	char a[24], b[24];
	if (lo == hi) {
		snprintf(cell, TABLE_CELL, "%s; %" JSON_INTEGER_FORMAT " B round trip p50 %s (%s)", how, size,
			 fmt_ns(json_number_value(json_object_get(json_object_get(lo, "rtt_ns"), "p50")), a,
				sizeof(a)),
			 json_string_value(json_object_get(lo, "mechanism")));
		return;
	}
	fmt_ns(json_number_value(json_object_get(json_object_get(lo, "rtt_ns"), "p50")), a, sizeof(a));
	fmt_ns(json_number_value(json_object_get(json_object_get(hi, "rtt_ns"), "p50")), b, sizeof(b));
	snprintf(cell, TABLE_CELL, "%s; %" JSON_INTEGER_FORMAT " B round trip p50 from %s (%s) to %s (%s)", how,
		 size, a, json_string_value(json_object_get(lo, "mechanism")), b,
		 json_string_value(json_object_get(hi, "mechanism")));
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
	const json_t *m = table_model(models, "races", t->cells[7]);
	if (!m)
		return;
	const json_t *f = json_object_get(m, "fork");
	snprintf(t->cells[7][0], TABLE_CELL,
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
	int n = snprintf(t->cells[7][1], TABLE_CELL, "2 threads, no lock: %s; atomic_fetch_add %s (%s each); mutex %s "
			 "(%s each); ", lu, la, table_ns(mu_get(a, "ns_per_increment"), na, sizeof(na)), lm,
			 table_ns(mu_get(x, "ns_per_increment"), nm, sizeof(nm)));
	if (n > 0 && n < TABLE_CELL)
		snprintf(t->cells[7][1] + n, (size_t)(TABLE_CELL - n),
			 json_is_true(json_object_get(d, "detected"))
				 ? "lock-order deadlock detected by a timed lock after %s; both backed off"
				 : "lock-order deadlock: none formed (%s)",
			 table_ns(mu_get(d, "detect_ns"), dt, sizeof(dt)));
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
	const json_t *m = table_model(models, "iobound", t->cells[8]);
	if (!m)
		return;
	table_io_cell(t->cells[8][0], m, "process", "processes");
	table_io_cell(t->cells[8][1], m, "thread", "threads");
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

static void table_python(struct table *t, const json_t *models, const json_t *results)
{
	const json_t *m = table_model(models, "python", t->cells[9]);
	if (!m) {
		memcpy(t->cells[10], t->cells[9], sizeof(t->cells[9]));
		memcpy(t->cells[11], t->cells[9], sizeof(t->cells[9]));
		return;
	}
	const json_t *in = json_object_get(m, "interpreter");
	const char *ver = json_string_value(json_object_get(in, "version_short"));
	char sp[96];
	const json_t *cpu = json_object_get(m, "cpu_bound"), *io = json_object_get(m, "io_bound");
	table_py_speedup(sp, sizeof(sp), cpu, "process", "processes");
	snprintf(t->cells[9][0], TABLE_CELL, "multiprocessing, %s (Python %s, fork)", sp, ver ? ver : "?");
	table_py_speedup(sp, sizeof(sp), cpu, "thread", "threads");
	snprintf(t->cells[9][1], TABLE_CELL, "threading, %s (GIL %s in this interpreter)", sp,
		 json_is_true(json_object_get(in, "gil_enabled")) ? "enabled" : "disabled");
	table_py_speedup(sp, sizeof(sp), io, "process", "processes");
	snprintf(t->cells[10][0], TABLE_CELL, "%.0f tasks of time.sleep(1 ms) + work: %s", mu_get(io, "tasks"), sp);
	table_py_speedup(sp, sizeof(sp), io, "thread", "threads");
	snprintf(t->cells[10][1], TABLE_CELL, "the same tasks: %s, with the GIL %s", sp,
		 json_is_true(json_object_get(in, "gil_enabled")) ? "enabled" : "disabled");
	const json_t *rt = json_object_get(m, "roundtrip_64b");
	char a[24], b[24], c[24], d[24];
	int n = snprintf(t->cells[11][0], TABLE_CELL,
			 "64 B round trip p50: Pipe %s pickled, %s as bytes; Queue %s",
			 table_ns(mu_path(rt, "pipe_ns", "p50", NULL), a, sizeof(a)),
			 table_ns(mu_path(rt, "pipe_bytes_ns", "p50", NULL), b, sizeof(b)),
			 table_ns(mu_path(rt, "queue_ns", "p50", NULL), c, sizeof(c)));
	/* The C pipe row of the same run at 64 B, when there is one: what the interpreter and pickling add. */
	const json_t *r;
	size_t i;
	json_array_foreach(results, i, r) {
		const char *mech = json_string_value(json_object_get(r, "mechanism"));
		const char *pat = json_string_value(json_object_get(r, "pattern"));
		const char *st = json_string_value(json_object_get(r, "status"));
		double p50 = mu_path(r, "rtt_ns", "p50", NULL);
		if (mech && pat && st && !strcmp(mech, "pipe") && !strcmp(pat, "pingpong") && !strcmp(st, "ok") &&
		    mu_get(r, "size_bytes") == 64 && p50 > 0 && n > 0 && n < TABLE_CELL) {
			snprintf(t->cells[11][0] + n, (size_t)(TABLE_CELL - n), "; C pipe row %s (Pipe %.1fx that)",
				 table_ns(p50, d, sizeof(d)), mu_path(rt, "pipe_ns", "p50", NULL) / p50);
			break;
		}
	}
	snprintf(t->cells[11][1], TABLE_CELL, "64 B round trip p50 through two queue.Queue between two threads: %s",
		 table_ns(mu_path(rt, "thread_queue_ns", "p50", NULL), a, sizeof(a)));
}

static void table_fill(struct table *t, const json_t *models, const json_t *results)
{
	memset(t, 0, sizeof(*t));
	table_memory(t, models);
	table_isolation(t, models);
	table_creation(t, models);
	table_switch(t, models);
	table_comm(t->cells[4][0], results, "process", "through IPC: every message copied in and out");
	table_comm(t->cells[4][1], results, "thread", "shared memory; a handoff between threads");
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
	fputs("| | process | thread |\n|---|---|---|\n", out);
	for (int r = 0; r < TABLE_ROWS; r++) {
		fprintf(out, "| %s |", table_aspects[r]);
		table_md_cell(out, t.cells[r][0]);
		table_md_cell(out, t.cells[r][1]);
		fputc('\n', out);
	}
}

/* report.md's processes-vs-threads section: the comparison table, then one readable table per experiment. */
#include "doc.h"
#include "parse.h"
#include "report.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "mdtable.h"
#include "model_table.h"
#include "models/model_util.h"

/* --- figures out of an experiment's JSON --- */

/* o[key][i] as a number, NAN when it is not one. */
static double rm_at(const json_t *o, const char *key, size_t i)
{
	const json_t *v = json_array_get(json_object_get(o, key), i);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* fmt_ns, with decimals below 100 ns (an increment takes 0.31 ns) and "-" for a missing figure. */
static const char *rm_ns(double ns, char *buf, size_t len)
{
	if (isfinite(ns) && ns < 100)
		snprintf(buf, len, "%.3g ns", ns);
	return !isfinite(ns) ? strcpy(buf, "-") : ns < 100 ? buf : fmt_ns(ns, buf, len);
}

static const char *rm_count(double v, char *buf, size_t len)
{
	if (isfinite(v))
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "-");
	return buf;
}

static const char *rm_pct(double share, char *buf, size_t len)
{
	if (isfinite(share))
		snprintf(buf, len, "%.0f%%", 100 * share);
	else
		snprintf(buf, len, "-");
	return buf;
}

static const char *rm_times(double x, char *buf, size_t len)
{
	if (isfinite(x))
		snprintf(buf, len, "%.2fx", x);
	else
		snprintf(buf, len, "-");
	return buf;
}

/* A text field of the result, "-" when absent. */
static const char *rm_text(const json_t *o, const char *key)
{
	const char *s = doc_str(o, key);
	return *s ? s : "-";
}

/*
 * The p99 of a {"p99", "n"} block, or NaN below the 1,000 samples that back it
 * (a document from an older run may still carry one); *blank notes a p99 left out.
 */
static double rm_p99(const json_t *h, bool *blank)
{
	double p99 = mu_get(h, "p99"), n = mu_get(h, "n");
	if (isfinite(p99) && !(n >= (double)hist_samples_needed(990)))
		p99 = NAN;
	*blank |= !isfinite(p99);
	return p99;
}

/* After a table with a p99 left out: why (hist_samples_needed(990), written as the other tables' notes write it). */
static void rm_p99_note(bool blank, FILE *out)
{
	if (blank)
		fputs("\n-: p99 needs 1,000 samples (ten above it); fewer were taken.\n", out);
}

/* The p50, p99 and sample count of a {"p50", "p99", "n"} block as three cells. */
static void rm_hist_cells(struct mdtable *t, const json_t *h, bool *blank)
{
	char a[24], b[24], c[24];
	md_cell(t, "%s", rm_ns(mu_get(h, "p50"), a, sizeof(a)));
	md_cell(t, "%s", rm_ns(rm_p99(h, blank), b, sizeof(b)));
	md_cell(t, "%s", rm_count(mu_get(h, "n"), c, sizeof(c)));
}

/* --- one function per experiment, each a table and the method in one sentence --- */

static void rm_spawn(const json_t *m, FILE *out)
{
	static const char *const ops[][2] = {
		{ "fork_ns", "fork + waitpid" },
		{ "vfork_ns", "vfork + _exit + waitpid" },
		{ "posix_spawn_ns", "posix_spawn /bin/true + waitpid" },
		{ "fork_exec_ns", "fork + exec /bin/true + waitpid" },
		{ "thread_create_ns", "pthread_create + pthread_join" },
	};
	static const char *const head[] = { "operation", "p50", "p99", "samples" };
	struct mdtable t;
	bool blank = false;
	md_header(&t, "lrrr", head);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		md_cell(&t, "%s", ops[i][1]);
		rm_hist_cells(&t, json_object_get(m, ops[i][0]), &blank);
	}
	char a[24], b[24], c[24];
	md_cell(&t, "fork + waitpid, with a %s heap touched", mu_fmt_bytes(mu_get(m, "big_heap_bytes"), a, sizeof(a)));
	rm_hist_cells(&t, json_object_get(m, "fork_big_heap_ns"), &blank);
	md_print(&t, out);
	rm_p99_note(blank, out);

	const json_t *mem = json_object_get(m, "memory");
	static const char *const mhead[] = { "one more idle", "memory", "made of" };
	md_header(&t, "lrl", mhead);
	md_cell(&t, "process");
	md_cell(&t, "%s", mu_fmt_bytes(mu_get(mem, "process_bytes"), a, sizeof(a)));
	md_cell(&t, "anonymous memory %s, page tables %s", mu_fmt_bytes(mu_get(mem, "process_anon_bytes"), b, sizeof(b)),
		mu_fmt_bytes(mu_get(mem, "process_page_tables_bytes"), c, sizeof(c)));
	md_cell(&t, "thread");
	md_cell(&t, "%s", mu_fmt_bytes(mu_get(mem, "thread_bytes"), a, sizeof(a)));
	md_cell(&t, "resident stack block %s, page tables %s", mu_fmt_bytes(mu_get(mem, "thread_stack_resident_bytes"), b,
									  sizeof(b)),
		mu_fmt_bytes(mu_get(mem, "thread_page_tables_bytes"), c, sizeof(c)));
	fputs("\n", out);
	md_print(&t, out);
	fprintf(out, "\nEach operation is timed from the call that starts it to waitpid() or pthread_join() returning, "
		     "after 3 warmup runs, with children that exit at once; memory is what %.0f idle children or threads "
		     "blocked in poll() added (Pss_Anon and page tables for processes, resident stack pages and page "
		     "tables for threads, of which %s of stack per thread is only reserved), divided by their number.\n\n",
		mu_get(mem, "idle_count"), mu_fmt_bytes(mu_get(mem, "thread_stack_reserved_bytes"), a, sizeof(a)));
}

static void rm_ctxswitch(const json_t *m, FILE *out)
{
	static const char *const head[] = { "between", "through", "one switch", "round trip p50", "round trip p99",
					    "wake + wait alone, p50", "round trips" };
	static const char *const kinds[] = { "pipe", "futex" }, *const modes[] = { "process", "thread" };
	struct mdtable t;
	bool blank = false;
	md_header(&t, "llrrrrr", head);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 2; i++) {
			const json_t *v = json_object_get(json_object_get(m, kinds[k]), modes[i]);
			const json_t *rtt = json_object_get(v, "rtt_ns");
			char a[24], b[24], c[24], d[24], e[24];
			md_cell(&t, "%s", i ? "two threads" : "two processes");
			md_cell(&t, "%s", kinds[k]);
			md_cell(&t, "%s", rm_ns(mu_get(v, "switch_ns"), a, sizeof(a)));
			md_cell(&t, "%s", rm_ns(mu_get(rtt, "p50"), b, sizeof(b)));
			md_cell(&t, "%s", rm_ns(rm_p99(rtt, &blank), c, sizeof(c)));
			md_cell(&t, "%s", rm_ns(mu_path(v, "overhead_ns", "p50", NULL), d, sizeof(d)));
			md_cell(&t, "%s", rm_count(mu_get(rtt, "n"), e, sizeof(e)));
		}
	md_print(&t, out);
	rm_p99_note(blank, out);
	fprintf(out, "\nAs lmbench's lat_ctx: two processes or two threads, both pinned to CPU %.0f, pass a token back "
		     "and forth, and one switch is half of what a round trip costs beyond the same wake and wait calls "
		     "timed alone (medians, the clock's own cost taken out).\n\n", mu_get(m, "cpu"));
}

static void rm_isolation(const json_t *m, FILE *out)
{
	static const char *const what[][2] = {
		{ "memory_write", "write a variable" },
		{ "crash", "raise SIGSEGV" },
		{ "fd_close", "close a pipe's read end" },
	};
	static const char *const head[] = { "done in the child or thread", "in a child process", "in a thread" };
	struct mdtable t;
	md_header(&t, "lll", head);
	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		const json_t *k = json_object_get(m, what[i][0]);
		md_cell(&t, "%s", what[i][1]);
		md_cell(&t, "%s", rm_text(json_object_get(k, "process"), "observed"));
		md_cell(&t, "%s", rm_text(json_object_get(k, "thread"), "observed"));
	}
	md_print(&t, out);
	fputs("\nEach cell is what happened in this run, not what was expected: the parent (or main thread) read "
	      "the variable or used the descriptor afterwards, and the thread's crash ran inside a sacrificial "
	      "child with core dumps off.\n\n", out);
}

static void rm_scaling(const json_t *m, FILE *out)
{
	static const char *const head[] = { "workers", "processes: time", "speedup", "efficiency", "threads: time",
					    "speedup", "efficiency" };
	const json_t *w = json_object_get(m, "workers");
	const json_t *kind[2] = { json_object_get(m, "process"), json_object_get(m, "thread") };
	struct mdtable t;
	md_header(&t, "rrrrrrr", head);
	for (size_t i = 0; i < json_array_size(w); i++) {
		char a[24];
		md_cell(&t, "%s", rm_count(rm_at(m, "workers", i), a, sizeof(a)));
		for (int k = 0; k < 2; k++) {
			char b[24], c[24], d[24];
			md_cell(&t, "%s", rm_ns(rm_at(kind[k], "time_ns", i), b, sizeof(b)));
			md_cell(&t, "%s", rm_times(rm_at(kind[k], "speedup", i), c, sizeof(c)));
			md_cell(&t, "%s", rm_pct(rm_at(kind[k], "efficiency", i), d, sizeof(d)));
		}
	}
	md_print(&t, out);
	fprintf(out, "\nOne CPU-bound sum (%.0f iterations of a hash; every split %s) split into equal ranges over "
		     "1 to n unpinned workers, timed from the first fork() or pthread_create() to the last waitpid() or "
		     "pthread_join(), the best of %.0f interleaved repetitions; speedup is the one-worker time over the "
		     "n-worker time, efficiency that over n.\n\n",
		mu_get(m, "iterations"),
		json_is_false(json_object_get(m, "checksum_ok")) ? "did NOT give the same sum" : "gave the same sum",
		mu_get(m, "repetitions"));
	const json_t *fs = json_object_get(m, "false_sharing");
	if (!json_array_size(json_object_get(fs, "threads"))) {
		fprintf(out, "False sharing was not measured: %s.\n\n", rm_text(fs, "reason"));
		return;
	}
	static const char *const fhead[] = { "threads", "counters in one cache line", "each counter padded", "slowdown" };
	md_header(&t, "rrrr", fhead);
	for (size_t i = 0; i < json_array_size(json_object_get(fs, "threads")); i++) {
		char a[24], b[24], c[24], d[24];
		md_cell(&t, "%s", rm_count(rm_at(fs, "threads", i), a, sizeof(a)));
		md_cell(&t, "%s", rm_ns(rm_at(fs, "shared_line_ns_per_increment", i), b, sizeof(b)));
		md_cell(&t, "%s", rm_ns(rm_at(fs, "padded_ns_per_increment", i), c, sizeof(c)));
		md_cell(&t, "%s", rm_times(rm_at(fs, "shared_over_padded", i), d, sizeof(d)));
	}
	md_print(&t, out);
	fputs("\nFalse sharing: each thread, pinned to a CPU of its own, adds to its own counter for a fixed time; "
	      "the figures are CPU time per increment with the counters side by side in one 64-byte line, and "
	      "with each in a 128-byte slot of its own.\n\n", out);
}

static void rm_races(const json_t *m, FILE *out)
{
	static const char *const kinds[][2] = {
		{ "unsynchronised", "no lock: load, then store" },
		{ "atomic", "atomic_fetch_add" },
		{ "mutex", "load and store under a mutex" },
	};
	static const char *const head[] = { "two threads, one counter", "increments", "counted", "lost", "runs",
					    "time per increment", "alone" };
	struct mdtable t;
	md_header(&t, "lrrrrrr", head);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const json_t *c = json_object_get(m, kinds[i][0]);
		char a[24], b[24], d[24], e[24], f[24], g[24];
		md_cell(&t, "%s", kinds[i][1]);
		md_cell(&t, "%s", rm_count(mu_get(c, "expected_increments"), a, sizeof(a)));
		md_cell(&t, "%s", rm_count(mu_get(c, "counted_increments"), b, sizeof(b)));
		double pct = mu_get(c, "lost_pct");
		rm_count(mu_get(c, "lost_increments"), d, sizeof(d));
		if (isfinite(pct))
			md_cell(&t, "%s (%.1f%%)", d, pct);
		else
			md_cell(&t, "%s", d);
		md_cell(&t, "%s", rm_count(mu_get(c, "attempts"), e, sizeof(e)));
		md_cell(&t, "%s", rm_ns(mu_get(c, "ns_per_increment"), f, sizeof(f)));
		md_cell(&t, "%s", rm_ns(mu_get(c, "alone_ns_per_increment"), g, sizeof(g)));
	}
	md_print(&t, out);
	static const char *const ohead[] = { "experiment", "what happened in this run" };
	md_header(&t, "ll", ohead);
	md_cell(&t, "fork: a child increments its copy of a counter");
	md_cell(&t, "%s", rm_text(json_object_get(m, "fork"), "observed"));
	md_cell(&t, "deadlock: two threads take two locks in opposite order");
	md_cell(&t, "%s", rm_text(json_object_get(m, "deadlock"), "observed"));
	fputs("\n", out);
	md_print(&t, out);
	fputs("\nTwo threads, pinned to the run's two CPUs, each add to one 64-bit counter up to 2^20 times; lost is "
	      "what they added minus the counter's end value, the unlocked run repeated until one is lost (or 20 "
	      "runs), and time per increment is each thread's wall time over its increments (alone: one thread, "
	      "nobody contending).\n\n", out);
}

static void rm_iobound(const json_t *m, FILE *out)
{
	static const char *const head[] = { "workers", "ideal ops/s", "processes: ops/s", "of ideal", "to create, each",
					    "memory, each", "threads: ops/s", "of ideal", "to create, each", "memory, each" };
	const json_t *kind[2] = { json_object_get(m, "process"), json_object_get(m, "thread") };
	struct mdtable t;
	md_header(&t, "rrrrrrrrrr", head);
	for (size_t i = 0; i < json_array_size(json_object_get(m, "workers")); i++) {
		char a[24], b[24];
		md_cell(&t, "%s", rm_count(rm_at(m, "workers", i), a, sizeof(a)));
		md_cell(&t, "%s", rm_count(rm_at(m, "ideal_ops_per_s", i), b, sizeof(b)));
		for (int k = 0; k < 2; k++) {
			char c[24], d[24], e[24], f[24];
			md_cell(&t, "%s", rm_count(rm_at(kind[k], "ops_per_s", i), c, sizeof(c)));
			md_cell(&t, "%s", rm_pct(rm_at(kind[k], "efficiency", i), d, sizeof(d)));
			md_cell(&t, "%s", rm_ns(rm_at(kind[k], "create_ns_per_worker", i), e, sizeof(e)));
			md_cell(&t, "%s", mu_fmt_bytes(rm_at(kind[k], "memory_bytes_per_worker", i), f, sizeof(f)));
		}
	}
	md_print(&t, out);
	char a[24], b[24], c[24];
	fprintf(out, "\nEach unpinned worker loops: wait %s for a pipe that stays empty (the simulated I/O), then "
		     "compute %s; ops/s counts the loops finished once all are up, over a window of at least %s (longer "
		     "when a round needs it for every worker to finish a few loops), against the ideal "
		     "of workers / (wait + work), capped where the %.0f CPUs saturate (%.0f ops/s).\n\n",
		rm_ns(mu_get(m, "wait_ns"), a, sizeof(a)), rm_ns(mu_get(m, "cpu_work_ns"), b, sizeof(b)),
		rm_ns(mu_get(m, "window_ns"), c, sizeof(c)), mu_get(m, "ncpu"), mu_get(m, "cpu_cap_ops_per_s"));
}

static void rm_python_split(struct mdtable *t, const json_t *part, const char *what)
{
	const json_t *kind[2] = { json_object_get(part, "process"), json_object_get(part, "thread") };
	for (size_t i = 0; i < json_array_size(json_object_get(part, "workers")); i++) {
		char a[24];
		md_cell(t, "%s", what);
		md_cell(t, "%s", rm_count(rm_at(part, "workers", i), a, sizeof(a)));
		for (int k = 0; k < 2; k++) {
			char b[24], c[24];
			md_cell(t, "%s", rm_ns(rm_at(kind[k], "time_ns", i), b, sizeof(b)));
			md_cell(t, "%s", rm_times(rm_at(kind[k], "speedup", i), c, sizeof(c)));
		}
	}
}

static void rm_python(const json_t *m, FILE *out)
{
	const json_t *in = json_object_get(m, "interpreter");
	fprintf(out, "Interpreter: %s, Python %s, GIL %s; multiprocessing starts workers by %s.\n\n",
		rm_text(m, "interpreter_path"), rm_text(in, "version_short"),
		json_is_true(json_object_get(in, "gil_enabled")) ? "enabled" : "disabled", rm_text(m, "start_method"));
	static const char *const head[] = { "work", "workers", "multiprocessing: time", "speedup", "threading: time",
					    "speedup" };
	struct mdtable t;
	md_header(&t, "lrrrrr", head);
	rm_python_split(&t, json_object_get(m, "cpu_bound"), "CPU-bound sum");
	rm_python_split(&t, json_object_get(m, "io_bound"), "1 ms sleep + 20 us work");
	md_print(&t, out);
	static const char *const ways[][2] = {
		{ "pipe_ns", "multiprocessing Pipe, send and recv (pickled)" },
		{ "pipe_bytes_ns", "multiprocessing Pipe, send_bytes and recv_bytes" },
		{ "queue_ns", "two multiprocessing Queues, one each way" },
		{ "thread_queue_ns", "two Queues of the queue module, between two threads" },
	};
	static const char *const rhead[] = { "64 B round trip through", "p50", "p99", "round trips" };
	bool blank = false;
	md_header(&t, "lrrr", rhead);
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		md_cell(&t, "%s", ways[i][1]);
		rm_hist_cells(&t, json_object_get(json_object_get(m, "roundtrip_64b"), ways[i][0]), &blank);
	}
	fputs("\n", out);
	md_print(&t, out);
	rm_p99_note(blank, out);
	fputs("\nThe script runs in its own interpreter (fork and exec, isolated mode): the work is split into equal "
	      "parts over the workers and timed from creating the first to joining the last (best of the "
	      "repetitions; speedup is the one-worker time over the n-worker time), and each round trip of a "
	      "64-byte bytes object is timed alone, the two sides pinned to the run's two CPUs.\n\n", out);
}

/* An experiment this build has no table for: its numbers, each named by its path of keys in words. */
static void rm_other(const json_t *v, const char *path, struct mdtable *t)
{
	const char *key;
	json_t *x;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, x) {
			char sub[200];
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? ", " : "", key);
			for (char *p = sub; *p; p++)
				*p = *p == '_' || *p == '.' ? ' ' : *p;
			rm_other(x, sub, t);
		}
	} else if (json_is_number(v)) {
		md_cell(t, "%s", path);
		md_cell(t, "%g", json_number_value(v));
	}
}

static const struct {
	const char *name;
	const char *title;
	void (*write)(const json_t *m, FILE *out);
} rm_experiments[] = {
	{ "spawn", "Creating a process or a thread", rm_spawn },
	{ "ctxswitch", "Switching between processes or threads on one CPU", rm_ctxswitch },
	{ "isolation", "What a child process or a thread does to its parent", rm_isolation },
	{ "scaling", "CPU-bound work split over workers", rm_scaling },
	{ "races", "Shared counters, fork and deadlock", rm_races },
	{ "iobound", "I/O-bound workers", rm_iobound },
	{ "python", "Python: multiprocessing vs threading", rm_python },
};

void report_models_table(const json_t *models, const json_t *results, FILE *out)
{
	model_table_markdown(models, results, out);
	fputs("\nThe same-ring row is the like-for-like one: one ring with one wait, between two processes (shm) "
	      "and between two threads (thread-ring), so only where it runs differs. No sleeping pair is like for "
	      "like: shm-sem (semaphores around the ring) and thread-mutex (a mutex and a condition variable) differ "
	      "in more than where they run, so they are not set side by side. A verdict within 25% says about the "
	      "same.\n\n", out);
}

void report_models_experiments(const json_t *models, FILE *out)
{
	const char *name;
	json_t *m;
	json_object_foreach((json_t *)models, name, m) {
		size_t k = 0, n = sizeof(rm_experiments) / sizeof(rm_experiments[0]);
		while (k < n && strcmp(rm_experiments[k].name, name) != 0)
			k++;
		fprintf(out, "### %s (%s)\n\n", k < n ? rm_experiments[k].title : "Experiment", name);
		const char *status = doc_str(m, "status");
		if (strcmp(status, "failed") == 0 || strcmp(status, "unsupported") == 0) {
			fprintf(out, "%s: %s\n\n", *status == 'f' ? "Failed" : "Not measured", rm_text(m, "reason"));
		} else if (k < n) {
			rm_experiments[k].write(m, out);
		} else {
			static const char *const head[] = { "figure", "value" };
			struct mdtable t;
			md_header(&t, "lr", head);
			rm_other(m, "", &t);
			md_print(&t, out);
			fputs("\nThis build has no table of its own for this experiment; its figures are in results.json.\n\n", out);
		}
	}
}

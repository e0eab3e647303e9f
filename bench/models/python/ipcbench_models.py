#!/usr/bin/env python3
"""The Python side of ipcbench's "python" experiment; bench/models/model_python.c runs it.

threading vs multiprocessing in this interpreter: one CPU-bound job split over 1..ncpu workers,
one I/O-bound job (time.sleep) split over 1, ncpu and 8 workers, and 64 B round trips through
multiprocessing.Pipe, multiprocessing.Queue and, between two threads, queue.Queue.

Usage: python3 -I ipcbench_models.py --budget-ms MS --ncpu N [--cpus A,B] [--deadline-ms MS] [--quick]
Prints one JSON object on stdout, with units in field names as ipcbench's own results; a failure
prints {"status": "failed", "reason": "..."} and exits 1. docs/methodology.md says how each
figure is made. Only the standard library is used.
"""
import argparse
import ctypes
import json
import multiprocessing
import os
import platform
import queue
import signal
import sys
import sysconfig
import threading
import time

CPU_SHARE = 0.55  # of the budget: the CPU-bound split
IO_SHARE = 0.20  # the I/O-bound split
RTT_SHARE = 0.25  # the four round trips
CPU_REPS = 5
CPU_REPS_QUICK = 1
CPU_MIN_JOB_NS = 40e6  # the one-worker job takes at least this long (forking a worker costs ms)
CPU_MIN_JOB_NS_QUICK = 25e6
IO_MIN_TASKS = 32
IO_MIN_TASKS_QUICK = 16
RTT_MIN_WINDOW_S = 0.02
RTT_MIN_WINDOW_S_QUICK = 0.008
IO_SLEEP_S = 0.001  # one simulated I/O wait
IO_WORK_NS = 20_000  # the CPU work after each wait
PAYLOAD = bytes(range(64))
RTT_MAX_SAMPLES = 20_000
RTT_WARMUP = 50
PR_SET_PDEATHSIG = 1


class Failed(Exception):
    """A part that could not finish: its message becomes the experiment's reason."""


def die_with_parent(ppid):
    """A worker process ends when this script does, as ipcbench's children do (PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != ppid:  # the parent died before prctl took effect
        os._exit(1)


def pin(cpu):
    """Pin the calling thread (pid 0 is the calling thread on Linux); a negative cpu leaves it."""
    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})


def work(lo, hi):
    """The unit of CPU work; the sum over a range does not depend on how the range is split."""
    s = 0
    for i in range(lo, hi):
        s += (i * i) % 1000003
    return s


def calibrate(n):
    """ns per iteration of work(), the best of 3 runs of n iterations (the first also warms up)."""
    best = None
    for _ in range(3):
        t0 = time.perf_counter_ns()
        work(0, n)
        ns = time.perf_counter_ns() - t0
        best = ns if best is None else min(best, ns)
    return max(best / n, 0.1)


def io_job(lo, hi, work_iters):
    """Tasks lo..hi of the I/O-bound job: each waits IO_SLEEP_S, then computes a little."""
    s = 0
    for _ in range(lo, hi):
        time.sleep(IO_SLEEP_S)
        s += work(0, work_iters)
    return s


def left(deadline):
    return max(0.0, deadline - time.monotonic())


def run_threads(jobs, target, deadline):
    """Run target(*job) per job in threads; ns from the first Thread() to the last join, results."""
    out = [None] * len(jobs)

    def body(k):
        out[k] = target(*jobs[k])

    t0 = time.perf_counter_ns()
    ts = [threading.Thread(target=body, args=(k,), daemon=True) for k in range(len(jobs))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(left(deadline))
    ns = time.perf_counter_ns() - t0
    if any(t.is_alive() for t in ts):
        raise Failed("a worker thread did not finish before the deadline")
    return ns, out


def proc_body(wfd, k, target, job, ppid):
    die_with_parent(ppid)
    os.write(wfd, b"%d %d\n" % (k, target(*job)))


def run_processes(ctx, jobs, target, deadline):
    """The same in processes; each writes its result to a pipe the parent reads after the joins."""
    rfd, wfd = os.pipe()
    try:
        t0 = time.perf_counter_ns()
        ps = [ctx.Process(target=proc_body, args=(wfd, k, target, jobs[k], os.getpid()), daemon=True)
              for k in range(len(jobs))]
        for p in ps:
            p.start()
        for p in ps:
            p.join(left(deadline))
        ns = time.perf_counter_ns() - t0
        os.close(wfd)
        wfd = -1
        stuck = [p for p in ps if p.is_alive()]
        for p in stuck:
            p.kill()
            p.join()
        if stuck:
            raise Failed("a worker process did not finish before the deadline")
        if any(p.exitcode != 0 for p in ps):
            raise Failed("a worker process exited with status %s" % [p.exitcode for p in ps])
        data = b""
        while True:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(rfd)
        if wfd >= 0:
            os.close(wfd)
    out = [None] * len(jobs)
    for line in data.split(b"\n"):
        if line:
            k, v = line.split()
            out[int(k)] = int(v)
    return ns, out


def split(n, w):
    return [(n * k // w, n * (k + 1) // w) for k in range(w)]


def speedups(workers, times):
    """{"time_ns", "speedup", "efficiency"} from the best time per worker count."""
    base = times[0]
    return {"time_ns": times,
            "speedup": [round(base / t, 3) for t in times],
            "efficiency": [round(base / t / w, 3) for w, t in zip(workers, times)]}


def split_experiment(ctx, workers, reps, make_jobs, target, deadline, share_s, want=None):
    """Best-of-reps time per worker count and kind, interleaved; checks every split's results sum to want.
    A repetition starts only while the part's share of the budget lasts (the first always runs)."""
    best = {"process": [None] * len(workers), "thread": [None] * len(workers)}
    sums_ok = True
    end = time.monotonic() + share_s
    done = 0
    while done < reps and (done == 0 or time.monotonic() < end):
        done += 1
        for i, w in enumerate(workers):
            for kind in ("process", "thread"):
                jobs = make_jobs(w)
                if kind == "thread":
                    ns, res = run_threads(jobs, target, deadline)
                else:
                    ns, res = run_processes(ctx, jobs, target, deadline)
                total = sum(res)
                if want is None:
                    want = total
                sums_ok &= total == want
                if best[kind][i] is None or ns < best[kind][i]:
                    best[kind][i] = ns
    return {kind: speedups(workers, times) for kind, times in best.items()}, sums_ok, done


def cpu_bound(ctx, ncpu, budget_s, quick, deadline):
    workers = [1]
    while workers[-1] * 2 <= ncpu:
        workers.append(workers[-1] * 2)
    if workers[-1] != ncpu:
        workers.append(ncpu)
    ns_per_iter = calibrate(20000)
    reps = CPU_REPS_QUICK if quick else CPU_REPS
    harmonic = sum(1 / w for w in workers)
    # Forking a worker costs milliseconds: a shorter job would measure that instead.
    single_ns = max(CPU_MIN_JOB_NS_QUICK if quick else CPU_MIN_JOB_NS,
                    CPU_SHARE * budget_s * 1e9 / (reps * 2 * harmonic))
    iters = int(single_ns / ns_per_iter)
    res, sums_ok, done = split_experiment(ctx, workers, reps, lambda w: split(iters, w), work, deadline,
                                          CPU_SHARE * budget_s)
    return dict(workers=workers, iterations=iters, ns_per_iteration=round(ns_per_iter, 2),
                checksum_ok=sums_ok, repetitions=done, **res)


def io_bound(ctx, ncpu, budget_s, quick, deadline):
    workers = sorted({1, ncpu, 8})
    ns_per_iter = calibrate(2000)
    work_iters = max(1, int(IO_WORK_NS / max(ns_per_iter, 1)))
    reps = 1 if quick else 2
    harmonic = sum(1 / w for w in workers)
    per_task_s = IO_SLEEP_S * 1.1 + IO_WORK_NS / 1e9
    tasks = int(IO_SHARE * budget_s / (reps * 2 * harmonic * per_task_s))
    tasks = max(IO_MIN_TASKS_QUICK if quick else IO_MIN_TASKS, tasks - tasks % 8)
    res, sums_ok, done = split_experiment(ctx, workers, reps,
                                          lambda w: [(lo, hi, work_iters) for lo, hi in split(tasks, w)],
                                          io_job, deadline, IO_SHARE * budget_s, want=tasks * work(0, work_iters))
    return dict(workers=workers, tasks=tasks, sleep_ns=int(IO_SLEEP_S * 1e9),
                work_ns=round(work_iters * ns_per_iter), repetitions=done, checksum_ok=sums_ok, **res)


def summary(samples):
    """p50 and p99 at rank ceil(p x n), as ipcbench's histograms; p99 only from the 1,000 samples that back it."""
    s = sorted(samples)
    n = len(s)
    return {"p50": s[(n + 1) // 2 - 1], "p99": s[(99 * n + 99) // 100 - 1] if n >= 1000 else None,
            "min": s[0], "mean": round(sum(s) / n, 1), "n": n}


def timed_trips(trip, window_s, deadline):
    """Round trips for window_s after a warmup, each timed on its own."""
    for _ in range(RTT_WARMUP):
        trip()
    samples = []
    end = min(time.monotonic() + window_s, deadline)
    clock = time.perf_counter_ns
    while len(samples) < RTT_MAX_SAMPLES and (len(samples) % 32 or time.monotonic() < end):
        t = clock()
        trip()
        samples.append(clock() - t)
    return summary(samples)


def echo_pipe(conn, pickled, cpu, ppid):
    die_with_parent(ppid)
    pin(cpu)
    recv, send, end = (conn.recv, conn.send, None) if pickled else (conn.recv_bytes, conn.send_bytes, b"")
    while True:
        m = recv()
        if m == end:
            break
        send(m)


def echo_queue(req, rep, cpu, ppid, timeout_s):
    die_with_parent(ppid)
    pin(cpu)
    while True:
        m = req.get(timeout=timeout_s)
        if m is None:
            break
        rep.put(m)


def rtt_pipe(ctx, pickled, cpus, window_s, deadline):
    a, b = ctx.Pipe()  # duplex: one socketpair
    p = ctx.Process(target=echo_pipe, args=(b, pickled, cpus[1], os.getpid()), daemon=True)
    p.start()
    b.close()
    try:
        if pickled:
            def trip():
                a.send(PAYLOAD)
                a.recv()
        else:
            def trip():
                a.send_bytes(PAYLOAD)
                a.recv_bytes()
        return timed_trips(trip, window_s, deadline)
    finally:
        try:
            (a.send if pickled else a.send_bytes)(None if pickled else b"")
        except OSError:
            pass
        p.join(left(deadline))
        if p.is_alive():
            p.kill()
            p.join()
        a.close()


def rtt_queue(ctx, cpus, window_s, deadline):
    req, rep = ctx.Queue(), ctx.Queue()
    p = ctx.Process(target=echo_queue, args=(req, rep, cpus[1], os.getpid(), left(deadline)), daemon=True)
    p.start()
    try:
        def trip():
            req.put(PAYLOAD)
            rep.get(timeout=left(deadline))
        return timed_trips(trip, window_s, deadline)
    finally:
        req.put(None)
        p.join(left(deadline))
        if p.is_alive():
            p.kill()
            p.join()
        for q in (req, rep):
            q.close()
            q.join_thread()


def rtt_thread_queue(cpus, window_s, deadline):
    req, rep = queue.Queue(), queue.Queue()

    def echo():
        pin(cpus[1])
        while True:
            m = req.get(timeout=left(deadline))
            if m is None:
                break
            rep.put(m)

    t = threading.Thread(target=echo, daemon=True)
    t.start()
    try:
        def trip():
            req.put(PAYLOAD)
            rep.get(timeout=left(deadline))
        return timed_trips(trip, window_s, deadline)
    finally:
        req.put(None)
        t.join(left(deadline))


def roundtrips(ctx, cpus, budget_s, quick, deadline):
    window_s = max(RTT_MIN_WINDOW_S_QUICK if quick else RTT_MIN_WINDOW_S, RTT_SHARE * budget_s / 4)
    mask = os.sched_getaffinity(0)
    pin(cpus[0])  # the two sides on the run's two CPUs, as the C pipe row
    try:
        out = {"payload_bytes": len(PAYLOAD), "cpus": list(cpus),
               "pipe_bytes_ns": rtt_pipe(ctx, False, cpus, window_s, deadline),
               "pipe_ns": rtt_pipe(ctx, True, cpus, window_s, deadline),
               "queue_ns": rtt_queue(ctx, cpus, window_s, deadline),
               "thread_queue_ns": rtt_thread_queue(cpus, window_s, deadline)}
    finally:
        os.sched_setaffinity(0, mask)
    return out


def interpreter():
    check = getattr(sys, "_is_gil_enabled", None)
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    return {"version": sys.version.replace("\n", " "), "version_short": platform.python_version(),
            "implementation": sys.implementation.name, "executable": sys.executable,
            "gil_enabled": check() if check else True, "free_threaded_build": free_threaded,
            "gil_check": "sys._is_gil_enabled()" if check else
            "sys._is_gil_enabled() absent (before 3.13): the GIL is always on"}


def main():
    ap = argparse.ArgumentParser(description="ipcbench's Python processes-vs-threads experiment")
    ap.add_argument("--budget-ms", type=float, required=True)
    ap.add_argument("--ncpu", type=int, required=True)
    ap.add_argument("--cpus", default="-1,-1", help="the run's two CPUs, A,B (-1: not pinned)")
    ap.add_argument("--deadline-ms", type=float, default=0, help="give up after this long (default 4 x budget)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    budget_s = args.budget_ms / 1e3
    cpus = [int(c) for c in args.cpus.split(",")][:2]
    # Past this a part gives up; ipcbench kills the interpreter a little later.
    deadline = time.monotonic() + (args.deadline_ms / 1e3 if args.deadline_ms > 0 else 4 * budget_s)
    t0 = time.perf_counter_ns()
    try:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise Failed("multiprocessing has no fork start method here")
        ctx = multiprocessing.get_context("fork")
        out = {"status": "ok", "interpreter": interpreter(), "start_method": "fork", "ncpu": args.ncpu,
               "cpus_allowed": sorted(os.sched_getaffinity(0)),
               "cpu_bound": cpu_bound(ctx, args.ncpu, budget_s, args.quick, deadline),
               "io_bound": io_bound(ctx, args.ncpu, budget_s, args.quick, deadline),
               "roundtrip_64b": roundtrips(ctx, cpus, budget_s, args.quick, deadline)}
        out["duration_ns"] = time.perf_counter_ns() - t0
        status = 0
    except Exception as e:  # whatever it was, it becomes the reason ipcbench reports
        for p in multiprocessing.active_children():
            p.kill()
            p.join()
        out = {"status": "failed", "reason": "%s: %s" % (type(e).__name__, e) if not isinstance(e, Failed)
               else str(e)}
        status = 1
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""run.py: every performance goal of bolsa and gargalo, measured side by side in one run.

The machines are shared and noisy, so each figure is a ratio against a floor measured in
the same run: floor and measured runs alternate (ABAB...) and the medians are compared.
Prints a Markdown table and writes the same figures to bench/results/latest.json
(bench/results/quick.json with --quick). See bench/README.md for what each case does.

    bench/run.py [--quick] [--only REGEX] [--build DIR] [--out FILE]

Exits 0 when every case ran, whether or not its goal was met (this is a report), and 1
when a case broke (in --quick mode, CI's smoke test, that is the point of running it).
PostgreSQL cases are skipped, not failed, when no cluster can be started.
"""
import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKERS = ["PETR4", "BRFS3", "AMBV3", "ITAU4", "CMIN3", "VALE3", "SUZB3", "RAIL3", "B3SA3"]
THREADS = 4  # bolsa's default --threads; bare_mhd gets the same
PROFILE_QUERY = "true"  # ?profile=true: bolsa started with --profile=1 profiles the request
MB = 1024 * 1024

# Sizes and repetitions. "pairs" are floor/measured alternations; medians are taken.
FULL = {
    "save_rows": 50_000, "save_pairs": 9,
    "naive_rows": 50_000, "naive_pairs_sqlite": 3, "naive_pairs_pg": 2,
    "overhead_rows": 50_000, "overhead_pairs": 15,
    "short_target_ms": 10.0, "short_pairs": 21,
    "wrk_seconds": 10, "wrk_pairs": 3,
    "scale": [(1_000, 5), (50_000, 7), (1_000_000, 3), (10_000_000, 1)],
    "render_samples": 20_000, "render_repeat": 5,
    "page_samples": 20_000, "page_repeat": 5,
    "symbolize_rows": 20_000,
    "signal_runs": 9, "signal_loop_ms": 40,
    "record_ms": 3000, "record_pairs": 7,
    "cost_rounds": 5, "cost_floor_runs": 9, "cost_runs": 21,
    "second_runs": 5,
    "dlopen_runs": 20, "dlopen_seconds": 10,
    "eintr_rounds": 200,
    "marker_pairs": 5_000_000, "marker_watched_pairs": 100_000, "marker_runs": 9,
    "process_pairs": 5, "process_cpu_rounds": 300, "process_request_rounds": 1000,
    "capture_rows": 50_000, "capture_pairs": 31, "capture_naive_pairs": 3,
    "capture_wrk_seconds": 10, "capture_wrk_pairs": 5, "capture_list_rows": 20_000,
    "capture_list_pairs": 11, "capture_list_seconds": 4,
    "whole_seconds": 10, "whole_pairs": 3,
}
QUICK = {
    "save_rows": 5_000, "save_pairs": 1,
    "naive_rows": 2_000, "naive_pairs_sqlite": 1, "naive_pairs_pg": 1,
    "overhead_rows": 2_000, "overhead_pairs": 1,
    "short_target_ms": 10.0, "short_pairs": 1,
    "wrk_seconds": 2, "wrk_pairs": 1,
    "scale": [(1_000, 1), (20_000, 1), (100_000, 1)],
    "render_samples": 2_000, "render_repeat": 1,
    "page_samples": 2_000, "page_repeat": 1,
    "symbolize_rows": 2_000,
    "signal_runs": 1, "signal_loop_ms": 20,
    "record_ms": 1000, "record_pairs": 1,
    "cost_rounds": 1, "cost_floor_runs": 3, "cost_runs": 5,
    "second_runs": 1,
    "dlopen_runs": 2, "dlopen_seconds": 1,
    "eintr_rounds": 30,
    "marker_pairs": 200_000, "marker_watched_pairs": 20_000, "marker_runs": 3,
    "process_pairs": 1, "process_cpu_rounds": 30, "process_request_rounds": 200,
    "capture_rows": 5_000, "capture_pairs": 1, "capture_naive_pairs": 0,
    "capture_wrk_seconds": 2, "capture_wrk_pairs": 1, "capture_list_rows": 2_000,
    "capture_list_pairs": 1, "capture_list_seconds": 2,
    "whole_seconds": 2, "whole_pairs": 1,
}
# The mechanisms a session may sample with; each case that measures gargalo runs each,
# forced with GARGALO_MECHANISM in the environment of the program or server it starts.
MECHANISMS = ("perf", "signal")

# The article's own stack on this machine: FastAPI 0.92 + SQLAlchemy 1.4 + uvicorn,
# profiled with pyinstrument 5.1.2 (see bench/README.md).
ARTICLE = {
    "sqlite_50k_add_all_s": 2.24,
    "sqlite_50k_chunks_1000_s": 0.57,
    "profiling_cost_pct": 65.0,
    "get_rps": 9430.0,
    "get_rps_with_profiling_middleware": 2932.0,
}


class CaseSkipped(Exception):
    """A case that cannot run here (no PostgreSQL, say): reported, not a failure."""


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else None


def pair_ratios(floor, measured):
    """measured/floor per alternation, and their median: a second, drift-proof estimate."""
    rs = [m / f for f, m in zip(floor, measured) if f]
    return {"pair_ratios": [round(r, 4) for r in rs], "pair_ratio_median": median(rs)}


def fmt_ms(ms):
    if ms is None:
        return "-"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms"


def fmt_n(n):
    return f"{n:,}"


# --- processes -------------------------------------------------------------------------

class Procs:
    """Every process the run starts, so that all of them die with it."""

    def __init__(self):
        self.live = []
        self.cleanups = []

    def start(self, args, **kw):
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, **kw)
        self.live.append(p)
        return p

    def stop(self, p, grace=5.0):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if p in self.live:
            self.live.remove(p)

    def stop_all(self):
        for p in list(self.live):
            try:
                self.stop(p, 2.0)
            except Exception:  # keep cleaning up whatever else is left
                pass
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:
                pass
        self.cleanups.clear()


PROCS = Procs()


def run_json(args, timeout, env_extra=None):
    """Runs a bench program and parses the JSON object on its last stdout line;
    env_extra adds to (or overrides) the environment it inherits."""
    env = dict(os.environ, **env_extra) if env_extra else None
    r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{os.path.basename(args[0])} exited {r.returncode}: "
                           f"{r.stderr.strip()[-500:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_hwm_bytes(pid):
    """Peak resident set size of a live process (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def wait_http(port, proc, path="/health", timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} while starting")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no answer on 127.0.0.1:{port}{path} after {timeout:.0f} s")


class Bolsa:
    """One bolsa server on a free loopback port."""

    def __init__(self, ctx, db_url, profile=False, threads=THREADS, env_extra=None, extra=()):
        self.ctx = ctx
        self.port = free_port()
        self.profile_dir = tempfile.mkdtemp(prefix="profiles-", dir=ctx.tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOLSA_")}
        env.update(env_extra or {})
        self.log_path = os.path.join(ctx.tmp, f"bolsa-{self.port}.log")
        self.log = open(self.log_path, "wb")
        self.proc = PROCS.start(
            [ctx.bin("bolsa"), "--host=127.0.0.1", f"--port={self.port}",
             f"--database-url={db_url}", f"--threads={threads}",
             f"--profile={1 if profile else 0}", f"--profile-dir={self.profile_dir}",
             *extra],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_http(self.port, self.proc)
        except Exception as e:
            self.stop()
            raise RuntimeError(f"bolsa did not start: {e}; log: {self.tail()}") from e

    def tail(self, n=600):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace").strip()
        except OSError:
            return "(no log)"

    def stop(self):
        PROCS.stop(self.proc)
        self.log.close()

    def peak_rss(self):
        return vm_hwm_bytes(self.proc.pid)

    def post(self, rows, seed=1, strategy=None, profile=False, profile_format=None,
             timeout=300.0):
        """POSTs a transaction of `rows` rows; returns (wall ms, response headers)."""
        query = {}
        if strategy:
            query["save_strategy"] = strategy
        if profile:
            query["profile"] = PROFILE_QUERY
        if profile_format:
            query["profile_format"] = profile_format
        path = "/api/v1/transaction" + ("?" + urlencode(query) if query else "")
        body = json.dumps({"ativos": TICKERS, "quantidadeAtivos": rows, "seed": seed})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            t0 = time.perf_counter()
            c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            ms = (time.perf_counter() - t0) * 1000
        finally:
            c.close()
        if not 200 <= r.status < 300:
            raise RuntimeError(f"POST {path} ({rows} rows): HTTP {r.status}: "
                               f"{data[:300].decode(errors='replace')}")
        if self.proc.poll() is not None:
            raise RuntimeError(f"bolsa exited ({self.proc.returncode}): {self.tail()}")
        return ms, {k.lower(): v for k, v in r.getheaders()}

    def clear_profiles(self):
        for name in os.listdir(self.profile_dir):
            os.unlink(os.path.join(self.profile_dir, name))

    def profile_file(self, headers):
        """The profile a profiled request wrote, named by its X-Profile-File header."""
        name = headers.get("x-profile-file")
        if not name:
            raise RuntimeError("profiled request wrote no profile: "
                               f"{headers.get('x-profile-error', 'no X-Profile-File header')}")
        path = os.path.join(self.profile_dir, os.path.basename(name))
        if not os.path.isfile(path):
            raise RuntimeError(f"X-Profile-File {name} is not in {self.profile_dir}")
        return path

    def post_profiled(self, n, fmt=None, **kw):
        """A profiled POST; returns (wall ms, summary of the profile file it wrote)."""
        self.clear_profiles()
        ms, headers = self.post(n, profile=True, profile_format=fmt, **kw)
        path = self.profile_file(headers)
        summary = read_profile_summary(path) if fmt in ("json", "speedscope") else {
            "file": os.path.basename(path), "bytes": os.path.getsize(path)}
        summary["header_samples"] = headers.get("x-profile-samples")
        summary["profile_ms"] = server_timing_ms(headers, "profile")
        summary["total_ms"] = server_timing_ms(headers, "total")
        summary["cpu_ms"] = server_timing_ms(headers, "cpu")
        return ms, summary


class SqliteDb:
    """A fresh SQLite file per server: every measured save starts from an empty table."""

    def __init__(self, ctx, name):
        self.path = os.path.join(ctx.tmp, name + ".db")
        self.remove()

    @property
    def url(self):
        return "sqlite:" + self.path

    def checkpoint(self):
        """Copies the write-ahead log into the database file now, so the next request does
        not pay for a checkpoint that an earlier one left due: requests compared side by
        side then do the same work."""
        import sqlite3
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()

    def remove(self):
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(self.path + suffix)
            except FileNotFoundError:
                pass


def fresh_sqlite_server(ctx, name, profile=False, env_extra=None):
    db = SqliteDb(ctx, name)
    return Bolsa(ctx, db.url, profile=profile, env_extra=env_extra), db


def server_timing_ms(headers, phase):
    """One phase's duration from a Server-Timing header ("db;dur=1.2, profile;dur=0.5")."""
    m = re.search(rf"(?:^|,)\s*{phase};dur=([\d.]+)", headers.get("server-timing", ""))
    return float(m.group(1)) if m else None


def warm_up(server, strategy=None, profile=False):
    """A small request first: the connection, prepared statements and caches are ready."""
    server.post(100, seed=7, strategy=strategy)
    if profile:
        server.post_profiled(100, "json", seed=7, strategy=strategy)


def sqlite_post_fresh(ctx, name, n, seed, strategy=None):
    """One POST on a fresh server with a fresh SQLite file (after a warm-up request)."""
    server, db = fresh_sqlite_server(ctx, name)
    try:
        warm_up(server, strategy=strategy)
        return server.post(n, seed=seed, strategy=strategy, timeout=600)[0]
    finally:
        server.stop()
        db.remove()


# --- PostgreSQL -------------------------------------------------------------------------

class PgCluster:
    """One throwaway cluster for the whole run, through tests/lib/pgcluster.sh."""

    def __init__(self, ctx):
        self.script = os.path.join(ROOT, "tests", "lib", "pgcluster.sh")
        self.url = self.dir = None
        self.error = None
        if not os.path.exists(self.script):
            self.error = "tests/lib/pgcluster.sh not found"
            return
        d = tempfile.mkdtemp(prefix="pgcluster-", dir=ctx.tmp)
        os.chmod(ctx.tmp, 0o755)
        PROCS.cleanups.append(lambda: self.cleanup(d))
        try:
            r = subprocess.run(["bash", self.script, "start", d], capture_output=True,
                               text=True, timeout=120, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.error = "pgcluster.sh start timed out"
            return
        out = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
        if r.returncode != 0 or "PGCLUSTER_URL" not in out:
            self.error = f"pgcluster.sh start failed: {r.stderr.strip()[-300:]}"
            return
        self.url, self.dir = out["PGCLUSTER_URL"], out.get("PGCLUSTER_DIR", d)

    def cleanup(self, d):
        subprocess.run(["bash", self.script, "cleanup", d], capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)

    def require(self):
        if self.error:
            raise CaseSkipped(f"PostgreSQL unavailable: {self.error}")

    def psql(self, sql):
        r = subprocess.run(["bash", self.script, "psql", self.dir, "-c", sql],
                           capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {r.stderr.strip()[-300:]}")

    def truncate(self):
        self.psql("TRUNCATE transactions")
        self.psql("CHECKPOINT")


# --- the run context --------------------------------------------------------------------

class Ctx:
    def __init__(self, args):
        self.quick = args.quick
        self.cfg = QUICK if args.quick else FULL
        self.build = os.path.abspath(args.build)
        self.tmp = tempfile.mkdtemp(prefix="bolsa-bench-")
        PROCS.cleanups.append(lambda: shutil.rmtree(self.tmp, ignore_errors=True))
        self.results = []   # table rows
        self.facts = {}     # figures the context section reuses
        self._pg = None

    def bin(self, name):
        path = os.path.join(self.build, name)
        if not os.access(path, os.X_OK):
            raise RuntimeError(f"{path} is missing: run `make RELEASE=1 all` first")
        return path

    def bench_bin(self, name):
        return self.bin(os.path.join("bench", name))

    @property
    def pg(self):
        if self._pg is None:
            log("starting a temporary PostgreSQL cluster")
            self._pg = PgCluster(self)
            log(f"PostgreSQL: {self._pg.url or self._pg.error}")
        return self._pg

    def add(self, case, measured, floor, ratio, goal, met, **details):
        self.results.append({"case": case, "measured": measured, "floor": floor,
                             "ratio": ratio, "goal": goal, "met": met, "details": details})


def ratio_str(r, pct=False):
    if r is None:
        return "-"
    return f"{(r - 1) * 100:+.1f}%" if pct else f"{r:.2f}x"


# --- cases --------------------------------------------------------------------------------

def case_sqlite_save(ctx):
    """POST of N rows, default strategy, fresh DB each run, against floor_sqlite."""
    cfg = ctx.cfg
    n = cfg["save_rows"]
    floor, floor_default, served = [], [], []
    floor_db = os.path.join(ctx.tmp, "floor.db")
    for i in range(cfg["save_pairs"]):
        floor.append(run_json([ctx.bench_bin("floor_sqlite"), floor_db, str(n), str(i)],
                              120)["save_ms"])
        served.append(sqlite_post_fresh(ctx, "save", n, i))
        floor_default.append(run_json([ctx.bench_bin("floor_sqlite"), "--row-default",
                                       floor_db, str(n), str(i)], 120)["save_ms"])
    f, m, fd = median(floor), median(served), median(floor_default)
    ctx.facts["sqlite_default_ms"] = m
    ctx.add(f"SQLite save, {fmt_n(n)} rows (HTTP, default strategy)", fmt_ms(m),
            f"floor_sqlite {fmt_ms(f)}", m / f, "<= 1.5x floor", m / f <= 1.5,
            floor_ms=floor, measured_ms=served, **pair_ratios(floor, served))
    ctx.add("SQLite floor with created_at left to its per-row DEFAULT", fmt_ms(fd),
            f"floor_sqlite {fmt_ms(f)}", fd / f, "reported", None, ms=floor_default)


def case_pg_save(ctx):
    """POST of N rows into PostgreSQL (COPY), table truncated each run, against floor_pg."""
    cfg, pg = ctx.cfg, ctx.pg
    n = cfg["save_rows"]
    name = f"PostgreSQL save, {fmt_n(n)} rows (HTTP, default strategy)"
    try:
        pg.require()
    except CaseSkipped as e:
        ctx.add(name, "skipped", "-", None, "<= 1.5x floor", None, skipped=str(e))
        return
    floor, served = [], []
    server = Bolsa(ctx, pg.url)
    try:
        warm_up(server)
        for i in range(cfg["save_pairs"]):
            floor.append(run_json([ctx.bench_bin("floor_pg"), pg.url, str(n), str(i)],
                                  120)["save_ms"])
            pg.truncate()
            served.append(server.post(n, seed=i)[0])
    finally:
        server.stop()
    f, m = median(floor), median(served)
    ctx.facts["pg_default_ms"] = m
    ctx.add(name, fmt_ms(m), f"floor_pg {fmt_ms(f)}", m / f, "<= 1.5x floor", m / f <= 1.5,
            floor_ms=floor, measured_ms=served, **pair_ratios(floor, served))


def case_naive(ctx):
    """The article's slow path (one INSERT and commit per row) against the default."""
    cfg = ctx.cfg
    n = cfg["naive_rows"]
    default, naive = [], []
    for i in range(cfg["naive_pairs_sqlite"]):
        default.append(sqlite_post_fresh(ctx, "naive", n, i))
        naive.append(sqlite_post_fresh(ctx, "naive", n, i, strategy="naive"))
    d, s = median(default), median(naive)
    ctx.facts["sqlite_naive_ms"] = s
    ctx.add(f"Slow path, SQLite: naive, {fmt_n(n)} rows", fmt_ms(s), f"default {fmt_ms(d)}",
            s / d, "reported", None, default_ms=default, naive_ms=naive)

    name = f"Slow path, PostgreSQL: naive, {fmt_n(n)} rows"
    try:
        ctx.pg.require()
    except CaseSkipped as e:
        ctx.add(name, "skipped", "-", None, "reported", None, skipped=str(e))
        return
    default, naive = [], []
    server = Bolsa(ctx, ctx.pg.url)
    try:
        warm_up(server)
        warm_up(server, strategy="naive")
        for i in range(cfg["naive_pairs_pg"]):
            ctx.pg.truncate()
            default.append(server.post(n, seed=i)[0])
            ctx.pg.truncate()
            naive.append(server.post(n, seed=i, strategy="naive", timeout=600)[0])
    finally:
        server.stop()
    d, s = median(default), median(naive)
    ctx.facts["pg_naive_ms"] = s
    ctx.add(name, fmt_ms(s), f"default {fmt_ms(d)}", s / d, "reported", None,
            default_ms=default, naive_ms=naive)


def signal_floor(ctx):
    """signal_floor's figures, run once per harness run: what one SIGPROF costs the
    interrupted thread here, with no profiler at all: from a per-thread timer, and queued
    from another thread as gargalo's ticker sends them."""
    if "signal_floor" not in ctx.facts:
        cfg = ctx.cfg
        ctx.facts["signal_floor"] = run_json(
            [ctx.bench_bin("signal_floor"), "--runs", str(cfg["signal_runs"]),
             "--ms", str(cfg["signal_loop_ms"])], 120)
    return ctx.facts["signal_floor"]


def case_signal(ctx):
    """The machine's cost of one signal: empty handler, copying registers and 16 KiB of
    stack (gargalo's handler), with unw_backtrace; from the thread's own timer, and queued
    from another thread (gargalo's ticker)."""
    r = signal_floor(ctx)
    others = "; ".join(f"at {iv['interval_us']} us {iv['empty']['cost_us']:.1f} / "
                       f"{iv['copy']['cost_us']:.1f} / {iv['unwind']['cost_us']:.1f} us"
                       for iv in r["intervals"] if iv["interval_us"] != r["interval_us"])
    ctx.add("Signal floor: one SIGPROF from the thread's own timer (empty handler / copying "
            "registers and 16 KiB of stack / with unwind), thread CPU time",
            f"{r['empty_us']:.1f} / {r['copy_us']:.1f} / {r['unwind_us']:.1f} us",
            f"no profiler: {r['loop_ms']:.0f} ms loop, SIGPROF every {r['interval_us']} us "
            f"({r['signals']} signals); {others}", None, "reported", None, **r)
    ctx.add("Signal floor: one SIGPROF queued from another thread, as gargalo's ticker "
            "(empty handler / copying / with unwind), thread CPU time",
            f"{r['queued_empty_us']:.1f} / {r['queued_copy_us']:.1f} / "
            f"{r['queued_unwind_us']:.1f} us",
            f"no profiler: same loop, every {r['interval_us']} us", None, "reported", None)


def perf_floor(ctx):
    """perf_floor's figures, run once per harness run: what one task-clock sample costs the
    thread it samples, IP only and with gargalo's registers and stack copy."""
    if "perf_floor" not in ctx.facts:
        cfg = ctx.cfg
        ctx.facts["perf_floor"] = run_json(
            [ctx.bench_bin("perf_floor"), "--runs", str(cfg["signal_runs"]),
             "--ms", str(cfg["signal_loop_ms"])], 120)
    return ctx.facts["perf_floor"]


def case_perf_floor(ctx):
    """The machine's cost of one perf-event sample, with no profiler: a task-clock event
    on the thread itself, its ring buffer emptied by a reader thread."""
    r = perf_floor(ctx)
    for key, what in (("ip", "IP only"),
                      ("stack", f"IP + user registers + {r['stack_copy'] // 1024} KiB of "
                                "user stack (what gargalo asks for)")):
        d = r[key]
        ctx.add(f"Perf-event floor: one task-clock sample of the thread itself, {what}, "
                "thread CPU time", f"{d['cost_us']:.1f} us",
                f"no profiler: {r['loop_ms']:.0f} ms loop, a sample every {r['interval_us']} us "
                f"of CPU time ({d['samples']:.0f} samples, {d['lost']:.0f} lost, level "
                f"{d['level']}); wall time {d['wall_cost_us']:.1f} us", None, "reported", None,
                **d)


# The floors a sample of gargalo is compared with: (key, description, figure from the
# perf_floor and signal_floor JSON). The cheapest of a run is the goal's yardstick.
FLOOR_KINDS = [
    ("perf_ip", "perf event, IP only", lambda pf, sf: pf["ip"]["cost_us"]),
    ("perf_stack", "perf event, registers + 16 KiB stack", lambda pf, sf: pf["stack"]["cost_us"]),
    ("timer_empty", "SIGPROF from own timer, empty handler", lambda pf, sf: sf["empty_us"]),
    ("timer_copy", "SIGPROF from own timer, copying handler", lambda pf, sf: sf["copy_us"]),
    ("queued_empty", "queued SIGPROF, empty handler", lambda pf, sf: sf["queued_empty_us"]),
    ("queued_copy", "queued SIGPROF, copying handler", lambda pf, sf: sf["queued_copy_us"]),
]


def floor_round(ctx):
    """One measurement of every floor at 100 us; appended to the run's floors, so that
    later cases compare with all the floors measured so far in this run."""
    cfg = ctx.cfg
    args = ["--runs", str(cfg["cost_floor_runs"]), "--ms", str(cfg["signal_loop_ms"])]
    pf = run_json([ctx.bench_bin("perf_floor")] + args, 300)
    sf = run_json([ctx.bench_bin("signal_floor"), "--interval", "100"] + args, 300)
    got = {key: fn(pf, sf) for key, _, fn in FLOOR_KINDS}
    floors = ctx.facts.setdefault("floors", {})
    for key, v in got.items():
        floors.setdefault(key, []).append(v)
    return got


def cheapest_floor(ctx):
    """(us, key, description) of the cheapest floor, by its median over the run's rounds."""
    if not ctx.facts.get("floors"):
        floor_round(ctx)
    meds = {k: median(v) for k, v in ctx.facts["floors"].items() if v}
    key = min(meds, key=meds.get)
    return meds[key], key, dict((k, d) for k, d, _ in FLOOR_KINDS)[key]


def same_kind_floor(mech, source):
    """The floor that does what gargalo's mechanism does: perf with stack, or the copying
    handler from the signal source the calibration chose."""
    if mech == "perf":
        return "perf_stack"
    return "timer_copy" if source == "timer" else "queued_copy"


def cost_row(ctx, case, cost_us, extra, details):
    """A row "cost per sample X us, floor Y us (which), ratio" against the run's cheapest
    floor; goal 1.3x."""
    f, key, what = cheapest_floor(ctx)
    same = details.get("same_kind_floor")
    same_txt = ""
    if same:
        same_txt = f"; same kind ({dict((k, d) for k, d, _ in FLOOR_KINDS)[same]}) " \
                   f"{median(ctx.facts['floors'][same]):.1f} us"
    r = cost_us / f if f > 0 else None
    ctx.add(case, f"cost per sample {cost_us:.1f} us{extra}",
            f"floor {f:.1f} us ({what}){same_txt}", r, "<= 1.3x cheapest floor",
            r is not None and r <= 1.3, floor_key=key, floor_us=f,
            floors=ctx.facts["floors"], **details)


def sampler_cost(ctx, mech, ms, runs):
    return run_json([ctx.bin(os.path.join("progs", "sampler_cost")), "--json", "--ms", str(ms),
                     "--runs", str(runs)], 600, {"GARGALO_MECHANISM": mech})


def case_sample_cost(ctx):
    """One gargalo sample on a ~10 ms CPU loop at default settings, per mechanism, against
    the floors: floors and gargalo alternate, round after round, and medians compare."""
    cfg = ctx.cfg
    per = {m: [] for m in MECHANISMS}
    ratios = {m: [] for m in MECHANISMS}
    for _ in range(cfg["cost_rounds"]):
        got = floor_round(ctx)
        cheapest = min(got.values())
        for m in MECHANISMS:
            r = sampler_cost(ctx, m, 10, cfg["cost_runs"])
            per[m].append(r)
            ratios[m].append(r["cost_us"] / cheapest if cheapest > 0 else None)
    for m in MECHANISMS:
        runs = per[m]
        cost = median([r["cost_us"] for r in runs])
        samples = median([r["samples"] for r in runs])
        over = median([r["overhead_pct"] for r in runs])
        last = runs[-1]
        how = f"level {last['level']}" if m == "perf" else f"{last['signal_source']} source"
        cost_row(ctx, f"Cost of one sample, 10 ms CPU loop, default settings: {m} "
                 f"({last['mechanism']}, {how}), thread CPU time", cost,
                 f" ({samples:.0f} samples, {over:+.1f}%)",
                 {"same_kind_floor": same_kind_floor(last["mechanism"], last["signal_source"]),
                  "runs": runs, "pair_ratios": [round(x, 4) for x in ratios[m] if x],
                  "pair_ratio_median": median([x for x in ratios[m] if x]),
                  "wall_cost_us": median([r["wall_cost_us"] for r in runs]),
                  "process_cost_us": median([r["process_cost_us"] for r in runs])})


def case_one_second(ctx):
    """A one-second CPU loop, profiled at default settings, per mechanism, against the
    same loop unprofiled (alternated inside sampler_cost)."""
    cfg = ctx.cfg
    for m in MECHANISMS:
        r = sampler_cost(ctx, m, 1000, cfg["second_runs"])
        over = r["overhead_pct"]
        ctx.add(f"One-second CPU loop session, default settings: {m} ({r['mechanism']}), "
                "thread CPU time", f"{r['profiled_cpu_ms']:.1f} ms, {r['samples']} samples",
                f"unprofiled {r['plain_cpu_ms']:.1f} ms; wall time {r['wall_overhead_pct']:+.1f}%",
                1 + over / 100, "<= +1%", over <= 1.0, ratio_pct=True, **r)


DLOPEN_LIB = ("tests/libggdl_a.so", "ggdl_spin_a")


def dlopen_run(ctx, mech, seconds):
    """One run of dlopen_loop; (result or None, hung?). A run past its deadline is killed
    and counted as a hang."""
    lib, symbol = DLOPEN_LIB
    args = [ctx.bench_bin("dlopen_loop"), "--lib", ctx.bin(lib), "--symbol", symbol,
            "--seconds", str(seconds)]
    env = {"GARGALO_MECHANISM": mech} if mech else {}
    if not mech:
        args.append("--plain")
    try:
        return run_json(args, seconds * 3 + 20, env), False
    except subprocess.TimeoutExpired:
        return None, True
    except RuntimeError as e:
        if "exited 3" in str(e):  # its own deadline
            return None, True
        raise


def case_dlopen(ctx):
    """A thread loading and unloading a library in a loop, profiled at the smallest
    interval (wall clock), per mechanism: runs that never finish are hangs."""
    cfg = ctx.cfg
    n, secs = cfg["dlopen_runs"], cfg["dlopen_seconds"]
    plain, _ = dlopen_run(ctx, None, secs)
    plain_rate = plain["rounds"] / secs
    results = {m: [] for m in MECHANISMS}
    for _ in range(n):
        for m in MECHANISMS:
            results[m].append(dlopen_run(ctx, m, secs))
    for m in MECHANISMS:
        hangs = sum(1 for _, hung in results[m] if hung)
        done = [r for r, hung in results[m] if not hung]
        rate = median([r["rounds"] / secs for r in done]) if done else 0
        samples = median([r["samples"] for r in done]) if done else 0
        ctx.add(f"dlopen/dlclose loop profiled at 50 us (wall clock): {m}, {n} runs x {secs} s",
                f"{hangs} hangs; {rate:,.0f} rounds/s, {samples:,.0f} samples a run",
                f"unprofiled {plain_rate:,.0f} rounds/s", rate / plain_rate if plain_rate else None,
                "0 hangs", hangs == 0, hangs=hangs, runs=[r for r, _ in results[m]],
                plain=plain)


def nobody_copy(ctx, path):
    """A copy of a program that the user nobody may run (the build tree may not be
    readable by it)."""
    d = tempfile.mkdtemp(prefix="bench-nobody-")
    PROCS.cleanups.append(lambda: shutil.rmtree(d, ignore_errors=True))
    os.chmod(d, 0o755)
    dst = os.path.join(d, os.path.basename(path))
    shutil.copy(path, dst)
    os.chmod(dst, 0o755)
    return dst


def eintr_configs(ctx):
    """(what, command prefix, environment, goal) per row; rows that cannot run here say
    why. Root and nobody get gargalo's default choice; the last row forces signals."""
    prog = ctx.bench_bin("eintr_count")
    if os.geteuid() != 0:
        why = "needs root (and runuser) to compare root with an unprivileged user"
        return [("default mechanism, this user", [prog], {}, "reported", None),
                ("unprivileged", None, None, None, why),
                ("signals", [prog], {"GARGALO_MECHANISM": "signal"}, "reported", None)]
    nobody = None
    try:
        import pwd
        pwd.getpwnam("nobody")
        if shutil.which("runuser"):
            nobody = ["runuser", "-u", "nobody", "--", nobody_copy(ctx, prog)]
    except KeyError:
        pass
    return [("root, default mechanism", [prog], {}, "0", None),
            ("unprivileged user nobody, default mechanism", nobody, {}, "0",
             None if nobody else "no user nobody or no runuser"),
            ("root, signals (GARGALO_MECHANISM=signal)", [prog],
             {"GARGALO_MECHANISM": "signal"}, "reported", None)]


def case_eintr(ctx):
    """EINTRs seen by nanosleep, poll, epoll_wait, recv with a timeout and sem_timedwait in
    a thread profiled at 100 us (wall and CPU clock): as root, as an unprivileged user,
    and with signals."""
    rounds = ctx.cfg["eintr_rounds"]
    for what, cmd, env, goal, skip in eintr_configs(ctx):
        name = f"EINTR in 5 waiting calls x {rounds} rounds, profiled at 100 us: {what}"
        if skip:
            ctx.add(name, "skipped", "-", None, "0", None, skipped=skip)
            continue
        r = run_json(cmd + ["--rounds", str(rounds)], 300, env)
        w, c = r["wall"], r["cpu"]
        zero = w["eintr"] == 0 and c["eintr"] == 0
        ctx.add(f"{name} -> {r['mechanism']} (level {r['level']})",
                f"wall {w['eintr']} / {w['calls']}, cpu {c['eintr']} / {c['calls']}",
                f"samples: wall {w['samples']}, cpu {c['samples']}", None,
                goal, zero if goal == "0" else None, **r)


def signal_floor_row(ctx, case, samples, request_ms, measured_pct):
    """A derived row: `samples` signals at the machine's per-signal cost, as a share of a
    `request_ms` request, beside the profiler's measured overhead on that request."""
    try:
        r = signal_floor(ctx)
    except Exception as e:  # the request's own row stands; say why this one is missing
        log(f"no signal floor for {case!r}: {e}")
        return None
    empty = samples * r["queued_empty_us"] / 1000 / request_ms * 100
    unwind = samples * r["queued_unwind_us"] / 1000 / request_ms * 100
    ctx.add(case, f"+{empty:.1f}% / +{unwind:.1f}%",
            f"profiled request measured {measured_pct:+.1f}%", None,
            "reported", None, samples=samples, request_ms=request_ms,
            empty_pct=empty, unwind_pct=unwind, measured_pct=measured_pct)
    return empty


def case_overhead(ctx):
    """The naive request, seconds long, with and without ?profile=true."""
    cfg = ctx.cfg
    n = cfg["overhead_rows"]
    server, db = fresh_sqlite_server(ctx, "overhead", profile=True)
    plain, profiled, samples = [], [], []
    try:
        warm_up(server, strategy="naive", profile=True)
        server.post_profiled(max(100, n // 10), seed=99, strategy="naive")
        for i in range(cfg["overhead_pairs"]):
            plain.append(server.post(n, seed=i, strategy="naive", timeout=600)[0])
            ms, prof = server.post_profiled(n, seed=i, strategy="naive", timeout=600)
            profiled.append(ms)
            samples.append(int(prof["header_samples"] or 0))
        # One more, as gargalo's own JSON, for the symbolization figure of a real request.
        ctx.facts["server_profile_json"] = server.post_profiled(
            n, "json", seed=99, strategy="naive", timeout=600)[1]
    finally:
        server.stop()
        db.remove()
    p, q = median(plain), median(profiled)
    r = q / p
    ctx.facts["overhead_pct"] = (r - 1) * 100
    ctx.add(f"Profiler overhead: naive request, {fmt_n(n)} rows, ?profile=true (html)",
            fmt_ms(q), f"unprofiled {fmt_ms(p)}", r, "<= +3%", r <= 1.03,
            ratio_pct=True, plain_ms=plain, profiled_ms=profiled, samples=samples,
            **pair_ratios(plain, profiled))
    s = median(samples)
    signal_floor_row(ctx, f"Profiler overhead, signal floor: {s:.0f} samples x one queued signal "
                     f"(empty / unwind) in {fmt_ms(p)}", s, p, (r - 1) * 100)


def read_profile_summary(path):
    """Samples and timings from a profile bolsa wrote: gargalo's session JSON (top-level
    duration_ns, symbolize_ns, ..., and a "samples" list) or speedscope's JSON."""
    with open(path) as f:
        doc = json.load(f)
    if not isinstance(doc, dict):
        raise RuntimeError(f"{path}: not a JSON object")
    out = {"file": os.path.basename(path), "bytes": os.path.getsize(path)}
    if "profiles" in doc:  # speedscope
        out["samples"] = sum(len(p.get("samples", [])) for p in doc["profiles"])
        return out
    out.update({k: v for k, v in doc.items()
                if k.endswith("_ns") and isinstance(v, (int, float))})
    samples = doc.get("samples")
    if not isinstance(samples, list):
        raise RuntimeError(f"{path}: no samples list")
    out["samples"] = len(samples)
    return out


def short_rows(ctx, server, db):
    """The row count of a ~10 ms default save on this server, unprofiled."""
    probe = median([server.post(20_000, seed=s)[0] for s in range(3)])
    return max(1000, int(20_000 * ctx.cfg["short_target_ms"] / probe) // 500 * 500)


def short_pairs(ctx, server, db, n):
    """Plain and profiled requests of n rows, alternated; lists of the client's wall ms
    (plain, profiled), samples, and the server's own times (Server-Timing): total ms and
    the handler's thread CPU ms ("cpu"), plain and profiled, and the profiled requests'
    "profile" phase (stop, symbolize, write)."""
    # Warm up with this very request: every address it samples is symbolized once.
    # Its JSON profile also checks that X-Profile-Samples counts what the file holds.
    server.post(n, seed=99)
    _, prof = server.post_profiled(n, "json", seed=99)
    if str(prof["samples"]) != prof["header_samples"]:
        raise RuntimeError(f"X-Profile-Samples {prof['header_samples']} but the JSON "
                           f"profile holds {prof['samples']} samples")
    out = {k: [] for k in ("plain", "profiled", "samples", "plain_total", "profiled_total",
                           "plain_cpu", "profiled_cpu", "phase")}
    for i in range(ctx.cfg["short_pairs"]):
        db.checkpoint()
        ms, headers = server.post(n, seed=i)
        out["plain"].append(ms)
        out["plain_total"].append(server_timing_ms(headers, "total") or ms)
        out["plain_cpu"].append(server_timing_ms(headers, "cpu"))
        db.checkpoint()
        ms, prof = server.post_profiled(n, seed=i)  # the default format: html
        out["profiled"].append(ms)
        out["samples"].append(int(prof["header_samples"]))
        out["profiled_total"].append(prof["total_ms"] or ms)
        out["profiled_cpu"].append(prof["cpu_ms"])
        out["phase"].append(prof["profile_ms"] or 0.0)
    return out


def short_cost_row(ctx, m, n, got):
    """Sampling alone: the handler thread's CPU time in the profiled request over the
    unprofiled one's (bolsa's "cpu" phase, which leaves out the stop, symbolization and
    html write after the handler), shared by the samples. Per pair, then the median: both
    requests of a pair saw about the same machine. The same from the server's wall time
    (its total less the "profile" phase) goes in the details."""
    samples = got["samples"]
    per = [(t - u) * 1000 / k for u, t, k in zip(got["plain_cpu"], got["profiled_cpu"], samples)
           if k and u is not None and t is not None]
    if not per:
        raise RuntimeError("bolsa's Server-Timing has no cpu phase")
    wall = [(t - ph - u) * 1000 / k for u, t, ph, k in
            zip(got["plain_total"], got["profiled_total"], got["phase"], samples) if k]
    s, ph = median(samples), median(got["phase"])
    cost_row(ctx, f"Cost of one sample, short SQLite request ({fmt_n(n)} rows): {m}, "
             "handler thread CPU time", median(per),
             f" ({s:.0f} samples; handler CPU {median(got['plain_cpu']):.1f} ms unprofiled; "
             f"stop + html write {ph:.1f} ms not counted)",
             {"mechanism": m, "per_pair_us": [round(x, 2) for x in per],
              "wall_per_pair_us": [round(x, 2) for x in wall], "wall_cost_us": median(wall),
              "profile_phase_ms": ph})


def case_short(ctx):
    """A ~10 ms request with ?profile=true at default settings, per mechanism (bolsa
    started with GARGALO_MECHANISM): samples, slowdown, and the cost of one sample."""
    cfg = ctx.cfg
    n = None
    for m in MECHANISMS:
        server, db = fresh_sqlite_server(ctx, "short", profile=True,
                                         env_extra={"GARGALO_MECHANISM": m})
        try:
            warm_up(server, profile=True)
            n = n or short_rows(ctx, server, db)  # the same request for every mechanism
            got = short_pairs(ctx, server, db, n)
        finally:
            server.stop()
            db.remove()
        plain, profiled, samples = got["plain"], got["profiled"], got["samples"]
        p, q, s = median(plain), median(profiled), median(samples)
        r = q / p
        ctx.add(f"Short request: {fmt_n(n)} rows (~{cfg['short_target_ms']:.0f} ms), "
                f"?profile=true (html), default settings, {m}",
                f"{fmt_ms(q)}, {s:.0f} samples", f"unprofiled {fmt_ms(p)}", r,
                ">= 100 samples, <= +10%", s >= 100 and r <= 1.10, ratio_pct=True,
                rows=n, mechanism=m, plain_ms=plain, profiled_ms=profiled, samples=samples,
                server=got, **pair_ratios(plain, profiled))
        short_cost_row(ctx, m, n, got)


def wrk_rps(ctx, port, seconds):
    r = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--timeout", "5s",
                        f"http://127.0.0.1:{port}/health"],
                       capture_output=True, text=True, timeout=seconds + 30,
                       stdin=subprocess.DEVNULL)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed: {r.stdout[-300:]} {r.stderr[-300:]}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    errors = re.search(r"Socket errors: (.*)", r.stdout)
    return float(m.group(1)), {"non2xx": int(bad.group(1)) if bad else 0,
                               "socket_errors": errors.group(1) if errors else None}


def health_body(port):
    """bolsa's answer to GET /health, so that bare_mhd answers the very same bytes."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", "/health")
        return c.getresponse().read().decode()
    finally:
        c.close()


def case_http(ctx):
    """GET /health with wrk: bolsa (profiling enabled, not asked) against bare_mhd."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (scripts/deps.sh bench installs it)")
    cfg = ctx.cfg
    server, db = fresh_sqlite_server(ctx, "http", profile=True)
    bare_port = free_port()
    bare = PROCS.start([ctx.bench_bin("bare_mhd"), str(bare_port), str(THREADS),
                        health_body(server.port)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    floor, served, notes = [], [], []
    try:
        wait_http(bare_port, bare)
        for _ in range(cfg["wrk_pairs"]):
            rps, note = wrk_rps(ctx, bare_port, cfg["wrk_seconds"])
            floor.append(rps)
            rps, note = wrk_rps(ctx, server.port, cfg["wrk_seconds"])
            served.append(rps)
            notes.append(note)
    finally:
        PROCS.stop(bare)
        server.stop()
        db.remove()
    f, m = median(floor), median(served)
    ctx.facts["get_rps"] = m
    ctx.add(f"HTTP: GET /health, wrk -t2 -c32 -d{cfg['wrk_seconds']}s, {THREADS} threads, "
            "profiling enabled", f"{m:,.0f} req/s", f"bare_mhd {f:,.0f} req/s", m / f,
            ">= 0.9x bare", m / f >= 0.9, floor_rps=floor, measured_rps=served,
            bolsa_errors=notes, **pair_ratios(floor, served))


def case_scale(ctx):
    """Rows/s and the server's peak RSS per N; a fresh server and DB per request."""
    cfg = ctx.cfg
    per_n = {}
    for n, runs in cfg["scale"]:
        times, peaks = [], []
        for i in range(runs):
            server, db = fresh_sqlite_server(ctx, "scale")
            try:
                warm_up(server)
                times.append(server.post(n, seed=i, timeout=900)[0])
                peaks.append(server.peak_rss())
            finally:
                server.stop()
                db.remove()
        per_n[n] = {"ms": times, "rows_per_s": n / (median(times) / 1000),
                    "peak_rss_bytes": max(peaks)}
    ns = [n for n, _ in cfg["scale"]]
    base_n = 50_000 if 50_000 in per_n else ns[min(1, len(ns) - 1)]
    base = per_n[base_n]["rows_per_s"]
    for n in ns:
        d = per_n[n]
        rss_ok = d["peak_rss_bytes"] < 64 * MB
        measured = f"{d['rows_per_s']:,.0f} rows/s, peak RSS {d['peak_rss_bytes'] / MB:.1f} MB"
        if n > base_n:
            r = d["rows_per_s"] / base
            ctx.add(f"Scale: {fmt_n(n)} rows (SQLite)", measured,
                    f"{base:,.0f} rows/s at {fmt_n(base_n)}", r,
                    f"rows/s >= 0.8x at {fmt_n(base_n)}; RSS < 64 MB", r >= 0.8 and rss_ok,
                    **d)
        else:
            ctx.add(f"Scale: {fmt_n(n)} rows (SQLite)", measured, "-", None, "RSS < 64 MB",
                    rss_ok, **d)


def case_render(ctx):
    cfg = ctx.cfg
    r = run_json([ctx.bench_bin("render_bench"), "--samples", str(cfg["render_samples"]),
                  "--repeat", str(cfg["render_repeat"])], 300)
    for fmt in ("html", "speedscope", "text"):
        ms = r[f"{fmt}_ms"]
        ctx.add(f"Render a {fmt_n(r['samples'])}-sample session ({r['frames']} frames, "
                f"{fmt_n(r['markers'])} markers) to {fmt}", fmt_ms(ms), "-", None, "< 50 ms",
                ms < 50, bytes=r[f"{fmt}_bytes"],
                **{k: r[k] for k in ("samples", "frames", "markers", "repeat")})
    ctx.add("Render the same session to gargalo JSON", fmt_ms(r["json_ms"]), "-", None,
            "reported", None, bytes=r["json_bytes"])


def page_tools():
    """What opening a page needs: node, Chromium and the browser tests' npm packages."""
    browser = os.path.join(ROOT, "tests", "browser")
    if not shutil.which("node") or not os.access("/usr/bin/chromium", os.X_OK) or \
            not os.path.isdir(os.path.join(browser, "node_modules", "playwright-core")):
        raise CaseSkipped("needs node, /usr/bin/chromium and tests/browser/node_modules "
                          "(scripts/deps.sh test)")
    return os.path.join(browser, "load_time.mjs")


def case_page(ctx):
    """Two html pages of N samples in headless Chromium: the mixed workload render_bench
    profiles, and render_profile's synthetic session (a wide tree, ~190,000 nodes at
    20,000 samples). Each opened in fresh tabs; the figure is the page's own clock
    (performance.now() from navigation) once its tree, flame graph and timeline are drawn
    and painted, as tests/browser/load_time.mjs reads it; median of the tabs."""
    script, cfg = page_tools(), ctx.cfg
    n = cfg["page_samples"]
    real = os.path.join(ctx.tmp, "page-real.html")
    r = run_json([ctx.bench_bin("render_bench"), "--samples", str(n), "--repeat", "1",
                  "--html", real], 300)
    synth_dir = tempfile.mkdtemp(prefix="page-", dir=ctx.tmp)
    subprocess.run([ctx.bin(os.path.join("progs", "render_profile")), "--big", str(n),
                    synth_dir], check=True, capture_output=True, timeout=120,
                   stdin=subprocess.DEVNULL)
    synth = os.path.join(synth_dir, "profile.html")
    out = run_json(["node", script, "--repeat", str(cfg["page_repeat"]), real, synth], 600)
    for page, what, samples in zip(out["pages"], ("mixed workload", "synthetic, wide tree"),
                                   (r["samples"], n)):
        ms = page["median_ms"]
        size = os.path.getsize(page["file"])
        ctx.add(f"Open a {fmt_n(samples)}-sample html page ({what}, {size / MB:.1f} MB) in "
                "Chromium: tree, flame graph and timeline drawn", fmt_ms(ms), "-", None,
                "< 1000 ms", ms < 1000, ready_ms=page["ready_ms"], bytes=size,
                samples=samples)


def case_symbolize(ctx):
    """gargalo_stop's address resolution for a naive-loop profile, cold and cached."""
    cfg = ctx.cfg
    n = cfg["symbolize_rows"]
    r = run_json([ctx.bench_bin("symbolize_bench"), os.path.join(ctx.tmp, "sym.db"), str(n)],
                 300)
    for key, what in (("cold", "first session in the process, nothing cached"),
                      ("warm", "a later session, addresses cached")):
        d = r[key]
        ctx.add(f"Symbolize a naive-loop profile ({fmt_n(n)} rows, {d['samples']} samples, "
                f"{d['frames']} frames): {what}", fmt_ms(d["symbolize_ms"]), "-", None,
                "< 50 ms", d["symbolize_ms"] < 50, **d)
    srv = ctx.facts.get("server_profile_json")
    if srv and "symbolize_ns" in srv:
        ms = srv["symbolize_ns"] / 1e6
        ctx.add(f"Symbolize bolsa's profile of a naive request ({srv['samples']} samples, "
                "warm server)", fmt_ms(ms), "-", None, "< 50 ms", ms < 50, **srv)


def timed_run(args, timeout):
    """Runs a program to its end: (wall ms seen from outside, CPU ms (user + system) of it
    and of the processes it waited for, the JSON object on its last stdout line)."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    ms = (time.perf_counter() - t0) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} exited {r.returncode}: {r.stderr.strip()[-500:]}")
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return ms, cpu, json.loads(r.stdout.strip().splitlines()[-1])


def case_record(ctx):
    """`gargalo record` at default settings (wall clock, 1 ms, HTML written) on
    cpu_threads, 4 CPU-bound threads, against the same program run plain, alternated. The
    goal's figure is the whole run's wall time seen from outside, loading gargalo into the
    program and writing the profile included. On a machine whose other work takes the
    CPUs, wall times swing with it; the CPU time the runs used (gargalo, the program and
    its sampling) is reported beside them as the steadier measure of the same cost."""
    cfg = ctx.cfg
    prog, gargalo = ctx.bench_bin("cpu_threads"), ctx.bin("gargalo")
    # About record_ms of wall time plain on an idle machine: the 4 threads' CPU time spread
    # over the CPUs (calibrated on CPU time, which the machine's other work does not swing).
    _, probe_cpu, _ = timed_run([prog, "20"], 120)
    cpus = min(4, os.cpu_count() or 1)
    rounds = max(1, round(20 * cfg["record_ms"] * cpus / max(probe_cpu, 1.0)))
    out = os.path.join(ctx.tmp, "record.html")
    runs = {"plain": ([], [], []), "recorded": ([], [], [])}  # wall, cpu, work ms
    for _ in range(cfg["record_pairs"]):
        for kind, cmd in (("plain", [prog, str(rounds)]),
                          ("recorded", [gargalo, "record", "-o", out, "--", prog, str(rounds)])):
            wall, cpu, r = timed_run(cmd, 600)
            for series, v in zip(runs[kind], (wall, cpu, r["work_ms"])):
                series.append(v)
    (pw, pc, pk), (mw, mc, mk) = runs["plain"], runs["recorded"]
    p, m = median(pw), median(mw)
    ctx.add("gargalo record: a CPU-bound program, 4 threads, default settings, whole run "
            "(HTML written)", fmt_ms(m), f"plain {fmt_ms(p)}", m / p, "<= +3%", m / p <= 1.03,
            ratio_pct=True, rounds=rounds, plain_ms=pw, recorded_ms=mw, plain_work_ms=pk,
            recorded_work_ms=mk, profile_bytes=os.path.getsize(out), **pair_ratios(pw, mw))
    ctx.add("gargalo record: the same runs' CPU time (user + system, every process)",
            fmt_ms(median(mc)), f"plain {fmt_ms(median(pc))}", median(mc) / median(pc),
            "reported", None, ratio_pct=True, plain_cpu_ms=pc, recorded_cpu_ms=mc,
            **pair_ratios(pc, mc))


def case_markers(ctx):
    """marker_cost: ns per gargalo_mark_begin/gargalo_mark_end pair, with no session
    sampling the thread (what bolsa's statement markers cost every request) and with a
    per-thread or a process-wide session recording them."""
    cfg = ctx.cfg
    r = run_json([ctx.bench_bin("marker_cost"), "--pairs", str(cfg["marker_pairs"]),
                  "--watched-pairs", str(cfg["marker_watched_pairs"]),
                  "--runs", str(cfg["marker_runs"])], 300)
    ctx.add("Marker cost: one begin/end pair, no session sampling the thread",
            f"{r['unwatched_ns']:.1f} ns", f"median of {r['runs']} loops of "
            f"{fmt_n(r['pairs'])} pairs", None, "reported", None, **r)
    ctx.add("Marker cost: one begin/end pair recorded (a session of the thread / of the "
            "process)", f"{r['thread_session_ns']:.0f} / {r['process_session_ns']:.0f} ns",
            f"median of {r['runs']} sessions of {fmt_n(r['watched_pairs'])} pairs, "
            f"{r['text_bytes']}-byte text", None, "reported", None)


# The shapes of the `process` case: (what, ROUNDS setting, THREADS, BUSY, SLEEP_US).
PROCESS_SHAPES = (
    ("64 threads all computing (rounds of ~200 us, no waits)", "process_cpu_rounds", 64, 64, 0),
    ("8 request-like workers (~200 us of work, then a 1 ms sleep) among 64 threads, 56 "
     "parked all along", "process_request_rounds", 64, 8, 1000),
    ("the same 8 workers alone (8 threads)", "process_request_rounds", 8, 8, 1000),
)


def process_pairs(ctx, rounds, threads, busy, sleep_us):
    """process_threads plain and profiled, alternated: (plain runs, profiled runs)."""
    prog = ctx.bench_bin("process_threads")
    runs = ([], [])
    for _ in range(ctx.cfg["process_pairs"]):
        for k, mode in enumerate(("plain", "profiled")):
            runs[k].append(run_json([prog, str(rounds), str(threads), str(busy), str(sleep_us),
                                     mode], 300))
    return runs


def case_process(ctx):
    """A process-wide session (gargalo_start_process, default settings: wall clock, 1 ms)
    against the same program unprofiled, alternated: the process's CPU time for the same
    work, gargalo's own threads and the kernel's sampling included, the stop apart."""
    costs = {}
    for what, setting, threads, busy, sleep_us in PROCESS_SHAPES:
        plain, profiled = process_pairs(ctx, ctx.cfg[setting], threads, busy, sleep_us)
        pc, mc = [r["cpu_ms"] for r in plain], [r["cpu_ms"] for r in profiled]
        p, m = median(pc), median(mc)
        costs[threads, busy] = m / p
        goal = not sleep_us  # the goal's shape: sampling alone, no wait on every request
        samples = median([r["samples"] for r in profiled])
        stop = median([r["stop_ms"] for r in profiled])
        ctx.add(f"Process-wide session, {what}: process CPU time", fmt_ms(m),
                f"unprofiled {fmt_ms(p)}; {samples:,.0f} samples, {profiled[0]['threads']} "
                f"threads, {profiled[0]['mechanism']}; stop {fmt_ms(stop)}",
                m / p, "<= +3%" if goal else "reported", (m / p <= 1.03) if goal else None,
                ratio_pct=True, plain=plain, profiled=profiled, **pair_ratios(pc, mc))
    ctx.add("Process-wide session: what 56 parked threads add to the 8 workers' cost",
            f"{(costs[64, 8] - costs[8, 8]) * 100:+.1f} points", "-", None, "reported", None)


# --- slow-request capture and whole-process profiles -------------------------------------

CAPTURE_SLOW_MS = 500  # make run's threshold: requests under it are sampled, then dropped


def cpu_seconds(pid):
    """utime + stime of a live process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_measure(port, path, seconds, pid, connections=32):
    """wrk -t2 -c32 (or one thread and connection) on path: (requests/s, p99 latency ms, the
    server's CPU us a request)."""
    c0 = cpu_seconds(pid)
    threads = 2 if connections > 1 else 1
    r = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout",
                        "5s", "--latency",
                        f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                       timeout=seconds + 30, stdin=subprocess.DEVNULL)
    cpu = cpu_seconds(pid) - c0
    rps = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    n = re.search(r"(\d+) requests in", r.stdout)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", r.stdout, re.M)
    if r.returncode != 0 or not (rps and n and p99):
        raise RuntimeError(f"wrk failed: {r.stdout[-300:]} {r.stderr[-300:]}")
    if re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout):
        raise RuntimeError(f"wrk on {path}: answers other than 2xx: {r.stdout[-300:]}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return float(rps.group(1)), float(p99.group(1)) * scale, cpu / int(n.group(1)) * 1e6


def capture_servers(ctx, name):
    """Two warm servers, each on a SQLite file of its own, profiling enabled on both: slow-
    request capture off, and on at make run's threshold."""
    off_db, on_db = SqliteDb(ctx, name + "-off"), SqliteDb(ctx, name + "-on")
    off = Bolsa(ctx, off_db.url, profile=True)
    on = Bolsa(ctx, on_db.url, profile=True, extra=[f"--profile-slow-ms={CAPTURE_SLOW_MS}"])
    for server in (off, on):
        warm_up(server)
    return [(off, off_db), (on, on_db)]


def alternate(pairs, servers, measure):
    """measure(server, db, i) for off and on, pairs times, the order swapped every pair so that
    neither always runs second; returns the two lists of results."""
    out = ([], [])
    for i in range(pairs):
        for k in ((0, 1) if i % 2 == 0 else (1, 0)):
            out[k].append(measure(*servers[k], i))
    return out


def capture_post(ctx, servers, n, strategy=None):
    """The POST of n rows on both servers, the write-ahead log checkpointed before each."""
    def one(server, db, i):
        db.checkpoint()
        return server.post(n, seed=i, strategy=strategy, timeout=600)[0]
    pairs = ctx.cfg["capture_naive_pairs" if strategy else "capture_pairs"]
    return alternate(pairs, servers, one)


def capture_rows_post(ctx, servers):
    cfg = ctx.cfg
    off, on = capture_post(ctx, servers, cfg["capture_rows"])
    p, q = median(off), median(on)
    ctx.add(f"Slow-request capture: the article's {fmt_n(cfg['capture_rows'])}-row POST (default "
            f"strategy), capture on ({CAPTURE_SLOW_MS} ms, not kept) vs off", fmt_ms(q),
            f"capture off {fmt_ms(p)}", q / p, "<= +3%", q / p <= 1.03, ratio_pct=True,
            off_ms=off, on_ms=on, **pair_ratios(off, on))


def capture_naive_post(ctx, servers):
    """The naive request, slower than the threshold: its profile is kept, each time."""
    if not ctx.cfg["capture_naive_pairs"]:
        return
    n = ctx.cfg["naive_rows"]
    kept = len(os.listdir(servers[1][0].profile_dir))
    off, on = capture_post(ctx, servers, n, strategy="naive")
    kept = len([f for f in os.listdir(servers[1][0].profile_dir) if "-slow-" in f]) - kept
    p, q = median(off), median(on)
    ctx.add(f"Slow-request capture: naive {fmt_n(n)}-row POST, slower than {CAPTURE_SLOW_MS} ms: "
            f"its profile kept ({kept} of {len(on)} written)", fmt_ms(q), f"capture off {fmt_ms(p)}",
            q / p, "reported", None, ratio_pct=True, off_ms=off, on_ms=on, kept=kept,
            **pair_ratios(off, on))


def capture_wrk(ctx, servers, path, connections=32, pairs=None, seconds=None):
    seconds = seconds or ctx.cfg["capture_wrk_seconds"]
    return alternate(pairs or ctx.cfg["capture_wrk_pairs"], servers,
                     lambda server, db, i: wrk_measure(server.port, path, seconds, server.proc.pid,
                                                       connections))


RPS, P99_MS, CPU_US = 0, 1, 2  # the fields of a wrk_measure result


def column(runs, k):
    """One field of each wrk_measure result."""
    return [r[k] for r in runs]


def capture_health(ctx, servers):
    off, on = capture_wrk(ctx, servers, "/health")
    rps_off, rps_on = column(off, RPS), column(on, RPS)
    p, q = median(rps_off), median(rps_on)
    cp, cq = median(column(off, CPU_US)), median(column(on, CPU_US))
    ctx.add(f"Slow-request capture: GET /health, wrk -t2 -c32 -d{ctx.cfg['capture_wrk_seconds']}s, "
            "capture on vs off", f"{q:,.0f} req/s ({cq:.1f} us CPU a request)",
            f"capture off {p:,.0f} req/s ({cp:.1f} us)", q / p, ">= 0.95x", q / p >= 0.95,
            off=off, on=on, cpu_ratio=cq / cp, **pair_ratios(rps_off, rps_on))


def capture_list(ctx, servers):
    """GET a 100-row page of the list, rows saved first on both. The goal is judged on one
    connection: the p99 of the request itself. With 32 connections on two cores the p99 is
    the run queue's: two servers with capture off differ by 20% or more from run to run, so
    that p99 and the CPU a request costs are reported beside it."""
    for server, db in servers:
        server.post(ctx.cfg["capture_list_rows"], seed=5)
    path, seconds = "/api/v1/transaction?limit=100", ctx.cfg["capture_list_seconds"]
    off, on = capture_wrk(ctx, servers, path, connections=1, pairs=ctx.cfg["capture_list_pairs"],
                          seconds=seconds)
    p99_off, p99_on = column(off, P99_MS), column(on, P99_MS)
    p, q = median(p99_off), median(p99_on)
    ctx.add(f"Slow-request capture: GET {path} p99, one connection (wrk -t1 -c1 -d{seconds}s, "
            f"{len(on)} pairs), capture on vs off", f"{q:.3f} ms", f"capture off {p:.3f} ms",
            q / p, "<= +5%", q / p <= 1.05, ratio_pct=True, off=off, on=on,
            **pair_ratios(p99_off, p99_on))
    off, on = capture_wrk(ctx, servers, path)
    p99_off, p99_on = column(off, P99_MS), column(on, P99_MS)
    p, q = median(p99_off), median(p99_on)
    cp, cq = median(column(off, CPU_US)), median(column(on, CPU_US))
    ctx.add(f"Slow-request capture: GET {path} p99 under saturation (wrk -t2 -c32 "
            f"-d{ctx.cfg['capture_wrk_seconds']}s), capture on vs off",
            f"{q:.2f} ms ({cq:.0f} us CPU a request)", f"capture off {p:.2f} ms ({cp:.0f} us)",
            q / p, "reported", None, ratio_pct=True, off=off, on=on, cpu_ratio=cq / cp,
            **pair_ratios(p99_off, p99_on))


def case_capture(ctx):
    """Slow-request capture on against off, in the same run, two servers side by side."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (scripts/deps.sh bench installs it)")
    servers = capture_servers(ctx, "capture")
    try:
        capture_rows_post(ctx, servers)
        capture_naive_post(ctx, servers)
        capture_health(ctx, servers)
        capture_list(ctx, servers)
    finally:
        for server, db in servers:
            server.stop()
            db.remove()


def whole_profile(port, seconds, out):
    """GET /debug/gargalo/profile for seconds (pprof, wall clock): its status, bytes, time."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=seconds + 600)
    t0 = time.perf_counter()
    try:
        c.request("GET", f"/debug/gargalo/profile?seconds={seconds}")
        r = c.getresponse()
        out.update(status=r.status, bytes=len(r.read()), ms=(time.perf_counter() - t0) * 1000)
    finally:
        c.close()


def case_whole(ctx):
    """GET /health throughput with wrk while a whole-process profile runs, against the same
    server without one, alternated. The profile starts before wrk and lasts a second longer,
    so every request measured runs under it; its stop and rendering come after."""
    import threading
    cfg = ctx.cfg
    seconds = cfg["whole_seconds"]
    server, db = fresh_sqlite_server(ctx, "whole", profile=True)
    pid, plain, profiled, answers = server.proc.pid, [], [], []
    try:
        for i in range(cfg["whole_pairs"]):
            plain.append(wrk_measure(server.port, "/health", seconds, pid))
            answer = {}
            t = threading.Thread(target=whole_profile, args=(server.port, seconds + 1, answer))
            t.start()
            time.sleep(0.3)  # the session runs before the first request measured
            profiled.append(wrk_measure(server.port, "/health", seconds, pid))
            t.join()
            if answer.get("status") != 200:
                raise RuntimeError(f"whole-process profile: {answer}; log: {server.tail()}")
            answers.append(answer)
    finally:
        server.stop()
        db.remove()
    rps_plain, rps_profiled = column(plain, RPS), column(profiled, RPS)
    p, q = median(rps_plain), median(rps_profiled)
    ctx.add(f"Whole-process profile (GET /debug/gargalo/profile, pprof, wall clock): GET /health "
            f"throughput while it runs, wrk -t2 -c32 -d{seconds}s",
            f"{q:,.0f} req/s", f"no profile {p:,.0f} req/s", q / p, ">= 0.9x", q / p >= 0.9,
            plain=plain, profiled=profiled, profiles=answers,
            **pair_ratios(rps_plain, rps_profiled))
    ms = median([a["ms"] for a in answers])
    ctx.add(f"Whole-process profile of {seconds + 1} s under that load: its answer, stop and "
            "rendering included", fmt_ms(ms), "-", None, "reported", None, profiles=answers)


CASES = [
    ("sqlite-save", case_sqlite_save),
    ("pg-save", case_pg_save),
    ("naive", case_naive),
    ("signal", case_signal),
    ("perf-floor", case_perf_floor),
    ("sample-cost", case_sample_cost),
    ("overhead", case_overhead),
    ("short", case_short),
    ("one-second", case_one_second),
    ("dlopen", case_dlopen),
    ("eintr", case_eintr),
    ("http", case_http),
    ("scale", case_scale),
    ("render", case_render),
    ("markers", case_markers),
    ("page", case_page),
    ("symbolize", case_symbolize),
    ("record", case_record),
    ("process", case_process),
    ("capture", case_capture),
    ("whole", case_whole),
]


# --- report -------------------------------------------------------------------------------

def machine_info():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = None
    try:
        dirty = bool(subprocess.run(["git", "-C", ROOT, "status", "--porcelain",
                                     "--untracked-files=no"], capture_output=True,
                                    text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        dirty = None
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "mem_bytes": mem, "loadavg_at_start": os.getloadavg(), "commit": commit,
            "dirty": dirty, "python": platform.python_version()}


def met_str(met):
    return {True: "yes", False: "**no**", None: "-"}.get(met, str(met))


def table_lines(ctx):
    lines = ["| case | measured | floor / anchor | ratio | goal | met? |",
             "|---|---|---|---|---|---|"]
    for r in ctx.results:
        pct = r["details"].get("ratio_pct", False)
        met = r["met"]
        if r["details"].get("error"):
            met = "ERROR"
        elif r["details"].get("skipped"):
            met = "skipped"
        lines.append(f"| {r['case']} | {r['measured']} | {r['floor']} "
                     f"| {ratio_str(r['ratio'], pct)} | {r['goal']} | {met_str(met)} |")
    return lines


def context_rows(ctx):
    """The article's figures beside ours: (what, article, bolsa this run)."""
    f, a = ctx.facts, ARTICLE
    n = fmt_n(ctx.cfg["save_rows"])
    pct = f.get("overhead_pct")
    rps = f.get("get_rps")
    return [
        ("50,000 rows, SQLite, one transaction (article: add_all + commit; "
         f"bolsa: default strategy, {n} rows)",
         f"{a['sqlite_50k_add_all_s']:.2f} s", fmt_ms(f.get("sqlite_default_ms"))),
        ("50,000 rows, SQLite, chunked (article: 1,000-row chunks; "
         f"bolsa: 500-row prepared INSERTs, {n} rows)",
         f"{a['sqlite_50k_chunks_1000_s']:.2f} s", fmt_ms(f.get("sqlite_default_ms"))),
        (f"{fmt_n(ctx.cfg['naive_rows'])} rows, SQLite, one INSERT and commit per row "
         "(bolsa's naive strategy)", "-", fmt_ms(f.get("sqlite_naive_ms"))),
        ("cost of profiling a request", f"+{a['profiling_cost_pct']:.0f}%",
         f"{pct:+.1f}%" if pct is not None else "-"),
        ("GET throughput", f"{a['get_rps']:,.0f} req/s",
         f"{rps:,.0f} req/s (GET /health)" if rps else "-"),
        ("GET throughput with profiling installed, not asked",
         f"{a['get_rps_with_profiling_middleware']:,.0f} req/s",
         f"{rps:,.0f} req/s (bolsa runs with --profile=1)" if rps else "-"),
    ]


def context_lines(ctx):
    lines = ["",
             "Context: the article's own stack measured on the same machine (FastAPI 0.92 + "
             "SQLAlchemy 1.4 + uvicorn, profiled with pyinstrument 5.1.2; figures recorded "
             "once, in bench/README.md), beside bolsa in this run:",
             "",
             "| figure | article's stack | bolsa, this run |",
             "|---|---|---|"]
    for what, article, ours in context_rows(ctx):
        lines.append(f"| {what} | {article} | {ours} |")
    return lines


def command_line():
    return " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])


def machine_line(info, started):
    mem = f", {info['mem_bytes'] / 1024 ** 3:.1f} GiB RAM" if info.get("mem_bytes") else ""
    commit = info.get("commit") or "unknown"
    if info.get("dirty"):
        commit += " (with uncommitted changes)"
    return (f"Machine: {info['nproc']} cores, {info['cpu']}{mem}, Linux {info['kernel']}, "
            f"load {info['loadavg_at_start'][0]:.2f} at start; commit {commit}; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
            f"{time.time() - started:.0f} s")


def write_markdown(path, lines, info, started):
    """The report as printed, with the machine and the command that produced it."""
    make = {(): "make bench", ("--quick",): "make bench QUICK=1"}.get(tuple(sys.argv[1:]))
    doc = [f"Command: `{command_line()}`" + (f" (what `{make}` runs)" if make else ""),
           "", machine_line(info, started), ""] + lines
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(doc) + "\n")
    os.replace(tmp, path)


def write_json(ctx, path, info, started, errors):
    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started, 1),
        "command": command_line(),
        "quick": ctx.quick,
        "machine": info,
        "cases": ctx.results,
        "context": {"article": ARTICLE,
                    "rows": [{"figure": w, "article": a, "bolsa": o}
                             for w, a, o in context_rows(ctx)]},
        "errors": errors,
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2, default=str)
        f.write("\n")
    os.replace(tmp, path)


# --- main ---------------------------------------------------------------------------------

def on_signal(signum, frame):
    raise SystemExit(128 + signum)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="each case once with small sizes: a smoke test of the harness")
    ap.add_argument("--only", default=None, help="regex over case ids: "
                    + ", ".join(c for c, _ in CASES))
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--out", default=None, help="JSON results path")
    args = ap.parse_args()
    out = args.out or os.path.join(ROOT, "bench", "results",
                                   "quick.json" if args.quick else "latest.json")
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    started = time.time()
    info = machine_info()
    ctx = Ctx(args)
    errors = []
    try:
        log(f"{'quick' if ctx.quick else 'full'} run; {info['nproc']} cores, {info['cpu']}, "
            f"load {info['loadavg_at_start'][0]:.2f}; temp dir {ctx.tmp}")
        for cid, fn in CASES:
            if args.only and not re.search(args.only, cid):
                continue
            t0 = time.monotonic()
            log(f"case {cid}")
            try:
                fn(ctx)
            except CaseSkipped as e:
                ctx.add(cid, "skipped", "-", None, "-", None, skipped=str(e))
            except Exception as e:
                traceback.print_exc(file=sys.stderr)
                errors.append({"case": cid, "error": f"{type(e).__name__}: {e}"})
                ctx.add(cid, "error", "-", None, "-", None, error=str(e))
            log(f"case {cid} done in {time.monotonic() - t0:.1f} s")
    finally:
        PROCS.stop_all()
    lines = table_lines(ctx) + context_lines(ctx)
    for e in errors:
        lines += ["", f"ERROR in {e['case']}: {e['error']}"]
    print("\n".join(lines))
    write_json(ctx, out, info, started, errors)
    md = os.path.splitext(out)[0] + ".md"
    write_markdown(md, lines, info, started)
    print(f"\n{len(ctx.results)} rows, {len(errors)} broken cases, "
          f"{time.time() - started:.0f} s; figures in {os.path.relpath(out, ROOT)}, "
          f"table in {os.path.relpath(md, ROOT)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""run.py: a soak test of bolsa: mixed load for a while against a real server and
database, watching the server's memory and open files.

    python3 tests/soak/run.py --bolsa build/bolsa --db sqlite|postgresql --seconds 300

Load: a few clients in parallel, each request drawn from a seeded generator: mostly
POSTs of 1 to 100,000 rows (most of them small; one in ten the naive strategy, kept
small), and GETs (the list walked over a few pages, the summary, /health). Every 50th
request is profiled; every 500th comes from a hostile client (malformed JSON, a huge
header, a request abandoned half-sent, a wrong content type, a cross-origin POST, a
garbage request line, a body shorter than declared).

Pass:
  - no answer is a 5xx, and no ordinary request fails; a hostile one gets a 4xx or a
    closed connection (one that carries a valid body may also be saved: 201);
  - the table holds exactly the rows the 201 answers said they saved;
  - memory and open files are flat: see FLAT below;
  - bolsa stops cleanly (exit 0, no sanitizer report in its log).
Ends with "soak-sqlite: N passed, M failed"."""

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import (ARTICLE_TICKERS, SANITIZER_REPORT, Bolsa, PgCluster, SqliteDb,  # noqa: E402
                     make_workdir, path_with)

T = "/api/v1/transaction"
PROFILE_EVERY = 50
HOSTILE_EVERY = 500

# FLAT: how the server's resident memory and open files may move between the samples
# taken after warm-up (WARMUP of the run, at least 10 s), each taken with the load paused
# and every connection closed. Open files must come back to exactly the same count:
# with the load paused, bolsa holds its listening socket, epoll, the pool's database
# connections and SQLite's files, a fixed set once every pooled connection is open. So
# must its threads (the workers, upkeep, gargalo's).
# Memory may grow by RSS_SLACK_MB or RSS_SLACK_PART of the first sample, whichever is
# more: after warm-up what still grows is bounded, not proportional to the requests
# served (glibc's per-thread arenas keeping freed blocks for reuse, SQLite's page cache
# filling up to its 2 MiB per connection, gargalo's symbol cache), while a leak of even
# 100 bytes a request is about 5 MiB over ten minutes of this load, and grows on.
WARMUP = 0.2
RSS_SLACK_MB = 8
RSS_SLACK_PART = 0.10


class Tally:
    """What the clients saw, shared under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0  # requests started, to pick the profiled and hostile ones
        self.kinds = {}
        self.statuses = {}
        self.saved = 0
        self.rows_asked = 0
        self.errors = []

    def next_index(self):
        with self.lock:
            self.count += 1
            return self.count

    def record(self, kind, status, saved=0):
        with self.lock:
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.saved += saved

    def error(self, text):
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(text)
            self.statuses["failed"] = self.statuses.get("failed", 0) + 1


# --- the requests -------------------------------------------------------------------------


def call(port, method, path, body=None, headers=None, timeout=120):
    """(status, parsed JSON body or None, headers) on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        hdrs.update(headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return resp.status, parsed, resp
    finally:
        conn.close()


def post_size(rng):
    """1 to 100,000 rows, most requests small: about 500 rows a POST on average, so that
    ten minutes stay within a few million rows on disk."""
    r = rng.random()
    if r < 0.85:
        return rng.randint(1, 100)
    if r < 0.98:
        return rng.randint(101, 2000)
    if r < 0.998:
        return rng.randint(2001, 20000)
    return rng.randint(20001, 100000)


def do_post(port, rng, tally, profiled=False):
    naive = rng.random() < 0.1
    n = rng.randint(1, 200) if naive else post_size(rng)
    query = {"save_strategy": "naive" if naive else None}
    if profiled:
        query.update(profile="true", profile_format=rng.choice(["html", "json", "text", "speedscope"]))
    body = {"ativos": rng.sample(ARTICLE_TICKERS, rng.randint(1, 9)), "quantidadeAtivos": n}
    status, data, _ = call(port, "POST", path_with(T, **query), body)
    ok = status == 201 and data and data.get("saved") == n
    tally.record("POST profiled" if profiled else "POST", status, n if ok else 0)
    if not ok:
        tally.error("POST %d rows: %d %r" % (n, status, data))


def do_get(port, rng, tally):
    r = rng.random()
    if r < 0.55:  # the list, a few pages on from somewhere
        after, limit = rng.randint(0, 1000), rng.choice([10, 100, 1000])
        for _ in range(rng.randint(1, 3)):
            status, data, _ = call(port, "GET", path_with(T, limit=limit, after_id=after))
            tally.record("GET list", status)
            if status != 200 or not isinstance(data, dict):
                return tally.error("GET list: %d %r" % (status, data))
            if data.get("next_after_id") is None:
                break
            after = data["next_after_id"]
        return None
    # The summary reads the whole table, seconds of it once it holds millions of rows.
    path, kind = (T + "/summary", "GET summary") if r < 0.6 else ("/health", "GET health")
    status, data, _ = call(port, "GET", path)
    tally.record(kind, status)
    if status != 200:
        tally.error("%s: %d %r" % (kind, status, data))
    return None


# --- the hostile client -------------------------------------------------------------------


def raw(port, data, answer=True, linger=0.0):
    """Sends bytes on a connection of its own. With answer, returns the answer's status,
    or None when the server closed without one; otherwise waits linger seconds and
    abandons the connection."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused half-way: the answer, if any, is still readable
        if not answer:
            time.sleep(linger)
            return None
        head = b""
        while b"\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        return int(head.split()[1]) if head.startswith(b"HTTP/1.") else None
    except ConnectionResetError:
        return None
    finally:
        s.close()


def request_bytes(method, path, headers, body=b""):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1", "Connection: close"]
    lines += ["%s: %s" % kv for kv in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


SMALL = json.dumps({"ativos": ["PETR4"], "quantidadeAtivos": 3}).encode()
HOSTILE = [
    # (name, bytes to send, whether an answer is awaited, whether its body may be saved)
    ("malformed JSON", request_bytes("POST", T, {"Content-Type": "application/json",
                                                 "Content-Length": "12"}, b'{"ativos": ['), True, False),
    ("huge header", request_bytes("GET", "/health", {"X-Filler": "a" * 100000}), True, False),
    ("abandoned half-sent", request_bytes("POST", T, {"Content-Type": "application/json",
                                                      "Content-Length": "100"}, b'{"ativos"'), False, False),
    ("wrong content type", request_bytes("POST", T, {"Content-Type": "text/plain",
                                                     "Content-Length": str(len(SMALL))}, SMALL), True, True),
    ("cross-origin POST", request_bytes("POST", T, {"Content-Type": "text/plain", "Origin": "http://evil.example",
                                                    "Content-Length": str(len(SMALL))}, SMALL), True, True),
    ("garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 GARBAGE\r\n\r\n", True, False),
    ("body shorter than declared", request_bytes("POST", T, {"Content-Type": "application/json",
                                                             "Content-Length": "1000"}, SMALL), False, False),
]


def do_hostile(port, k, tally):
    """The kth hostile request: a 4xx or a closed connection, never a 5xx; one with a
    valid body may be saved (then it counts)."""
    name, data, answer, may_save = HOSTILE[k % len(HOSTILE)]
    status = raw(port, data, answer, linger=0.5)
    tally.record("hostile: " + name, status if status else "closed", 3 if status == 201 else 0)
    if status is not None and not (400 <= status < 500 or (may_save and status == 201)):
        tally.error("hostile %s: answered %d" % (name, status))


# --- the clients, and pausing them ---------------------------------------------------------


class Gate:
    """Lets the monitor pause the clients and wait until no request is in flight."""

    def __init__(self):
        self.cond = threading.Condition()
        self.paused = False
        self.inflight = 0

    def enter(self):
        with self.cond:
            while self.paused:
                self.cond.wait()
            self.inflight += 1

    def leave(self):
        with self.cond:
            self.inflight -= 1
            self.cond.notify_all()

    def pause(self):
        with self.cond:
            self.paused = True
            while self.inflight:
                self.cond.wait()

    def resume(self):
        with self.cond:
            self.paused = False
            self.cond.notify_all()


def client(port, seed, tally, stop, gate):
    rng = random.Random(seed)
    while not stop.is_set():
        gate.enter()
        try:
            i = tally.next_index()
            if i % HOSTILE_EVERY == 0:
                do_hostile(port, i // HOSTILE_EVERY, tally)
            elif i % PROFILE_EVERY == 0:
                do_post(port, rng, tally, profiled=True)
            elif rng.random() < 0.6:
                do_post(port, rng, tally)
            else:
                do_get(port, rng, tally)
        except (OSError, http.client.HTTPException) as e:
            tally.error("request %d: %r" % (i, e))
        finally:
            gate.leave()


# --- watching the server ------------------------------------------------------------------


def sample(pid):
    """(resident memory in KiB, open files, threads) of process pid."""
    with open("/proc/%d/status" % pid) as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    rss = int(fields["VmRSS"].split()[0])
    return rss, len(os.listdir("/proc/%d/fd" % pid)), int(fields["Threads"])


def sweep_profiles(profiles):
    """Checks that every profile written is whole, then removes them all (they would
    fill the disk over a long run). Returns how many there were."""
    names = os.listdir(profiles)
    for name in names:
        path = os.path.join(profiles, name)
        if name.endswith(".json"):
            with open(path) as f:
                json.load(f)  # ValueError: a half-written profile
        os.unlink(path)
    return sum(1 for n in names if n.startswith("profile-"))


def quiet_sample(server, gate, profiles, t0):
    """Pauses the load, lets the server close its connections, and samples it."""
    gate.pause()
    try:
        time.sleep(0.3)
        swept = sweep_profiles(profiles)
        rss, fds, threads = sample(server.proc.pid)
    finally:
        gate.resume()
    return {"t": time.monotonic() - t0, "rss_kb": rss, "fds": fds, "threads": threads,
            "profiles": swept}


# --- the verdict --------------------------------------------------------------------------


def check_flat(samples, warmup_s, results):
    """Memory and open files after warm-up: the first samples against the last (medians
    of three, so that one sample caught mid-allocation does not decide)."""
    after = [s for s in samples if s["t"] >= warmup_s]
    if len(after) < 4:
        results.append((False, "only %d samples after warm-up: run longer" % len(after)))
        return
    first = statistics.median(s["rss_kb"] for s in after[:3])
    last = statistics.median(s["rss_kb"] for s in after[-3:])
    slack = max(RSS_SLACK_MB * 1024, RSS_SLACK_PART * first)
    results.append((last - first <= slack,
                    "RSS %.1f MiB after warm-up, %.1f MiB at the end (%+.1f, allowed %+.1f)"
                    % (first / 1024, last / 1024, (last - first) / 1024, slack / 1024)))
    fds = sorted({s["fds"] for s in after})
    results.append((len(fds) == 1, "open files after warm-up: %s (%d at the first sample)"
                    % (fds, samples[0]["fds"])))
    threads = sorted({s["threads"] for s in after})
    results.append((len(threads) == 1, "threads after warm-up: %s" % threads))


def verdict(tally, db, samples, warmup_s):
    """[(passed, what)] for every pass condition but the clean stop."""
    results = []
    fivexx = {s: k for s, k in tally.statuses.items() if isinstance(s, int) and s >= 500}
    results.append((not fivexx, "5xx answers: %s" % (fivexx or "none")))
    results.append((not tally.errors, "failed requests: %d%s" % (
        tally.statuses.get("failed", 0), "".join("\n        " + e for e in tally.errors[:10]))))
    count = db.count()
    results.append((count == tally.saved, "rows in the table %d, saved according to the answers %d"
                    % (count, tally.saved)))
    check_flat(samples, warmup_s, results)
    return results


def report(tally, samples, seconds):
    total = sum(tally.kinds.values())
    print("%d requests in %.0f s (%.0f/s), %d rows saved" % (total, seconds, total / seconds, tally.saved))
    for kind, n in sorted(tally.kinds.items()):
        print("    %-34s %d" % (kind, n))
    print("    answers: %s" % ", ".join("%s: %d" % (s, n) for s, n in
                                         sorted(tally.statuses.items(), key=lambda kv: str(kv[0]))))
    print("samples (t s, RSS MiB, open files, threads, profiles written since the last):")
    for s in samples:
        print("    %6.1f %8.1f %5d %4d %4d" % (s["t"], s["rss_kb"] / 1024, s["fds"], s["threads"],
                                              s["profiles"]))


# --- the run ------------------------------------------------------------------------------


def load(server, args, profiles):
    """Runs the clients for args.seconds, sampling the server; (tally, samples)."""
    tally, gate, stop = Tally(), Gate(), threading.Event()
    interval = min(15.0, max(2.0, args.seconds / 20))
    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(server.port, args.seed + i, tally, stop, gate),
                                daemon=True) for i in range(args.clients)]
    for t in threads:
        t.start()
    samples = []
    try:
        while time.monotonic() - t0 < args.seconds:
            time.sleep(min(interval, max(0.0, args.seconds - (time.monotonic() - t0))))
            samples.append(quiet_sample(server, gate, profiles, t0))
    finally:
        stop.set()
        for t in threads:
            t.join(180)
    samples.append(quiet_sample(server, gate, profiles, t0))
    return tally, samples, time.monotonic() - t0


def run(args, workdir):
    db = PgCluster(workdir) if args.db == "postgresql" else SqliteDb(workdir)
    profiles = os.path.join(workdir, "profiles")
    os.mkdir(profiles)
    server = Bolsa(args.bolsa, db.url, workdir, "bolsa-soak", ["--threads", "4"],
                   env={"BOLSA_PROFILE": "1", "BOLSA_PROFILE_DIR": profiles})
    try:
        server.start(60)
        tally, samples, took = load(server, args, profiles)
        results = verdict(tally, db, samples, max(10.0, WARMUP * args.seconds))
    finally:
        code = server.stop()
        log = server.log_text() if os.path.exists(server.log_path) else ""
        db.cleanup()
    m = SANITIZER_REPORT.search(log)
    results.append((code == 0 and not m, "bolsa stopped with %r%s" % (
        code, ", sanitizer report:\n" + log[m.start():][:3000] if m else "")))
    report(tally, samples, took)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bolsa", required=True)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seed", type=int, default=20261130, help="of the request generator")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs) at the end")
    args = ap.parse_args()
    workdir = make_workdir()
    print("soak on %s for %.0f s, %d clients, seed %d" % (args.db, args.seconds, args.clients, args.seed),
          flush=True)
    try:
        results = run(args, workdir)
    finally:
        if args.keep:
            print("kept " + workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    for ok, what in results:
        print("%s %s" % ("ok  " if ok else "FAIL", what))
    failed = sum(1 for ok, _ in results if not ok)
    print("soak-%s: %d passed, %d failed" % (args.db, len(results) - failed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

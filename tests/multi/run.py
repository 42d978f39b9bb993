#!/usr/bin/env python3
"""run.py: two bolsa processes on one database, as behind a load balancer: two servers
on one SQLite file (file locking and the busy timeout), or on one PostgreSQL database.

    python3 tests/multi/run.py --bolsa build/bolsa --db sqlite|postgresql

Clients POST at the same time to both servers, alternating strategies (chunked and
naive) and sizes, while others read. Pass: every POST answers 201 with all its rows
saved; the table holds exactly the sum of the answers; both servers then report the same
summary and the same pages; both stop cleanly. Ends with "multi-sqlite: N passed, M
failed"."""

import argparse
import os
import random
import shutil
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import (ARTICLE_TICKERS, SANITIZER_REPORT, Bolsa, PgCluster, SqliteDb,  # noqa: E402
                     make_workdir, path_with)

T = "/api/v1/transaction"
WRITERS = 8          # threads posting, each to both servers in turn
POSTS_EACH = 25
READERS = 2          # threads reading while the writers write
DEADLINE_S = 240


class Shared:
    def __init__(self):
        self.lock = threading.Lock()
        self.saved = 0
        self.posts = {}
        self.errors = []

    def add(self, key, saved):
        with self.lock:
            self.saved += saved
            self.posts[key] = self.posts.get(key, 0) + 1

    def error(self, text):
        with self.lock:
            self.errors.append(text)


def writer(servers, i, shared):
    rng = random.Random(1000 + i)
    for j in range(POSTS_EACH):
        srv = servers[(i + j) % 2]
        naive = (i + j) % 3 == 0
        n = rng.randint(1, 200) if naive else rng.randint(1, 5000)
        strategy = "naive" if naive else "chunked"
        try:
            resp = srv.post({"ativos": rng.sample(ARTICLE_TICKERS, 3), "quantidadeAtivos": n},
                            strategy, timeout=120)
            body = resp.json() if resp.status == 201 else None
            if body and body.get("saved") == n:
                shared.add((srv.name, strategy), n)
            else:
                shared.error("%s %s %d rows: %r" % (srv.name, strategy, n, resp))
        except Exception as e:  # noqa: BLE001 - any failure is the test's
            shared.error("%s %s %d rows: %r" % (srv.name, strategy, n, e))


def reader(servers, stop, shared):
    k = 0
    while not stop.is_set():
        srv = servers[k % 2]
        k += 1
        try:
            for path in (T + "/summary", path_with(T, limit=100), "/health"):
                resp = srv.get(path, timeout=60)
                if resp.status != 200:
                    shared.error("%s GET %s: %r" % (srv.name, path, resp))
        except Exception as e:  # noqa: BLE001
            shared.error("%s reading: %r" % (srv.name, e))


def load(servers):
    shared, stop = Shared(), threading.Event()
    writers = [threading.Thread(target=writer, args=(servers, i, shared), daemon=True)
               for i in range(WRITERS)]
    readers = [threading.Thread(target=reader, args=(servers, stop, shared), daemon=True)
               for _ in range(READERS)]
    for t in writers + readers:
        t.start()
    deadline = time.monotonic() + DEADLINE_S
    for t in writers:
        t.join(max(0, deadline - time.monotonic()))
    stop.set()
    for t in readers:
        t.join(60)
    if any(t.is_alive() for t in writers):
        shared.error("writers still running after %d s" % DEADLINE_S)
    return shared


def pages(srv):
    """Every id, walking the list 1000 at a time."""
    ids, after = [], 0
    while True:
        body = srv.get(path_with(T, limit=1000, after_id=after), timeout=60).json()
        ids += [item["id"] for item in body["items"]]
        if body["next_after_id"] is None:
            return ids
        after = body["next_after_id"]


def agree(servers, db, shared):
    """[(passed, what)]: the rows, and both servers' views of them."""
    count = db.count()
    results = [(not shared.errors, "failed requests: %d%s" % (
        len(shared.errors), "".join("\n        " + e for e in shared.errors[:10]))),
        (count == shared.saved, "rows in the table %d, saved according to the answers %d"
         % (count, shared.saved))]
    summaries = [srv.get(T + "/summary").json()["items"] for srv in servers]
    total = sum(item["count"] for item in summaries[0])
    results.append((summaries[0] == summaries[1] and total == count,
                    "both servers' summaries agree (%d rows)" % total))
    ids = [pages(srv) for srv in servers]
    results.append((ids[0] == ids[1] and len(ids[0]) == count,
                    "both servers list the same %d ids" % len(ids[0])))
    return results


def run(args, workdir):
    db = PgCluster(workdir) if args.db == "postgresql" else SqliteDb(workdir)
    servers = [Bolsa(args.bolsa, db.url, workdir, "bolsa-%s" % name, ["--threads", "4"])
               for name in ("a", "b")]
    for srv, name in zip(servers, "ab"):
        srv.name = name
    try:
        for srv in servers:
            srv.launch()
        for srv in servers:
            srv.wait_ready(60)
        t0 = time.monotonic()
        shared = load(servers)
        took = time.monotonic() - t0
        results = agree(servers, db, shared)
    finally:
        codes = [srv.stop() for srv in servers]
        logs = [srv.log_text() for srv in servers]
        db.cleanup()
    print("%d POSTs, %d rows in %.1f s: %s" % (sum(shared.posts.values()), shared.saved, took,
          ", ".join("%s %s %d" % (k[0], k[1], n) for k, n in sorted(shared.posts.items()))))
    clean = codes == [0, 0] and not any(SANITIZER_REPORT.search(log) for log in logs)
    results.append((clean, "both servers stopped cleanly (exit %s)" % codes))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bolsa", required=True)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    args = ap.parse_args()
    workdir = make_workdir()
    try:
        results = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for ok, what in results:
        print("%s %s" % ("ok  " if ok else "FAIL", what))
    failed = sum(1 for ok, _ in results if not ok)
    print("multi-%s: %d passed, %d failed" % (args.db, len(results) - failed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

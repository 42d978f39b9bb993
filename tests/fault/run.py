#!/usr/bin/env python3
"""run.py: allocation-failure injection on the running service. Each operation is sent
again and again to the fault build of bolsa (bolsa_fault.c, under ASan), with
X-Fault-Alloc: N for N = 1, 2, ... until N is past the request's last allocation.

    python3 tests/fault/run.py --bolsa build/asan/fault/bolsa --db sqlite|postgresql

Every request whose allocation N failed must be answered, with a 500 or 503 in FastAPI's
shape, or with its normal answer when bolsa could do without that allocation; a profiled
request may instead lose only its profile (X-Profile-Error). A POST saves all its rows or
none; the same request without a fault works right after; no profile is left half
written. At the end bolsa stops cleanly and its log has no sanitizer report (leaks
included). Prints one line per operation and "fault-sqlite: N passed, M failed"."""

import argparse
import json
import os
import shutil
import sys
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import (ARTICLE_TICKERS, SANITIZER_REPORT, Bolsa, PgCluster, SqliteDb,  # noqa: E402
                     TestFailure, check, make_workdir, path_with)

T = "/api/v1/transaction"
# Libraries whose own allocations are not failed, only counted (README.md): elfutils
# aborts the process when one fails; libpq 15 waits forever for a reply that already came
# when it cannot allocate the result of COPY's start (PQexec, via getCopyStart), so it is
# spared for the PostgreSQL POST only.
SPARE = "/libdw.so:/libelf.so"
SPARE_LIBPQ = SPARE + ":/libpq.so"
ROWS = 20
MAX_POINTS = 5000  # far more than any request here allocates
OP_SECONDS = 400


class Op:
    """One request to fault: how to send it and what a good answer is. A GET's answer
    must be the same with a fault absorbed as without (want, read before the loop)."""

    def __init__(self, name, method, path, body=None, rows=0, profiled=False, spare=SPARE):
        self.name, self.method, self.path, self.body = name, method, path, body
        self.rows, self.profiled, self.spare = rows, profiled, spare
        self.want = None

    def send(self, server, fault=None):
        headers = {"X-Fault-Alloc": str(fault)} if fault else {}
        return server.request(self.method, self.path, self.body, headers=headers, timeout=60)


def operations(db_kind):
    body = {"ativos": ARTICLE_TICKERS, "quantidadeAtivos": ROWS, "seed": 7}
    ops = [Op("POST", "POST", T, body, rows=ROWS,
              spare=SPARE_LIBPQ if db_kind == "postgresql" else SPARE),
           Op("GET list", "GET", path_with(T, limit=5, after_id=3)),
           Op("GET summary", "GET", T + "/summary"),
           Op("GET health", "GET", "/health")]
    if db_kind == "sqlite":  # the middleware does not depend on the database
        ops.append(Op("POST profiled", "POST", path_with(T, profile="true", profile_format="json"),
                      body, rows=ROWS, profiled=True))
    return ops


def check_error_body(resp):
    d = resp.json().get("detail")
    check(isinstance(d, list) and d and isinstance(d[0].get("loc"), list)
          and d[0].get("msg") and d[0].get("type"), "error not in FastAPI's shape: %r" % resp)


def check_success(op, resp, added):
    """A normal answer: right status and body, and for a POST every row saved."""
    want = 201 if op.method == "POST" else 200
    check(resp.status == want, "status %d, want %d: %r" % (resp.status, want, resp))
    body = resp.json()
    if op.rows:
        check(body.get("saved") == op.rows and added == op.rows,
              "answered saved=%r, table grew by %d" % (body.get("saved"), added))
    if op.want is not None:
        check(body == op.want, "answer differs from the one without a fault: %r" % resp)


def classify(op, resp, added, written):
    """How a request whose allocation failed ended: an error, or its normal answer with
    the fault absorbed; a profiled one may lose its profile (X-Profile-Error), or, when
    even a header could not be added, have it written but not named (profiling.c) or
    lost with only a line in the log."""
    if resp.status in (500, 503):
        check_error_body(resp)
        check(added == 0, "a failed POST left %d rows" % added)
        return "%d error" % resp.status
    check_success(op, resp, added)
    if not op.profiled or "x-profile-file" in resp.headers:
        check(written == op.profiled, "%d profiles written" % written)
        return "absorbed"
    if "x-profile-error" in resp.headers:
        return "profile lost, said so"
    return "profile not named" if written else "profile lost, logged"


def check_profiles(profiles):
    """No temporary file left; every profile written is whole."""
    for name in os.listdir(profiles):
        check(not name.startswith(".") and not name.endswith(".tmp"), "left behind: " + name)
        with open(os.path.join(profiles, name)) as f:
            check(json.load(f).get("samples") is not None, "incomplete profile " + name)


def profile_count(profiles):
    return sum(1 for name in os.listdir(profiles) if name.startswith("profile-"))


def once(server, db, op, n, profiles):
    """Sends op with allocation n failing. Returns (fired, outcome)."""
    before, files = db.count() if op.rows else 0, profile_count(profiles)
    resp = op.send(server, n)
    added = db.count() - before if op.rows else 0
    written = profile_count(profiles) - files
    fired = resp.headers.get("x-fault-fired")
    check(fired in ("0", "1"), "no X-Fault-Fired: is this the fault build? %r" % resp)
    if fired == "0":
        check_success(op, resp, added)
        check(not op.profiled or resp.headers.get("x-profile-file"), "no X-Profile-File")
        return False, int(resp.headers.get("x-fault-spared", 0))
    outcome = classify(op, resp, added, written)
    before = db.count() if op.rows else 0
    after = op.send(server)
    check_success(op, after, db.count() - before if op.rows else 0)
    return True, outcome


def fault_op(server, db, op, profiles):
    outcomes = {}
    deadline = time.monotonic() + OP_SECONDS
    for n in range(1, MAX_POINTS + 1):
        check(time.monotonic() < deadline, "still going at allocation %d after %d s" % (n, OP_SECONDS))
        try:
            fired, outcome = once(server, db, op, n, profiles)
        except TestFailure as e:
            raise TestFailure("allocation %d: %s" % (n, e))
        if not fired:
            if op.profiled:
                check_profiles(profiles)
            if outcome:
                outcomes["more inside spared libraries"] = outcome
            return n - 1, outcomes
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    raise TestFailure("more than %d allocations" % MAX_POINTS)


def fault_ops(server, db, ops, profiles):
    """Faults each op on one server; returns (passed, failed)."""
    passed = failed = 0
    for op in ops:
        op.send(server)  # warm: statements prepared, symbols loaded, rows to read
    for op in ops:
        t0 = time.monotonic()
        try:
            op.want = op.send(server).json() if op.method == "GET" else None
            points, outcomes = fault_op(server, db, op, profiles)
            print("ok    %s: %d allocation points; %s (%.0f s)" % (
                op.name, points, ", ".join("%d %s" % (k, o) for o, k in sorted(outcomes.items())),
                time.monotonic() - t0), flush=True)
            passed += 1
        except (TestFailure, OSError) as e:
            print("FAIL  %s: %s" % (op.name, e), flush=True)
            failed += 1
            if server.proc.poll() is not None:
                print("bolsa died:\n" + server.tail(40), flush=True)
                break
    return passed, failed


def run_server(args, db, workdir, name, spare, ops):
    """One fault server sparing the libraries in spare, for ops; then its clean stop."""
    profiles = os.path.join(workdir, "profiles")
    shutil.rmtree(profiles, ignore_errors=True)
    os.mkdir(profiles)
    # One worker and one connection: every request runs on the same warm thread and
    # connection, so the Nth allocation is the same one from one request to the next.
    # No profile is removed while the profiles written are counted (two per allocation).
    env = {"BOLSA_PROFILE": "1", "BOLSA_PROFILE_DIR": profiles, "FAULT_SPARE": spare,
           "BOLSA_PROFILE_KEEP": "100000"}
    server = Bolsa(args.bolsa, db.url, workdir, name, ["--threads", "1"], env=env)
    try:
        server.start(60)
        passed, failed = fault_ops(server, db, ops, profiles)
    finally:
        code = server.stop()
    log = server.log_text()
    m = SANITIZER_REPORT.search(log)
    if code != 0 or m:
        print("FAIL  bolsa stopped with %r%s" % (code, (":\n" + log[m.start() - 200:][:4000]) if m else ""))
        return passed, failed + 1
    print("ok    bolsa stopped cleanly, no sanitizer report (spared: %s)" % spare)
    return passed + 1, failed


def run(args, workdir):
    db = PgCluster(workdir) if args.db == "postgresql" else SqliteDb(workdir)
    groups = {}
    for op in operations(args.db):
        groups.setdefault(op.spare, []).append(op)
    passed = failed = 0
    try:
        for i, (spare, ops) in enumerate(groups.items()):
            p, f = run_server(args, db, workdir, "bolsa-fault%d" % i, spare, ops)
            passed, failed = passed + p, failed + f
    finally:
        db.cleanup()
    return passed, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bolsa", required=True, help="the fault build of bolsa")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs) at the end")
    args = ap.parse_args()
    workdir = make_workdir()
    try:
        passed, failed = run(args, workdir)
    except Exception:  # noqa: BLE001 - set-up failed
        traceback.print_exc()
        passed, failed = 0, 1
    finally:
        if args.keep:
            print("kept " + workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("fault-%s: %d passed, %d failed" % (args.db, passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

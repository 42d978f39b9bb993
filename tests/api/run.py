#!/usr/bin/env python3
"""run.py: black-box tests of the bolsa HTTP API, against the real binary and a real
database: a fresh SQLite file, or a fresh PostgreSQL cluster from tests/lib/pgcluster.sh.

    python3 tests/api/run.py --bolsa build/bolsa --db sqlite|postgresql [--quick] [-k REGEX]

--quick skips the slow tests (a million rows, timing runs) for the sanitizer builds.
The declarative cases live in tests/api/cases/ (format in cases.py), raw-socket requests
in wire.py, the others in checks.py. Ends with one line, "api-sqlite: N passed, M failed", and exits 1 on any
failure. Every process it starts is stopped and every temp file removed, even on a
timeout or SIGTERM."""

import argparse
import os
import re
import shutil
import signal
import sys
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cases  # noqa: E402
import checks  # noqa: E402
import wire  # noqa: E402
from harness import Bolsa, PgCluster, SqliteDb, TestFailure, make_workdir  # noqa: E402


class Timeout(Exception):
    pass


class Context:
    """What the tests share: the options, the database, the main server (started once,
    --threads 8) and any other server a test starts, all stopped by close()."""

    def __init__(self, args):
        self.args = args
        self.workdir = make_workdir()
        self.db = None
        self.server = None
        self.small = None
        self.tracked = []
        self.all_servers = []
        self.notes = []

    def open(self):
        self.db = PgCluster(self.workdir) if self.args.db == "postgresql" else SqliteDb(self.workdir)
        self.server = self.start_server("bolsa", ["--threads", "8"])

    def start_server(self, name, extra):
        srv = Bolsa(self.args.bolsa, self.db.url, self.workdir, name, extra)
        self.all_servers.append(srv)
        return srv.start()

    def small_server(self):
        """A second server on the same database with --max-rows 1000, started on demand."""
        if not self.small:
            self.small = self.start_server("bolsa-small", ["--max-rows", "1000", "--threads", "2"])
        return self.small

    def track(self, srv):
        self.tracked.append(srv)
        self.all_servers.append(srv)
        return srv

    def stop_tracked(self):
        while self.tracked:
            self.tracked.pop().stop()

    def note(self, text):
        self.notes.append(text)
        print("      " + text, flush=True)

    def close(self):
        for srv in self.all_servers:
            try:
                srv.stop()
            except Exception:  # noqa: BLE001 - keep cleaning up
                traceback.print_exc()
        if self.db:
            self.db.cleanup()
        if self.args.keep:
            print("kept " + self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def on_alarm(signum, frame):
    raise Timeout("timed out")


def on_term(signum, frame):
    raise SystemExit("stopped by signal %d" % signum)


def all_tests():
    """(name, fn, slow, timeout_s, db): the cases first, on an almost empty table, then the
    raw-socket requests, then the checks in their file's order (faults and the clean stop
    last)."""
    reg = []
    cases.register(reg)
    return [(n, fn, slow, limit, None) for n, fn, slow, limit in reg] + wire.TESTS + checks.TESTS


def run_one(ctx, name, fn, limit):
    t0 = time.monotonic()
    signal.alarm(limit)
    try:
        fn(ctx)
        ok, why = True, ""
    except (TestFailure, Timeout) as e:
        ok, why = False, str(e)
    except Exception:  # noqa: BLE001 - a crash in a test is that test's failure
        ok, why = False, traceback.format_exc()
    finally:
        signal.alarm(0)
    took = time.monotonic() - t0
    print("%s %s (%.1f s)%s" % ("ok  " if ok else "FAIL", name, took,
                                "" if ok else "\n      " + why.replace("\n", "\n      ")),
          flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bolsa", required=True, help="the bolsa binary to test")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    ap.add_argument("--quick", action="store_true", help="skip the slow tests")
    ap.add_argument("-k", metavar="REGEX", help="run only the tests whose name matches")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs) at the end")
    args = ap.parse_args()
    label = "api-" + args.db
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    passed = failed = 0
    ctx = Context(args)
    try:
        signal.alarm(180)
        try:
            ctx.open()
        finally:
            signal.alarm(0)
        for name, fn, slow, limit, db in all_tests():
            if (slow and args.quick) or (db and db != args.db):
                continue
            if args.k and not re.search(args.k, name) and name != "server_stops_cleanly":
                continue
            if run_one(ctx, name, fn, limit):
                passed += 1
            else:
                failed += 1
                if ctx.server.proc and ctx.server.proc.poll() is not None:
                    print("bolsa died; its log ends with:\n" + ctx.server.tail(), flush=True)
                    break
    except (Exception, SystemExit, Timeout) as e:  # set-up failed or we were stopped
        failed += 1
        print("FAIL set-up or run: %s" % (e if isinstance(e, (TestFailure, SystemExit, Timeout))
                                          else traceback.format_exc()), flush=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finish cleaning up whatever happens
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        ctx.close()
    print("%s: %d passed, %d failed" % (label, passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

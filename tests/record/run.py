#!/usr/bin/env python3
"""Black-box tests of `gargalo record`: programs run under it (build/progs/record_target,
a real bolsa under load) and what it leaves: per-thread shares within 5 points of what the
program measured of itself, in gargalo's text and in `go tool pprof -top`; stop signals
(sent to gargalo alone, and Ctrl-C typed at a terminal); --duration; the program's exit
status passed on; forks and execs as `gargalo record --help` says; and every wrong input
refused with one line on stderr, before the program runs.

    python3 tests/record/run.py --gargalo build/gargalo --progs build/progs --bolsa build/bolsa

The recorded programs are never sanitizer builds: scripts/test.sh's ASan pass runs this
suite with the ASan gargalo and the plain programs, since the preloaded library (always
built without a sanitizer) cannot go into an ASan program unless ASan's runtime comes
first in the program's libraries.
"""
import argparse
import gzip
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import SANITIZER_REPORT  # noqa: E402
from suite import run_cases  # noqa: E402

ARGS = None
WORK = None
TOLERANCE_POINTS = 5.0
UNITS = 400  # record_target threads: about 0.6 s of CPU in all, 600 samples at 1 ms
SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES"]
TREE_LINE = re.compile(r"^[ │├└─]*([\d.]+) ms\s+([\d.]+)%\s+(\S+)")
TOP_ROW = re.compile(r"^\s*(\S+)\s+([\d.]+)%\s+([\d.]+)%\s+(\S+)\s+([\d.]+)%\s+(.+?)\s*$")
BUSY = {"busy-50": "busy_50", "busy-30": "busy_30", "busy-20": "busy_20"}
EVERY_THREAD = dict(BUSY, blocked="blocked_wait", main="run_threads")


def path(name):
    return os.path.join(WORK, name)


def target(*args):
    return [os.path.join(ARGS.progs, "record_target"), *map(str, args)]


def record(*args, timeout=120, env=None):
    """gargalo record ARGS in the work directory: (status, stdout text, stderr text),
    checked for sanitizer reports whatever the outcome."""
    p = subprocess.run([ARGS.gargalo, "record", *args], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout, cwd=WORK, env=env)
    err = p.stderr.decode("utf-8", "replace")
    assert not SANITIZER_REPORT.search(err), err
    return p.returncode, p.stdout.decode("utf-8", "replace"), err


def wrote(err, out):
    """stderr names the written profile."""
    assert re.search(rf"^gargalo record: wrote {re.escape(out)}: \d+ threads?, \d+ samples?",
                     err, re.M), err


def with_preload(lib):
    """The environment with LD_PRELOAD=lib, for gargalo to pass on to the program. An ASan
    gargalo would refuse to start with a library loaded before ASan's runtime: it is told
    not to check (the programs are not ASan builds and ignore the setting)."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return dict(os.environ, LD_PRELOAD=lib,
                ASAN_OPTIONS=(asan + ":" if asan else "") + "verify_asan_link_order=0")


def load(name):
    with open(path(name), encoding="utf-8") as f:
        return json.load(f)


def functions_of(session):
    """Every function name in the session's sampled stacks."""
    frames, stacks = session["frames"], session["stacks"]
    return {frames[i]["function"] for s in session["samples"] for i in stacks[s[2]]}


# ---- manual ----------------------------------------------------------------------------


def test_manual():
    code, out, err = subprocess_ok([ARGS.gargalo, "record", "--help"])
    positions = [out.find(s + "\n") if not i else out.find("\n" + s + "\n")
                 for i, s in enumerate(SECTIONS)]
    assert positions[0] == 0 and all(p > 0 for p in positions[1:]), positions
    assert positions == sorted(positions), "sections out of order"
    options = out[positions[3]:positions[4]]
    for option in ("--output", "--format", "--clock", "--interval", "--duration", "--help"):
        assert option in options, f"{option} not described"
    for word in ("gargalo.html", "fork", "exec", "SIGINT", "128+N", "127", "perf_event_paranoid"):
        assert word in out, f"the manual does not say {word}"
    main = subprocess_ok([ARGS.gargalo, "--help"])[1]
    assert re.search(r"^    record +\S", main, re.M), "record is not listed"
    assert subprocess_ok([ARGS.gargalo, "help", "record"])[1] == out


def subprocess_ok(cmd):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert p.returncode == 0 and not p.stderr, (cmd, p.returncode, p.stderr)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


# ---- per-thread shares -------------------------------------------------------------------


def truth(stdout, clock):
    """Each thread's share in percent, as the program measured it: its CPU time or its
    lifetime, over all of its threads'."""
    line = [x for x in stdout.splitlines() if x.startswith('{"threads"')]
    assert len(line) == 1, stdout
    threads = json.loads(line[0])["threads"]
    key = "cpu_ns" if clock == "cpu" else "wall_ns"
    whole = sum(t[key] for t in threads)
    return {t["name"]: 100.0 * t[key] / whole for t in threads}


def text_shares(text):
    """Each function's share in the text call tree (added up where it shows twice)."""
    shares = {}
    for line in text.split("\n\n", 1)[1].splitlines():
        m = TREE_LINE.match(line)
        if m:
            shares[m.group(3)] = shares.get(m.group(3), 0.0) + float(m.group(2))
    return shares


def go_env():
    """go tool pprof, kept off the network and out of the real home directory."""
    return harness.go_env(path("gohome"))


def pprof_shares(pb, index):
    """Each function's cumulative share in `go tool pprof -top`."""
    go = shutil.which("go")
    assert go, "go is not installed (scripts/deps.sh test installs golang-go)"
    p = subprocess.run([go, "tool", "pprof", "-symbolize=none", "-top", "-sample_index=" + index,
                        "-nodecount=100000", "-nodefraction=0", "-edgefraction=0", pb],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120, env=go_env())
    out = p.stdout.decode()
    assert p.returncode == 0, p.stderr.decode()
    shares = {}
    for line in out.split("flat%", 1)[1].splitlines()[1:]:
        m = TOP_ROW.match(line)
        if m:
            name = re.sub(r" \((partial-)?inline\)$", "", m.group(6))
            shares[name] = shares.get(name, 0.0) + float(m.group(5))
    return shares


def compare(what, want, got, threads):
    """Per thread: gargalo's share (of the function only that thread runs) against the
    truth, within TOLERANCE_POINTS; returns a summary for the report."""
    rows = []
    for thread in threads:
        g = got.get(EVERY_THREAD[thread], 0.0)
        assert abs(g - want[thread]) <= TOLERANCE_POINTS, \
            f"{what}: {thread} has {g:.1f}% in gargalo's profile, {want[thread]:.1f}% in truth"
        rows.append(f"{thread} {g:.1f}/{want[thread]:.1f}")
    return f"{what}: " + ", ".join(rows)


def record_threads(clock, output, attempts=3):
    """record_target's threads recorded: (the program's stdout, how many attempts it took).
    A recording that lost samples (gargalo's collector thread did not get a CPU before a
    perf buffer filled: a heavily loaded machine) says so on stderr and is done again."""
    for attempt in range(1, attempts + 1):
        code, out, err = record("--clock", clock, "-o", output, "--", *target("threads", UNITS))
        assert code == 0, err
        wrote(err, output)
        if " lost)" not in err:
            return out, attempt
    raise AssertionError(f"every recording lost samples: {err}")


def render(session, *options):
    """gargalo render SESSION [OPTIONS] in the work directory: the text tree."""
    p = subprocess.run([ARGS.gargalo, "render", session, *options], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60, cwd=WORK)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0 and not SANITIZER_REPORT.search(err), err
    return p.stdout.decode("utf-8")


def shares_case(clock):
    """record_target's threads under both outputs: text, and pprof read by go tool pprof.
    CPU clock: the three busy threads (50/30/20 of the work); wall clock: every thread,
    the blocked one and main included."""
    threads = list(BUSY) if clock == "cpu" else list(EVERY_THREAD)
    out, tries = record_threads(clock, f"{clock}.json")
    # The text tree folds a thread parked in a wait call all along (the blocked one) into
    # an "idle" line; --show-all shows its tree, whose share is compared.
    text = render(f"{clock}.json")
    assert clock == "cpu" or "1 idle thread: parked in read (blocked)" in text, text
    report = [compare("text", truth(out, clock), text_shares(render(f"{clock}.json", "--show-all")),
                      threads)]
    out, more = record_threads(clock, f"{clock}.pb.gz")
    report.append(compare("pprof", truth(out, clock), pprof_shares(path(f"{clock}.pb.gz"), clock),
                          threads))
    retried = tries + more - 2
    return "; ".join(report) + (f" ({retried} recordings done again: samples lost)" if retried else "")


def test_thread_shares_cpu_clock():
    return shares_case("cpu")


def test_thread_shares_wall_clock():
    return shares_case("wall")


# ---- bolsa ---------------------------------------------------------------------------------

TICKERS = ["PETR4", "VALE3", "ITAU4"]
# What a worker's POST goes through (the route table's dispatch is a tail call: not a frame).
WORKER_FUNCTIONS = {"bolsa_http_finish", "bolsa_post_transaction", "bolsa_store_save"}


def bolsa_command(db):
    return [os.path.abspath(ARGS.bolsa), "--host", "127.0.0.1", "--port", "0",
            "--database-url", "sqlite:" + path(db)]


def wait_port(read_log, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(r"listening on http://[^ ]*:(\d+)", read_log())
        if m:
            return int(m.group(1))
        assert proc_alive(proc), f"bolsa ended at start: {read_log()}"
        time.sleep(0.05)
    raise AssertionError(f"bolsa did not listen within {timeout} s: {read_log()}")


def proc_alive(proc):
    if isinstance(proc, int):
        return os.waitpid(proc, os.WNOHANG) == (0, 0)
    return proc.poll() is None


def load_bolsa(port, seconds, clients=3):
    """A bounded load: each client alternates a 2,000-row POST and GET /health for
    `seconds`; returns the number of answers, all of which must be 201 or 200."""
    done, errors = [0], []

    def client(seed):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                r = harness.request(port, "POST", "/api/v1/transaction",
                                    {"ativos": TICKERS, "quantidadeAtivos": 2000, "seed": seed},
                                    timeout=30)
                h = harness.request(port, "GET", "/health", timeout=30)
                if r.status != 201 or h.status != 200:
                    errors.append((r.status, h.status))
                done[0] += 2
            except OSError as e:
                errors.append(e)
                return
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and done[0] > 0, errors[:3]
    return done[0]


def check_bolsa_profile(name):
    """The HTTP workers' samples are in bolsa's handlers."""
    session = load(name)
    workers = {i for i, t in enumerate(session["threads"]) if t[1] == "MHD-worker"}
    assert workers, f"no MHD-worker thread in {[t[1] for t in session['threads']]}"
    frames, stacks = session["frames"], session["stacks"]
    seen = {frames[i]["function"] for s in session["samples"] if s[3] in workers
            for i in stacks[s[2]]}
    missing = WORKER_FUNCTIONS - seen
    assert not missing, f"the workers' samples never show {missing}"
    return len(workers), len(session["samples"])


def test_bolsa_sigint_to_gargalo():
    """bolsa recorded under load, then SIGINT to gargalo alone: the profile is written,
    then bolsa gets the signal and stops cleanly; gargalo's status is bolsa's, 0."""
    log_path = path("bolsa-sigint.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([ARGS.gargalo, "record", "-o", "bolsa.json", "--",
                                 *bolsa_command("sigint.db")], cwd=WORK,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
    try:
        read_log = lambda: open(log_path, encoding="utf-8", errors="replace").read()  # noqa: E731
        port = wait_port(read_log, proc)
        answers = load_bolsa(port, 2.0)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = read_log()
    assert code == 0, f"gargalo exited {code}: {text[-2000:]}"
    wrote(text, "bolsa.json")
    assert text.index("gargalo record: wrote") < text.index("bolsa: stopping (SIGINT)"), \
        "bolsa stopped before its profile was written"
    assert not SANITIZER_REPORT.search(text), text
    workers, samples = check_bolsa_profile("bolsa.json")
    return f"{answers} answers, {workers} workers in handlers, {samples} samples"


# ---- Ctrl-C at a terminal ----------------------------------------------------------------


def at_terminal(argv, ready, timeout=120):
    """Runs argv as the foreground job of a new terminal, types Ctrl-C once ready(output so
    far) is true, and returns (exit status, everything written to the terminal)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(WORK)
        os.execv(argv[0], argv)
    out, typed, deadline = b"", False, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not typed and ready(out.decode(errors="replace")):
                os.write(fd, b"\x03")
                typed = True
            r, _, _ = select.select([fd], [], [], 0.05)
            try:
                data = os.read(fd, 65536) if r else b""
            except OSError:  # the terminal's other side is closed: everything is read
                break
            if r and not data:
                break
            out += data
    finally:
        os.close(fd)
        if not typed:
            os.kill(pid, signal.SIGKILL)
        status = os.waitpid(pid, 0)[1]
    assert typed, f"never ready to type Ctrl-C: {out[-2000:]!r}"
    text = out.decode(errors="replace").replace("\r\n", "\n").replace("^C", "")  # the echo
    return os.waitstatus_to_exitcode(status), text


def test_ctrl_c_at_terminal():
    """Ctrl-C reaches gargalo and the program at once. A program that leaves SIGINT to its
    default still sends its profile, then ends by the signal (130, as shells say); bolsa,
    which waits for SIGINT itself, stops cleanly and sends it at exit (0)."""
    start = time.monotonic()
    code, out = at_terminal([ARGS.gargalo, "record", "-o", "sleep.json", "--",
                             *target("sleep", 20000)], lambda _: time.monotonic() > start + 1)
    assert code == 130, (code, out)
    wrote(out, "sleep.json")
    assert "sleep_wait" in functions_of(load("sleep.json"))
    loader, failures = [], []  # the load runs beside the reading, which bolsa's log needs

    def run_load(port):
        try:
            load_bolsa(port, 1.0, clients=2)
        except Exception as e:  # reported below, by the test's own thread
            failures.append(e)

    def bolsa_ready(text):
        m = re.search(r"listening on http://[^ ]*:(\d+)", text)
        if m and not loader:
            loader.append(threading.Thread(target=run_load, args=(int(m.group(1)),)))
            loader[0].start()
        return bool(loader) and not loader[0].is_alive()
    code, out = at_terminal([ARGS.gargalo, "record", "-o", "bolsa-tty.json", "--",
                             *bolsa_command("tty.db")], bolsa_ready)
    assert not failures, failures
    assert code == 0 and "bolsa: stopping (SIGINT)" in out, (code, out[-2000:])
    wrote(out, "bolsa-tty.json")
    check_bolsa_profile("bolsa-tty.json")


# ---- duration, exit status -----------------------------------------------------------------


def test_duration():
    """--duration 0.5 on a 4 s program: the profile, about half a second of it (the
    program times it from its start of sampling), is written while the program still runs;
    gargalo waits for the program and exits with its status."""
    out = path("duration.json")
    start = time.monotonic()
    proc = subprocess.Popen([ARGS.gargalo, "record", "--duration", "0.5", "-o", out, "--",
                             *target("spin", 4000)], cwd=WORK, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while not os.path.exists(out) and proc.poll() is None:
        time.sleep(0.02)
    written_after = time.monotonic() - start
    running = proc.poll() is None
    _, err = proc.communicate(timeout=60)
    took = time.monotonic() - start
    assert proc.returncode == 0, err
    assert running, f"the profile was not written before the program ended ({took:.2f} s)"
    assert took >= 4.0, f"gargalo ended after {took:.2f} s, before the program"
    recorded = load("duration.json")["duration_ns"] / 1e9
    assert 0.5 <= recorded <= 1.5, f"recorded {recorded:.2f} s"
    return f"profile of {recorded:.2f} s written at {written_after:.2f} s; gargalo ended at {took:.2f} s"


def signal_gargalo(sig, name):
    """A stop signal sent to gargalo alone while the program sleeps: the profile is
    written, the signal passed on, and the program's end by it is gargalo's status."""
    proc = subprocess.Popen([ARGS.gargalo, "record", "-o", name, "--", *target("sleep", 20000)],
                            cwd=WORK, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    wrote(err, name)
    assert "sleep_wait" in functions_of(load(name))


def test_exit_status():
    code, _, err = record("-o", "exit3.json", "--", *target("exit", 3))
    assert code == 3, (code, err)
    wrote(err, "exit3.json")
    code, _, err = record("-o", "term.json", "--", *target("raise", int(signal.SIGTERM)))
    assert code == 128 + signal.SIGTERM, (code, err)  # left to its default: still a profile
    wrote(err, "term.json")
    assert "spin_wall" in functions_of(load("term.json"))
    code, _, err = record("-o", "kill.json", "--", *target("raise", int(signal.SIGKILL)))
    assert code == 128 + signal.SIGKILL and not os.path.exists(path("kill.json")), (code, err)
    assert "killed by signal 9" in err and "no profile written" in err, err
    code, _, err = record("-o", "exit0.json", "--", *target("_exit", 0))
    assert code == 1 and "_exit" in err and "no profile written" in err, (code, err)
    code, _, err = record("-o", "exit4.json", "--", *target("_exit", 4))
    assert code == 4 and "no profile written" in err, (code, err)
    signal_gargalo(signal.SIGINT, "int.json")
    signal_gargalo(signal.SIGTERM, "term2.json")


# ---- wrong input ---------------------------------------------------------------------------


def fails(status, args, *words, env=None):
    """gargalo refuses: the status, one line on stderr holding every word, and nothing on
    stdout (the program, record_target env, would have printed a line)."""
    code, out, err = record(*args, env=env)
    assert code == status, (args, code, err)
    assert out == "", (args, out[:300])
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gargalo record: "), (args, err)
    for word in words:
        assert word in lines[0], (args, word, err)


def test_command_line_mistakes():
    prog = target("env")
    fails(2, [], "missing the PROGRAM")
    fails(2, ["-o", "x.json"], "missing the PROGRAM")
    fails(2, ["-f", "pdf", "--", *prog], "unknown format", "pdf")
    fails(2, ["-o", "x.unknown", "--", *prog], "x.unknown", "-f")
    fails(2, ["--clock", "gpu", "--", *prog], "unknown clock", "gpu")
    for bad in ("10", "2000000", "abc", "-5", "", "100us"):
        fails(2, ["--interval", bad, "--", *prog], "--interval", f"'{bad}'")
    for bad in ("0", "-1", "abc", "inf", "nan", "1e9"):
        fails(2, ["--duration", bad, "--", *prog], "--duration", f"'{bad}'")
    fails(2, ["--bogus", "--", *prog], "unknown option", "--bogus")
    fails(2, ["-z", "--", *prog], "unknown option", "-z")
    fails(2, ["--interval"], "'--interval' needs a value")
    fails(1, ["-o", path("no-such-dir/x.html"), "--", *prog], "no-such-dir/x.html",
          "No such file or directory")
    os.makedirs(path("a-directory.html"), exist_ok=True)
    fails(1, ["-o", path("a-directory.html"), "--", *prog], "a-directory.html", "Is a directory")
    assert not os.path.exists(path("gargalo.html")), "a refused command wrote a profile"


def test_missing_program():
    fails(127, ["--", "no-such-program-here"], "no-such-program-here", "command not found")
    fails(127, ["--", path("no-such-file")], "no-such-file", "No such file or directory")
    with open(path("not-executable"), "w") as f:
        f.write("#!/bin/sh\n")
    fails(126, ["--", path("not-executable")], "not-executable", "Permission denied")
    fails(126, ["--", WORK], "Is a directory")


def compile_c(name, source, *flags):
    """A small program or library made here, for what the build does not make."""
    src = path(name + ".c")
    with open(src, "w") as f:
        f.write(source)
    subprocess.run(["cc", "-O1", "-o", path(name), src, *flags], check=True, capture_output=True,
                   timeout=120)
    return path(name)


NO_PERF = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
/* syscall() as libc's, except that perf_event_open is refused as where it is forbidden */
long syscall(long nr, ...)
{
    va_list ap;
    long a[6];
    va_start(ap, nr);
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (nr == SYS_perf_event_open) {
        errno = EACCES;
        return -1;
    }
    register long r10 __asm__("r10") = a[3], r8 __asm__("r8") = a[4], r9 __asm__("r9") = a[5];
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10),
                     "r"(r8), "r"(r9) : "rcx", "r11", "memory");
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return -1;
    }
    return r;
}
"""


def test_cannot_record():
    """Perf events refused (simulated by a library preloaded before gargalo's that refuses
    perf_event_open), and a statically linked program: a clear message, status 1, and
    the program's main never runs."""
    shim = compile_c("libnoperf.so", NO_PERF, "-shared", "-fPIC")
    fails(1, ["-o", "np.json", "--", *target("env")], "perf events are refused",
          "perf_event_paranoid", env=with_preload(shim))
    static = compile_c("static", '#include <stdio.h>\nint main(void) { puts("ran"); return 0; }\n',
                       "-static")
    fails(1, ["--", static], "statically linked", "LD_PRELOAD")


# ---- forks and execs -----------------------------------------------------------------------


def test_fork_and_exec():
    """A forked child is not recorded while its parent is; a program a child runs does
    not load gargalo, and the user's own LD_PRELOAD reaches it untouched; the recorded
    process's exec (itself, or through env) is recorded from the new program's start."""
    code, _, err = record("-o", "fork.json", "--", *target("fork", 300))
    assert code == 0, err
    seen = functions_of(load("fork.json"))
    assert "parent_work" in seen and "child_work" not in seen, sorted(f for f in seen if f)
    code, out, err = record("-o", "fork-exec.json", "--", *target("fork-exec"))
    assert code == 0 and out.startswith("LD_PRELOAD=(unset) GARGALO_RECORD=(unset) "), (out, err)
    mine = "/lib/x86_64-linux-gnu/libm.so.6"
    code, out, err = record("-o", "fork-exec.json", "--", *target("fork-exec"),
                            env=with_preload(mine))
    assert code == 0 and out.startswith(f"LD_PRELOAD={mine} GARGALO_RECORD=(unset) "), (out, err)
    code, _, err = record("-o", "exec.json", "--", *target("exec-self", 200))
    assert code == 0, err
    seen = functions_of(load("exec.json"))
    assert "after_exec_work" in seen and "before_exec" not in seen, sorted(f for f in seen if f)
    code, _, err = record("-o", "env.json", "--", "env", "A=1", *target("spin", 200))
    assert code == 0 and "spin_wall" in functions_of(load("env.json")), err


# ---- outputs -------------------------------------------------------------------------------


def test_outputs():
    """Without -o: gargalo.html here, or gargalo.EXT for -f; -o picks the format by its
    extension; -o - writes to standard output."""
    code, _, err = record("--", *target("spin", 50))
    assert code == 0, err
    wrote(err, "gargalo.html")
    with open(path("gargalo.html"), "rb") as f:
        assert f.read(15).lower() == b"<!doctype html>"
    code, _, err = record("-f", "pprof", "--", *target("spin", 50))
    wrote(err, "gargalo.pb.gz")
    with open(path("gargalo.pb.gz"), "rb") as f:
        assert len(gzip.decompress(f.read())) > 0
    code, _, err = record("-o", "x.folded", "--", *target("spin", 100))
    with open(path("x.folded"), encoding="utf-8") as f:
        assert "spin_wall" in f.read()
    code, out, err = record("-o", "-", "--", *target("spin", 50))
    assert code == 0 and out.startswith(" ".join(target("spin", 50)) + "\nDuration "), out[:300]
    wrote(err, "standard output")


def test_installed_layout():
    """gargalo finds the preloaded library beside itself or in ../lib from itself (where
    make install puts them); alone, it says where it looked."""
    lib = os.path.join(os.path.dirname(ARGS.gargalo), "libgargalo-record.so")
    for sub in ("prefix/bin", "prefix/lib", "alone/bin"):
        os.makedirs(path(sub), exist_ok=True)
    shutil.copy(ARGS.gargalo, path("prefix/bin/gargalo"))
    shutil.copy(ARGS.gargalo, path("alone/bin/gargalo"))
    shutil.copy(lib, path("prefix/lib/libgargalo-record.so"))
    p = subprocess.run([path("prefix/bin/gargalo"), "record", "-o", "installed.json", "--",
                        *target("spin", 50)], cwd=WORK, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "spin_wall" in functions_of(load("installed.json"))
    p = subprocess.run([path("alone/bin/gargalo"), "record", "--", *target("env")], cwd=WORK,
                       capture_output=True, timeout=60)
    err = p.stderr.decode()
    assert p.returncode == 1 and p.stdout == b"", (p.returncode, p.stdout, err)
    assert "cannot find libgargalo-record.so" in err and "alone/bin/../lib" in err, err


TESTS = (test_manual, test_thread_shares_cpu_clock, test_thread_shares_wall_clock,
         test_bolsa_sigint_to_gargalo, test_ctrl_c_at_terminal, test_duration, test_exit_status,
         test_command_line_mistakes, test_missing_program, test_cannot_record, test_fork_and_exec,
         test_outputs, test_installed_layout)


def main():
    global ARGS, WORK
    parser = argparse.ArgumentParser()
    parser.add_argument("--gargalo", default="build/gargalo")
    parser.add_argument("--progs", default="build/progs")
    parser.add_argument("--bolsa", default="build/bolsa")
    ARGS = parser.parse_args()
    ARGS.gargalo = os.path.abspath(ARGS.gargalo)
    ARGS.progs = os.path.abspath(ARGS.progs)
    WORK = tempfile.mkdtemp(prefix="gargalo-record-")
    try:
        return run_cases("record", [(test.__name__, test) for test in TESTS])
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

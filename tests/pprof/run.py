#!/usr/bin/env python3
"""Checks gargalo's pprof output with pprof itself: sessions (the unit tests' synthetic
one, a big synthetic one, a real recording, and one written here with inlined frames,
an unnamed function and a CPU clock) are rendered with `gargalo render -f pprof`, then
read by `go tool pprof` (offline, -symbolize=none). Every function's flat and cumulative
share in `-top`, in time and in sample counts, must agree within one point with what this
suite computes from the session JSON itself; `-traces` must show each sampled stack's call
chain, leaf first, with its summed weight.

    python3 tests/pprof/run.py --gargalo build/gargalo --progs build/progs
"""
import collections
import gzip
import os
import re
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sessions  # noqa: E402
from suite import run_cases  # noqa: E402

ARGS = None
WORK = None
TOLERANCE_POINTS = 1.0
UNITS_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9, "mins": 60e9, "hrs": 3600e9}
TOP_ROW = re.compile(r"^\s*(\S+)\s+([\d.]+)%\s+([\d.]+)%\s+(\S+)\s+([\d.]+)%\s+(.+?)\s*$")


def go_env():
    """go tool pprof, kept off the network and out of the real home directory."""
    home = os.path.join(WORK, "gohome")
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ)
    env.update(HOME=home, GOCACHE=os.path.join(home, "cache"), GOPATH=os.path.join(home, "go"),
               GOFLAGS="-mod=mod", GOPROXY="off", GOSUMDB="off", GOTOOLCHAIN="local",
               PPROF_TMPDIR=home, PPROF_BINARY_PATH=home)
    return env


def pprof(*args):
    go = shutil.which("go")
    assert go, "go is not installed (scripts/deps.sh test installs golang-go)"
    code, out, err = sessions.run([go, "tool", "pprof", "-symbolize=none", *args], env=go_env())
    assert code == 0, f"go tool pprof {' '.join(args)}: {err}"
    return out.decode()


def to_pprof(session_path):
    out = session_path.replace(".json", ".pb.gz")
    code, _, err = sessions.run([ARGS.gargalo, "render", session_path, "-f", "pprof", "-o", out])
    assert code == 0, err
    with open(out, "rb") as f:
        gzip.decompress(f.read())  # a whole gzip stream
    return out


def name_of(shown):
    """The function's name without the marks pprof adds in -top: " (inline)" when it was
    always inlined into its caller, " (partial-inline)" when only sometimes."""
    return re.sub(r" \((partial-)?inline\)$", "", shown)


def top(pb, index):
    """pprof -top as {name: (flat%, cum%)}; a name shown twice (the same function in two
    files) is added up."""
    out = pprof("-top", "-sample_index=" + index, "-nodecount=1000000", "-nodefraction=0",
                "-edgefraction=0", pb)
    assert "Dropped" not in out, out
    rows, header = {}, False
    for line in out.splitlines():
        if line.split() == ["flat", "flat%", "sum%", "cum", "cum%"]:
            header = True
            continue
        m = TOP_ROW.match(line) if header else None
        if m:
            name = name_of(m.group(6))
            flat, cum = rows.get(name, (0.0, 0.0))
            rows[name] = (flat + float(m.group(2)), cum + float(m.group(5)))
    assert header, out
    return rows


def check_top(session, pb):
    """Each function's flat and cum share, in pprof and computed here, within a point."""
    problems = []
    for index, value in (("wall" if session["clock"] == "wall" else "cpu", 1), ("samples", 0)):
        shown = top(pb, index)
        flat, cum = sessions.flat_and_cum(session, value)
        whole = sum(v[value] for v in sessions.stack_weights(session).values())
        want = {n: (100.0 * flat.get(n, 0) / whole, 100.0 * c / whole) for n, c in cum.items()}
        for name in set(want) | set(shown):
            got, ref = shown.get(name), want.get(name)
            if got is None or ref is None:
                problems.append(f"{index}: {name} only in {'pprof' if ref is None else 'session'}")
            elif abs(got[0] - ref[0]) > TOLERANCE_POINTS or abs(got[1] - ref[1]) > TOLERANCE_POINTS:
                problems.append(f"{index}: {name} pprof {got} session {ref}")
    assert not problems, "; ".join(problems[:10])
    return len(want)


def parse_value(text):
    m = re.fullmatch(r"([\d.]+)([a-z]*)", text)
    assert m, text
    return float(m.group(1)) * UNITS_NS.get(m.group(2), 1)


def traces(pb):
    """pprof -traces as a list of (value in ns, (names leaf first)), a name followed by
    " (inline)" when pprof found it inlined into the next one."""
    out, result, current = pprof("-traces", pb), [], None
    for line in out.splitlines():
        if line.startswith("-----------+"):
            current = None
        elif current is None and re.match(r"^\s+\S+\s{3}\S", line):
            value, name = line.split(None, 1)
            current = [parse_value(value), [name.strip()]]
            result.append(current)
        elif current is not None and line.strip():
            current[1].append(line.strip())
    return [(v, tuple(names)) for v, names in result]


def expected_chain(session, stack):
    """A stack leaf first as pprof shows it: a frame gargalo marks inlined (into the frame
    nearer the root) is shown "(inline)", unless nothing is nearer the root."""
    frames, chain = session["frames"], []
    for k, i in enumerate(session["stacks"][stack]):
        inline = frames[i]["inlined"] and k > 0
        chain.append(sessions.frame_name(frames[i]) + (" (inline)" if inline else ""))
    return tuple(reversed(chain))


def check_traces(session, pb):
    """The multiset of call chains (leaf first, inlined calls marked) is the session's
    sampled stacks', and each chain carries the weight of its stack."""
    want = collections.Counter()
    weights = collections.defaultdict(list)
    for stack, (_, weight) in sessions.stack_weights(session).items():
        chain = expected_chain(session, stack)
        want[chain] += 1
        weights[chain].append(weight)
    got = traces(pb)
    shown = collections.Counter(chain for _, chain in got)
    assert shown == want, (f"only in pprof: {list(shown - want)[:2]}; "
                           f"only in the session: {list(want - shown)[:2]}")
    for value, chain in got:
        # pprof prints about three significant digits
        assert any(abs(value - w) <= max(0.006 * w, 10) for w in weights[chain]), (value, chain)
    return len(got)


def inlined_session():
    """Inlined frames (two levels), an unnamed function, a recursive one, a CPU clock."""
    frames = [{"function": "main", "file": "/src/main.c", "line": 5},
              {"function": "serve", "file": "/src/serve.c", "line": 30},
              {"function": "parse", "file": "/src/parse.c", "line": 12, "inlined": True},
              {"function": "skip_space", "file": "/src/parse.c", "line": 3, "inlined": True},
              {"function": None, "module": "libx.so.1", "library": True, "offset": 0x4a10},
              {"function": "walk", "file": "/src/walk.c", "line": 9},
              {"function": "walk", "file": "/src/walk.c", "line": 11}]
    stacks = [[0, 1, 2, 3], [0, 1, 2], [0, 1, 4], [0, 5, 6, 6], [0, 5], [0]]
    return sessions.make_session(frames, stacks, [40, 25, 15, 12, 6, 2], weight_ns=250_000,
                                 clock="cpu")


def check(make):
    """One case: a session made by make(), through gargalo and pprof."""
    path = make()
    session = sessions.load(path)
    pb = to_pprof(path)
    functions = check_top(session, pb)
    chains = check_traces(session, pb)
    return f"{functions} functions, {chains} call chains agree"


def main():
    global ARGS, WORK
    ARGS = sessions.paths_from_command_line()
    WORK = tempfile.mkdtemp(prefix="gargalo-pprof-")
    made = {kind: (lambda k=kind: sessions.record(ARGS.progs, WORK, k)) for kind in sessions.RECORDED}
    made["inlined"] = lambda: sessions.save(inlined_session(), os.path.join(WORK, "inlined.json"))
    try:
        return run_cases("pprof", [(f"{name} session", lambda m=m: check(m)) for name, m in made.items()])
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

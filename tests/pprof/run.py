#!/usr/bin/env python3
"""Checks gargalo's pprof output with pprof itself: sessions (the unit tests' synthetic
one, a big synthetic one, a real recording, the unit tests' process-wide one, and two
written here: one with inlined frames, an unnamed function and a CPU clock, and one of
three labelled threads with modules, build ids and nested markers) are rendered with
`gargalo render -f pprof`, then read by `go tool pprof` (offline, -symbolize=none). Every
function's flat and cumulative share in `-top`, in time and in sample counts, must agree
within one point with what this suite computes from the session JSON itself; `-traces`
must show each sampled stack's call chain, leaf first, with its labels (the session's, of
each category the innermost marker covering it, thread and tid) and summed weight; `-tags`
must list every label with its total; `-tagfocus=KEY=VALUE` must keep exactly the samples
carrying that label (and `-tagfocus=sql=INSERT` those taken while an INSERT ran); `-raw`
must list one mapping per module with the session's load range, path and build id.

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
import harness  # noqa: E402
import sessions  # noqa: E402
from suite import run_cases  # noqa: E402

ARGS = None
WORK = None
TOLERANCE_POINTS = 1.0
UNITS_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9, "mins": 60e9, "hrs": 3600e9}
TOP_ROW = re.compile(r"^\s*(\S+)\s+([\d.]+)%\s+([\d.]+)%\s+(\S+)\s+([\d.]+)%\s+(.+?)\s*$")


def go_env():
    """go tool pprof, kept off the network and out of the real home directory."""
    return harness.go_env(os.path.join(WORK, "gohome"))


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


LABEL_LINE = re.compile(r"^\s*([^\s:]+):  (\S.*)$")


def traces(pb, *options):
    """pprof -traces as a list of (value in ns, (names leaf first), labels), a name
    followed by " (inline)" when pprof found it inlined into the next one, labels a
    frozenset of (key, value)."""
    out, result, current, labels = pprof("-traces", *options, pb), [], None, {}
    for line in out.splitlines():
        if line.startswith("-----------+"):
            current, labels = None, {}
        elif current is None and LABEL_LINE.match(line):
            key, value = LABEL_LINE.match(line).groups()
            labels[key] = value
        elif current is None and re.match(r"^\s+\S+\s{3}\S", line):
            value, name = line.split(None, 1)
            current = [parse_value(value), [name.strip()], frozenset(labels.items())]
            result.append(current)
        elif current is not None and line.strip():
            current[1].append(line.strip())
    return [(v, tuple(names), labels) for v, names, labels in result]


def expected_chain(session, stack):
    """A stack leaf first as pprof shows it: a frame gargalo marks inlined (into the frame
    nearer the root) is shown "(inline)", unless nothing is nearer the root."""
    frames, chain = session["frames"], []
    for k, i in enumerate(session["stacks"][stack]):
        inline = frames[i]["inlined"] and k > 0
        chain.append(sessions.frame_name(frames[i]) + (" (inline)" if inline else ""))
    return tuple(reversed(chain))


def expected_traces(session, keep=lambda labels: True):
    """{(stack, thread, label set, markers): (chain, labels, summed weight)} over the
    session's samples whose labels keep() accepts: one pprof sample per distinct stack,
    thread, label set and markers covering it (two stacks may spell the same chain: lines
    do not show)."""
    out = {}
    for sample in session["samples"]:
        labels = sessions.sample_labels(session, sample)
        if keep(labels):
            _, weight, stack, thread, labelset = sessions.sample_fields(sample)
            marks = frozenset(sessions.sample_markers(session, sample).items())
            key = (stack, thread, labelset, marks)
            chain, _, w = out.get(key, (expected_chain(session, stack), None, 0))
            out[key] = (chain, frozenset(labels.items()), w + weight)
    return out


def check_traces(session, pb, *options, keep=lambda labels: True):
    """The multiset of call chains (leaf first, inlined calls marked) with their labels is
    the session's sampled stacks' (of the samples keep() accepts), and each carries the
    summed weight of its samples."""
    want = collections.Counter()
    weights = collections.defaultdict(list)
    for chain, labels, weight in expected_traces(session, keep).values():
        want[(chain, labels)] += 1
        weights[(chain, labels)].append(weight)
    got = traces(pb, *options)
    shown = collections.Counter((chain, labels) for _, chain, labels in got)
    assert shown == want, (f"only in pprof: {list(shown - want)[:2]}; "
                           f"only in the session: {list(want - shown)[:2]}")
    for value, chain, labels in got:
        # pprof prints about three significant digits
        assert any(abs(value - w) <= max(0.006 * w, 10) for w in weights[(chain, labels)]), (
            value, chain)
    return len(got)


def check_tags(session, pb):
    """-tags: every label key, and under it every value with its total weight."""
    want = collections.defaultdict(collections.Counter)
    for sample in session["samples"]:
        for key, value in sessions.sample_labels(session, sample).items():
            want[key][value] += sessions.sample_fields(sample)[1]
    got, key = collections.defaultdict(dict), None
    for line in pprof("-tags", pb).splitlines():
        head = re.match(r"^\s*(\S+): Total (\S+)$", line)
        row = re.match(r"^\s*(\S+) \(\s*[\d.]+%\): (.*)$", line)
        if head:
            key = head.group(1)
        elif row and key:
            got[key][row.group(2)] = parse_value(row.group(1))
    assert set(got) == set(want), (sorted(got), sorted(want))
    for key, values in want.items():
        assert set(got[key]) == set(values), (key, got[key], values)
        for value, w in values.items():
            assert abs(got[key][value] - w) <= max(0.006 * w, 10), (key, value, got[key][value], w)
    return sum(len(v) for v in want.values())


def check_tagfocus(session, pb):
    """-tagfocus=KEY=VALUE, for every label of the session (a number, tid, as a range;
    the others as an anchored regular expression), keeps exactly the samples carrying
    it."""
    pairs = {(k, v) for s in session["samples"] for k, v in sessions.sample_labels(session, s).items()}
    for key, value in sorted(pairs):
        focus = value if key == "tid" else "^" + re.escape(value) + "$"
        check_traces(session, pb, f"-tagfocus={key}={focus}",
                     keep=lambda labels, k=key, v=value: labels.get(k) == v)
    if ("route", "/b") in pairs:  # as one would type it
        check_traces(session, pb, "-tagfocus=route=/b", keep=lambda labels: labels.get("route") == "/b")
    if any(k == "sql" for k, _ in pairs):  # the statements of one kind, by a fragment
        check_traces(session, pb, "-tagfocus=sql=INSERT",
                     keep=lambda labels: "INSERT" in labels.get("sql", ""))
    return len(pairs)


MAPPING_LINE = re.compile(r"^\s*(\d+): 0x([0-9a-f]+)/0x([0-9a-f]+)/0x[0-9a-f]+ (\S+) ?(\S*)")


def check_mappings(session, pb):
    """-raw: one mapping per module the frames name, with the session's load range, path
    and build id (the module's name alone when the session does not describe it)."""
    out = pprof("-raw", pb)
    lines = out[out.index("\nMappings\n") + 10:].splitlines()
    got = {}
    for line in lines:
        m = MAPPING_LINE.match(line)
        if m:
            got[m.group(4)] = (int(m.group(2), 16), int(m.group(3), 16), m.group(5))
    described = {m[0]: m for m in session.get("modules", [])}
    want = {}
    for name in {f["module"] for f in session["frames"] if f["module"]}:
        m = described.get(name)
        want[(m[1] or name) if m else name] = (
            (int(m[3], 16), int(m[4], 16), m[2] or "") if m else (0, 0, ""))
    assert got == want, (got, want)
    return len(want)


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


def labelled_session():
    """Three threads of one process: two serving requests labelled by route (one of them
    also by user), one parked in epoll_wait; modules with paths and build ids, but for
    libc, which the session does not describe; markers on both servers, statements
    nested in a request and in each other, and one without a category."""
    frames = [{"function": "main", "file": "/src/main.c", "line": 3, "module": "server"},
              {"function": "serve", "file": "/src/serve.c", "line": 20, "module": "server"},
              {"function": "PQexec", "module": "libpq.so.5", "library": True, "offset": 0x8000},
              {"function": "render", "file": "/src/page.c", "line": 7, "module": "server"},
              {"function": "epoll_wait", "module": "libc.so.6", "library": True, "offset": 0x9000}]
    stacks = [[0, 1, 2], [0, 1, 3], [0, 4]]
    session = sessions.make_session(frames, stacks, [30, 20, 25])
    session.update(scope="process", threads=[[101, "web-1", 40_000_000], [102, "web-2", 9_000_000],
                                             [103, "poller", 0]],
                   labelsets=[[["route", "/orders"]], [["route", "/users"], ["user", "ana"]]],
                   modules=[["server", "/opt/server/bin/server", "5e1f00d5", "0x5600000000",
                             "0x5600100000"],
                            ["libpq.so.5", "/usr/lib/x86_64-linux-gnu/libpq.so.5.15",
                             "a1b2c3d4e5f6", "0x7f0000000000", "0x7f0000040000"]],
                   markers=[[0, 40_000_000, 0, "request", "GET /orders"],
                            [5_000_000, 30_000_000, 0, "sql", "SELECT * FROM orders WHERE id = ?"],
                            [8_000_000, 12_000_000, 0, "sql", "INSERT INTO log VALUES (?)"],
                            [10_000_000, 50_000_000, 1, "sql", "UPDATE users SET seen = ?"],
                            [60_000_000, 70_000_000, 1, "", "housekeeping"]])
    for i, sample in enumerate(session["samples"]):
        stack = sample[2]
        thread = 2 if stack == 2 else i % 2
        sample += [thread, -1 if stack == 2 else (0 if i % 3 else 1)]
    return session


def check(make):
    """One case: a session made by make(), through gargalo and pprof."""
    path = make()
    session = sessions.load(path)
    pb = to_pprof(path)
    functions = check_top(session, pb)
    chains = check_traces(session, pb)
    tags = check_tags(session, pb)
    focused = check_tagfocus(session, pb)
    mappings = check_mappings(session, pb)
    return (f"{functions} functions, {chains} call chains, {tags} labels, "
            f"{focused} -tagfocus filters, {mappings} mappings agree")


def main():
    global ARGS, WORK
    ARGS = sessions.paths_from_command_line()
    WORK = tempfile.mkdtemp(prefix="gargalo-pprof-")
    made = {kind: (lambda k=kind: sessions.record(ARGS.progs, WORK, k)) for kind in sessions.RECORDED}
    made["inlined"] = lambda: sessions.save(inlined_session(), os.path.join(WORK, "inlined.json"))
    made["labelled"] = lambda: sessions.save(labelled_session(), os.path.join(WORK, "labelled.json"))
    try:
        return run_cases("pprof", [(f"{name} session", lambda m=m: check(m)) for name, m in made.items()])
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Black-box tests of the gargalo command (build/gargalo): its manuals, `render` in every
format checked against the session file itself, a process-wide session's threads and the
--tag and --thread filters checked against the samples the session file holds, `diff`
checked against per-path weights computed here from two sessions, and every wrong input: each must end with exit status 2
(command line) or 1 (files), one line on stderr naming the problem, nothing on stdout,
and no sanitizer report.

    python3 tests/cli/run.py --gargalo build/gargalo --progs build/progs
"""
import gzip
import json
import os
import re
import shutil
import stat
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sessions  # noqa: E402
from harness import SANITIZER_REPORT  # noqa: E402
from suite import run_cases  # noqa: E402

ARGS = None
WORK = None
SESSIONS = {}  # kind -> session JSON path, made once
SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES"]
TREE_LINE = re.compile(r"^([ │├└─]*)([\d.]+)(?: ms|%) → ([\d.]+)(?: ms|%) "
                       r"\(([+-][\d.]+) (?:ms|pts)\)  (.*)$")


def gargalo(*args):
    """Runs the command; returns (status, stdout bytes, stderr text), checking that no
    sanitizer complained whatever the outcome."""
    code, out, err = sessions.run([ARGS.gargalo, *args])
    assert not SANITIZER_REPORT.search(err), err
    return code, out, err


def ok(*args):
    code, out, err = gargalo(*args)
    assert code == 0 and err == "", (args, code, err)
    return out


def session(kind):
    if kind not in SESSIONS:
        SESSIONS[kind] = sessions.record(ARGS.progs, WORK, kind)
    return SESSIONS[kind]


def path(name):
    return os.path.join(WORK, name)


# ---- manuals ----------------------------------------------------------------------------


def check_manual(text, options):
    positions = [text.find("\n" + s + "\n") if i else text.find(s + "\n") for i, s in enumerate(SECTIONS)]
    assert positions[0] == 0 and all(p > 0 for p in positions[1:]), positions
    assert positions == sorted(positions), "sections out of order"
    described = text[positions[3]:positions[4]]
    for option in options:
        assert option in described, f"{option} not described"


def test_manuals():
    main = ok("--help").decode()
    check_manual(main.replace("\nCOMMANDS\n", "\n"), ["--help"])
    assert ok("help") == ok("-h") == main.encode()
    for command in ("render", "diff"):
        assert re.search(rf"^    {command} +\S", main, re.M), f"{command} not listed"
    render = ok("render", "--help").decode()
    check_manual(render, ["--format", "--output", "--show-all", "--tag", "--thread", "--help"])
    diff = ok("diff", "-h").decode()
    check_manual(diff, ["--format", "--output", "--normalize", "--show-all", "--tag", "--thread",
                        "--help"])
    assert ok("help", "diff").decode() == diff


# ---- render -----------------------------------------------------------------------------


def test_render_text_is_the_recorded_tree():
    """The loaded session renders exactly as it did when it was recorded (render_profile
    wrote profile.txt with its own title, the first line)."""
    for kind in ("synthetic", "real"):
        with open(session(kind).replace(".json", ".txt"), encoding="utf-8") as f:
            recorded = f.read()
        shown = ok("render", session(kind)).decode()
        assert shown.split("\n", 1)[1] == recorded.split("\n", 1)[1], kind
        assert shown.startswith("gargalo profile\n")


def folded_reference(doc, show_all, keep=lambda labels: True):
    """{line: weight} of the samples whose labels keep() accepts; a process-wide
    session's lines start with their thread."""
    out = {}
    for sample in doc["samples"]:
        if not keep(sessions.sample_labels(doc, sample)):
            continue
        _, weight, stack, thread, _ = sessions.sample_fields(sample)
        path = sessions.folded_path(doc, stack, show_all)
        if doc.get("scope") == "process":
            path = (sessions.thread_name(sessions.threads(doc)[thread]),) + path
        line = ";".join(path)
        out[line] = out.get(line, 0) + weight
    return out


def parse_folded(data):
    out = {}
    for line in data.decode().splitlines():
        stack, weight = line.rsplit(" ", 1)
        assert stack not in out, f"{stack} twice"
        out[stack] = int(weight)
    return out


def test_render_folded_against_session():
    for kind in ("synthetic", "real", "big", "rich"):
        doc = sessions.load(session(kind))
        for show_all in (False, True):
            extra = ["--show-all"] if show_all else []
            got = parse_folded(ok("render", session(kind), "-f", "folded", *extra))
            assert got == folded_reference(doc, show_all), (kind, show_all)


def test_render_every_format_to_files():
    doc = sessions.load(session("real"))
    for fmt in ("text", "html", "speedscope", "json", "pprof", "folded"):
        out = path("every." + fmt)
        assert ok("render", session("real"), "-f", fmt, "-o", out) == b""
        with open(out, "rb") as f:
            data = f.read()
        if fmt == "json":
            assert json.loads(data) == doc, "the session did not survive a round trip"
        elif fmt == "speedscope":
            p = json.loads(data)["profiles"][0]
            assert p["type"] == "sampled" and len(p["samples"]) == len(doc["samples"])
            assert sum(p["weights"]) == sessions.total(doc)
        elif fmt == "pprof":
            assert len(gzip.decompress(data)) > 100
        elif fmt == "html":
            assert data.lower().startswith(b"<!doctype html") and b"workload" in data
        elif fmt == "folded":
            assert sum(parse_folded(data).values()) == sessions.total(doc)
        else:  # its content is checked against the session by test_render_text_*
            assert b"workload" in data and data == ok("render", session("real"), "-f", fmt)


def test_format_from_the_output_name():
    src = session("synthetic")
    checks = {"x.pb.gz": lambda d: d[:2] == b"\x1f\x8b",
              "x.speedscope.json": lambda d: b"speedscope.app" in d,
              "x.json": lambda d: json.loads(d)["gargalo"] == 1,
              "x.folded": lambda d: d.startswith(b"main"),
              "x.html": lambda d: d.lower().startswith(b"<!doctype html"),
              "x.txt": lambda d: d.startswith(b"gargalo profile\n")}
    for name, looks_right in checks.items():
        ok("render", src, "-o", path(name))
        with open(path(name), "rb") as f:
            assert looks_right(f.read()), name
    assert ok("render", src, "-o", "-", "-f", "folded") == ok("render", "-f", "folded", src)
    with open(path("x.txt"), "w") as f:
        f.write("old and longer " * 100)
    ok("render", src, "-o", path("x.txt"))
    with open(path("x.txt"), "rb") as f:
        assert f.read() == ok("render", src)


# ---- threads and filters ---------------------------------------------------------------


def test_process_wide_text():
    """One tree per thread, busiest first; the idle thread folded unless --show-all."""
    text = ok("render", session("rich")).decode()
    assert "Threads 2\n" in text, text
    assert "\n\n100.0 ms  71.4%  worker (4242)\n└─ 100.0 ms  71.4%  main" in text, text
    assert "\n\n40.0 ms  28.6%  1 idle thread: parked in epoll_wait (idle)\n\n" in text, text
    full = ok("render", session("rich"), "--show-all").decode()
    assert "40.0 ms  28.6%  idle (4343)  (idle: parked in epoll_wait)\n" in full, full
    assert "idle thread" not in full


def test_render_filters_against_session():
    """--tag and --thread keep the samples the session file says carry the label and
    belong to the thread, in folded stacks, JSON and speedscope."""
    src, doc = session("rich"), sessions.load(session("rich"))
    tids = {t[0]: t for t in sessions.threads(doc)}
    cases = [(["--tag", "route=/b"], lambda lb: lb.get("route") == "/b"),
             (["--tag", "method=POST"], lambda lb: lb.get("method") == "POST"),
             (["--thread", "4343"], lambda lb: lb.get("tid") == "4343"),
             (["--tag", "route=/a", "--thread", "4242"],
              lambda lb: lb.get("route") == "/a" and lb.get("tid") == "4242"),
             (["--tag", "route=/nowhere"], lambda lb: False)]
    for args, keep in cases:
        got = parse_folded(ok("render", src, "-f", "folded", *args))
        assert got == folded_reference(doc, False, keep), (args, got)
        kept = [s for s in doc["samples"] if keep(sessions.sample_labels(doc, s))]
        saved = json.loads(ok("render", src, "-f", "json", *args))
        assert saved["samples"] == kept, args
        scope = json.loads(ok("render", src, "-f", "speedscope", *args))
        sampled = [p for p in scope["profiles"] if p["type"] == "sampled"]
        assert sum(len(p["samples"]) for p in sampled) == len(kept), args
        names = {p["name"] for p in sampled if p["samples"]}
        assert names == {sessions.thread_name(tids[int(sessions.sample_labels(doc, s)["tid"])])
                         for s in kept}, (args, names)
    text = ok("render", src, "--thread", "4242").decode()
    assert "Threads 1\n" in text and "idle" not in text, text
    assert "(no sample passes the filters)" in ok("render", src, "--tag", "route=/c").decode()


def test_diff_filters():
    """diff applies the filters to both sessions: route=/a against itself, no change, and
    only the /a samples' stacks."""
    src, doc = session("rich"), sessions.load(session("rich"))
    lines = ok("diff", src, src, "-f", "folded", "--tag", "route=/a").decode().splitlines()
    keep = lambda lb: lb.get("route") == "/a"  # noqa: E731
    kept = [s for s in doc["samples"] if keep(sessions.sample_labels(doc, s))]
    got = {}
    for line in lines:
        stack, x, y = line.rsplit(" ", 2)
        assert x == y, line
        got[stack] = int(x)
    assert sum(got.values()) == sum(s[1] for s in kept) == 50_000_000, got
    assert all(not k.startswith("worker") for k in got), "diff merges threads"
    text = ok("diff", src, src, "--thread", "4343").decode()
    assert "epoll_wait" in text and "handle_request" not in text, text


# ---- diff -------------------------------------------------------------------------------

DIFF_FRAMES = [{"function": "main", "file": "/src/main.c", "line": 3},
               {"function": "handle", "file": "/src/server.c", "line": 40},
               {"function": "sqlite3_step", "module": "libsqlite3.so.0", "library": True},
               {"function": "sqlite3VdbeExec", "module": "libsqlite3.so.0", "library": True},
               {"function": "parse", "file": "/src/parse.c", "line": 9},
               {"function": "old_path", "file": "/src/old.c", "line": 1},
               {"function": "new_path", "file": "/src/new.c", "line": 1},
               {"function": "callback", "file": "/src/cb.c", "line": 7}]
DIFF_STACKS = [[0, 1, 2, 3], [0, 1, 2, 3, 7], [0, 4], [0, 5], [0, 6], [0]]


def diff_sessions():
    """handle shrinks, parse grows, old_path goes, new_path comes; after is shorter."""
    before = sessions.make_session(DIFF_FRAMES, DIFF_STACKS, [50, 20, 15, 10, 0, 5])
    after = sessions.make_session(DIFF_FRAMES, DIFF_STACKS, [20, 10, 40, 0, 8, 2])
    return before, after, sessions.save(before, path("before.json")), sessions.save(after, path("after.json"))


def parse_tree(text):
    """The tree lines of a text diff as [(path, before, after, change, marks)]."""
    rows, stack = [], []
    for line in text.split("\n\n", 1)[1].splitlines():
        m = TREE_LINE.match(line)
        assert m, f"not a tree line: {line!r}"
        depth = len(m.group(1)) // 3 + 1
        label = re.sub(r" \(\+\d+ frames?\)", "", m.group(5))
        marks = re.findall(r"  \((new|gone)\)$", label)
        label = re.sub(r"  \((new|gone)\)$", "", label)
        stack[depth - 1:] = [label]
        rows.append((tuple(stack), float(m.group(2)), float(m.group(3)), float(m.group(4)), marks))
    return rows


def check_diff_rows(rows, before, after, share):
    """Values against the sessions' own path weights; siblings largest change first;
    every path above 0.5% of either total shown."""
    sides = [sessions.path_weights(before), sessions.path_weights(after)]
    totals = [sessions.total(before), sessions.total(after)]
    scale = [100.0 / t if share else 1e-6 for t in totals]
    last_change = {}
    for p, b, a, change, marks in rows:
        want = [sides[i].get(p, 0) * scale[i] for i in (0, 1)]
        assert abs(b - want[0]) < 0.051 and abs(a - want[1]) < 0.051, (p, b, a, want)
        assert abs(change - (want[1] - want[0])) < 0.051, (p, change)
        assert marks == (["new"] if p not in sides[0] else ["gone"] if p not in sides[1] else [])
        parent = p[:-1]
        assert abs(change) <= last_change.get(parent, float("inf")) + 0.1, f"{p} out of order"
        last_change[parent] = abs(change)
    shown = {r[0] for r in rows}
    for i in (0, 1):
        for p, w in sides[i].items():
            assert 100.0 * w / totals[i] < 0.5 or p in shown, f"{p} missing"


def test_diff_text_against_sessions():
    before, after, b, a = diff_sessions()
    text = ok("diff", b, a).decode()
    assert text.startswith("gargalo diff\nBefore ") and "\nAfter " in text
    rows = parse_tree(text)
    check_diff_rows(rows, before, after, share=False)
    assert rows[0][0] == ("main",) and rows[1][0] == ("main", "handle"), rows[:2]  # -40 ms first
    check_diff_rows(parse_tree(ok("diff", "--normalize", b, a).decode()), before, after, share=True)
    same = parse_tree(ok("diff", b, b).decode())
    assert same and all(r[3] == 0 for r in same), same


def test_diff_folded_against_sessions():
    before, after, b, a = diff_sessions()
    refs = [folded_reference(before, False), folded_reference(after, False)]
    for normalize in (False, True):
        lines = ok("diff", b, a, "-f", "folded", *(["--normalize"] if normalize else [])).decode()
        got = {}
        for line in lines.splitlines():
            stack, x, y = line.rsplit(" ", 2)
            got[stack] = (int(x), int(y))
        assert set(got) == set(refs[0]) | set(refs[1]), sorted(got)
        scale = sessions.total(after) / sessions.total(before) if normalize else 1
        for stack, (x, y) in got.items():
            assert abs(x - refs[0].get(stack, 0) * scale) <= 1 and y == refs[1].get(stack, 0), stack


def test_diff_html_is_self_contained():
    _, _, b, a = diff_sessions()
    ok("diff", b, a, "-o", path("diff.html"))
    with open(path("diff.html"), encoding="utf-8") as f:
        page = f.read()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"(src|href)\s*=|https?://|@import|<script", page), "outside reference"
    for badge in re.finditer(r'<span class="ch (\w+)"[^>]*>([^<]*)</span>', page):
        kind, text = badge.groups()
        if kind in ("grew", "shrank", "same") and text[:1] in "+-":
            value = float(text.split()[0])
            assert (kind == "grew") == (value > 0) and (kind == "shrank") == (value < 0), badge.group(0)
    for name in ("handle", "parse", "old_path", "new_path", "sqlite3_step [libsqlite3.so.0]"):
        assert name in page, name


# ---- wrong input ------------------------------------------------------------------------


def fails(status, args, *words):
    """The command refuses: the status, one line on stderr holding every word, no output."""
    code, out, err = gargalo(*args)
    assert code == status, (args, code, err)
    assert out == b"", (args, out[:200])
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gargalo"), (args, err)
    for word in words:
        assert word in lines[0], (args, word, err)


def test_command_line_mistakes():
    s = session("synthetic")
    fails(2, [], "missing COMMAND")
    fails(2, ["frobnicate"], "unknown command", "frobnicate")
    fails(2, ["--frobnicate"], "unknown option", "--frobnicate")
    fails(2, ["help", "frobnicate"], "frobnicate")
    for command in (["render", s], ["diff", s, s]):
        fails(2, command + ["--bogus"], "unknown option", "--bogus")
        fails(2, command + ["-z"], "unknown option", "-z")
        fails(2, command + ["-f"], "'-f' needs a value")
        fails(2, command + ["--output"], "'--output' needs a value")
        fails(2, command + ["-f", "pdf"], "unknown format", "pdf")
        fails(2, command + ["-o", path("x.unknown")], "x.unknown", "-f")
    fails(2, ["render", s, "--normalize"], "unknown option", "--normalize")
    fails(2, ["render"], "missing the SESSION file")
    fails(2, ["render", s, s], "one SESSION file")
    fails(2, ["diff", s], "two session files")
    fails(2, ["diff"], "two session files")
    fails(2, ["diff", s, s, s], "two session files")
    fails(2, ["diff", s, s, "-f", "pprof"], "unknown format", "pprof")
    for command in (["render", s], ["diff", s, s]):
        fails(2, command + ["--tag", "noequals"], "'--tag' wants KEY=VALUE", "'noequals'")
        fails(2, command + ["--tag", "=v"], "'--tag' wants KEY=VALUE", "with a key", "'=v'")
        fails(2, command + ["--tag"], "'--tag' needs a value")
        for tid in ("abc", "0", "-5", "12x", "", " 7", "+7", "99999999999"):
            fails(2, command + ["--thread", tid], "'--thread' wants a thread id", f"'{tid}'")
        fails(2, command + ["--thread"], "'--thread' needs a value")


def bad_files():
    """name -> (content or None for a directory, words the message must hold)."""
    gargalo_like = sessions.load(session("synthetic"))
    out_of_range = dict(gargalo_like, samples=[[1, 1, 99]])
    return {"empty.json": ("", ["empty"]),
            "corrupt.json": ('{"gargalo": 1, "frames": [', ["not valid JSON", "line 1"]),
            "binary.json": ("\x1f\x8b\x08\x00garbage", ["not valid JSON"]),
            "array.json": ("[1, 2, 3]", ["not a gargalo session"]),
            "object.json": ('{"hello": "world"}', ["not a gargalo session"]),
            "version.json": (json.dumps(dict(gargalo_like, gargalo=2)), ["damaged gargalo session"]),
            "range.json": (json.dumps(out_of_range), ["damaged gargalo session"]),
            "a_directory.json": (None, ["is a directory"])}


def test_unreadable_and_corrupt_sessions():
    good = session("synthetic")
    for name, (content, words) in bad_files().items():
        p = path(name)
        if content is None:
            os.makedirs(p, exist_ok=True)
        else:
            with open(p, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(content)
        fails(1, ["render", p], p, *words)
        fails(1, ["diff", good, p, "-f", "folded"], p, *words)
        fails(1, ["diff", p, good], p, *words)
    missing = path("no-such-session.json")
    fails(1, ["render", missing], missing, "No such file or directory")
    fails(1, ["diff", missing, good], missing, "No such file")


def test_unknown_thread():
    """A thread id the session has no thread of: the session's fault, exit 1, naming the
    file (in a diff, the one without it)."""
    rich, synthetic = session("rich"), session("synthetic")
    fails(1, ["render", rich, "--thread", "999"], rich, "no thread 999")
    fails(1, ["render", rich, "-f", "pprof", "--tag", "route=/b", "--thread", "31337", "-o",
              path("never.pb.gz")], rich, "no thread 31337")
    assert not os.path.exists(path("never.pb.gz"))
    fails(1, ["diff", rich, synthetic, "--thread", "4343"], synthetic, "no thread 4343")
    fails(1, ["diff", synthetic, rich, "--thread", "4343", "-f", "folded"], synthetic, "no thread")
    ok("diff", rich, synthetic, "--thread", "4242")  # both have the worker


def test_unwritable_output():
    s = session("synthetic")
    target = path("no-such-dir/out.txt")
    fails(1, ["render", s, "-o", target], target, "No such file or directory")
    fails(1, ["diff", s, s, "-o", target], target)
    os.makedirs(path("out-dir.txt"), exist_ok=True)
    fails(1, ["render", s, "-o", path("out-dir.txt")], "out-dir.txt", "Is a directory")
    assert os.path.isdir(path("out-dir.txt"))
    fails(1, ["render", s, "-f", "html", "-o", "/dev/full"], "/dev/full", "No space left")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode), "the device was removed"


TESTS = (test_manuals, test_render_text_is_the_recorded_tree, test_render_folded_against_session,
         test_render_every_format_to_files, test_format_from_the_output_name,
         test_process_wide_text, test_render_filters_against_session, test_diff_filters,
         test_diff_text_against_sessions, test_diff_folded_against_sessions,
         test_diff_html_is_self_contained, test_command_line_mistakes, test_unknown_thread,
         test_unreadable_and_corrupt_sessions, test_unwritable_output)


def main():
    global ARGS, WORK
    ARGS = sessions.paths_from_command_line()
    WORK = tempfile.mkdtemp(prefix="gargalo-cli-")
    try:
        return run_cases("cli", [(test.__name__, test) for test in TESTS])
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

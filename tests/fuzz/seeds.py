#!/usr/bin/env python3
"""seeds.py: writes the fuzzers' starting inputs, taken from the tests so that they follow
the API as it changes:

    python3 tests/fuzz/seeds.py --render-profile build/fuzz/progs/render_profile --out DIR

DIR/tx_body       every POST body of tests/api/cases/ (the huge ones left out)
DIR/list_query    the GET and save_strategy queries of those cases, as the target reads
                  them: ativo, limit, after_id, save_strategy, cut at NUL, 0x7f for absent
DIR/profile_query the README's profiling parameters and tests/profile's bad ones
DIR/config        flags and BOLSA_* variables like those of the configuration tests
DIR/session       saved sessions: the renderer tests' fixture, a big one, an empty one
                  and a real recording, each saved as gargalo's JSON by render_profile
DIR/sqltext       bolsa's statements and hostile ones, each with a value to quote in
                  every literal form, in both dialects"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "..", "api", "cases")
ABSENT = "\x7f"
MAX_SEED = 64 * 1024

PROFILE_QUERIES = [  # profile, format, mode, interval, X-Profile-Token, configured token
    ["true"], ["1", "html"], ["yes", "speedscope", "cpu"], ["TRUE", "json", "wall", "0.05"],
    ["on", "text", ABSENT, "100"], ["false", "pdf"], ["maybe"], ["1", "../../etc/x"],
    ["1", ABSENT, "gpu"], ["1", ABSENT, ABSENT, "nan"], ["1", ABSENT, ABSENT, "1e1"],
    ["1", ABSENT, ABSENT, ""], ["1", ABSENT, ABSENT, "-1"], ["1", "html", ABSENT, ABSENT, "s3cret", "s3cret"],
    ["1", "html", ABSENT, ABSENT, "wrong", "s3cret"], ["Off"],
]

CONFIGS = [
    [], ["--port", "9001"], ["--port=70000"], ["--threads", "0"], ["--max-rows=20000000000"],
    ["BOLSA_THREADS=8", "--threads", "2"], ["BOLSA_PROFILE=yes", "--profile-dir", "/tmp"],
    ["--profile"], ["--profile", "--host", "::1"], ["--profile", "off"], ["--help"],
    ["--database-url=postgresql://u:p@db.example:5432/bolsa"], ["BOLSA_PORT=80x"],
    ["--unknown"], ["--port"], ["-h", "--port", "x"], ["BOLSA_PROFILE_TOKEN=t", "--host=0.0.0.0"],
]


SQL = [  # prefix, value, suffix: what fuzz_sqltext.c reads after its first byte
    ["INSERT INTO transactions (created_at, ativo, valor) VALUES  (?1,?,?),(?1,?,?)", "PETR4", ""],
    ["COPY transactions (ativo, valor) FROM STDIN", "", ""],
    ["SELECT id FROM transactions WHERE id > $1 AND ativo = $3 ORDER BY id LIMIT $2", "x", ""],
    ["SELECT * FROM t WHERE a =", "it's \\ $$ -- /* \"q\" \x01", "AND b IN (1, 2, 3)"],
    ["SELECT $$it's$$, E'a\\'b', \"x\"\"y\", [a b], `c`", "v", "-- c\n/* d /* e */ f */"],
    ["VALUES (1, 'a'), (1, 'a'), (2, DEFAULT)", "\u00e9t\u00e9 12.5e3", "x IN (?, ?)"],
]


def write(outdir, target, name, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data)


def parts(values):
    return "\0".join(ABSENT if v is None else v for v in values)


def from_cases(outdir):
    for path in sorted(glob.glob(os.path.join(CASES, "*.json"))):
        name = os.path.basename(path)[:-5]
        with open(path) as f:
            case = json.load(f)
        url = urllib.parse.urlsplit(case["path"])
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        if case["method"] == "POST":
            body = json.dumps(case["json"]) if "json" in case else case.get("body")
            if body is not None and len(body) <= MAX_SEED:
                write(outdir, "tx_body", name, body)
            write(outdir, "list_query", name,
                  parts([None, None, None, query.get("save_strategy")]))
        elif url.path == "/api/v1/transaction":
            write(outdir, "list_query", name,
                  parts([query.get("ativo"), query.get("limit"), query.get("after_id")]))


def sessions(outdir, render_profile):
    for name, args in (("fixture", []), ("big", ["--big", "300"]), ("empty", ["--empty"]),
                       ("real", ["--real", "--real-ms", "30"])):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([render_profile] + args + [tmp], check=True, stdout=subprocess.DEVNULL,
                           timeout=120)
            with open(os.path.join(tmp, "profile.json"), "rb") as f:
                write(outdir, "session", name, f.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--render-profile", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from_cases(args.out)
    for i, q in enumerate(PROFILE_QUERIES):
        write(args.out, "profile_query", "readme%02d" % i, parts(q))
    for i, c in enumerate(CONFIGS):
        write(args.out, "config", "settings%02d" % i, parts(c))
    for i, (prefix, value, suffix) in enumerate(SQL):
        for first in range(8):  # each dialect and literal form
            write(args.out, "sqltext", "sql%02d-%d" % (i, first),
                  chr(first) + "\0".join([prefix, value, suffix]))
    sessions(args.out, args.render_profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())

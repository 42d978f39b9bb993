#!/usr/bin/env python3
"""Reports C functions longer than a limit (40 lines by default).

    scripts/function-length.py [--max N] PATH...

PATH is a .c file or a directory (searched recursively for .c files). In this code base's
style (clang-format, BreakBeforeBraces: Linux) a function definition's opening brace is
alone on its line at column 0 and its closing brace is the next line that starts with a
brace at column 0; nothing else puts a brace there. A function's length counts the lines
from its opening brace to its closing brace, both included.

Prints one line per offender, `path:line: function NAME is N lines (max 40)`, the line
being where the definition starts; exits 1 when it printed any, else 0.
"""

import argparse
import os
import re
import sys

DEFAULT_MAX = 40

ATTRIBUTE = re.compile(r"__attribute__\s*\(\(.*?\)\)")
NAME_BEFORE_PAREN = re.compile(r"([A-Za-z_]\w*)\s*\(")


def c_files(paths):
    """The .c files named or found under the given paths, each directory in name order."""
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(".c"):
                        yield os.path.join(root, name)
        else:
            yield path


def ends_previous_item(line):
    """True for a line that cannot be part of a definition's signature."""
    s = line.strip()
    return (not s or s.startswith(("#", "//", "/*", "*")) or s.endswith(("*/", ";", "}")))


def signature(lines, brace):
    """(index of the first line, function name) of the definition whose '{' is at brace."""
    first = brace
    while first > 0 and not ends_previous_item(lines[first - 1]):
        first -= 1
    text = ATTRIBUTE.sub("", " ".join(lines[first:brace]))
    match = NAME_BEFORE_PAREN.search(text)
    return first, match.group(1) if match else "?"


def functions(lines):
    """(first line index, name, length) of every function definition, in file order.
    length is None for a definition whose closing brace never comes."""
    i = 0
    while i < len(lines):
        if lines[i].rstrip() != "{":
            i += 1
            continue
        first, name = signature(lines, i)
        end = i + 1
        while end < len(lines) and not lines[end].startswith("}"):
            end += 1
        yield first, name, (end - i + 1 if end < len(lines) else None)
        i = end + 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=DEFAULT_MAX, help="longest allowed")
    parser.add_argument("paths", nargs="+", metavar="PATH")
    args = parser.parse_args()

    offenders = 0
    for path in c_files(args.paths):
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        for first, name, length in functions(lines):
            if length is None:
                print(f"{path}:{first + 1}: function {name} has no closing brace at column 0")
            elif length > args.max:
                print(f"{path}:{first + 1}: function {name} is {length} lines (max {args.max})")
            else:
                continue
            offenders += 1
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main())

"""Prints the longest functions of a Rust source tree and fails when one is over a limit.

Usage: python3 .ci/fn_lengths.py LIMIT TOP DIR...
A function runs from its `fn` line to the line of its closing brace; strings, chars and
comments are skipped when braces are counted. Test code (`#[cfg(test)]` onwards, and
files named tests.rs) is left out: the limit is for the code a user links.
"""

import pathlib
import re
import sys

FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def strip(line: str) -> str:
    """The line without string and char literals or a trailing comment."""
    line = re.sub(r'r#*"[^"]*"#*', '""', line)
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])'", "''", line)
    return line.split("//", 1)[0]


def functions(path: pathlib.Path):
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip().startswith("#[cfg(test)]"):
            return
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        depth, opened, j = 0, False, i
        while j < len(lines):
            code = strip(lines[j])
            if not opened and ";" in code and "{" not in code:
                break  # a declaration without a body
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code
            if opened and depth <= 0:
                yield (j - i + 1, f"{path}:{i + 1}", m.group(6))
                break
            j += 1
        i += 1


def main() -> int:
    limit, top = int(sys.argv[1]), int(sys.argv[2])
    roots = [pathlib.Path(d) for d in sys.argv[3:]]
    files = [p for r in roots for p in sorted(r.rglob("*.rs")) if p.name != "tests.rs"]
    found = sorted((f for p in files for f in functions(p)), reverse=True)
    print(f"longest functions under {', '.join(map(str, roots))}:")
    for length, where, name in found[:top]:
        print(f"  {length:4} lines  {name}  ({where})")
    over = [f for f in found if f[0] > limit]
    if over:
        print(f"{len(over)} function(s) longer than {limit} lines")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Every source, script and build file of gort names its licence with an SPDX
identifier (LICENSE: BSD-3-Clause). This lists the tracked files that lack
it (--check: exit 1 if any) or adds it to them (default), in each file's
comment style: after a #! line, else first."""
import argparse
import subprocess
import sys

TAG = "SPDX-License-Identifier: BSD-3-Clause"


def style(path: str) -> str | None:
    base = path.rsplit("/", 1)[-1]
    ext = base.rsplit(".", 1)[-1] if "." in base else ""
    if path.endswith(".cc.in") or ext in ("cc", "h", "c", "S", "go") or base == "go.mod":
        return "c"
    if (ext in ("cmake", "txt", "sh", "py") or path.endswith((".cmake.in", ".pc.in"))
            or base in ("Doxyfile.in", "run", "wine-run")):
        return "hash"
    if ext == "map":
        return "block"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="list, change nothing")
    args = ap.parse_args()
    files = subprocess.run(["git", "ls-files"], capture_output=True, text=True,
                           check=True).stdout.split()
    missing = []
    for path in files:
        kind = style(path)
        if kind is None:
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if TAG in text:
            continue
        missing.append(path)
        if args.check:
            continue
        if kind == "c":
            line = f"/* {TAG} */" if text.startswith("/*") else f"// {TAG}"
        elif kind == "block":
            line = f"/* {TAG} */"
        else:
            line = f"# {TAG}"
        lines = text.split("\n")
        lines.insert(1 if lines[0].startswith("#!") else 0, line)
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
    for path in missing:
        print(("no SPDX identifier: " if args.check else "added: ") + path)
    return 1 if args.check and missing else 0


if __name__ == "__main__":
    sys.exit(main())

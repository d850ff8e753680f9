# SPDX-License-Identifier: BSD-3-Clause
"""What gort's table generators (gen_errors.py, gen_syscalls.py) share:
formatting with the repository's clang-format style, and writing outputs
or, with --check, reporting which are stale."""
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def find_clang_format(name: str, tool: str) -> str | None:
    """The clang-format binary, or None (with a warning) if it is missing;
    an empty name means "do not format"."""
    if not name:
        return None
    binary = shutil.which(name)
    if not binary:
        print(f"{tool}: {name} not found; the outputs will not be "
              "clang-formatted", file=sys.stderr)
    return binary


def clang_format(text: str, rel_path: str, binary: str | None) -> str:
    """Formats text as REPO_ROOT/rel_path with the repository's .clang-format,
    wherever the output goes."""
    if not binary:
        return text
    style = REPO_ROOT / ".clang-format"
    if not style.is_file():
        raise FileNotFoundError(style)
    result = subprocess.run(
        [binary, f"--style=file:{style}",
         f"--assume-filename={REPO_ROOT / rel_path}"],
        input=text, capture_output=True, text=True, check=True)
    return result.stdout


def write_outputs(outputs: dict[str, str], out_dir: str, fmt: str | None,
                  check: bool) -> list[str]:
    """Formats each output and writes the ones that changed (none with
    `check`). Returns the paths that were, or would have been, rewritten."""
    stale = []
    for rel_path, text in outputs.items():
        text = clang_format(text, rel_path, fmt)
        path = Path(out_dir) / rel_path
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            continue
        stale.append(rel_path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return stale

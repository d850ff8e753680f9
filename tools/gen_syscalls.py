#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Generates gort's Linux system call tables (name <-> number per arch).

To rerun it (after changing this file, or to pick up newer kernel headers),
from the repository root:

    python3 tools/gen_syscalls.py          # rewrites the outputs
    python3 tools/gen_syscalls.py --check  # exit 1 if an output is stale

The numbers come from the kernels' own uapi headers, read the way a compiler
for that architecture reads them: the C preprocessor (`cpp`, GCC's) runs over
`#include <asm/unistd.h>` with only the architecture's predefined macros set
(-undef -nostdinc), so the `__ARCH_WANT_*` switches and `__BITS_PER_LONG` of
asm-generic/unistd.h pick exactly the calls that architecture has. Every
`__NR_<name>` macro it then defines is a system call (but for the few
bookkeeping names in NOT_SYSCALLS), and its value is what the macro expands
to. The inputs (each directory is an option; see --help):

    linux-386, linux-amd64   the host's linux-libc-dev:
                             /usr/include/x86_64-linux-gnu (asm/) and
                             /usr/include (asm-generic/)
    linux-arm, linux-arm64,  the uapi headers Zig ships:
    linux-riscv64            $GORT_CACHE/zig-0.11.0/lib/libc/include/
                             <arch>-linux-any and any-linux-any
                             (scripts/setup.sh puts Zig there; $GORT_CACHE
                             defaults to ~/.cache/gort)

and it writes, relative to the repository root (or --out-dir):

    src/tables/zsyscall_linux_<arch>.cc  one table per arch, declared in
                                         src/tables/syscall_tables.h
    include/gort/zsysnum_linux.h         gort::sysnum::k<Name> constants for
                                         the arch of the build (amd64, arm64,
                                         riscv64): gort's own numbers, not
                                         libc's

Every output goes through clang-format (14 or later) with the repository's
.clang-format. Same inputs and clang-format, same bytes. Python 3.11,
standard library only; needs `cpp`.
"""

import argparse
import ast
import dataclasses
import operator
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import gen_common

REPO_ROOT = gen_common.REPO_ROOT

GORT_CACHE = os.environ.get("GORT_CACHE") or os.path.expanduser(
    "~/.cache/gort")
DEFAULT_HOST_ARCH_DIR = "/usr/include/x86_64-linux-gnu"
DEFAULT_HOST_DIR = "/usr/include"
DEFAULT_ZIG_DIR = os.path.join(GORT_CACHE, "zig-0.11.0/lib/libc/include")

OUT_TABLE = "src/tables/zsyscall_linux_{arch}.cc"
OUT_SYSNUM = "include/gort/zsysnum_linux.h"
# --check exits with this when it cannot check (ctest SKIP_RETURN_CODE).
SKIPPED = 77

# `__NR_*` macros that are not system calls: table sizes and bases.
NOT_SYSCALLS = {
    "syscalls",  # asm-generic: one past the last number
    "arch_specific_syscall",  # asm-generic: base of the per-arch block
    "SYSCALL_BASE",  # arm: 0 for EABI
    "OABI_SYSCALL_BASE",  # arm: the old ABI's base
    "SYSCALL_MASK",  # arm
}

# Above every Linux system call number of the arches below.
MAX_NUMBER = 1024


@dataclasses.dataclass(frozen=True)
class Arch:
    """One Linux architecture: its GOARCH, how to preprocess its headers."""

    goarch: str  # "amd64"
    symbol: str  # the C++ table's name
    source: str  # "host" or "zig"
    arch_subdir: str  # the include dir holding asm/ (host: unused)
    defines: tuple[str, ...]  # the compiler's predefined macros that matter
    cpp_guard: str | None  # the #if selecting it in zsysnum_linux.h


ARCHES = [
    Arch("386", "kLinux386Syscalls", "host", "", ("__i386__",), None),
    Arch("amd64", "kLinuxAmd64Syscalls", "host", "",
         ("__x86_64__", "__LP64__"), "defined(__x86_64__)"),
    Arch("arm", "kLinuxArmSyscalls", "zig", "arm-linux-any",
         ("__arm__", "__ARM_EABI__"), None),
    Arch("arm64", "kLinuxArm64Syscalls", "zig", "aarch64-linux-any",
         ("__aarch64__", "__LP64__"), "defined(__aarch64__)"),
    Arch("riscv64", "kLinuxRiscv64Syscalls", "zig", "riscv-linux-any",
         ("__riscv", "__riscv_xlen=64", "__LP64__", "__SIZEOF_POINTER__=8",
          "__SIZEOF_LONG__=8"), "defined(__riscv) && __riscv_xlen == 64"),
]


@dataclasses.dataclass(frozen=True)
class Syscall:
    name: str  # without __NR_
    number: int


# --------------------------------------------------------------------------
# Reading the headers.

NR_DEFINE = re.compile(r"^#define __NR_(\w+)[ (]")
EXPANDED = re.compile(r"^GORT_NR (\w+) = (.*);$")

_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift,
    ast.BitOr: operator.or_, ast.BitAnd: operator.and_,
}


def eval_c_int(expr: str) -> int:
    """Evaluates a preprocessed integer expression such as `(0 + 3)` or
    `(0x0f0000+1)`: integers, + - * << >> | &, unary minus, parentheses."""
    text = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", expr.strip())

    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        raise ValueError(f"not a constant integer expression: {expr!r}")

    return walk(ast.parse(text, mode="eval"))


def include_dirs(arch: Arch, args: argparse.Namespace) -> list[str]:
    if arch.source == "host":
        return [args.host_arch_dir, args.host_dir]
    return [os.path.join(args.zig_dir, arch.arch_subdir),
            os.path.join(args.zig_dir, "any-linux-any")]


def run_cpp(cpp: str, arch: Arch, dirs: list[str], source: str,
            extra: list[str]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "in.c")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        cmd = [cpp, "-undef", "-nostdinc", *extra]
        cmd += [f"-D{d}" for d in arch.defines]
        for d in dirs:
            cmd += ["-I", d]
        cmd.append(path)
        return subprocess.run(cmd, capture_output=True, text=True,
                              check=True).stdout


def read_arch(cpp: str, arch: Arch,
              args: argparse.Namespace) -> tuple[list[Syscall], list[str]]:
    """The system calls of one arch, sorted by number (then name: arm's
    sync_file_range2 is another name of arm_sync_file_range), and the header
    files they came from."""
    dirs = include_dirs(arch, args)
    for d in dirs:
        if not os.path.isdir(d):
            raise FileNotFoundError(f"{arch.goarch}: no header directory {d}")
    # Pass 1: which __NR_ macros exist.
    macros = run_cpp(cpp, arch, dirs, "#include <asm/unistd.h>\n", ["-dM"])
    names = sorted({m.group(1) for line in macros.splitlines()
                    if (m := NR_DEFINE.match(line))} - NOT_SYSCALLS)
    if not names:
        raise ValueError(f"{arch.goarch}: no __NR_ macros found")
    # Pass 2: their values, expanded by the preprocessor itself.
    probe = "#include <asm/unistd.h>\n" + "".join(
        f"GORT_NR {n} = __NR_{n};\n" for n in names)
    expanded = run_cpp(cpp, arch, dirs, probe, ["-P"])
    values = {}
    for line in expanded.splitlines():
        m = EXPANDED.match(line.strip())
        if m:
            values[m.group(1)] = eval_c_int(m.group(2))
    missing = set(names) - set(values)
    if missing:
        raise ValueError(f"{arch.goarch}: could not expand "
                         f"{', '.join(sorted(missing))}")
    calls = [Syscall(n, values[n]) for n in names]
    for c in calls:
        if not 0 <= c.number < MAX_NUMBER:
            raise ValueError(f"{arch.goarch}: {c.name} = {c.number}?")
    calls.sort(key=lambda c: (c.number, c.name))
    # The files read, for the banner: what -M reports, in the order read.
    deps = run_cpp(cpp, arch, dirs, "#include <asm/unistd.h>\n", ["-M"])
    files = [f for f in deps.replace("\\\n", " ").split()[1:]
             if not f.endswith("in.c")]
    return calls, files


# --------------------------------------------------------------------------
# Writing the outputs.


def display_path(path: str) -> str:
    """A path for the "Code generated" line, the same on every machine."""
    path = os.path.normpath(path)
    for var, prefix in (("$GORT_CACHE", GORT_CACHE),
                        ("$HOME", os.path.expanduser("~"))):
        prefix = os.path.normpath(prefix)
        if path.startswith(prefix + os.sep):
            return var + path[len(prefix):]
    return path


def generated_banner(inputs: list[str]) -> str:
    shown = [display_path(p) for p in inputs]
    lines = ["// SPDX-License-Identifier: BSD-3-Clause",
             "// Code generated by tools/gen_syscalls.py from"]
    lines += [f"// {p}," for p in shown[:-1]]
    lines += [f"// {shown[-1]};", "// DO NOT EDIT."]
    return "\n".join(lines) + "\n"


def c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def constant_name(name: str) -> str:
    """epoll_pwait2 -> kEpollPwait2, _llseek -> kLlseek."""
    return "k" + "".join(p[:1].upper() + p[1:] for p in name.split("_") if p)


def render_table(arch: Arch, calls: list[Syscall], inputs: list[str]) -> str:
    out = [generated_banner(inputs)]
    out.append(f"""
// Linux {arch.goarch} system calls: every __NR_ of its <asm/unistd.h>, by
// number (then name, for two names of one number).

#include "tables/syscall_tables.h"

namespace gort::internal {{
namespace {{

constexpr SyscallEntry kEntries[] = {{
""")
    for c in calls:
        out.append(f"    {{{c.number}, {c_string(c.name)}}},\n")
    out.append(f"""}};

}}  // namespace

const SyscallTable {arch.symbol} = {{
    "linux-{arch.goarch}", kEntries, sizeof(kEntries) / sizeof(kEntries[0])}};

}}  // namespace gort::internal
""")
    return "".join(out)


def render_sysnum(tables: dict[str, list[Syscall]],
                  inputs: list[str]) -> str:
    out = [generated_banner(inputs)]
    out.append("""
/// @file zsysnum_linux.h
/// @brief Linux system call numbers of the architecture gort is built for.
#ifndef GORT_GORT_ZSYSNUM_LINUX_H_
#define GORT_GORT_ZSYSNUM_LINUX_H_

#include <cstdint>

/// Linux system call numbers (Go: syscall.SYS_*) as gort::sysnum::k<Name>
/// constants (`epoll_pwait2` is kEpollPwait2), for the architecture of the
/// build: amd64, arm64 or riscv64; empty elsewhere. They come from the
/// kernel's own uapi headers, not from the C library's, which may be older
/// than the kernel the program runs on. For any architecture on any
/// machine, look numbers up with gort::SyscallNumber().
namespace gort::sysnum {

/// @cond GORT_SYSNUM
""")
    first = True
    for arch in ARCHES:
        if arch.cpp_guard is None:
            continue
        kw = "#if" if first else "#elif"
        first = False
        out.append(f"{kw} defined(__linux__) && {arch.cpp_guard}\n")
        seen = {}
        for c in tables[arch.goarch]:
            k = constant_name(c.name)
            if k in seen:
                raise ValueError(f"{arch.goarch}: {c.name} and {seen[k]} "
                                 f"both give {k}")
            seen[k] = c.name
            out.append(f"inline constexpr uintptr_t {k} = {c.number};\n")
    out.append("""#endif
/// @endcond

}  // namespace gort::sysnum

#endif  // GORT_GORT_ZSYSNUM_LINUX_H_
""")
    return "".join(out)



def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--host-arch-dir", default=DEFAULT_HOST_ARCH_DIR,
                        help="the host's asm/ parent (386, amd64)")
    parser.add_argument("--host-dir", default=DEFAULT_HOST_DIR,
                        help="the host's asm-generic/ parent (386, amd64)")
    parser.add_argument("--zig-dir", default=DEFAULT_ZIG_DIR,
                        help="Zig's lib/libc/include (arm, arm64, riscv64)")
    parser.add_argument("--cpp", default="cpp", help="C preprocessor")
    parser.add_argument("--out-dir", default=str(REPO_ROOT),
                        help="where the output paths are rooted")
    parser.add_argument("--clang-format", default="clang-format",
                        help="clang-format binary; empty to skip formatting")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if an output is stale")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print table sizes")
    args = parser.parse_args()

    cpp = shutil.which(args.cpp)
    if not cpp:
        print(f"gen_syscalls: {args.cpp} not found", file=sys.stderr)
        return 2
    fmt = gen_common.find_clang_format(args.clang_format, "gen_syscalls")

    if args.check:
        missing = [d for arch in ARCHES if arch.source == "zig"
                   for d in include_dirs(arch, args)[:1]
                   if not os.path.isdir(d)]
        if missing:
            # A fresh machine set up for native builds only has no Zig yet:
            # say so and let ctest count the check as skipped, not passed.
            print("gen_syscalls: skipped: no Zig uapi headers at "
                  f"{missing[0]} (scripts/setup.sh linux-riscv64 installs "
                  "them)", file=sys.stderr)
            return SKIPPED

    outputs = {}
    tables = {}
    sysnum_inputs = []
    for arch in ARCHES:
        calls, files = read_arch(cpp, arch, args)
        tables[arch.goarch] = calls
        outputs[OUT_TABLE.format(arch=arch.goarch)] = render_table(
            arch, calls, files)
        if arch.cpp_guard is not None:
            sysnum_inputs += [f for f in files if f not in sysnum_inputs]
        if args.verbose:
            print(f"linux-{arch.goarch}: {len(calls)} system calls, "
                  f"{calls[0].number}..{calls[-1].number}")
    outputs[OUT_SYSNUM] = render_sysnum(tables, sysnum_inputs)

    stale = gen_common.write_outputs(outputs, args.out_dir, fmt, args.check)
    if args.check and stale:
        print("gen_syscalls: stale: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

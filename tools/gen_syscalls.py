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
to. The input is one tree of headers for every arch (--uapi-dir):

    $GORT_CACHE/linux-libc-dev/usr/include   Debian's linux-libc-dev from
                                             bookworm-backports (6.12), an
                                             Architecture: all package with
                                             every arch's asm/ in
                                             <triplet>/asm and asm-generic/,
                                             linux/version.h; unpacked there
                                             by scripts/setup.sh, not
                                             installed ($GORT_CACHE defaults
                                             to ~/.cache/gort)

The headers lag the kernel. The calls the kernel added after their version
are in LATER_CALLS below, by hand, each with the release that added it as
read from the kernel's own syscall.tbl files; a call the headers already
have is taken from the headers (and must agree). Each table records the
version of its headers and the newest release it is current to
(SyscallTable::kernel), which gort-probe prints.

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
DEFAULT_UAPI_DIR = os.path.join(GORT_CACHE, "linux-libc-dev/usr/include")

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
    arch_subdir: str  # the Debian triplet directory holding asm/
    defines: tuple[str, ...]  # the compiler's predefined macros that matter
    cpp_guard: str | None  # the #if selecting it in zsysnum_linux.h


ARCHES = [
    Arch("386", "kLinux386Syscalls", "i386-linux-gnu", ("__i386__",), None),
    Arch("amd64", "kLinuxAmd64Syscalls", "x86_64-linux-gnu",
         ("__x86_64__", "__LP64__"), "defined(__x86_64__)"),
    Arch("arm", "kLinuxArmSyscalls", "arm-linux-gnueabihf",
         ("__arm__", "__ARM_EABI__"), None),
    Arch("arm64", "kLinuxArm64Syscalls", "aarch64-linux-gnu",
         ("__aarch64__", "__LP64__"), "defined(__aarch64__)"),
    Arch("riscv64", "kLinuxRiscv64Syscalls", "riscv64-linux-gnu",
         ("__riscv", "__riscv_xlen=64", "__LP64__", "__SIZEOF_POINTER__=8",
          "__SIZEOF_LONG__=8"), "defined(__riscv) && __riscv_xlen == 64"),
]


ALL_ARCHES = tuple(a.goarch for a in ARCHES)


@dataclasses.dataclass(frozen=True)
class Syscall:
    name: str  # without __NR_
    number: int
    since: str = ""  # the release that added it, for LATER_CALLS only


@dataclasses.dataclass(frozen=True)
class LaterCall:
    """A call the kernel added after the headers' version, added by hand."""

    since: str  # the release that added it: "6.13"
    name: str
    number: int
    arches: tuple[str, ...] = ALL_ARCHES


# The calls Linux added after 6.12 (the headers' version), read from the
# kernel's own tables: arch/x86/entry/syscalls/syscall_32.tbl and
# syscall_64.tbl, arch/arm/tools/syscall.tbl and scripts/syscall.tbl (arm64
# and riscv64, since 6.11). Since 5.1 a new call has one number on every
# arch but alpha, and each of these is `common` in every one of those
# tables. Newest confirmed release: 7.0 (471 is its last entry). Left out on
# purpose: x86-64's uprobe (336; its release could not be confirmed, and a
# direct call outside a uprobe trampoline is answered with SIGILL, so no
# probe may touch it), and calls proposed on the lists but not merged.
# gort::ProbeBeyondTable() calls each of these with -1 in every argument to
# see whether the running kernel has it: add only calls that such a call
# cannot make act (flags of all ones, descriptors and pointers of -1).
LATER_CALLS = [
    # 6.13: the *xattrat family (extended attributes relative to a dirfd).
    LaterCall("6.13", "setxattrat", 463),
    LaterCall("6.13", "getxattrat", 464),
    LaterCall("6.13", "listxattrat", 465),
    LaterCall("6.13", "removexattrat", 466),
    # 6.15: open_tree() with mount attributes.
    LaterCall("6.15", "open_tree_attr", 467),
    # 6.17: inode attributes (FS_IOC_FSGETXATTR as a call).
    LaterCall("6.17", "file_getattr", 468),
    LaterCall("6.17", "file_setattr", 469),
    # 6.19: listing namespaces.
    LaterCall("6.19", "listns", 470),
    # 7.0: rseq time-slice extensions.
    LaterCall("7.0", "rseq_slice_yield", 471),
]


def version_key(v: str) -> tuple[int, ...]:
    """"6.12" -> (6, 12), for comparing releases."""
    return tuple(int(p) for p in v.split("."))


def read_headers_version(uapi_dir: str) -> str:
    """MAJOR.PATCHLEVEL of linux/version.h: the release the uapi headers
    are from (the sublevel of a stable update adds no calls)."""
    path = os.path.join(uapi_dir, "linux", "version.h")
    text = Path(path).read_text(encoding="utf-8")
    fields = dict(re.findall(
        r"^#define LINUX_VERSION_(MAJOR|PATCHLEVEL) (\d+)$", text, re.M))
    if set(fields) != {"MAJOR", "PATCHLEVEL"}:
        raise ValueError(f"{path}: no LINUX_VERSION_MAJOR/PATCHLEVEL")
    return f"{fields['MAJOR']}.{fields['PATCHLEVEL']}"


def generic_call_count(uapi_dir: str) -> int:
    """asm-generic/unistd.h's __NR_syscalls: one past the newest call of the
    headers' release. Since 5.1 every arch gives a new call this same
    number, so each table's highest number from the headers is this less
    one: a table that stops short lost calls of the release it claims."""
    path = os.path.join(uapi_dir, "asm-generic", "unistd.h")
    m = re.findall(r"^#define __NR_syscalls (\d+)$",
                   Path(path).read_text(encoding="utf-8"), re.M)
    if not m:
        raise ValueError(f"{path}: no __NR_syscalls")
    return int(m[-1])


def add_later_calls(arch: Arch, calls: list[Syscall],
                    headers: str) -> tuple[list[Syscall], str]:
    """calls plus the LATER_CALLS of arch that the headers lack, and the
    release the result is current to."""
    by_name = {c.name: c for c in calls}
    by_number = {c.number: c for c in calls}
    current = headers
    out = list(calls)
    for later in LATER_CALLS:
        if arch.goarch not in later.arches:
            continue
        if version_key(later.since) > version_key(current):
            current = later.since
        have = by_name.get(later.name)
        if have is not None:
            if have.number != later.number:
                raise ValueError(f"{arch.goarch}: the headers say {later.name} "
                                 f"= {have.number}, LATER_CALLS {later.number}")
            continue
        if version_key(later.since) <= version_key(headers):
            raise ValueError(f"{arch.goarch}: {later.name} is from "
                             f"{later.since}, but the {headers} headers lack it")
        if later.number in by_number:
            raise ValueError(f"{arch.goarch}: {later.number} is already "
                             f"{by_number[later.number].name}")
        out.append(Syscall(later.name, later.number, later.since))
    out.sort(key=lambda c: (c.number, c.name))
    return out, current


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
    return [os.path.join(args.uapi_dir, arch.arch_subdir), args.uapi_dir]


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


def render_table(arch: Arch, calls: list[Syscall], inputs: list[str],
                 headers: str, current: str) -> str:
    headers_highest = max(c.number for c in calls if not c.since)
    out = [generated_banner(inputs)]
    out.append(f"""
// Linux {arch.goarch} system calls: every __NR_ of its <asm/unistd.h> (Linux
// {headers} headers), then the calls added after {headers} up to Linux
// {current}, each marked with the release that added it (LATER_CALLS of
// tools/gen_syscalls.py); by number (then name, for two names of one number).

#include "tables/syscall_tables.h"

namespace gort::internal {{
namespace {{

constexpr SyscallEntry kEntries[] = {{
""")
    for c in calls:
        note = f"  // Linux {c.since}" if c.since else ""
        out.append(f"    {{{c.number}, {c_string(c.name)}}},{note}\n")
    out.append(f"""}};

}}  // namespace

const SyscallTable {arch.symbol} = {{
    "linux-{arch.goarch}",
    "{current}",  // current to this Linux release
    "{headers}",  // generated from this release's uapi headers
    {headers_highest},  // their highest number; the ones above by hand
    kEntries, sizeof(kEntries) / sizeof(kEntries[0])}};

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
    parser.add_argument("--uapi-dir", default=DEFAULT_UAPI_DIR,
                        help="linux-libc-dev's usr/include (every arch)")
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
        missing = [d for arch in ARCHES
                   for d in include_dirs(arch, args)[:1]
                   if not os.path.isdir(d)]
        if missing:
            # A machine that has not run scripts/setup.sh lacks the headers:
            # say so and let ctest count the check as skipped, not passed.
            print("gen_syscalls: skipped: no uapi headers at "
                  f"{missing[0]} (scripts/setup.sh native unpacks them)",
                  file=sys.stderr)
            return SKIPPED

    outputs = {}
    tables = {}
    sysnum_inputs = []
    headers = read_headers_version(args.uapi_dir)
    newest = generic_call_count(args.uapi_dir) - 1
    for arch in ARCHES:
        calls, files = read_arch(cpp, arch, args)
        if calls[-1].number != newest:
            raise ValueError(f"{arch.goarch}: the {headers} headers end at "
                             f"{calls[-1].number}, asm-generic at {newest}")
        from_headers = len(calls)
        calls, current = add_later_calls(arch, calls, headers)
        tables[arch.goarch] = calls
        outputs[OUT_TABLE.format(arch=arch.goarch)] = render_table(
            arch, calls, files, headers, current)
        if arch.cpp_guard is not None:
            sysnum_inputs += [f for f in files if f not in sysnum_inputs]
        if args.verbose:
            print(f"linux-{arch.goarch}: {len(calls)} system calls "
                  f"({from_headers} from the {headers} headers, "
                  f"{len(calls) - from_headers} later), "
                  f"{calls[0].number}..{calls[-1].number}, current to "
                  f"Linux {current}")
    outputs[OUT_SYSNUM] = render_sysnum(tables, sysnum_inputs)

    stale = gen_common.write_outputs(outputs, args.out_dir, fmt, args.check)
    if args.check and stale:
        print("gen_syscalls: stale: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

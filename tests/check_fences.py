#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Checks the machine code of the netpoller's store-then-load handshakes.

    check_fences.py --objdump llvm-objdump --arch riscv64|arm64 OBJ... \
        --functions FUNC...

Each FUNC (a demangled name prefix, e.g. gort::internal::PollDesc::SetWait)
stores to one atomic and then loads another (src/polldesc.h, "the two
handshakes"). Sequential consistency needs the store ordered before the
load, which qemu-user on x86-64 can never show going wrong, so this looks at
the instructions instead:

  riscv64  after the first store-conditional (sc.w/sc.d) or release AMO,
           every later load in the function (not from the stack) must come
           after a full fence (fence rw,rw or stronger) or be an
           lr/amo with .aqrl. An acq_rel CAS (lr.aq / sc.rl) followed by an
           acquire load (lw; fence r,rw) fails: the load may be performed
           before the sc is visible.
  arm64    after the first release store (stlr, stlxr, cas*l, swp*l,
           ldadd*l, or a call to an outline atomic __aarch64_*), every later
           load (not from the stack) must be ldar/ldaxr (RCsc: ordered after
           any store-release) or come after a dmb ish/sy.

Exits 1 with the offending instructions when a function breaks its rule or
is missing, 0 when every function holds, printing what it checked.
"""
import argparse
import re
import subprocess
import sys

RV_LOADS = {"lb", "lh", "lw", "ld", "lbu", "lhu", "lwu", "c.lw", "c.ld",
            "flw", "fld"}
ARM_PLAIN_LOADS = re.compile(r"^(ldr|ldur|ldp|ldrb|ldrh|ldrsb|ldrsh|ldrsw|"
                             r"ldurb|ldurh|ldursw|ldapr|ldaprb|ldaprh|ldxr|"
                             r"ldxp|ldnp)$")
ARM_RCSC_LOADS = re.compile(r"^(ldar|ldarb|ldarh|ldaxr|ldaxrb|ldaxrh|ldaxp)$")
ARM_RELEASE = re.compile(r"^(stlr|stlrb|stlrh|stlxr|stlxrb|stlxrh|stlxp|"
                         r"casa?l[bh]?|caspa?l|swpa?l[bh]?|"
                         r"ld(add|clr|eor|set|smax|smin|umax|umin)a?l[bh]?)$")


def functions(objdump, obj):
    # -r: in an unlinked object a call's target is only in its relocation
    # (an outline atomic such as __aarch64_cas8_acq_rel).
    out = subprocess.run([objdump, "-d", "-r", "-C", "--no-show-raw-insn", obj],
                         check=True, capture_output=True, text=True).stdout
    funcs = {}
    name = None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            # A local label (.Lpcrel_hi0: where riscv64 code takes a global's
            # address) is inside the function objdump was printing, not a
            # function of its own: its instructions stay with that function.
            if m.group(1).startswith(".L") and name is not None:
                continue
            name = m.group(1)
            funcs[name] = []
            continue
        m = re.match(r"^\s*[0-9a-f]+:\s+R_\S+\s+(\S+)", line)
        if m and name is not None and funcs[name]:
            addr, op, args = funcs[name][-1]
            funcs[name][-1] = (addr, op, f"{args} <reloc {m.group(1)}>")
            continue
        m = re.match(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if m and name is not None:
            funcs[name].append((m.group(1), m.group(2), m.group(3).strip()))
    return funcs


def from_stack(operands):
    return re.search(r"\((sp|s0)\)|\[sp(,|\])|\[x29(,|\])", operands) is not None


def check_riscv(insns):
    errors = []
    stored = False
    fenced = False
    for addr, op, args in insns:
        base = op.split(".")[0] if op.startswith(("sc.", "lr.", "amo")) else op
        if base == "sc" or (base.startswith("amo") and ".rl" in op or
                            base.startswith("amo") and ".aqrl" in op):
            if not stored:
                stored = True
                fenced = False
            continue
        if not stored:
            continue
        if op == "fence":
            parts = [p.strip() for p in args.split(",")]
            if len(parts) == 2 and "r" in parts[0] and "w" in parts[0] and \
                    "r" in parts[1] and "w" in parts[1]:
                fenced = True
            continue
        if op.startswith("lr.") or (op.startswith("amo")):
            if ".aqrl" not in op and not fenced:
                errors.append(f"{addr}: {op} {args} (not ordered after the store)")
            continue
        if op in RV_LOADS and not from_stack(args) and not fenced:
            errors.append(f"{addr}: {op} {args} (no full fence since the store)")
    if not stored:
        errors.append("no store-conditional or release AMO found")
    return errors


def check_arm64(insns):
    errors = []
    stored = False
    fenced = False
    for addr, op, args in insns:
        if ARM_RELEASE.match(op) or (op == "bl" and "__aarch64_" in args):
            if not stored:
                stored = True
                fenced = False
            continue
        if not stored:
            continue
        if op == "dmb" and args.split()[0] in ("ish", "sy"):
            fenced = True
            continue
        if ARM_RCSC_LOADS.match(op):
            continue
        if ARM_PLAIN_LOADS.match(op) and not from_stack(args) and not fenced:
            errors.append(f"{addr}: {op} {args} (a plain or RCpc load after "
                          "the release store, no dmb)")
    if not stored:
        errors.append("no release store found")
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objdump", required=True)
    ap.add_argument("--arch", required=True, choices=["riscv64", "arm64"])
    ap.add_argument("objects", nargs="+")
    ap.add_argument("--functions", nargs="+", required=True)
    a = ap.parse_args()
    objs, names = a.objects, a.functions
    funcs = {}
    for obj in objs:
        funcs.update(functions(a.objdump, obj))
    check = check_riscv if a.arch == "riscv64" else check_arm64
    failed = False
    for want in names:
        found = [n for n in funcs if n.startswith(want + "(")]
        if not found:
            print(f"FAIL {want}: not found in {' '.join(objs)}")
            failed = True
            continue
        for n in found:
            errors = check(funcs[n])
            if errors:
                failed = True
                print(f"FAIL {n} ({a.arch}):")
                for e in errors:
                    print(f"    {e}")
                print("  its code:")
                for addr, op, args in funcs[n]:
                    print(f"    {addr}: {op} {args}")
            else:
                print(f"ok   {n} ({a.arch}): store ordered before every "
                      f"later load ({len(funcs[n])} instructions)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Generates gort's portable error codes and its tables of OS errors.

To rerun it (after changing this file, or to pick up newer OS headers), from
the repository root:

    python3 tools/gen_errors.py          # rewrites the outputs
    python3 tools/gen_errors.py --check  # exit 1 if an output is stale

It reads these inputs (each path is an option; see --help):

    Linux    /usr/include/asm-generic/errno-base.h and errno.h: the errno
             values every Linux architecture gort supports (x86_64, aarch64,
             riscv64) shares; `#define EPERM 1 /* Operation not permitted */`.
    Darwin   $GORT_CACHE/zig-0.11.0/lib/libc/include/any-macos-any/sys/errno.h
             (macOS <sys/errno.h> as shipped with zig; scripts/setup.sh puts it
             there, $GORT_CACHE defaulting to ~/.cache/gort). Every E* define
             with a numeric value counts, whatever #if guards it.
    Windows  /usr/share/mingw-w64/include/winerror.h: ERROR_* below 16000,
             NO_ERROR, WAIT_TIMEOUT and the Winsock WSA* codes (10000-11999);
             winsock2.h and psdk_inc/_wsa_errnos.h beside it for the WSA*
             names of other codes (WSA_IO_PENDING is ERROR_IO_PENDING,
             WSANO_ADDRESS is WSANO_DATA).

Every table also lists the aliases the headers define, each a second name
of one of its values: Linux EWOULDBLOCK and EDEADLOCK (and ENOTSUP, which
glibc's and musl's <errno.h> define as EOPNOTSUPP), Darwin EWOULDBLOCK and
ELAST (the largest errno), Windows the winsock2.h WSA_* names and the later
names winerror.h gives a value it already named (NO_ERROR); the portable
table has the alias macros of error_codes.h.

and writes, relative to the repository root (or --out-dir):

    include/gort/error_codes.h       the portable GORT_E* codes, a C enum
                                     (the core's; bindings/c/include/
                                     gort_errno.h includes it for C)
    src/tables/zerrors_portable.cc   kPortableErrors  } declared in
    src/tables/zerrors_linux.cc      kLinuxErrors     } src/tables/
    src/tables/zerrors_darwin.cc     kDarwinErrors    } error_tables.h
    src/tables/zerrors_windows.cc    kWindowsErrors   }

The portable codes are GORT_OK = 0; GORT_E<X> = -<Linux value> for every
asm-generic errno; GORT_E<X> = -(1000 + <Darwin value>) for every errno only
Darwin has; GORT_EUNKNOWN = -4094 (an OS error with no portable equivalent)
and GORT_EOF = -4095 (end of file); -4000..-4093 are reserved.

Every output goes through clang-format (14 or later, for --style=file:) with
the repository's .clang-format. Same inputs and clang-format, same bytes.
Python 3.11, standard library only.
"""

import argparse
import dataclasses
import os
import re
import sys
from pathlib import Path

import gen_common

REPO_ROOT = gen_common.REPO_ROOT

DEFAULT_LINUX_BASE = "/usr/include/asm-generic/errno-base.h"
DEFAULT_LINUX = "/usr/include/asm-generic/errno.h"
# Where scripts/setup.sh caches zig (and so the macOS headers).
GORT_CACHE = os.environ.get("GORT_CACHE") or os.path.expanduser(
    "~/.cache/gort")
DEFAULT_DARWIN = os.path.join(
    GORT_CACHE,
    "zig-0.11.0/lib/libc/include/any-macos-any/sys/errno.h")
DEFAULT_WINDOWS = "/usr/share/mingw-w64/include/winerror.h"
DEFAULT_WINSOCK = "/usr/share/mingw-w64/include/winsock2.h"
DEFAULT_WSA_ERRNOS = "/usr/share/mingw-w64/include/psdk_inc/_wsa_errnos.h"

OUT_HEADER = "include/gort/error_codes.h"
OUT_PORTABLE = "src/tables/zerrors_portable.cc"
OUT_LINUX = "src/tables/zerrors_linux.cc"
OUT_DARWIN = "src/tables/zerrors_darwin.cc"
OUT_WINDOWS = "src/tables/zerrors_windows.cc"

# Darwin-only errnos become -(DARWIN_OFFSET + value).
DARWIN_OFFSET = 1000
# gort's own codes, at the bottom of the range; -4000..-4093 stay reserved.
GORT_RESERVED_FIRST = -4000
GORT_EUNKNOWN = -4094
GORT_EOF = -4095

# Windows ERROR_* codes at or above this are skipped (winerror.h has few, all
# for specialised subsystems).
WINDOWS_ERROR_LIMIT = 16000
# The Winsock range.
WSA_FIRST, WSA_LAST = 10000, 11999
# Windows names that are neither ERROR_* nor WSA* but are GetLastError()
# values all the same.
WINDOWS_EXTRA_NAMES = ("NO_ERROR", "WAIT_TIMEOUT")
# Defines that look like errors but are not.
NOT_ERRORS = {"WSABASEERR"}
# A define whose value is that of another errno, not an errno of its own:
# Darwin's ELAST, "must be equal largest errno".
VALUE_ALIASES = {"ELAST"}
# Aliases Linux's C libraries add to the kernel's: glibc's bits/errno.h and
# musl's bits/errno.h define ENOTSUP as EOPNOTSUPP.
LINUX_LIBC_ALIASES = {"ENOTSUP": "EOPNOTSUPP"}

# Messages are sentence case; these capitalised words are names, not the
# start of a sentence ("Malformed Macho file" is about Mach-O).
PROPER_NOUNS = {"Macho"}

# Aliases gort adds to Linux's: name -> (target, doc). asm-generic has no
# ENOTSUP (glibc defines it as EOPNOTSUPP); Darwin's ENOTSUP, a value of its
# own there, maps to it too.
EXTRA_PORTABLE_ALIASES = {
    "ENOTSUP": ("EOPNOTSUPP", "operation not supported; one error with "
                "EOPNOTSUPP, as on Linux"),
}

# Messages for Winsock codes that have no errno namesake (the WSAE<X> codes
# take the Linux, else Darwin, message of E<X>). They paraphrase the
# "Windows Sockets Error Codes" page of the Win32 docs; winerror.h itself has
# no messages.
WSA_MESSAGES = {
    "WSASYSNOTREADY": "network subsystem is unavailable",
    "WSAVERNOTSUPPORTED": "winsock.dll version out of range",
    "WSANOTINITIALISED": "successful WSAStartup not yet performed",
    "WSAEDISCON": "graceful shutdown in progress",
    "WSAENOMORE": "no more results",
    "WSAECANCELLED": "call has been canceled",
    "WSAEINVALIDPROCTABLE": "procedure call table is invalid",
    "WSAEINVALIDPROVIDER": "service provider is invalid",
    "WSAEPROVIDERFAILEDINIT": "service provider failed to initialize",
    "WSASYSCALLFAILURE": "system call failure",
    "WSASERVICE_NOT_FOUND": "service not found",
    "WSATYPE_NOT_FOUND": "class type not found",
    "WSA_E_NO_MORE": "no more results",
    "WSA_E_CANCELLED": "call was canceled",
    "WSAEREFUSED": "database query was refused",
    "WSAHOST_NOT_FOUND": "host not found",
    "WSATRY_AGAIN": "nonauthoritative host not found",
    "WSANO_RECOVERY": "nonrecoverable name server error",
    "WSANO_DATA": "valid name, no data record of requested type",
    "WSA_QOS_RECEIVERS": "QoS receivers",
    "WSA_QOS_SENDERS": "QoS senders",
    "WSA_QOS_NO_SENDERS": "no QoS senders",
    "WSA_QOS_NO_RECEIVERS": "no QoS receivers",
    "WSA_QOS_REQUEST_CONFIRMED": "QoS request confirmed",
    "WSA_QOS_ADMISSION_FAILURE": "QoS admission error",
    "WSA_QOS_POLICY_FAILURE": "QoS policy failure",
    "WSA_QOS_BAD_STYLE": "QoS bad style",
    "WSA_QOS_BAD_OBJECT": "QoS bad object",
    "WSA_QOS_TRAFFIC_CTRL_ERROR": "QoS traffic control error",
    "WSA_QOS_GENERIC_ERROR": "QoS generic error",
    "WSA_QOS_ESERVICETYPE": "QoS service type error",
    "WSA_QOS_EFLOWSPEC": "QoS flowspec error",
    "WSA_QOS_EPROVSPECBUF": "invalid QoS provider buffer",
    "WSA_QOS_EFILTERSTYLE": "invalid QoS filter style",
    "WSA_QOS_EFILTERTYPE": "invalid QoS filter type",
    "WSA_QOS_EFILTERCOUNT": "incorrect QoS filter count",
    "WSA_QOS_EOBJLENGTH": "invalid QoS object length",
    "WSA_QOS_EFLOWCOUNT": "incorrect QoS flow count",
    "WSA_QOS_EUNKNOWNPSOBJ": "unrecognized QoS object",
    "WSA_QOS_EPOLICYOBJ": "invalid QoS policy object",
    "WSA_QOS_EFLOWDESC": "invalid QoS flow descriptor",
    "WSA_QOS_EPSFLOWSPEC": "invalid QoS provider-specific flowspec",
    "WSA_QOS_EPSFILTERSPEC": "invalid QoS provider-specific filterspec",
    "WSA_QOS_ESDMODEOBJ": "invalid QoS shape discard mode object",
    "WSA_QOS_ESHAPERATEOBJ": "invalid QoS shaping rate object",
    "WSA_QOS_RESERVED_PETYPE": "reserved policy QoS element type",
}

# Windows error -> portable code (a name without the GORT_ prefix: "ENOENT",
# "EOF", "OK"). This mirrors what Go's syscall.Errno.Is, libuv's
# uv_translate_sys_error and the Win32 docs say; where those are silent, the
# MSVC CRT's _dosmaperr and Cygwin's errmap. Every WSAE<X> whose E<X> is a
# portable code maps to it without being listed here (WSAECONNRESET ->
# ECONNRESET, WSAEWOULDBLOCK -> EWOULDBLOCK = EAGAIN); an entry here wins over
# that rule. Everything else maps to EUNKNOWN. Only mappings we are confident
# about are listed; a name missing from the input header is reported and
# ignored.
WINDOWS_MAPPING = {
    "ERROR_SUCCESS": "OK",
    "NO_ERROR": "OK",
    # Does not exist: Go's Errno.Is(fs.ErrNotExist), libuv.
    "ERROR_FILE_NOT_FOUND": "ENOENT",
    "ERROR_PATH_NOT_FOUND": "ENOENT",
    "ERROR_BAD_NETPATH": "ENOENT",
    "ERROR_INVALID_DRIVE": "ENOENT",  # libuv
    "ERROR_BAD_NET_NAME": "ENOENT",  # the share does not exist
    "ERROR_MOD_NOT_FOUND": "ENOENT",  # libuv; a DLL that is not there
    "ERROR_BAD_PATHNAME": "ENOENT",  # libuv
    # libuv; Go leaves it out of ErrNotExist: a syntactically bad name
    # ("a:b", "con?") cannot exist, but EINVAL would be defensible too.
    "ERROR_INVALID_NAME": "ENOENT",
    "ERROR_ENVVAR_NOT_FOUND": "ENOENT",  # libuv
    # "The directory name is invalid": a file where a directory was expected
    # (libuv says ENOENT).
    "ERROR_DIRECTORY": "ENOTDIR",
    # Permission: Go's Errno.Is(fs.ErrPermission). libuv says EPERM for
    # ERROR_ACCESS_DENIED; EACCES is what POSIX open() would say.
    "ERROR_ACCESS_DENIED": "EACCES",
    "ERROR_NETWORK_ACCESS_DENIED": "EACCES",
    "ERROR_CANT_ACCESS_FILE": "EACCES",  # libuv
    "ERROR_ELEVATION_REQUIRED": "EACCES",  # libuv; not in mingw-w64 10
    "ERROR_PRIVILEGE_NOT_HELD": "EPERM",  # libuv
    "ERROR_NOT_OWNER": "EPERM",  # releasing a mutex one does not own
    # Another process holds the file or a lock on it (libuv).
    "ERROR_SHARING_VIOLATION": "EBUSY",
    "ERROR_LOCK_VIOLATION": "EBUSY",
    "ERROR_PIPE_BUSY": "EBUSY",
    "ERROR_BUSY": "EBUSY",
    "ERROR_DRIVE_LOCKED": "EBUSY",
    # Bad handles.
    "ERROR_INVALID_HANDLE": "EBADF",
    "ERROR_INVALID_TARGET_HANDLE": "EBADF",
    "ERROR_DIRECT_ACCESS_HANDLE": "EBADF",
    # Memory.
    "ERROR_NOT_ENOUGH_MEMORY": "ENOMEM",
    "ERROR_OUTOFMEMORY": "ENOMEM",
    "ERROR_COMMITMENT_LIMIT": "ENOMEM",  # the page file is full
    "ERROR_NOT_ENOUGH_QUOTA": "ENOMEM",  # MSVC CRT
    "ERROR_NOACCESS": "EFAULT",  # invalid access to memory location
    # Exists: Go's Errno.Is(fs.ErrExist). Go also counts ERROR_DIR_NOT_EMPTY
    # as "exists"; it maps to ENOTEMPTY below, which Go treats the same way.
    "ERROR_FILE_EXISTS": "EEXIST",
    "ERROR_ALREADY_EXISTS": "EEXIST",
    "ERROR_DIR_NOT_EMPTY": "ENOTEMPTY",
    "ERROR_TOO_MANY_OPEN_FILES": "EMFILE",
    # Invalid arguments. libuv says EBADF for ERROR_INVALID_FLAGS.
    "ERROR_INVALID_PARAMETER": "EINVAL",
    "ERROR_INVALID_FLAGS": "EINVAL",
    "ERROR_BAD_ARGUMENTS": "EINVAL",
    "ERROR_INVALID_DATA": "EINVAL",  # libuv
    "ERROR_NEGATIVE_SEEK": "EINVAL",
    # readlink() of something that is not a symlink is EINVAL in POSIX.
    "ERROR_NOT_A_REPARSE_POINT": "EINVAL",
    # "Incorrect function": an operation the device or file system does not
    # do. libuv says EISDIR (its usual cause is ReadFile on a directory);
    # the MSVC CRT says EINVAL, which is right more often.
    "ERROR_INVALID_FUNCTION": "EINVAL",
    "ERROR_SEEK_ON_DEVICE": "ESPIPE",
    # Pipes. libuv makes ERROR_BROKEN_PIPE UV_EOF (a read from a pipe whose
    # writer has gone: Go's os.File.Read turns it into io.EOF too); as a raw
    # error it is EPIPE.
    "ERROR_BROKEN_PIPE": "EPIPE",
    "ERROR_NO_DATA": "EPIPE",  # the pipe is being closed
    "ERROR_PIPE_NOT_CONNECTED": "EPIPE",
    "ERROR_BAD_PIPE": "EPIPE",
    "ERROR_HANDLE_EOF": "EOF",
    # Space.
    "ERROR_DISK_FULL": "ENOSPC",
    "ERROR_HANDLE_DISK_FULL": "ENOSPC",
    "ERROR_FILE_TOO_LARGE": "EFBIG",
    "ERROR_TOO_MANY_LINKS": "EMLINK",
    # Unsupported: Go's Errno.Is(errors.ErrUnsupported).
    "ERROR_NOT_SUPPORTED": "ENOTSUP",
    "ERROR_CALL_NOT_IMPLEMENTED": "ENOSYS",
    # Names too long. libuv says EFAULT for ERROR_BUFFER_OVERFLOW, but its
    # Win32 text is "The file name is too long".
    "ERROR_BUFFER_OVERFLOW": "ENAMETOOLONG",
    "ERROR_FILENAME_EXCED_RANGE": "ENAMETOOLONG",
    # The caller's buffer is too small (libuv: EINVAL; ERANGE is what POSIX
    # getcwd() says in that case).
    "ERROR_INSUFFICIENT_BUFFER": "ENOBUFS",
    # Not a failure: overlapped I/O was queued. Go's internal/poll waits for
    # it and never surfaces it; EINPROGRESS is the closest errno.
    "ERROR_IO_PENDING": "EINPROGRESS",
    # CancelIoEx, or the thread issuing the I/O exited; winsock2.h's
    # WSA_OPERATION_ABORTED is this same value.
    "ERROR_OPERATION_ABORTED": "ECANCELED",
    "ERROR_CANCELLED": "ECANCELED",  # cancelled by the user
    "WSAECANCELLED": "ECANCELED",
    "WSA_E_CANCELLED": "ECANCELED",
    # Timeouts.
    "ERROR_TIMEOUT": "ETIMEDOUT",
    "WAIT_TIMEOUT": "ETIMEDOUT",
    "ERROR_SEM_TIMEOUT": "ETIMEDOUT",  # libuv; named pipes and sockets
    # Devices and media.
    "ERROR_NOT_SAME_DEVICE": "EXDEV",
    "ERROR_WRITE_PROTECT": "EROFS",
    # "The device is not ready", mostly a removable drive without media
    # (Cygwin maps it the same way; some CRTs say EBUSY). EAGAIN would
    # wrongly suggest that a retry helps.
    "ERROR_NOT_READY": "ENOMEDIUM",
    "ERROR_BAD_UNIT": "ENODEV",  # "cannot find the device"; or ENXIO
    "ERROR_BAD_DEVICE": "ENODEV",
    "ERROR_DEV_NOT_EXIST": "ENODEV",
    "ERROR_CRC": "EIO",  # libuv
    "ERROR_GEN_FAILURE": "EIO",  # libuv
    "ERROR_IO_DEVICE": "EIO",  # libuv
    "ERROR_DISK_CORRUPT": "EIO",  # libuv
    "ERROR_OPEN_FAILED": "EIO",  # libuv
    "ERROR_READ_FAULT": "EIO",
    "ERROR_WRITE_FAULT": "EIO",
    "ERROR_SECTOR_NOT_FOUND": "EIO",
    # Network. ERROR_NETNAME_DELETED is what an overlapped socket operation
    # reports when the peer resets the connection (libuv; Go's internal/poll
    # handles it like WSAECONNRESET).
    "ERROR_NETNAME_DELETED": "ECONNRESET",
    "ERROR_CONNECTION_ABORTED": "ECONNABORTED",
    "ERROR_CONNECTION_REFUSED": "ECONNREFUSED",
    "ERROR_NETWORK_UNREACHABLE": "ENETUNREACH",
    "ERROR_HOST_UNREACHABLE": "EHOSTUNREACH",
    "ERROR_ADDRESS_ALREADY_ASSOCIATED": "EADDRINUSE",
    "ERROR_NOT_CONNECTED": "ENOTCONN",  # libuv
    # Processes.
    "ERROR_BAD_EXE_FORMAT": "ENOEXEC",
    "ERROR_BAD_FORMAT": "ENOEXEC",
    "ERROR_WAIT_NO_CHILDREN": "ECHILD",
    "ERROR_NO_PROC_SLOTS": "EAGAIN",  # as fork() says; so does the MSVC CRT
    "ERROR_MAX_THRDS_REACHED": "EAGAIN",  # as pthread_create() says
    "ERROR_POSSIBLE_DEADLOCK": "EDEADLK",
    # Misc.
    "ERROR_CANT_RESOLVE_FILENAME": "ELOOP",  # libuv; symlink loop
    "ERROR_NO_UNICODE_TRANSLATION": "EILSEQ",  # libuv has its own ECHARSET
    # The peer started a graceful shutdown of a message-oriented socket;
    # Winsock returns it from WSARecv only, so it is an end of stream rather
    # than the EPIPE a write would give.
    "WSAEDISCON": "EOF",
    # Resolver errors (h_errno style) have no errno; libuv says ENOENT for
    # WSAHOST_NOT_FOUND and WSANO_DATA, which hides the DNS nature. Left
    # EUNKNOWN on purpose, with WSATRY_AGAIN, WSANO_RECOVERY and the
    # Winsock start-up errors (WSANOTINITIALISED, WSASYSNOTREADY, ...).
}


@dataclasses.dataclass(frozen=True)
class Errno:
    """One errno define: a name, its value and the header's message."""

    name: str
    value: int
    message: str


@dataclasses.dataclass
class ErrnoHeader:
    """The errno values of one OS: numeric defines and aliases."""

    errnos: list[Errno]  # in file order, names unique
    aliases: dict[str, str]  # alias name -> target name
    alias_messages: dict[str, str]  # alias name -> its own comment, if any

    def by_name(self) -> dict[str, Errno]:
        return {e.name: e for e in self.errnos}

    def resolve(self, name: str) -> str:
        """The numeric name behind name (itself if not an alias)."""
        seen = set()
        while name in self.aliases:
            if name in seen:
                raise ValueError(f"alias loop at {name}")
            seen.add(name)
            name = self.aliases[name]
        return name


@dataclasses.dataclass(frozen=True)
class WinError:
    """One Windows error code."""

    name: str
    value: int
    message: str


@dataclasses.dataclass(frozen=True)
class Portable:
    """One portable gort code; name has no GORT_ prefix."""

    name: str
    value: int
    message: str


@dataclasses.dataclass
class PortableSet:
    """All portable codes plus the alias macros."""

    codes: list[Portable]  # sorted by value, descending (GORT_OK first)
    aliases: dict[str, str]  # alias -> canonical, e.g. EWOULDBLOCK -> EAGAIN
    alias_docs: dict[str, str]  # alias -> message for its Doxygen comment

    def canonical(self, name: str) -> str:
        """Maps an alias to the enumerator it stands for."""
        return self.aliases.get(name, name)

    def names(self) -> set[str]:
        return {c.name for c in self.codes}


# --------------------------------------------------------------------------
# Reading the inputs.

# `#define NAME VALUE /* comment */`; VALUE is one token (a number or a name).
ERRNO_DEFINE = re.compile(
    r"^\s*#\s*define\s+(E[A-Z0-9]+)\s+(\w+)\s*(?:/\*\s*(.*?)\s*\*/)?\s*$")


def sentence_case(message: str) -> str:
    """Normalises a header's message: no trailing period, lower-case words.

    Capitalised words become lower case ("Operation Canceled" -> "operation
    canceled"); acronyms ("I/O", "RPC", "XENIX") and PROPER_NOUNS stay.
    """
    message = " ".join(message.split()).rstrip(".")
    words = []
    for word in message.split(" "):
        is_acronym = sum(c.isupper() for c in word) >= 2 or "/" in word
        if (word[:1].isupper() and not is_acronym and
            word.strip(",.;:") not in PROPER_NOUNS):
            word = word[0].lower() + word[1:]
        words.append(word)
    return " ".join(words)


def parse_errno_headers(paths: list[str]) -> ErrnoHeader:
    """Reads `#define E<X> <value> /* message */` lines from C headers.

    Preprocessor conditionals are ignored: every define counts. When a name
    is defined both as a number and as an alias (Darwin's EOPNOTSUPP), the
    number wins.
    """
    errnos: dict[str, Errno] = {}
    aliases: dict[str, str] = {}
    alias_messages: dict[str, str] = {}
    value_aliases: dict[str, int] = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = ERRNO_DEFINE.match(line)
                if not m:
                    continue
                name, value, comment = m.group(1), m.group(2), m.group(3)
                if name in NOT_ERRORS:
                    continue
                if name in VALUE_ALIASES and value.isdigit():
                    value_aliases[name] = int(value)
                    continue
                if value.isdigit():
                    old = errnos.get(name)
                    if old and old.value != int(value):
                        raise ValueError(f"{path}: {name} defined as "
                                         f"{old.value} and {value}")
                    if not comment:
                        raise ValueError(f"{path}: {name} has no message")
                    errnos[name] = Errno(name, int(value),
                                         sentence_case(comment))
                else:
                    aliases[name] = value
                    if comment:
                        alias_messages[name] = sentence_case(comment)
    for name in errnos:
        aliases.pop(name, None)
        alias_messages.pop(name, None)
    for name, value in value_aliases.items():
        target = [e.name for e in errnos.values() if e.value == value]
        if not target:
            raise ValueError(f"{name} = {value}, which no errno has")
        aliases[name] = target[0]
    header = ErrnoHeader(list(errnos.values()), aliases, alias_messages)
    for alias in aliases:
        if header.resolve(alias) not in errnos:
            raise ValueError(f"{alias} is an alias of unknown {aliases[alias]}")
    return header


def parse_linux(paths: list[str]) -> ErrnoHeader:
    """asm-generic errno-base.h + errno.h: the Linux errno values."""
    return parse_errno_headers(paths)


def parse_darwin(path: str) -> ErrnoHeader:
    """macOS <sys/errno.h>, guards and all."""
    return parse_errno_headers([path])


def _eval_c_int(expr: str, known: dict[str, int]) -> int | None:
    """Evaluates a C integer expression of decimal literals, known macro
    names, `+`, `-` and parentheses; None if it is anything else."""
    expr = re.sub(r"__MSABI_LONG\(([^()]*)\)", r"(\1)", expr)
    tokens = re.findall(r"\s*(\d+[uUlL]*|\w+|[()+-]|\S)", expr)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary() -> int | None:
        if peek() is None:
            return None
        tok = take()
        if tok == "(":
            v = additive()
            if v is None or peek() != ")":
                return None
            take()
            return v
        if tok == "-":
            v = primary()
            return None if v is None else -v
        if re.fullmatch(r"\d+[uUlL]*", tok):
            digits = tok.rstrip("uUlL")
            if len(digits) > 1 and digits.startswith("0"):
                return None  # octal: not what error headers use
            return int(digits)
        if re.fullmatch(r"[A-Za-z_]\w*", tok):
            return known.get(tok)
        return None

    def additive() -> int | None:
        v = primary()
        while v is not None and peek() in ("+", "-"):
            op = take()
            rhs = primary()
            if rhs is None:
                return None
            v = v + rhs if op == "+" else v - rhs
        return v

    value = additive()
    return value if value is not None and pos == len(tokens) else None


def _win_message(name: str, linux: ErrnoHeader, darwin: ErrnoHeader) -> str:
    """winerror.h has no messages: curated for Winsock, the errno's message for
    WSAE<X>, else derived from the name ("ERROR_FILE_NOT_FOUND" -> "file not
    found")."""
    if name in WSA_MESSAGES:
        return WSA_MESSAGES[name]
    if name.startswith("WSAE"):
        errno_name = name[3:]
        for header in (linux, darwin):
            if errno_name in header.alias_messages:
                return header.alias_messages[errno_name]
            resolved = header.resolve(errno_name)
            if resolved == errno_name and errno_name in header.by_name():
                return header.by_name()[errno_name].message
    for prefix in ("ERROR_", "WSA_", "WSA"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return name.lower().replace("_", " ")


def parse_windows(path: str, linux: ErrnoHeader, darwin: ErrnoHeader
                  ) -> tuple[list[WinError], dict[str, str]]:
    """mingw-w64 winerror.h: ERROR_* below WINDOWS_ERROR_LIMIT, NO_ERROR,
    WAIT_TIMEOUT and WSA* (resolving `(WSABASEERR + n)`).

    Skips HRESULTs (_HRESULT_TYPEDEF_(0x...)), values it cannot resolve and
    later names of a value already seen. Returns the errors in file order and
    the names dropped as duplicates, each with the name of its value.
    """
    define = re.compile(r"^\s*#\s*define\s+(\w+)\s+(.*?)\s*$")
    known: dict[str, int] = {}  # every resolvable define, for WSABASEERR & co
    by_value: dict[int, WinError] = {}
    duplicates: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = re.sub(r"/\*.*?\*/|//.*", "", line)
            m = define.match(line)
            if not m:
                continue
            name, expr = m.group(1), m.group(2)
            value = _eval_c_int(expr, known)
            if value is None:
                continue
            known[name] = value
            if name in NOT_ERRORS:
                continue
            if name.startswith("ERROR_") or name in WINDOWS_EXTRA_NAMES:
                # A plain decimal: 5, 5L or __MSABI_LONG(5).
                if not re.fullmatch(r"\d+[lL]?|__MSABI_LONG\(\d+[lL]?\)", expr):
                    continue
                if value >= WINDOWS_ERROR_LIMIT:
                    continue
            elif name.startswith("WSA"):
                if not WSA_FIRST <= value <= WSA_LAST:
                    continue
            else:
                continue
            if value in by_value:
                duplicates[name] = by_value[value].name
                continue
            by_value[value] = WinError(name, value,
                                       _win_message(name, linux, darwin))
    return list(by_value.values()), duplicates


def parse_winsock_aliases(paths: list[str],
                          names: set[str]) -> dict[str, str]:
    """`#define WSA<X> (<NAME>)` of winsock2.h and _wsa_errnos.h: alias ->
    target, for the targets that are Windows errors (`names`);
    WSA_WAIT_FAILED, WSA_INFINITE and the like name other constants."""
    define = re.compile(r"^\s*#\s*define\s+(WSA\w+)\s+\(?(\w+)\)?\s*$")
    out: dict[str, str] = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = define.match(re.sub(r"/\*.*?\*/|//.*", "", line))
                if m and m.group(2) in names and m.group(1) not in names:
                    out[m.group(1)] = m.group(2)
    return out


def alias_rows(aliases: dict[str, str],
               raw_of: dict[str, int]) -> list[tuple[int, str]]:
    """(raw, alias) for each alias, by the raw value of its target."""
    return sorted((raw_of[target], alias) for alias, target in aliases.items())


# --------------------------------------------------------------------------
# Building the portable codes and the mappings.


def build_portable(linux: ErrnoHeader, darwin: ErrnoHeader) -> PortableSet:
    """GORT_OK, the Linux names, the Darwin-only names and gort's own."""
    codes = [Portable("OK", 0, "success")]
    for e in linux.errnos:
        if not 0 < e.value < DARWIN_OFFSET:
            raise ValueError(f"Linux {e.name}={e.value} out of range")
        codes.append(Portable(e.name, -e.value, e.message))

    aliases = {a: linux.resolve(a) for a in linux.aliases}
    alias_docs = dict(linux.alias_messages)
    for alias, (target, doc) in EXTRA_PORTABLE_ALIASES.items():
        if alias not in aliases and alias not in linux.by_name():
            aliases[alias] = target
            alias_docs[alias] = doc
    linux_names = set(linux.by_name()) | set(aliases)
    for e in darwin.errnos:
        if e.name in linux_names:
            continue
        if not 0 < e.value < DARWIN_OFFSET:
            raise ValueError(f"Darwin {e.name}={e.value} out of range")
        codes.append(Portable(e.name, -(DARWIN_OFFSET + e.value), e.message))

    codes.append(Portable("EUNKNOWN", GORT_EUNKNOWN, "unknown error"))
    codes.append(Portable("EOF", GORT_EOF, "end of file"))
    for alias in aliases:
        if alias not in alias_docs:
            alias_docs[alias] = next(c.message for c in codes
                                     if c.name == aliases[alias])

    codes.sort(key=lambda c: -c.value)
    values = [c.value for c in codes]
    if len(set(values)) != len(values):
        raise ValueError("duplicate portable values")
    if any(GORT_EUNKNOWN < v <= GORT_RESERVED_FIRST for v in values):
        raise ValueError("a portable code fell into the reserved range")
    return PortableSet(codes, aliases, alias_docs)


def errno_to_portable(name: str, header: ErrnoHeader,
                      portable: PortableSet) -> str:
    """The portable code for an errno name of a Unix table."""
    name = portable.canonical(header.resolve(name))
    if name not in portable.names():
        raise ValueError(f"no portable code for {name}")
    return name


def windows_to_portable(err: WinError, portable: PortableSet) -> str:
    """WINDOWS_MAPPING, else WSAE<X> -> E<X>, else EUNKNOWN."""
    if err.name in WINDOWS_MAPPING:
        return portable.canonical(WINDOWS_MAPPING[err.name])
    if err.name.startswith("WSAE"):
        errno_name = portable.canonical(err.name[3:])
        if errno_name in portable.names():
            return errno_name
    return "EUNKNOWN"


# --------------------------------------------------------------------------
# Writing the outputs.


def display_path(path: str) -> str:
    """A path for the "Code generated" line, the same on every machine."""
    for var, prefix in (("$GORT_CACHE", GORT_CACHE),
                        ("$HOME", os.path.expanduser("~"))):
        if path.startswith(prefix.rstrip(os.sep) + os.sep):
            return var + path[len(prefix.rstrip(os.sep)):]
    return path


def generated_banner(inputs: list[str]) -> str:
    """The first comment of every output, one input per line so that it stays
    within the 80 columns of .clang-format (which would reflow it)."""
    shown = [display_path(p) for p in inputs]
    lines = ["// SPDX-License-Identifier: BSD-3-Clause",
             "// Code generated by tools/gen_errors.py from"]
    lines += [f"// {p}," for p in shown[:-1]]
    lines += [f"// {shown[-1]};", "// DO NOT EDIT."]
    return "\n".join(lines) + "\n"


def c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def gort(name: str) -> str:
    return "GORT_" + name


def render_header(portable: PortableSet, inputs: list[str]) -> str:
    """include/gort/error_codes.h: the core's codes, plain C99 and C++."""
    linux_max = max(-c.value for c in portable.codes
                    if -c.value < DARWIN_OFFSET)
    out = [generated_banner(inputs)]
    out.append(f"""
/**
 * @file error_codes.h
 * @brief gort's portable error codes.
 *
 * Plain C99 and C++; includes nothing. The core (src/, include/gort/) uses
 * these names directly; the C ABI's gort_errno.h includes this header, so C
 * programs and the C++ API see one set of values.
 */
#ifndef GORT_GORT_ERROR_CODES_H_
#define GORT_GORT_ERROR_CODES_H_

/**
 * A portable error code: 0 for success, else negative, the same on every OS.
 *
 * OS errors (errno, Win32 ERROR_*, Winsock WSA*) are translated to these.
 * The values:
 *  - 0: #GORT_OK;
 *  - -1 .. -{linux_max}: the Linux (asm-generic) errno of the same name,
 *    negated;
 *  - -{DARWIN_OFFSET + 1} .. -{2 * DARWIN_OFFSET - 1}: errnos only Darwin has,
 *    -({DARWIN_OFFSET} + the Darwin value);
 *  - {GORT_RESERVED_FIRST} .. {GORT_EUNKNOWN + 1}: reserved, unused;
 *  - {GORT_EUNKNOWN}: #GORT_EUNKNOWN, an OS error with no portable equivalent
 *    (the raw OS value is kept elsewhere);
 *  - {GORT_EOF}: #GORT_EOF, end of file.
 *
 * Some names are aliases (GORT_EWOULDBLOCK is GORT_EAGAIN): see the macros
 * after the enum. gort::Error (gort/errno.h) and, in C, gort_err_name() and
 * gort_strerror() (gort.h) give a code's name and message.
 */
typedef enum gort_errno {{
""")
    for c in portable.codes:
        out.append(f"  {gort(c.name)} = {c.value}, /**< {c.message} */\n")
    out.append("} gort_errno_t;\n\n")
    for alias in sorted(portable.aliases):
        target = portable.aliases[alias]
        out.append(f"/** {alias}: alias of #{gort(target)} "
                   f"({portable.alias_docs[alias]}). */\n")
        out.append(f"#define {gort(alias)} {gort(target)}\n")
    out.append("\n#endif  // GORT_GORT_ERROR_CODES_H_\n")
    return "".join(out)


def render_table(symbol: str, rows: list[tuple[int, str, str, str]],
                 inputs: list[str], what: str,
                 aliases: list[tuple[int, str]]) -> str:
    """A zerrors_*.cc: rows are (raw, name, message, portable name), aliases
    (raw, alias name)."""
    rows = sorted(rows)
    raws = [r[0] for r in rows]
    if len(set(raws)) != len(raws):
        raise ValueError(f"{symbol}: duplicate raw values")
    names = {r[1] for r in rows}
    for raw, alias in aliases:
        if raw not in raws or alias in names:
            raise ValueError(f"{symbol}: alias {alias} = {raw}?")
    out = [generated_banner(inputs)]
    out.append(f"""
// {what}

#include "gort/error_codes.h"
#include "tables/error_tables.h"

namespace gort::internal {{
namespace {{

constexpr ErrorEntry kEntries[] = {{
""")
    for raw, name, message, port in rows:
        out.append(f"    {{{raw}, {c_string(name)}, {c_string(message)}, "
                   f"{gort(port)}}},\n")
    out.append("};\n\n// Second names of the values above, by value.\n"
               "constexpr ErrorAlias kAliases[] = {\n")
    for raw, alias in aliases:
        out.append(f"    {{{c_string(alias)}, {raw}}},\n")
    out.append(f"""}};

}}  // namespace

const ErrorTable {symbol} = {{kEntries, sizeof(kEntries) / sizeof(kEntries[0]),
                              kAliases,
                              sizeof(kAliases) / sizeof(kAliases[0])}};

}}  // namespace gort::internal
""")
    return "".join(out)



def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--linux-base", default=DEFAULT_LINUX_BASE,
                        help="asm-generic/errno-base.h")
    parser.add_argument("--linux", default=DEFAULT_LINUX,
                        help="asm-generic/errno.h")
    parser.add_argument("--darwin", default=DEFAULT_DARWIN,
                        help="macOS sys/errno.h")
    parser.add_argument("--windows", default=DEFAULT_WINDOWS,
                        help="mingw-w64 winerror.h")
    parser.add_argument("--winsock", default=DEFAULT_WINSOCK,
                        help="mingw-w64 winsock2.h (the WSA_* aliases)")
    parser.add_argument("--wsa-errnos", default=DEFAULT_WSA_ERRNOS,
                        help="mingw-w64 psdk_inc/_wsa_errnos.h (WSANO_ADDRESS)")
    parser.add_argument("--out-dir", default=str(REPO_ROOT),
                        help="where the output paths are rooted")
    parser.add_argument("--clang-format", default="clang-format",
                        help="clang-format binary; empty to skip formatting")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if an output is stale")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print table sizes and notes")
    args = parser.parse_args()

    fmt = gen_common.find_clang_format(args.clang_format, "gen_errors")

    linux_inputs = [args.linux_base, args.linux]
    linux = parse_linux(linux_inputs)
    darwin = parse_darwin(args.darwin)
    windows, win_duplicates = parse_windows(args.windows, linux, darwin)
    portable = build_portable(linux, darwin)

    # Sanity: the mapping names real codes and (mostly) real Windows errors.
    for name, target in WINDOWS_MAPPING.items():
        if portable.canonical(target) not in portable.names():
            raise ValueError(f"WINDOWS_MAPPING[{name}]: no portable {target}")
    win_names = {w.name for w in windows} | set(win_duplicates)
    win_raw = {w.name: w.value for w in windows}
    win_aliases = dict(win_duplicates)
    win_aliases.update(parse_winsock_aliases([args.winsock, args.wsa_errnos],
                                             set(win_raw)))
    linux_raw = {e.name: e.value for e in linux.errnos}
    linux_aliases = {a: linux.resolve(a) for a in linux.aliases}
    for alias, target in LINUX_LIBC_ALIASES.items():
        linux_aliases.setdefault(alias, target)
    darwin_raw = {e.name: e.value for e in darwin.errnos}
    darwin_aliases = {a: darwin.resolve(a) for a in darwin.aliases}
    portable_raw = {c.name: c.value for c in portable.codes}
    missing = sorted(set(WINDOWS_MAPPING) - win_names)
    if missing:
        print("gen_errors: note: mapped but not in " + args.windows + ": " +
              ", ".join(missing), file=sys.stderr)

    unix_inputs = [*linux_inputs, args.darwin]
    outputs = {
        OUT_HEADER: render_header(portable, unix_inputs),
        OUT_PORTABLE: render_table(
            "kPortableErrors",
            [(c.value, c.name, c.message, c.name)
             for c in portable.codes if c.name != "OK"],
            unix_inputs,
            "The portable codes of gort/error_codes.h: raw == portable.",
            alias_rows(portable.aliases, portable_raw)),
        OUT_LINUX: render_table(
            "kLinuxErrors",
            [(e.value, e.name, e.message,
              errno_to_portable(e.name, linux, portable))
             for e in linux.errnos],
            linux_inputs,
            "Linux errno values (asm-generic); aliases in kAliases.",
            alias_rows(linux_aliases, linux_raw)),
        OUT_DARWIN: render_table(
            "kDarwinErrors",
            [(e.value, e.name, e.message,
              errno_to_portable(e.name, darwin, portable))
             for e in darwin.errnos],
            [args.darwin],
            "Darwin (macOS) errno values; aliases in kAliases.",
            alias_rows(darwin_aliases, darwin_raw)),
        OUT_WINDOWS: render_table(
            "kWindowsErrors",
            [(w.value, w.name, w.message, windows_to_portable(w, portable))
             for w in windows],
            [args.windows, args.winsock, args.wsa_errnos, *unix_inputs],
            "Windows Win32 (ERROR_*) and Winsock (WSA*) codes; messages are "
            "derived from the names; aliases in kAliases.",
            alias_rows(win_aliases, win_raw)),
    }

    stale = gen_common.write_outputs(outputs, args.out_dir, fmt, args.check)

    if args.verbose:
        print(f"portable {len(portable.codes) - 1} (+ GORT_OK), "
              f"linux {len(linux.errnos)}, darwin {len(darwin.errnos)}, "
              f"windows {len(windows)} "
              f"(duplicates, kept as aliases: "
              f"{', '.join(win_duplicates) or 'none'}); aliases: linux "
              f"{len(linux_aliases)}, darwin {len(darwin_aliases)}, windows "
              f"{len(win_aliases)}, portable {len(portable.aliases)}")
    if args.check and stale:
        print("gen_errors: stale: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: BSD-3-Clause
# Checks that every gort_* function defined in the C ABI's sources
# (SRC_DIR/*.cc) is a function-try-block, so no C++ exception can leave it:
# its definition line(s) end in ") try {". Run with cmake -P.
file(GLOB sources "${SRC_DIR}/*.cc")
set(bad "")
set(count 0)
foreach(src IN LISTS sources)
  file(READ "${src}" text)
  # Definitions start at column 0 with a return type and gort_<name>(; the
  # header may span lines up to its opening brace.
  string(REGEX MATCHALL "\n(extern \"C\" )?[A-Za-z_][A-Za-z0-9_ *]*[ *]gort_[a-z0-9_]+\\([^;{]*\\{" defs "${text}")
  foreach(def IN LISTS defs)
    math(EXPR count "${count} + 1")
    if(NOT def MATCHES "\\) try \\{$")
      string(STRIP "${def}" def)
      string(APPEND bad "\n  ${src}: ${def}")
    endif()
  endforeach()
endforeach()
if(count LESS 54)
  message(FATAL_ERROR "only ${count} entry points found in ${SRC_DIR}: the pattern is stale")
endif()
if(bad)
  message(FATAL_ERROR "C ABI entry points without the exception guard:${bad}")
endif()
message(STATUS "${count} C ABI entry points, all guarded")

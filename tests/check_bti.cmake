# SPDX-License-Identifier: BSD-3-Clause
# arm64 branch protection of the hand-written shim (issue 10, item 8), run
# with cmake -P:
#   OBJ      the built src/linux/syscall_linux_arm64.S object
#   READELF  the target's readelf; OBJDUMP the target's objdump
#   CC       the target's C compiler; WORK a scratch directory
# Checks that the object carries the GNU property note BTI | PAC, that
# gortasm_syscall6 starts with `bti c`, and that a shared object linked from
# it and a C file compiled with -mbranch-protection=standard keeps BTI (the
# linker keeps a feature only when every input has it). The last link leaves
# out the C runtime's start files: Debian's cross glibc and GCC ship crti.o
# and crtbeginS.o without the note, so no library linked with them shows
# BTI on this toolchain, whatever gort does.
function(run out)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGN}\n${text}${err}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

run(notes ${READELF} -n ${OBJ})
if(NOT notes MATCHES "AArch64 feature: BTI, PAC")
  message(FATAL_ERROR "${OBJ}: no GNU property note with BTI and PAC:\n${notes}")
endif()

run(dis ${OBJDUMP} -d ${OBJ})
if(NOT dis MATCHES "<gortasm_syscall6>:\n +0:[ \t]+d503245f[ \t]+bti[ \t]+c")
  message(FATAL_ERROR "gortasm_syscall6 does not start with bti c:\n${dis}")
endif()

file(MAKE_DIRECTORY ${WORK})
file(WRITE ${WORK}/bti.c "int gort_bti_probe(void) { return 1; }\n")
run(ignored ${CC} -O2 -fPIC -mbranch-protection=standard -c ${WORK}/bti.c -o ${WORK}/bti.o)
run(ignored ${CC} -shared -nostdlib -o ${WORK}/libbti.so ${WORK}/bti.o ${OBJ})
run(lib ${READELF} -n ${WORK}/libbti.so)
if(NOT lib MATCHES "AArch64 feature: BTI, PAC")
  message(FATAL_ERROR "a library linked with the shim lost BTI:\n${lib}")
endif()
message(STATUS "syscall_linux_arm64.S: BTI and PAC note, bti c at the entry, kept by the linker")

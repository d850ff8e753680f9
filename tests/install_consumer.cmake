# SPDX-License-Identifier: BSD-3-Clause
# Installs the build tree into a scratch prefix, then configures, builds and
# runs tests/install_consumer against it: gortConfig.cmake, the version file,
# the exported targets and gort.pc work from an install.
set(prefix "${BUILD_DIR}/install-test/prefix")
set(consumer "${BUILD_DIR}/install-test/consumer")
file(REMOVE_RECURSE "${BUILD_DIR}/install-test")
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGN}\n${out}")
  endif()
  message(STATUS "${out}")
endfunction()
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/install_consumer" -B "${consumer}" -G Ninja
    "-DCMAKE_PREFIX_PATH=${prefix}")
run(${CMAKE_COMMAND} --build "${consumer}")
run("${consumer}/cxx")
run("${consumer}/c")
if(NOT EXISTS "${prefix}/lib/pkgconfig/gort.pc" AND NOT EXISTS "${prefix}/lib64/pkgconfig/gort.pc")
  message(FATAL_ERROR "gort.pc not installed")
endif()

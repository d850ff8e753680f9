# gort's sources: portable files once, then the OS folder's files. The OS
# files are "backend files"; gort-probe lists the ones a build uses.
set(GORT_PORTABLE_SOURCES
  src/error.cc
  src/platform.cc
  src/time.cc
  src/timer.cc
  src/tables/zerrors_portable.cc
  src/tables/zerrors_linux.cc
  src/tables/zerrors_darwin.cc
  src/tables/zerrors_windows.cc
  bindings/c/src/error_c.cc
  bindings/c/src/platform_c.cc
  bindings/c/src/time_c.cc)

if(GORT_OS STREQUAL "linux")
  set(GORT_BACKEND_SOURCES
    src/posix/errno_posix.cc
    src/posix/platform_posix.cc
    src/linux/platform_linux.cc
    src/linux/time_linux.cc)
  set(GORT_PLATFORM_LIBS "")
elseif(GORT_OS STREQUAL "darwin")
  set(GORT_BACKEND_SOURCES
    src/posix/errno_posix.cc
    src/posix/platform_posix.cc
    src/darwin/platform_darwin.cc
    src/darwin/time_darwin.cc)
  set(GORT_PLATFORM_LIBS "")
elseif(GORT_OS STREQUAL "windows")
  set(GORT_BACKEND_SOURCES
    src/windows/errno_windows.cc
    src/windows/platform_windows.cc
    src/windows/time_windows.cc)
  set(GORT_PLATFORM_LIBS ws2_32)
endif()

set(GORT_SOURCES ${GORT_PORTABLE_SOURCES} ${GORT_BACKEND_SOURCES})

# The backend list as C++ string literals, for gort_build_info.cc.
set(GORT_BACKEND_FILES_CXX "")
foreach(f IN LISTS GORT_BACKEND_SOURCES)
  string(APPEND GORT_BACKEND_FILES_CXX "\"${f}\", ")
endforeach()

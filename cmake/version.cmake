# Writes version.h with the version, build type, compiler and git revision; untouched when unchanged.
execute_process(COMMAND git -C ${SRC} describe --always --dirty --abbrev=12
  OUTPUT_VARIABLE GIT_REV OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT GIT_REV)
  set(GIT_REV "unknown")
endif()
set(CONTENT "/* Generated at build time by cmake/version.cmake. */
#define IPCBENCH_VERSION \"${VERSION}\"
#define IPCBENCH_BUILD_TYPE \"${BUILD_TYPE}\"
#define IPCBENCH_COMPILER \"${COMPILER}\"
#define IPCBENCH_GIT_REV \"${GIT_REV}\"
")
if(EXISTS ${OUT})
  file(READ ${OUT} OLD)
endif()
if(NOT "${OLD}" STREQUAL "${CONTENT}")
  file(WRITE ${OUT} "${CONTENT}")
endif()

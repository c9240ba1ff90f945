# Package test: build and install the library (shared or static) into a fresh prefix, then build
# and run tests/package/ against it using nothing but find_package(StatusStackWebhooks).
# Usage: cmake -DSOURCE_DIR=... -DWORK_DIR=... -DSHARED=ON|OFF [-DGENERATOR=...] -P run.cmake
foreach(var SOURCE_DIR WORK_DIR SHARED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake needs -D${var}=...")
  endif()
endforeach()
if(NOT GENERATOR)
  set(GENERATOR "Unix Makefiles")
endif()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

# The library alone: no tests, examples or sanitizer flags leak into what we install.
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/lib" -G "${GENERATOR}"
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=${SHARED}
    -DSTATUSSTACK_WEBHOOKS_BUILD_TESTS=OFF -DSTATUSSTACK_WEBHOOKS_BUILD_EXAMPLES=OFF
    -DSTATUSSTACK_WEBHOOKS_INSTALL=ON -DCMAKE_INSTALL_PREFIX=${prefix})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/lib" --parallel 2)
run(${CMAKE_COMMAND} --install "${WORK_DIR}/lib")

# Nothing installed under include/ may pull in a private dependency.
file(GLOB_RECURSE installed_headers "${prefix}/include/*.hpp")
foreach(header IN LISTS installed_headers)
  file(STRINGS "${header}" bad REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](curl|openssl|rapidjson)/")
  if(bad)
    message(FATAL_ERROR "installed header ${header} includes a private dependency: ${bad}")
  endif()
endforeach()

run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/package" -B "${WORK_DIR}/consumer" -G "${GENERATOR}"
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/consumer")
run("${WORK_DIR}/consumer/consumer")
message(STATUS "consumer ran against the installed package (shared=${SHARED}):\n${last_output}")
if(EXISTS "${prefix}/bin/statusstack-webhook")
  run("${prefix}/bin/statusstack-webhook" --version)
  message(STATUS "installed CLI: ${last_output}")
endif()

# docs/getting-started.md as a reader uses it: its CMakeLists.txt and notify.cpp, copied out of the
# page and built against the installed package. Run without arguments, notify prints its usage
# and exits 2: it linked and started (test_docs.cpp runs it for real against a local receiver).
file(READ "${SOURCE_DIR}/docs/getting-started.md" getting_started)
function(doc_block first_line_prefix out)
  string(FIND "${getting_started}" "\n${first_line_prefix}" start)
  if(start EQUAL -1)
    message(FATAL_ERROR "docs/getting-started.md: no code block starts with \"${first_line_prefix}\"")
  endif()
  math(EXPR start "${start} + 1")
  string(SUBSTRING "${getting_started}" ${start} -1 rest)
  string(FIND "${rest}" "\n```" end)
  math(EXPR end "${end} + 1")
  string(SUBSTRING "${rest}" 0 ${end} block)
  set(${out} "${block}" PARENT_SCOPE)
endfunction()
doc_block("# CMakeLists.txt" cmake_lists)
doc_block("// notify.cpp:" notify)
file(WRITE "${WORK_DIR}/getting-started/CMakeLists.txt" "${cmake_lists}")
file(WRITE "${WORK_DIR}/getting-started/notify.cpp" "${notify}")
run(${CMAKE_COMMAND} -S "${WORK_DIR}/getting-started" -B "${WORK_DIR}/getting-started/build" -G "${GENERATOR}"
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/getting-started/build")
execute_process(COMMAND "${WORK_DIR}/getting-started/build/notify" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "^usage: WEBHOOK_SECRET=")
  message(FATAL_ERROR "the getting-started program did not print its usage (exit ${rc}): ${err}")
endif()

# The examples build on their own against the installed package too (once is enough).
if(SHARED)
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples" -B "${WORK_DIR}/examples" -G "${GENERATOR}"
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix})
  run(${CMAKE_COMMAND} --build "${WORK_DIR}/examples" --parallel 2)
  execute_process(COMMAND "${WORK_DIR}/examples/quickstart/quickstart" RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 2 OR NOT err MATCHES "^usage: quickstart")
    message(FATAL_ERROR "the installed-package quickstart did not print its usage (exit ${rc}): ${err}")
  endif()
endif()

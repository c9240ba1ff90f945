# Package test: build and install the library (shared or static) into a fresh prefix, then build
# and run programs against it as users do: tests/package/ through find_package(StatusStackWebhooks),
# the same program through pkg-config alone, and docs/getting-started.md's CMakeLists.txt files
# (find_package, and FetchContent of the source tree).
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

# What the library alone needs is libcurl, OpenSSL and RapidJSON: with these set, a find_package()
# of what the tests, the CLI or the benchmarks use fails the configure.
set(only_library_dependencies
    -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON -DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON
    -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON)
function(check_no_test_dependencies build_dir)
  file(STRINGS "${build_dir}/CMakeCache.txt" looked_up REGEX "^[A-Za-z_]*HTTPLIB|^(Catch2|CLI11|benchmark)_DIR:")
  if(looked_up)
    message(FATAL_ERROR "${build_dir}: the library-only configure looked for test dependencies: ${looked_up}")
  endif()
endfunction()

# The library alone: no tests, examples or sanitizer flags leak into what we install. The static
# build is the documented library-only install (the `lib` preset); the shared one adds the CLI.
# Installed as the documentation says, with --prefix at install time.
if(SHARED)
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/lib" -G "${GENERATOR}"
      -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON
      -DSTATUSSTACK_WEBHOOKS_BUILD_TESTS=OFF -DSTATUSSTACK_WEBHOOKS_BUILD_EXAMPLES=OFF
      -DSTATUSSTACK_WEBHOOKS_INSTALL=ON)
else()
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" --preset lib -B "${WORK_DIR}/lib" -G "${GENERATOR}"
      ${only_library_dependencies})
  check_no_test_dependencies("${WORK_DIR}/lib")
endif()
run(${CMAKE_COMMAND} --build "${WORK_DIR}/lib" --parallel 2)
run(${CMAKE_COMMAND} --install "${WORK_DIR}/lib" --prefix "${prefix}")

# Nothing installed under include/ may pull in a private dependency.
file(GLOB_RECURSE installed_headers "${prefix}/include/*.hpp")
foreach(header IN LISTS installed_headers)
  file(STRINGS "${header}" bad REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](curl|openssl|rapidjson)/")
  if(bad)
    message(FATAL_ERROR "installed header ${header} includes a private dependency: ${bad}")
  endif()
endforeach()

# The PostgreSQL store is installed when libpq-dev was there at build time (it is, where the tests
# run): then find_package(... COMPONENTS postgres) must find it.
file(GLOB postgres_targets "${prefix}/*/cmake/StatusStackWebhooks/StatusStackWebhooksPostgresTargets.cmake")
if(postgres_targets)
  set(with_postgres ON)
else()
  set(with_postgres OFF)
endif()
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/package" -B "${WORK_DIR}/consumer" -G "${GENERATOR}"
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix} -DWITH_POSTGRES=${with_postgres})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/consumer")
run("${WORK_DIR}/consumer/consumer")
message(STATUS "consumer ran against the installed package (shared=${SHARED}):\n${last_output}")
if(with_postgres)
  run("${WORK_DIR}/consumer/consumer_postgres")
  if(NOT last_output STREQUAL "store postgresql://app@db.invalid:5432/statusstack\n")
    message(FATAL_ERROR "consumer_postgres printed: ${last_output}")
  endif()
  message(STATUS "the postgres component's consumer ran: ${last_output}")
else()
  message(STATUS "the package has no postgres component (built without libpq-dev)")
endif()
if(EXISTS "${prefix}/bin/statusstack-webhook")
  run("${prefix}/bin/statusstack-webhook" --version)
  message(STATUS "installed CLI: ${last_output}")
endif()

# pkg-config alone: `c++ ... $(pkg-config --cflags --libs statusstack-webhooks)`, as the docs show it.
find_program(CXX_FOR_PKG_CONFIG NAMES c++ REQUIRED)
find_program(PKG_CONFIG_PROGRAM NAMES pkg-config pkgconf REQUIRED)
file(GLOB_RECURSE pc_files "${prefix}/*/statusstack-webhooks.pc")
list(LENGTH pc_files pc_count)
if(NOT pc_count EQUAL 1)
  message(FATAL_ERROR "expected one installed statusstack-webhooks.pc, found: ${pc_files}")
endif()
get_filename_component(pc_dir "${pc_files}" DIRECTORY)
get_filename_component(lib_dir "${pc_dir}" DIRECTORY)
run(${CMAKE_COMMAND} -E env "PKG_CONFIG_PATH=${pc_dir}"
    ${PKG_CONFIG_PROGRAM} --cflags --libs statusstack-webhooks)
string(STRIP "${last_output}" pkg_config_flags)
message(STATUS "pkg-config --cflags --libs statusstack-webhooks (shared=${SHARED}): ${pkg_config_flags}")
# A static archive needs libcurl, libcrypto and threads on the program's link line; a shared library
# brings them itself, so they must not be there.
if(SHARED AND pkg_config_flags MATCHES "-lcurl|-lcrypto")
  message(FATAL_ERROR "the shared library's pkg-config file puts its private dependencies on the link line")
elseif(NOT SHARED AND NOT pkg_config_flags MATCHES "-lcurl.*-lcrypto|-lcrypto.*-lcurl")
  message(FATAL_ERROR "the static library's pkg-config file leaves out libcurl or libcrypto")
elseif(NOT pkg_config_flags MATCHES "-lstatusstack-webhooks .*-lstatusstack-webhooks-core")
  message(FATAL_ERROR "statusstack-webhooks.pc does not link the core after the delivery library")
endif()
separate_arguments(pkg_config_flags UNIX_COMMAND "${pkg_config_flags}")
function(build_with_pkg_config source binary)
  run(${CXX_FOR_PKG_CONFIG} -std=c++17 "${source}" ${pkg_config_flags} -o "${binary}")
endfunction()
build_with_pkg_config("${SOURCE_DIR}/tests/package/main.cpp" "${WORK_DIR}/consumer-pkg-config")
run(${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${lib_dir}" "${WORK_DIR}/consumer-pkg-config")
message(STATUS "consumer built with pkg-config alone (shared=${SHARED}):\n${last_output}")

# A receiving service (issue 18): main_receiver.cpp verifies and parses with StatusStack::webhooks_core
# alone, from find_package(StatusStackWebhooks COMPONENTS core) configured with libcurl and SQLite
# out of reach, then with pkg-config's statusstack-webhooks-core. Neither its link line, nor the
# libraries the executable names (readelf -d), nor all it loads (ldd) may have libcurl or SQLite.
set(receiver_prints "^receiver verified component\\.status_changed comp_xyz789 operational -> critical \\(statusstack-webhooks-core [0-9.]+\\)\n$")
function(check_receiver binary)
  run(${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${lib_dir}" "${binary}")
  set(printed "${last_output}")
  if(NOT printed MATCHES "${receiver_prints}")
    message(FATAL_ERROR "${binary} printed: ${printed}")
  endif()
  if(NOT CMAKE_HOST_SYSTEM_NAME STREQUAL "Linux")
    message(STATUS "${binary}: ${printed}(readelf and ldd checks on Linux only)")
    return()
  endif()
  find_program(READELF_PROGRAM readelf REQUIRED)
  find_program(LDD_PROGRAM ldd REQUIRED)
  run(${READELF_PROGRAM} -d "${binary}")
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*" needed "${last_output}")
  string(REGEX REPLACE "\\(NEEDED\\)[^;]*\\[([^;]*)\\]" "\\1" needed "${needed}")
  run(${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${lib_dir}" ${LDD_PROGRAM} "${binary}")
  set(loaded "${last_output}")
  if(needed MATCHES "libcurl|libsqlite3|libstatusstack-webhooks\\.so" OR loaded MATCHES "libcurl|libsqlite3|libstatusstack-webhooks\\.so")
    message(FATAL_ERROR "${binary} links the delivery library's dependencies:\nNEEDED: ${needed}\nldd:\n${loaded}")
  endif()
  # The core's own dependency: through the shared core, or on the program's link with the static one.
  if(SHARED)
    set(expected "libstatusstack-webhooks-core\\.so")
  else()
    set(expected "libcrypto")
  endif()
  if(NOT needed MATCHES "${expected}")
    message(FATAL_ERROR "${binary}: no ${expected} among its NEEDED libraries: ${needed}")
  endif()
  message(STATUS "${binary} (shared=${SHARED}): ${printed}NEEDED: ${needed}\nldd:\n${loaded}")
endfunction()

run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/package" -B "${WORK_DIR}/receiver" -G "${GENERATOR}"
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix} -DRECEIVER_ONLY=ON
    -DCMAKE_DISABLE_FIND_PACKAGE_CURL=ON -DCMAKE_DISABLE_FIND_PACKAGE_SQLite3=ON)
run(${CMAKE_COMMAND} --build "${WORK_DIR}/receiver")
# Its link command, as the generator wrote it (run in ${WORK_DIR}/receiver).
if(EXISTS "${WORK_DIR}/receiver/CMakeFiles/receiver.dir/link.txt")
  file(READ "${WORK_DIR}/receiver/CMakeFiles/receiver.dir/link.txt" receiver_link)
elseif(GENERATOR MATCHES "Ninja")
  run(${CMAKE_COMMAND} --build "${WORK_DIR}/receiver" -- -t commands receiver)
  string(REGEX MATCH "[^\n]+\n*$" receiver_link "${last_output}")
else()
  message(FATAL_ERROR "cannot read the receiver's link line with the ${GENERATOR} generator")
endif()
string(STRIP "${receiver_link}" receiver_link)
message(STATUS "the receiver's link line (shared=${SHARED}, in ${WORK_DIR}/receiver):\n${receiver_link}")
if(receiver_link MATCHES "curl|sqlite|libstatusstack-webhooks\\.(a|so)|-lstatusstack-webhooks( |$)")
  message(FATAL_ERROR "the receiver's link line has the delivery library or its dependencies")
elseif(NOT receiver_link MATCHES "libstatusstack-webhooks-core\\.(a|so)")
  message(FATAL_ERROR "the receiver's link line has no libstatusstack-webhooks-core")
elseif(NOT SHARED AND NOT receiver_link MATCHES "libcrypto")
  message(FATAL_ERROR "the receiver's link line has no libcrypto for the static core")
endif()
check_receiver("${WORK_DIR}/receiver/receiver")

run(${CMAKE_COMMAND} -E env "PKG_CONFIG_PATH=${pc_dir}"
    ${PKG_CONFIG_PROGRAM} --cflags --libs statusstack-webhooks-core)
string(STRIP "${last_output}" core_flags)
message(STATUS "pkg-config --cflags --libs statusstack-webhooks-core (shared=${SHARED}): ${core_flags}")
if(core_flags MATCHES "-lcurl|-lsqlite3|-lstatusstack-webhooks( |$)")
  message(FATAL_ERROR "statusstack-webhooks-core.pc puts the delivery library or its dependencies on the link line")
elseif(SHARED AND core_flags MATCHES "-lcrypto")
  message(FATAL_ERROR "the shared core's pkg-config file puts its private dependency on the link line")
elseif(NOT SHARED AND NOT core_flags MATCHES "-lstatusstack-webhooks-core .*-lcrypto")
  message(FATAL_ERROR "the static core's pkg-config file leaves out libcrypto")
endif()
separate_arguments(core_flags UNIX_COMMAND "${core_flags}")
run(${CXX_FOR_PKG_CONFIG} -std=c++17 "${SOURCE_DIR}/tests/package/main_receiver.cpp" ${core_flags}
    -o "${WORK_DIR}/receiver-pkg-config")
check_receiver("${WORK_DIR}/receiver-pkg-config")

# docs/getting-started.md as a reader uses it: its CMakeLists.txt files and notify.cpp, copied out of
# the page and built against the installed package (and with pkg-config, by the command the page
# shows). Run without arguments, notify prints its usage and exits 2: it linked and started
# (test_docs.cpp runs it for real against a local receiver).
file(READ "${SOURCE_DIR}/docs/getting-started.md" getting_started)
function(doc_block first_line out)
  string(FIND "${getting_started}" "\n${first_line}\n" start)
  if(start EQUAL -1)
    message(FATAL_ERROR "docs/getting-started.md: no code block starts with \"${first_line}\"")
  endif()
  math(EXPR start "${start} + 1")
  string(SUBSTRING "${getting_started}" ${start} -1 rest)
  string(FIND "${rest}" "\n```" end)
  math(EXPR end "${end} + 1")
  string(SUBSTRING "${rest}" 0 ${end} block)
  set(${out} "${block}" PARENT_SCOPE)
endfunction()
function(check_usage program)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${lib_dir}" "${program}"
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 2 OR NOT err MATCHES "^usage: WEBHOOK_SECRET=")
    message(FATAL_ERROR "${program} did not print its usage (exit ${rc}): ${err}")
  endif()
endfunction()
doc_block("# CMakeLists.txt" cmake_lists)
doc_block("# CMakeLists.txt, with the library built from its sources (FetchContent)" fetch_cmake_lists)
string(REGEX MATCH "// notify\\.cpp:[^\n]*" notify_first_line "${getting_started}")
doc_block("${notify_first_line}" notify)
file(WRITE "${WORK_DIR}/getting-started/CMakeLists.txt" "${cmake_lists}")
file(WRITE "${WORK_DIR}/getting-started/notify.cpp" "${notify}")
run(${CMAKE_COMMAND} -S "${WORK_DIR}/getting-started" -B "${WORK_DIR}/getting-started/build" -G "${GENERATOR}"
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/getting-started/build")
check_usage("${WORK_DIR}/getting-started/build/notify")

set(pkg_config_command "c++ -std=c++17 notify.cpp $(pkg-config --cflags --libs statusstack-webhooks) -o notify")
string(FIND "${getting_started}" "${pkg_config_command}" documented)
if(documented EQUAL -1)
  message(FATAL_ERROR "docs/getting-started.md no longer shows: ${pkg_config_command}")
endif()
build_with_pkg_config("${WORK_DIR}/getting-started/notify.cpp" "${WORK_DIR}/getting-started/notify-pkg-config")
check_usage("${WORK_DIR}/getting-started/notify-pkg-config")

# The FetchContent project builds the library from this source tree instead of downloading it
# (FETCHCONTENT_SOURCE_DIR_<NAME>), with nothing but the library's own dependencies (once is enough).
if(NOT SHARED)
  file(WRITE "${WORK_DIR}/fetch-content/CMakeLists.txt" "${fetch_cmake_lists}")
  file(WRITE "${WORK_DIR}/fetch-content/notify.cpp" "${notify}")
  run(${CMAKE_COMMAND} -S "${WORK_DIR}/fetch-content" -B "${WORK_DIR}/fetch-content/build" -G "${GENERATOR}"
      -DCMAKE_BUILD_TYPE=Release -DFETCHCONTENT_FULLY_DISCONNECTED=ON
      "-DFETCHCONTENT_SOURCE_DIR_STATUSSTACK_WEBHOOKS=${SOURCE_DIR}" ${only_library_dependencies})
  check_no_test_dependencies("${WORK_DIR}/fetch-content/build")
  run(${CMAKE_COMMAND} --build "${WORK_DIR}/fetch-content/build" --parallel 2)
  check_usage("${WORK_DIR}/fetch-content/build/notify")
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
  foreach(vendor pagerduty datadog)  # without a key they print their usage
    execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=PAGERDUTY_ROUTING_KEY --unset=DD_API_KEY
                            "${WORK_DIR}/examples/${vendor}/${vendor}" RESULT_VARIABLE rc ERROR_VARIABLE err)
    if(NOT rc EQUAL 2 OR NOT err MATCHES "^usage: ${vendor}")
      message(FATAL_ERROR "the installed-package ${vendor} example did not print its usage (exit ${rc}): ${err}")
    endif()
  endforeach()
endif()

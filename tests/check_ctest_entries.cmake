# Every test case of the Catch2 binary is exactly one ctest entry of the same name, and an entry
# whose filter matches no test case fails. Without this, a test case whose name ctest splits (a
# name with ';') runs as two entries that match nothing, Catch2 says "No tests ran", and ctest
# counts both as passed.
#
#   cmake -DTEST_EXECUTABLE=<ssw_tests> -DCTEST_COMMAND=<ctest> -DTEST_DIR=<its build directory>
#         -P check_ctest_entries.cmake
cmake_minimum_required(VERSION 3.21)

foreach(var TEST_EXECUTABLE CTEST_COMMAND TEST_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_ctest_entries.cmake: -D${var}=... is required")
  endif()
endforeach()

# Lines of `text` as a CMake list. Brackets and semicolons are swapped for placeholders first, so
# that names holding them stay one element each (they are swapped back only for messages).
function(ssw_lines_of text out)
  string(REPLACE "[" "<lb>" text "${text}")
  string(REPLACE "]" "<rb>" text "${text}")
  string(REPLACE ";" "<sc>" text "${text}")
  string(REGEX REPLACE "\n+$" "" text "${text}")
  string(REPLACE "\n" ";" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

function(ssw_readable name out)
  string(REPLACE "<lb>" "[" name "${name}")
  string(REPLACE "<rb>" "]" name "${name}")
  string(REPLACE "<sc>" ";" name "${name}")
  set(${out} "${name}" PARENT_SCOPE)
endfunction()

# The test cases, as the binary lists them (its exit code is their number, not an error).
execute_process(COMMAND "${TEST_EXECUTABLE}" --list-test-names-only
                OUTPUT_VARIABLE listed ERROR_VARIABLE listed_err RESULT_VARIABLE listed_rc)
if(NOT listed_rc MATCHES "^[0-9]+$" OR listed STREQUAL "")
  message(FATAL_ERROR "${TEST_EXECUTABLE} --list-test-names-only failed (${listed_rc}): ${listed_err}")
endif()
ssw_lines_of("${listed}" cases)

# The ctest entries that run that binary.
execute_process(COMMAND "${CTEST_COMMAND}" -N --show-only=json-v1
                WORKING_DIRECTORY "${TEST_DIR}"
                OUTPUT_VARIABLE json ERROR_VARIABLE json_err RESULT_VARIABLE json_rc)
if(NOT json_rc EQUAL 0)
  message(FATAL_ERROR "ctest -N --show-only=json-v1 failed (${json_rc}): ${json_err}")
endif()
set(entries "")
set(entry_args "")
string(JSON count LENGTH "${json}" tests)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON program ERROR_VARIABLE no_command GET "${json}" tests ${i} command 0)
  if(no_command OR NOT program STREQUAL TEST_EXECUTABLE)
    continue()
  endif()
  string(JSON name GET "${json}" tests ${i} name)
  ssw_lines_of("${name}" name)
  list(APPEND entries "${name}")
  if(entry_args STREQUAL "")
    # The arguments after the test name: the same for every entry.
    string(JSON argc LENGTH "${json}" tests ${i} command)
    math(EXPR last_arg "${argc} - 1")
    if(last_arg GREATER_EQUAL 2)
      foreach(a RANGE 2 ${last_arg})
        string(JSON arg GET "${json}" tests ${i} command ${a})
        list(APPEND entry_args "${arg}")
      endforeach()
    endif()
  endif()
endforeach()

set(problems "")
foreach(name IN LISTS cases)
  if(name MATCHES "<sc>")
    ssw_readable("${name}" shown)
    string(APPEND problems "\n  test case name holds ';' (ctest splits it): ${shown}")
  endif()
endforeach()
set(not_run "${cases}")
if(entries)
  list(REMOVE_ITEM not_run ${entries})
endif()
foreach(name IN LISTS not_run)
  ssw_readable("${name}" shown)
  string(APPEND problems "\n  no ctest entry runs test case: ${shown}")
endforeach()
set(no_case "${entries}")
if(cases)
  list(REMOVE_ITEM no_case ${cases})
endif()
foreach(name IN LISTS no_case)
  ssw_readable("${name}" shown)
  string(APPEND problems "\n  ctest entry matches no test case: ${shown}")
endforeach()
list(LENGTH cases case_count)
list(LENGTH entries entry_count)
if(NOT case_count EQUAL entry_count)
  string(APPEND problems "\n  ${case_count} test cases, ${entry_count} ctest entries")
endif()

# An entry's arguments must make a filter that matches nothing fail (Catch2's -w NoTests).
if(entry_count GREATER 0)
  list(REMOVE_ITEM entry_args "")
  execute_process(COMMAND "${TEST_EXECUTABLE}" "no test case has this name" ${entry_args}
                  OUTPUT_VARIABLE ignored ERROR_VARIABLE ignored RESULT_VARIABLE nothing_rc)
  if(nothing_rc EQUAL 0)
    string(APPEND problems "\n  with the entries' arguments (${entry_args}) a filter that matches no "
                           "test case passes")
  endif()
endif()

# Every test case is of exactly one kind: [unit] or [integration] (the entries' labels).
foreach(spec "~[unit]~[integration]" "[unit][integration]")
  execute_process(COMMAND "${TEST_EXECUTABLE}" "${spec}" --list-test-names-only
                  OUTPUT_VARIABLE unlabelled ERROR_VARIABLE ignored RESULT_VARIABLE ignored_rc)
  string(STRIP "${unlabelled}" unlabelled)
  if(NOT unlabelled STREQUAL "")
    string(APPEND problems "\n  test cases tagged neither or both of [unit] and [integration] (${spec}):\n"
                           "${unlabelled}")
  endif()
endforeach()

if(NOT problems STREQUAL "")
  message(FATAL_ERROR "ctest entries of ${TEST_EXECUTABLE} do not match its test cases:${problems}")
endif()
message(STATUS "${case_count} test cases, one ctest entry each, each [unit] or [integration], and a filter "
               "matching nothing fails")

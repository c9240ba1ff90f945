# Configures the library alone against a libcurl too old for it (7.84: no CURLOPT_PROTOCOLS_STR),
# which must fail at configure time, saying which version is needed, rather than at compile time.
# Usage: cmake -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -P check_curl_version.cmake
file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}" -G "${GENERATOR}"
          -DSTATUSSTACK_WEBHOOKS_BUILD_TESTS=OFF -DSTATUSSTACK_WEBHOOKS_BUILD_EXAMPLES=OFF
          -DSTATUSSTACK_WEBHOOKS_BUILD_CLI=OFF -DSTATUSSTACK_WEBHOOKS_INSTALL=OFF
          "-DCURL_INCLUDE_DIR=${CMAKE_CURRENT_LIST_DIR}/old_curl"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(REMOVE_RECURSE "${WORK_DIR}")
if(rc EQUAL 0)
  message(FATAL_ERROR "configuring against libcurl 7.84 succeeded: the version check is missing")
endif()
if(NOT err MATCHES "CURL.*7\\.84\\.0.*7\\.85")
  message(FATAL_ERROR "configuring against libcurl 7.84 failed without naming the versions:\n${err}")
endif()
message(STATUS "libcurl 7.84 is refused at configure time")

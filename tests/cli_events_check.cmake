# Runs one statusstack-webhook command and checks its exit code, stdout and stderr.
# Usage: cmake -DCLI=... -DARGS="a|b" [-DINPUT=file] -DEXPECT_EXIT=n [-DEXPECT_STDOUT=exact]
#        [-DEXPECT_STDERR=exact] -P cli_events_check.cmake
string(REPLACE "|" ";" ARGS "${ARGS}")
set(input_args "")
if(INPUT)
  set(input_args INPUT_FILE "${INPUT}")
endif()
execute_process(COMMAND "${CLI}" ${ARGS} ${input_args}
  RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT code EQUAL EXPECT_EXIT)
  message(FATAL_ERROR "exit code ${code}, expected ${EXPECT_EXIT}\nstdout: ${out}\nstderr: ${err}")
endif()
# A non-empty expectation is one line: the text and a newline.
if(DEFINED EXPECT_STDOUT AND NOT EXPECT_STDOUT STREQUAL "")
  string(APPEND EXPECT_STDOUT "\n")
endif()
if(DEFINED EXPECT_STDERR AND NOT EXPECT_STDERR STREQUAL "")
  string(APPEND EXPECT_STDERR "\n")
endif()
if(DEFINED EXPECT_STDOUT AND NOT out STREQUAL EXPECT_STDOUT)
  message(FATAL_ERROR "stdout was:\n${out}\nexpected:\n${EXPECT_STDOUT}")
endif()
if(DEFINED EXPECT_STDERR AND NOT err STREQUAL EXPECT_STDERR)
  message(FATAL_ERROR "stderr was:\n${err}\nexpected:\n${EXPECT_STDERR}")
endif()

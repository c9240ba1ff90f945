# Compiles dropped_result.cpp twice: keeping the Result it must compile, dropping it it must fail
# with the [[nodiscard]] diagnostic. Usage: cmake -DCXX=... -DINCLUDES="dir1|dir2" -P check_nodiscard.cmake
set(flags -std=c++17 -fsyntax-only -Werror=unused-result)
string(REPLACE "|" ";" INCLUDES "${INCLUDES}")
foreach(dir IN LISTS INCLUDES)
  list(APPEND flags "-I${dir}")
endforeach()
set(source "${CMAKE_CURRENT_LIST_DIR}/dropped_result.cpp")

execute_process(COMMAND "${CXX}" ${flags} -DSSW_KEEP_RESULT "${source}"
                RESULT_VARIABLE kept_rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT kept_rc EQUAL 0)
  message(FATAL_ERROR "the control program (Result kept) does not compile:\n${out}${err}")
endif()
execute_process(COMMAND "${CXX}" ${flags} "${source}"
                RESULT_VARIABLE dropped_rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(dropped_rc EQUAL 0)
  message(FATAL_ERROR "a dropped Result compiles: Result is not [[nodiscard]]")
endif()
if(NOT err MATCHES "nodiscard")
  message(FATAL_ERROR "a dropped Result fails for another reason than [[nodiscard]]:\n${err}")
endif()
message(STATUS "a dropped Result is refused: ${CXX} says [[nodiscard]]")

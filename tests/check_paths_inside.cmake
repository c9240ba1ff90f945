# Nothing in the repository may refer to a path above its own root: a clone with nothing beside it
# must build and pass its tests. This reads every tracked file (git ls-files; without git or .git,
# every file outside build trees), finds each path that climbs with "..", resolves it from where it
# starts, and fails naming file:line for each one that ends above the root.
#
#   cmake -DSOURCE_DIR=<repository root> -P check_paths_inside.cmake
#   cmake -DSELF_TEST=ON -DWORK_DIR=<scratch directory> -P check_paths_inside.cmake
#
# Where a path starts:
# - "${CMAKE_CURRENT_SOURCE_DIR}/...", "${CMAKE_CURRENT_LIST_DIR}/...", "$(dirname "$0")/..." and a
#   plain relative path: the directory of the file that holds it;
# - a plain relative path in a shell script (*.sh, or a file starting with "#!"), any other
#   variable ("${PROJECT_SOURCE_DIR}/...", "$ROOT/...") and a path glued to a name or macro
#   (SOME_DIR "/..."): the repository root (our scripts work from there);
# - "$ORIGIN/...": an installed binary's own directory, not a repository path (skipped).
# A line holding "check-paths: ignore" is skipped (a test string that only looks like a path).
cmake_minimum_required(VERSION 3.21)

# The files to read, relative to the root.
function(ssw_files_of root out)
  find_program(ssw_git git)
  if(ssw_git AND EXISTS "${root}/.git")
    execute_process(
      COMMAND "${ssw_git}" -c core.quotePath=false ls-files
      WORKING_DIRECTORY "${root}" OUTPUT_VARIABLE listed RESULT_VARIABLE rc ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "git ls-files failed in ${root}: ${err}")
    endif()
    string(REGEX REPLACE "\n+$" "" listed "${listed}")
    string(REPLACE "\n" ";" files "${listed}")
  else()
    file(GLOB_RECURSE all LIST_DIRECTORIES false RELATIVE "${root}" "${root}/*")
    # Build trees are not the repository's: leave out every directory holding a CMakeCache.txt.
    set(skipped ".git")
    foreach(file IN LISTS all)
      if(file MATCHES "^(.*)/CMakeCache\\.txt$")
        list(APPEND skipped "${CMAKE_MATCH_1}")
      endif()
    endforeach()
    set(files "")
    foreach(file IN LISTS all)
      foreach(dir IN LISTS skipped)
        string(FIND "${file}" "${dir}/" at)
        if(at EQUAL 0)
          break()
        endif()
      endforeach()
      if(NOT at EQUAL 0)
        list(APPEND files "${file}")
      endif()
    endforeach()
  endif()
  set(${out} "${files}" PARENT_SCOPE)
endfunction()

# The depth of `rest` (a path of '/'-separated parts) walked from `depth`; -1 once it climbs above 0.
function(ssw_walk depth rest out)
  string(REPLACE "/" ";" parts "${rest}")
  foreach(part IN LISTS parts)
    if(part STREQUAL "" OR part STREQUAL ".")
      continue()
    elseif(part STREQUAL "..")
      math(EXPR depth "${depth} - 1")
      if(depth LESS 0)
        set(${out} -1 PARENT_SCOPE)
        return()
      endif()
    else()
      math(EXPR depth "${depth} + 1")
    endif()
  endforeach()
  set(${out} ${depth} PARENT_SCOPE)
endfunction()

# Appends "file:line: path" to the list named `list_var` for each path of `line` that ends above
# the root.
function(ssw_check_line file is_script line_number line list_var)
  set(found "${${list_var}}")
  get_filename_component(dir "${file}" DIRECTORY)
  ssw_walk(0 "${dir}" dir_depth)
  if(is_script)
    set(relative_depth 0)
  else()
    set(relative_depth ${dir_depth})
  endif()
  string(REGEX MATCHALL "[-A-Za-z0-9_.$@+~%/{}]+" tokens "${line}")
  foreach(token IN LISTS tokens)
    if(NOT token MATCHES "(^|/)\\.\\.(/|$)" OR NOT token MATCHES "/")  # a lone ".." is no path
      continue()
    endif()
    string(FIND "${line}" "${token}" at)
    string(SUBSTRING "${line}" 0 ${at} before)
    if(token MATCHES "^\\$\\{?ORIGIN")
      continue()
    elseif(token MATCHES "^\\$\\{(CMAKE_CURRENT_SOURCE_DIR|CMAKE_CURRENT_LIST_DIR)\\}(.*)$")
      set(start ${dir_depth})
      set(rest "${CMAKE_MATCH_2}")
    elseif(token MATCHES "^\\$\\{[^}]*\\}(.*)$")
      set(start 0)
      set(rest "${CMAKE_MATCH_1}")
    elseif(token MATCHES "^\\$[A-Za-z0-9_]+(.*)$")
      set(start 0)
      set(rest "${CMAKE_MATCH_1}")
    elseif(token MATCHES "^/" AND before MATCHES "dirname[^)]*\\)$")
      set(start ${dir_depth})
      set(rest "${token}")
    elseif(token MATCHES "^/")
      set(start 0)
      set(rest "${token}")
    else()
      set(start ${relative_depth})
      set(rest "${token}")
    endif()
    ssw_walk(${start} "${rest}" depth)
    if(depth LESS 0)
      list(APPEND found "${file}:${line_number}: ${token}")
    endif()
  endforeach()
  set(${list_var} "${found}" PARENT_SCOPE)
endfunction()

function(ssw_check_tree root out)
  ssw_files_of("${root}" files)
  set(problems "")
  foreach(file IN LISTS files)
    set(path "${root}/${file}")
    if(IS_DIRECTORY "${path}" OR NOT EXISTS "${path}")
      continue()  # a submodule, or deleted but still in the index
    endif()
    file(SIZE "${path}" size)
    if(size GREATER 4000000)
      continue()
    endif()
    file(READ "${path}" content)
    if(NOT content MATCHES "\\.\\./|/\\.\\.")
      continue()
    endif()
    if(file MATCHES "\\.sh$" OR content MATCHES "^#!")
      set(is_script TRUE)
    else()
      set(is_script FALSE)
    endif()
    # One list element per line: characters that mean something in a CMake list are replaced.
    string(REPLACE "\\" "<bs>" content "${content}")
    string(REPLACE "[" "<lb>" content "${content}")
    string(REPLACE "]" "<rb>" content "${content}")
    string(REPLACE ";" "<sc>" content "${content}")
    string(REPLACE "\n" ";" lines "${content}")
    set(line_number 0)
    foreach(line IN LISTS lines)
      math(EXPR line_number "${line_number} + 1")
      if(line MATCHES "\\.\\./|/\\.\\." AND NOT line MATCHES "check-paths: ignore")
        ssw_check_line("${file}" ${is_script} ${line_number} "${line}" problems)
      endif()
    endforeach()
  endforeach()
  set(${out} "${problems}" PARENT_SCOPE)
endfunction()

if(SELF_TEST)
  # A small tree with references that leave it and references that do not: the check must name
  # exactly the first kind. The parent step is spelled through ${up}, so this file holds none.
  if(NOT DEFINED WORK_DIR)
    message(FATAL_ERROR "check_paths_inside.cmake: -DWORK_DIR=... is required with SELF_TEST")
  endif()
  set(up "..")
  set(tree "${WORK_DIR}/tree")
  file(REMOVE_RECURSE "${tree}")
  file(WRITE "${tree}/CMakeLists.txt"
       "include(\${CMAKE_CURRENT_SOURCE_DIR}/cmake/${up}/cmake/x.cmake)\n"
       "include(\${PROJECT_SOURCE_DIR}/${up}/beside/x.cmake)\n"
       "set_target_properties(t PROPERTIES INSTALL_RPATH \"\$ORIGIN/${up}/lib\")\n")
  file(WRITE "${tree}/tests/test_a.cpp"
       "#include \"${up}/include/a.hpp\"\n"
       "// line 2\n"
       "std::string specs() { return SSW_SOURCE_DIR \"/${up}/beside/data/\"; }\n"
       "const char* url = \"https://example.com/${up}/x\";\n"
       "const char* evil = \"${up}/${up}/etc/passwd\";  // check-paths: ignore\n")
  file(WRITE "${tree}/tests/support/b.cpp"
       "#include \"${up}/${up}/include/b.hpp\"\n"
       "#include \"${up}/${up}/${up}/elsewhere/b.hpp\"\n")
  file(WRITE "${tree}/scripts/run.sh"
       "cd \"$(dirname \"$0\")/${up}\"\n"
       "cd \"$(dirname \"$0\")/${up}/${up}\"\n"
       "cat ${up}/${up}/beside/README.md; x=[a;b]\\\n"
       "  ${up}/beside/STYLE.md\n")
  file(WRITE "${tree}/.ci/run" "#!/bin/sh\ncd \"$(dirname \"$0\")/${up}\"\nls ${up}/x \"${up}\"\n")
  set(expected
      "CMakeLists.txt:2: \${PROJECT_SOURCE_DIR}/${up}/beside/x.cmake"
      "scripts/run.sh:2: /${up}/${up}"
      ".ci/run:3: ${up}/x"
      "scripts/run.sh:3: ${up}/${up}/beside/README.md"
      "scripts/run.sh:4: ${up}/beside/STYLE.md"
      "tests/support/b.cpp:2: ${up}/${up}/${up}/elsewhere/b.hpp"
      "tests/test_a.cpp:3: /${up}/beside/data/")
  ssw_check_tree("${tree}" found)
  list(SORT found)
  list(SORT expected)
  if(NOT found STREQUAL expected)
    string(REPLACE ";" "\n  " found "${found}")
    string(REPLACE ";" "\n  " expected "${expected}")
    message(FATAL_ERROR "the check found:\n  ${found}\nbut should have found:\n  ${expected}")
  endif()
  message(STATUS "the check names exactly the references that leave a tree")
  return()
endif()

if(NOT DEFINED SOURCE_DIR)
  message(FATAL_ERROR "check_paths_inside.cmake: -DSOURCE_DIR=... is required")
endif()
ssw_check_tree("${SOURCE_DIR}" found)
if(found)
  string(REPLACE ";" "\n  " found "${found}")
  message(FATAL_ERROR "paths that lead outside the repository (above ${SOURCE_DIR}):\n  ${found}")
endif()
message(STATUS "no tracked file refers to a path above the repository root")

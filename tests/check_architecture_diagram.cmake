# The architecture page cannot fall behind silently:
# - every docs/NAME.svg is what docs/NAME.dot gives now: scripts/diagrams.sh makes them all again
#   into WORK_DIR, and each must equal the committed one;
# - every repository path that docs/architecture.md or a docs/*.dot names (src/..., include/...,
#   tests/..., scripts/..., docs/..., ...) exists, and so does every file (and heading) that
#   docs/architecture.md links to.
# Without the dot program (Graphviz) this fails: a check that cannot run must not pass.
#
#   cmake -DSOURCE_DIR=<repository root> -DWORK_DIR=<scratch directory> -P check_architecture_diagram.cmake
cmake_minimum_required(VERSION 3.21)

foreach(var SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_architecture_diagram.cmake: -D${var}=... is required")
  endif()
endforeach()

set(problems "")

# 1. The SVGs are current.
find_program(ssw_dot dot)
if(NOT ssw_dot)
  message(FATAL_ERROR "the dot program (Graphviz) is missing, so docs/architecture.svg cannot be checked: "
                      "install graphviz (Debian: apt-get install graphviz; scripts/test.sh installs it)")
endif()
find_program(ssw_bash bash REQUIRED)
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E env "DOT=${ssw_dot}"
          "${ssw_bash}" "${SOURCE_DIR}/scripts/diagrams.sh" --out "${WORK_DIR}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "scripts/diagrams.sh failed (${rc}):\n${out}${err}")
endif()

file(GLOB ssw_sources RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/docs/*.dot")
if(NOT "docs/architecture.dot" IN_LIST ssw_sources)
  string(APPEND problems "\n- docs/architecture.dot is missing")
endif()
find_program(ssw_diff diff)
foreach(source IN LISTS ssw_sources)
  string(REGEX REPLACE "\\.dot$" ".svg" committed "${source}")
  get_filename_component(name "${committed}" NAME)
  set(fresh "${WORK_DIR}/${name}")
  if(NOT EXISTS "${SOURCE_DIR}/${committed}")
    string(APPEND problems "\n- ${committed} is missing: run scripts/diagrams.sh and commit it beside ${source}")
    continue()
  endif()
  execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files --ignore-eol "${SOURCE_DIR}/${committed}" "${fresh}"
                  RESULT_VARIABLE same)
  if(NOT same EQUAL 0)
    set(shown "")
    if(ssw_diff)
      execute_process(COMMAND "${ssw_diff}" -u "${SOURCE_DIR}/${committed}" "${fresh}" OUTPUT_VARIABLE shown)
      string(LENGTH "${shown}" length)
      if(length GREATER 3000)
        string(SUBSTRING "${shown}" 0 3000 shown)
        string(APPEND shown "\n...")
      endif()
      set(shown "\n${shown}")
    endif()
    string(APPEND problems "\n- ${committed} is stale: run scripts/diagrams.sh (it is not what ${source} gives now: ${fresh})${shown}")
  endif()
endforeach()

# 2. The paths the page and the diagrams name exist.
set(ssw_roots "src|include|tests|scripts|docs|examples|cmake|bench|schemas")
foreach(file docs/architecture.md ${ssw_sources})
  if(NOT EXISTS "${SOURCE_DIR}/${file}")
    string(APPEND problems "\n- ${file} is missing")
    continue()
  endif()
  file(READ "${SOURCE_DIR}/${file}" text)
  string(REGEX MATCHALL "(^|[^A-Za-z0-9_./-])(${ssw_roots})/[A-Za-z0-9_./-]*" named "${text}")
  set(seen "")
  foreach(path IN LISTS named)
    string(REGEX REPLACE "^[^A-Za-z0-9_./-]" "" path "${path}")
    string(REGEX REPLACE "[.]+$" "" path "${path}")  # a sentence's full stop
    if(path IN_LIST seen)
      continue()
    endif()
    list(APPEND seen "${path}")
    if(NOT EXISTS "${SOURCE_DIR}/${path}")
      string(APPEND problems "\n- ${file} names ${path}, which does not exist")
    endif()
  endforeach()
endforeach()

# 3. The links of the page lead somewhere: the file, and the heading after '#' in a Markdown file.
function(ssw_anchors_of md out)
  file(STRINGS "${md}" headings REGEX "^#+ ")
  set(anchors "")
  foreach(heading IN LISTS headings)
    string(REGEX REPLACE "^#+ +" "" heading "${heading}")
    string(TOLOWER "${heading}" heading)
    string(REGEX REPLACE "[^a-z0-9 _-]" "" heading "${heading}")  # GitHub's slugs, for ASCII headings
    string(REPLACE " " "-" heading "${heading}")
    list(APPEND anchors "${heading}")
  endforeach()
  set(${out} "${anchors}" PARENT_SCOPE)
endfunction()

set(page "${SOURCE_DIR}/docs/architecture.md")
if(EXISTS "${page}")
  file(READ "${page}" text)
  # "](target)" marked without its bracket, which would keep CMake from splitting the list of matches.
  string(REPLACE "](" "<link>(" text "${text}")
  string(REGEX MATCHALL "<link>\\([^) ]+\\)" links "${text}")
  foreach(link IN LISTS links)
    string(REGEX REPLACE "^<link>\\((.*)\\)$" "\\1" target "${link}")
    if(target MATCHES "^[a-z]+:")  # https:, mailto:
      continue()
    endif()
    set(anchor "")
    if(target MATCHES "^([^#]*)#(.*)$")
      set(target "${CMAKE_MATCH_1}")
      set(anchor "${CMAKE_MATCH_2}")
    endif()
    if(target STREQUAL "")
      set(linked "${page}")
    else()
      get_filename_component(linked "${target}" ABSOLUTE BASE_DIR "${SOURCE_DIR}/docs")
    endif()
    if(NOT EXISTS "${linked}")
      string(APPEND problems "\n- docs/architecture.md links to ${target}, which does not exist")
    elseif(NOT anchor STREQUAL "" AND linked MATCHES "\\.md$")
      ssw_anchors_of("${linked}" anchors)
      if(NOT anchor IN_LIST anchors)
        string(APPEND problems "\n- docs/architecture.md links to ${target}#${anchor}: no such heading there")
      endif()
    endif()
  endforeach()
endif()

if(NOT problems STREQUAL "")
  message(FATAL_ERROR "The architecture page is out of date:${problems}")
endif()
list(LENGTH ssw_sources count)
message(STATUS "docs: ${count} diagram(s) current; every path and link of docs/architecture.md and the diagrams exists")

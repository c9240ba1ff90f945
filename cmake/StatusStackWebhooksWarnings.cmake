# Warnings for the project's own targets only (never pushed onto consumers).
add_library(ssw_warnings INTERFACE)
target_compile_options(ssw_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang,AppleClang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion>
  $<$<AND:$<BOOL:${STATUSSTACK_WEBHOOKS_WERROR}>,$<CXX_COMPILER_ID:GNU,Clang,AppleClang>>:-Werror>)

# Marks a project target (library, tool, test, example) as ours: warnings on.
function(ssw_project_target target)
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:ssw_warnings>)
endfunction()

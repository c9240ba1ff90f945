#pragma once

// Test-only: run a program (the CLI, openssl, python3, node) as a user would and capture what it says.

#include <string>
#include <vector>

namespace statusstack::webhooks::testing {

/// How a program ended and what it printed.
struct ProcessResult {
  int exit_code = -1;  ///< the exit status, or 128 + signal number
  std::string out;
  std::string err;
};

/// Runs `argv` without a shell (arguments reach it byte for byte) and waits for it to end. Standard
/// input comes from `input_file` (or /dev/null); `extra_env` entries ("NAME=value") replace or add to
/// the environment. Throws std::runtime_error when the program cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env = {}, const std::string& input_file = "");

}  // namespace statusstack::webhooks::testing

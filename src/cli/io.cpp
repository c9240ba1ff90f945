#include "cli.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace statusstack::webhooks::cli {

std::string read_input(const std::string& path) {
  if (path.empty() || path == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(exit_usage, "cannot open " + path + ": " + std::strerror(errno));
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void fail(int exit_code, const std::string& message) {
  std::cerr << "statusstack-webhook: " << message << '\n';
  throw CLI::RuntimeError(exit_code);
}

}  // namespace statusstack::webhooks::cli

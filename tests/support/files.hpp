#pragma once

// Reading a file the test wrote or the repository holds, byte for byte.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace statusstack::webhooks::testing {

/// The whole file. Throws std::runtime_error naming it when it cannot be opened, which fails the
/// test that asked (Catch reports the exception) rather than comparing against an empty string.
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace statusstack::webhooks::testing

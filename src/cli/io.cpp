#include "cli.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace statusstack::webhooks::cli {

namespace {
// strerror_r comes in two kinds: XSI returns int and fills the buffer, GNU returns the text.
[[maybe_unused]] const char* strerror_text(int /*filled*/, const char* buffer) { return buffer; }
[[maybe_unused]] const char* strerror_text(const char* text, const char* /*buffer*/) { return text; }
}  // namespace

std::string error_text(int number) {
  char buffer[256] = "";
  return strerror_text(::strerror_r(number, buffer, sizeof buffer), buffer);
}

std::string read_input(const std::string& path) {
  if (path.empty() || path == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(exit_usage, "cannot open " + path + ": " + error_text(errno));
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::vector<std::string> secrets_or_env(const std::vector<std::string>& given) {
  if (!given.empty()) return given;
  const char* from_env =
      std::getenv(secret_env);  // NOLINT(concurrency-mt-unsafe): read before any thread starts
  if (from_env == nullptr) fail(exit_usage, std::string("no secret: pass --secret or set ") + secret_env);
  return {from_env};
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\u00";
          out += hex[(static_cast<unsigned char>(c) >> 4U) & 0xFU];
          out += hex[static_cast<unsigned char>(c) & 0xFU];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

void fail(int exit_code, const std::string& message) {
  std::cerr << "statusstack-webhook: " << message << '\n';
  throw CLI::RuntimeError(exit_code);
}

}  // namespace statusstack::webhooks::cli

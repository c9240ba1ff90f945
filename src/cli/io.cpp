#include "cli.hpp"

#include "detail/json_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
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
  std::string text;
  try {
    text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  } catch (const std::ios_base::failure&) {  // libstdc++ throws reading a directory (EISDIR)
    file.setstate(std::ios::badbit);
  }
  if (file.bad()) {
    std::error_code ignored;
    fail(exit_usage,
         "cannot read " + path +
             (std::filesystem::is_directory(path, ignored) ? ": it is a directory" : std::string()));
  }
  return text;
}

std::vector<std::string> secrets_or_env(const std::vector<std::string>& given) {
  if (!given.empty()) return given;
  const char* from_env =
      std::getenv(secret_env);  // NOLINT(concurrency-mt-unsafe): read before any thread starts
  if (from_env == nullptr) fail(exit_usage, std::string("no secret: pass --secret or set ") + secret_env);
  return {from_env};
}

std::vector<std::string> read_secret_file(const std::string& path) {
  std::string text;
  if (path == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    text = buffer.str();
  } else {
    std::ifstream file(path, std::ios::binary);
    if (!file) fail(exit_usage, "--secret-file: cannot open " + path + ": " + error_text(errno));
    try {
      text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    } catch (const std::ios_base::failure&) {  // libstdc++ throws reading a directory
      file.setstate(std::ios::badbit);
    }
    if (file.bad()) fail(exit_usage, "--secret-file: cannot read " + path);
  }
  std::vector<std::string> secrets;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    secrets.push_back(std::move(line));
    start = end + 1;
  }
  // The file's text held the secrets too: wipe it as the Secret type would.
  std::fill(text.begin(), text.end(), '\0');
  if (secrets.empty()) fail(exit_usage, "--secret-file: " + path + " holds no secret");
  return secrets;
}

std::vector<std::string> secrets_from(const std::vector<std::string>& given, const std::string& secret_file) {
  return secret_file.empty() ? secrets_or_env(given) : read_secret_file(secret_file);
}

void add_secret_file_option(CLI::App& command, CLI::Option* secret, std::string& secret_file) {
  command
      .add_option("--secret-file", secret_file,
                  "Read the secret from FILE (- for standard input), one a line; safer than --secret, "
                  "which other users can see in the process list")
      ->excludes(secret);
}

std::string store_name(const std::string& store) {
  if (!is_database_uri(store)) return store;
  // postgresql://user:password@host/db: the password goes, the rest says which database.
  const std::size_t authority = store.find("://") + 3;
  const std::size_t at = store.find('@', authority);
  const std::size_t colon = store.find(':', authority);
  if (at == std::string::npos || colon == std::string::npos || colon > at) return store;
  return store.substr(0, colon) + store.substr(at);
}

std::string option_message(const Error& error) {
  std::string option = "--" + error.field;
  for (char& c : option) {
    if (c == '_') c = '-';
  }
  const std::string prefix = error.field + ":";
  if (!error.field.empty() && error.message.rfind(prefix, 0) == 0) {
    return option + error.message.substr(error.field.size());
  }
  return error.message;
}

std::string json_quote(std::string_view text) {
  detail::JsonWriter out(text.size() + 2);
  out.string(text);
  return out.take();
}

void fail(int exit_code, const std::string& message) {
  std::cerr << "statusstack-webhook: " << message << '\n';
  throw CLI::RuntimeError(exit_code);
}

}  // namespace statusstack::webhooks::cli

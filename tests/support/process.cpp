#include "support/process.hpp"

#include "support/servers.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere else

namespace statusstack::webhooks::testing {

namespace {
std::string read_all(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                          const std::string& input_file) {
  if (argv.empty()) throw std::runtime_error("run_process: no program given");
  const TempDir capture;
  const std::string out_file = capture.file("stdout");
  const std::string err_file = capture.file("stderr");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, input_file.empty() ? "/dev/null" : input_file.c_str(),
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);

  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    bool replaced = false;
    for (const auto& extra : extra_env) {
      const auto name_length = extra.find('=') + 1;
      if (text.compare(0, name_length, extra, 0, name_length) == 0) replaced = true;
    }
    if (!replaced) env_storage.push_back(text);
  }
  env_storage.insert(env_storage.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> env;
  for (auto& entry : env_storage) env.push_back(entry.data());
  env.push_back(nullptr);

  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw std::runtime_error("run_process: cannot start " + argv[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid)
    throw std::runtime_error("run_process: waitpid failed for " + argv[0]);
  ProcessResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_all(out_file);
  result.err = read_all(err_file);
  return result;
}

}  // namespace statusstack::webhooks::testing

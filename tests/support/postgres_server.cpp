#include "support/postgres_server.hpp"

#include "support/process.hpp"
#include "support/servers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace statusstack::webhooks::testing {

namespace {

namespace fs = std::filesystem;

// The newest /usr/lib/postgresql/<version>/bin that has initdb, or "".
std::string server_bin() {
  std::error_code ignored;
  std::vector<std::pair<int, std::string>> found;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ignored)) {
    const std::string version = entry.path().filename().string();
    const fs::path bin = entry.path() / "bin";
    if (fs::exists(bin / "initdb", ignored) && fs::exists(bin / "postgres", ignored) &&
        version.find_first_not_of("0123456789") == std::string::npos && !version.empty()) {
      found.emplace_back(std::stoi(version), bin.string());
    }
  }
  if (found.empty()) return "";
  return std::max_element(found.begin(), found.end())->second;
}

// A loopback port nobody listens on now (closed again: the server binds it next).
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("PostgresServer: socket: " + std::generic_category().message(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
  ::close(fd);
  if (!bound) throw std::runtime_error("PostgresServer: no free loopback port");
  return ntohs(addr.sin_port);
}

// As root the server programs run as `postgres` (setpriv execs them: the pid is the program's own,
// so signals reach it); otherwise as the current user.
std::vector<std::string> as_server_user(std::vector<std::string> argv) {
  if (::geteuid() != 0) return argv;
  std::vector<std::string> wrapped = {"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
                                      "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

void give_to_server_user(const std::string& path) {
  if (::geteuid() != 0) return;
  const passwd* user =
      ::getpwnam("postgres");  // NOLINT(concurrency-mt-unsafe): tests make servers one at a time
  if (user == nullptr)
    throw std::runtime_error("PostgresServer: there is no postgres user to run the server as");
  if (::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0) {
    throw std::runtime_error("PostgresServer: chown " + path + ": " + std::generic_category().message(errno));
  }
}

enum class Start { ready, ended, timed_out };

// Waits (at most 30 s) until the server accepts connections on `port`, or ends.
Start wait_until_ready(BackgroundProcess& server, const std::string& bin, int port) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const ProcessResult ready = run_process(
        {bin + "/pg_isready", "--host=127.0.0.1", "--port=" + std::to_string(port), "--timeout=1"});
    if (ready.exit_code == 0) return Start::ready;
    if (server.wait(std::chrono::milliseconds(100))) return Start::ended;
  }
  return Start::timed_out;
}

}  // namespace

PostgresServer::PostgresServer() : dir_(std::make_unique<TempDir>()), bin_(server_bin()) {
  if (bin_.empty()) {
    throw std::runtime_error(
        "PostgresServer: PostgreSQL's server is not installed (apt-get install postgresql; scripts/test.sh "
        "does)");
  }
  give_to_server_user(dir_->path());
  const std::string data = dir_->file("data");
  const ProcessResult made =
      run_process(as_server_user({bin_ + "/initdb", "--pgdata=" + data, "--username=postgres", "--auth=trust",
                                  "--encoding=UTF8", "--no-locale", "--no-sync"}));
  if (made.exit_code != 0) throw std::runtime_error("PostgresServer: initdb failed:\n" + made.err + made.out);

  // Bounded tries: a port taken between free_loopback_port() and the server's bind is tried again.
  for (int attempt = 0; attempt < 3 && !server_; ++attempt) {
    port_ = free_loopback_port();
    auto server = std::make_unique<BackgroundProcess>(as_server_user(
        {bin_ + "/postgres", "-D", data, "-p", std::to_string(port_), "-c", "listen_addresses=127.0.0.1",
         "-c", "unix_socket_directories=" + dir_->path(), "-c", "logging_collector=off", "-c",
         "log_destination=stderr", "-c", "max_connections=200"}));
    const Start start = wait_until_ready(*server, bin_, port_);
    if (start == Start::ready) {
      server_ = std::move(server);
    } else if (start == Start::timed_out) {
      throw std::runtime_error("PostgresServer: not ready after 30 s:\n" + server->terminate().err);
    } else if (attempt == 2) {
      throw std::runtime_error("PostgresServer: the server ended at start:\n" + server->terminate().err);
    }  // else it ended at start, most likely for the port: another one
  }
  if (!server_) throw std::runtime_error("PostgresServer: could not start on a free port");
}

PostgresServer::~PostgresServer() {
  if (server_) {
    server_->send_signal(SIGINT);  // fast shutdown: no waiting for clients
    if (!server_->wait(std::chrono::seconds(10))) server_->send_signal(SIGKILL);
    static_cast<void>(server_->wait(std::chrono::seconds(5)));
    server_.reset();
  }
  dir_.reset();  // removes the cluster's files
}

std::string PostgresServer::uri(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::create_database(const std::string& name) const {
  if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    throw std::invalid_argument("PostgresServer::create_database: a name of [a-z0-9_], not \"" + name + "\"");
  }
  sql("CREATE DATABASE " + name);
  return uri(name);
}

std::string PostgresServer::sql(const std::string& statements, const std::string& database) const {
  const ProcessResult result =
      run_process({bin_ + "/psql", "--no-psqlrc", "--quiet", "--tuples-only", "--no-align",
                   "--set=ON_ERROR_STOP=1", "--dbname=" + uri(database), "--command=" + statements});
  if (result.exit_code != 0) throw std::runtime_error("psql: " + result.err);
  return result.out;
}

}  // namespace statusstack::webhooks::testing

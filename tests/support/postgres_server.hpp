#pragma once

// Test-only: a private PostgreSQL cluster on 127.0.0.1, made and started for one test and stopped
// and removed with it. Debian's server programs (/usr/lib/postgresql/<version>/bin); as root they
// run as the `postgres` system user that the Debian package creates (initdb refuses root).

#include <chrono>
#include <memory>
#include <string>

namespace statusstack::webhooks::testing {

class BackgroundProcess;
class TempDir;

/// initdb into a fresh temporary folder (trust authentication, UTF-8), then the server on a free
/// loopback port with its socket in that folder; the constructor returns once it accepts
/// connections (at most 30 s, else std::runtime_error with the server's log). The destructor stops
/// it (fast shutdown, SIGKILL after 10 s) and removes the folder. Without Debian's postgresql
/// package the constructor throws, saying so (scripts/test.sh installs it).
class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  /// A libpq connection string (URI) for `database` as the superuser `postgres`.
  std::string uri(const std::string& database = "postgres") const;
  /// Creates a database (named [a-z0-9_]) and returns its URI.
  std::string create_database(const std::string& name) const;
  /// Runs SQL through psql against `database`; returns psql's standard output (unaligned, tuples
  /// only). Throws std::runtime_error with psql's message when it fails.
  std::string sql(const std::string& statements, const std::string& database = "postgres") const;

 private:
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<BackgroundProcess> server_;
  std::string bin_;  // the folder of initdb, postgres and psql
  int port_ = 0;
};

}  // namespace statusstack::webhooks::testing

#pragma once

// Test-only: a libpq connection of the test's own, as a host application holds one (the outbox
// tests begin, commit and roll back on it). Failures are Catch2 REQUIREs.

#include <libpq-fe.h>
#include <catch2/catch.hpp>

#include <string>

namespace statusstack::webhooks::testing {

struct HostConnection {
  explicit HostConnection(const std::string& uri) : connection(PQconnectdb(uri.c_str())) {
    REQUIRE(PQstatus(connection) == CONNECTION_OK);
  }
  ~HostConnection() { PQfinish(connection); }
  HostConnection(const HostConnection&) = delete;
  HostConnection& operator=(const HostConnection&) = delete;
  /// Runs one statement; it must succeed.
  void exec(const char* sql) const {
    PGresult* result = PQexec(connection, sql);
    const ExecStatusType status = PQresultStatus(result);
    PQclear(result);
    REQUIRE((status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK));
  }
  PGconn* connection;
};

}  // namespace statusstack::webhooks::testing

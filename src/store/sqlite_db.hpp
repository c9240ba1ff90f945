#pragma once

// The store file, as SQL: a connection and statements that close themselves, the one-owner lock,
// the schema, and the queries that the Dispatcher's store and StoreFile share. Only the store's
// sources include this (SQLite stays out of every other file).

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/store.hpp>

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace statusstack::webhooks::detail::sqlite {

/// Milliseconds since the Unix epoch: how the file keeps time.
std::int64_t to_ms(std::chrono::system_clock::time_point time) noexcept;
std::chrono::system_clock::time_point from_ms(std::int64_t ms) noexcept;

/// A prepared statement, reset for reuse after each run.
class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, std::string_view sql);  // throws nothing: check ok()
  ~Stmt();
  Stmt(Stmt&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const noexcept { return stmt_ != nullptr; }
  Stmt& bind(int index, std::int64_t value);
  Stmt& bind(int index, std::string_view text);  ///< copied by SQLite
  Stmt& bind_null(int index);
  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int step();
  void reset();

  std::int64_t integer(int column) const;
  std::string text(int column) const;
  std::string_view view(int column) const;  ///< valid until the next step()
  bool is_null(int column) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

/// One connection to a store file.
class Db {
 public:
  /// Opens (creating when `create`) the file, in WAL mode, with the schema in place. Errors name
  /// the file and what is wrong with it.
  static Result<std::unique_ptr<Db>> open(const std::string& path, bool create, Durability durability,
                                          std::uint64_t max_bytes);
  /// Another connection to a store file that open() made ready: for reads (and checkpoints).
  static Result<std::unique_ptr<Db>> connect(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }
  /// Runs statements without results.
  Result<void> exec(const char* sql);
  /// Ends the open transaction without its changes (a failed one: nothing to report).
  void rollback() noexcept { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }
  /// The store_error for the connection's last failure: "store FILE: <doing>: <sqlite's message>".
  Error error(std::string_view doing) const;
  Stmt prepare(std::string_view sql) const { return Stmt(db_, sql); }

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

/// The exclusive right to write a store file: a lock on FILE.lock (flock: held per open file, so a
/// second owner in this process is refused like one in another process). Released on destruction.
class OwnerLock {
 public:
  /// Errors: store_error "in use by another Dispatcher", or the lock file cannot be made.
  static Result<OwnerLock> take(const std::string& path);
  ~OwnerLock();
  OwnerLock(OwnerLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  OwnerLock& operator=(OwnerLock&&) = delete;
  OwnerLock(const OwnerLock&) = delete;
  OwnerLock& operator=(const OwnerLock&) = delete;

 private:
  explicit OwnerLock(int fd) : fd_(fd) {}
  int fd_;
};

/// Row states as stored.
enum : std::int64_t { state_pending = 0, state_failed = 1, state_delivered = 2 };

Result<std::vector<StoredDelivery>> list(Db& db, const DeliveryQuery& query);
Result<std::optional<StoredDelivery>> find(Db& db, const std::string& id);
Result<StoreCounts> counts(Db& db);
/// Makes the failed deliveries among `ids` pending again (attempts 0, due now); returns their ids.
Result<std::vector<std::string>> redeliver(Db& db, const std::vector<std::string>& ids,
                                           std::chrono::system_clock::time_point now);
/// The ids of the failed deliveries `query` selects (its state is taken as failed).
Result<std::vector<std::string>> failed_ids(Db& db, const DeliveryQuery& query);

}  // namespace statusstack::webhooks::detail::sqlite

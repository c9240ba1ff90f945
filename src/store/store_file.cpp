// StoreFile: a store file read from outside the Dispatcher that owns it (the CLI's `deliveries`).

#include <statusstack/webhooks/store.hpp>

#include "store/sqlite_db.hpp"

#include <sys/stat.h>

namespace statusstack::webhooks {

struct StoreFile::Impl {
  std::unique_ptr<detail::sqlite::Db> db;
};

Result<StoreFile> StoreFile::open(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return Error{ErrorCode::store_error, "store " + path + ": no such file", "store"};
  }
  // Never created here: a mistyped path must not leave an empty store behind. Reading shares the
  // file with its Dispatcher (write-ahead log); the durability setting only matters for writes.
  auto db = detail::sqlite::Db::open(path, false, Durability::power_loss, 0);
  if (!db) return db.error();
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*db);
  return StoreFile(std::move(impl));
}

StoreFile::StoreFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoreFile::~StoreFile() = default;
StoreFile::StoreFile(StoreFile&&) noexcept = default;
StoreFile& StoreFile::operator=(StoreFile&&) noexcept = default;

Result<std::vector<StoredDelivery>> StoreFile::list(const DeliveryQuery& query) const {
  return detail::sqlite::list(*impl_->db, query);
}

Result<std::optional<StoredDelivery>> StoreFile::find(const std::string& id) const {
  return detail::sqlite::find(*impl_->db, id);
}

Result<StoreCounts> StoreFile::counts() const { return detail::sqlite::counts(*impl_->db); }

Result<std::size_t> StoreFile::redeliver(const std::vector<std::string>& ids) {
  // Only while no Dispatcher owns the file: a running one would not see the rows until its restart.
  auto owner = detail::sqlite::OwnerLock::take(impl_->db->path());
  if (!owner) {
    Error error = owner.error();
    error.message += " (redeliver through that Dispatcher, or stop it first)";
    return error;
  }
  auto taken = detail::sqlite::redeliver(*impl_->db, ids, std::chrono::system_clock::now());
  if (!taken) return taken.error();
  return taken->size();
}

Result<std::size_t> StoreFile::redeliver(const DeliveryQuery& query) {
  auto ids = detail::sqlite::failed_ids(*impl_->db, query);
  if (!ids) return ids.error();
  return redeliver(*ids);
}

}  // namespace statusstack::webhooks

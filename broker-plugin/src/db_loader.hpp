// Reads the device credentials from the core's SQLite DB, read-only. Used by the background thread
// only (never on the broker thread). Tables and columns: see docs/broker-plugin.md.
#pragma once
#include <memory>
#include <string>

#include "devices.hpp"

struct sqlite3;

namespace chargehub::auth {

class DbLoader {
 public:
  explicit DbLoader(std::string path) : path_(std::move(path)) {}
  ~DbLoader();
  DbLoader(const DbLoader&) = delete;
  DbLoader& operator=(const DbLoader&) = delete;

  enum class Status { unchanged, loaded, missing, error };
  struct Result {
    Status status = Status::error;
    std::shared_ptr<DeviceTable> table;  // set when loaded
    std::string message;                 // why, for missing/error
  };
  // Loads all devices if auth_state.rev differs from known_rev (or force); rev and rows are read in
  // one read transaction, so they agree.
  Result poll(std::int64_t known_rev, bool force);

 private:
  void close();
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace chargehub::auth

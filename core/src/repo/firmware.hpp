// The firmware registry's rows (migration 003, `firmware`): one manifest per model and version; the
// image itself is a file in the firmware directory (docs/ota.md). Rows in, rows out, no decisions
// (core/src/app/ota.cpp checks uploads).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/ota/firmware.hpp"
#include "db/db.hpp"

namespace chargehub::core {

struct FirmwareRow {
  int64_t id = 0;
  firmware::Manifest manifest;   // manifest.created_at = created_at
  std::string file, created_by;  // file: its name in the firmware directory
  int64_t created_at = 0;
};

class FirmwareRepo {
 public:
  explicit FirmwareRepo(sql::Db& db) : db_(db) {}

  // The id of the firmware of this model and version, if there is one.
  std::optional<int64_t> id_of(int64_t model, const proto::Version& version);
  // Stores a manifest (created_at = now) and returns its id; a second one for the same model and version
  // is a constraint error (sql::Error).
  int64_t insert(const firmware::Manifest& m, const std::string& file, const std::string& created_by, int64_t now);
  std::optional<FirmwareRow> get(int64_t id);
  std::vector<FirmwareRow> list();   // newest first

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core

// The backends behind sql::open(). Only db.cpp and the backends include this.
#pragma once
#include <memory>
#include <string>

#include "db.hpp"

namespace chargehub::core::sql {
// path: a file name (created if missing) or ":memory:".
std::unique_ptr<Db> open_sqlite(const std::string& path);
// conninfo: a libpq connection string or URI.
std::unique_ptr<Db> open_postgres(const std::string& conninfo);
}  // namespace chargehub::core::sql

// PLACEHOLDER until the libpq backend lands (same branch): PostgreSQL is refused.
#include "backends.hpp"

namespace chargehub::core::sql {
std::unique_ptr<Db> open_postgres(const std::string&) { throw Error("PostgreSQL support is not built yet"); }
}  // namespace chargehub::core::sql

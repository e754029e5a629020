// The PostgreSQL backend's placeholder rewrite, declared apart so tests can check it directly.
#pragma once
#include <string>
#include <string_view>

namespace chargehub::core::sql {

struct PgSql {
  std::string text;   // with $N placeholders
  int params = 0;     // the highest N
};

// Rewrites SQLite-style placeholders to PostgreSQL's: `?N` becomes `$N`; a bare `?` takes one more than
// the highest number given so far (SQLite's rule, so "?, ?" is "$1, $2" and "?2, ?" is "$2, $3").
// Nothing changes inside '…' string literals ('' escapes included), "…" identifiers, -- line comments
// and /* */ comments. Throws sql::Error for `?0` or a number above PostgreSQL's 65535 parameters.
PgSql pg_placeholders(std::string_view sql);

}  // namespace chargehub::core::sql

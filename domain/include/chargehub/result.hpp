// Expected refusals as values: a busy port, too little money, a bad amount. Callers must handle them and
// people see them, so they are not exceptions. A refusal is a machine-readable code and a sentence; the
// HTTP layer alone decides which status a code gets (admin-api/src/errors.cpp).
//
//   Result<Terms> r = rules::decide_start(facts);
//   if (!r) return Result<Ticket>::no(r.refusal);
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace chargehub {

struct Refusal {
  std::string code;      // snake_case, stable: clients switch on it
  std::string message;   // for people
  int64_t retry_after_s = 0;   // > 0: the same request may succeed after this many seconds (throttling)
};

template <class T>
struct Result {
  std::optional<T> value;
  Refusal refusal;
  static Result ok(T v) { return Result{std::move(v), {}}; }
  static Result no(std::string code, std::string message) { return Result{std::nullopt, {std::move(code), std::move(message)}}; }
  static Result no(Refusal r) { return Result{std::nullopt, std::move(r)}; }
  explicit operator bool() const { return value.has_value(); }
  T& operator*() { return *value; }
  const T& operator*() const { return *value; }
  T* operator->() { return &*value; }
  const T* operator->() const { return &*value; }
};

// A refusal as a Result of any type: `return no<Device>(r.refusal);`.
template <class T>
Result<T> no(Refusal r) {
  return Result<T>::no(std::move(r));
}

}  // namespace chargehub

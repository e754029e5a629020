// Typed request bodies and response views as plain structs described with Boost.Describe: the kernel
// parses a body into its struct (naming the field that is wrong), views become JSON through
// boost::json::value_from, and the OpenAPI document's schemas come from the same descriptions.
//
//   struct NewRider { std::string name; std::optional<std::string> phone; };
//   BOOST_DESCRIBE_STRUCT(NewRider, (), (name, phone))
//   auto b = ctx.body<NewRider>();     // {"name": 5} → 400 {"error":"bad_field","field":"name",...}
//
// A member that is std::optional may be absent or null; every other member is required. Unknown fields
// are refused (a typo must not be silently ignored). Strings must be valid UTF-8.
#pragma once
#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <boost/mp11.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace chargehub::api {

struct BadInput;
[[noreturn]] void bad_input(std::string code, std::string field, std::string message);
bool utf8_ok(std::string_view s);

// Throws BadInput(code, field, message) unless cond.
inline void need(bool cond, std::string_view code, std::string_view field, std::string_view message) {
  if (!cond) bad_input(std::string(code), std::string(field), std::string(message));
}

namespace detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

template <class T>
void read(const boost::json::value& v, T& out, std::string_view field) {
  namespace json = boost::json;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string() || !utf8_ok(v.get_string())) bad_input("bad_field", std::string(field), std::string(field) + " must be UTF-8 text");
    out = std::string(v.get_string());
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool()) bad_input("bad_field", std::string(field), std::string(field) + " must be true or false");
    out = v.get_bool();
  } else if constexpr (std::is_integral_v<T>) {
    int64_t x = 0;
    if (v.is_int64()) x = v.get_int64();
    else if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) x = static_cast<int64_t>(v.get_uint64());
    else bad_input("bad_field", std::string(field), std::string(field) + " must be an integer");
    if (x < static_cast<int64_t>(std::numeric_limits<T>::min()) || x > static_cast<int64_t>(std::numeric_limits<T>::max()))
      bad_input("bad_field", std::string(field), std::string(field) + " is out of range");
    out = static_cast<T>(x);
  } else if constexpr (std::is_same_v<T, json::object>) {
    if (!v.is_object()) bad_input("bad_field", std::string(field), std::string(field) + " must be an object");
    out = v.get_object();
  } else if constexpr (std::is_same_v<T, json::value>) {
    out = v;
  } else if constexpr (is_optional<T>::value) {
    if (v.is_null()) {
      out.reset();
    } else {
      typename T::value_type x{};
      read(v, x, field);
      out = std::move(x);
    }
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_array() || v.get_array().size() > 1000) bad_input("bad_field", std::string(field), std::string(field) + " must be a list");
    out.clear();
    for (auto& e : v.get_array()) {
      typename T::value_type x{};
      read(e, x, field);
      out.push_back(std::move(x));
    }
  } else {
    static_assert(sizeof(T) == 0, "unsupported body member type");
  }
}

template <class T>
boost::json::value schema_of_member() {
  namespace json = boost::json;
  if constexpr (std::is_same_v<T, std::string>) return json::object{{"type", "string"}};
  else if constexpr (std::is_same_v<T, bool>) return json::object{{"type", "boolean"}};
  else if constexpr (std::is_integral_v<T>) return json::object{{"type", "integer"}, {"format", "int64"}};
  else if constexpr (std::is_same_v<T, json::object>) return json::object{{"type", "object"}};
  else if constexpr (std::is_same_v<T, json::array>) return json::object{{"type", "array"}};
  else if constexpr (std::is_same_v<T, json::value>) return json::object{};
  else if constexpr (is_optional<T>::value) {
    auto s = schema_of_member<typename T::value_type>();
    if (s.is_object()) s.as_object()["nullable"] = true;
    return s;
  } else if constexpr (is_vector<T>::value) {
    return json::object{{"type", "array"}, {"items", schema_of_member<typename T::value_type>()}};
  } else if constexpr (boost::describe::has_describe_members<T>::value) {
    json::object props;
    json::array required;
    boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public | boost::describe::mod_inherited>>([&](auto D) {
      using M = std::remove_cvref_t<decltype(std::declval<T>().*D.pointer)>;
      props[D.name] = schema_of_member<M>();
      if (!is_optional<M>::value) required.push_back(json::string(D.name));
    });
    json::object s{{"type", "object"}, {"properties", std::move(props)}};
    if (!required.empty()) s["required"] = std::move(required);
    return s;
  } else {
    return json::object{};
  }
}

}  // namespace detail

// The JSON schema of a described struct (required = its non-optional members).
template <class T>
boost::json::value schema_of() {
  return detail::schema_of_member<T>();
}
inline boost::json::value page_schema(boost::json::value item) {
  namespace json = boost::json;
  return json::object{{"type", "object"},
                      {"required", json::array{"items", "page", "size", "total"}},
                      {"properties", json::object{{"items", json::object{{"type", "array"}, {"items", std::move(item)}}},
                                                  {"page", json::object{{"type", "integer"}}},
                                                  {"size", json::object{{"type", "integer"}}},
                                                  {"total", json::object{{"type", "integer"}}}}}};
}

template <class T>
T parse_body(const boost::json::object& o) {
  static_assert(boost::describe::has_describe_members<T>::value, "describe the body struct");
  T out{};
  size_t known = 0;
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>([&](auto D) {
    using M = std::remove_cvref_t<decltype(out.*D.pointer)>;
    auto* v = o.if_contains(D.name);
    if (!v) {
      if constexpr (!detail::is_optional<M>::value) bad_input("missing_field", D.name, std::string(D.name) + " is required");
      return;
    }
    ++known;
    detail::read(*v, out.*D.pointer, D.name);
  });
  if (known != o.size()) {
    for (auto& kv : o) {
      bool found = false;
      boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
          [&](auto D) { found = found || kv.key() == D.name; });
      if (!found) bad_input("unknown_field", std::string(kv.key()), "unknown field " + std::string(kv.key()));
    }
  }
  return out;
}

}  // namespace chargehub::api

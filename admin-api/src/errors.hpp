// The HTTP side of refusals: which status each refusal code gets (the use cases only name the code),
// and the one error shape {"error": code, "message": text}.
#pragma once
#include <httplib.h>

#include <boost/json.hpp>
#include <string>

#include "chargehub/result.hpp"

namespace chargehub::api {

int status_for(const Refusal& r);

void send(httplib::Response& res, int status, const boost::json::value& body);
void fail(httplib::Response& res, int status, const std::string& code, const std::string& message);
inline void refuse(httplib::Response& res, const Refusal& r) { fail(res, status_for(r), r.code, r.message); }

}  // namespace chargehub::api

// The one place that gives a refusal code its HTTP status (use cases never pick one).
#pragma once
#include "chargehub/result.hpp"

namespace chargehub::api {

int status_for(const Refusal& r);

}  // namespace chargehub::api

// A price plan's JSON form (docs/pricing.md): how plans are stored (price_plan.spec, session.plan_spec)
// and how the API shows and takes them. Pure.
#pragma once
#include <boost/json.hpp>
#include <optional>

#include "chargehub/pricing.hpp"

namespace chargehub::pricing {

boost::json::object plan_to_json(const Plan& p);
// Nothing when a field is missing its kind, of the wrong type or out of range.
std::optional<Plan> plan_from_json(const boost::json::value& v);

}  // namespace chargehub::pricing

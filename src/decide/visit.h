// The hot data of a visit, from the Segment-style `context` of a decide request: the page,
// the referrer (and whether it is a search engine or a social network), UTM parameters,
// device type, OS and browser from the User-Agent, country (from the context, else from
// the IP with Debian's geoip-database), local hour and weekday, and whether the visitor is
// new. Conditions read them as visit.… (docs/conditions.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/value.h"
#include "decide/user_agent.h"
#include "simdjson.h"

namespace segmenta {

struct Visit {
  // The value of field `name` (as VisitFields() lists them: "referrer.search_engine"), or
  // nullptr when the visit has none or no such field exists.
  const Value* Find(std::string_view name) const;
  // Sets field `name`. REQUIRES: `name` is one of VisitFields().
  void Set(std::string_view name, Value value);

 private:
  // By the field's index (see visit.cc); null when absent. A fixed array rather than a map
  // of names: a decide request builds one, and allocating the names cost a tenth of it.
  std::vector<Value> values_;
};

// Reads `context` (null: none) at `now`; the User-Agent with UserAgentParser::Shared().
// Errors: InvalidArgument naming the field ("context.timezone: unknown time zone
// \"Mars/Olympus\"", "context.page: must be an object"); the parser's load error when
// uap-core's rules cannot be read.
absl::StatusOr<Visit> ReadVisit(const simdjson::dom::element* context, Millis now,
                                bool new_visitor);

}  // namespace segmenta

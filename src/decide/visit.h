// The hot data of a visit, from the Segment-style `context` of a decide request: the page,
// the referrer (and whether it is a search engine or a social network), UTM parameters,
// device type, OS and browser from the User-Agent, country (from the context, else from
// the IP with Debian's geoip-database), local hour and weekday, and whether the visitor is
// new. Conditions read them as visit.… (docs/conditions.md).
#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/value.h"
#include "decide/user_agent.h"
#include "simdjson.h"

namespace segmenta {

struct Visit {
  // By field name as VisitFields() lists them ("referrer.search_engine"); absent: null.
  absl::flat_hash_map<std::string, Value> fields;

  const Value* Find(const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? nullptr : &it->second;
  }
};

// Reads `context` (null: none) at `now`; the User-Agent with UserAgentParser::Shared().
// Errors: InvalidArgument naming the field ("context.timezone: unknown time zone
// \"Mars/Olympus\"", "context.page: must be an object"); the parser's load error when
// uap-core's rules cannot be read.
absl::StatusOr<Visit> ReadVisit(const simdjson::dom::element* context, Millis now,
                                bool new_visitor);


}  // namespace segmenta

#include "decide/experience.h"

#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "core/json_writer.h"
#include "fmt/format.h"
#include "segments/group.h"
#include "simdjson.h"

namespace segmenta {

std::string ExperienceDefinition::Encode() const {
  JsonWriter w;
  w.BeginObject().Field("id", uint64_t{id}).Field("slot", slot).Field("description", description);
  w.Key("variations").BeginArray();
  for (const Variation& v : variations) {
    w.BeginObject().Field("name", v.name).Field("condition", v.condition);
    w.Field("payload", v.payload).EndObject();
  }
  w.EndArray().Field("default", default_payload).Field("experiment", experiment);
  w.Field("audience", audience).Key("allocation").BeginArray();
  for (const auto& [name, percent] : allocation) {
    w.BeginObject().Field("variation", name).Field("percent", percent).EndObject();
  }
  w.EndArray().Field("control", control).Field("created", created_ms);
  w.Field("updated", updated_ms).EndObject();
  return w.Take();
}

absl::StatusOr<ExperienceDefinition> ExperienceDefinition::Decode(std::string_view bytes) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(bytes);
  simdjson::dom::element root;
  ExperienceDefinition d;
  uint64_t id = 0;
  std::string_view slot, description, def, experiment, audience;
  simdjson::dom::array variations, allocation;
  const absl::Status malformed = absl::DataLossError("malformed experience record in the store");
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      root["id"].get(id) != simdjson::SUCCESS || root["slot"].get(slot) != simdjson::SUCCESS ||
      root["description"].get(description) != simdjson::SUCCESS ||
      root["variations"].get(variations) != simdjson::SUCCESS ||
      root["default"].get(def) != simdjson::SUCCESS ||
      root["experiment"].get(experiment) != simdjson::SUCCESS ||
      root["audience"].get(audience) != simdjson::SUCCESS ||
      root["allocation"].get(allocation) != simdjson::SUCCESS ||
      root["control"].get(d.control) != simdjson::SUCCESS ||
      root["created"].get(d.created_ms) != simdjson::SUCCESS ||
      root["updated"].get(d.updated_ms) != simdjson::SUCCESS) {
    return malformed;
  }
  d.id = static_cast<uint32_t>(id);
  d.slot = std::string(slot);
  d.description = std::string(description);
  d.default_payload = std::string(def);
  d.experiment = std::string(experiment);
  d.audience = std::string(audience);
  for (simdjson::dom::element v : variations) {
    std::string_view name, condition, payload;
    if (v["name"].get(name) != simdjson::SUCCESS ||
        v["condition"].get(condition) != simdjson::SUCCESS ||
        v["payload"].get(payload) != simdjson::SUCCESS) {
      return malformed;
    }
    d.variations.push_back({std::string(name), std::string(condition), std::string(payload)});
  }
  for (simdjson::dom::element a : allocation) {
    std::string_view name;
    double percent = 0;
    if (a["variation"].get(name) != simdjson::SUCCESS ||
        a["percent"].get(percent) != simdjson::SUCCESS) {
      return malformed;
    }
    d.allocation.emplace_back(std::string(name), percent);
  }
  return d;
}

absl::Status CheckExperience(const ExperienceDefinition& def) {
  absl::Status name = CheckGroupName(def.slot);
  if (!name.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("slot: {}", std::string(name.message()).replace(0, 7, "a slot")));
  }
  simdjson::dom::parser parser;
  auto valid_json = [&](const std::string& text) {
    simdjson::padded_string padded(text);
    simdjson::dom::element e;
    return parser.parse(padded).get(e) == simdjson::SUCCESS;
  };
  if (!valid_json(def.default_payload)) {
    return absl::InvalidArgumentError("default: must be JSON");
  }
  absl::flat_hash_set<std::string> names;
  for (size_t i = 0; i < def.variations.size(); ++i) {
    const Variation& v = def.variations[i];
    if (v.name.empty() || v.name == "control" || v.name == "default") {
      return absl::InvalidArgumentError(
          fmt::format("variations[{}].name: required, and not \"control\" or \"default\"", i));
    }
    if (!names.insert(v.name).second) {
      return absl::InvalidArgumentError(
          fmt::format("variations[{}].name: \"{}\" appears twice", i, v.name));
    }
    if (!valid_json(v.payload)) {
      return absl::InvalidArgumentError(fmt::format("variations[{}].payload: must be JSON", i));
    }
  }
  if (!def.is_experiment()) {
    if (!def.allocation.empty() || def.control != 0) {
      return absl::InvalidArgumentError("experiment: an allocation needs the experiment's key");
    }
    return absl::OkStatus();
  }
  if (def.allocation.empty()) {
    return absl::InvalidArgumentError("allocation: an experiment allocates its traffic");
  }
  double total = def.control;
  if (!(def.control >= 0 && def.control <= 100)) {
    return absl::InvalidArgumentError("control: a percent between 0 and 100");
  }
  for (const auto& [variation, percent] : def.allocation) {
    if (!names.contains(variation)) {
      return absl::InvalidArgumentError(
          fmt::format("allocation: no variation named \"{}\"", variation));
    }
    if (!(percent > 0 && percent <= 100)) {
      return absl::InvalidArgumentError(
          fmt::format("allocation.{}: a percent above 0, at most 100", variation));
    }
    total += percent;
  }
  if (std::fabs(total - 100) > 1e-9) {
    return absl::InvalidArgumentError(
        fmt::format("allocation: the variations and the control sum to {:g}%, not 100%", total));
  }
  return absl::OkStatus();
}

std::string ExperienceKey(uint32_t id) {
  std::string key(kExperienceKeyPrefix);
  for (int i = 3; i >= 0; --i) key.push_back(static_cast<char>((id >> (i * 8)) & 0xFF));
  return key;
}

}  // namespace segmenta

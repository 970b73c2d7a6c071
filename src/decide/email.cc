#include "decide/email.h"

#include <regex>
#include <set>

#include "core/json_writer.h"
#include "fmt/format.h"
#include "kainjow/mustache.hpp"
#include "segments/group.h"
#include "simdjson.h"

namespace segmenta {
namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

// A JSON value as Mustache data: objects nest, lists list, scalars print as text.
data FromJson(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      data out{data::type::object};
      for (auto [key, value] : simdjson::dom::object(e)) out.set(std::string(key), FromJson(value));
      return out;
    }
    case simdjson::dom::element_type::ARRAY: {
      data out{data::type::list};
      for (simdjson::dom::element v : simdjson::dom::array(e)) out.push_back(FromJson(v));
      return out;
    }
    case simdjson::dom::element_type::STRING:
      return data(std::string(std::string_view(e)));
    case simdjson::dom::element_type::BOOL:
      return bool(e) ? data(data::type::bool_true) : data(data::type::bool_false);
    case simdjson::dom::element_type::NULL_VALUE:
      return data(data::type::bool_false);
    default: {
      double v = 0;
      if (e.get(v) != simdjson::SUCCESS) v = 0;
      return data(fmt::format("{}", v));
    }
  }
}

data TraitsData(const Traits& traits, simdjson::dom::parser& parser) {
  data out{data::type::object};
  for (const auto& [name, value] : traits) {
    simdjson::padded_string padded(value.json);
    simdjson::dom::element e;
    if (parser.parse(padded).get(e) != simdjson::SUCCESS) continue;
    out.set(name, FromJson(e));
  }
  return out;
}

// The variables a template prints ({{x}}, {{{x}}}, {{&x}}), not sections.
std::set<std::string> Printed(const std::string& text) {
  static const std::regex kTag(R"(\{\{\{?\s*&?\s*([A-Za-z0-9_.\- ]+?)\s*\}?\}\})");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kTag); it != std::sregex_iterator();
       ++it) {
    std::string name = (*it)[1];
    out.insert(name);
  }
  return out;
}

// The value at a dotted path of `traits` (its first segment a trait), or false.
bool HasPath(const data& root, const std::string& path) {
  const data* node = &root;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string key =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object()) return false;
    const data* next = node->get(key);
    if (next == nullptr) return false;
    node = next;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return !node->is_false();
}

}  // namespace

std::string EmailTemplate::Encode() const {
  JsonWriter w;
  w.BeginObject().Field("name", name).Field("subject", subject).Field("body", body);
  w.Key("defaults").BeginObject();
  for (const auto& [k, v] : defaults) w.Field(k, v);
  w.EndObject().Field("updated", updated_ms).EndObject();
  return w.Take();
}

absl::StatusOr<EmailTemplate> EmailTemplate::Decode(std::string_view bytes) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(bytes);
  simdjson::dom::element root;
  EmailTemplate t;
  std::string_view name, subject, body;
  simdjson::dom::object defaults;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      root["name"].get(name) != simdjson::SUCCESS ||
      root["subject"].get(subject) != simdjson::SUCCESS ||
      root["body"].get(body) != simdjson::SUCCESS ||
      root["defaults"].get(defaults) != simdjson::SUCCESS ||
      root["updated"].get(t.updated_ms) != simdjson::SUCCESS) {
    return absl::DataLossError("malformed e-mail template in the store");
  }
  t.name = std::string(name);
  t.subject = std::string(subject);
  t.body = std::string(body);
  for (auto [k, v] : defaults) t.defaults[std::string(k)] = std::string(std::string_view(v));
  return t;
}

absl::Status CheckEmailTemplate(const EmailTemplate& t) {
  absl::Status name = CheckGroupName(t.name);
  if (!name.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("name: {}", std::string(name.message()).replace(0, 7, "a template")));
  }
  if (t.body.empty()) return absl::InvalidArgumentError("body: is required");
  for (auto [part, text] : {std::pair{"subject", &t.subject}, std::pair{"body", &t.body}}) {
    mustache m(*text);
    if (!m.is_valid()) {
      return absl::InvalidArgumentError(fmt::format("{}: {}", part, m.error_message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RenderedEmail> RenderEmail(const EmailTemplate& t, const EmailContext& context) {
  simdjson::dom::parser parser;
  data contact = TraitsData(context.contact->traits, parser);
  // Defaults where the contact lacks the trait ("contact.first_name" or "first_name").
  for (const auto& [key, value] : t.defaults) {
    std::string path = key.rfind("contact.", 0) == 0 ? key.substr(8) : key;
    if (path.find('.') == std::string::npos && !HasPath(contact, path)) contact.set(path, value);
  }
  contact.set("id", std::to_string(context.contact->id));
  data root{data::type::object};
  root.set("contact", contact);
  root.set("account", context.account != nullptr ? TraitsData(*context.account, parser)
                                                 : data(data::type::object));
  root.set("persona",
           context.persona.empty() ? data(data::type::bool_false) : data(context.persona));
  root.set("stage", context.stage.empty() ? data(data::type::bool_false) : data(context.stage));
  data in{data::type::object};
  for (const std::string& a : context.audiences) in.set(a, data(data::type::bool_true));
  root.set("in", in);
  // Never an empty greeting: a printed trait the contact lacks needs a default.
  for (const std::string* text : {&t.subject, &t.body}) {
    for (const std::string& name : Printed(*text)) {
      if (name.rfind("contact.", 0) != 0) continue;
      if (!HasPath(root, name)) {
        return absl::FailedPreconditionError(
            fmt::format("contact {} has no \"{}\" and the template declares no default for it",
                        context.contact->id, name.substr(8)));
      }
    }
  }
  RenderedEmail out;
  mustache subject(t.subject), body(t.body);
  out.subject = subject.render(root);
  out.body = body.render(root);
  if (!subject.is_valid() || !body.is_valid()) {
    return absl::InternalError(
        fmt::format("rendering failed: {}{}", subject.error_message(), body.error_message()));
  }
  return out;
}

bool Unsubscribed(const Contact& contact) {
  auto is = [&](const char* name, const char* json) {
    auto it = contact.traits.find(name);
    return it != contact.traits.end() && it->second.json == json;
  };
  return is("unsubscribed", "true") || is("email_opt_in", "false");
}

}  // namespace segmenta

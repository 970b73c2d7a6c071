#include "lang/computed.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/json_writer.h"

namespace segmenta {

const ComputedKinds& ComputedKinds::BuiltIn() {
  static const ComputedKinds* kinds = [] {
    auto* out = new ComputedKinds();
    out->Register({.word = "score",
                   .named = true,
                   .type = ValueType::kNumber,
                   .noun = "score or persona",
                   .usage = "the score's or persona's name in double quotes: "
                            "score(\"Lead score\")"});
    out->Register({.word = "persona",
                   .named = false,
                   .type = ValueType::kString,
                   .undefined = "no personas are defined yet"});
    out->Register({.word = "stage",
                   .named = false,
                   .type = ValueType::kString,
                   .undefined = "no lifecycle stages are defined yet (PUT /api/stages)"});
    return out;
  }();
  return *kinds;
}

void ComputedKinds::Register(ComputedKind kind) {
  for (ComputedKind& k : kinds_) {
    if (k.word == kind.word) {
      k = std::move(kind);
      return;
    }
  }
  kinds_.push_back(std::move(kind));
}

const ComputedKind* ComputedKinds::Find(std::string_view word) const {
  for (const ComputedKind& k : kinds_) {
    if (k.word == word) return &k;
  }
  return nullptr;
}

std::string ComputedKey(std::string_view word, std::string_view name) {
  std::string key(word);
  key += ':';
  key += name;
  return key;
}

std::string DependencyText(std::string_view key) {
  const size_t colon = key.find(':');
  if (colon == std::string_view::npos) return std::string(key);
  std::string out(key.substr(0, colon));
  if (colon + 1 == key.size()) return out;
  out += '(';
  AppendJsonString(key.substr(colon + 1), &out);
  out += ')';
  return out;
}

std::string CycleText(const std::vector<std::string>& path) {
  std::vector<std::string> names;
  names.reserve(path.size());
  bool only_groups = true;
  for (const std::string& key : path) {
    names.push_back(DependencyText(key));
    only_groups = only_groups && key.find(':') == std::string::npos;
  }
  return absl::StrCat(only_groups ? "cycle between groups: " : "cycle of definitions: ",
                      absl::StrJoin(names, " → "));
}

}  // namespace segmenta

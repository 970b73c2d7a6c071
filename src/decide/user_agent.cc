#include "decide/user_agent.h"

#include <array>
#include <filesystem>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "core/string_view.h"
#include "fmt/format.h"
#include "re2/filtered_re2.h"
#include "re2/re2.h"
#include "re2/set.h"
#include "spdlog/spdlog.h"
#include "yaml-cpp/yaml.h"

namespace segmenta {
namespace {

constexpr int kMaxGroups = 9;
using Groups = std::array<std::string_view, kMaxGroups + 1>;

// One rule: the replacement of each output field, when the rule names one. Its regex is
// RuleList::filter's of the same index.
struct Rule {
  std::array<std::optional<std::string>, 5> replacement;
};

// One of uap's three lists. Trying a few hundred regexes in order costs 300-500 µs per
// string; RE2's FilteredRE2 tries only those whose literal atoms occur in it (found in one
// pass by a set of the atoms, on the lower-cased string), still in order: 5-60 µs.
struct RuleList {
  std::vector<Rule> rules;
  re2::FilteredRE2 filter{3};
  std::unique_ptr<RE2::Set> atoms;
  size_t skipped = 0;

  // The first rule matching `ua` and its groups, or -1.
  int Match(std::string_view ua, Groups* groups) const {
    if (rules.empty()) return -1;
    std::vector<int> found;
    if (atoms != nullptr) {
      atoms->Match(absl::AsciiStrToLower(AbslView(ua)), &found);
    }
    const re2::StringPiece text(ua.data(), ua.size());
    const int first = filter.FirstMatch(text, found);
    if (first < 0) return -1;
    const RE2& re = filter.GetRE2(first);
    const int n = std::min(re.NumberOfCapturingGroups(), kMaxGroups);
    std::array<re2::StringPiece, kMaxGroups + 1> pieces;
    re.Match(text, 0, ua.size(), RE2::UNANCHORED, pieces.data(), n + 1);
    groups->fill({});
    for (int i = 0; i <= n; ++i)
      groups->at(i) = std::string_view(pieces[i].data(), pieces[i].size());
    return first;
  }
};

// `text` with each $1…$9 replaced by that group ("" when the rule has no such group), trimmed.
std::string Substitute(std::string_view text, const Groups& groups) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] >= '1' && text[i + 1] <= '9') {
      out += groups[text[i + 1] - '0'];
      ++i;
    } else {
      out += text[i];
    }
  }
  return std::string(absl::StripAsciiWhitespace(out));
}

// The field from the rule's replacement when it has one, else from group `group` (0: none).
std::string Field(const Rule& rule, int field, int group, const Groups& groups) {
  if (rule.replacement[field].has_value()) return Substitute(*rule.replacement[field], groups);
  if (group == 0) return "";
  const std::string_view text = groups[group];
  return std::string(absl::StripAsciiWhitespace(AbslView(text)));
}

absl::StatusOr<RuleList> ReadList(const YAML::Node& root, const char* list,
                                  const std::array<const char*, 5>& keys) {
  RuleList out;
  const YAML::Node node = root[list];
  if (!node || !node.IsSequence()) {
    return absl::InvalidArgumentError(fmt::format("{}: missing or not a list", list));
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    if (!item.IsMap() || !item["regex"] || !item["regex"].IsScalar()) {
      return absl::InvalidArgumentError(fmt::format("{}[{}]: no regex", list, i));
    }
    RE2::Options options;
    options.set_log_errors(false);
    if (item["regex_flag"] && item["regex_flag"].as<std::string>() == "i") {
      options.set_case_sensitive(false);
    }
    int id = -1;
    const std::string pattern = item["regex"].as<std::string>();
    if (out.filter.Add(pattern, options, &id) != RE2::NoError) {
      ++out.skipped;
      spdlog::warn("uap-core {}[{}]: RE2 cannot compile it; skipped", list, i);
      continue;
    }
    Rule rule;
    for (size_t k = 0; k < keys.size(); ++k) {
      if (keys[k] != nullptr && item[keys[k]] && item[keys[k]].IsScalar()) {
        rule.replacement[k] = item[keys[k]].as<std::string>();
      }
    }
    out.rules.push_back(std::move(rule));
  }
  if (out.rules.empty()) return out;
  std::vector<std::string> atoms;
  out.filter.Compile(&atoms);
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(64 << 20);
  out.atoms = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
  for (const std::string& atom : atoms) out.atoms->Add(RE2::QuoteMeta(atom), nullptr);
  if (!out.atoms->Compile()) {
    return absl::ResourceExhaustedError(
        fmt::format("{}: the set of literal atoms does not fit "
                    "in RE2's memory budget",
                    list));
  }
  return out;
}

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> values) {
  for (std::string_view v : values) {
    if (s == v) return true;
  }
  return false;
}

// uap says which device, OS and browser; marketers ask which kind of device. uap has no
// such field, so it is derived here from its answer and the markers sites use.
std::string DeviceType(std::string_view ua, const UserAgentInfo& info) {
  if (ua.empty()) return "";
  if (info.device == "Spider") return "bot";
  const bool android = absl::StartsWith(info.os, "Android");
  if (info.device == "iPad" || absl::StrContains(info.device, "Tablet") ||
      absl::StartsWith(info.device, "Kindle") || Contains(ua, "Tablet") ||
      (android && !Contains(ua, "Mobile"))) {
    return "tablet";
  }
  if (android ||
      IsOneOf(info.os, {"iOS", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS",
                        "Symbian OS", "Tizen", "WatchOS"}) ||
      IsOneOf(info.device, {"iPhone", "iPod", "Generic Smartphone", "Generic Feature Phone"}) ||
      Contains(ua, "Mobile")) {
    return "mobile";
  }
  if (IsOneOf(info.os,
              {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora", "Debian", "FreeBSD",
               "OpenBSD", "NetBSD", "Solaris", "Red Hat", "SUSE", "Mint", "Arch Linux"})) {
    return "desktop";
  }
  return "other";
}

}  // namespace

struct UserAgentParser::Rules {
  RuleList browsers, oses, devices;
  // Bounded cache of answers. When full it is emptied: simpler than an LRU, and the few
  // hundred User-Agents real traffic repeats fill it again at once.
  static constexpr size_t kCacheSize = 8192;
  mutable absl::Mutex mu;
  mutable absl::flat_hash_map<std::string, UserAgentInfo> cache ABSL_GUARDED_BY(mu);
};

UserAgentParser::UserAgentParser(std::unique_ptr<Rules> rules) : rules_(std::move(rules)) {}
UserAgentParser::~UserAgentParser() = default;

absl::StatusOr<std::unique_ptr<UserAgentParser>> UserAgentParser::Load(
    const std::string& regexes_yaml) {
  std::error_code ec;
  if (!std::filesystem::exists(regexes_yaml, ec)) {
    return absl::NotFoundError(
        fmt::format("{}: no such file (the User-Agent rules come from Debian's uap-core package: "
                    "apt-get install uap-core)",
                    regexes_yaml));
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(regexes_yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", regexes_yaml, e.what()));
  }
  auto rules = std::make_unique<Rules>();
  try {
    auto browsers = ReadList(
        root, "user_agent_parsers",
        {"family_replacement", "v1_replacement", "v2_replacement", "v3_replacement", nullptr});
    if (!browsers.ok()) return browsers.status();
    auto oses = ReadList(root, "os_parsers",
                         {"os_replacement", "os_v1_replacement", "os_v2_replacement",
                          "os_v3_replacement", "os_v4_replacement"});
    if (!oses.ok()) return oses.status();
    auto devices = ReadList(
        root, "device_parsers",
        {"device_replacement", "brand_replacement", "model_replacement", nullptr, nullptr});
    if (!devices.ok()) return devices.status();
    rules->browsers = std::move(*browsers);
    rules->oses = std::move(*oses);
    rules->devices = std::move(*devices);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", regexes_yaml, e.what()));
  }
  return std::unique_ptr<UserAgentParser>(new UserAgentParser(std::move(rules)));
}

absl::StatusOr<const UserAgentParser*> UserAgentParser::Shared() {
  // Never destroyed: decide requests may still run while the process exits.
  static const auto* shared =
      new absl::StatusOr<std::unique_ptr<UserAgentParser>>(Load(kDefaultRegexes));
  if (!shared->ok()) return shared->status();
  return shared->value().get();
}

namespace {

// Where one field of a list's answer goes: the member it fills and the group it comes from
// when the rule has no replacement for it (0: none).
struct Output {
  std::string UserAgentInfo::*member;
  int group;
};

// Fills `outputs` (in the order of the list's replacement keys) from the first rule of
// `list` matching `ua`; the first output is "Other" when none matches.
void Fill(const RuleList& list, std::string_view ua, std::initializer_list<Output> outputs,
          UserAgentInfo* out) {
  Groups g;
  if (int i = list.Match(ua, &g); i >= 0) {
    int field = 0;
    for (const Output& o : outputs) out->*o.member = Field(list.rules[i], field++, o.group, g);
  }
  std::string& family = out->*outputs.begin()->member;
  if (family.empty()) family = "Other";
}

}  // namespace

UserAgentInfo UserAgentParser::ParseUncached(std::string_view ua) const {
  UserAgentInfo out;
  Fill(rules_->browsers, ua,
       {{&UserAgentInfo::browser, 1},
        {&UserAgentInfo::browser_major, 2},
        {&UserAgentInfo::browser_minor, 3},
        {&UserAgentInfo::browser_patch, 4}},
       &out);
  Fill(rules_->oses, ua,
       {{&UserAgentInfo::os, 1},
        {&UserAgentInfo::os_major, 2},
        {&UserAgentInfo::os_minor, 3},
        {&UserAgentInfo::os_patch, 4},
        {&UserAgentInfo::os_patch_minor, 5}},
       &out);
  Fill(rules_->devices, ua,
       {{&UserAgentInfo::device, 1},
        {&UserAgentInfo::device_brand, 0},
        {&UserAgentInfo::device_model, 1}},
       &out);
  out.device_type = DeviceType(ua, out);
  return out;
}

UserAgentInfo UserAgentParser::Parse(std::string_view ua) const {
  const std::string key(ua);
  {
    absl::MutexLock lock(&rules_->mu);
    auto it = rules_->cache.find(key);
    if (it != rules_->cache.end()) return it->second;
  }
  UserAgentInfo info = ParseUncached(ua);
  absl::MutexLock lock(&rules_->mu);
  if (rules_->cache.size() >= Rules::kCacheSize) rules_->cache.clear();
  rules_->cache.emplace(key, info);
  return info;
}

size_t UserAgentParser::rule_count() const {
  return rules_->browsers.rules.size() + rules_->oses.rules.size() + rules_->devices.rules.size();
}

size_t UserAgentParser::skipped_rules() const {
  return rules_->browsers.skipped + rules_->oses.skipped + rules_->devices.skipped;
}

}  // namespace segmenta

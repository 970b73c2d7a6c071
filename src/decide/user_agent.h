// User-Agent parsing with the ua-parser project's regexes (Debian's uap-core,
// /usr/share/uap-core/regexes.yaml), following its specification: the first matching rule of
// each list (browser, OS, device) wins, its capture groups fill family and versions,
// `$1`…`$9` in a replacement are the rule's capture groups. On top of uap's answer, a
// device type ("mobile", "tablet", "desktop", "bot", "other") that conditions read as
// visit.device.type.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace segmenta {

// What a User-Agent says. Empty strings stand for "not said" (uap's null); family fields are
// "Other" when no rule matched.
struct UserAgentInfo {
  std::string browser, browser_major, browser_minor, browser_patch;
  std::string os, os_major, os_minor, os_patch, os_patch_minor;
  std::string device, device_brand, device_model;
  // "bot", "tablet", "mobile", "desktop", or "other"; "" for an empty User-Agent.
  std::string device_type;
};

class UserAgentParser {
 public:
  // Where Debian's uap-core package puts the rules.
  static constexpr const char* kDefaultRegexes = "/usr/share/uap-core/regexes.yaml";

  // Reads and compiles the rules of `regexes_yaml`. Errors: NotFound when the file is
  // missing (hint: apt-get install uap-core); InvalidArgument naming the list and index of a
  // malformed rule. A rule RE2 cannot compile (none in uap-core 0.16) is skipped and counted
  // in skipped_rules().
  static absl::StatusOr<std::unique_ptr<UserAgentParser>> Load(
      const std::string& regexes_yaml = kDefaultRegexes);

  // The parser every decide request shares: loaded from kDefaultRegexes on first use.
  // Errors: as Load; the error is kept and returned again.
  static absl::StatusOr<const UserAgentParser*> Shared();

  ~UserAgentParser();

  // Parses `ua`. Recently seen strings are answered from a bounded cache (real traffic
  // repeats a few hundred User-Agents). Thread-safe.
  UserAgentInfo Parse(std::string_view ua) const;

  // Parses with no cache (for tests and benchmarks). Thread-safe.
  UserAgentInfo ParseUncached(std::string_view ua) const;

  size_t rule_count() const;
  size_t skipped_rules() const;

  struct Rules;

 private:
  explicit UserAgentParser(std::unique_ptr<Rules> rules);
  std::unique_ptr<Rules> rules_;
};

}  // namespace segmenta

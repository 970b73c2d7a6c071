// UserAgentParser against uap-core's own conformance suites (the test_ua, test_os and
// test_device files Debian ships with the rules): every case must give the family, versions,
// brand and model the ua-parser project expects.
#include "decide/user_agent.h"

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace segmenta {
namespace {

constexpr const char* kSuites = "/usr/share/uap-core/tests/";
constexpr const char* kResources = "/usr/share/uap-core/test_resources/";

std::string Expected(const YAML::Node& test, const char* key) {
  const YAML::Node n = test[key];
  return n && !n.IsNull() ? n.as<std::string>() : "";
}

struct Field {
  const char* key;
  std::string UserAgentInfo::*member;
};

// Runs one suite; returns the failures, described.
std::vector<std::string> RunSuite(const UserAgentParser& parser,
                                  const std::vector<std::string>& files,
                                  const std::vector<Field>& fields, size_t* cases) {
  std::vector<std::string> failures;
  for (const std::string& file : files) {
    const YAML::Node root = YAML::LoadFile(file);
    for (const YAML::Node& test : root["test_cases"]) {
      ++*cases;
      const std::string ua = test["user_agent_string"].as<std::string>();
      const UserAgentInfo got = parser.ParseUncached(ua);
      for (const Field& f : fields) {
        const std::string want = Expected(test, f.key);
        if (got.*f.member != want) {
          failures.push_back(file + ": " + ua + ": " + f.key + " is \"" + got.*f.member +
                             "\", expected \"" + want + "\"");
        }
      }
    }
  }
  return failures;
}

class UserAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = UserAgentParser::Load();
    ASSERT_TRUE(p.ok()) << p.status();
    parser_ = std::move(*p);
  }
  std::unique_ptr<UserAgentParser> parser_;
};

TEST_F(UserAgentTest, LoadsEveryRuleOfUapCore) {
  EXPECT_GT(parser_->rule_count(), 1000u);
  EXPECT_EQ(parser_->skipped_rules(), 0u);
}

TEST_F(UserAgentTest, PassesUapCoreBrowserSuite) {
  size_t cases = 0;
  auto failures = RunSuite(*parser_,
                           {std::string(kSuites) + "test_ua.yaml",
                            std::string(kResources) + "firefox_user_agent_strings.yaml",
                            std::string(kResources) + "opera_mini_user_agent_strings.yaml",
                            std::string(kResources) + "pgts_browser_list.yaml",
                            std::string(kResources) + "podcasting_user_agent_strings.yaml"},
                           {{"family", &UserAgentInfo::browser},
                            {"major", &UserAgentInfo::browser_major},
                            {"minor", &UserAgentInfo::browser_minor},
                            {"patch", &UserAgentInfo::browser_patch}},
                           &cases);
  EXPECT_GT(cases, 14000u);
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << cases
                                << " failed; first: " << failures.front();
}

TEST_F(UserAgentTest, PassesUapCoreOsSuite) {
  size_t cases = 0;
  auto failures = RunSuite(
      *parser_,
      {std::string(kSuites) + "test_os.yaml", std::string(kResources) + "additional_os_tests.yaml"},
      {{"family", &UserAgentInfo::os},
       {"major", &UserAgentInfo::os_major},
       {"minor", &UserAgentInfo::os_minor},
       {"patch", &UserAgentInfo::os_patch},
       {"patch_minor", &UserAgentInfo::os_patch_minor}},
      &cases);
  EXPECT_GT(cases, 450u);
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << cases
                                << " failed; first: " << failures.front();
}

TEST_F(UserAgentTest, PassesUapCoreDeviceSuite) {
  size_t cases = 0;
  auto failures = RunSuite(*parser_, {std::string(kSuites) + "test_device.yaml"},
                           {{"family", &UserAgentInfo::device},
                            {"brand", &UserAgentInfo::device_brand},
                            {"model", &UserAgentInfo::device_model}},
                           &cases);
  EXPECT_GT(cases, 16000u);
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << cases
                                << " failed; first: " << failures.front();
}

TEST_F(UserAgentTest, DerivesTheDeviceType) {
  auto type = [&](std::string_view ua) { return parser_->Parse(ua).device_type; };
  EXPECT_EQ(type("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"),
            "mobile");
  EXPECT_EQ(type("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
                 "like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"),
            "tablet");
  EXPECT_EQ(type("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/119.0.0.0 Safari/537.36"),
            "tablet");
  EXPECT_EQ(type("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/119.0.0.0 Mobile Safari/537.36"),
            "mobile");
  EXPECT_EQ(type("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/120.0.0.0 Safari/537.36"),
            "desktop");
  EXPECT_EQ(type("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.1 Safari/605.1.15"),
            "desktop");
  EXPECT_EQ(type("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
            "bot");
  EXPECT_EQ(type("curl/8.4.0"), "other");
  EXPECT_EQ(type(""), "");
  // The cache answers as the parser does.
  const std::string chrome =
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36";
  const UserAgentInfo first = parser_->Parse(chrome), again = parser_->Parse(chrome);
  EXPECT_EQ(first.browser, "Chrome");
  EXPECT_EQ(first.browser_major, "120");
  EXPECT_EQ(first.os, "Linux");
  EXPECT_EQ(again.browser, first.browser);
  EXPECT_EQ(again.device_type, "desktop");
}

TEST(UserAgentLoadTest, MissingOrMalformedRulesAreClearErrors) {
  auto missing = UserAgentParser::Load("/nonexistent/regexes.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("apt-get install uap-core"), std::string::npos);

  const std::string dir = ::testing::TempDir() + "/uap";
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/regexes.yaml";
  FILE* f = fopen(file.c_str(), "w");
  fputs("user_agent_parsers:\n  - regex: 'Foo/(\\d+)'\nos_parsers:\n  - family: x\n", f);
  fclose(f);
  auto bad = UserAgentParser::Load(file);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "os_parsers[0]: no regex");
}

}  // namespace
}  // namespace segmenta

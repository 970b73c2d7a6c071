#include "decide/visit.h"

#include <arpa/inet.h>

#include "GeoIP.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "core/string_view.h"
#include "fmt/format.h"
#include "lang/compiler.h"

namespace segmenta {
namespace {

constexpr std::string_view kSearchEngines[] = {
    "google.", "bing.com",   "duckduckgo.com",   "search.yahoo.", "baidu.com",
    "yandex.", "ecosia.org", "search.brave.com", "qwant.com"};
constexpr std::string_view kSocial[] = {
    "facebook.com",  "t.co",       "twitter.com", "x.com",      "linkedin.com",
    "instagram.com", "pinterest.", "reddit.com",  "tiktok.com", "youtube.com"};

// The host of an absolute URL, lower case, without "www." ("" when none).
std::string HostOf(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  url = url.substr(0, url.find(':'));
  std::string host = absl::AsciiStrToLower(std::string(url));
  if (host.rfind("www.", 0) == 0) host.erase(0, 4);
  return host;
}

std::string PathOf(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) {
    url.remove_prefix(scheme + 3);
    size_t slash = url.find('/');
    url = slash == std::string_view::npos ? std::string_view("/") : url.substr(slash);
  }
  return std::string(url.substr(0, url.find_first_of("?#")));
}

// The value of query parameter `name` in `url` ("" when absent); '+' and %XX decoded.
std::string QueryParam(std::string_view url, std::string_view name) {
  size_t q = url.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = url.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    if (pair.substr(0, pair.find('=')) != name || pair.find('=') == std::string_view::npos) {
      continue;
    }
    std::string_view raw = pair.substr(pair.find('=') + 1);
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        out += ' ';
      } else if (raw[i] == '%' && i + 2 < raw.size() && std::isxdigit(raw[i + 1]) &&
                 std::isxdigit(raw[i + 2])) {
        out += static_cast<char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += raw[i];
      }
    }
    return out;
  }
  return "";
}

// The country of an IP address from Debian's geoip-database (legacy GeoIP country files,
// loaded once into memory; lookups are read-only). "" when unknown.
std::string CountryOfIp(const std::string& ip, bool v6) {
  static GeoIP* const v4_db = GeoIP_open("/usr/share/GeoIP/GeoIP.dat", GEOIP_MEMORY_CACHE);
  static GeoIP* const v6_db = GeoIP_open("/usr/share/GeoIP/GeoIPv6.dat", GEOIP_MEMORY_CACHE);
  const char* code = nullptr;
  if (v6 && v6_db != nullptr) {
    code = GeoIP_country_code_by_addr_v6(v6_db, ip.c_str());
  } else if (!v6 && v4_db != nullptr) {
    code = GeoIP_country_code_by_addr(v4_db, ip.c_str());
  }
  return code != nullptr ? std::string(code) : "";
}

bool HostIn(const std::string& host, std::span<const std::string_view> list) {
  for (std::string_view marker : list) {
    if (host.find(marker) != std::string::npos) return true;
  }
  return false;
}

// Reads string `key` of `obj` into `out` (left as is when absent or null); the error names
// the field as `prefix` + `key`.
absl::Status Text(simdjson::dom::element obj, const char* key, std::string_view prefix,
                  std::string* out) {
  simdjson::dom::element e;
  if (obj[key].get(e) != simdjson::SUCCESS || e.is_null()) return absl::OkStatus();
  std::string_view v;
  if (e.get(v) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(fmt::format("{}{}: must be a string", prefix, key));
  }
  *out = std::string(v);
  return absl::OkStatus();
}

}  // namespace

namespace {

// Each field of VisitFields() numbered, once.
const absl::flat_hash_map<std::string, size_t>& FieldIndex() {
  static const auto* index = [] {
    auto* out = new absl::flat_hash_map<std::string, size_t>;
    for (const auto& [name, type] : VisitFields()) out->emplace(name, out->size());
    return out;
  }();
  return *index;
}

}  // namespace

const Value* Visit::Find(std::string_view name) const {
  auto it = FieldIndex().find(AbslView(name));
  if (it == FieldIndex().end() || it->second >= values_.size()) return nullptr;
  const Value& v = values_[it->second];
  return v.is_null() ? nullptr : &v;
}

void Visit::Set(std::string_view name, Value value) {
  auto it = FieldIndex().find(AbslView(name));
  if (it == FieldIndex().end()) return;  // not a visit field: a bug, caught by the tests
  if (values_.empty()) values_.resize(FieldIndex().size());
  values_[it->second] = std::move(value);
}

absl::StatusOr<Visit> ReadVisit(const simdjson::dom::element* context, Millis now,
                                bool new_visitor) {
  Visit v;
  v.Set("new", Value::Bool(new_visitor));
  std::string url, path, title, referrer, ua, country, timezone, ip;
  std::string utm[5];
  constexpr const char* kUtm[] = {"source", "medium", "campaign", "term", "content"};
  if (context != nullptr && !context->is_null()) {
    if (!context->is_object()) return absl::InvalidArgumentError("context: must be an object");
    simdjson::dom::element page;
    if ((*context)["page"].get(page) == simdjson::SUCCESS && !page.is_null()) {
      if (!page.is_object()) {
        return absl::InvalidArgumentError("context.page: must be an object");
      }
      for (auto [key, out] : {std::pair{"url", &url}, std::pair{"path", &path},
                              std::pair{"title", &title}, std::pair{"referrer", &referrer}}) {
        absl::Status s = Text(page, key, "context.page.", out);
        if (!s.ok()) return s;
      }
    }
    absl::Status s = Text(*context, "userAgent", "context.", &ua);
    if (!s.ok()) return s;
    s = Text(*context, "timezone", "context.", &timezone);
    if (!s.ok()) return s;
    s = Text(*context, "ip", "context.", &ip);
    if (!s.ok()) return s;
    simdjson::dom::element e;
    if ((*context)["location"].get(e) == simdjson::SUCCESS && e.is_object()) {
      s = Text(e, "country", "context.location.", &country);
      if (!s.ok()) return s;
    }
    if ((*context)["campaign"].get(e) == simdjson::SUCCESS && e.is_object()) {
      for (int i = 0; i < 5; ++i) {
        const char* key = std::string_view(kUtm[i]) == "campaign" ? "name" : kUtm[i];
        s = Text(e, key, "context.campaign.", &utm[i]);
        if (!s.ok()) return s;
      }
    }
  }
  auto set = [&](const char* name, const std::string& value) {
    if (!value.empty()) v.Set(name, Value::String(value));
  };
  if (path.empty() && !url.empty()) path = PathOf(url);
  set("page.url", url);
  set("page.path", path);
  set("page.title", title);
  set("page.host", HostOf(url));
  set("referrer.url", referrer);
  const std::string referrer_host = HostOf(referrer);
  set("referrer.host", referrer_host);
  v.Set("referrer.search_engine",
        Value::Bool(!referrer_host.empty() && HostIn(referrer_host, kSearchEngines)));
  v.Set("referrer.social", Value::Bool(!referrer_host.empty() && HostIn(referrer_host, kSocial)));
  constexpr const char* kUtmParameters[] = {"utm_source", "utm_medium", "utm_campaign", "utm_term",
                                            "utm_content"};
  constexpr const char* kUtmFields[] = {"utm.source", "utm.medium", "utm.campaign", "utm.term",
                                        "utm.content"};
  for (int i = 0; i < 5; ++i) {
    set(kUtmFields[i], !utm[i].empty() ? utm[i] : QueryParam(url, kUtmParameters[i]));
  }
  if (!ua.empty()) {
    absl::StatusOr<const UserAgentParser*> parser = UserAgentParser::Shared();
    if (!parser.ok()) return parser.status();
    const UserAgentInfo agent = (*parser)->Parse(ua);
    set("device.type", agent.device_type);
    set("device.family", agent.device);
    set("device.brand", agent.device_brand);
    set("device.model", agent.device_model);
    set("os.name", agent.os);
    set("browser.name", agent.browser);
    // Major versions as numbers, so that conditions can compare them (visit.os.version < 16).
    int major = 0;
    if (absl::SimpleAtoi(agent.os_major, &major)) v.Set("os.version", Value::Number(major));
    if (absl::SimpleAtoi(agent.browser_major, &major)) {
      v.Set("browser.version", Value::Number(major));
    }
  }
  if (country.empty() && !ip.empty()) {
    in6_addr v6;
    in_addr v4;
    const bool is_v4 = inet_pton(AF_INET, ip.c_str(), &v4) == 1;
    const bool is_v6 = !is_v4 && inet_pton(AF_INET6, ip.c_str(), &v6) == 1;
    if (!is_v4 && !is_v6) {
      return absl::InvalidArgumentError(
          fmt::format("context.ip: \"{}\" is not an IPv4 or IPv6 address", ip));
    }
    country = CountryOfIp(ip, is_v6);
  }
  set("country", absl::AsciiStrToUpper(country));
  // The last zone this thread loaded: absl::LoadTimeZone takes a process-wide lock and a
  // map lookup, and a site's visitors mostly share a few zones.
  thread_local std::string last_zone_name;
  thread_local absl::TimeZone last_zone = absl::UTCTimeZone();
  absl::TimeZone zone = absl::UTCTimeZone();
  if (!timezone.empty() && timezone == last_zone_name) {
    zone = last_zone;
  } else if (!timezone.empty()) {
    if (!absl::LoadTimeZone(timezone, &zone)) {
      return absl::InvalidArgumentError(
          fmt::format("context.timezone: unknown time zone \"{}\"", timezone));
    }
    last_zone_name = timezone;
    last_zone = zone;
  }
  const absl::CivilSecond local = absl::ToCivilSecond(absl::FromUnixMillis(now), zone);
  constexpr const char* kDays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                   "friday", "saturday", "sunday"};
  v.Set("hour", Value::Number(local.hour()));
  v.Set("weekday", Value::String(kDays[static_cast<int>(absl::GetWeekday(absl::CivilDay(local)))]));
  return v;
}

}  // namespace segmenta

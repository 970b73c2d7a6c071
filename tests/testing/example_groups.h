// The contact groups of the product brief, in the condition language: fixtures that the
// tests and the benchmarks (tools/bench) define. Each is meant for `segmenta gen` traffic
// evaluated at (or after) its end.
#pragma once

#include <string_view>

namespace segmenta {

struct ExampleGroup {
  std::string_view name;
  std::string_view condition;
};

inline constexpr ExampleGroup kBriefGroups[] = {
    {"Cart abandonment",
     "last(\"Product Added\") older than 1 hour and "
     "count(\"Order Completed\" since last(\"Product Added\")) = 0"},
    {"Prospective students", "did \"Webinar Downloaded\""},
    {"Newsletter subscribers", "newsletter = true or did \"Newsletter Subscribed\""},
    {"Partner programme",
     "count(page where path starts_with \"/partners\" within last 30 days) >= 2"},
    {"European professionals",
     "gender = \"male\" and country in [\"AT\", \"BE\", \"DE\", \"DK\", \"ES\", \"FI\", \"FR\", "
     "\"GR\", \"IE\", \"IT\", \"NL\", \"PL\", \"PT\", \"SE\"] and age between 45 and 55 and "
     "job_title is not null and job_title not in [\"student\", \"retired\"]"},
    {"Customers", "count(\"Order Completed\") >= 1"},
    {"Leads", "did identify and not did \"Order Completed\""},
    {"Inactive customers", "did \"Order Completed\" and did not any within last 90 days"},
    {"Cards expiring", "card_expiry within next 30 days"},
    {"High value",
     "sum(\"Order Completed\".revenue) > 1000 or "
     "avg(\"Order Completed\".revenue) > overall(avg(\"Order Completed\".revenue))"},
    {"B2B retail", "any account (industry = \"Retail\" and employees >= 50)"},
    {"Engaged", "count(\"Email Opened\" within last 30 days) >= 3 and did \"Email Clicked\""},
    {"Customers not subscribed",
     "in group \"Customers\" and not in group \"Newsletter subscribers\""},
};

}  // namespace segmenta

#include "analytics/audience.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/segments/engine_fixture.h"

namespace segmenta {
namespace {

using AudienceTest = EngineFixture;

TEST_F(AudienceTest, DescribesTheMembersAgainstEveryContact) {
  auto identify = [&](std::string user, std::string traits) {
    Send(MessageType::kIdentify, std::move(user), "", "", "{}", std::move(traits));
  };
  auto order = [&](std::string user, double revenue) {
    Send(MessageType::kTrack, std::move(user), "", "Order Completed",
         "{\"revenue\":" + std::to_string(revenue) + "}");
  };
  identify("ana", R"({"country":"ES","age":40,"newsletter":true})");
  identify("luis", R"({"country":"ES","age":50})");
  identify("marie", R"({"country":"FR","age":30})");
  identify("paul", R"({"country":"FR"})");
  order("ana", 100);
  order("luis", 50);
  order("luis", 30);
  order("marie", 20);
  Send(MessageType::kPage, "ana", "", "", R"({"path":"/"})");
  Roaring members;
  members.add(static_cast<uint32_t>(Id("ana")));
  members.add(static_cast<uint32_t>(Id("luis")));
  AudienceProfile p = worker_->ReadProfiles(
      [&](const ProfileTable& profiles) { return DescribeAudience(profiles, members); });
  EXPECT_EQ(p.members, 2u);
  EXPECT_EQ(p.contacts, 4u);
  ASSERT_FALSE(p.traits.empty());
  EXPECT_EQ(p.traits[0].trait, "country");
  EXPECT_EQ(p.traits[0].value, "\"ES\"");
  EXPECT_DOUBLE_EQ(p.traits[0].share, 1.0);
  EXPECT_DOUBLE_EQ(p.traits[0].share_overall, 0.5);
  EXPECT_DOUBLE_EQ(p.traits[0].lift, 2.0);
  ASSERT_EQ(p.numbers.size(), 1u);
  EXPECT_EQ(p.numbers[0].trait, "age");
  EXPECT_DOUBLE_EQ(p.numbers[0].mean, 45);
  EXPECT_DOUBLE_EQ(p.numbers[0].mean_overall, 40);
  EXPECT_EQ(p.commerce.contacts, 2u);
  EXPECT_EQ(p.commerce.orders, 3u);
  EXPECT_DOUBLE_EQ(p.commerce.revenue, 180);
  EXPECT_DOUBLE_EQ(p.commerce.conversion_rate, 1.0);
  EXPECT_DOUBLE_EQ(p.commerce.average_order_value, 60);
  EXPECT_DOUBLE_EQ(p.commerce.revenue_per_contact, 90);
  EXPECT_DOUBLE_EQ(p.commerce_overall.conversion_rate, 0.75);
  EXPECT_DOUBLE_EQ(p.commerce_overall.average_order_value, 50);
  // Activities: orders first (3 by the members), then identify (2), then the page (1).
  ASSERT_GE(p.activities.size(), 2u);
  EXPECT_EQ(p.activities[0].event, "Order Completed");
  EXPECT_EQ(p.activities[0].activities, 3u);
  EXPECT_DOUBLE_EQ(p.activities[0].contacts, 1.0);
  EXPECT_DOUBLE_EQ(p.activities[0].contacts_overall, 0.75);
}

}  // namespace
}  // namespace segmenta

#include "identity/identity_graph.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class IdentityGraphTest : public ::testing::Test {
 protected:
  // Resolves and applies, as the worker does (absorbed contacts' identities are tracked here).
  Resolution Ingest(const IdentityClaim& claim) {
    auto r = graph_.Resolve(claim, &next_);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::vector<Identity>> absorbed;
    for (ContactId id : r->absorb) {
      absorbed.push_back(identities_[id]);
      for (const Identity& i : identities_[id]) identities_[r->contact].push_back(i);
      identities_.erase(id);
    }
    for (const Identity& i : r->attach) identities_[r->contact].push_back(i);
    graph_.Apply(*r, absorbed);
    return *r;
  }

  IdentityGraph graph_{IdentityOptions{.merge_on_email = true, .max_anonymous_ids = 3}};
  ContactId next_ = 1;
  std::map<ContactId, std::vector<Identity>> identities_;
};

TEST_F(IdentityGraphTest, UnknownIdsCreateOneContactWithBothIdentities) {
  Resolution r = Ingest({.user_id = "u1", .anonymous_id = "a1"});
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.contact, 1u);
  EXPECT_EQ(r.attach.size(), 2u);
  EXPECT_EQ(graph_.Find(IdentityKind::kUser, "u1"), 1u);
  EXPECT_EQ(graph_.Find(IdentityKind::kAnonymous, "a1"), 1u);
}

TEST_F(IdentityGraphTest, IdentifyMergesAnonymousContactIntoTheOlderOne) {
  Ingest({.anonymous_id = "a1"});                   // contact 1
  Ingest({.user_id = "u1", .anonymous_id = "a2"});  // contact 2
  // A later identify says a1 is u1: contact 2 folds into the older contact 1.
  Resolution r = Ingest({.user_id = "u1", .anonymous_id = "a1"});
  EXPECT_EQ(r.contact, 1u);
  EXPECT_THAT(r.absorb, ElementsAre(2u));
  EXPECT_EQ(graph_.Find(IdentityKind::kAnonymous, "a2"), 1u);
  EXPECT_EQ(graph_.Find(IdentityKind::kUser, "u1"), 1u);
}

TEST_F(IdentityGraphTest, AliasLinksPreviousAnonymousIdToUser) {
  Ingest({.anonymous_id = "a1"});
  Ingest({.user_id = "u1"});
  Resolution r = Ingest({.user_id = "u1", .previous_id = "a1"});
  EXPECT_EQ(r.contact, 1u);
  EXPECT_THAT(r.absorb, ElementsAre(2u));
}

TEST_F(IdentityGraphTest, NeverMergesTwoContactsWithDifferentUserIds) {
  Ingest({.user_id = "u1", .anonymous_id = "a1"});
  Ingest({.user_id = "u2", .anonymous_id = "a2"});
  Resolution r = Ingest({.user_id = "u2", .anonymous_id = "a1"});
  EXPECT_EQ(r.contact, 2u);
  EXPECT_THAT(r.absorb, IsEmpty());
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_THAT(r.refused[0], ::testing::HasSubstr("each has its own userId"));
  EXPECT_EQ(graph_.Find(IdentityKind::kAnonymous, "a1"), 1u);
}

TEST_F(IdentityGraphTest, SharedDeviceGivesTheNewUserItsOwnContact) {
  Ingest({.user_id = "u1", .anonymous_id = "kiosk"});
  Resolution r = Ingest({.user_id = "u2", .anonymous_id = "kiosk"});
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.contact, 2u);
  EXPECT_EQ(graph_.Find(IdentityKind::kUser, "u2"), 2u);
  EXPECT_EQ(graph_.Find(IdentityKind::kAnonymous, "kiosk"), 1u);
  EXPECT_THAT(r.refused[0], ::testing::HasSubstr("another userId"));
}

TEST_F(IdentityGraphTest, PlaceholderValuesNeverLinkContacts) {
  Ingest({.user_id = "null", .anonymous_id = "a1"});
  Resolution r = Ingest({.user_id = "null", .anonymous_id = "a2"});
  EXPECT_NE(r.contact, 1u);
  EXPECT_FALSE(graph_.Find(IdentityKind::kUser, "null").has_value());
  auto none = graph_.Resolve({.user_id = "undefined", .anonymous_id = "0"}, &next_);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(IdentityGraphTest, AnonymousIdCapStopsLinkingMoreDevices) {
  Ingest({.user_id = "u1", .anonymous_id = "d1"});
  Ingest({.user_id = "u1", .anonymous_id = "d2"});
  Ingest({.user_id = "u1", .anonymous_id = "d3"});
  Resolution r = Ingest({.user_id = "u1", .anonymous_id = "d4"});
  EXPECT_EQ(r.contact, 1u);
  EXPECT_THAT(r.attach, IsEmpty());
  EXPECT_FALSE(graph_.Find(IdentityKind::kAnonymous, "d4").has_value());
  EXPECT_THAT(r.refused[0], ::testing::HasSubstr("limit"));
}

TEST_F(IdentityGraphTest, AnonymousIdCapRefusesMergeOfTwoCrowds) {
  Ingest({.user_id = "u1", .anonymous_id = "d1"});
  Ingest({.user_id = "u1", .anonymous_id = "d2"});
  Ingest({.anonymous_id = "e1"});
  Ingest({.anonymous_id = "e1", .previous_id = "e2"});  // contact 2 holds e1, e2
  Resolution r = Ingest({.user_id = "u1", .anonymous_id = "e1"});
  EXPECT_THAT(r.absorb, IsEmpty());
  EXPECT_THAT(r.refused[0], ::testing::HasSubstr("anonymous ids"));
}

TEST_F(IdentityGraphTest, EmailLinksContactsWhenEnabled) {
  Ingest({.user_id = "u1", .email = "Ann@Example.com "});
  Resolution r = Ingest({.anonymous_id = "a9", .email = "ann@example.com"});
  EXPECT_EQ(r.contact, 1u);
  EXPECT_EQ(graph_.Find(IdentityKind::kEmail, "ann@example.com"), 1u);

  IdentityGraph no_email(IdentityOptions{.merge_on_email = false});
  ContactId next = 1;
  auto a = no_email.Resolve({.user_id = "u1", .email = "ann@example.com"}, &next);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->attach.size(), 1u);
}

TEST_F(IdentityGraphTest, ChainedMergesKeepPointingAtTheSurvivor) {
  Ingest({.anonymous_id = "a1"});                       // 1
  Ingest({.anonymous_id = "a2"});                       // 2
  Ingest({.anonymous_id = "a3"});                       // 3
  Ingest({.anonymous_id = "a3", .previous_id = "a2"});  // 3 into 2
  Resolution r = Ingest({.user_id = "u", .anonymous_id = "a2", .previous_id = "a1"});
  EXPECT_EQ(r.contact, 1u);
  EXPECT_EQ(graph_.Find(IdentityKind::kAnonymous, "a3"), 1u);
  EXPECT_EQ(graph_.Find(IdentityKind::kUser, "u"), 1u);
}

TEST_F(IdentityGraphTest, PreparedGrowthMakesRoomWithoutLosingAnIdentity) {
  int n = 0;
  auto add = [&] {
    Ingest({.user_id = "u" + std::to_string(n), .anonymous_id = "a" + std::to_string(n)});
    ++n;
  };
  while (graph_.identity_count() < 6000) add();
  const size_t capacity = graph_.identity_capacity();
  // More than fits before the index would rehash.
  const size_t more = capacity - capacity / 8 - graph_.identity_count() + 2;
  graph_.PrepareGrowth(more);
  EXPECT_EQ(graph_.identity_capacity(), capacity);  // readers see nothing new yet
  graph_.SwapInGrowth();
  const size_t grown = graph_.identity_capacity();
  EXPECT_GT(grown, capacity);
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(graph_.Find(IdentityKind::kUser, "u" + std::to_string(i)), ContactId(i + 1));
    EXPECT_EQ(graph_.Find(IdentityKind::kAnonymous, "a" + std::to_string(i)), ContactId(i + 1));
  }
  // The room is there: `more` identities later, no rehash.
  const int target = n + static_cast<int>(more / 2);
  while (n < target) add();
  EXPECT_EQ(graph_.identity_capacity(), grown);
  // With room to spare, nothing to prepare: a swap changes nothing.
  graph_.PrepareGrowth(1);
  graph_.SwapInGrowth();
  EXPECT_EQ(graph_.identity_capacity(), grown);
  EXPECT_EQ(graph_.Find(IdentityKind::kUser, "u0"), 1u);
}

}  // namespace
}  // namespace segmenta

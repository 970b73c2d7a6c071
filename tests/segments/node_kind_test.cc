// Kinds of nodes the engine does not know, defined here, plug into it with no change to the
// engine or the language: computed over every contact when added, kept current as events
// come, read by a group's condition (`in group "…"`, or a computed value of a new kind),
// recorded in the history, and accounted for in the derived state.
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/segments/engine_fixture.h"

namespace segmenta {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;

// Contacts with at least `threshold` activities of any kind.
class FrequentVisitorsNode : public AudienceNode {
 public:
  FrequentVisitorsNode(uint32_t id, const std::string& name, size_t threshold)
      : AudienceNode(id, {name, "frequent visitors \"" + name + "\"", "frequent/" + name}),
        threshold_(threshold) {
    audience_.id = id;
    audience_.name = name;
  }

  absl::Status Compile(const Schema&, const ProfileTable&, Millis) override {
    return absl::OkStatus();
  }
  bool Evaluate(ContactId contact, const NodeContext& ctx) override {
    const bool member = Activities(ctx.profiles, contact) >= threshold_;
    if (member == audience_.members.contains(static_cast<uint32_t>(contact))) return false;
    ctx.Record(audience_, contact, member);
    return true;
  }
  absl::StatusOr<bool> Recompute(const NodeContext& ctx, JobProgress* progress) override {
    Roaring next;
    for (size_t c = 0; c < ctx.profiles.contact_rows(); ++c) {
      if (Activities(ctx.profiles, c) >= threshold_) next.add(static_cast<uint32_t>(c));
    }
    SEGMENTA_RETURN_IF_ERROR(CheckNotCancelled(progress));
    const Roaring entered = next - audience_.members;
    const Roaring exited = audience_.members - next;
    for (uint32_t c : entered) ctx.Record(audience_, c, true);
    for (uint32_t c : exited) ctx.Record(audience_, c, false);
    return !entered.isEmpty() || !exited.isEmpty();
  }
  void DeclareColumns(DerivedColumns* out) const override {
    out->Add(names().columns + "/members", kMembersColumn, audience_.members.getSizeInBytes());
  }
  NodeTriggers Triggers() const override {
    NodeTriggers triggers;
    triggers.events = {"*"};
    return triggers;
  }
  const Roaring* Members() const override { return &audience_.members; }
  std::span<Audience> audiences() override { return {&audience_, 1}; }
  using AudienceNode::audiences;

 private:
  static size_t Activities(const ProfileTable& profiles, ContactId contact) {
    const ContactState* state = profiles.contact(contact);
    return state == nullptr ? 0 : state->events.size();
  }

  size_t threshold_;
  Audience audience_;
};

// Each contact's number of activities, published as a computed value of a kind the
// language does not know: conditions read it as visits("all").
class VisitCountNode : public AudienceNode {
 public:
  static constexpr uint32_t kId = 0x7FFF0002;
  VisitCountNode() : AudienceNode(kId, {ComputedKey("visits", "all"), "visits", "visits/all"}) {}

  static const ComputedKind& Kind() {
    static const ComputedKind* kind = new ComputedKind{"visits", true, ValueType::kNumber};
    return *kind;
  }
  absl::Status Compile(const Schema&, const ProfileTable&, Millis) override {
    return absl::OkStatus();
  }
  bool Evaluate(ContactId contact, const NodeContext& ctx) override {
    return Set(contact, ctx.profiles);
  }
  absl::StatusOr<bool> Recompute(const NodeContext& ctx, JobProgress*) override {
    bool changed = false;
    for (size_t c = 0; c < ctx.profiles.contact_rows(); ++c) {
      changed = Set(c, ctx.profiles) || changed;
    }
    return changed;
  }
  void DeclareColumns(DerivedColumns* out) const override {
    out->Add(names().columns + "/count", "count", counts_.capacity() * sizeof(double));
  }
  NodeTriggers Triggers() const override {
    NodeTriggers triggers;
    triggers.events = {"*"};
    return triggers;
  }
  const ComputedKind* PublishedKind() const override { return &Kind(); }
  Scalar ComputedValue(ContactId contact) const override {
    return contact < counts_.size() ? Scalar::Number(counts_[contact]) : Scalar();
  }

 private:
  bool Set(ContactId contact, const ProfileTable& profiles) {
    const ContactState* state = profiles.contact(contact);
    const double n = state == nullptr ? 0 : static_cast<double>(state->events.size());
    if (contact >= counts_.size()) counts_.resize(contact + 1, 0);
    if (counts_[contact] == n) return false;
    counts_[contact] = n;
    return true;
  }

  std::vector<double> counts_;
};

constexpr uint32_t kFrequentId = 0x7FFF0001;

using NodeKindTest = EngineFixture;

TEST_F(NodeKindTest, ANewKindPlugsInIsKeptCurrentAndIsReadByGroups) {
  Track("seed", "Order Completed");
  Track("ana", "Page Viewed");
  Track("ana", "Product Viewed");
  Track("bob", "Page Viewed");
  ASSERT_TRUE(
      engine_->AddNode(std::make_unique<FrequentVisitorsNode>(kFrequentId, "Frequent visitors", 2))
          .ok());
  auto members = engine_->audiences().Bitmap(AudienceKind::kGroup, "Frequent visitors");
  ASSERT_TRUE(members.ok()) << members.status();
  EXPECT_TRUE(members->contains(Id("ana")));
  EXPECT_FALSE(members->contains(Id("bob")));
  // A group built on it follows it in the same write.
  Create("Frequent buyers", "in group \"Frequent visitors\" and did \"Order Completed\"");
  Track("bob", "Order Completed");
  EXPECT_TRUE(In("Frequent buyers", "bob"));
  auto history = engine_->audiences().ContactHistory(Id("bob"), 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[1].audience_name, "Frequent visitors");
  EXPECT_EQ((*history)[1].cause, "event: Order Completed");
  EXPECT_EQ((*history)[0].audience_name, "Frequent buyers");
  // Its memory is accounted for with the rest.
  EXPECT_THAT(engine_->DerivedState().columns(),
              Contains(Field(&DerivedColumn::name, "frequent/Frequent visitors/members")));
  // What reads it keeps it, and its key or id cannot be taken twice.
  EXPECT_TRUE(absl::IsAlreadyExists(
      engine_->AddNode(std::make_unique<FrequentVisitorsNode>(kFrequentId, "Again", 1))));
  EXPECT_TRUE(absl::IsAlreadyExists(engine_->AddNode(
      std::make_unique<FrequentVisitorsNode>(kFrequentId + 1, "Frequent visitors", 1))));
}

TEST_F(NodeKindTest, ANewKindOfComputedValueIsReadByConditionsWithNoChangeToTheLanguage) {
  Track("ana", "Page Viewed");
  Track("bob", "Page Viewed");
  Track("bob", "Page Viewed");
  ASSERT_TRUE(engine_->AddNode(std::make_unique<VisitCountNode>()).ok());
  auto check = engine_->conditions().Check("visits(\"all\") >= 2", /*count=*/true);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->matches, 1u);
  const GroupInfo regulars = Create("Regulars", "visits(\"all\") >= 2");
  EXPECT_THAT(regulars.uses, ElementsAre("visits(\"all\")"));
  EXPECT_FALSE(In("Regulars", "ana"));
  EXPECT_TRUE(In("Regulars", "bob"));
  Track("ana", "Page Viewed");  // kept current through the node, in the same write
  EXPECT_TRUE(In("Regulars", "ana"));
  // Its name is checked like a score's.
  auto unknown = engine_->conditions().Check("visits(\"al\") >= 2", false);
  EXPECT_FALSE(unknown.ok());
}

TEST_F(NodeKindTest, ACancelledNodeIsNotAdded) {
  Track("ana", "Page Viewed");
  auto progress = std::make_shared<JobProgress>();
  progress->cancelled = true;
  absl::Status added = engine_->AddNode(
      std::make_unique<FrequentVisitorsNode>(kFrequentId, "Frequent visitors", 1), progress);
  EXPECT_TRUE(absl::IsCancelled(added)) << added;
  EXPECT_TRUE(absl::IsNotFound(
      engine_->audiences().Bitmap(AudienceKind::kGroup, "Frequent visitors").status()));
  EXPECT_TRUE(engine_->audiences().ContactHistory(Id("ana"), 10)->empty());
}

}  // namespace
}  // namespace segmenta

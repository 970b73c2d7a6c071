#include "profile/contact.h"

#include "gtest/gtest.h"

namespace segmenta {
namespace {

TEST(ContactTest, EncodeDecodeRoundTrips) {
  Contact c;
  c.id = 42;
  c.created_ms = 1000;
  c.updated_ms = 2000;
  c.identities = {{IdentityKind::kAnonymous, "a\"1"}, {IdentityKind::kUser, "u1"}};
  c.traits["age"] = {"47", 1500};
  c.traits["name"] = {"\"Jos\\u00e9\"", 1500};
  c.traits["tags"] = {"[\"cycling\",{\"x\":null}]", 1600};
  c.accounts = {"acme", "globex"};
  c.absorbed = {43, 44};
  auto decoded = Contact::Decode(c.Encode());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  // Stored trait JSON is normalized: the \u escape comes back as the UTF-8 it stands for.
  EXPECT_EQ(decoded->traits["name"].json, "\"Jos\xC3\xA9\"");
  c.traits["name"].json = "\"Jos\xC3\xA9\"";
  EXPECT_EQ(*decoded, c);
  // A normalized record round-trips byte for byte.
  EXPECT_EQ(decoded->Encode(), c.Encode());
}

TEST(ContactTest, DecodeRejectsGarbage) {
  EXPECT_EQ(Contact::Decode("{\"id\":1}").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Contact::Decode("not json").status().code(), absl::StatusCode::kDataLoss);
}

TEST(ContactTest, NewerTraitWinsAndOlderUpdateIsIgnored) {
  Traits traits;
  ASSERT_TRUE(MergeTraitsJson(R"({"plan":"pro","age":30})", 2000, &traits).ok());
  ASSERT_TRUE(MergeTraitsJson(R"({"plan":"free","city":"Madrid"})", 1000, &traits).ok());
  EXPECT_EQ(traits["plan"].json, "\"pro\"");
  EXPECT_EQ(traits["city"].json, "\"Madrid\"");
  ASSERT_TRUE(MergeTraitsJson(R"({"plan":"enterprise"})", 3000, &traits).ok());
  EXPECT_EQ(traits["plan"].json, "\"enterprise\"");
  EXPECT_FALSE(MergeTraitsJson("[1]", 1, &traits).ok());
}

TEST(ContactTest, AbsorbUnionsIdentitiesAccountsAndKeepsNewestTraits) {
  Contact a{.id = 1, .created_ms = 10, .updated_ms = 10};
  a.identities = {{IdentityKind::kAnonymous, "x"}};
  a.traits["age"] = {"30", 10};
  a.accounts = {"b"};
  Contact b{.id = 2, .created_ms = 5, .updated_ms = 20};
  b.identities = {{IdentityKind::kUser, "u"}, {IdentityKind::kAnonymous, "x"}};
  b.traits["age"] = {"31", 20};
  b.accounts = {"a", "b"};
  b.absorbed = {3};
  a.Absorb(b);
  EXPECT_EQ(a.identities.size(), 2u);
  EXPECT_EQ(a.traits["age"].json, "31");
  EXPECT_EQ(a.accounts, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(a.absorbed, (std::vector<ContactId>{2, 3}));
  EXPECT_EQ(a.created_ms, 5);
}

TEST(ContactTest, ContactJsonShowsIdentitiesTraitsAndActivities) {
  Contact c{.id = 7, .created_ms = 0, .updated_ms = 0};
  c.identities = {{IdentityKind::kUser, "u7"}};
  c.traits["age"] = {"47", 0};
  std::string json = ContactJson(c, "[]");
  EXPECT_EQ(
      json,
      R"({"id":"7","createdAt":"1970-01-01T00:00:00.000Z","updatedAt":"1970-01-01T00:00:00.000Z",)"
      R"("identities":[{"type":"userId","value":"u7"}],"traits":{"age":47},"accounts":[],)"
      R"("mergedFrom":[],"activities":[]})");
}

}  // namespace
}  // namespace segmenta

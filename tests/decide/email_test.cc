#include "decide/email.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

using ::testing::HasSubstr;

Contact WithTraits(ContactId id, std::map<std::string, std::string> traits) {
  Contact c;
  c.id = id;
  for (auto& [k, v] : traits) c.traits[k] = TraitValue{v, 0};
  return c;
}

TEST(EmailTest, RendersTraitsAccountPersonaStageAndSectionsWithDefaults) {
  EmailTemplate t;
  t.name = "welcome";
  t.subject = "Hi {{contact.first_name}}, your {{stage}} perks";
  t.body =
      "Hello {{contact.first_name}} from {{contact.address.city}}!"
      "{{#in.Customers}} Thanks for your order.{{/in.Customers}}"
      "{{^in.Customers}} Here is 10% off.{{/in.Customers}}"
      "{{#persona}} As a {{persona}}…{{/persona}} {{account.name}}";
  t.defaults = {{"first_name", "there"}};
  ASSERT_TRUE(CheckEmailTemplate(t).ok());
  Contact ana = WithTraits(7, {{"first_name", R"("Ana")"}, {"address", R"({"city":"Sevilla"})"}});
  Traits account;
  account["name"] = TraitValue{R"("Acme")", 0};
  EmailContext context{&ana, &account, "Cycling engineer", "Customer", {"Customers"}};
  auto out = RenderEmail(t, context);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->subject, "Hi Ana, your Customer perks");
  EXPECT_EQ(out->body,
            "Hello Ana from Sevilla! Thanks for your order. As a Cycling engineer… Acme");
  // A missing first name falls back to its default; a missing city has none: refused.
  Contact bob = WithTraits(8, {{"address", R"({"city":"Lyon"})"}});
  EmailContext bob_context{&bob, nullptr, "", "Lead", {}};
  out = RenderEmail(t, bob_context);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->body, HasSubstr("Hello there from Lyon! Here is 10% off."));
  Contact eve = WithTraits(9, {});
  EmailContext eve_context{&eve, nullptr, "", "", {}};
  EXPECT_THAT(RenderEmail(t, eve_context).status().message(), HasSubstr("has no \"address.city\""));
  // Syntax errors are refused when the template is saved.
  t.body = "{{#in.Customers}}unclosed";
  EXPECT_THAT(CheckEmailTemplate(t).message(), HasSubstr("body:"));
  EXPECT_TRUE(Unsubscribed(WithTraits(1, {{"unsubscribed", "true"}})));
  EXPECT_FALSE(Unsubscribed(WithTraits(1, {{"unsubscribed", "false"}})));
}

}  // namespace
}  // namespace segmenta

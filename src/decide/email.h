// Personalized e-mails: Mustache templates (Debian's kainjow-mustache) over a contact's
// traits, its first account's traits, persona, stage and memberships, with defaults for
// missing traits, so that no greeting is ever empty.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "profile/contact.h"

namespace segmenta {

struct EmailTemplate {
  std::string name;
  std::string subject;  // Mustache
  std::string body;     // Mustache (HTML or text)
  // Values for traits a contact lacks: {"first_name": "there"}.
  std::map<std::string, std::string> defaults;
  int64_t updated_ms = 0;

  std::string Encode() const;
  // Errors: DataLoss.
  static absl::StatusOr<EmailTemplate> Decode(std::string_view bytes);
};

// Checks the name and compiles the subject and body. Errors: InvalidArgument naming the
// part and the Mustache error ("body: Unclosed section \"in.Customers\" at 12").
absl::Status CheckEmailTemplate(const EmailTemplate& t);

// What a template reads of a contact, besides its traits.
struct EmailContext {
  const Contact* contact = nullptr;
  const Traits* account = nullptr;  // its first account's traits, or null
  std::string persona;              // "" when none
  std::string stage;
  std::vector<std::string> audiences;  // its groups, persona and stage: {{#in.NAME}}
};

struct RenderedEmail {
  std::string subject;
  std::string body;
};

// Renders `t` for the contact. Tags: {{contact.TRAIT}} (nested: contact.address.city),
// {{contact.id}}, {{account.TRAIT}}, {{persona}}, {{stage}}, sections {{#in.NAME}}…{{/in.NAME}}
// for members of a group, persona or stage. Errors: FailedPrecondition naming a trait the
// template prints that the contact lacks and that has no default.
absl::StatusOr<RenderedEmail> RenderEmail(const EmailTemplate& t, const EmailContext& context);

// True when the contact must not get marketing e-mail: trait "unsubscribed" true, or
// "email_opt_in" false.
bool Unsubscribed(const Contact& contact);

inline constexpr std::string_view kEmailKeyPrefix = "email/";

}  // namespace segmenta

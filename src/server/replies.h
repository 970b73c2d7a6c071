// JSON answers and checks that the admin APIs (/api/...) share.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/json_writer.h"
#include "profile/contact_reader.h"
#include "segments/engine.h"
#include "segments/group.h"
#include "server/http_server.h"

namespace segmenta {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

HttpResponse JsonReply(int status, std::string body);
// 400 {"error":"invalid_parameter","message":"NAME: REASON","errors":[{"field","reason"}]}.
HttpResponse BadParameter(std::string_view name, std::string_view reason);
// 405 with an Allow header.
HttpResponse MethodNotAllowed(std::string_view path, std::string_view allow);
// The HTTP answer for an error status: NotFound 404, AlreadyExists 409, InvalidArgument 400,
// FailedPrecondition 409, Cancelled 409 ("cancelled"), ResourceExhausted 503, others 500.
HttpResponse StatusReply(const absl::Status& status);

// 200 with `to_json(*value)` as its body, or the answer for `value`'s error (StatusReply).
template <typename T, typename ToJson>
HttpResponse JsonReplyOr(const absl::StatusOr<T>& value, ToJson&& to_json) {
  if (!value.ok()) return StatusReply(value.status());
  return JsonReply(200, to_json(*value));
}

// 200 {"deleted":true}, or the answer for `deleted`'s error (StatusReply).
HttpResponse DeletedReply(const absl::Status& deleted);

// The answer about the contact that `identity` (any of its ids) names: 200 {"contactId":
// "ID", then the members `write` adds}; or the answer for the lookup's error (404 when no
// contact has the id) or for the error `write` returns (StatusReply).
HttpResponse ContactReply(const ContactReader& reader, std::string_view identity,
                          absl::FunctionRef<absl::Status(ContactId contact, JsonWriter& w)> write);

// Parses `text` as an integer in [min, max]; else the 400 naming `name`.
std::optional<HttpResponse> ParseCount(std::string_view name, std::string_view text, size_t min,
                                       size_t max, size_t* value);

// Reads the optional "webhooks" array of a definition ([{url, secret, enter, exit}]) into
// `out`. Returns a 400 naming the bad field, or nullopt.
std::optional<HttpResponse> ReadWebhooksField(simdjson::dom::element root,
                                              std::vector<Webhook>* out);

// A page of members: {KEY: name, "members": [ids, or profiles when `expand_with` is set],
// "nextCursor": cursor or null}.
std::string MembersJson(std::string_view key, std::string_view name, const MembersPage& page,
                        const ContactReader* expand_with);

// The paging parameters of member lists: ?limit= (1..10,000, default 100), &cursor=,
// &expand=contacts (RouteCall::ReadPage reads them).
struct PageParams {
  size_t limit = 100;
  std::string cursor;
  bool expand = false;
};

}  // namespace segmenta

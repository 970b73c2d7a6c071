#include "cli/admin_client.h"

#include <cstdlib>

#include "fmt/format.h"
#include "simdjson.h"

namespace segmenta {

absl::StatusOr<AdminClient> AdminClient::Connect(std::string url, std::string token) {
  if (url.empty()) {
    const char* env = std::getenv("SEGMENTA_URL");
    url = env != nullptr ? env : "";
  }
  if (token.empty()) {
    const char* env = std::getenv("SEGMENTA_TOKEN");
    token = env != nullptr ? env : "";
  }
  if (url.empty()) {
    return absl::InvalidArgumentError(
        "no server: give --url http://HOST:PORT (or set SEGMENTA_URL)");
  }
  if (token.empty()) {
    return absl::InvalidArgumentError(
        "no token: give --token (an admin or read-only token; or set SEGMENTA_TOKEN)");
  }
  absl::StatusOr<HttpEndpoint> endpoint = ParseHttpUrl(url);
  if (!endpoint.ok()) return endpoint.status();
  return AdminClient(std::move(url), *endpoint, std::move(token));
}

absl::StatusOr<std::string> AdminClient::Call(const std::string& method, const std::string& target,
                                              const std::string& body) {
  absl::StatusOr<HttpClientResponse> res = client_->Request(
      method, target, body,
      {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}});
  if (!res.ok()) return res.status();
  if (res->status >= 200 && res->status < 300) return std::move(res->body);
  // The server's error message, when it sent one.
  simdjson::dom::parser parser;
  simdjson::padded_string padded(res->body);
  simdjson::dom::element root;
  std::string_view message = res->body;
  if (parser.parse(padded).get(root) == simdjson::SUCCESS) {
    std::string_view m;
    if (root["message"].get(m) == simdjson::SUCCESS) message = m;
  }
  std::string text = fmt::format("{} (HTTP {})", message, res->status);
  switch (res->status) {
    case 400:
      return absl::InvalidArgumentError(text);
    case 401:
    case 403:
      return absl::PermissionDeniedError(text);
    case 404:
      return absl::NotFoundError(text);
    case 409:
      return absl::FailedPreconditionError(text);
    default:
      return absl::InternalError(text);
  }
}

std::string EncodePathSegment(std::string_view segment) {
  std::string out;
  for (unsigned char c : segment) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace segmenta

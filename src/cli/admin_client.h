// Talks to a running server's admin API for the CLI (`segmenta groups`, `export`, `check`):
// the URL and token come from --url / --token, else $SEGMENTA_URL / $SEGMENTA_TOKEN.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "server/http_client.h"

namespace segmenta {

class AdminClient {
 public:
  // Errors: InvalidArgument when the URL or the token is missing or malformed.
  static absl::StatusOr<AdminClient> Connect(std::string url, std::string token);

  // Sends a request with the bearer token; returns the body of a 2xx.
  // Errors: the server's own message for 4xx/5xx (with its status), Unavailable when it
  // cannot be reached.
  absl::StatusOr<std::string> Call(const std::string& method, const std::string& target,
                                   const std::string& body = {});

  const std::string& url() const { return url_; }

 private:
  AdminClient(std::string url, HttpEndpoint endpoint, std::string token)
      : url_(std::move(url)),
        client_(std::make_shared<HttpClient>(endpoint)),
        token_(std::move(token)) {}
  std::string url_;
  std::shared_ptr<HttpClient> client_;
  std::string token_;
};

// Percent-encodes a path segment (a group's name, a contact identity).
std::string EncodePathSegment(std::string_view segment);

}  // namespace segmenta

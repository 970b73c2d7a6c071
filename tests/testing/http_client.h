// A blocking HTTP/1.1 client for tests: one keep-alive connection to a loopback server.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace segmenta::testing {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// Not thread-safe: one per thread.
class HttpClient {
 public:
  explicit HttpClient(int port);
  ~HttpClient();

  // Sends one request; reconnects once if the kept-alive connection was closed.
  // Errors: Unavailable when the server cannot be reached (refused, reset, killed).
  absl::StatusOr<HttpResponse> Request(const std::string& method, const std::string& target,
                                       const std::string& body = {},
                                       const std::map<std::string, std::string>& headers = {});

 private:
  struct Connection;
  int port_;
  std::unique_ptr<Connection> connection_;
};

// "Basic base64(key:)", the header Segment SDKs send.
std::string BasicAuth(const std::string& write_key);

}  // namespace segmenta::testing

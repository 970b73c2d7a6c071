// A blocking HTTP/1.1 client over one keep-alive connection: what `segmenta import --url`
// and segmenta-bench use to talk to a server, and what the end-to-end tests use.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace segmenta {

struct HttpClientResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
};

// Where a server is: "http://host:port" (port 80 when absent; a path is ignored).
struct HttpEndpoint {
  std::string host;
  int port = 80;
  std::string path = "/";  // with the query, if any
};

// Parses "http://host[:port][/path]". Errors: InvalidArgument naming what is wrong (https is
// refused: Segmenta serves plain HTTP, behind a TLS proxy in production).
absl::StatusOr<HttpEndpoint> ParseHttpUrl(std::string_view url);

// Not thread-safe: one per thread.
class HttpClient {
 public:
  explicit HttpClient(HttpEndpoint endpoint);
  explicit HttpClient(int loopback_port) : HttpClient(HttpEndpoint{"127.0.0.1", loopback_port}) {}
  ~HttpClient();

  // Sends one request and reads the whole response; reconnects once if the kept-alive
  // connection was closed. Errors: Unavailable when the server cannot be reached (refused,
  // reset, killed, name not resolved), with the reason.
  absl::StatusOr<HttpClientResponse> Request(
      const std::string& method, const std::string& target, const std::string& body = {},
      const std::map<std::string, std::string>& headers = {});

 private:
  struct Connection;
  HttpEndpoint endpoint_;
  std::unique_ptr<Connection> connection_;
};

// "Basic base64(key:)", the Authorization header Segment SDKs send with a write key.
std::string BasicAuth(const std::string& write_key);

}  // namespace segmenta

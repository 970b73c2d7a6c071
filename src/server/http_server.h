// An HTTP/1.1 server (Boost.Beast over Asio): keep-alive connections served by a few io
// threads, request bodies bounded before and after gzip inflation, asynchronous handlers
// that may answer from any thread, and a graceful shutdown that lets requests in flight
// finish. It knows nothing of Segmenta's routes: a Handler does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace segmenta {

struct HttpServerOptions {
  // Address to bind. Default: 127.0.0.1 (loopback only).
  std::string host = "127.0.0.1";
  // Port to bind; 0 picks a free one (see HttpServer::port()). Default: 8080.
  uint16_t port = 8080;
  // Threads running the network event loop. Default: 2.
  int io_threads = 2;
  // Largest request body as received (compressed or not); larger gets 413. Default: 512 KiB.
  size_t max_body_bytes = 512 * 1024;
  // Largest request body after gzip inflation (and for an uncompressed body, its size);
  // larger gets 413. Default: 500 KiB (Segment's batch limit, Limits::max_batch_bytes).
  size_t max_decoded_body_bytes = 500 * 1024;
  // Largest request header block; larger gets 431. Default: 16 KiB.
  size_t max_header_bytes = 16 * 1024;
  // How long a connection may sit idle between requests, or take to send one request.
  // Default: 30 s.
  absl::Duration idle_timeout = absl::Seconds(30);
  // How long Shutdown() waits for requests in flight before closing them. Default: 30 s.
  absl::Duration shutdown_timeout = absl::Seconds(30);
};

// One request, its body already inflated.
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: "/api/contacts/user%3A42?activities=5"
  std::string path;    // target before '?', still percent-encoded
  std::string query;   // target after '?', "" when none
  // Header fields, names in lower case, in the order received.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote;  // peer address, for logs

  // The value of the first header named `name` (any case), or "" when absent.
  std::string_view Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Extra header fields ("Retry-After", "WWW-Authenticate", ...).
  std::vector<std::pair<std::string, std::string>> headers;
  // Appended to the request's log line, e.g. the id of the key used. Never a secret.
  std::string log_note;
};

// {"error": code, "message": message[, "errors": errors_json]} with `status`.
// `errors_json`, when not empty, must be a JSON array.
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view errors_json = {});

// Sends the response to one request. Copyable; call it once, from any thread (later calls
// are ignored). When every copy is gone without a call, the client gets a 500, so a handler
// bug cannot leave a connection hanging.
class Responder {
 public:
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  void operator()(HttpResponse response) const;

 private:
  std::shared_ptr<State> state_;
};

// Answers one request by calling `respond`, now or later from any thread. Runs on an io
// thread: anything slow (disk, fsync) belongs elsewhere. Must not throw (an exception is
// caught and answered with a 500).
using HttpHandler = std::function<void(const HttpRequest& request, Responder respond)>;

// Thread-safe.
class HttpServer {
 public:
  // Binds `options.host:options.port`, starts the io threads and serves every request with
  // `handler`. Errors: InvalidArgument for a bad host or io_threads < 1; Unavailable when
  // the address cannot be bound (in use, not local).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                           HttpHandler handler);
  // Shutdown(), if not done yet.
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port bound (the ephemeral one when options.port was 0).
  uint16_t port() const { return port_; }
  const HttpServerOptions& options() const { return options_; }

  // Stops accepting connections, closes idle ones, lets every request in flight finish
  // (its handler responds, the response is written), then stops the io threads. Requests
  // still unanswered after options.shutdown_timeout are dropped. Idempotent.
  // REQUIRES: not called from a handler or an io thread.
  void Shutdown();

  // Requests answered so far (any status). Thread-safe.
  uint64_t requests_served() const;

 public:
  // Internal: state the connections share with the server (defined in http_server.cc).
  struct Shared;

 private:
  HttpServer(HttpServerOptions options, std::shared_ptr<Shared> shared, uint16_t port);

  HttpServerOptions options_;
  std::shared_ptr<Shared> shared_;
  uint16_t port_ = 0;
};

// Decodes %XX escapes (and nothing else: '+' stays '+' in a path).
// Errors: InvalidArgument for a truncated or non-hex escape.
absl::StatusOr<std::string> PercentDecode(std::string_view text);

// Splits a query string into decoded (name, value) pairs in order; '+' means a space.
// Errors: InvalidArgument for a bad escape.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

}  // namespace segmenta

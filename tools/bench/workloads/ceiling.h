// What any durable collector of the ingest benchmark's load could reach on this machine: the
// benchmark's loader against two servers in the bench's process that do only part of a
// collector's work, so that `segmenta-bench ingest` can say how far the server is from them
// and what a ratio to the peer could be at most.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/http_server.h"

namespace segmenta {

enum class CeilingKind {
  // Reads each request (the project's HTTP server) and answers 200 at once: the cost of the
  // loader and of HTTP on loopback.
  kHttp,
  // Also parses and validates each body with the tracking API's parser (a 400 for a bad
  // message), appends the body to a log file and answers 200 only once an fdatasync covers
  // it, one fdatasync for every request that arrived meanwhile (group commit): the least a
  // collector that validates each message and acknowledges only durable data must do. No
  // write-key check, identities, profiles, dedup or index.
  kValidateAndSync,
};

// One ceiling server on a loopback port. Thread-safe.
class CeilingServer {
 public:
  // Starts serving on 127.0.0.1 (an ephemeral port) with `io_threads` network threads, as
  // `segmenta serve` does; kValidateAndSync appends to `log_path` (created, truncated).
  // Errors: the HTTP server's (see HttpServer::Start), or the log file's (Internal).
  static absl::StatusOr<std::unique_ptr<CeilingServer>> Start(CeilingKind kind,
                                                              const std::string& log_path,
                                                              int io_threads);
  // Stops the HTTP server, then the sync thread, and closes the log.
  ~CeilingServer();

  std::string url() const;
  // Bytes appended to the log and fsynced (0 for kHttp).
  uint64_t synced_bytes() const;

  struct State;

 private:
  explicit CeilingServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace segmenta

// Sends Segment messages to a running server through POST /v1/batch, over several
// keep-alive connections: `segmenta import --url` and segmenta-bench's ingest workload.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace segmenta {

struct HttpLoadOptions {
  // The server, "http://host:port".
  std::string url;
  std::string write_key;
  // Concurrent connections, each with one request in flight. Default: 4.
  int connections = 4;
  // Messages per /v1/batch request. Default: 500.
  size_t batch_messages = 500;
  // Largest request body; a batch is sent early rather than pass it. Default: 450 KiB
  // (under the server's default 500 KiB).
  size_t max_batch_bytes = 450 * 1024;
  // Attempts per batch when the server is unreachable or answers 5xx/429 (messageIds make
  // a retry safe). Default: 8, backing off from 100 ms to 10 s.
  int max_attempts = 8;
};

// A message the server refused (HTTP 400), located in the caller's input.
struct HttpLoadRejection {
  int64_t line = 0;  // as given to Add()
  std::string reason;
};

struct HttpLoadReport {
  uint64_t messages = 0;  // acknowledged (stored or recognized as duplicates)
  uint64_t batches = 0;
  uint64_t retries = 0;
  absl::Duration elapsed;
  // Latency of the acknowledged requests.
  double p50_ms = 0;
  double p99_ms = 0;
  // Messages of batches the server refused with 400 (a batch is stored whole or not at
  // all, so every message of such a batch is listed; the ones at fault first).
  std::vector<HttpLoadRejection> rejected;
  uint64_t rejected_messages = 0;
};

// Add() from one thread; the senders run on their own threads.
class HttpLoader {
 public:
  // Errors: InvalidArgument for a bad URL.
  static absl::StatusOr<std::unique_ptr<HttpLoader>> Start(HttpLoadOptions options);
  // Stops the senders (what is queued and not sent is dropped); use Finish() to send it.
  ~HttpLoader();

  // Queues one message (its JSON text) read at `line` of the input. Blocks while many
  // batches wait to be sent. Errors: the fatal error that stopped the senders (401: the
  // write key is refused; a server unreachable after every attempt).
  absl::Status Add(std::string_view message_json, int64_t line);

  // Sends what is queued, waits for every answer, and stops the senders.
  // Errors: as Add().
  absl::StatusOr<HttpLoadReport> Finish();

  // Messages acknowledged so far. Thread-safe.
  uint64_t acknowledged() const;

 private:
  struct Batch {
    std::string body;
    std::vector<int64_t> lines;
  };
  explicit HttpLoader(HttpLoadOptions options);
  void Flush();  // queues the batch being built
  void SendLoop();

  HttpLoadOptions options_;
  Batch building_;
  absl::Time start_;

  mutable std::mutex mu_;
  std::condition_variable queue_cv_;
  std::condition_variable space_cv_;
  std::deque<Batch> queue_;
  bool closing_ = false;
  absl::Status failed_;
  HttpLoadReport report_;
  std::vector<double> latencies_ms_;
  std::vector<std::thread> senders_;
};

}  // namespace segmenta

#include "cli/http_loader.h"

#include <algorithm>

#include "fmt/format.h"
#include "server/http_client.h"
#include "simdjson.h"

namespace segmenta {
namespace {

// Batches waiting per connection before Add() blocks.
constexpr size_t kQueuedBatchesPerConnection = 4;
constexpr std::string_view kBatchHead = R"({"batch":[)";

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  size_t k = static_cast<size_t>(p * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

// The messages a 400 answer names: index -> "field: reason" (the body's own reason under
// index -1).
std::vector<std::pair<int, std::string>> RefusedMessages(const std::string& body) {
  std::vector<std::pair<int, std::string>> out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root)) return {{-1, body.substr(0, 200)}};
  simdjson::dom::array errors;
  if (root["errors"].get_array().get(errors)) {
    std::string_view message;
    if (root["message"].get_string().get(message)) message = body;
    return {{-1, std::string(message.substr(0, 200))}};
  }
  for (simdjson::dom::element e : errors) {
    int64_t index = -1;
    std::string_view field, reason;
    if (e["index"].get_int64().get(index)) index = -1;
    if (e["field"].get_string().get(field)) field = {};
    if (e["reason"].get_string().get(reason)) reason = {};
    out.emplace_back(static_cast<int>(index),
                     field.empty() ? std::string(reason) : fmt::format("{}: {}", field, reason));
  }
  return out;
}

}  // namespace

HttpLoader::HttpLoader(HttpLoadOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<HttpLoader>> HttpLoader::Start(HttpLoadOptions options) {
  absl::StatusOr<HttpEndpoint> endpoint = ParseHttpUrl(options.url);
  if (!endpoint.ok()) return endpoint.status();
  if (options.connections < 1) options.connections = 1;
  if (options.batch_messages < 1) options.batch_messages = 1;
  std::unique_ptr<HttpLoader> loader(new HttpLoader(std::move(options)));
  loader->start_ = absl::Now();
  for (int i = 0; i < loader->options_.connections; ++i) {
    loader->senders_.emplace_back([l = loader.get()] { l->SendLoop(); });
  }
  return loader;
}

HttpLoader::~HttpLoader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    queue_.clear();
  }
  queue_cv_.notify_all();
  space_cv_.notify_all();
  for (std::thread& t : senders_) {
    if (t.joinable()) t.join();
  }
}

absl::Status HttpLoader::Add(std::string_view message_json, int64_t line) {
  // The closing "]}" must fit too.
  if (!building_.lines.empty() &&
      building_.body.size() + 1 + message_json.size() + 2 > options_.max_batch_bytes) {
    Flush();
  }
  if (building_.lines.empty()) {
    building_.body.reserve(std::min<size_t>(options_.max_batch_bytes, 1 << 20));
    building_.body.append(kBatchHead);
  } else {
    building_.body.push_back(',');
  }
  building_.body.append(message_json);
  building_.lines.push_back(line);
  if (building_.lines.size() >= options_.batch_messages) Flush();
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

void HttpLoader::Flush() {
  if (building_.lines.empty()) return;
  building_.body.append("]}");
  std::unique_lock<std::mutex> lock(mu_);
  space_cv_.wait(lock, [&] {
    return !failed_.ok() ||
           queue_.size() < kQueuedBatchesPerConnection * static_cast<size_t>(options_.connections);
  });
  if (failed_.ok()) queue_.push_back(std::move(building_));
  building_ = Batch();
  lock.unlock();
  queue_cv_.notify_one();
}

absl::StatusOr<HttpLoadReport> HttpLoader::Finish() {
  Flush();
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  queue_cv_.notify_all();
  for (std::thread& t : senders_) t.join();
  senders_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_.ok()) return failed_;
  report_.elapsed = absl::Now() - start_;
  report_.p50_ms = Percentile(latencies_ms_, 0.50);
  report_.p99_ms = Percentile(latencies_ms_, 0.99);
  return report_;
}

uint64_t HttpLoader::acknowledged() const {
  std::lock_guard<std::mutex> lock(mu_);
  return report_.messages;
}

void HttpLoader::SendLoop() {
  HttpClient client(*ParseHttpUrl(options_.url));
  const std::map<std::string, std::string> headers = {
      {"Authorization", BasicAuth(options_.write_key)}, {"Content-Type", "application/json"}};
  while (true) {
    Batch batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      queue_cv_.wait(lock, [&] { return closing_ || !queue_.empty() || !failed_.ok(); });
      if (!failed_.ok() || queue_.empty()) return;
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    space_cv_.notify_one();

    absl::Status fatal;
    absl::Duration backoff = absl::Milliseconds(100);
    for (int attempt = 1;; ++attempt) {
      absl::Time sent = absl::Now();
      absl::StatusOr<HttpClientResponse> res =
          client.Request("POST", "/v1/batch", batch.body, headers);
      double ms = absl::ToDoubleMilliseconds(absl::Now() - sent);
      bool retry = !res.ok() || res->status >= 500 || res->status == 429;
      if (!retry) {
        std::lock_guard<std::mutex> lock(mu_);
        if (res->status == 200) {
          report_.messages += batch.lines.size();
          ++report_.batches;
          latencies_ms_.push_back(ms);
        } else if (res->status == 400 || res->status == 413) {
          report_.rejected_messages += batch.lines.size();
          std::vector<bool> named(batch.lines.size(), false);
          for (auto& [index, reason] : RefusedMessages(res->body)) {
            if (index >= 0 && static_cast<size_t>(index) < batch.lines.size()) {
              report_.rejected.push_back({batch.lines[index], reason});
              named[index] = true;
            } else {
              report_.rejected.push_back({batch.lines.front(), "the batch: " + reason});
            }
          }
          for (size_t i = 0; i < batch.lines.size(); ++i) {
            if (!named[i]) {
              report_.rejected.push_back(
                  {batch.lines[i], "not stored: another message of its batch was refused"});
            }
          }
        } else if (res->status == 401 || res->status == 403) {
          fatal = absl::PermissionDeniedError(
              fmt::format("the server refused the write key ({}): {}", res->status, res->body));
        } else {
          fatal = absl::InternalError(
              fmt::format("unexpected answer {} from the server: {}", res->status, res->body));
        }
        break;
      }
      if (attempt >= options_.max_attempts) {
        fatal = absl::UnavailableError(
            fmt::format("giving up on a batch after {} attempts: {}", attempt,
                        res.ok() ? fmt::format("HTTP {} {}", res->status, res->body.substr(0, 200))
                                 : std::string(res.status().message())));
        break;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++report_.retries;
        if (closing_ && !failed_.ok()) return;
      }
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(10));
    }
    if (!fatal.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (failed_.ok()) failed_ = fatal;
      }
      queue_cv_.notify_all();
      space_cv_.notify_all();
      return;
    }
  }
}

}  // namespace segmenta

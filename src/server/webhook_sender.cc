#include "server/webhook_sender.h"

#include <openssl/hmac.h>
#include <pthread.h>

#include <charconv>

#include "core/json_writer.h"
#include "fmt/format.h"
#include "server/http_client.h"
#include "simdjson.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

std::string CursorKey(const std::string& hook) { return "webhook:" + hook; }

}  // namespace

std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  std::string signed_text = fmt::format("{}.{}", unix_seconds, body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &len);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", mac[i]);
  return fmt::format("t={},v1={}", unix_seconds, hex);
}

WebhookSender::WebhookSender(Store* store, const AudienceEngine* engine,
                             WebhookSenderOptions options)
    : store_(store), engine_(engine), reader_(store), options_(options) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "webhooks");
    Loop();
  });
}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WebhookSender::Loop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.poll), [&] { return stopping_; });
      if (stopping_) return;
    }
    Pass();
  }
}

// The event with the contact's identities and traits, as the receiver wants it.
std::string WebhookSender::Enrich(std::string_view event) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(event);
  simdjson::dom::element root;
  std::string_view contact_id;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      root["contactId"].get(contact_id) != simdjson::SUCCESS) {
    return std::string(event);
  }
  uint64_t id = 0;
  std::from_chars(contact_id.data(), contact_id.data() + contact_id.size(), id);
  absl::StatusOr<Contact> contact = reader_.FindById(id);
  std::string out(event);
  if (!contact.ok() || out.empty() || out.back() != '}') return out;
  out.pop_back();
  out += ",\"contact\":";
  out += ContactJson(*contact);
  out += '}';
  return out;
}

void WebhookSender::Pass() {
  absl::flat_hash_map<std::string, bool> blocked;  // hooks that failed in this pass
  auto it = store_->NewIterator(Family::kOutbox);
  rocksdb::WriteBatch cleanup;
  bool all_done_so_far = true;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    const uint64_t seq = ReadBigEndian64(std::string_view(it->key().data(), it->key().size()));
    std::string_view event(it->value().data(), it->value().size());
    simdjson::dom::parser parser;
    simdjson::padded_string padded(event);
    simdjson::dom::element root;
    std::string_view group, type;
    uint64_t group_id = 0;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
        root["group"].get(group) != simdjson::SUCCESS ||
        root["groupId"].get(group_id) != simdjson::SUCCESS ||
        root["type"].get(type) != simdjson::SUCCESS) {
      spdlog::error("webhooks: malformed outbox entry {}; skipping it", seq);
      cleanup.Delete(store_->handle(Family::kOutbox), it->key());
      continue;
    }
    const bool entered = type.ends_with(".entered");
    bool done = true;
    std::string body;
    for (const Webhook& hook : engine_->audiences().WebhooksOf(static_cast<uint32_t>(group_id))) {
      if ((entered && !hook.enter) || (!entered && !hook.exit)) continue;
      const std::string name = fmt::format("{}|{}", group_id, hook.url);
      auto [state_it, inserted] = hooks_.try_emplace(name);
      Hook& state = state_it->second;
      if (inserted) {
        absl::StatusOr<std::optional<std::string>> stored =
            store_->Get(Family::kMeta, CursorKey(name));
        if (stored.ok() && stored->has_value() && (*stored)->size() == 8) {
          state.cursor = ReadBigEndian64(**stored);
        }
      }
      if (state.cursor >= seq) continue;
      if (blocked[name] || absl::Now() < state.retry_at) {
        blocked[name] = true;
        done = false;
        continue;
      }
      if (body.empty()) body = Enrich(event);
      absl::StatusOr<HttpEndpoint> endpoint = ParseHttpUrl(hook.url);
      absl::StatusOr<HttpClientResponse> res = absl::InvalidArgumentError("bad url");
      if (endpoint.ok()) {
        HttpClient client(*endpoint);
        const int64_t now = absl::ToUnixSeconds(absl::Now());
        res = client.Request("POST", endpoint->path, body,
                             {{"Content-Type", "application/json"},
                              {"User-Agent", "Segmenta-Webhooks/1"},
                              {"X-Segmenta-Delivery", std::to_string(seq)},
                              {"X-Segmenta-Event", std::string(type)},
                              {"X-Segmenta-Signature", WebhookSignature(hook.secret, now, body)}});
      }
      if (res.ok() && res->status >= 200 && res->status < 300) {
        state.cursor = seq;
        state.backoff = absl::ZeroDuration();
        std::string value;
        AppendBigEndian64(seq, &value);
        rocksdb::WriteBatch batch;
        batch.Put(store_->handle(Family::kMeta), CursorKey(name), value);
        absl::Status written = store_->Write(&batch, /*sync=*/true);
        if (!written.ok()) spdlog::error("webhooks: {}", written.ToString());
        delivered_.fetch_add(1);
        continue;
      }
      failed_.fetch_add(1);
      state.backoff = state.backoff == absl::ZeroDuration()
                          ? options_.first_backoff
                          : std::min(state.backoff * 2, options_.max_backoff);
      state.retry_at = absl::Now() + state.backoff;
      blocked[name] = true;
      done = false;
      spdlog::warn(
          "webhooks: delivery {} to {} failed ({}); retrying in {}", seq, hook.url,
          res.ok() ? fmt::format("HTTP {}", res->status) : std::string(res.status().message()),
          absl::FormatDuration(state.backoff));
    }
    // Entries every webhook has taken are dropped, oldest first.
    all_done_so_far = all_done_so_far && done;
    if (all_done_so_far) cleanup.Delete(store_->handle(Family::kOutbox), it->key());
  }
  if (cleanup.Count() > 0) {
    absl::Status s = store_->Write(&cleanup, /*sync=*/false);
    if (!s.ok()) spdlog::error("webhooks: {}", s.ToString());
  }
}

}  // namespace segmenta

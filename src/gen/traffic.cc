#include "gen/traffic.h"

#include <functional>
#include <string>
#include <string_view>

#include "gen/catalog.h"
#include "gen/contact_sim.h"

namespace segmenta {
namespace {

// Generate()'s lines as JSONL, handed to `write` in blocks of about 1 MiB; `write` returns
// false when it fails, and the blocks after are dropped. Sets *stats (when not null) to
// the counts. False when a write failed.
bool WriteJsonl(const TrafficGenerator& generator, TrafficStats* stats,
                const std::function<bool(std::string_view block)>& write) {
  constexpr size_t kBlock = 1 << 20;
  std::string buffer;
  buffer.reserve(kBlock + 64 * 1024);
  bool written = true;
  auto flush = [&] {
    if (written && !buffer.empty()) written = write(buffer);
    buffer.clear();
  };
  TrafficStats result = generator.Generate([&](std::string_view line) {
    buffer.append(line);
    buffer.push_back('\n');
    if (buffer.size() >= kBlock) flush();
  });
  flush();
  if (stats != nullptr) *stats = result;
  return written;
}

}  // namespace

void TrafficStats::Add(const TrafficStats& o) {
  contacts += o.contacts;
  messages += o.messages;
  bytes += o.bytes;
  identify += o.identify;
  track += o.track;
  page += o.page;
  group += o.group;
  alias += o.alias;
  for (size_t i = 0; i < events.size(); ++i) events[i] += o.events[i];
  identified_contacts += o.identified_contacts;
  ordering_contacts += o.ordering_contacts;
  b2b_contacts += o.b2b_contacts;
}

TrafficGenerator::TrafficGenerator(TrafficOptions options)
    : options_(options), catalog_(std::make_unique<const TrafficCatalog>()) {}

TrafficGenerator::~TrafficGenerator() = default;

void TrafficGenerator::GenerateContact(uint64_t index, const TrafficSink& sink,
                                       TrafficStats* stats) const {
  TrafficStats local;
  traffic::SimulateContact(options_, *catalog_, index, sink, stats != nullptr ? stats : &local);
}

TrafficStats TrafficGenerator::Generate(const TrafficSink& sink) const {
  TrafficStats stats;
  for (uint64_t i = 0; i < options_.contacts; ++i) GenerateContact(i, sink, &stats);
  return stats;
}

absl::Status TrafficGenerator::WriteTo(std::FILE* out, TrafficStats* stats) const {
  const bool written =
      WriteJsonl(*this, stats,
                 [out](std::string_view block) {
                   return std::fwrite(block.data(), 1, block.size(), out) == block.size();
                 }) &&
      std::fflush(out) == 0;
  if (!written) return absl::InternalError("writing the generated traffic failed");
  return absl::OkStatus();
}

absl::Status TrafficGenerator::WriteTo(std::ostream& out, TrafficStats* stats) const {
  const bool written = WriteJsonl(*this, stats, [&out](std::string_view block) {
    out.write(block.data(), static_cast<std::streamsize>(block.size()));
    return static_cast<bool>(out);
  });
  out.flush();
  if (!written || !out) return absl::InternalError("writing the generated traffic failed");
  return absl::OkStatus();
}

TrafficCursor::TrafficCursor(const TrafficGenerator* generator) : generator_(generator) {}

bool TrafficCursor::Next(std::string* line) {
  while (pending_pos_ >= pending_.size()) {
    if (next_contact_ >= generator_->options().contacts) return false;
    pending_.clear();
    pending_pos_ = 0;
    generator_->GenerateContact(
        next_contact_++, [this](std::string_view l) { pending_.emplace_back(l); }, &stats_);
  }
  *line = std::move(pending_[pending_pos_++]);
  return true;
}

}  // namespace segmenta

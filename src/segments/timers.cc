#include "segments/timers.h"

#include <algorithm>

#include "eval/evaluator.h"

namespace segmenta {

void Timers::Schedule(uint32_t node, ContactId contact, std::optional<Millis> at, size_t rows) {
  auto it = due_.find(node);
  if (it == due_.end()) {
    if (!at) return;
    it = due_.try_emplace(node).first;
  }
  PagedVector<Millis>& due = it->second;
  if (contact >= due.size()) {
    if (!at) return;
    due.resize(std::max<size_t>(contact + 1, rows), kNoChange);
  }
  const Millis when = at.value_or(kNoChange);
  if (due[contact] == when) return;
  due[contact] = when;
  if (at) {
    Push(Timer{when, node, contact});
    ++live_;
  }
}

void Timers::Push(Timer t) {
  heap_.push_back(t);
  std::push_heap(heap_.begin(), heap_.end(), std::greater<Timer>());
}

void Timers::ScheduleAll(uint32_t node, const std::vector<Millis>& due) {
  // The node's old timers stay in the heap, stale (its column no longer names them), until
  // a compaction drops them.
  if (due.empty()) {
    due_.erase(node);
    return;
  }
  PagedVector<Millis>& column = due_[node];
  column.assign(due.size(), kNoChange);
  const size_t before = heap_.size();
  for (size_t c = 0; c < due.size(); ++c) {
    column[c] = due[c];
    if (due[c] != kNoChange) heap_.push_back(Timer{due[c], node, c});
  }
  const size_t added = heap_.size() - before;
  if (heap_.size() > 2 * (live_ + added) + 65536) {
    Compact();
  } else if (added > before / 4) {
    std::make_heap(heap_.begin(), heap_.end(), std::greater<Timer>());
  } else {
    for (size_t i = before + 1; i <= heap_.size(); ++i) {
      std::push_heap(heap_.begin(), heap_.begin() + i, std::greater<Timer>());
    }
  }
  live_ += added;
}

void Timers::Forget(uint32_t node) { due_.erase(node); }

std::optional<Millis> Timers::Next() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().due;
}

void Timers::PopDue(Millis now, const std::function<void(uint32_t node, ContactId contact)>& fire) {
  while (!heap_.empty() && heap_.front().due <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<Timer>());
    const Timer t = heap_.back();
    heap_.pop_back();
    auto it = due_.find(t.node);
    if (it == due_.end()) continue;  // the node was deleted
    PagedVector<Millis>& due = it->second;
    if (t.contact >= due.size() || due[t.contact] != t.due) continue;  // superseded
    due[t.contact] = kNoChange;
    fire(t.node, t.contact);
  }
}

void Timers::Compact() {
  heap_.clear();
  for (const auto& [node, due] : due_) {
    for (size_t c = 0; c < due.size(); ++c) {
      if (due[c] != kNoChange) heap_.push_back(Timer{due[c], node, c});
    }
  }
  live_ = heap_.size();
  std::make_heap(heap_.begin(), heap_.end(), std::greater<Timer>());
}

std::optional<Millis> Timers::DueOf(uint32_t node, ContactId contact) const {
  auto it = due_.find(node);
  if (it == due_.end() || contact >= it->second.size() || it->second[contact] == kNoChange) {
    return std::nullopt;
  }
  return it->second[contact];
}

void Timers::DeclareColumns(const std::function<std::string(uint32_t node)>& path_of,
                            DerivedColumns* out) const {
  std::vector<uint32_t> nodes;
  for (const auto& [node, due] : due_) nodes.push_back(node);
  std::sort(nodes.begin(), nodes.end());
  for (uint32_t node : nodes) {
    out->Add(path_of(node) + "/due", kDueColumn, PagedBytes(due_.at(node)));
  }
  out->Add("timers/heap", kTimerHeapColumn, heap_.capacity() * sizeof(Timer));
}

}  // namespace segmenta

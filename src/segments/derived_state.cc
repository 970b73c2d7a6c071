#include "segments/derived_state.h"

namespace segmenta {

void DerivedColumns::Add(std::string name, std::string_view what, uint64_t bytes) {
  columns_.push_back({std::move(name), std::string(what), bytes});
}

uint64_t DerivedColumns::bytes() const {
  uint64_t total = 0;
  for (const DerivedColumn& c : columns_) total += c.bytes;
  return total;
}

uint64_t DerivedColumns::bytes(std::string_view what) const {
  uint64_t total = 0;
  for (const DerivedColumn& c : columns_) {
    if (c.what == what) total += c.bytes;
  }
  return total;
}

}  // namespace segmenta

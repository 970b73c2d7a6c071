#include "eval/row_bits.h"

#include <cstring>
#include <string>

namespace segmenta {

void RowBits::SetAll(const Roaring& bitmap) {
  roaring_iterate(
      &bitmap.roaring,
      [](uint32_t row, void* self) {
        RowBits& bits = *static_cast<RowBits*>(self);
        if (row >= bits.n_) return false;  // in order: the rest are larger
        bits.set(row);
        return true;
      },
      this);
}

// Built as Roaring's portable serialization (a dense chunk is copied whole as a bitset
// container, a sparse one listed) and read back, which is several times faster than adding
// the rows one by one.
Roaring RowBits::ToRoaring() const {
  static_assert(std::endian::native == std::endian::little, "the format is little-endian");
  constexpr size_t kChunkWords = 1024;  // 65,536 rows: one container
  constexpr uint32_t kArrayMax = 4096;  // above this, a container is a bitset
  struct Chunk {
    uint16_t key;
    uint32_t cardinality;
  };
  std::vector<Chunk> chunks;
  for (size_t first = 0; first < words_.size(); first += kChunkWords) {
    uint32_t cardinality = 0;
    const size_t end = std::min(words_.size(), first + kChunkWords);
    for (size_t w = first; w < end; ++w) cardinality += std::popcount(words_[w]);
    if (cardinality > 0)
      chunks.push_back({static_cast<uint16_t>(first / kChunkWords), cardinality});
  }
  // Cookie and count, then each container's key and cardinality - 1, then its offset.
  size_t size = 8 + chunks.size() * 8;
  for (const Chunk& c : chunks) size += c.cardinality > kArrayMax ? 8192 : 2 * c.cardinality;
  std::string buffer(size, '\0');
  char* out = buffer.data();
  auto put = [&](auto v) {
    std::memcpy(out, &v, sizeof(v));
    out += sizeof(v);
  };
  put(uint32_t{12346});  // SERIAL_COOKIE_NO_RUNCONTAINER
  put(static_cast<uint32_t>(chunks.size()));
  for (const Chunk& c : chunks) {
    put(c.key);
    put(static_cast<uint16_t>(c.cardinality - 1));
  }
  uint32_t offset = static_cast<uint32_t>(8 + chunks.size() * 8);
  for (const Chunk& c : chunks) {
    put(offset);
    offset += c.cardinality > kArrayMax ? 8192 : 2 * c.cardinality;
  }
  for (const Chunk& c : chunks) {
    const size_t first = size_t{c.key} * kChunkWords;
    const size_t end = std::min(words_.size(), first + kChunkWords);
    if (c.cardinality > kArrayMax) {
      std::memcpy(out, words_.data() + first, (end - first) * 8);
      out += 8192;
      continue;
    }
    for (size_t w = first; w < end; ++w) {
      for (uint64_t m = words_[w]; m != 0; m &= m - 1) {
        put(static_cast<uint16_t>((w - first) * 64 + std::countr_zero(m)));
      }
    }
  }
  return Roaring::readSafe(buffer.data(), buffer.size());
}

}  // namespace segmenta

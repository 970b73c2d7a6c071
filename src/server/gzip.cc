#include "server/gzip.h"

#include <zlib.h>

#include <algorithm>

#include "fmt/format.h"

namespace segmenta {
namespace {

// zlib's z_stream counts in uInt; feed and drain it in chunks no larger than this.
constexpr size_t kChunk = 64 * 1024;

}  // namespace

absl::StatusOr<std::string> GzipInflate(std::string_view compressed, size_t max_bytes) {
  z_stream z{};
  // 15 + 32: the largest window, and detect the gzip or zlib header automatically.
  if (inflateInit2(&z, 15 + 32) != Z_OK) return absl::InternalError("zlib: inflateInit2 failed");
  std::string out;
  const auto* next = reinterpret_cast<const Bytef*>(compressed.data());
  size_t left = compressed.size();
  char buffer[kChunk];
  absl::Status status;
  bool stream_end = false;
  while (true) {
    if (z.avail_in == 0 && left > 0) {
      size_t n = std::min(left, kChunk);
      z.next_in = const_cast<Bytef*>(next);
      z.avail_in = static_cast<uInt>(n);
      next += n;
      left -= n;
    }
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    int rc = inflate(&z, Z_NO_FLUSH);
    size_t produced = sizeof(buffer) - z.avail_out;
    if (out.size() + produced > max_bytes) {
      status = absl::ResourceExhaustedError(
          fmt::format("the body inflates to more than {} bytes", max_bytes));
      break;
    }
    out.append(buffer, produced);
    if (rc == Z_STREAM_END) {
      stream_end = true;
      if (z.avail_in == 0 && left == 0) break;
      // Another gzip member follows (RFC 1952 allows several).
      if (inflateReset(&z) != Z_OK) {
        status = absl::InternalError("zlib: inflateReset failed");
        break;
      }
      stream_end = false;
      continue;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && left == 0) {
      status = absl::InvalidArgumentError("the gzip body is truncated");
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      status = absl::InvalidArgumentError(
          fmt::format("the gzip body is corrupt: {}", z.msg != nullptr ? z.msg : "bad data"));
      break;
    }
  }
  inflateEnd(&z);
  if (!status.ok()) return status;
  if (!stream_end) return absl::InvalidArgumentError("the gzip body is truncated");
  return out;
}

}  // namespace segmenta

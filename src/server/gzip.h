// gzip for request bodies: SDKs may send `Content-Encoding: gzip`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace segmenta {

// Inflates `compressed`, a gzip stream (several concatenated members allowed) or a zlib
// stream, the header telling which. Stops as soon as the output would pass `max_bytes`, so
// a small "gzip bomb" cannot make it allocate more than that.
// Errors: InvalidArgument for corrupt, truncated or trailing data; ResourceExhausted when
// the inflated data is larger than `max_bytes`. Thread-safe.
absl::StatusOr<std::string> GzipInflate(std::string_view compressed, size_t max_bytes);

}  // namespace segmenta

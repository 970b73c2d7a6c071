// A vector that grows without moving what it holds.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace segmenta {

// A vector indexed by contact id that grows a page of 4,096 elements at a time. Growing never
// moves the elements already there: a std::vector that doubles copies all of them, which for
// the audience engine's per-contact state (a timer per contact for each of 100 contact
// groups) is 800 MB at a million contacts, copied while the writer holds readers off.
// Elements are not contiguous across pages, so this is for state read one contact at a time;
// the profile table's columns, which the batch evaluator scans, stay std::vectors and grow
// before readers are held off instead (VectorGrowth). Not thread-safe.
template <typename T>
class PagedVector {
 public:
  static constexpr size_t kPageBits = 12;
  static constexpr size_t kPage = size_t{1} << kPageBits;

  PagedVector() = default;
  PagedVector(PagedVector&& other) noexcept
      : pages_(std::move(other.pages_)), size_(std::exchange(other.size_, 0)) {}
  PagedVector& operator=(PagedVector&& other) noexcept {
    pages_ = std::move(other.pages_);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Element i; i < size().
  const T& operator[](size_t i) const { return pages_[i >> kPageBits][i & (kPage - 1)]; }
  T& operator[](size_t i) { return pages_[i >> kPageBits][i & (kPage - 1)]; }

  // Makes the size n: elements past the old size are `fill`; shrinking keeps the pages, and
  // growing again refills what it exposes. Elements below min(n, size()) do not move.
  void resize(size_t n, const T& fill) {
    while (pages_.size() * kPage < n) pages_.push_back(std::make_unique_for_overwrite<T[]>(kPage));
    for (size_t i = size_; i < n; ++i) (*this)[i] = fill;
    size_ = n;
  }
  // n elements, all `fill`.
  void assign(size_t n, const T& fill) {
    size_ = 0;
    resize(n, fill);
  }
  // No elements, and no pages.
  void clear() {
    pages_.clear();
    size_ = 0;
  }

  friend bool operator==(const PagedVector& a, const PagedVector& b) {
    if (a.size_ != b.size_) return false;
    for (size_t i = 0; i < a.size_; ++i) {
      if (!(a[i] == b[i])) return false;
    }
    return true;
  }

 private:
  std::vector<std::unique_ptr<T[]>> pages_;
  size_t size_ = 0;
};

}  // namespace segmenta

// A vector that grows by remapping its pages instead of copying them.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace segmenta {

// A contiguous vector of trivially copyable elements in memory mapped from the kernel, for
// a buffer of hundreds of megabytes that is filled, emptied and filled again. A std::vector
// that doubles copies every element into fresh memory, and each fresh page costs a page
// fault and the kernel's zeroing: filling a bulk load's 400 MB of entries from empty faulted
// in about 800 MB. Here growing moves the page tables (mremap), so an element is written
// once and each page is faulted in once; clear() keeps the pages for the next fill.
// Element pointers and iterators are invalidated by growth, as a std::vector's. Not
// thread-safe. Linux only (mremap).
template <typename T>
class MappedVector {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  MappedVector() = default;
  MappedVector(MappedVector&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)),
        bytes_(std::exchange(other.bytes_, 0)) {}
  MappedVector& operator=(MappedVector&& other) noexcept {
    if (this != &other) {
      Unmap();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  ~MappedVector() { Unmap(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Elements that fit before the next growth.
  size_t capacity() const { return capacity_; }

  // The first element is at the start of a page (mapped memory), as O_DIRECT I/O needs;
  // null before the first growth.
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }

  // Appends `value`. Throws std::bad_alloc, as std::vector, when the kernel refuses memory.
  void push_back(const T& value) {
    if (size_ == capacity_) Grow();
    std::memcpy(static_cast<void*>(data_ + size_), &value, sizeof(T));
    ++size_;
  }
  // Appends `values[0..n)`. Throws std::bad_alloc as push_back.
  void append(const T* values, size_t n) {
    while (capacity_ - size_ < n) Grow();
    if (n > 0) std::memcpy(static_cast<void*>(data_ + size_), values, n * sizeof(T));
    size_ += n;
  }
  // Drops the elements from `n` on; n <= size(). Keeps the pages.
  void truncate(size_t n) { size_ = n; }
  // No elements; the pages stay mapped and faulted in, for the next fill.
  void clear() { size_ = 0; }

 private:
  // The first mapping: 64 KiB, then doubled.
  static constexpr size_t kFirstBytes = size_t{64} << 10;

  void Grow() {
    const size_t bytes = bytes_ == 0 ? kFirstBytes : bytes_ * 2;
    void* p = data_ == nullptr
                  ? mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                  : mremap(data_, bytes_, bytes, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<T*>(p);
    bytes_ = bytes;
    capacity_ = bytes / sizeof(T);
  }
  void Unmap() {
    if (data_ != nullptr) munmap(data_, bytes_);
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  size_t bytes_ = 0;  // mapped
};

}  // namespace segmenta

#include "collect/csv_reader.h"

#include <algorithm>
#include <utility>

#include "fmt/format.h"

namespace segmenta {

CsvReader::CsvReader(ReadFn read, CsvOptions options)
    : read_(std::move(read)), options_(options), delimiter_(options.delimiter) {
  options_.chunk_bytes = std::max<size_t>(options_.chunk_bytes, 16);
}

CsvReader CsvReader::FromFile(std::FILE* file, CsvOptions options) {
  return CsvReader([file](char* buffer, size_t size) { return std::fread(buffer, 1, size, file); },
                   options);
}

bool CsvReader::Fill(size_t n) {
  if (!started_) {
    started_ = true;
    // A UTF-8 byte order mark (Excel writes one) is not part of the first field.
    if (Fill(3) && buffer_.compare(pos_, 3, "\xEF\xBB\xBF") == 0) pos_ += 3;
  }
  while (buffer_.size() - pos_ < n && !eof_) {
    // Keep the unread bytes only: every byte before pos_ has been consumed.
    buffer_.erase(0, pos_);
    pos_ = 0;
    const size_t kept = buffer_.size();
    buffer_.resize(kept + options_.chunk_bytes);
    const size_t got = read_(buffer_.data() + kept, options_.chunk_bytes);
    buffer_.resize(kept + got);
    bytes_read_ += got;
    if (got == 0) eof_ = true;
  }
  return buffer_.size() - pos_ >= n;
}

absl::Status CsvReader::Error(int64_t line, std::string reason) {
  error_line_ = line;
  error_reason_ = std::move(reason);
  return absl::InvalidArgumentError(fmt::format("line {}: {}", line, error_reason_));
}

char CsvReader::DetectDelimiter() {
  // Counts over the header line, read whole (it may span chunks) up to max_record_bytes.
  size_t counts[3] = {0, 0, 0};  // ',' ';' '\t'
  bool quoted = false;
  for (size_t i = 0; i <= options_.max_record_bytes && Fill(i + 1); ++i) {
    const char c = buffer_[pos_ + i];
    if (c == '"') {
      quoted = !quoted;
    } else if (!quoted) {
      if (c == '\n') break;
      if (c == ',') ++counts[0];
      if (c == ';') ++counts[1];
      if (c == '\t') ++counts[2];
    }
  }
  if (counts[1] > counts[0] && counts[1] >= counts[2]) return ';';
  if (counts[2] > counts[0] && counts[2] > counts[1]) return '\t';
  return ',';
}

absl::Status CsvReader::ReadHeader() {
  if (delimiter_ == 0) delimiter_ = DetectDelimiter();
  CsvRecord record;
  auto more = ReadRecord(&record);
  if (!more.ok()) return more.status();
  if (!*more) return Error(1, "empty file: expected a header line");
  header_ = std::move(record.fields);
  for (std::string& name : header_) {
    // Trim spaces around column names ("id, email").
    size_t b = name.find_first_not_of(" \t");
    size_t e = name.find_last_not_of(" \t");
    name = b == std::string::npos ? std::string() : name.substr(b, e - b + 1);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> CsvReader::Next(CsvRecord* record) {
  if (delimiter_ == 0) delimiter_ = DetectDelimiter();
  auto more = ReadRecord(record);
  if (!more.ok() || !*more) return more;
  if (!header_.empty() && record->fields.size() != header_.size()) {
    return Error(record->line, fmt::format("{} field{}, the header has {}", record->fields.size(),
                                           record->fields.size() == 1 ? "" : "s", header_.size()));
  }
  return true;
}

absl::StatusOr<bool> CsvReader::ReadRecord(CsvRecord* record) {
  if (delimiter_ == 0) delimiter_ = ',';
  const char delim = delimiter_;
  // Skip blank lines.
  while (Fill()) {
    char c = buffer_[pos_];
    if (c == '\n') {
      ++pos_;
      ++line_;
    } else if (c == '\r' && Fill(2) && buffer_[pos_ + 1] == '\n') {
      pos_ += 2;
      ++line_;
    } else {
      break;
    }
  }
  if (!Fill()) return false;

  record->line = line_;
  std::vector<std::string>& fields = record->fields;
  size_t count = 0;
  std::string field;
  size_t record_bytes = 0;  // of the fields before `field`
  auto push = [&] {
    record_bytes += field.size();
    if (count < fields.size()) {
      fields[count].swap(field);
    } else {
      fields.push_back(std::move(field));
    }
    ++count;
    field.clear();
  };
  // Most likely a quote that was never closed, which swallows the rest of the input: the
  // reader goes to its end.
  auto too_long = [&] {
    eof_ = true;
    pos_ = buffer_.size();
    return Error(record->line, fmt::format("record longer than {} bytes (an unclosed quote?)",
                                           options_.max_record_bytes));
  };
  auto finish = [&]() -> absl::StatusOr<bool> {
    push();
    fields.resize(count);
    if (record_bytes > options_.max_record_bytes) return too_long();
    return true;
  };

  enum State { kStart, kUnquoted, kQuoted, kAfterQuote } state = kStart;
  while (true) {
    if (!Fill()) {
      if (state == kQuoted) {
        return Error(record->line, "unterminated quoted field (the closing '\"' is missing)");
      }
      return finish();
    }
    if (record_bytes + field.size() > options_.max_record_bytes) return too_long();
    char c = buffer_[pos_];
    switch (state) {
      case kStart:
        if (c == '"') {
          ++pos_;
          state = kQuoted;
          continue;
        }
        state = kUnquoted;
        [[fallthrough]];
      case kUnquoted: {
        // Copy the run of ordinary bytes at once.
        size_t end = pos_;
        while (end < buffer_.size()) {
          char d = buffer_[end];
          if (d == delim || d == '\n' || d == '\r') break;
          ++end;
        }
        field.append(buffer_, pos_, end - pos_);
        pos_ = end;
        if (pos_ >= buffer_.size()) continue;
        c = buffer_[pos_++];
        if (c == delim) {
          push();
          state = kStart;
        } else if (c == '\n') {
          ++line_;
          return finish();
        } else {  // '\r': a line end when followed by '\n', else data
          if (Fill() && buffer_[pos_] == '\n') {
            ++pos_;
            ++line_;
            return finish();
          }
          field.push_back('\r');
        }
        break;
      }
      case kQuoted: {
        size_t end = pos_;
        while (end < buffer_.size() && buffer_[end] != '"' && buffer_[end] != '\n') ++end;
        field.append(buffer_, pos_, end - pos_);
        pos_ = end;
        if (pos_ >= buffer_.size()) continue;
        c = buffer_[pos_++];
        if (c == '\n') {
          ++line_;
          field.push_back('\n');
        } else {
          state = kAfterQuote;
        }
        break;
      }
      case kAfterQuote:
        ++pos_;
        if (c == '"') {  // a doubled quote stands for one
          field.push_back('"');
          state = kQuoted;
        } else if (c == delim) {
          push();
          state = kStart;
        } else if (c == '\n') {
          ++line_;
          return finish();
        } else if (c == '\r' && Fill() && buffer_[pos_] == '\n') {
          ++pos_;
          ++line_;
          return finish();
        } else {
          // Skip the rest of the line so that reading can go on with the next record.
          while (Fill()) {
            if (buffer_[pos_++] == '\n') {
              ++line_;
              break;
            }
          }
          return Error(record->line, fmt::format("unexpected '{}' after a closing quote", c));
        }
        break;
    }
  }
}

}  // namespace segmenta

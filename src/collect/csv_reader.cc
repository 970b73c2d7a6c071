#include "collect/csv_reader.h"

#include <algorithm>
#include <utility>

#include "fmt/format.h"

namespace segmenta {

CsvReader::CsvReader(ReadFn read, CsvOptions options)
    : read_(std::move(read)), options_(options), delimiter_(options.delimiter) {
  options_.chunk_bytes = std::max<size_t>(options_.chunk_bytes, 16);
}

CsvReader CsvReader::FromStream(std::istream* in, CsvOptions options) {
  return CsvReader(
      [in](char* buffer, size_t size) -> size_t {
        if (!*in) return 0;
        in->read(buffer, static_cast<std::streamsize>(size));
        return static_cast<size_t>(in->gcount());
      },
      options);
}

CsvReader CsvReader::FromFile(std::FILE* file, CsvOptions options) {
  return CsvReader([file](char* buffer, size_t size) { return std::fread(buffer, 1, size, file); },
                   options);
}

bool CsvReader::Fill() {
  if (pos_ < buffer_.size()) return true;
  while (!eof_) {
    // Keep nothing: every byte before pos_ has been consumed.
    buffer_.resize(options_.chunk_bytes);
    size_t n = read_(buffer_.data(), buffer_.size());
    buffer_.resize(n);
    pos_ = 0;
    bytes_read_ += n;
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (!started_) {
      started_ = true;
      // A UTF-8 byte order mark (Excel writes one) is not part of the first field.
      if (buffer_.size() >= 3 && buffer_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;
    }
    if (pos_ < buffer_.size()) return true;
  }
  return false;
}

absl::Status CsvReader::Error(int64_t line, std::string reason) {
  error_line_ = line;
  error_reason_ = std::move(reason);
  return absl::InvalidArgumentError(fmt::format("line {}: {}", line, error_reason_));
}

char CsvReader::DetectDelimiter() {
  if (!Fill()) return ',';
  // Make sure the whole header line is in the buffer (it may span chunks).
  size_t counts[3] = {0, 0, 0};  // ',' ';' '\t'
  bool quoted = false;
  size_t i = pos_;
  while (true) {
    if (i >= buffer_.size()) {
      if (eof_ || buffer_.size() - pos_ > options_.max_record_bytes) break;
      std::string more(options_.chunk_bytes, '\0');
      size_t n = read_(more.data(), more.size());
      bytes_read_ += n;
      if (n == 0) {
        eof_ = true;
        break;
      }
      buffer_.append(more.data(), n);
      continue;
    }
    char c = buffer_[i++];
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
    } else if (c == '\r' && pos_ + 1 < buffer_.size() && buffer_[pos_ + 1] == '\n') {
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
  size_t record_bytes = 0;
  auto push = [&] {
    if (count < fields.size()) {
      fields[count].swap(field);
    } else {
      fields.push_back(std::move(field));
    }
    ++count;
    field.clear();
  };
  auto finish = [&] {
    push();
    fields.resize(count);
  };

  enum State { kStart, kUnquoted, kQuoted, kAfterQuote } state = kStart;
  while (true) {
    if (!Fill()) {
      if (state == kQuoted) {
        return Error(record->line, "unterminated quoted field (the closing '\"' is missing)");
      }
      finish();
      return true;
    }
    if (record_bytes > options_.max_record_bytes) {
      eof_ = true;
      pos_ = buffer_.size();
      return Error(record->line, fmt::format("record longer than {} bytes (an unclosed quote?)",
                                             options_.max_record_bytes));
    }
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
        record_bytes += end - pos_;
        pos_ = end;
        if (pos_ >= buffer_.size()) continue;
        c = buffer_[pos_++];
        if (c == delim) {
          push();
          state = kStart;
        } else if (c == '\n') {
          ++line_;
          finish();
          return true;
        } else {  // '\r': a line end when followed by '\n', else data
          if (Fill() && buffer_[pos_] == '\n') {
            ++pos_;
            ++line_;
            finish();
            return true;
          }
          field.push_back('\r');
        }
        break;
      }
      case kQuoted: {
        size_t end = pos_;
        while (end < buffer_.size() && buffer_[end] != '"' && buffer_[end] != '\n') ++end;
        field.append(buffer_, pos_, end - pos_);
        record_bytes += end - pos_;
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
          finish();
          return true;
        } else if (c == '\r' && Fill() && buffer_[pos_] == '\n') {
          ++pos_;
          ++line_;
          finish();
          return true;
        } else {
          // Skip the rest of the line so that reading can go on with the next record.
          int64_t line = line_;
          while (Fill()) {
            if (buffer_[pos_++] == '\n') {
              ++line_;
              break;
            }
          }
          return Error(line, fmt::format("unexpected '{}' after a closing quote", c));
        }
        break;
    }
  }
}

}  // namespace segmenta

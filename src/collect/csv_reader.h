// A streaming RFC 4180 CSV reader: quoted fields (with delimiters, doubled quotes and line
// breaks inside, kept as they are), CRLF or LF line ends (a lone CR is data), a UTF-8 byte
// order mark at the start, and a delimiter detected from the header line (',' ';' or TAB)
// unless given. A quote opens a quoted field only as its first character; elsewhere in an
// unquoted field it is data.
//
// Written here rather than taken from a library because Debian ships no maintained
// streaming CSV library for C++, and what an importer needs (chunked reads of files larger
// than memory, the line number of every record, errors as values) fits in a page.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace segmenta {

struct CsvOptions {
  // Field delimiter; 0 detects it from the header line: the most frequent of ',', ';' and
  // TAB outside quotes (',' when none occurs). Default: 0.
  char delimiter = 0;
  // Bytes read from the input at a time. Default: 1 MiB.
  size_t chunk_bytes = 1 << 20;
  // Largest record accepted, counted as the bytes of its fields; a longer one is an error
  // (it is most likely a quote that was never closed). Default: 16 MiB.
  size_t max_record_bytes = 16 << 20;
};

struct CsvRecord {
  // 1-based line on which the record starts (records may span lines).
  int64_t line = 0;
  std::vector<std::string> fields;
};

// Reads records one at a time from a stream, holding one chunk and one record in memory.
// Not thread-safe.
class CsvReader {
 public:
  // Fills `buffer` with up to `size` bytes; returns how many (0 at the end of input).
  using ReadFn = std::function<size_t(char* buffer, size_t size)>;

  // Reads through `read`, which may return fewer bytes than asked before the end.
  explicit CsvReader(ReadFn read, CsvOptions options = {});
  // Reads from `file`, which must outlive the reader.
  static CsvReader FromFile(std::FILE* file, CsvOptions options = {});

  // Reads the first record as the header (detecting the delimiter first when asked), its
  // names trimmed of spaces and tabs.
  // Errors: InvalidArgument "line 1: empty file: expected a header line" when the input
  // holds no record, or as Next().
  absl::Status ReadHeader();

  // Reads the next record into *record. Returns false at the end of input. Blank lines are
  // skipped; the last line needs no line end. An empty field (quoted or not) is an empty
  // string. After ReadHeader(), a record whose field count differs from the header's is an
  // error.
  // Errors: InvalidArgument "line N: reason", N the line where the record starts (an
  // unterminated quoted field, text after a closing quote, a record over max_record_bytes,
  // a field count that differs from the header's); `record->line` and error_line() are N
  // and error_reason() is the reason. After an unterminated quote or a record over
  // max_record_bytes the reader is at the end of input; after the others, reading goes on
  // with the next record.
  absl::StatusOr<bool> Next(CsvRecord* record);

  const std::vector<std::string>& header() const { return header_; }
  // The delimiter in use (detected by ReadHeader() when it was 0).
  char delimiter() const { return delimiter_; }
  // Bytes consumed from the input so far (for progress).
  uint64_t bytes_read() const { return bytes_read_; }
  // The last error's line and reason (without the "line N: " prefix).
  int64_t error_line() const { return error_line_; }
  const std::string& error_reason() const { return error_reason_; }

 private:
  // Ensures at least `n` unread bytes in the buffer, reading more and keeping those not
  // read yet; false when the input ends before. Skips a byte order mark on first use.
  bool Fill(size_t n = 1);
  // Reads one record's fields with no field-count check.
  absl::StatusOr<bool> ReadRecord(CsvRecord* record);
  absl::Status Error(int64_t line, std::string reason);
  char DetectDelimiter();

  ReadFn read_;
  CsvOptions options_;
  char delimiter_;
  std::string buffer_;
  size_t pos_ = 0;
  bool eof_ = false;
  bool started_ = false;  // BOM handled
  int64_t line_ = 1;      // line of the next unread byte
  uint64_t bytes_read_ = 0;
  std::vector<std::string> header_;
  int64_t error_line_ = 0;
  std::string error_reason_;
};

}  // namespace segmenta

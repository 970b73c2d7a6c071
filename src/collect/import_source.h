// Reads the files `segmenta import` takes, one record at a time, into Messages: contacts and
// accounts from CRM exports (CSV), activities from event logs (JSONL in the Segment message
// format, as `segmenta gen` writes and Segment exports them). Streams: memory does not grow
// with the file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collect/csv_reader.h"
#include "collect/message.h"
#include "collect/parser.h"

namespace segmenta {

enum class ImportFormat {
  // One contact per row: an id column, every other column a trait. Becomes identify.
  kContactsCsv,
  // One account per row: a groupId column, every other column a trait. Becomes group
  // messages that name the account alone.
  kAccountsCsv,
  // One Segment message per line, its `type` field naming its type.
  kActivitiesJsonl,
};

struct ImportOptions {
  ImportFormat format = ImportFormat::kActivitiesJsonl;
  // The CSV column holding each row's id. Default: the first present of "userId",
  // "user_id", "id", "email" (contacts) or "groupId", "group_id", "id" (accounts),
  // compared case-insensitively.
  std::string id_column;
  // What the id column of a contacts CSV holds: "userId", "anonymousId" or "email" (an
  // e-mail becomes the `email` trait and the row's anonymousId, so that the e-mail links
  // it to the contact that has it). Default: "email" when the id column is named so,
  // else "userId".
  std::string id_kind;
  // A CSV column holding when each row was last updated (ISO-8601); it becomes the
  // message's timestamp, so that newer traits win over older ones. Default: none (the
  // import's time).
  std::string timestamp_column;
  // The time given to rows with no timestamp, and the `receivedAt` of every message.
  absl::Time now = absl::UnixEpoch();
  // Size limits for JSONL messages (CSV rows are measured against max_message_bytes too).
  Limits limits;
};

// One record of the input: a message, or why the record at `line` was refused.
struct ImportItem {
  int64_t line = 0;  // 1-based line where the record starts
  // A JSONL line's message has its stored form in `json`, and its properties, context and
  // integrations only there (LineOutput::kStoredJson); a CSV row's has no `json`.
  Message message;
  // Empty when `message` is valid; otherwise the reason, and `message` is to be ignored.
  std::string error;
  // The field at fault, when one is ("userId", "email", the CSV column name).
  std::string field;
};

// Not thread-safe: one reader owns it.
class ImportSource {
 public:
  // Opens `path` ("-" reads stdin) and, for CSV, reads its header.
  // Errors: NotFound / PermissionDenied when the file cannot be opened; InvalidArgument
  // "FILE:LINE: reason" when the header is unusable (empty file, no id column: the error
  // lists the columns found, an unknown timestamp column, an unknown id kind).
  static absl::StatusOr<std::unique_ptr<ImportSource>> Open(const std::string& path,
                                                            ImportOptions options);
  ~ImportSource();

  // Reads the next record into *item. Returns false at the end of the input. A record
  // that cannot be imported is returned with item->error set; reading continues after it.
  // Errors: Internal for a read error of the file itself.
  absl::StatusOr<bool> Next(ImportItem* item);

  // Bytes of the file consumed so far, and its size (0 when unknown, as for stdin).
  uint64_t bytes_read() const;
  uint64_t total_bytes() const { return total_bytes_; }
  // About how many records the file holds: its size times the lines per byte of its first
  // MiB, at most one per 29 bytes (about the shortest message and its line end). 0 when
  // unknown (stdin, a pipe, an empty file). For sizing memory up front: never exact, and
  // wrong for a file whose first lines are unlike the others. Reads without moving the
  // file's position.
  uint64_t EstimatedRecords() const;
  const std::string& path() const { return path_; }

 private:
  ImportSource(std::string path, std::FILE* file, ImportOptions options);
  absl::Status ReadCsvHeader();
  absl::StatusOr<bool> NextCsv(ImportItem* item);
  absl::StatusOr<bool> NextJsonl(ImportItem* item);
  // Points `line_view_` at the next line (without its end): in the read buffer when it is
  // whole there, else copied into `line_`. False at the end of input.
  absl::StatusOr<bool> ReadLine();

  std::string path_;
  std::FILE* file_;
  ImportOptions options_;
  uint64_t total_bytes_ = 0;
  MessageParser parser_;

  // JSONL: a read buffer, the unread part of it, and the current line.
  std::string buffer_;
  size_t buffer_pos_ = 0;
  size_t buffer_end_ = 0;
  bool eof_ = false;
  uint64_t consumed_ = 0;
  int64_t line_number_ = 0;
  std::string line_;
  std::string_view line_view_;
  bool line_padded_ = false;  // line_view_ is in buffer_, followed by kPadding bytes of it
  bool line_too_long_ = false;
  ParseResult parsed_;  // the last line's, kept for its memory

  // CSV: the reader, and which column is what.
  std::unique_ptr<CsvReader> csv_;
  CsvRecord record_;
  int id_index_ = -1;
  int timestamp_index_ = -1;
  std::vector<std::string> trait_names_;  // per column; empty for the id/timestamp columns
};

// The JSON literal a CSV cell stands for: integers and decimals become numbers (but not
// ones with leading zeros such as postal codes "01234", nor beyond double precision),
// "true"/"false" booleans, anything else a string. An empty cell gives "" (no trait).
// Thread-safe.
std::string CsvCellJson(std::string_view cell);

}  // namespace segmenta

#include "collect/import_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <span>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/json_writer.h"
#include "core/time_format.h"
#include "fmt/format.h"

namespace segmenta {
namespace {

// Bytes read from a JSONL file at a time.
constexpr size_t kReadChunkBytes = 4 << 20;
// What EstimatedRecords counts lines in, and about the shortest line a message takes
// (`{"type":"page","userId":"1"}` and its end).
constexpr size_t kEstimateSampleBytes = 1 << 20;
constexpr uint64_t kShortestMessageBytes = 29;

// Debian's Abseil has its own string_view, so its Strip/Equals helpers do not take ours.
std::string_view Trim(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return absl::ascii_tolower(static_cast<unsigned char>(x)) ==
                  absl::ascii_tolower(static_cast<unsigned char>(y));
         });
}

int FindColumn(const std::vector<std::string>& header, std::string_view name) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (SameName(Trim(header[i]), name)) return static_cast<int>(i);
  }
  return -1;
}

// A stable messageId for a CSV row: the same row imported twice is stored once, a changed
// row is imported again.
std::string RowMessageId(ImportFormat format, const std::vector<std::string>& fields) {
  std::string content;
  for (const std::string& field : fields) {
    content += std::to_string(field.size());
    content += ':';
    content += field;
  }
  return DerivedMessageId(format == ImportFormat::kContactsCsv ? "contact" : "account", content);
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

std::string CsvCellJson(std::string_view cell) {
  std::string_view v = Trim(cell);
  if (v.empty()) return {};
  if (v == "true" || v == "false") return std::string(v);
  // A number as JSON writes it, without leading zeros (postal codes, phone numbers and ids
  // such as "007" stay strings) and short enough to survive a double.
  size_t digits_start = v[0] == '-' ? 1 : 0;
  bool numeric = v.size() > digits_start && v.size() <= 17;
  if (numeric) {
    double parsed = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
    numeric = ec == std::errc() && end == v.data() + v.size();
    for (char c : v.substr(digits_start)) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '.') numeric = false;
    }
    std::string_view digits = v.substr(digits_start);
    if (digits.front() == '.' || digits.back() == '.') numeric = false;
    if (digits.size() > 1 && digits[0] == '0' && digits[1] != '.') numeric = false;
  }
  if (numeric) return std::string(v);
  std::string out;
  AppendJsonString(cell, &out);
  return out;
}

ImportSource::ImportSource(std::string path, std::FILE* file, ImportOptions options)
    : path_(std::move(path)), file_(file), options_(std::move(options)), parser_(options_.limits) {}

ImportSource::~ImportSource() {
  if (file_ != nullptr && file_ != stdin) std::fclose(file_);
}

absl::StatusOr<std::unique_ptr<ImportSource>> ImportSource::Open(const std::string& path,
                                                                 ImportOptions options) {
  std::FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    std::string reason = std::strerror(errno);
    if (errno == ENOENT) return absl::NotFoundError(fmt::format("{}: {}", path, reason));
    if (errno == EACCES) return absl::PermissionDeniedError(fmt::format("{}: {}", path, reason));
    return absl::InternalError(fmt::format("{}: {}", path, reason));
  }
  std::unique_ptr<ImportSource> source(new ImportSource(path, file, std::move(options)));
  struct stat st;
  if (file != stdin && fstat(fileno(file), &st) == 0 && S_ISREG(st.st_mode)) {
    source->total_bytes_ = static_cast<uint64_t>(st.st_size);
  }
  if (source->options_.format != ImportFormat::kActivitiesJsonl) {
    absl::Status s = source->ReadCsvHeader();
    if (!s.ok()) return s;
  }
  return source;
}

uint64_t ImportSource::EstimatedRecords() const {
  if (total_bytes_ == 0) return 0;
  std::string sample(std::min<uint64_t>(total_bytes_, kEstimateSampleBytes), '\0');
  const ssize_t n = pread(fileno(file_), sample.data(), sample.size(), 0);
  if (n <= 0) return 0;
  // The whole file's last line may have no end.
  const bool whole = static_cast<uint64_t>(n) == total_bytes_;
  const auto lines = static_cast<uint64_t>(std::count(sample.data(), sample.data() + n, '\n') +
                                           (whole && sample[n - 1] != '\n' ? 1 : 0));
  const uint64_t estimate = static_cast<uint64_t>(
      static_cast<double>(total_bytes_) * static_cast<double>(lines) / static_cast<double>(n));
  return std::min(estimate, total_bytes_ / kShortestMessageBytes + 1);
}

uint64_t ImportSource::bytes_read() const {
  return csv_ != nullptr ? csv_->bytes_read() : consumed_;
}

absl::Status ImportSource::ReadCsvHeader() {
  csv_ = std::make_unique<CsvReader>(CsvReader::FromFile(file_));
  absl::Status s = csv_->ReadHeader();
  if (!s.ok()) {
    return absl::InvalidArgumentError(fmt::format(
        "{}:{}: {}", path_, std::max<int64_t>(csv_->error_line(), 1),
        csv_->error_reason().empty() ? std::string(s.message()) : csv_->error_reason()));
  }
  const std::vector<std::string>& header = csv_->header();
  const bool contacts = options_.format == ImportFormat::kContactsCsv;
  if (options_.id_column.empty()) {
    static constexpr std::string_view kContactIds[] = {"userId", "user_id", "id", "email"};
    static constexpr std::string_view kAccountIds[] = {"groupId", "group_id", "id"};
    for (std::string_view name : contacts ? std::span<const std::string_view>(kContactIds)
                                          : std::span<const std::string_view>(kAccountIds)) {
      id_index_ = FindColumn(header, name);
      if (id_index_ >= 0) break;
    }
  } else {
    id_index_ = FindColumn(header, options_.id_column);
  }
  if (id_index_ < 0) {
    std::string wanted = options_.id_column.empty() ? (contacts ? "userId, user_id, id or email"
                                                                : "groupId, group_id or id")
                                                    : options_.id_column;
    return absl::InvalidArgumentError(
        fmt::format("{}:1: no id column ({}) among the columns {}; name it with --id-column", path_,
                    wanted, absl::StrJoin(header, ", ")));
  }
  if (!options_.timestamp_column.empty()) {
    timestamp_index_ = FindColumn(header, options_.timestamp_column);
    if (timestamp_index_ < 0) {
      return absl::InvalidArgumentError(
          fmt::format("{}:1: no column {} (--timestamp-column) among the columns {}", path_,
                      options_.timestamp_column, absl::StrJoin(header, ", ")));
    }
  }
  if (contacts) {
    std::string id_name(Trim(header[id_index_]));
    if (options_.id_kind.empty())
      options_.id_kind = SameName(id_name, "email") ? "email" : "userId";
    if (options_.id_kind != "userId" && options_.id_kind != "anonymousId" &&
        options_.id_kind != "email") {
      return absl::InvalidArgumentError(fmt::format(
          "unknown id kind '{}': expected userId, anonymousId or email", options_.id_kind));
    }
  }
  trait_names_.resize(header.size());
  for (size_t i = 0; i < header.size(); ++i) {
    if (static_cast<int>(i) == id_index_ || static_cast<int>(i) == timestamp_index_) continue;
    trait_names_[i] = std::string(Trim(header[i]));
    if (trait_names_[i].empty()) trait_names_[i] = fmt::format("column{}", i + 1);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> ImportSource::Next(ImportItem* item) {
  item->error.clear();
  item->field.clear();
  // A line's message replaces it whole (NextJsonl): a row's is built field by field.
  if (options_.format == ImportFormat::kActivitiesJsonl) return NextJsonl(item);
  item->message = Message();
  return NextCsv(item);
}

absl::StatusOr<bool> ImportSource::NextCsv(ImportItem* item) {
  absl::StatusOr<bool> more = csv_->Next(&record_);
  item->line = record_.line;
  if (!more.ok()) {
    item->line = csv_->error_line();
    item->error = csv_->error_reason();
    return true;
  }
  if (!*more) return false;
  if (std::ferror(file_)) return absl::InternalError(fmt::format("{}: read error", path_));
  const std::vector<std::string>& fields = record_.fields;
  const std::vector<std::string>& header = csv_->header();
  std::string id(Trim(fields[id_index_]));
  if (id.empty()) {
    item->field = header[id_index_];
    item->error = fmt::format("empty id in column {}", header[id_index_]);
    return true;
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (!IsValidUtf8(fields[i])) {
      item->field = header[i];
      item->error = fmt::format("column {} is not valid UTF-8", header[i]);
      return true;
    }
  }
  Message& m = item->message;
  m.received_at = options_.now;
  m.timestamp = options_.now;
  if (timestamp_index_ >= 0 && !fields[timestamp_index_].empty()) {
    absl::StatusOr<absl::Time> t = ParseTimestamp(fields[timestamp_index_]);
    if (!t.ok()) {
      item->field = header[timestamp_index_];
      item->error =
          fmt::format("column {}: {}", header[timestamp_index_], std::string(t.status().message()));
      return true;
    }
    m.timestamp = *t;
  }
  JsonWriter traits;
  traits.BeginObject();
  bool has_email_trait = false;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (trait_names_[i].empty()) continue;
    std::string json = CsvCellJson(fields[i]);
    if (json.empty()) continue;
    if (trait_names_[i] == "email") has_email_trait = true;
    traits.Key(trait_names_[i]).Raw(json);
  }
  m.message_id = RowMessageId(options_.format, fields);
  if (options_.format == ImportFormat::kAccountsCsv) {
    m.type = MessageType::kGroup;
    m.group_id = id;
  } else {
    m.type = MessageType::kIdentify;
    if (options_.id_kind == "userId") {
      m.user_id = id;
    } else if (options_.id_kind == "anonymousId") {
      m.anonymous_id = id;
    } else {
      if (id.find('@') == std::string::npos) {
        item->field = header[id_index_];
        item->error = fmt::format("'{}' in column {} is not an e-mail address", id.substr(0, 64),
                                  header[id_index_]);
        return true;
      }
      if (!has_email_trait) traits.Key("email").String(id);
    }
    if (options_.id_kind != "email" && IsPlaceholderId(id)) {
      item->field = header[id_index_];
      item->error =
          fmt::format("'{}' in column {} is a placeholder, not an id", id, header[id_index_]);
      return true;
    }
  }
  traits.EndObject();
  m.traits = traits.Take();
  if (m.traits.size() > options_.limits.max_message_bytes) {
    item->error = fmt::format("the row makes a message of {} bytes, over the limit of {}",
                              m.traits.size(), options_.limits.max_message_bytes);
    return true;
  }
  return true;
}

absl::StatusOr<bool> ImportSource::ReadLine() {
  line_.clear();
  line_too_long_ = false;
  line_padded_ = false;
  bool got_any = false;
  while (true) {
    if (buffer_pos_ == buffer_end_) {
      if (eof_) break;
      // Read into all but the last kPadding bytes: a line read whole from the buffer is
      // followed by as many, and is parsed where it is.
      if (buffer_.empty()) buffer_.resize(kReadChunkBytes + MessageParser::kPadding);
      buffer_end_ = std::fread(buffer_.data(), 1, kReadChunkBytes, file_);
      buffer_pos_ = 0;
      if (buffer_end_ < kReadChunkBytes) {
        if (std::ferror(file_)) return absl::InternalError(fmt::format("{}: read error", path_));
        eof_ = true;
      }
      if (buffer_end_ == 0) break;
    }
    const char* start = buffer_.data() + buffer_pos_;
    const char* newline =
        static_cast<const char*>(std::memchr(start, '\n', buffer_end_ - buffer_pos_));
    size_t n =
        newline != nullptr ? static_cast<size_t>(newline - start) : buffer_end_ - buffer_pos_;
    const size_t taken = n + (newline != nullptr ? 1 : 0);
    buffer_pos_ += taken;
    consumed_ += taken;
    if (!got_any && newline != nullptr) {
      // The whole line is in the buffer: no copy.
      if (n > options_.limits.max_batch_bytes) {
        line_too_long_ = true;
        line_view_ = {};
      } else {
        line_view_ = std::string_view(start, n);
        line_padded_ = true;
      }
      return true;
    }
    got_any = true;
    // A line longer than a message may be is refused without keeping it all in memory.
    if (!line_too_long_) {
      if (line_.size() + n > options_.limits.max_batch_bytes) {
        line_too_long_ = true;
        line_.clear();
      } else {
        line_.append(start, n);
      }
    }
    if (newline != nullptr) break;
  }
  line_view_ = line_;
  return got_any;
}

absl::StatusOr<bool> ImportSource::NextJsonl(ImportItem* item) {
  while (true) {
    absl::StatusOr<bool> more = ReadLine();
    if (!more.ok()) return more.status();
    if (!*more) return false;
    ++line_number_;
    item->line = line_number_;
    if (line_too_long_) {
      item->error = fmt::format("line longer than {} bytes", options_.limits.max_batch_bytes);
      return true;
    }
    std::string_view line = line_view_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (Trim(line).empty()) continue;  // blank lines are skipped
    parser_.ParseLine(line, options_.now, &parsed_,
                      {.output = LineOutput::kStoredJson, .padded = line_padded_});
    if (!parsed_.errors.empty()) {
      const FieldError& e = parsed_.errors.front();
      item->field = e.field;
      item->error = e.field.empty() ? e.reason : fmt::format("{}: {}", e.field, e.reason);
      return true;
    }
    item->message = std::move(parsed_.messages.front());
    return true;
  }
}

}  // namespace segmenta

// `segmenta import contacts|accounts|activities FILE...`: loads CRM exports (CSV) and event
// logs (Segment JSONL) into the data directory, or into a running server with --url.
//
// Exit status: 0 when every record was imported; 2 when some records were refused (each
// reported as FILE:LINE: reason) and the rest imported; 1 when the import could not run or
// stopped (unreadable file, a refused write key, too many errors, a store error).
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>

#include "cli/commands.h"
#include "cli/http_loader.h"
#include "cli/terminal.h"
#include "collect/import_source.h"
#include "fmt/format.h"
#include "ingest/worker.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"
#include "store/store.h"

namespace segmenta {
namespace {

// Messages per submission to the worker in a local import.
constexpr size_t kChunkMessages = 2000;
// Submissions in flight before the reader waits. A submission counts until it is stored, and
// the worker applies every queued one as one commit: with 8, the reader and the worker often
// both waited while the store alone wrote a commit (docs/benchmarks.md, stop 20).
constexpr int kChunksInFlight = 24;
// Refused records printed before the rest are only counted.
constexpr uint64_t kPrintedErrors = 100;

struct ImportFlags {
  std::string kind;  // contacts | accounts | activities
  std::vector<std::string> files;
  std::string id_column;
  std::string id_kind;
  std::string timestamp_column;
  bool dry_run = false;
  std::string url;
  std::string write_key;
  int connections = 4;
  uint64_t max_errors = 1000;
  bool durable = false;
  bool merge_on_email = true;
  uint32_t max_anonymous_ids = 100;
  double buffer_mb = 640;
};

[[noreturn]] void Fail(const std::string& message) {
  fmt::print(stderr, "segmenta import: {}\n", message);
  throw CLI::RuntimeError(1);
}

// Where the messages go: the worker of a local store, a server, or nowhere (dry run).
class Sink {
 public:
  virtual ~Sink() = default;
  // Errors: the failure that stops the import.
  virtual absl::Status Add(Message&& message, int64_t line, const std::string& file) = 0;
  // Waits until everything added is stored. Errors: as Add.
  virtual absl::Status Finish() = 0;
  // Records refused downstream (by the server), as "FILE:LINE: reason".
  virtual std::vector<std::string> Rejected() { return {}; }
  virtual std::string Summary() = 0;
};

class DryRunSink : public Sink {
 public:
  absl::Status Add(Message&&, int64_t, const std::string&) override {
    ++messages_;
    return absl::OkStatus();
  }
  absl::Status Finish() override { return absl::OkStatus(); }
  std::string Summary() override {
    return fmt::format("dry run: {} valid messages, nothing stored", messages_);
  }

 private:
  uint64_t messages_ = 0;
};

class LocalSink : public Sink {
 public:
  // `expected_messages`: about how many the import holds (0: unknown).
  static std::unique_ptr<LocalSink> Open(const CommonOptions& common, const ImportFlags& flags,
                                         uint64_t expected_messages) {
    StoreOptions store_options;
    // Without --durable, the import writes no WAL: it builds table files and adds them to
    // the store (a bulk load), the last ones at the end. An interrupted import is simply
    // run again (every record has a stable messageId).
    store_options.disable_wal = !flags.durable;
    store_options.bulk_load = !flags.durable;
    store_options.bulk_load_buffer_bytes = static_cast<size_t>(flags.buffer_mb * (1 << 20));
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(common.data_dir, store_options);
    if (absl::IsFailedPrecondition(store.status())) {
      Fail(
          fmt::format("{}; import into the running server with --url http://HOST:PORT "
                      "--write-key KEY instead",
                      std::string(store.status().message())));
    }
    if (!store.ok()) Fail(std::string(store.status().message()));
    WorkerOptions options;
    options.durable = flags.durable;
    options.identity.merge_on_email = flags.merge_on_email;
    options.identity.max_anonymous_ids = flags.max_anonymous_ids;
    // This process only writes the store: the server builds its profile table from it.
    options.keep_profiles = false;
    // One submission per commit: its messages and the commit's batch (about 2 MB each) stay in
    // the caches from the reader to the worker to the store's threads. Commits of up to 20,000
    // messages (the server's setting) made a 10M import 3.5 % slower (docs/benchmarks.md).
    options.max_commit_messages = kChunkMessages;
    options.expected_messages = expected_messages;
    absl::StatusOr<std::unique_ptr<Worker>> worker = Worker::Start(store->get(), options);
    if (!worker.ok()) Fail(std::string(worker.status().message()));
    auto sink = std::make_unique<LocalSink>();
    sink->store_ = std::move(*store);
    sink->worker_ = std::move(*worker);
    sink->before_ = sink->worker_->stats();
    return sink;
  }

  // A failure of the worker shows at the next Submit, within kChunkMessages messages: no
  // lock taken per message.
  absl::Status Add(Message&& message, int64_t, const std::string&) override {
    // A CSV row's JSON is built here, on the reader's thread, so that the worker's does not
    // (Message::json); a JSONL line's is built by the parser.
    if (message.json.empty()) message.json = MessageJson(message);
    chunk_.push_back(std::move(message));
    if (chunk_.size() >= kChunkMessages) return Submit();
    return absl::OkStatus();
  }

  absl::Status Finish() override {
    absl::Status submitted = Submit();
    worker_->Drain();
    if (!submitted.ok()) return submitted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!failed_.ok()) return failed_;
    }
    if (!store_->options().disable_wal) return absl::OkStatus();
    return store_->Flush();
  }

  std::string Summary() override {
    WorkerStats after = worker_->stats();
    return fmt::format(
        "{} messages stored, {} duplicates skipped; contacts {} (+{}), merges +{}, accounts {} "
        "(+{})",
        after.activities - before_.activities, after.duplicates - before_.duplicates,
        after.contacts, after.contacts - before_.contacts, after.merges - before_.merges,
        after.accounts, after.accounts - before_.accounts);
  }

 private:
  absl::Status Submit() {
    std::unique_lock<std::mutex> lock(mu_);
    if (chunk_.empty()) return failed_;
    space_cv_.wait(lock, [&] { return in_flight_ < kChunksInFlight; });
    if (!failed_.ok()) return failed_;
    ++in_flight_;
    lock.unlock();
    worker_->Submit(std::move(chunk_), [this](absl::StatusOr<IngestResult> result) {
      std::lock_guard<std::mutex> lock(mu_);
      --in_flight_;
      if (!result.ok() && failed_.ok()) failed_ = result.status();
      space_cv_.notify_one();
    });
    chunk_.clear();
    // Moved out with its memory: sized again, so that it does not grow (moving every
    // message each time) as it fills.
    chunk_.reserve(kChunkMessages);
    return absl::OkStatus();
  }

  std::unique_ptr<Store> store_;
  std::unique_ptr<Worker> worker_;
  WorkerStats before_;
  std::vector<Message> chunk_;
  std::mutex mu_;
  std::condition_variable space_cv_;
  int in_flight_ = 0;
  absl::Status failed_;
};

class RemoteSink : public Sink {
 public:
  static std::unique_ptr<RemoteSink> Start(const ImportFlags& flags) {
    if (flags.write_key.empty()) Fail("--url needs --write-key (a write key of that server)");
    HttpLoadOptions options;
    options.url = flags.url;
    options.write_key = flags.write_key;
    options.connections = flags.connections;
    absl::StatusOr<std::unique_ptr<HttpLoader>> loader = HttpLoader::Start(options);
    if (!loader.ok()) Fail(std::string(loader.status().message()));
    auto sink = std::make_unique<RemoteSink>();
    sink->loader_ = std::move(*loader);
    return sink;
  }

  absl::Status Add(Message&& message, int64_t line, const std::string& file) override {
    if (files_.empty() || files_.back() != file) files_.push_back(file);
    // The line, with the file's index in the high bits, locates a refusal.
    return loader_->Add(TakeMessageJson(&message),
                        (static_cast<int64_t>(files_.size() - 1) << 40) | line);
  }

  absl::Status Finish() override {
    absl::StatusOr<HttpLoadReport> report = loader_->Finish();
    if (!report.ok()) return report.status();
    report_ = *std::move(report);
    return absl::OkStatus();
  }

  std::vector<std::string> Rejected() override {
    std::vector<std::string> out;
    for (const HttpLoadRejection& r : report_.rejected) {
      out.push_back(fmt::format("{}:{}: refused by the server: {}", files_[r.line >> 40],
                                r.line & ((int64_t{1} << 40) - 1), r.reason));
    }
    return out;
  }

  std::string Summary() override {
    return fmt::format("{} messages acknowledged by the server in {} batches ({} retries)",
                       report_.messages, report_.batches, report_.retries);
  }

 private:
  std::unique_ptr<HttpLoader> loader_;
  std::vector<std::string> files_;
  HttpLoadReport report_;
};

ImportFormat FormatOf(const std::string& kind) {
  if (kind == "contacts") return ImportFormat::kContactsCsv;
  if (kind == "accounts") return ImportFormat::kAccountsCsv;
  return ImportFormat::kActivitiesJsonl;
}

void Import(const CommonOptions& common, const ImportFlags& flags) {
  if (spdlog::get("segmenta") == nullptr) {
    spdlog::set_default_logger(spdlog::stderr_color_mt("segmenta"));
  }
  ImportOptions options;
  options.format = FormatOf(flags.kind);
  options.id_column = flags.id_column;
  options.id_kind = flags.id_kind;
  options.timestamp_column = flags.timestamp_column;
  options.now = absl::Now();
  if (options.format == ImportFormat::kContactsCsv && options.id_kind == "email" &&
      !flags.merge_on_email) {
    Fail("--id-kind email links contacts by e-mail, which --no-merge-on-email turns off");
  }

  // Open every file first: a typo in the last name should not leave a half-done import.
  std::vector<std::unique_ptr<ImportSource>> sources;
  for (const std::string& file : flags.files) {
    absl::StatusOr<std::unique_ptr<ImportSource>> source = ImportSource::Open(file, options);
    if (!source.ok()) Fail(std::string(source.status().message()));
    if (options.format == ImportFormat::kContactsCsv && options.id_kind == "email" &&
        !flags.url.empty()) {
      Fail(
          "--id-kind email imports only into a data directory: the Segment API needs a "
          "userId or anonymousId on every message");
    }
    sources.push_back(*std::move(source));
  }

  std::unique_ptr<Sink> sink;
  if (flags.dry_run) {
    sink = std::make_unique<DryRunSink>();
  } else if (!flags.url.empty()) {
    sink = RemoteSink::Start(flags);
  } else {
    uint64_t expected = 0;
    for (const auto& source : sources) expected += source->EstimatedRecords();
    sink = LocalSink::Open(common, flags, expected);
  }

  absl::Time start = absl::Now();
  uint64_t records = 0, refused = 0;
  absl::Status failed;
  for (auto& source : sources) {
    ProgressBar bar(fmt::format("import {}", source->path()), source->total_bytes());
    ImportItem item;
    while (failed.ok()) {
      absl::StatusOr<bool> more = source->Next(&item);
      if (!more.ok()) {
        failed = more.status();
        break;
      }
      if (!*more) break;
      ++records;
      if (!item.error.empty()) {
        ++refused;
        if (refused <= kPrintedErrors) {
          fmt::print(stderr, "{}{}:{}: {}\n", bar.active() ? "\r\x1b[K" : "", source->path(),
                     item.line, item.error);
        }
        if (refused > flags.max_errors) {
          failed = absl::InvalidArgumentError(
              fmt::format("stopping at {}:{}: more than {} refused records (--max-errors)",
                          source->path(), item.line, flags.max_errors));
        }
        continue;
      }
      failed = sink->Add(std::move(item.message), item.line, source->path());
      if ((records & 1023) == 0) {
        bar.Update(source->bytes_read(), fmt::format("{} records", records));
      }
    }
    bar.Finish(fmt::format("{} records", records));
    if (!failed.ok()) break;
  }
  absl::Status finished = sink->Finish();
  if (failed.ok()) failed = finished;
  for (const std::string& line : sink->Rejected()) {
    if (++refused <= kPrintedErrors) fmt::print(stderr, "{}\n", line);
  }
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  fmt::print(stderr, "{} records read, {} refused, in {:.2f} s ({:.0f} records/s)\n", records,
             refused, seconds, seconds > 0 ? static_cast<double>(records) / seconds : 0.0);
  if (refused > kPrintedErrors) {
    fmt::print(stderr, "  ({} refused records not shown)\n", refused - kPrintedErrors);
  }
  fmt::print(stderr, "{}\n", sink->Summary());
  if (!failed.ok()) {
    fmt::print(stderr, "segmenta import: {}\n", std::string(failed.message()));
    throw CLI::RuntimeError(1);
  }
  if (refused > 0) throw CLI::RuntimeError(2);
}

}  // namespace

void AddImportCommand(CLI::App& app, CommonOptions& common) {
  CLI::App* import = app.add_subcommand(
      "import",
      "Import contacts (CSV), accounts (CSV) or activities (Segment JSONL) into the data "
      "directory, or into a running server with --url");
  import->require_subcommand(1);
  struct Kind {
    const char* name;
    const char* help;
  };
  const Kind kinds[] = {
      {"contacts",
       "Contacts CSV: a header row, an id column (userId, user_id, id or email, or "
       "--id-column), every other column a trait"},
      {"accounts",
       "Accounts CSV: a header row, a groupId column (groupId, group_id or id, or "
       "--id-column), every other column an account trait"},
      {"activities", "Segment messages, one JSON object per line, `type` naming each type"},
  };
  for (const Kind& kind : kinds) {
    auto flags = std::make_shared<ImportFlags>();
    flags->kind = kind.name;
    CLI::App* sub = import->add_subcommand(kind.name, kind.help);
    sub->add_option("files", flags->files, "Files to import, in order (- reads stdin)")->required();
    if (flags->kind != "activities") {
      sub->add_option("--id-column", flags->id_column, "Column holding each row's id");
      sub->add_option("--timestamp-column", flags->timestamp_column,
                      "Column holding when the row was last updated (ISO-8601); newer "
                      "traits win");
    }
    if (flags->kind == "contacts") {
      sub->add_option("--id-kind", flags->id_kind,
                      "What the id column holds (default: email for a column named email, "
                      "else userId)")
          ->check(CLI::IsMember({"userId", "anonymousId", "email"}));
    }
    sub->add_flag("--dry-run", flags->dry_run, "Read and validate only; store nothing");
    sub->add_option("--url", flags->url,
                    "Send to a running server (http://HOST:PORT) through /v1/batch instead");
    sub->add_option("--write-key", flags->write_key, "Write key for --url");
    sub->add_option("--connections", flags->connections, "Concurrent connections for --url")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    sub->add_option("--max-errors", flags->max_errors, "Stop after this many refused records")
        ->capture_default_str();
    sub->add_flag("--durable", flags->durable,
                  "Write through the write-ahead log, fsynced as the import goes, as the server "
                  "does (slower); by default the import builds table files and adds them to the "
                  "store as it goes, and an interrupted import is run again");
    sub->add_option("--buffer-mb", flags->buffer_mb,
                    "Memory in MiB for sorting what an import writes besides the activities "
                    "(without --durable; a fraction of a MiB is allowed); a larger buffer "
                    "leaves the store less to compact")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 65536.0));
    sub->add_flag("!--no-merge-on-email", flags->merge_on_email,
                  "Do not link contacts by the email trait (match the server's setting)");
    sub->add_option("--max-anonymous-ids", flags->max_anonymous_ids,
                    "Most anonymous ids per contact (match the server's setting)")
        ->capture_default_str();
    sub->callback([&common, flags]() { Import(common, *flags); });
  }
}

}  // namespace segmenta

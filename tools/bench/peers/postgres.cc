#include "tools/bench/peers/postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <latch>
#include <mutex>
#include <thread>

#include "absl/time/clock.h"
#include "core/status.h"
#include "fmt/format.h"
#include "libpq-fe.h"
#include "simdjson.h"
#include "tools/bench/harness/harness.h"

namespace segmenta {
namespace {

constexpr const char* kRunAsUser = "postgres";

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string Trimmed(const char* s) {
  std::string out = s == nullptr ? "" : s;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

absl::StatusOr<Conn> Connect(const std::string& conninfo) {
  Conn conn(PQconnectdb(conninfo.c_str()));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::InternalError(
        fmt::format("cannot connect to PostgreSQL: {}", Trimmed(PQerrorMessage(conn.get()))));
  }
  // NOTICEs ("table does not exist, skipping") would interleave with the bench's output.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return conn;
}

absl::Status ExecOn(PGconn* conn, std::string_view sql) {
  Result r(PQexec(conn, std::string(sql).c_str()));
  ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return absl::InternalError(
        fmt::format("PostgreSQL: {}: {}", sql, Trimmed(PQerrorMessage(conn))));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> QueryOne(PGconn* conn, std::string_view sql) {
  Result r(PQexec(conn, std::string(sql).c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) < 1) {
    return absl::InternalError(
        fmt::format("PostgreSQL: {}: {}", sql, Trimmed(PQerrorMessage(conn))));
  }
  return std::string(PQgetvalue(r.get(), 0, 0));
}

// A free TCP port on 127.0.0.1 (the kernel's pick; racy, so Start retries).
absl::StatusOr<int> FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(fmt::format("socket: {}", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError(fmt::format("bind 127.0.0.1:0: {}", strerror(errno)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// Extracts messageIds from JSONL lines. Not thread-safe.
class MessageIdReader {
 public:
  // The line's top-level "messageId" string, or "" when it has none.
  std::string Read(std::string_view line) {
    if (buffer_.size() < line.size() + simdjson::SIMDJSON_PADDING) {
      buffer_.resize(2 * line.size() + simdjson::SIMDJSON_PADDING);
    }
    std::memcpy(buffer_.data(), line.data(), line.size());
    simdjson::padded_string_view view(buffer_.data(), line.size(), buffer_.size());
    simdjson::ondemand::document doc;
    if (parser_.iterate(view).get(doc) != simdjson::SUCCESS) return "";
    std::string_view id;
    if (doc["messageId"].get_string().get(id) != simdjson::SUCCESS) return "";
    return std::string(id);
  }

 private:
  simdjson::ondemand::parser parser_;
  std::string buffer_;
};

// The messageId of each line, or a generated unique one.
std::vector<std::string> MessageIds(const std::vector<std::string>& lines) {
  MessageIdReader reader;
  std::vector<std::string> ids;
  ids.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string id = reader.Read(lines[i]);
    ids.push_back(id.empty() ? fmt::format("segmenta-bench-line-{}", i) : std::move(id));
  }
  return ids;
}

std::string InsertSql(int rows) {
  std::string sql = "INSERT INTO events (message_id, body) VALUES ";
  for (int i = 0; i < rows; ++i) {
    if (i > 0) sql += ", ";
    sql += fmt::format("(${}, ${}::jsonb)", 2 * i + 1, 2 * i + 2);
  }
  sql += " ON CONFLICT (message_id) DO NOTHING";
  return sql;
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  size_t k = static_cast<size_t>(p * (values.size() - 1) + 0.5);
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresPeer>> PostgresPeer::Start(
    const PostgresPeerOptions& options) {
  std::string initdb = options.bin_dir + "/initdb";
  std::string postgres = options.bin_dir + "/postgres";
  if (access(initdb.c_str(), X_OK) != 0 || access(postgres.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        fmt::format("PostgreSQL server binaries not found in {} (install Debian's postgresql-15; "
                    "scripts/setup does)",
                    options.bin_dir));
  }
  std::unique_ptr<PostgresPeer> peer(new PostgresPeer());
  peer->options_ = options;
  std::string templ = TempParent(options.temp_parent) + "/segmenta-bench-pg-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(fmt::format("mkdtemp {}: {}", templ, strerror(errno)));
  }
  peer->dir_ = templ;  // from here on the destructor deletes it
  peer->log_path_ = peer->dir_ + "/postgres.log";
  std::string data = peer->dir_ + "/data";
  if (geteuid() == 0) {
    struct passwd* pw = getpwnam(kRunAsUser);
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, but there is no 'postgres' system user to run PostgreSQL as "
          "(Debian's postgresql package creates it)");
    }
    if (chown(peer->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(fmt::format("chown {}: {}", peer->dir_, strerror(errno)));
    }
  }
  chmod(peer->dir_.c_str(), 0700);

  SpawnOptions spawn;
  spawn.run_as_user = kRunAsUser;
  spawn.stdout_path = peer->dir_ + "/initdb.log";
  spawn.stderr_path = spawn.stdout_path;
  // --no-sync only skips fsyncing the fresh cluster's files at the end of initdb; the
  // server's own durability is unaffected.
  absl::StatusOr<ChildProcess> init =
      ChildProcess::Spawn({initdb, "-D", data, "-U", "segmenta", "--auth=trust", "-E", "UTF8",
                           "--locale=C", "--no-sync"},
                          spawn);
  if (!init.ok()) return init.status();
  int init_status = *init->Wait(absl::Minutes(5));
  if (!ExitedCleanly(init_status)) {
    return absl::InternalError(fmt::format(
        "initdb failed ({}): {}", DescribeWaitStatus(init_status), TailOfFile(spawn.stdout_path)));
  }

  // The port is picked before the server binds it; on a clash, pick another.
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<int> port = FreeLoopbackPort();
    if (!port.ok()) return port.status();
    SpawnOptions server_spawn;
    server_spawn.run_as_user = kRunAsUser;
    server_spawn.stdout_path = peer->log_path_;
    server_spawn.stderr_path = peer->log_path_;
    // A dying bench asks the postmaster for a fast shutdown.
    server_spawn.parent_death_signal = SIGINT;
    absl::StatusOr<ChildProcess> server = ChildProcess::Spawn(
        {postgres, "-D", data, "-p", std::to_string(*port), "-c", "listen_addresses=127.0.0.1",
         "-c", "unix_socket_directories=" + peer->dir_, "-c",
         "shared_buffers=" + options.shared_buffers, "-c", "max_wal_size=" + options.max_wal_size,
         // PostgreSQL's defaults, stated so that no configuration can weaken them.
         "-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on", "-c",
         "max_connections=100"},
        server_spawn);
    if (!server.ok()) return server.status();
    peer->server_ = std::move(*server);
    peer->conninfo_ = fmt::format(
        "host=127.0.0.1 port={} user=segmenta dbname=postgres connect_timeout=10", *port);
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    bool ready = false;
    while (absl::Now() < deadline && peer->server_->Running()) {
      if (PQping(peer->conninfo_.c_str()) == PQPING_OK) {
        ready = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (ready) break;
    std::string log = TailOfFile(peer->log_path_);
    bool clash = !peer->server_->Running() && log.find("could not bind") != std::string::npos;
    peer->server_->Stop(SIGQUIT, absl::Seconds(10));
    peer->server_.reset();
    if (!clash || attempt == 2) {
      return absl::InternalError(fmt::format("PostgreSQL did not start: {}", log));
    }
  }
  SEGMENTA_ASSIGN_OR_RETURN(Conn conn, Connect(peer->conninfo_));
  SEGMENTA_ASSIGN_OR_RETURN(peer->version_, QueryOne(conn.get(), "SELECT version()"));
  return peer;
}

PostgresPeer::~PostgresPeer() { Stop().IgnoreError(); }

absl::Status PostgresPeer::Stop() {
  absl::Status status;
  if (server_.has_value()) {
    // SIGINT: fast shutdown (rolls back open transactions, checkpoints, exits).
    int wait_status = server_->Stop(SIGINT, absl::Seconds(120));
    server_.reset();
    if (!ExitedCleanly(wait_status)) {
      status = absl::InternalError(
          fmt::format("PostgreSQL stopped with {}", DescribeWaitStatus(wait_status)));
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (ec && status.ok()) {
      status = absl::InternalError(fmt::format("cannot delete {}: {}", dir_, ec.message()));
    }
    dir_.clear();
  }
  return status;
}

absl::Status PostgresPeer::Exec(std::string_view sql) {
  SEGMENTA_ASSIGN_OR_RETURN(Conn conn, Connect(conninfo_));
  return ExecOn(conn.get(), sql);
}

absl::StatusOr<std::string> PostgresPeer::Setting(std::string_view name) {
  SEGMENTA_ASSIGN_OR_RETURN(Conn conn, Connect(conninfo_));
  return QueryOne(conn.get(), fmt::format("SHOW {}", name));
}

absl::StatusOr<std::string> PostgresPeer::QueryValue(std::string_view sql) {
  SEGMENTA_ASSIGN_OR_RETURN(Conn conn, Connect(conninfo_));
  return QueryOne(conn.get(), sql);
}

absl::Status PostgresPeer::ResetEventsTable() {
  SEGMENTA_ASSIGN_OR_RETURN(Conn conn, Connect(conninfo_));
  SEGMENTA_RETURN_IF_ERROR(ExecOn(conn.get(), "DROP TABLE IF EXISTS events"));
  SEGMENTA_RETURN_IF_ERROR(ExecOn(conn.get(),
                                  "CREATE TABLE events (id bigserial primary key, "
                                  "message_id text not null unique, body jsonb not null)"));
  // Start each load from a clean WAL position, so that the previous load's checkpoint
  // does not land in this one's timing.
  return ExecOn(conn.get(), "CHECKPOINT");
}

absl::StatusOr<uint64_t> PostgresPeer::CountEvents() {
  SEGMENTA_ASSIGN_OR_RETURN(Conn conn, Connect(conninfo_));
  SEGMENTA_ASSIGN_OR_RETURN(std::string n, QueryOne(conn.get(), "SELECT count(*) FROM events"));
  return std::strtoull(n.c_str(), nullptr, 10);
}

absl::StatusOr<uint64_t> PostgresPeer::EventsTableBytes() {
  SEGMENTA_ASSIGN_OR_RETURN(Conn conn, Connect(conninfo_));
  SEGMENTA_ASSIGN_OR_RETURN(std::string n,
                            QueryOne(conn.get(), "SELECT pg_total_relation_size('events')"));
  return std::strtoull(n.c_str(), nullptr, 10);
}

absl::StatusOr<PeerLoadReport> PostgresPeer::InsertBatched(const std::vector<std::string>& lines,
                                                           int connections, int batch_size) {
  if (connections < 1 || batch_size < 1) {
    return absl::InvalidArgumentError("connections and batch size must be positive");
  }
  std::vector<std::string> ids = MessageIds(lines);
  std::vector<Conn> conns;
  for (int i = 0; i < connections; ++i) {
    SEGMENTA_ASSIGN_OR_RETURN(Conn conn, Connect(conninfo_));
    Result r(
        PQprepare(conn.get(), "batch", InsertSql(batch_size).c_str(), 2 * batch_size, nullptr));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      return absl::InternalError(
          fmt::format("PostgreSQL prepare: {}", Trimmed(PQerrorMessage(conn.get()))));
    }
    conns.push_back(std::move(conn));
  }

  const size_t n = lines.size();
  const size_t batches = (n + batch_size - 1) / batch_size;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  absl::Status first_error;
  std::vector<std::vector<double>> latencies(connections);
  std::latch ready(connections + 1);
  std::latch go(1);

  auto work = [&](int c) {
    PGconn* conn = conns[c].get();
    std::vector<const char*> values(2 * batch_size);
    bool tail_prepared = false;
    ready.count_down();
    go.wait();
    for (;;) {
      size_t b = next.fetch_add(1);
      if (b >= batches || failed.load()) break;
      size_t begin = b * batch_size;
      int rows = static_cast<int>(std::min<size_t>(batch_size, n - begin));
      for (int i = 0; i < rows; ++i) {
        values[2 * i] = ids[begin + i].c_str();
        values[2 * i + 1] = lines[begin + i].c_str();
      }
      const char* name = "batch";
      if (rows != batch_size) {
        name = "tail";
        if (!tail_prepared) {
          Result p(PQprepare(conn, name, InsertSql(rows).c_str(), 2 * rows, nullptr));
          tail_prepared = PQresultStatus(p.get()) == PGRES_COMMAND_OK;
        }
      }
      absl::Time t0 = absl::Now();
      Result r(PQexecPrepared(conn, name, 2 * rows, values.data(), nullptr, nullptr, 0));
      latencies[c].push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) {
          first_error = absl::InternalError(
              fmt::format("PostgreSQL insert: {}", Trimmed(PQerrorMessage(conn))));
        }
        failed = true;
        break;
      }
    }
  };

  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) threads.emplace_back(work, c);
  ready.arrive_and_wait();
  absl::Time start = absl::Now();
  go.count_down();
  for (std::thread& t : threads) t.join();
  absl::Duration elapsed = absl::Now() - start;
  if (!first_error.ok()) return first_error;

  PeerLoadReport report;
  SEGMENTA_ASSIGN_OR_RETURN(report.events, CountEvents());
  report.batches = batches;
  report.elapsed = elapsed;
  report.events_per_second = static_cast<double>(n) / absl::ToDoubleSeconds(elapsed);
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  report.p50_ms = Percentile(all, 0.50);
  report.p99_ms = Percentile(all, 0.99);
  return report;
}

absl::StatusOr<PeerLoadReport> PostgresPeer::CopyFile(const std::string& path) {
  SEGMENTA_ASSIGN_OR_RETURN(Conn conn, Connect(conninfo_));
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::NotFoundError(fmt::format("cannot open {}: {}", path, strerror(errno)));
  }
  std::unique_ptr<FILE, int (*)(FILE*)> closer(file, &std::fclose);
  absl::Time start = absl::Now();
  // CSV with control characters as quote and delimiter: a JSON line (which cannot hold raw
  // control characters) passes through verbatim, backslashes included.
  Result begin(PQexec(conn.get(),
                      "COPY events (message_id, body) FROM STDIN WITH (FORMAT csv, "
                      "DELIMITER e'\\x02', QUOTE e'\\x01')"));
  if (PQresultStatus(begin.get()) != PGRES_COPY_IN) {
    return absl::InternalError(
        fmt::format("PostgreSQL COPY: {}", Trimmed(PQerrorMessage(conn.get()))));
  }
  MessageIdReader reader;
  std::string chunk(4 << 20, '\0');
  std::string carry;  // a partial line at the end of the previous chunk
  std::string out;
  out.reserve(8 << 20);
  uint64_t lines = 0;
  auto add_line = [&](std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return;
    std::string id = reader.Read(line);
    if (id.empty()) id = fmt::format("segmenta-bench-line-{}", lines);
    ++lines;
    out.append(id);
    out.push_back('\x02');
    out.append(line);
    out.push_back('\n');
  };
  auto flush = [&]() -> absl::Status {
    if (out.empty()) return absl::OkStatus();
    if (PQputCopyData(conn.get(), out.data(), static_cast<int>(out.size())) != 1) {
      return absl::InternalError(
          fmt::format("PostgreSQL COPY data: {}", Trimmed(PQerrorMessage(conn.get()))));
    }
    out.clear();
    return absl::OkStatus();
  };
  for (;;) {
    size_t got = std::fread(chunk.data(), 1, chunk.size(), file);
    if (got == 0) break;
    std::string_view data(chunk.data(), got);
    size_t pos = 0;
    while (pos < data.size()) {
      size_t nl = data.find('\n', pos);
      if (nl == std::string_view::npos) {
        carry.append(data.substr(pos));
        break;
      }
      if (!carry.empty()) {
        carry.append(data.substr(pos, nl - pos));
        add_line(carry);
        carry.clear();
      } else {
        add_line(data.substr(pos, nl - pos));
      }
      pos = nl + 1;
    }
    if (out.size() >= (4 << 20)) SEGMENTA_RETURN_IF_ERROR(flush());
  }
  if (!carry.empty()) add_line(carry);
  SEGMENTA_RETURN_IF_ERROR(flush());
  if (PQputCopyEnd(conn.get(), nullptr) != 1) {
    return absl::InternalError(
        fmt::format("PostgreSQL COPY end: {}", Trimmed(PQerrorMessage(conn.get()))));
  }
  Result end(PQgetResult(conn.get()));
  if (PQresultStatus(end.get()) != PGRES_COMMAND_OK) {
    return absl::InternalError(
        fmt::format("PostgreSQL COPY: {}", Trimmed(PQerrorMessage(conn.get()))));
  }
  while (PGresult* extra = PQgetResult(conn.get())) PQclear(extra);
  absl::Duration elapsed = absl::Now() - start;
  PeerLoadReport report;
  report.events = std::strtoull(PQcmdTuples(end.get()), nullptr, 10);
  report.batches = 1;
  report.elapsed = elapsed;
  report.events_per_second = static_cast<double>(lines) / absl::ToDoubleSeconds(elapsed);
  return report;
}

}  // namespace segmenta

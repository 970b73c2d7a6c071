#include "tools/bench/workloads/ceiling.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "collect/parser.h"
#include "core/mapped_vector.h"
#include "fmt/format.h"

namespace segmenta {
namespace {

// O_DIRECT writes whole blocks from aligned memory.
constexpr size_t kBlock = 4096;

HttpResponse Success() {
  HttpResponse response;
  response.body = R"({"success":true})";
  return response;
}

}  // namespace

struct CeilingServer::State {
  CeilingKind kind = CeilingKind::kHttp;
  int fd = -1;
  // Writes bypass the page cache (O_DIRECT), in whole blocks: each round's bodies are padded
  // with spaces to a block. Where the file system refuses O_DIRECT (tmpfs), buffered.
  bool direct = false;
  std::mutex mu;
  std::condition_variable cv;
  MappedVector<char> pending;      // bodies not yet written, guarded by mu
  std::vector<Responder> waiting;  // their requests, guarded by mu
  bool stopping = false;           // guarded by mu
  uint64_t synced = 0;             // guarded by mu
  std::thread syncer;

  void Handle(const HttpRequest& request, Responder respond) {
    if (kind == CeilingKind::kHttp) return respond(Success());
    // One parser per io thread, as the tracking API keeps.
    thread_local MessageParser parser;
    ParseResult parsed = parser.Parse(request.body, Endpoint::kBatch, absl::Now());
    if (!parsed.errors.empty()) {
      const FieldError& error = parsed.errors.front();
      return respond(
          ErrorResponse(400, "invalid_request", fmt::format("{}: {}", error.field, error.reason)));
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      pending.append(request.body.data(), request.body.size());
      pending.push_back('\n');
      waiting.push_back(std::move(respond));
    }
    cv.notify_one();
  }

  // Writes what is pending and fdatasyncs it, then answers its requests: once per round,
  // however many requests arrived meanwhile.
  void SyncLoop() {
    MappedVector<char> writing;
    std::vector<Responder> answering;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return !waiting.empty() || stopping; });
        if (waiting.empty()) return;
        std::swap(writing, pending);
        answering.swap(waiting);
      }
      const size_t bytes = writing.size();
      if (direct) {
        static const std::string kSpaces(kBlock, ' ');
        writing.append(kSpaces.data(), (kBlock - bytes % kBlock) % kBlock);
      }
      int error = 0;
      for (size_t done = 0; done < writing.size();) {
        ssize_t n = ::write(fd, writing.begin() + done, writing.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          error = errno;
          break;
        }
        done += static_cast<size_t>(n);
      }
      if (error == 0 && ::fdatasync(fd) != 0) error = errno;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (error == 0) synced += bytes;
      }
      for (Responder& respond : answering) {
        respond(error == 0
                    ? Success()
                    : ErrorResponse(500, "log_error",
                                    fmt::format("the log was not written: {}", strerror(error))));
      }
      writing.clear();
      answering.clear();
    }
  }
};

absl::StatusOr<std::unique_ptr<CeilingServer>> CeilingServer::Start(CeilingKind kind,
                                                                    const std::string& log_path,
                                                                    int io_threads) {
  auto state = std::make_shared<State>();
  state->kind = kind;
  std::unique_ptr<CeilingServer> server(new CeilingServer(state));
  if (kind == CeilingKind::kValidateAndSync) {
    const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
    state->fd = ::open(log_path.c_str(), flags | O_DIRECT, 0600);
    state->direct = state->fd >= 0;
    if (state->fd < 0 && errno == EINVAL) state->fd = ::open(log_path.c_str(), flags, 0600);
    if (state->fd < 0) {
      return absl::InternalError(fmt::format("{}: {}", log_path, strerror(errno)));
    }
    state->syncer = std::thread([s = state.get()] { s->SyncLoop(); });
  }
  HttpServerOptions http;
  http.port = 0;
  http.io_threads = io_threads;
  absl::StatusOr<std::unique_ptr<HttpServer>> started =
      HttpServer::Start(http, [s = state.get()](const HttpRequest& request, Responder respond) {
        s->Handle(request, std::move(respond));
      });
  if (!started.ok()) return started.status();  // the destructor stops the sync thread
  server->http_ = std::move(*started);
  return server;
}

CeilingServer::CeilingServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

CeilingServer::~CeilingServer() {
  // The sync thread answers the requests in flight: it stops after the HTTP server.
  if (http_ != nullptr) http_->Shutdown();
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
  }
  state_->cv.notify_one();
  if (state_->syncer.joinable()) state_->syncer.join();
  if (state_->fd >= 0) ::close(state_->fd);
}

std::string CeilingServer::url() const { return fmt::format("http://127.0.0.1:{}", http_->port()); }

uint64_t CeilingServer::synced_bytes() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->synced;
}

}  // namespace segmenta

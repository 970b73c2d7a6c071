#include "server/http_server.h"

#include <pthread.h>

#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "core/json_writer.h"
#include "fmt/format.h"
#include "server/gzip.h"
#include "spdlog/spdlog.h"

namespace segmenta {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::string ToString(beast::string_view sv) { return std::string(sv.data(), sv.size()); }

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(d));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::StatusOr<std::string> Decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError(
            fmt::format("bad percent escape at offset {} of '{}'", i, text));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> PercentDecode(std::string_view text) { return Decode(text, false); }

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto name = Decode(part.substr(0, eq), true);
    if (!name.ok()) return name.status();
    auto value =
        Decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1), true);
    if (!value.ok()) return value.status();
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, std::string(name))) return value;
  }
  return {};
}

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view errors_json) {
  JsonWriter w;
  w.BeginObject().Field("error", code).Field("message", message);
  if (!errors_json.empty()) w.Key("errors").Raw(errors_json);
  w.EndObject();
  HttpResponse response;
  response.status = status;
  response.body = w.Take();
  return response;
}

// ---------------------------------------------------------------------------------------------

class Session;

struct HttpServer::Shared {
  Shared(HttpServerOptions o, HttpHandler h)
      : options(std::move(o)), handler(std::move(h)), acceptor(net::make_strand(ioc)) {}

  HttpServerOptions options;
  HttpHandler handler;
  net::io_context ioc;
  tcp::acceptor acceptor;  // on its own strand
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::atomic<uint64_t> served{0};
  std::atomic<bool> stopping{false};

  std::mutex mu;
  std::condition_variable sessions_cv;
  absl::flat_hash_map<Session*, std::weak_ptr<Session>> sessions;  // guarded by mu
  bool shut_down = false;                                          // guarded by mu

  void Accept(const std::shared_ptr<Shared>& self);
};

struct Responder::State {
  std::function<void(HttpResponse)> send;
  std::atomic<bool> done{false};
  ~State() {
    if (!done.exchange(true)) {
      send(ErrorResponse(500, "internal", "the request handler did not respond"));
    }
  }
};

void Responder::operator()(HttpResponse response) const {
  if (state_ != nullptr && !state_->done.exchange(true)) state_->send(std::move(response));
}

// The most a body read asks the socket for at once.
constexpr uint64_t kBodyReadBytes = 64 * 1024;

// One connection. Every member is used only on the connection's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<HttpServer::Shared> shared, tcp::socket socket)
      : shared_(std::move(shared)), stream_(std::move(socket)) {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    remote_ = ec ? "?" : fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
  }

  ~Session() {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->sessions.erase(this);
    shared_->sessions_cv.notify_all();
  }

  // Registers the session and starts reading; closes at once when the server is stopping.
  void Start() {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      if (shared_->stopping.load()) {
        beast::error_code ec;
        stream_.socket().close(ec);
        return;
      }
      shared_->sessions.emplace(this, weak_from_this());
    }
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

  // The connection's strand. Thread-safe.
  net::any_io_executor GetExecutor() { return stream_.get_executor(); }

  // Asks the session to end: now if it waits for a request, else after its response.
  void Stop() {
    stop_requested_ = true;
    if (phase_ == Phase::kIdle && buffer_.size() == 0) Close();
  }

 private:
  enum class Phase { kIdle, kReading, kHandling, kWriting, kClosed };

  const HttpServerOptions& options() const { return shared_->options; }

  void ReadHeader() {
    if (stop_requested_ && buffer_.size() == 0) return Close();
    phase_ = Phase::kIdle;
    // An idle keep-alive connection holds no body-sized buffer (see ReadBody).
    if (buffer_.size() == 0) buffer_.shrink_to_fit();
    parser_.emplace();
    parser_->body_limit(options().max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(options().max_header_bytes));
    stream_.expires_after(ToChrono(options().idle_timeout));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t /*bytes*/) {
    if (phase_ == Phase::kClosed) return;
    started_ = std::chrono::steady_clock::now();
    if (ec) return OnReadError(ec);
    phase_ = Phase::kReading;
    const auto& header = parser_->get();
    method_ = ToString(header.method_string());
    path_ = ToString(header.target());
    if (size_t q = path_.find('?'); q != std::string::npos) path_.resize(q);
    if (parser_->is_done()) return OnRequest();
    if (absl::EqualsIgnoreCase(ToString(header[http::field::expect]), "100-continue")) {
      continue_.emplace(http::status::continue_, header.version());
      stream_.expires_after(ToChrono(options().idle_timeout));
      http::async_write(stream_, *continue_,
                        beast::bind_front_handler(&Session::OnContinue, shared_from_this()));
      return;
    }
    // The body usually came with the header: parse what the buffer holds before asking the
    // socket for more (an asynchronous read would complete through the io_context's queue).
    beast::error_code body_ec;
    buffer_.consume(parser_->put(buffer_.data(), body_ec));
    if (body_ec == http::error::need_more) body_ec = {};
    if (body_ec) return OnReadError(body_ec);
    if (parser_->is_done()) return OnRequest();
    ReadBody();
  }

  void OnContinue(beast::error_code ec, size_t /*bytes*/) {
    continue_.reset();
    if (ec) return Close();
    ReadBody();
  }

  void ReadBody() {
    // Beast reads at most the buffer's free capacity (at least 512 bytes) a time: without
    // room, a 60 KB batch took about 165 recv calls, each through the strand and the timer.
    const uint64_t left = parser_->content_length_remaining().value_or(kBodyReadBytes);
    buffer_.reserve(buffer_.size() + std::min<uint64_t>(left, kBodyReadBytes));
    stream_.expires_after(ToChrono(options().idle_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t /*bytes*/) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return OnReadError(ec);
    OnRequest();
  }

  // A request could not be read: answer when the client can still hear it, else close.
  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return Reply(ErrorResponse(413, "body_too_large",
                                 fmt::format("the request body is larger than {} bytes",
                                             options().max_body_bytes)),
                   /*close=*/true, /*linger=*/true);
    }
    if (ec == http::error::header_limit) {
      return Reply(ErrorResponse(431, "headers_too_large",
                                 fmt::format("the request headers are larger than {} bytes",
                                             options().max_header_bytes)),
                   true, true);
    }
    // The peer closed, timed out or vanished: nobody to answer.
    bool malformed = ec.category() == http::make_error_code(http::error::bad_method).category() &&
                     ec != http::error::end_of_stream && ec != http::error::partial_message;
    if (malformed) {
      return Reply(ErrorResponse(400, "bad_request",
                                 fmt::format("malformed HTTP request: {}", ec.message())),
                   true, true);
    }
    Close();
  }

  void OnRequest() {
    phase_ = Phase::kHandling;
    stream_.expires_never();
    http::request<http::string_body> message = parser_->release();
    parser_.reset();
    version_ = message.version();
    keep_alive_ = message.keep_alive();

    HttpRequest request;
    request.method = std::move(method_);
    method_ = request.method;
    request.target = ToString(message.target());
    size_t q = request.target.find('?');
    request.path = request.target.substr(0, q);
    if (q != std::string::npos) request.query = request.target.substr(q + 1);
    for (const auto& field : message) {
      request.headers.emplace_back(absl::AsciiStrToLower(ToString(field.name_string())),
                                   ToString(field.value()));
    }
    request.remote = remote_;
    request.body = std::move(message.body());

    std::string encoding = absl::AsciiStrToLower(
        absl::StripAsciiWhitespace(ToString(message[http::field::content_encoding])));
    size_t limit = options().max_decoded_body_bytes;
    if (encoding == "gzip" || encoding == "x-gzip" || encoding == "deflate") {
      absl::StatusOr<std::string> inflated = GzipInflate(request.body, limit);
      if (absl::IsResourceExhausted(inflated.status())) {
        return Reply(
            ErrorResponse(413, "body_too_large",
                          fmt::format("the request body inflates to more than {} bytes", limit)));
      }
      if (!inflated.ok()) {
        return Reply(ErrorResponse(400, "bad_encoding", std::string(inflated.status().message())));
      }
      request.body = std::move(*inflated);
    } else if (!encoding.empty() && encoding != "identity") {
      return Reply(ErrorResponse(415, "unsupported_encoding",
                                 fmt::format("Content-Encoding '{}' is not supported; send gzip "
                                             "or an uncompressed body",
                                             encoding)));
    } else if (request.body.size() > limit) {
      return Reply(ErrorResponse(413, "body_too_large",
                                 fmt::format("the request body is larger than {} bytes", limit)));
    }

    auto state = std::make_shared<Responder::State>();
    // A handler that answers at once, on the strand, writes the response without a trip
    // through the io_context's queue; one that answers later, from another thread, posts it.
    state->send = [self = shared_from_this()](HttpResponse response) {
      net::dispatch(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Reply(std::move(response));
      });
    };
    Responder respond(std::move(state));
    try {
      shared_->handler(request, respond);
    } catch (const std::exception& e) {
      spdlog::error("handler of {} {} threw: {}", request.method, request.path, e.what());
      respond(ErrorResponse(500, "internal", "the server failed to handle the request"));
    } catch (...) {
      spdlog::error("handler of {} {} threw", request.method, request.path);
      respond(ErrorResponse(500, "internal", "the server failed to handle the request"));
    }
  }

  // Writes `response`; closes afterwards when asked to, when the client wants it, or when the
  // server is stopping. `linger`: the client may still be sending a body we will not read.
  void Reply(HttpResponse response, bool close = false, bool linger = false) {
    if (phase_ == Phase::kClosed || phase_ == Phase::kWriting) return;
    phase_ = Phase::kWriting;
    bool keep = !close && keep_alive_ && !stop_requested_ && !shared_->stopping.load();
    shared_->served.fetch_add(1, std::memory_order_relaxed);
    Log(response);
    reply_ = Serialize(response, version_, keep);
    stream_.expires_after(ToChrono(options().idle_timeout));
    net::async_write(stream_, net::buffer(reply_),
                     [self = shared_from_this(), keep, linger](beast::error_code ec, size_t) {
                       self->OnWrite(ec, keep, linger);
                     });
  }

  // The response as HTTP/1.x bytes. Written here rather than with Beast's serializer, whose
  // buffer sequences and header tree cost more than the rest of a decision's response path.
  static std::string Serialize(const HttpResponse& response, unsigned version, bool keep) {
    const auto status = static_cast<http::status>(response.status);
    const bool has_body =
        response.status >= 200 && response.status != 204 && response.status != 304;
    std::string out;
    out.reserve(160 + response.body.size());
    fmt::format_to(std::back_inserter(out), "HTTP/1.{} {} {}\r\nServer: segmenta\r\n",
                   version == 10 ? 0 : 1, response.status, ToString(http::obsolete_reason(status)));
    // Header fields never carry a line break (no response splitting from a handler's value).
    auto field = [&out](std::string_view name, std::string_view value) {
      if (name.find_first_of("\r\n") != std::string_view::npos ||
          value.find_first_of("\r\n") != std::string_view::npos) {
        spdlog::warn("response header {} dropped: it holds a line break", name);
        return;
      }
      out.append(name).append(": ").append(value).append("\r\n");
    };
    field("Content-Type", response.content_type);
    for (const auto& [name, value] : response.headers) field(name, value);
    if (has_body) {
      fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", response.body.size());
    }
    if (version == 10 && keep) out += "Connection: keep-alive\r\n";
    if (version != 10 && !keep) out += "Connection: close\r\n";
    out += "\r\n";
    if (has_body) out += response.body;
    return out;
  }

  void Log(const HttpResponse& response) {
    bool server_error = response.status >= 500;
    if (!server_error && !spdlog::should_log(spdlog::level::debug)) return;
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - started_)
                      .count();
    std::string line =
        fmt::format("{} {} {} -> {} in {} us{}{}", remote_, method_.empty() ? "-" : method_,
                    path_.empty() ? "-" : path_, response.status, micros,
                    response.log_note.empty() ? "" : " ", response.log_note);
    if (server_error) {
      spdlog::warn("{}: {}", line, response.body);
    } else {
      spdlog::debug("{}", line);
    }
  }

  void OnWrite(beast::error_code ec, bool keep, bool linger) {
    reply_.clear();
    method_.clear();
    path_.clear();
    if (ec) return Close();
    if (!keep) return linger ? Linger() : Close();
    ReadHeader();
  }

  // Closes our side for writing, then reads and drops what the client still sends (for at
  // most a second or 1 MiB), so it gets our response instead of a connection reset.
  void Linger() {
    phase_ = Phase::kClosed;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(1));
    DrainSome();
  }

  void DrainSome() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t bytes) {
                              self->drained_ += bytes;
                              if (ec || self->drained_ > (1 << 20)) {
                                beast::error_code ignored;
                                self->stream_.socket().close(ignored);
                                return;
                              }
                              self->DrainSome();
                            });
  }

  void Close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  std::shared_ptr<HttpServer::Shared> shared_;  // first member: outlives the stream
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::string reply_;  // the response being written
  std::array<char, 8192> drain_;
  size_t drained_ = 0;
  Phase phase_ = Phase::kIdle;
  bool stop_requested_ = false;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  std::string remote_;
  std::string method_;
  std::string path_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

void HttpServer::Shared::Accept(const std::shared_ptr<Shared>& self) {
  acceptor.async_accept(net::make_strand(ioc), [self](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !self->acceptor.is_open()) return;
    if (ec) {
      // Out of file descriptors or the like: wait a little rather than spin.
      spdlog::warn("accept failed: {}", ec.message());
      auto timer = std::make_shared<net::steady_timer>(self->acceptor.get_executor(),
                                                       std::chrono::milliseconds(100));
      timer->async_wait([self, timer](beast::error_code) {
        if (self->acceptor.is_open()) self->Accept(self);
      });
      return;
    }
    std::make_shared<Session>(self, std::move(socket))->Start();
    self->Accept(self);
  });
}

// ---------------------------------------------------------------------------------------------

HttpServer::HttpServer(HttpServerOptions options, std::shared_ptr<Shared> shared, uint16_t port)
    : options_(std::move(options)), shared_(std::move(shared)), port_(port) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                              HttpHandler handler) {
  if (options.io_threads < 1) {
    return absl::InvalidArgumentError(
        fmt::format("io_threads must be at least 1, not {}", options.io_threads));
  }
  auto shared = std::make_shared<Shared>(options, std::move(handler));

  beast::error_code ec;
  tcp::endpoint endpoint;
  net::ip::address address = net::ip::make_address(options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options.port);
  } else {
    tcp::resolver resolver(shared->ioc);
    auto results =
        resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return absl::InvalidArgumentError(fmt::format("cannot resolve host '{}': {}", options.host,
                                                    ec ? ec.message() : "no address"));
    }
    endpoint = results.begin()->endpoint();
  }

  tcp::acceptor& acceptor = shared->acceptor;
  auto fail = [&](std::string_view what) {
    return absl::UnavailableError(
        fmt::format("cannot {} {}:{}: {}", what, options.host, options.port, ec.message()));
  };
  if (acceptor.open(endpoint.protocol(), ec); ec) return fail("open a socket for");
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) return fail("set up");
  if (acceptor.bind(endpoint, ec); ec) return fail("bind");
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) return fail("listen on");
  uint16_t port = acceptor.local_endpoint(ec).port();
  if (ec) return fail("read the port of");

  shared->work.emplace(net::make_work_guard(shared->ioc));
  shared->Accept(shared);
  for (int i = 0; i < options.io_threads; ++i) {
    shared->threads.emplace_back([ioc = &shared->ioc] {
      pthread_setname_np(pthread_self(), "http-io");
      while (true) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("io thread: {}", e.what());
        }
      }
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(options), std::move(shared), port));
}

HttpServer::~HttpServer() { Shutdown(); }

uint64_t HttpServer::requests_served() const { return shared_->served.load(); }

void HttpServer::Shutdown() {
  std::vector<std::weak_ptr<Session>> sessions;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->shut_down) return;
    shared_->shut_down = true;
    shared_->stopping.store(true);
    for (const auto& [ptr, weak] : shared_->sessions) sessions.push_back(weak);
  }
  std::shared_ptr<Shared> shared = shared_;
  net::post(shared->acceptor.get_executor(), [shared] {
    beast::error_code ec;
    shared->acceptor.close(ec);
  });
  for (const auto& weak : sessions) {
    if (std::shared_ptr<Session> session = weak.lock()) {
      // Sessions are only touched on their strand.
      net::post(session->GetExecutor(), [session] { session->Stop(); });
    }
  }
  {
    std::unique_lock<std::mutex> lock(shared->mu);
    bool done = shared->sessions_cv.wait_for(lock, ToChrono(options_.shutdown_timeout),
                                             [&] { return shared->sessions.empty(); });
    if (!done) {
      spdlog::warn("shutdown: {} connections still busy after {}; closing them",
                   shared->sessions.size(), absl::FormatDuration(options_.shutdown_timeout));
    }
  }
  shared->work.reset();
  shared->ioc.stop();
  for (std::thread& thread : shared->threads) thread.join();
  shared->threads.clear();
  // The stop may leave handlers queued, the cancelled accept among them; it holds the shared
  // state (whose io_context holds it): run them, so that both can be freed.
  shared->ioc.restart();
  shared->ioc.poll();
}

}  // namespace segmenta

#include "server/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "fmt/format.h"

namespace segmenta {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

absl::StatusOr<HttpEndpoint> ParseHttpUrl(std::string_view url) {
  std::string_view rest = url;
  // Debian's Abseil has its own string_view: compare the scheme by hand.
  auto scheme_is = [&](std::string_view scheme) {
    return rest.size() >= scheme.size() &&
           std::equal(scheme.begin(), scheme.end(), rest.begin(),
                      [](char a, char b) { return a == absl::ascii_tolower(b); });
  };
  if (scheme_is("https://")) {
    return absl::InvalidArgumentError(
        fmt::format("{}: https is not supported; give the plain http address of the server", url));
  }
  if (scheme_is("http://")) rest.remove_prefix(7);
  HttpEndpoint endpoint;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    endpoint.path = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
  }
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), endpoint.port);
    if (ec != std::errc() || end != port.data() + port.size() || endpoint.port <= 0 ||
        endpoint.port > 65535) {
      return absl::InvalidArgumentError(fmt::format("{}: bad port '{}'", url, port));
    }
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return absl::InvalidArgumentError(fmt::format("{}: no host", url));
  endpoint.host = std::string(rest);
  return endpoint;
}

struct HttpClient::Connection {
  net::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

HttpClient::HttpClient(HttpEndpoint endpoint) : endpoint_(std::move(endpoint)) {}
HttpClient::~HttpClient() = default;

absl::StatusOr<HttpClientResponse> HttpClient::Request(
    const std::string& method, const std::string& target, const std::string& body,
    const std::map<std::string, std::string>& headers) {
  // Boost.Beast reports errors by exception; none leaves this function.
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (connection_ == nullptr) {
        auto connection = std::make_unique<Connection>();
        net::ip::tcp::resolver resolver(connection->io);
        connection->stream.connect(
            resolver.resolve(endpoint_.host, std::to_string(endpoint_.port)));
        connection_ = std::move(connection);
      }
      http::request<http::string_body> req;
      req.method_string(method);  // any token, also one that is no HTTP method
      req.target(target);
      req.version(11);
      req.set(http::field::host, endpoint_.host);
      req.keep_alive(true);
      for (const auto& [name, value] : headers) req.set(name, value);
      req.body() = body;
      req.prepare_payload();
      http::write(connection_->stream, req);
      http::response_parser<http::string_body> parser;
      parser.body_limit(1ull << 30);
      http::read(connection_->stream, connection_->buffer, parser);
      http::response<http::string_body> res = parser.release();
      HttpClientResponse out{static_cast<int>(res.result_int()), std::move(res.body())};
      for (const auto& field : res) {
        const auto name = field.name_string();
        const auto value = field.value();
        out.headers.emplace(absl::AsciiStrToLower(std::string(name.data(), name.size())),
                            std::string(value.data(), value.size()));
      }
      if (!res.keep_alive()) connection_.reset();
      return out;
    } catch (const std::exception& e) {
      connection_.reset();
      if (attempt == 1) {
        return absl::UnavailableError(fmt::format("{} http://{}:{}{}: {}", method, endpoint_.host,
                                                  endpoint_.port, target, e.what()));
      }
    }
  }
  return absl::UnavailableError("unreachable");
}

std::string BasicAuth(const std::string& write_key) {
  return "Basic " + absl::Base64Escape(write_key + ":");
}

}  // namespace segmenta

#include "testing/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/escaping.h"
#include "fmt/format.h"

namespace segmenta::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

struct HttpClient::Connection {
  net::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

HttpClient::HttpClient(int port) : port_(port) {}
HttpClient::~HttpClient() = default;

absl::StatusOr<HttpResponse> HttpClient::Request(const std::string& method,
                                                 const std::string& target,
                                                 const std::string& body,
                                                 const std::map<std::string, std::string>& headers) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (connection_ == nullptr) {
        connection_ = std::make_unique<Connection>();
        connection_->stream.connect(
            net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
      }
      http::request<http::string_body> req{http::string_to_verb(method), target, 11};
      req.set(http::field::host, "127.0.0.1");
      req.keep_alive(true);
      for (const auto& [name, value] : headers) req.set(name, value);
      req.body() = body;
      req.prepare_payload();
      http::write(connection_->stream, req);
      http::response<http::string_body> res;
      http::read(connection_->stream, connection_->buffer, res);
      HttpResponse out{static_cast<int>(res.result_int()), std::move(res.body())};
      if (!res.keep_alive()) connection_.reset();
      return out;
    } catch (const std::exception& e) {
      connection_.reset();
      if (attempt == 1) {
        return absl::UnavailableError(fmt::format("{} {}: {}", method, target, e.what()));
      }
    }
  }
  return absl::UnavailableError("unreachable");
}

std::string BasicAuth(const std::string& write_key) {
  return "Basic " + absl::Base64Escape(write_key + ":");
}

}  // namespace segmenta::testing

// Test helper: a tiny blocking HTTP/1.1 server on 127.0.0.1 (ephemeral port) that answers each
// request with whatever the test's handler returns. One accept thread, connections served in
// turn. Only the inference tests use it (the server layer has its own front), so it lives here.
#pragma once

#include <utility>  // before Boost.Asio (Boost 1.74 awaitable.hpp needs std::exchange)

#include <atomic>
// g++ 12 at -O2 with sanitizers reports a false -Wmaybe-uninitialized inside Beast's request
// parser (boost::optional in basic_parser.hpp); silenced for these headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tenantai::test_support {

struct FakeRequest {
  std::string target;
  std::string body;
  std::string authorization;
};

struct FakeResponse {
  FakeResponse() = default;
  FakeResponse(int status_code, std::string body_text, std::map<std::string, std::string> extra_headers = {})
      : status(status_code), body(std::move(body_text)), headers(std::move(extra_headers)) {}
  int status = 200;
  std::string body;
  std::map<std::string, std::string> headers;
  std::chrono::milliseconds delay{0};  // wait this long before answering (timeout tests)
};

class FakeModelServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  explicit FakeModelServer(Handler handler)
      : handler_(std::move(handler)), acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { run(); });
  }
  ~FakeModelServer() {
    stop_ = true;
    try {  // wake the blocking accept
      boost::asio::io_context ioc;
      boost::asio::ip::tcp::socket s(ioc);
      s.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
    } catch (...) {
    }
    thread_.join();
  }
  FakeModelServer(const FakeModelServer&) = delete;
  FakeModelServer& operator=(const FakeModelServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::size_t requests() const { return count_.load(); }
  std::vector<FakeRequest> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  void run() {
    namespace http = boost::beast::http;
    while (!stop_) {
      boost::asio::ip::tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) break;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) continue;
      FakeRequest fr{std::string(req.target()), req.body(), std::string(req[http::field::authorization])};
      {
        std::lock_guard lock(mutex_);
        seen_.push_back(fr);
      }
      count_.fetch_add(1);
      FakeResponse out = handler_(fr);
      if (out.delay.count() > 0) std::this_thread::sleep_for(out.delay);
      http::response<http::string_body> res{static_cast<http::status>(out.status), 11};
      res.set(http::field::content_type, "application/json");
      for (const auto& [k, v] : out.headers) res.set(k, v);
      res.body() = out.body;
      res.prepare_payload();
      http::write(socket, res, ec);
      socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    }
  }

  Handler handler_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> count_{0};
  mutable std::mutex mutex_;
  std::vector<FakeRequest> seen_;
  std::thread thread_;
};

}  // namespace tenantai::test_support

#include "tenantai/server/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>

namespace tenantai::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Runs the one pending operation on `ioc` until it completes or `deadline` passes. On timeout
// calls `cancel` and lets the aborted handler run; returns whether it completed in time (the
// operation's own error code is the caller's to check).
template <typename Cancel>
bool finish_by(asio::io_context& ioc, const bool& done, Clock::time_point deadline, Cancel&& cancel) {
  ioc.restart();
  ioc.run_until(deadline);
  if (done) return true;
  cancel();
  ioc.restart();
  ioc.run();
  return false;
}

http::request<http::string_body> make_request(const std::string& host, const std::string& method,
                                              const std::string& target, const std::string& body,
                                              const HttpCallOptions& options) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, host);
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : options.headers) req.set(k, v);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.set(http::field::content_type, options.content_type);
    req.body() = body;
    req.prepare_payload();
  }
  return req;
}

void store_response(const http::response<http::string_body>& res, HttpCallResult& result) {
  result.status = static_cast<int>(res.result_int());
  result.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.headers[name] = std::string(f.value());
  }
}

// One call on `ioc`; false when a step failed or missed the deadline.
bool exchange(asio::io_context& ioc, const std::string& host, std::uint16_t port,
              http::request<http::string_body>& req, Clock::time_point deadline, HttpCallResult& result) {
  beast::error_code ec;
  bool done = false;
  auto complete = [&](beast::error_code e, auto&&...) {
    ec = e;
    done = true;
  };
  tcp::resolver resolver(ioc);
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(host, std::to_string(port), [&](beast::error_code e, tcp::resolver::results_type r) {
    endpoints = std::move(r);
    complete(e);
  });
  if (!finish_by(ioc, done, deadline, [&] { resolver.cancel(); }) || ec) return false;

  beast::tcp_stream stream(ioc);
  auto close = [&] { stream.socket().close(ec); };
  done = false;
  stream.async_connect(endpoints, complete);
  if (!finish_by(ioc, done, deadline, close) || ec) return false;
  done = false;
  http::async_write(stream, req, complete);
  if (!finish_by(ioc, done, deadline, close) || ec) return false;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  done = false;
  http::async_read(stream, buffer, parser, complete);
  if (!finish_by(ioc, done, deadline, close) || ec) return false;
  store_response(parser.get(), result);
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return true;
}

}  // namespace

HttpCallResult http_call(const std::string& host, std::uint16_t port, const std::string& method,
                         const std::string& target, const std::string& body, const HttpCallOptions& options) {
  HttpCallResult result;
  try {
    const auto deadline = Clock::now() + options.timeout;
    asio::io_context ioc;
    auto req = make_request(host, method, target, body, options);
    if (!exchange(ioc, host, port, req, deadline, result)) result = HttpCallResult{};
  } catch (const std::exception&) {
    result = HttpCallResult{};
  }
  return result;
}

HttpCallResult http_call(const std::string& host, std::uint16_t port, const std::string& method,
                         const std::string& target, const std::string& body,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpCallOptions options;
  options.headers = headers;
  return http_call(host, port, method, target, body, options);
}

}  // namespace tenantai::server

#include <catch2/catch.hpp>
#include <tenantai/server/http_server.h>

#include <atomic>
#include <boost/asio.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/http_client.h"

using namespace tenantai;
using namespace tenantai::server;
using tenantai::test_support::http_call;
using tenantai::test_support::raw_exchange;

namespace {

HttpServerOptions small_limits() {
  HttpServerOptions o;
  o.max_body_bytes = 1024;
  o.read_timeout = std::chrono::milliseconds(300);
  return o;
}

void add_echo_routes(HttpServer& server) {
  server.route("POST", "/echo", [](const HttpRequest& r) {
    auto j = nlohmann::json::parse(r.body);  // malformed JSON throws → 400 by the server
    return HttpResponse::json(200, nlohmann::json{{"got", j}, {"token", r.bearer_token()}}.dump());
  });
  server.route("GET", "/query", [](const HttpRequest& r) {
    return HttpResponse::json(200, nlohmann::json{{"q", r.query.count("q") ? r.query.at("q") : ""}}.dump());
  });
  server.route("GET", "/denied", [](const HttpRequest&) -> HttpResponse {
    throw Error(ErrorCode::RateLimited, "slow down");
  });
  server.route("GET", "/crash", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("secret internals"); });
}

}  // namespace

TEST_CASE("routes answer on 127.0.0.1 with JSON bodies", "[server]") {
  HttpServer server(small_limits());
  add_echo_routes(server);
  server.start();
  REQUIRE(server.port() != 0);
  auto r = http_call(server.port(), "POST", "/echo", R"({"a":1})", {{"Authorization", "Bearer tai_abc"}});
  CHECK(r.status == 200);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["got"]["a"] == 1);
  CHECK(j["token"] == "tai_abc");
  auto q = http_call(server.port(), "GET", "/query?q=hello%20world&x=1");
  CHECK(nlohmann::json::parse(q.body)["q"] == "hello world");
  server.stop();
}

TEST_CASE("bad input gets the right 4xx JSON error and the server keeps serving", "[server]") {
  HttpServer server(small_limits());
  add_echo_routes(server);
  server.start();
  const auto port = server.port();

  auto malformed = http_call(port, "POST", "/echo", "{not json");
  CHECK(malformed.status == 400);
  CHECK(nlohmann::json::parse(malformed.body)["error"]["code"] == "InvalidArgument");

  CHECK(http_call(port, "GET", "/nope").status == 404);
  auto wrong_method = http_call(port, "DELETE", "/echo");
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.headers["allow"] == "POST");

  auto oversized = http_call(port, "POST", "/echo", std::string(4096, 'x'));
  CHECK((oversized.status == 413 || oversized.status == 0));  // 413, or closed while still sending

  auto limited = http_call(port, "GET", "/denied");
  CHECK(limited.status == 429);
  CHECK(nlohmann::json::parse(limited.body)["error"]["message"] == "slow down");

  auto crash = http_call(port, "GET", "/crash");
  CHECK(crash.status == 500);
  CHECK(crash.body.find("secret internals") == std::string::npos);

  auto garbage = raw_exchange(port, "THIS IS NOT HTTP\r\n\r\n");
  CHECK(garbage.find("400") != std::string::npos);

  auto big_headers = raw_exchange(port, "GET /query HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  CHECK(big_headers.find("431") != std::string::npos);

  // After all of that, normal requests still work.
  CHECK(http_call(port, "POST", "/echo", R"({"ok":true})").status == 200);
  server.stop();
}

TEST_CASE("a slow client is cut off by the read timeout without blocking others", "[server][concurrency]") {
  HttpServer server(small_limits());
  add_echo_routes(server);
  server.start();
  const auto port = server.port();
  std::string slow_reply;
  std::thread slow([&] {
    // Sends half a request and then nothing: the server answers 408 and closes.
    slow_reply = raw_exchange(port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":", 5000);
  });
  for (int i = 0; i < 5; ++i) CHECK(http_call(port, "GET", "/query?q=1").status == 200);
  slow.join();
  CHECK(slow_reply.find("408") != std::string::npos);
  CHECK(http_call(port, "GET", "/query?q=2").status == 200);
  server.stop();
}

TEST_CASE("graceful stop finishes in-flight requests and then runs shutdown hooks", "[server][concurrency]") {
  HttpServer server;
  std::atomic<bool> handler_started{false};
  server.route("GET", "/slow", [&](const HttpRequest&) {
    handler_started = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return HttpResponse::json(200, R"({"done":true})");
  });
  std::atomic<int> hooks{0};
  server.on_shutdown([&] { ++hooks; });
  server.start();
  const auto port = server.port();
  test_support::HttpResult in_flight;
  std::thread client([&] { in_flight = http_call(port, "GET", "/slow"); });
  while (!handler_started) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server.stop();
  client.join();
  CHECK(in_flight.status == 200);
  CHECK(hooks == 1);
  CHECK(http_call(port, "GET", "/slow").status == 0);  // no longer listening
}

TEST_CASE("graceful stop is bounded: a request outliving the grace period is cancelled, its answer still sent",
          "[server][concurrency]") {
  HttpServer server;
  std::atomic<bool> handler_started{false};
  std::atomic<bool> saw_cancel{false};
  server.route("GET", "/long", [&](const HttpRequest& request) {
    handler_started = true;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!request.cancelled() && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    saw_cancel = request.cancelled();
    return HttpResponse::error(Error(ErrorCode::Unavailable, "server is stopping"));
  });
  server.start();
  const auto port = server.port();
  test_support::HttpResult in_flight;
  std::thread client([&] { in_flight = http_call(port, "GET", "/long"); });
  while (!handler_started) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t cancelled = server.stop(std::chrono::milliseconds(200));
  const auto took = std::chrono::steady_clock::now() - t0;
  client.join();
  CHECK(cancelled == 1);
  CHECK(saw_cancel);
  CHECK(in_flight.status == 503);
  CHECK(took < std::chrono::seconds(10));  // bounded by grace + 1 s, far below the handler's 30 s
  CHECK(http_call(port, "GET", "/long").status == 0);  // no longer listening
}

TEST_CASE("error codes map to HTTP statuses", "[server]") {
  CHECK(http_status_for(ErrorCode::Unauthenticated) == 401);
  CHECK(http_status_for(ErrorCode::PermissionDenied) == 403);
  CHECK(http_status_for(ErrorCode::IsolationViolation) == 403);
  CHECK(http_status_for(ErrorCode::NotFound) == 404);
  CHECK(http_status_for(ErrorCode::BudgetExceeded) == 402);
  CHECK(http_status_for(ErrorCode::RateLimited) == 429);
  auto r = HttpResponse::error(Error(ErrorCode::NotFound, "no \"doc\"\n"));
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["error"]["message"] == "no \"doc\"\n");
}

TEST_CASE("binding a port in use fails with Unavailable", "[server]") {
  HttpServer a;
  a.start();
  HttpServerOptions o;
  o.port = a.port();
  HttpServer b(o);
  try {
    b.start();
    FAIL("second bind succeeded");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Unavailable);
  }
  a.stop();
}

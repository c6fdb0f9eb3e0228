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

namespace {

// A streamed route: `n` chunks "chunk-<i>\n", each after `gap`; reports how it ended.
struct Streamer {
  std::atomic<bool> started{false};
  std::atomic<bool> saw_failure{false};
  std::atomic<int> written{0};
  std::atomic<bool> finished{false};

  void add_route(HttpServer& server, const std::string& path, int n, std::chrono::milliseconds gap) {
    server.route("GET", path, [this, n, gap](const HttpRequest&) {
      return HttpResponse::streamed(200, "application/x-ndjson", [this, n, gap](ResponseWriter& out) {
        started = true;
        for (int i = 0; i < n; ++i) {
          if (!out.write("chunk-" + std::to_string(i) + "\n")) {
            saw_failure = true;
            break;
          }
          ++written;
          std::this_thread::sleep_for(gap);
        }
        finished = true;
      });
    });
  }
};

// A started server with the echo routes and `streamer` at `path`.
std::unique_ptr<HttpServer> streaming_server(Streamer& streamer, const std::string& path, int n,
                                             std::chrono::milliseconds gap, HttpServerOptions options = small_limits()) {
  auto server = std::make_unique<HttpServer>(options);
  add_echo_routes(*server);
  streamer.add_route(*server, path, n, gap);
  server->start();
  return server;
}

std::string get_request(const std::string& path, const std::string& version = "HTTP/1.1") {
  return "GET " + path + " " + version + "\r\nHost: x\r\n\r\n";
}

}  // namespace

TEST_CASE("a streamed response arrives chunked, chunk by chunk, and the connection is kept alive", "[server][stream]") {
  Streamer streamer;
  auto server = streaming_server(streamer, "/stream", 3, std::chrono::milliseconds(50));

  test_support::RawConnection client(server->port());
  client.send(get_request("/stream"));
  // The first chunk is on the wire while the producer is still sleeping before the second.
  REQUIRE(client.read_until("chunk-0\n"));
  CHECK(client.received().find("chunk-2") == std::string::npos);
  REQUIRE(client.read_until("\r\n0\r\n\r\n"));
  const auto response = test_support::parse_chunked(client.received());
  CHECK(response.head.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(response.head.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(response.head.find("Content-Type: application/x-ndjson") != std::string::npos);
  CHECK(response.complete);
  CHECK(response.chunks == std::vector<std::string>{"chunk-0\n", "chunk-1\n", "chunk-2\n"});
  // Same connection: the next request is served.
  client.send(get_request("/query?q=after"));
  CHECK(client.read_until("\"after\""));

  // A whole-body client (Beast's parser) reads the same body.
  auto whole = http_call(server->port(), "GET", "/stream");
  CHECK(whole.status == 200);
  CHECK(whole.body == "chunk-0\nchunk-1\nchunk-2\n");
  server->stop();
}

TEST_CASE("a streamed response to an HTTP/1.0 client is unframed and ends with the connection", "[server][stream]") {
  Streamer streamer;
  auto server = streaming_server(streamer, "/stream", 2, std::chrono::milliseconds(1));
  test_support::RawConnection client(server->port());
  client.send(get_request("/stream", "HTTP/1.0"));
  REQUIRE(client.read_to_end());
  const std::string& raw = client.received();
  CHECK(raw.rfind("HTTP/1.0 200", 0) == 0);
  CHECK(raw.find("chunked") == std::string::npos);
  CHECK(raw.substr(raw.find("\r\n\r\n") + 4) == "chunk-0\nchunk-1\n");
  server->stop();
}

TEST_CASE("a producer that fails before writing gets its error response; after writing, a truncated body",
          "[server][stream]") {
  HttpServer server(small_limits());
  server.route("GET", "/refuse", [](const HttpRequest&) {
    return HttpResponse::streamed(200, "text/plain", [](ResponseWriter&) { throw Error(ErrorCode::NotFound, "nothing to stream"); });
  });
  server.route("GET", "/break", [](const HttpRequest&) {
    return HttpResponse::streamed(200, "text/plain", [](ResponseWriter& out) {
      out.write("partial\n");
      throw std::runtime_error("secret internals");
    });
  });
  add_echo_routes(server);
  server.start();
  auto refused = http_call(server.port(), "GET", "/refuse");
  CHECK(refused.status == 404);
  CHECK(nlohmann::json::parse(refused.body)["error"]["message"] == "nothing to stream");

  test_support::RawConnection client(server.port());
  client.send(get_request("/break"));
  CHECK(client.read_to_end());  // closed by the server...
  const auto broken = test_support::parse_chunked(client.received());
  CHECK(broken.chunks == std::vector<std::string>{"partial\n"});
  CHECK_FALSE(broken.complete);  // ...without the last chunk
  CHECK(client.received().find("secret internals") == std::string::npos);
  CHECK(http_call(server.port(), "GET", "/query?q=1").status == 200);
  server.stop();
}

TEST_CASE("a client that disconnects mid-stream stops the producer and the server keeps serving",
          "[server][stream][concurrency]") {
  Streamer streamer;
  auto server = streaming_server(streamer, "/forever", 100000, std::chrono::milliseconds(1));
  {
    test_support::RawConnection client(server->port());
    client.send(get_request("/forever"));
    REQUIRE(client.read_until("chunk-3\n"));
    client.abort();
  }
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!streamer.finished && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(streamer.finished);
  CHECK(streamer.saw_failure);
  CHECK(streamer.written < 100000);
  CHECK(http_call(server->port(), "GET", "/query?q=next").status == 200);
  CHECK(server->stop(std::chrono::milliseconds(500)) == 0);
}

TEST_CASE("a client that stops reading a stream is cut off by the timeout", "[server][stream][concurrency]") {
  HttpServer server(small_limits());  // 300 ms
  add_echo_routes(server);
  Streamer streamer;
  // 64 KiB chunks: the socket buffers fill within a few writes once the client stops reading.
  server.route("GET", "/flood", [&](const HttpRequest&) {
    return HttpResponse::streamed(200, "application/octet-stream", [&](ResponseWriter& out) {
      const std::string block(64 << 10, 'x');
      while (out.write(block)) ++streamer.written;
      streamer.saw_failure = true;
      streamer.finished = true;
    });
  });
  server.start();
  test_support::RawConnection client(server.port());
  client.send(get_request("/flood"));
  REQUIRE(client.read_until("xxxx"));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!streamer.finished && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(streamer.finished);
  CHECK(http_call(server.port(), "GET", "/query?q=next").status == 200);
  server.stop();
}

TEST_CASE("streams beyond max_streams get 503; stop() cancels a running stream", "[server][stream][concurrency]") {
  HttpServerOptions options = small_limits();
  options.max_streams = 1;
  Streamer streamer;
  auto server = streaming_server(streamer, "/forever", 1000000, std::chrono::milliseconds(2), options);
  test_support::RawConnection client(server->port());
  client.send(get_request("/forever"));
  REQUIRE(client.read_until("chunk-1\n"));
  auto second = http_call(server->port(), "GET", "/forever");
  CHECK(second.status == 503);
  // The client keeps reading while the server stops: the stream is cancelled after the grace.
  std::thread reader([&] { client.read_to_end(10000); });
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(server->stop(std::chrono::milliseconds(200)) == 1);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  reader.join();
  CHECK(streamer.finished);
  CHECK(streamer.saw_failure);
  CHECK_FALSE(test_support::parse_chunked(client.received()).complete);
}

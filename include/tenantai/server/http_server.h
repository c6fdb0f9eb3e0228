// HttpServer: a small embeddable HTTP/1.1 front end on Boost.Beast for tenantai services.
// It owns the listening socket and its I/O threads; routes map (method, path) to handlers.
// Bad input never reaches a handler unchecked: oversized headers/bodies get 413/431, malformed
// requests 400, slow clients are cut off by a per-request read timeout, and every error is a
// JSON body {"error":{"code":...,"message":...}}. A handler may also answer with a streamed body
// (HttpResponse::streamed: chunked transfer encoding, each write flushed), for bundles and
// server-sent events.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/error.h"

namespace tenantai::server {

// One parsed request as handlers see it. Header names are lower-cased.
struct HttpRequest {
  std::string method;                         // "GET", "POST", ...
  std::string target;                         // path + query, as sent
  std::string path;                           // without the query string
  std::map<std::string, std::string> query;   // decoded query parameters
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;
  std::string remote_address;
  // Set by HttpServer::stop() when this request outlives the drain bound. A long handler may
  // poll cancelled() and return early (its client then gets that response, e.g. a 503).
  std::shared_ptr<const std::atomic<bool>> cancel;

  // The header value, or "" if absent.
  std::string header(std::string_view name) const;
  // The token of "Authorization: Bearer <token>", or "" if absent/malformed.
  std::string bearer_token() const;
  // Whether the server has given up waiting for this request (see HttpServer::stop()).
  bool cancelled() const noexcept { return cancel != nullptr && cancel->load(); }
};

// Sends a streamed response body to one client, for the StreamProducer that HttpServer calls
// with it (one writer per response, used from the producer's thread only; it must not be kept
// after the producer returns).
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Sends `chunk` (one HTTP/1.1 chunk) and returns once the socket took it, so every write is
  // flushed; the first write sends the status line and headers before it. Returns false when the
  // client has gone, did not take the bytes within HttpServerOptions::read_timeout, or stop()
  // cancelled the request (HttpRequest::cancelled()); from then on every write returns false at
  // once and the producer should return. An empty chunk sends nothing. Throws only std::bad_alloc.
  virtual bool write(std::string_view chunk) = 0;
  // False once a write has failed (see write()); the producer may poll it between slow steps.
  virtual bool ok() const noexcept = 0;
};

// Writes a streamed body through the writer, then returns. Runs on a thread of its own (never an
// I/O thread), so it may wait on slow work, e.g. a model's next token, without holding up other
// connections; it counts as in flight for stop() until it returns. An exception before its first
// write becomes the usual error response (tenantai::Error → its JSON error, anything else 500);
// after the first write the connection is closed without the last chunk, so the client sees a
// truncated body, never a complete-looking one.
using StreamProducer = std::function<void(ResponseWriter&)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (e.g. Retry-After)
  // Set: the body is ignored and `stream` writes it instead, chunked (for an HTTP/1.0 client:
  // unframed, ended by closing the connection). See StreamProducer.
  StreamProducer stream;

  static HttpResponse json(int status, std::string body);
  // A streamed response: status, content type and headers go out with the producer's first
  // write (or when it returns without writing: an empty body).
  static HttpResponse streamed(int status, std::string content_type, StreamProducer producer);
  // {"error":{"code":"<code>","message":"<message>"}} with the status for the code; an error
  // with a retry hint (e.g. RateLimited) also gets "retry_after_ms" and a Retry-After header.
  static HttpResponse error(const Error& error);
  static HttpResponse error(int status, std::string_view code, std::string_view message);
};

// The HTTP status an ErrorCode maps to (Unauthenticated 401, RateLimited 429, ...).
int http_status_for(ErrorCode code) noexcept;

// Handlers run on the server's I/O threads and may block briefly (a long body is streamed
// instead: HttpResponse::streamed). A tenantai::Error thrown by a
// handler becomes its JSON error response; any other exception a 500 without internals.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string address = "127.0.0.1";  // loopback by default; bind wider only on purpose
  std::uint16_t port = 0;              // 0 = an ephemeral port (see HttpServer::port())
  std::size_t threads = 2;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  // Per request, headers+body; also how long a client may take to accept a response or one
  // chunk of a streamed response before its connection is closed.
  std::chrono::milliseconds read_timeout{std::chrono::seconds(10)};
  std::size_t max_connections = 1024;  // beyond this, new connections are closed at once
  std::size_t max_streams = 64;        // streamed responses at once (a thread each); beyond: 503
};

// Thread-safe: route() before start(); start/stop from any one thread.
class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options = {});
  ~HttpServer();  // stops (gracefully) if running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers a handler for an exact path. Unknown paths → 404, known path + wrong method → 405.
  void route(std::string method, std::string path, HttpHandler handler);

  // Binds and starts serving. Throws Error(Unavailable) if the address cannot be bound.
  void start();

  // The bound port (after start()).
  std::uint16_t port() const noexcept;

  // Graceful stop (drain): closes the listening socket and every idle connection at once,
  // answers a request that arrives on a kept-alive connection 503, lets in-flight requests
  // finish for up to `grace`, then marks them cancelled (HttpRequest::cancelled()) and gives
  // them up to one more second to return; a response they return is still sent. Then closes
  // what is left, joins the I/O threads and runs the shutdown hooks (e.g. audit flush). A
  // handler that ignores cancellation and never returns keeps stop() waiting: a thread cannot
  // be taken from it safely, so the process owner bounds that case itself (rag_server exits
  // through a watchdog). A streamed response counts as in flight until its producer returns;
  // cancelling it makes its writer's writes fail. Returns how many requests were cancelled.
  std::size_t stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  // Hooks run once by stop(), in registration order.
  void on_shutdown(std::function<void()> hook);

  // Requests answered so far (all statuses).
  std::uint64_t requests_served() const noexcept;

  struct Impl;  // opaque; public only so the connection type in the .cpp can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenantai::server

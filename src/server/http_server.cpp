#include "tenantai/server/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace tenantai::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
      i += 2;
    } else if (in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

// A repeated parameter has no single meaning (which one wins is up to each parser on the way):
// returns its name, or "" when every parameter appears once.
std::string parse_query(std::string_view query, std::map<std::string, std::string>& out) {
  std::string repeated;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (!pair.empty()) {
      auto [it, inserted] = out.emplace(percent_decode(pair.substr(0, eq)),
                                        eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1)));
      if (!inserted && repeated.empty()) repeated = it->first;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return repeated;
}

// Headers read as one value: two of them (e.g. two credentials) are refused, never "last wins".
bool single_valued(std::string_view lower_name) {
  static constexpr std::string_view kNames[] = {"authorization", "host",       "content-type", "cookie",
                                                "x-request-id",  "x-api-key", "openai-organization", "openai-project"};
  return std::find(std::begin(kNames), std::end(kNames), lower_name) != std::end(kNames);
}

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
  auto it = headers.find(to_lower(name));
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::bearer_token() const {
  const std::string auth = header("authorization");
  constexpr std::string_view kBearer = "bearer ";
  if (auth.size() <= kBearer.size() || to_lower(auth.substr(0, kBearer.size())) != kBearer) return {};
  std::string token = auth.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  while (!token.empty() && token.back() == ' ') token.pop_back();
  return token;
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::streamed(int status, std::string content_type, StreamProducer producer) {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.stream = std::move(producer);
  return r;
}

namespace {
// {"error":{"code":…,"message":…[,"retry_after_ms":…]}}; invalid UTF-8 in the message is replaced.
std::string error_body(std::string_view code, std::string_view message, long long retry_after_ms) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  if (retry_after_ms > 0) j["error"]["retry_after_ms"] = retry_after_ms;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
}  // namespace

HttpResponse HttpResponse::error(int status, std::string_view code, std::string_view message) {
  return json(status, error_body(code, message, 0));
}

HttpResponse HttpResponse::error(const Error& e) {
  const long long ms = e.retry_after().count();
  HttpResponse r = json(http_status_for(e.code()), error_body(to_string(e.code()), e.message(), ms));
  if (ms > 0) r.headers.emplace_back("Retry-After", std::to_string((ms + 999) / 1000));  // whole seconds, rounded up
  return r;
}

int http_status_for(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::Unauthenticated: return 401;
    case ErrorCode::PermissionDenied: return 403;
    case ErrorCode::IsolationViolation: return 403;
    case ErrorCode::NotFound: return 404;
    case ErrorCode::InvalidArgument: return 400;
    case ErrorCode::RateLimited: return 429;
    case ErrorCode::BudgetExceeded: return 402;
    case ErrorCode::Tampered: return 409;
    case ErrorCode::CryptoFailure: return 500;
    case ErrorCode::StorageFailure: return 500;
    case ErrorCode::AlreadyExists: return 409;
    case ErrorCode::Unavailable: return 503;
    case ErrorCode::DeadlineExceeded: return 504;
    case ErrorCode::TenantUnavailable: return 503;
    case ErrorCode::Internal: return 500;
  }
  return 500;
}

class Session;
class StreamWriter;

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions o) : options(std::move(o)) {}

  HttpServerOptions options;
  std::vector<std::thread> threads;
  std::map<std::string, std::map<std::string, HttpHandler>> routes;  // path → method → handler
  std::vector<std::function<void()>> hooks;
  std::atomic<std::uint64_t> served{0};
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopping{false};
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  std::uint16_t port = 0;
  bool running = false;

  std::mutex inflight_mutex;
  std::condition_variable inflight_cv;
  std::size_t in_flight = 0;

  std::mutex sessions_mutex;
  std::vector<std::weak_ptr<Session>> sessions;

  // Streamed responses' producer threads. A finished one is joined by the next spawn or by stop().
  struct Producer {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex producers_mutex;
  std::vector<Producer> producers;

  // Declared last so they are destroyed first: sessions still owned by pending handlers die
  // inside ~io_context and must find the counters above alive.
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;

  void do_accept();
  HttpResponse dispatch(const HttpRequest& request);
  void close_idle_sessions();
  void begin_request();
  void end_request();
  bool wait_in_flight(std::chrono::milliseconds bound);
  // Runs `body` on a thread of its own; false (and nothing runs) with max_streams running.
  bool spawn_producer(std::function<void()> body);
  void join_producers();
};

namespace {

// One write of a streamed response, handed from the producer's thread to the session's strand.
// It owns its bytes, so a producer that stopped waiting for it leaves nothing dangling.
struct StreamWrite {
  std::string head;  // status line and headers (first write only)
  std::string data;
  bool chunked = true;
  bool last = false;  // the terminating chunk

  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  beast::error_code ec;

  void complete(beast::error_code result) {
    {
      std::lock_guard lock(mutex);
      done = true;
      ec = result;
    }
    cv.notify_all();
  }
};

// Status line, server, content type and extra headers of `r` on `res`.
template <typename Body>
void fill_head(http::response<Body>& res, const HttpResponse& r, bool keep_alive) {
  res.version(11);
  res.result(static_cast<unsigned>(r.status));
  res.set(http::field::server, "tenantai");
  res.set(http::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) res.set(name, value);
  res.keep_alive(keep_alive);
}

// The serialised head of a streamed response: chunked, or for an HTTP/1.0 client unframed and
// ended by closing the connection.
std::string stream_head(const HttpResponse& r, bool keep_alive, bool chunked) {
  http::response<http::empty_body> res;
  fill_head(res, r, keep_alive);
  if (chunked) {
    res.chunked(true);
  } else {
    res.version(10);
    res.keep_alive(false);
  }
  std::ostringstream out;
  out << res.base();
  return out.str();
}

}  // namespace

// One connection: read a request, answer it, repeat while keep-alive. All handlers of a session
// run on its strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server), read_deadline_(stream_.get_executor()) {}
  ~Session() { server_.connections.fetch_sub(1); }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }

  // Closes the connection if it is waiting for a request (runs on the strand, so a session in
  // a handler or writing a response is left to finish and close itself).
  void close_if_idle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->busy_) return;
      beast::error_code ec;
      self->read_deadline_.cancel();
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.close();
    });
  }

 private:
  void do_read() {
    busy_ = false;
    parser_.emplace();
    parser_->body_limit(server_.options.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    // Our own deadline (not the stream's, which would close the socket before we can say 408).
    stream_.expires_never();
    timed_out_ = false;
    read_deadline_.expires_after(server_.options.read_timeout);
    read_deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled: the read finished in time
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    read_deadline_.cancel();
    busy_ = true;
    if (timed_out_ || ec) return on_read_failure(ec);
    HttpRequest request;
    if (auto refusal = to_request(parser_->get(), request)) return respond(std::move(*refusal), false);
    if (server_.stopping.load()) {
      return respond(HttpResponse::error(503, "Unavailable", "the server is shutting down"), false);
    }
    const bool http10 = parser_->get().version() < 11;
    const bool keep_alive = parser_->get().keep_alive() && !server_.stopping.load();
    serve(std::move(request), keep_alive, http10);
  }

  // A read that timed out or failed: 408/413/431/400 where the client can still hear it, else close.
  void on_read_failure(beast::error_code ec) {
    if (timed_out_) {
      // Slow or idle client: answer 408 if a request had started, then close.
      if (parser_->got_some()) return respond(HttpResponse::error(408, "RequestTimeout", "request not received in time"), false);
      return shutdown();
    }
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return shutdown();
    }
    if (ec == http::error::body_limit) {
      return respond(HttpResponse::error(413, "PayloadTooLarge",
                                         "request body exceeds " + std::to_string(server_.options.max_body_bytes) + " bytes"),
                     false);
    }
    if (ec == http::error::header_limit) {
      return respond(HttpResponse::error(431, "HeadersTooLarge", "request headers too large"), false);
    }
    respond(HttpResponse::error(400, "BadRequest", "malformed HTTP request: " + ec.message()), false);
  }

  // Fills `request` from the parsed message; a refusal (400) when a parameter or a single-valued
  // header is repeated.
  std::optional<HttpResponse> to_request(http::request<http::string_body>& req, HttpRequest& request) {
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    auto qpos = request.target.find('?');
    request.path = request.target.substr(0, qpos);
    if (qpos != std::string::npos) {
      const auto repeated = parse_query(std::string_view(request.target).substr(qpos + 1), request.query);
      if (!repeated.empty()) {
        return HttpResponse::error(400, "InvalidArgument", "query parameter \"" + repeated + "\" appears more than once");
      }
    }
    for (const auto& field : req) {
      auto name = to_lower(std::string_view(field.name_string().data(), field.name_string().size()));
      auto [it, inserted] = request.headers.emplace(name, std::string(field.value()));
      if (!inserted && single_valued(name)) {
        return HttpResponse::error(400, "InvalidArgument", "header \"" + name + "\" appears more than once");
      }
      if (!inserted) it->second += ", " + std::string(field.value());  // list-valued: combined (RFC 9110 5.3)
    }
    request.body = std::move(req.body());
    request.cancel = server_.cancel;
    beast::error_code ep_ec;
    auto ep = stream_.socket().remote_endpoint(ep_ec);
    if (!ep_ec) request.remote_address = ep.address().to_string();
    return std::nullopt;
  }

  // Runs the handler; a whole response is written here, a streamed one by its producer thread.
  void serve(HttpRequest request, bool keep_alive, bool http10) {
    server_.begin_request();
    HttpResponse response = server_.dispatch(request);
    if (response.stream) return start_stream(std::move(response), keep_alive && !http10, !http10);
    server_.end_request();
    respond(std::move(response), keep_alive);
  }

  void respond(HttpResponse r, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>();
    fill_head(*res, r, keep_alive);
    res->body() = std::move(r.body);
    res->prepare_payload();
    server_.served.fetch_add(1);
    stream_.expires_after(server_.options.read_timeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
      if (ec || !keep_alive) return self->shutdown();
      self->next_request();
    });
  }

  void next_request() {
    if (server_.stopping.load()) return shutdown();
    buffer_.consume(buffer_.size());
    do_read();
  }

  // Hands a streamed response to a producer thread (the request stays in flight until it ends);
  // 503 when max_streams are running.
  void start_stream(HttpResponse response, bool keep_alive, bool chunked);
  // On the producer's thread: runs the producer, ends the body, then gives the connection back
  // to the strand (next request, error response or close).
  void run_stream(StreamWriter& writer, const StreamProducer& producer, bool keep_alive);

 public:
  // Posts one write to the strand; `op` completes (with the error, or timeout) when it is done.
  void post_write(std::shared_ptr<StreamWrite> op) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), op] {
      self->stream_.expires_after(self->server_.options.read_timeout);
      auto done = [op](beast::error_code ec, std::size_t) { op->complete(ec); };
      const auto head = asio::buffer(op->head);
      if (!op->chunked) {
        asio::async_write(self->stream_, beast::buffers_cat(head, asio::buffer(op->data)), done);
      } else if (op->last) {
        asio::async_write(self->stream_, beast::buffers_cat(head, http::make_chunk_last()), done);
      } else {
        asio::async_write(self->stream_, beast::buffers_cat(head, http::make_chunk(asio::buffer(op->data))), done);
      }
    });
  }

 private:
  void shutdown() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  asio::steady_timer read_deadline_;
  bool timed_out_ = false;
  bool busy_ = true;  // a request is being read to its end, handled or answered (strand only)
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

// The ResponseWriter of one streamed response: each write waits (on the producer's thread) for
// the session's strand to put its bytes on the socket.
class StreamWriter final : public ResponseWriter {
 public:
  StreamWriter(std::shared_ptr<Session> session, std::string head, bool chunked,
               std::shared_ptr<const std::atomic<bool>> cancel, std::chrono::milliseconds timeout)
      : session_(std::move(session)), head_(std::move(head)), chunked_(chunked), cancel_(std::move(cancel)),
        timeout_(timeout) {}

  bool write(std::string_view chunk) override {
    if (chunk.empty()) return ok();
    return send(std::string(chunk), false);
  }
  bool ok() const noexcept override { return !failed_.load(); }

  // Whether the head went out (after that, an error can no longer be a response of its own).
  bool started() const noexcept { return started_; }
  // Ends the body: the head if nothing was written yet, then the last chunk. False if it failed.
  bool finish() { return send({}, true); }

 private:
  bool send(std::string data, bool last) {
    if (failed_.load()) return false;
    if (cancel_ != nullptr && cancel_->load()) {
      failed_.store(true);
      return false;
    }
    auto op = std::make_shared<StreamWrite>();
    if (!started_) op->head = std::move(head_);
    started_ = true;
    op->data = std::move(data);
    op->chunked = chunked_;
    op->last = last;
    session_->post_write(op);
    // The write's own deadline (read_timeout) completes it; the margin covers a stopped server.
    std::unique_lock lock(op->mutex);
    if (!op->cv.wait_for(lock, timeout_ + std::chrono::seconds(1), [&] { return op->done; }) || op->ec) {
      failed_.store(true);
      return false;
    }
    return true;
  }

  std::shared_ptr<Session> session_;
  std::string head_;
  const bool chunked_;
  std::shared_ptr<const std::atomic<bool>> cancel_;
  const std::chrono::milliseconds timeout_;
  bool started_ = false;
  std::atomic<bool> failed_{false};
};

void Session::start_stream(HttpResponse response, bool keep_alive, bool chunked) {
  server_.served.fetch_add(1);
  auto producer = std::move(response.stream);
  auto writer = std::make_shared<StreamWriter>(shared_from_this(), stream_head(response, keep_alive, chunked), chunked,
                                               server_.cancel, server_.options.read_timeout);
  const bool started = server_.spawn_producer([self = shared_from_this(), writer, producer = std::move(producer), keep_alive] {
    self->run_stream(*writer, producer, keep_alive);
  });
  if (started) return;
  server_.end_request();
  respond(HttpResponse::error(503, "Unavailable", "too many streamed responses at once; retry shortly"), keep_alive);
}

void Session::run_stream(StreamWriter& writer, const StreamProducer& producer, bool keep_alive) {
  std::optional<HttpResponse> failure;
  try {
    producer(writer);
  } catch (const Error& e) {
    failure = HttpResponse::error(e);
  } catch (const std::exception&) {
    failure = HttpResponse::error(500, "Internal", "internal error");
  }
  auto self = shared_from_this();
  if (failure && !writer.started()) {
    asio::post(stream_.get_executor(), [self, r = std::move(*failure), keep_alive]() mutable { self->respond(std::move(r), keep_alive); });
  } else if (failure || !writer.finish() || !keep_alive) {
    asio::post(stream_.get_executor(), [self] { self->shutdown(); });  // a truncated body, or the end of an unkept one
  } else {
    asio::post(stream_.get_executor(), [self] { self->next_request(); });
  }
  server_.end_request();
}

void HttpServer::Impl::do_accept() {
  acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) {
      if (stopping.load() || connections.load() >= options.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        connections.fetch_add(1);
        auto session = std::make_shared<Session>(std::move(socket), *this);
        {
          std::lock_guard lock(sessions_mutex);
          std::erase_if(sessions, [](const auto& w) { return w.expired(); });
          sessions.push_back(session);
        }
        session->start();
      }
    }
    do_accept();
  });
}

HttpResponse HttpServer::Impl::dispatch(const HttpRequest& request) {
  auto path_it = routes.find(request.path);
  if (path_it == routes.end()) return HttpResponse::error(404, "NotFound", "no route for " + request.path);
  auto method_it = path_it->second.find(request.method);
  if (method_it == path_it->second.end()) {
    HttpResponse r = HttpResponse::error(405, "MethodNotAllowed", request.method + " is not allowed on " + request.path);
    std::string allow;
    for (const auto& [m, h] : path_it->second) allow += (allow.empty() ? "" : ", ") + m;
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  try {
    return method_it->second(request);
  } catch (const Error& e) {
    return HttpResponse::error(e);
  } catch (const nlohmann::json::exception& e) {
    return HttpResponse::error(400, "InvalidArgument", std::string("malformed JSON: ") + e.what());
  } catch (const std::exception&) {
    return HttpResponse::error(500, "Internal", "internal error");
  }
}

HttpServer::HttpServer(HttpServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() {
  if (impl_->running) stop();
}

void HttpServer::route(std::string method, std::string path, HttpHandler handler) {
  if (impl_->running) throw Error(ErrorCode::InvalidArgument, "HttpServer::route() after start()");
  impl_->routes[std::move(path)][std::move(method)] = std::move(handler);
}

void HttpServer::start() {
  if (impl_->running) throw Error(ErrorCode::InvalidArgument, "HttpServer already started");
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->options.address, ec);
  if (ec) throw Error(ErrorCode::InvalidArgument, "bad listen address \"" + impl_->options.address + "\"");
  tcp::endpoint endpoint(address, impl_->options.port);
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(endpoint, ec);
  if (!ec) impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error(ErrorCode::Unavailable, "cannot listen on " + impl_->options.address + ":" +
                                            std::to_string(impl_->options.port) + ": " + ec.message());
  }
  impl_->port = impl_->acceptor->local_endpoint().port();
  impl_->work.emplace(impl_->ioc.get_executor());
  impl_->do_accept();
  const std::size_t n = std::max<std::size_t>(1, impl_->options.threads);
  for (std::size_t i = 0; i < n; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->running = true;
}

std::uint16_t HttpServer::port() const noexcept { return impl_->port; }

std::uint64_t HttpServer::requests_served() const noexcept { return impl_->served.load(); }

void HttpServer::on_shutdown(std::function<void()> hook) { impl_->hooks.push_back(std::move(hook)); }

void HttpServer::Impl::close_idle_sessions() {
  std::lock_guard lock(sessions_mutex);
  for (auto& weak : sessions) {
    if (auto s = weak.lock()) s->close_if_idle();
  }
}

void HttpServer::Impl::begin_request() {
  std::lock_guard lock(inflight_mutex);
  ++in_flight;
}

void HttpServer::Impl::end_request() {
  {
    std::lock_guard lock(inflight_mutex);
    --in_flight;
  }
  inflight_cv.notify_all();
}

bool HttpServer::Impl::spawn_producer(std::function<void()> body) {
  std::lock_guard lock(producers_mutex);
  std::erase_if(producers, [](Producer& p) {
    if (!p.done->load()) return false;
    p.thread.join();  // it has finished: only returning
    return true;
  });
  if (producers.size() >= options.max_streams) return false;
  auto done = std::make_shared<std::atomic<bool>>(false);
  producers.push_back({std::thread([body = std::move(body), done] {
                         body();
                         done->store(true);
                       }),
                       done});
  return true;
}

void HttpServer::Impl::join_producers() {
  std::vector<Producer> all;
  {
    std::lock_guard lock(producers_mutex);
    all.swap(producers);
  }
  for (auto& p : all) p.thread.join();
}

bool HttpServer::Impl::wait_in_flight(std::chrono::milliseconds bound) {
  std::unique_lock lock(inflight_mutex);
  return inflight_cv.wait_for(lock, bound, [this] { return in_flight == 0; });
}

std::size_t HttpServer::stop(std::chrono::milliseconds grace) {
  if (!impl_->running) return 0;
  impl_->stopping.store(true);
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor->close(ec);
  });
  impl_->close_idle_sessions();
  std::size_t cancelled = 0;
  if (!impl_->wait_in_flight(grace)) {
    {
      std::lock_guard lock(impl_->inflight_mutex);
      cancelled = impl_->in_flight;
    }
    impl_->cancel->store(true);
    impl_->wait_in_flight(std::chrono::seconds(1));
  }
  impl_->join_producers();  // cancelled streams' writes fail at once, so their producers return
  impl_->close_idle_sessions();
  impl_->work.reset();
  // Give responses being written and closes a moment to run, then stop whatever is left.
  for (int i = 0; i < 100 && impl_->connections.load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->join_producers();  // one spawned while stop() began
  {
    std::lock_guard lock(impl_->sessions_mutex);
    impl_->sessions.clear();
  }
  impl_->running = false;
  for (auto& hook : impl_->hooks) hook();
  impl_->hooks.clear();
  return cancelled;
}

}  // namespace tenantai::server

#include "tenantai/inference/openai_backend.h"

#include <algorithm>
#include <utility>  // before Boost.Asio: Boost 1.74 awaitable.hpp uses std::exchange without including it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <nlohmann/json.hpp>
#include <thread>

#include "tenantai/core/error.h"

namespace tenantai::inference {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

namespace {

// An I/O failure worth retrying (connect refused, reset, timeout).
struct TransientIo {
  std::string message;
};

std::chrono::milliseconds parse_retry_after(const std::string& value) {
  int seconds = 0;
  const char* begin = value.data();
  const char* end = value.data() + value.size();
  while (begin != end && *begin == ' ') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, seconds);
  if (ec != std::errc() || ptr == begin || seconds < 0) return std::chrono::milliseconds(0);  // HTTP-date: ignored
  return std::chrono::milliseconds(static_cast<long long>(seconds) * 1000);
}

Error malformed(const std::string& what) {
  return Error(ErrorCode::Unavailable, "model server returned a malformed response: " + what);
}

}  // namespace

OpenAICompatibleBackend::OpenAICompatibleBackend(OpenAICompatibleOptions options)
    : options_(std::move(options)),
      tokenizer_(options_.tokenizer ? options_.tokenizer.get() : &approximate_tokenizer()) {
  const std::string scheme = "http://";
  const std::string& url = options_.base_url;
  if (url.rfind(scheme, 0) != 0) {
    throw Error(ErrorCode::InvalidArgument, "OpenAICompatibleBackend: base_url must start with http:// (got \"" + url + "\")");
  }
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  prefix_ = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  auto colon = authority.rfind(':');
  host_ = colon == std::string::npos ? authority : authority.substr(0, colon);
  port_ = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  if (host_.empty() || port_.empty() || !std::all_of(port_.begin(), port_.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw Error(ErrorCode::InvalidArgument, "OpenAICompatibleBackend: cannot parse base_url \"" + url + "\"");
  }
  if (options_.max_retries < 0 || options_.max_response_bytes == 0 || options_.request_timeout.count() <= 0 ||
      options_.connect_timeout.count() <= 0) {
    throw Error(ErrorCode::InvalidArgument, "OpenAICompatibleBackend: retries, limits and timeouts must be positive");
  }
}

std::uint64_t OpenAICompatibleBackend::attempts() const noexcept { return attempts_.load(std::memory_order_relaxed); }

OpenAICompatibleBackend::HttpReply OpenAICompatibleBackend::send_once(const std::string& target, const std::string& body, TimePoint deadline) {
  attempts_.fetch_add(1, std::memory_order_relaxed);
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, host_);
  req.set(http::field::user_agent, "tenantai");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json");
  req.set(http::field::connection, "close");
  if (!options_.api_key.empty()) req.set(http::field::authorization, "Bearer " + options_.api_key);
  req.body() = body;
  req.prepare_payload();

  // Beast's tcp_stream deadlines apply to asynchronous operations only, so the exchange runs as
  // a chain of async steps on a private io_context driven by this thread.
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.max_response_bytes);
  parser.header_limit(64 * 1024);
  beast::error_code failure;
  std::string stage = "resolve";
  // Per-step timeouts use the stream's expiry. The request's deadline is a separate timer that
  // cancels whatever step is running when it fires (re-arming the stream's expiry to one fixed
  // instant across steps did not reliably fire with Boost 1.74 under sanitizers).
  auto arm = [&](std::chrono::milliseconds timeout) { stream.expires_after(timeout); };
  asio::steady_timer deadline_timer(ioc);
  bool deadline_hit = false;
  if (deadline != TimePoint::max()) {
    deadline_timer.expires_at(deadline);
    deadline_timer.async_wait([&](beast::error_code ec) {
      if (ec) return;  // cancelled: the exchange finished first
      deadline_hit = true;  // a step starting after this sees the flag and stops
      stream.cancel();
      resolver.cancel();
    });
  }
  auto finish = [&](beast::error_code ec) {
    failure = ec;
    deadline_timer.cancel();
  };
  auto on_read = [&](beast::error_code ec, std::size_t) { finish(ec); };
  // Boost 1.74's parser does not enforce body_limit against a declared Content-Length (only
  // for chunked and read-to-EOF bodies), so the header is read first and checked here.
  auto on_header = [&](beast::error_code ec, std::size_t) {
    if (ec || deadline_hit) {
      finish(ec ? ec : beast::error::timeout);
      return;
    }
    if (auto declared = parser.content_length(); declared && *declared > options_.max_response_bytes) {
      finish(http::error::body_limit);
      return;
    }
    http::async_read(stream, buffer, parser, on_read);
  };
  auto on_write = [&](beast::error_code ec, std::size_t) {
    if (ec || deadline_hit) {
      finish(ec ? ec : beast::error::timeout);
      return;
    }
    stage = "read";
    arm(options_.request_timeout);
    http::async_read_header(stream, buffer, parser, on_header);
  };
  auto on_connect = [&](beast::error_code ec, const tcp::endpoint&) {
    if (ec || deadline_hit) {
      finish(ec ? ec : beast::error::timeout);
      return;
    }
    stage = "write";
    arm(options_.request_timeout);
    http::async_write(stream, req, on_write);
  };
  resolver.async_resolve(host_, port_, [&](beast::error_code ec, tcp::resolver::results_type results) {
    if (ec || deadline_hit) {
      finish(ec ? ec : beast::error::timeout);
      return;
    }
    stage = "connect";
    arm(options_.connect_timeout);
    stream.async_connect(results, on_connect);
  });
  ioc.run();

  if (failure == http::error::body_limit || failure == http::error::header_limit ||
      failure == http::error::buffer_overflow) {
    throw Error(ErrorCode::Unavailable, "model server response exceeds the limit of " +
                                            std::to_string(options_.max_response_bytes) + " bytes");
  }
  if (deadline_hit || (failure == beast::error::timeout && std::chrono::steady_clock::now() >= deadline)) {
    throw Error(ErrorCode::DeadlineExceeded, "the request's deadline passed while waiting for the model server");
  }
  if (failure == beast::error::timeout) {
    throw TransientIo{"model server at " + host_ + ":" + port_ + " timed out (" + stage + ")"};
  }
  if (failure) throw TransientIo{"model server at " + host_ + ":" + port_ + " failed (" + stage + "): " + failure.message()};
  auto& res = parser.get();
  HttpReply reply;
  reply.status = static_cast<int>(res.result_int());
  reply.body = std::move(res.body());
  if (auto it = res.find(http::field::retry_after); it != res.end()) reply.retry_after = std::string(it->value());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return reply;
}

std::string OpenAICompatibleBackend::post_json(const std::string& path, const std::string& body, TimePoint deadline) {
  const std::string target = prefix_ + path;
  auto backoff = options_.initial_backoff;
  for (int attempt = 0;; ++attempt) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(ErrorCode::DeadlineExceeded, "the request's deadline passed before attempt " + std::to_string(attempt + 1));
    }
    const bool last = attempt >= options_.max_retries;
    std::chrono::milliseconds wait = backoff;
    try {
      HttpReply reply = send_once(target, body, deadline);
      if (reply.status >= 200 && reply.status < 300) return std::move(reply.body);
      const std::string detail = "model server answered HTTP " + std::to_string(reply.status) + " for " + target;
      if (reply.status == 429 || reply.status >= 500) {
        if (last) {
          throw Error(reply.status == 429 ? ErrorCode::RateLimited : ErrorCode::Unavailable,
                      detail + " after " + std::to_string(attempt + 1) + " attempt(s)");
        }
        wait = std::max(wait, parse_retry_after(reply.retry_after));
      } else if (reply.status == 400 || reply.status == 404 || reply.status == 413 || reply.status == 422) {
        throw Error(ErrorCode::InvalidArgument, detail + ": " + reply.body.substr(0, 200));
      } else {
        throw Error(ErrorCode::Unavailable, detail);
      }
    } catch (const TransientIo& io) {
      if (last) {
        throw Error(ErrorCode::Unavailable, io.message + " (after " + std::to_string(attempt + 1) + " attempt(s))");
      }
    }
    const auto pause = std::min(wait, options_.max_backoff);
    if (deadline != TimePoint::max() && std::chrono::steady_clock::now() + pause >= deadline) {
      throw Error(ErrorCode::DeadlineExceeded, "the request's deadline leaves no time for retry " + std::to_string(attempt + 1));
    }
    std::this_thread::sleep_for(pause);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

CompletionResult OpenAICompatibleBackend::complete(const CompletionRequest& request) {
  if (request.messages.empty()) throw Error(ErrorCode::InvalidArgument, "completion request has no messages");
  if (request.model.empty() && request.adapter.empty()) {
    throw Error(ErrorCode::InvalidArgument, "completion request names no model");
  }
  json body;
  body["model"] = request.adapter.empty() ? request.model : request.adapter;
  body["messages"] = json::array();
  for (const auto& m : request.messages) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  body["max_tokens"] = request.params.max_tokens;
  body["temperature"] = request.params.temperature;
  if (!request.params.stop.empty()) body["stop"] = request.params.stop;
  body["stream"] = false;

  const auto start = std::chrono::steady_clock::now();
  const std::string raw = post_json("/v1/chat/completions", body.dump(), request.deadline);
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);

  json doc = json::parse(raw, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) throw malformed("body is not a JSON object");
  auto choices = doc.find("choices");
  if (choices == doc.end() || !choices->is_array() || choices->empty()) throw malformed("no choices");
  const json& first = (*choices)[0];
  if (!first.is_object() || !first.contains("message") || !first["message"].is_object() ||
      !first["message"].contains("content") || !first["message"]["content"].is_string()) {
    throw malformed("choices[0].message.content is missing or not a string");
  }
  CompletionResult result;
  result.text = first["message"]["content"].get<std::string>();
  result.adapter = request.adapter;
  auto model = doc.find("model");
  result.model = (model != doc.end() && model->is_string()) ? model->get<std::string>() : request.model;
  auto usage = doc.find("usage");
  auto count = [&](const char* key, std::size_t fallback) -> std::size_t {
    if (usage == doc.end() || !usage->is_object()) return fallback;
    auto it = usage->find(key);
    if (it == usage->end()) return fallback;
    if (!it->is_number_unsigned()) throw malformed(std::string("usage.") + key + " is not a non-negative integer");
    return it->get<std::size_t>();
  };
  result.input_tokens = count("prompt_tokens", count_tokens(*tokenizer_, request.messages));
  result.output_tokens = count("completion_tokens", tokenizer_->count(result.text));
  result.time_to_first_token = elapsed;
  if (request.on_chunk) request.on_chunk(result.text);
  return result;
}

std::vector<std::vector<float>> OpenAICompatibleBackend::embed(const std::vector<std::string>& texts) {
  if (texts.empty()) return {};
  json body{{"model", options_.embedding_model}, {"input", texts}};
  const std::string raw = post_json("/v1/embeddings", body.dump(), TimePoint::max());
  json doc = json::parse(raw, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) throw malformed("body is not a JSON object");
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_array() || data->size() != texts.size()) {
    throw malformed("expected " + std::to_string(texts.size()) + " embeddings in data[]");
  }
  std::vector<std::vector<float>> out(texts.size());
  std::vector<bool> seen(texts.size(), false);
  std::size_t dim = options_.embedding_dimension;
  for (std::size_t i = 0; i < data->size(); ++i) {
    const json& item = (*data)[i];
    if (!item.is_object() || !item.contains("embedding") || !item["embedding"].is_array()) {
      throw malformed("data[" + std::to_string(i) + "].embedding is missing");
    }
    std::size_t index = i;
    if (item.contains("index")) {
      if (!item["index"].is_number_unsigned()) throw malformed("data[].index is not an integer");
      index = item["index"].get<std::size_t>();
    }
    if (index >= texts.size() || seen[index]) throw malformed("data[].index is out of range or repeated");
    seen[index] = true;
    const json& vec = item["embedding"];
    if (dim == 0) dim = vec.size();
    if (vec.size() != dim || dim == 0) throw malformed("embedding has " + std::to_string(vec.size()) + " values, expected " + std::to_string(dim));
    auto& target = out[index];
    target.reserve(dim);
    for (const auto& x : vec) {
      if (!x.is_number()) throw malformed("embedding value is not a number");
      target.push_back(x.get<float>());
    }
  }
  return out;
}

}  // namespace tenantai::inference

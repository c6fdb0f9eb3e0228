// A small blocking HTTP/1.1 client over Boost.Beast, for examples, the load test, the leak probe,
// witnesses and tests that talk to a server on a real socket. Not a general-purpose client: no
// TLS, one request per connection (Connection: close).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tenantai::server {

struct HttpCallResult {
  int status = 0;  // 0 when the connection failed, timed out or was closed before a response
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

struct HttpCallOptions {
  // One deadline for the whole call: name resolution, connect, sending and the full response.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  // Sent with a non-empty body (or any POST/PUT).
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers{};
};

// Sends one request and waits for the response, at most options.timeout. Never throws on
// network errors or timeouts: they yield status 0. Thread-safe (no shared state); each call
// opens its own connection. `host` is an IP address or a name (resolved within the deadline).
HttpCallResult http_call(const std::string& host, std::uint16_t port, const std::string& method,
                         const std::string& target, const std::string& body, const HttpCallOptions& options);

// The same with the defaults above (30 s, application/json) and extra `headers`.
HttpCallResult http_call(const std::string& host, std::uint16_t port, const std::string& method,
                         const std::string& target, const std::string& body = "",
                         const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace tenantai::server

// A small blocking HTTP/1.1 client over Boost.Beast, for examples, the load test, the leak probe
// and tests that talk to a TenantApi server on a real socket. Not a general-purpose client: no
// TLS, one request per connection (Connection: close).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tenantai::server {

struct HttpCallResult {
  int status = 0;  // 0 when the connection failed or was closed before a response
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// Sends one request and waits for the response. Never throws on network errors: they yield
// status 0. A non-empty body (or POST/PUT) is sent as application/json. Thread-safe (no shared
// state); each call opens its own connection.
HttpCallResult http_call(const std::string& host, std::uint16_t port, const std::string& method,
                         const std::string& target, const std::string& body = "",
                         const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace tenantai::server

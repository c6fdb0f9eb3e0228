// Test helper: a blocking HTTP/1.1 client over a real socket on 127.0.0.1 (Boost.Beast).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tenantai/server/http_client.h"

namespace tenantai::test_support {

using HttpResult = server::HttpCallResult;

// server::http_call to 127.0.0.1: one request (Connection: close), waits for the response. Never throws on network
// errors: they yield status 0. `headers` are added verbatim.
HttpResult http_call(std::uint16_t port, const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::vector<std::pair<std::string, std::string>>& headers = {});

// Writes raw bytes, then reads whatever comes back until the server closes or `timeout_ms`.
std::string raw_exchange(std::uint16_t port, const std::string& bytes, int timeout_ms = 3000);

}  // namespace tenantai::test_support

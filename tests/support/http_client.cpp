#include "support/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace tenantai::test_support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

HttpResult http_call(std::uint16_t port, const std::string& method, const std::string& target,
                     const std::string& body, const std::vector<std::pair<std::string, std::string>>& headers) {
  return server::http_call("127.0.0.1", port, method, target, body, headers);
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes, int timeout_ms) {
  std::string out;
  try {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream.expires_after(std::chrono::milliseconds(timeout_ms));
    asio::write(stream.socket(), asio::buffer(bytes));
    char buf[4096];
    for (;;) {
      beast::error_code ec;
      stream.expires_after(std::chrono::milliseconds(timeout_ms));
      std::size_t n = stream.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
  } catch (const std::exception&) {
  }
  return out;
}

}  // namespace tenantai::test_support

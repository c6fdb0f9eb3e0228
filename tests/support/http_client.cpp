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

struct RawConnection::Impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
};

RawConnection::RawConnection(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

RawConnection::~RawConnection() {
  beast::error_code ec;
  impl_->stream.socket().close(ec);
}

void RawConnection::send(const std::string& bytes) { asio::write(impl_->stream.socket(), asio::buffer(bytes)); }

RawConnection::Read RawConnection::read_once(std::chrono::steady_clock::time_point deadline) {
  const auto left = deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return Read::Failed;
  char buf[4096];
  beast::error_code ec;
  std::size_t n = 0;
  impl_->stream.expires_after(left);
  impl_->stream.async_read_some(asio::buffer(buf), [&](beast::error_code e, std::size_t got) {
    ec = e;
    n = got;
  });
  impl_->ioc.restart();
  impl_->ioc.run();
  received_.append(buf, n);
  if (ec == asio::error::eof || ec == asio::error::connection_reset) return Read::Closed;
  return ec ? Read::Failed : Read::Data;
}

bool RawConnection::read_until(const std::string& needle, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (received_.find(needle) == std::string::npos) {
    if (read_once(deadline) != Read::Data) return received_.find(needle) != std::string::npos;
  }
  return true;
}

bool RawConnection::read_to_end(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const Read r = read_once(deadline);
    if (r != Read::Data) return r == Read::Closed;
  }
}

void RawConnection::abort() {
  beast::error_code ec;
  impl_->stream.socket().set_option(asio::socket_base::linger(true, 0), ec);  // close sends RST
  impl_->stream.socket().close(ec);
}

std::string ChunkedResponse::body() const {
  std::string out;
  for (const auto& c : chunks) out += c;
  return out;
}

ChunkedResponse parse_chunked(const std::string& raw) {
  ChunkedResponse r;
  const auto end_of_head = raw.find("\r\n\r\n");
  if (end_of_head == std::string::npos) return r;
  r.head = raw.substr(0, end_of_head + 2);
  std::size_t pos = end_of_head + 4;
  for (;;) {
    const auto eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) return r;
    std::size_t size = 0;
    try {
      size = std::stoul(raw.substr(pos, eol - pos), nullptr, 16);
    } catch (const std::exception&) {
      return r;
    }
    if (size == 0) {
      r.complete = raw.compare(eol, 4, "\r\n\r\n") == 0;
      return r;
    }
    if (eol + 2 + size + 2 > raw.size() || raw.compare(eol + 2 + size, 2, "\r\n") != 0) return r;
    r.chunks.push_back(raw.substr(eol + 2, size));
    pos = eol + 2 + size + 2;
  }
}

}  // namespace tenantai::test_support

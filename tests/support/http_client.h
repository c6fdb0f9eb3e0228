// Test helper: a blocking HTTP/1.1 client over a real socket on 127.0.0.1 (Boost.Beast).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
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

// One raw TCP connection to 127.0.0.1, read piece by piece (e.g. a chunked response as its chunks
// arrive), and closed whenever the test says: mid-stream included. Throws on connect failure.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void send(const std::string& bytes);
  // Reads until `needle` has arrived (counting everything read so far), the peer closes, or
  // `timeout_ms` passes. Returns whether the needle is there.
  bool read_until(const std::string& needle, int timeout_ms = 3000);
  // Reads until the peer closes or `timeout_ms` passes. Returns whether the peer closed.
  bool read_to_end(int timeout_ms = 3000);
  // Everything read so far.
  const std::string& received() const noexcept { return received_; }
  // Resets the connection at once (RST), as a client that gives up.
  void abort();

 private:
  enum class Read { Data, Closed, Failed };
  Read read_once(std::chrono::steady_clock::time_point deadline);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string received_;
};

// The parts of a raw HTTP/1.1 response: its head (status line and headers) and the decoded
// body of a chunked one, with its chunks as they were framed.
struct ChunkedResponse {
  std::string head;
  std::vector<std::string> chunks;  // without the terminating zero-length chunk
  bool complete = false;            // the terminating chunk arrived
  std::string body() const;
};
// Splits `raw` at the blank line and decodes its chunked body (stopping at anything malformed).
ChunkedResponse parse_chunked(const std::string& raw);

}  // namespace tenantai::test_support

// The SIMD-lane keyed BLAKE2b must equal libsodium's crypto_generichash for every ISA the CPU
// has, every message length around the 128-byte block edges, and batches that leave lanes idle.
#include <catch2/catch.hpp>
#include <sodium.h>

#include <string>
#include <vector>

#include "cache/blake2b_lanes.h"

using namespace tenantai::cache::detail;

namespace {
Digest reference(const unsigned char* key, std::string_view message) {
  Digest out;
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                     key, 32);
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string s(n, '\0');
  randombytes_buf(s.data(), n);
  return s;
}

const char* name_of(Blake2bLanes lanes) {
  switch (lanes) {
    case Blake2bLanes::Portable: return "portable";
    case Blake2bLanes::Avx2x4: return "avx2x4";
    case Blake2bLanes::Avx512x8: return "avx512x8";
  }
  return "?";
}
}  // namespace

TEST_CASE("lane BLAKE2b equals libsodium for every ISA, length and batch size", "[cache][blake2b]") {
  REQUIRE(sodium_init() >= 0);
  unsigned char key[32];
  randombytes_buf(key, sizeof key);
  const PreparedBlake2bKey prepared(key);

  std::vector<std::string> messages;
  for (std::size_t n : {1, 2, 8, 63, 64, 65, 127, 128, 129, 255, 256, 257, 384, 569, 570, 571, 1000, 4096, 0, 3})
    messages.push_back(random_bytes(n));
  std::vector<std::string_view> views(messages.begin(), messages.end());

  int checked_isas = 0;
  for (auto lanes : {Blake2bLanes::Portable, Blake2bLanes::Avx2x4, Blake2bLanes::Avx512x8}) {
    if (!blake2b_lanes_supported(lanes)) continue;
    ++checked_isas;
    INFO("lanes " << name_of(lanes));
    // Every prefix of the list: batches of 0..20 with mixed lengths, partial lane groups and
    // an empty message in the middle.
    for (std::size_t count = 0; count <= views.size(); ++count) {
      std::vector<Digest> out(count);
      blake2b256_many(lanes, prepared, views.data(), count, out.data());
      for (std::size_t i = 0; i < count; ++i) {
        INFO("count " << count << ", message " << i << " of " << views[i].size() << " bytes");
        CHECK(out[i] == reference(key, views[i]));
      }
    }
  }
  CHECK(checked_isas >= 1);
  CHECK(blake2b_lanes_supported(best_blake2b_lanes()));
}

TEST_CASE("lane BLAKE2b digests depend on the key and on every byte", "[cache][blake2b]") {
  REQUIRE(sodium_init() >= 0);
  unsigned char key_a[32], key_b[32];
  randombytes_buf(key_a, sizeof key_a);
  std::copy(std::begin(key_a), std::end(key_a), key_b);
  key_b[31] ^= 1;
  const PreparedBlake2bKey a(key_a), b(key_b);
  std::vector<std::string> messages(16, random_bytes(570));
  for (std::size_t i = 0; i < messages.size(); ++i) messages[i][i * 31] ^= 0x40;  // each differs in one byte
  std::vector<std::string_view> views(messages.begin(), messages.end());
  std::vector<Digest> under_a(views.size()), under_b(views.size());
  blake2b256_many(a, views.data(), views.size(), under_a.data());
  blake2b256_many(b, views.data(), views.size(), under_b.data());
  for (std::size_t i = 0; i < views.size(); ++i) {
    CHECK(under_a[i] != under_b[i]);
    for (std::size_t j = i + 1; j < views.size(); ++j) CHECK(under_a[i] != under_a[j]);
  }
}

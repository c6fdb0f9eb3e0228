#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <tenantai/crypto.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "support/error_code.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::crypto;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;
using tenantai::test_support::TempDir;

namespace {
bool same_key(const KeyLease& a, const KeyLease& b) { return std::memcmp(a.data(), b.data(), KeyLease::kSize) == 0; }
}  // namespace

TEST_CASE("KeyLease holds 32 random bytes and moves its ownership") {
  KeyLease a = KeyLease::random();
  KeyLease b = KeyLease::random();
  CHECK_FALSE(same_key(a, b));
  KeyLease c = std::move(a);
  CHECK_FALSE(static_cast<bool>(a));  // NOLINT(bugprone-use-after-move): checking the moved-from state
  CHECK(static_cast<bool>(c));
  KeyLease d = KeyLease::copy_of(c.data());
  CHECK(same_key(c, d));
}

TEST_CASE("LocalKeyProvider creates its master key with mode 0600 and refuses an exposed one") {
  TempDir dir;
  { LocalKeyProvider keys(dir.path()); }
  const auto master = std::filesystem::path(dir.path()) / "master.key";
  struct stat st {};
  REQUIRE(::stat(master.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(std::filesystem::file_size(master) == 37);  // "TAMK" | version 1 | 32 key bytes

  ::chmod(master.c_str(), 0644);
  CHECK(code_of([&] { LocalKeyProvider again(dir.path()); }) == ErrorCode::CryptoFailure);
  ::chmod(master.c_str(), 0600);
  { std::ofstream(master, std::ios::binary | std::ios::trunc) << "short"; }
  try {
    LocalKeyProvider bad(dir.path());
    FAIL("a short master key must be refused");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::CryptoFailure);
    CHECK_THAT(e.message(), Catch::Contains("master.key"));
  }
}

TEST_CASE("LocalKeyProvider wraps per tenant: another tenant cannot unwrap, keys survive a restart") {
  TempDir dir;
  const auto a = context_for("tenant-a");
  const auto b = context_for("tenant-b");
  const KeyLease dek = KeyLease::random();
  WrappedKey wrapped;
  {
    LocalKeyProvider keys(dir.path());
    wrapped = keys.wrap(a, dek);
    CHECK(wrapped.kek_version == 1);
    auto back = keys.unwrap(a, wrapped);
    REQUIRE(back.ok());
    CHECK(same_key(*back, dek));
    keys.wrap(b, KeyLease::random());  // b has its own KEK version 1
    auto foreign = keys.unwrap(b, wrapped);
    REQUIRE_FALSE(foreign.ok());
    CHECK(foreign.error().code() == ErrorCode::Tampered);
  }
  LocalKeyProvider reopened(dir.path());
  auto back = reopened.unwrap(a, wrapped);
  REQUIRE(back.ok());
  CHECK(same_key(*back, dek));

  WrappedKey flipped = wrapped;
  flipped.blob[30] = static_cast<char>(flipped.blob[30] ^ 1);
  CHECK(reopened.unwrap(a, flipped).error().code() == ErrorCode::Tampered);
}

TEST_CASE("LocalKeyProvider rotation adds a KEK version and keeps the old one usable") {
  TempDir dir;
  LocalKeyProvider keys(dir.path());
  const auto a = context_for("tenant-a");
  const KeyLease dek = KeyLease::random();
  const WrappedKey v1 = keys.wrap(a, dek);
  CHECK(keys.rotate(a) == 2);
  CHECK(keys.current_version(a) == 2);
  const WrappedKey v2 = keys.wrap(a, dek);
  CHECK(v2.kek_version == 2);
  CHECK(same_key(*keys.unwrap(a, v1), dek));
  CHECK(same_key(*keys.unwrap(a, v2), dek));
}

TEST_CASE("LocalKeyProvider destroy shreds one tenant for good, even with the master key") {
  TempDir dir;
  const auto a = context_for("tenant-a");
  const auto b = context_for("tenant-b");
  WrappedKey wa;
  WrappedKey wb;
  {
    LocalKeyProvider keys(dir.path());
    wa = keys.wrap(a, KeyLease::random());
    wb = keys.wrap(b, KeyLease::random());
    keys.destroy(a);
    keys.destroy(a);  // idempotent
    CHECK(keys.destroyed(a));
    CHECK_FALSE(keys.destroyed(b));
    CHECK(keys.unwrap(a, wa).error().code() == ErrorCode::CryptoFailure);
    CHECK(code_of([&] { keys.wrap(a, KeyLease::random()); }) == ErrorCode::CryptoFailure);
    CHECK(code_of([&] { keys.rotate(a); }) == ErrorCode::CryptoFailure);
    CHECK(keys.unwrap(b, wb).ok());
  }
  // A new process with the same master key still cannot derive the destroyed KEK.
  LocalKeyProvider reopened(dir.path());
  CHECK(reopened.destroyed(a));
  CHECK(reopened.unwrap(a, wa).error().code() == ErrorCode::CryptoFailure);
  CHECK(reopened.unwrap(b, wb).ok());
  const auto kek_file = std::filesystem::path(dir.path()) / "tenant-a.kek";
  std::ifstream in(kek_file);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  CHECK(text == "tenantai-kek 1 kdf=blake2b256-kdf wrap=xchacha20poly1305-ietf\ndestroyed\n");  // no salt left
}

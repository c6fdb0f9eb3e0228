// Format versions of the crypto layer's files: master.key, <tenant>.kek, <tenant>.keyring and
// the sealed envelope. Files written before versioning (format 0) keep working; an unknown
// version or algorithm is refused with an error naming the file.
#include <catch2/catch.hpp>
#include <sodium.h>
#include <sys/stat.h>
#include <tenantai/crypto.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/durable_file.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::crypto;
using tenantai::test_support::context_for;
using tenantai::test_support::TempDir;

namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& path) { return tenantai::detail::read_file(path); }

void write(const fs::path& path, const std::string& bytes, unsigned mode = 0600) {
  tenantai::detail::write_file_atomic(path, bytes, mode);
}

// The text after the first line (the body of a versioned key file).
std::string body_of(const std::string& text) { return text.substr(text.find('\n') + 1); }

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// Runs f, which must throw Error; returns it.
template <typename F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected an Error");
  return Error(ErrorCode::Internal, "unreachable");
}

}  // namespace

TEST_CASE("A version 0 master key (32 raw bytes) still opens and is not rewritten") {
  TempDir dir;
  const fs::path keys = fs::path(dir.path()) / "keys";
  const auto a = context_for("tenant-a");
  WrappedKey wrapped;
  const KeyLease dek = KeyLease::random();
  {
    LocalKeyProvider provider(keys);
    wrapped = provider.wrap(a, dek);
  }
  // Turn the version 1 file back into the version 0 form with the same key bytes.
  const std::string v1 = read(keys / "master.key");
  REQUIRE(v1.size() == 37);
  CHECK(v1.substr(0, 5) == std::string("TAMK\x01", 5));
  write(keys / "master.key", v1.substr(5));
  LocalKeyProvider provider(keys);
  auto back = provider.unwrap(a, wrapped);
  REQUIRE(back.ok());
  CHECK(std::memcmp(back->data(), dek.data(), KeyLease::kSize) == 0);
  provider.rotate(a);
  CHECK(fs::file_size(keys / "master.key") == 32);
}

TEST_CASE("A master key of an unknown version, size, type or mode is refused naming the file") {
  TempDir dir;
  const fs::path keys = fs::path(dir.path()) / "keys";
  { LocalKeyProvider provider(keys); }
  const fs::path master = keys / "master.key";
  const std::string good = read(master);

  std::string newer = good;
  newer[4] = 2;
  write(master, newer);
  Error e = error_of([&] { LocalKeyProvider p(keys); });
  CHECK(e.code() == ErrorCode::CryptoFailure);
  CHECK_THAT(e.message(), Catch::Contains(master.string()) && Catch::Contains("format version 2"));

  write(master, good.substr(0, 36));
  e = error_of([&] { LocalKeyProvider p(keys); });
  CHECK(e.code() == ErrorCode::CryptoFailure);
  CHECK_THAT(e.message(), Catch::Contains("must be 37 bytes, has 36"));

  write(master, good, 0640);
  e = error_of([&] { LocalKeyProvider p(keys); });
  CHECK(e.code() == ErrorCode::CryptoFailure);
  CHECK_THAT(e.message(), Catch::Contains("mode must be 0600"));

  fs::remove(master);
  fs::create_directory(master);
  ::chmod(master.c_str(), 0700);
  e = error_of([&] { LocalKeyProvider p(keys); });
  CHECK(e.code() == ErrorCode::CryptoFailure);
  CHECK_THAT(e.message(), Catch::Contains("not a regular file"));
}

TEST_CASE("Creating the master key leaves no temporary file and never replaces an existing key") {
  TempDir dir;
  const fs::path keys = fs::path(dir.path()) / "keys";
  { LocalKeyProvider provider(keys); }
  const std::string first = read(keys / "master.key");
  { LocalKeyProvider provider(keys); }
  CHECK(read(keys / "master.key") == first);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(keys)) ++files;
  CHECK(files == 1);
}

TEST_CASE("A version 0 .kek file opens, and gets the version 1 header on its next write") {
  TempDir dir;
  const fs::path keys = fs::path(dir.path()) / "keys";
  const auto a = context_for("tenant-a");
  const KeyLease dek = KeyLease::random();
  WrappedKey wrapped;
  {
    LocalKeyProvider provider(keys);
    wrapped = provider.wrap(a, dek);
  }
  const std::string v1 = read(keys / "tenant-a.kek");
  CHECK(first_line(v1) == "tenantai-kek 1 kdf=blake2b256-kdf wrap=xchacha20poly1305-ietf");
  write(keys / "tenant-a.kek", body_of(v1));  // exactly what the previous release wrote
  {
    LocalKeyProvider provider(keys);
    auto back = provider.unwrap(a, wrapped);
    REQUIRE(back.ok());
    CHECK(std::memcmp(back->data(), dek.data(), KeyLease::kSize) == 0);
    CHECK(read(keys / "tenant-a.kek") == body_of(v1));  // reading never writes
    CHECK(provider.rotate(a) == 2);
  }
  const std::string migrated = read(keys / "tenant-a.kek");
  CHECK(first_line(migrated) == first_line(v1));
  LocalKeyProvider provider(keys);
  CHECK(provider.unwrap(a, wrapped).ok());
  CHECK(provider.current_version(a) == 2);
}

TEST_CASE("A .kek file of an unknown version or algorithm is refused naming the file") {
  TempDir dir;
  const fs::path keys = fs::path(dir.path()) / "keys";
  const auto a = context_for("tenant-a");
  { LocalKeyProvider(keys).wrap(a, KeyLease::random()); }
  const fs::path kek = keys / "tenant-a.kek";
  const std::string body = body_of(read(kek));
  const auto refused = [&](const std::string& header, const std::string& expect) {
    write(kek, header + "\n" + body);
    LocalKeyProvider provider(keys);
    const Error e = error_of([&] { provider.wrap(a, KeyLease::random()); });
    CHECK(e.code() == ErrorCode::StorageFailure);
    CHECK_THAT(e.message(), Catch::Contains(kek.string()) && Catch::Contains(expect));
    CHECK(read(kek) == header + "\n" + body);  // nothing rewritten
  };
  refused("tenantai-kek 2 kdf=blake2b256-kdf wrap=xchacha20poly1305-ietf", "format version 2");
  refused("tenantai-kek 1 kdf=blake2b256-kdf wrap=aes256gcm", "wrap algorithm \"aes256gcm\"");
  refused("tenantai-kek 1 kdf=blake2b256-kdf", "names no wrap algorithm");
  refused("tenantai-kek 1 kdf=blake2b256-kdf wrap=xchacha20poly1305-ietf pq=yes", "header field \"pq\"");
}

TEST_CASE("Keyrings: version 0 opens and is migrated on the next key change; unknown versions are refused") {
  TempDir dir;
  const fs::path root(dir.path());
  const auto a = context_for("tenant-a");
  const auto admin = context_for("tenant-a", "admin", {}, {"admin:keys"});
  LocalKeyProvider keys(root / "keys");
  std::string box;
  {
    EnvelopeSealer sealer(keys, root / "keyrings");
    box = sealer.seal(a, "memory", "m1", "sealed before versioning");
  }
  const fs::path ring = root / "keyrings" / "tenant-a.keyring";
  const std::string v1 = read(ring);
  CHECK(first_line(v1) == "tenantai-keyring 1 seal=xchacha20poly1305-ietf");
  write(ring, body_of(v1));
  {
    EnvelopeSealer sealer(keys, root / "keyrings");
    CHECK(*sealer.open(a, "memory", "m1", box) == "sealed before versioning");
    CHECK(read(ring) == body_of(v1));
    CHECK(sealer.rotate(admin) == 2);
    CHECK(first_line(read(ring)) == first_line(v1));
  }
  write(ring, "tenantai-keyring 7 seal=xchacha20poly1305-ietf\n" + body_of(read(ring)));
  EnvelopeSealer sealer(keys, root / "keyrings");
  const Error e = error_of([&] { (void)sealer.open(a, "memory", "m1", box); });
  CHECK(e.code() == ErrorCode::StorageFailure);
  CHECK_THAT(e.message(), Catch::Contains(ring.string()) && Catch::Contains("format version 7"));
}

TEST_CASE("A sealed box of an unknown envelope format is refused as such, not as tampering") {
  TempDir dir;
  const fs::path root(dir.path());
  const auto a = context_for("tenant-a");
  LocalKeyProvider keys(root / "keys");
  EnvelopeSealer sealer(keys, root / "keyrings");
  const std::string box = sealer.seal(a, "doc", "d1", "body");
  CHECK(box.substr(0, 3) == "TS1");
  std::string future = box;
  future[2] = '2';
  auto opened = sealer.open(a, "doc", "d1", future);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().code() == ErrorCode::CryptoFailure);
  CHECK_THAT(opened.error().message(), Catch::Contains("envelope format 2") && Catch::Contains("doc \"d1\""));
  CHECK(EnvelopeSealer::version_of(future).error().code() == ErrorCode::CryptoFailure);
  CHECK(*sealer.open(a, "doc", "d1", box) == "body");
}

#include <catch2/catch.hpp>
#include <tenantai/crypto.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "support/error_code.h"
#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::crypto;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;
using tenantai::test_support::TempDir;

namespace {

// Collects key-access reports (what the audit log would receive).
class RecordingObserver final : public KeyAccessObserver {
 public:
  void on_key_access(const TenantContext& context, const KeyAccessEvent& event) override {
    std::lock_guard lock(mutex_);
    seen_.push_back({context.tenant().str(), event});
  }
  std::size_t count(const std::string& tenant, KeyAccess access) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [t, e] : seen_) n += (t == tenant && e.access == access) ? 1 : 0;
    return n;
  }
  std::vector<std::pair<std::string, KeyAccessEvent>> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<std::string, KeyAccessEvent>> seen_;
};

struct SealerFixture {
  TempDir dir;
  LocalKeyProvider keys{std::filesystem::path(dir.path()) / "keys"};
  RecordingObserver observer;
  EnvelopeSealer sealer{keys, std::filesystem::path(dir.path()) / "keyrings", &observer};
  TenantContext a = context_for("tenant-a");
  TenantContext b = context_for("tenant-b");
  TenantContext a_admin = context_for("tenant-a", "admin", {}, {"admin:keys"});
};

}  // namespace

TEST_CASE_METHOD(SealerFixture, "EnvelopeSealer round-trips and names the key version in the box") {
  const std::string box = sealer.seal(a, "memory", "session-1", "hello tenant a");
  CHECK(box.find("hello") == std::string::npos);
  CHECK(*EnvelopeSealer::version_of(box) == 1);
  CHECK(*sealer.open(a, "memory", "session-1", box) == "hello tenant a");
  CHECK(sealer.seal(a, "memory", "session-1", "").size() > 0);
  CHECK(*sealer.open(a, "memory", "session-1", sealer.seal(a, "memory", "session-1", "")) == "");
}

TEST_CASE_METHOD(SealerFixture, "A box moved to another tenant, kind or object does not open") {
  sealer.seal(b, "memory", "x", "b has a key too");
  const std::string box = sealer.seal(a, "memory", "session-1", "canary-a-7f3e");
  auto foreign = sealer.open(b, "memory", "session-1", box);
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.error().code() == ErrorCode::Tampered);
  CHECK(sealer.open(a, "cache", "session-1", box).error().code() == ErrorCode::Tampered);
  CHECK(sealer.open(a, "memory", "session-2", box).error().code() == ErrorCode::Tampered);
  CHECK(observer.count("tenant-b", KeyAccess::Decrypt) == 1);  // the failed attempt is reported too
}

TEST_CASE_METHOD(SealerFixture, "Every altered byte and every truncation of a box is refused") {
  const std::string box = sealer.seal(a, "doc", "d1", "a sealed document body");
  for (std::size_t i = 0; i < box.size(); ++i) {
    std::string bad = box;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    auto r = sealer.open(a, "doc", "d1", bad);
    INFO("byte " << i);
    REQUIRE_FALSE(r.ok());
    CHECK((r.error().code() == ErrorCode::Tampered || r.error().code() == ErrorCode::CryptoFailure));
  }
  for (std::size_t n = 0; n < box.size(); ++n) {
    CHECK_FALSE(sealer.open(a, "doc", "d1", box.substr(0, n)).ok());
  }
}

TEST_CASE_METHOD(SealerFixture, "Destroying A's key makes A's boxes unreadable while B's still open") {
  const std::string box_a = sealer.seal(a, "doc", "d1", "canary-a");
  const std::string box_b = sealer.seal(b, "doc", "d1", "canary-b");
  CHECK(code_of([&] { sealer.destroy(a); }) == ErrorCode::PermissionDenied);  // plain user
  sealer.destroy(a_admin);
  auto gone = sealer.open(a, "doc", "d1", box_a);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().code() == ErrorCode::CryptoFailure);
  CHECK(code_of([&] { sealer.seal(a, "doc", "d2", "x"); }) == ErrorCode::CryptoFailure);
  CHECK(*sealer.open(b, "doc", "d1", box_b) == "canary-b");
  CHECK(observer.count("tenant-a", KeyAccess::Destroy) == 1);

  // A fresh process (new provider + sealer over the same directories) cannot open it either.
  LocalKeyProvider keys2(std::filesystem::path(dir.path()) / "keys");
  EnvelopeSealer sealer2(keys2, std::filesystem::path(dir.path()) / "keyrings");
  CHECK(sealer2.open(a, "doc", "d1", box_a).error().code() == ErrorCode::CryptoFailure);
  CHECK(*sealer2.open(b, "doc", "d1", box_b) == "canary-b");
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir.path()) / "keyrings" / "tenant-a.keyring"));
}

TEST_CASE_METHOD(SealerFixture, "Rotation seals with a new version and old boxes still open, also after restart") {
  const std::string old_box = sealer.seal(a, "doc", "d1", "before rotation");
  CHECK(code_of([&] { sealer.rotate(a); }) == ErrorCode::PermissionDenied);
  CHECK(sealer.rotate(a_admin) == 2);
  const std::string new_box = sealer.seal(a, "doc", "d2", "after rotation");
  CHECK(*EnvelopeSealer::version_of(new_box) == 2);
  CHECK(*sealer.open(a, "doc", "d1", old_box) == "before rotation");
  CHECK(keys.current_version(a) == 2);

  LocalKeyProvider keys2(std::filesystem::path(dir.path()) / "keys");
  EnvelopeSealer sealer2(keys2, std::filesystem::path(dir.path()) / "keyrings");
  CHECK(*sealer2.open(a, "doc", "d1", old_box) == "before rotation");
  CHECK(*sealer2.open(a, "doc", "d2", new_box) == "after rotation");
}

TEST_CASE_METHOD(SealerFixture, "Every unwrap and decrypt is reported for the right tenant") {
  const std::string box = sealer.seal(a, "doc", "d1", "x");
  CHECK(observer.count("tenant-a", KeyAccess::Unwrap) == 0);  // a fresh key is wrapped, not unwrapped
  LocalKeyProvider keys2(std::filesystem::path(dir.path()) / "keys");
  RecordingObserver second;
  EnvelopeSealer sealer2(keys2, std::filesystem::path(dir.path()) / "keyrings", &second,
                         EnvelopeSealerOptions{.key_cache_ttl = std::chrono::milliseconds(0)});
  CHECK(*sealer2.open(a, "doc", "d1", box) == "x");
  CHECK(*sealer2.open(a, "doc", "d1", box) == "x");
  CHECK(second.count("tenant-a", KeyAccess::Unwrap) == 2);  // ttl 0: every open unwraps
  CHECK(second.count("tenant-a", KeyAccess::Decrypt) == 2);
  for (const auto& [tenant, e] : second.seen()) {
    CHECK(tenant == "tenant-a");
    if (e.access == KeyAccess::Decrypt) {
      CHECK(e.kind == "doc");
      CHECK(e.object_id == "d1");
      CHECK(e.key_version == 1);
    }
  }
}

TEST_CASE_METHOD(SealerFixture, "Concurrent tenants never open each other's canaries", "[concurrency]") {
  const std::vector<std::string> tenants = {"t-one", "t-two", "t-three", "t-four"};
  std::vector<TenantContext> contexts;
  for (const auto& t : tenants) contexts.push_back(context_for(t));
  std::vector<std::string> boxes(tenants.size());
  for (std::size_t i = 0; i < tenants.size(); ++i) {
    boxes[i] = sealer.seal(contexts[i], "doc", "shared-id", "canary-" + tenants[i]);
  }
  std::atomic<int> own_ok{0};
  std::atomic<int> leaks{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < tenants.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 200; ++round) {
        const std::string mine = sealer.seal(contexts[i], "doc", "obj-" + std::to_string(round), "canary-" + tenants[i]);
        auto back = sealer.open(contexts[i], "doc", "obj-" + std::to_string(round), mine);
        if (back.ok() && *back == "canary-" + tenants[i]) own_ok++; else errors++;
        for (std::size_t j = 0; j < tenants.size(); ++j) {
          if (j == i) continue;
          auto other = sealer.open(contexts[i], "doc", "shared-id", boxes[j]);
          if (other.ok()) leaks++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(leaks.load() == 0);
  CHECK(errors.load() == 0);
  CHECK(own_ok.load() == 4 * 200);
}

TEST_CASE_METHOD(SealerFixture, "verify() checks a tenant's keyring before its first use, naming the file") {
  sealer.verify(a);  // no keys yet: nothing to check
  const auto box = sealer.seal(a, "memory", "m1", "hello");
  (void)sealer.seal(b, "memory", "m1", "hello");
  const auto keyring = std::filesystem::path(dir.path()) / "keyrings" / "tenant-a.keyring";
  auto read = [&] {
    std::ifstream in(keyring, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string good = read();
  auto restart_with = [&](const std::string& text) {
    std::ofstream(keyring, std::ios::binary | std::ios::trunc) << text;
    return std::make_unique<EnvelopeSealer>(keys, std::filesystem::path(dir.path()) / "keyrings", &observer);
  };
  auto message_of = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(to_string(e.code())) + ": " + e.what();
    }
    return std::string("no error");
  };

  SECTION("an intact keyring verifies, unwraps once and keeps the key for the first request") {
    auto fresh = restart_with(good);
    const auto unwraps = observer.count("tenant-a", KeyAccess::Unwrap);
    fresh->verify(a);
    CHECK(observer.count("tenant-a", KeyAccess::Unwrap) == unwraps + 1);
    CHECK(fresh->open(a, "memory", "m1", box).value() == "hello");
    CHECK(observer.count("tenant-a", KeyAccess::Unwrap) == unwraps + 1);  // served from the cache
  }
  SECTION("a wrapped key that does not open is Tampered, naming the keyring") {
    std::string text = good;
    const auto last = text.find_last_not_of('\n');
    text[last] = text[last] == '0' ? '1' : '0';
    auto fresh = restart_with(text);
    const auto message = message_of([&] { fresh->verify(a); });
    CHECK(message.rfind("Tampered", 0) == 0);
    CHECK(message.find("tenant-a.keyring") != std::string::npos);
    fresh->verify(b);  // the other tenant's keys are untouched
  }
  SECTION("a malformed keyring is a StorageFailure, naming the keyring") {
    auto fresh = restart_with(good + "not a key line\n");
    const auto message = message_of([&] { fresh->verify(a); });
    CHECK(message.rfind("StorageFailure", 0) == 0);
    CHECK(message.find("tenant-a.keyring") != std::string::npos);
  }
}

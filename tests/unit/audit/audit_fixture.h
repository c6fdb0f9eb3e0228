// Shared set-up for audit tests: a signer, a key provider + envelope sealer that reports into
// the log, and the log itself, in a temporary directory. The log's storage is either the default
// FileLogStorage under <dir>/audit or a MemoryLogStorage (StorageKind), so behaviour tests run
// against both; helpers reach the stored records through the LogStorage interface only.
#pragma once

#include <tenantai/audit.h>
#include <tenantai/core.h>
#include <tenantai/crypto.h>

#include <filesystem>
#include <functional>
#include <vector>
#include <memory>
#include <string>

#include <sodium.h>

#include "audit/record_codec.h"
#include "support/memory_log_storage.h"
#include "support/test_auth.h"

namespace audit_test {

using namespace tenantai;
using namespace tenantai::audit;

// Appends `n` events for `ctx`, each with `canary` in its target, and returns the last index.
inline std::uint64_t append_n(AuditLog& log, const TenantContext& ctx, int n, const std::string& canary) {
  std::uint64_t last = 0;
  with_tenant(ctx, [&](auto scope) {
    for (int i = 0; i < n; ++i) {
      AuditEvent e;
      e.operation = Operation::Infer;
      e.target = canary + "-" + std::to_string(i);
      e.model_id = "model-x";
      e.input_digest = "sha256:" + std::to_string(i);
      last = scope.release(log.append(scope, e));
    }
  });
  return last;
}

enum class StorageKind { File, Memory };

inline const char* name_of(StorageKind kind) { return kind == StorageKind::File ? "file storage" : "memory storage"; }

// Frames of concatenated records, split by the documented framing: tag, u32le length, payload,
// 32-byte leaf.
inline std::vector<std::string> split_frames(const std::string& bytes) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos + 5 <= bytes.size()) {
    const std::uint32_t len = static_cast<unsigned char>(bytes[pos + 1]) |
                              static_cast<unsigned char>(bytes[pos + 2]) << 8 |
                              static_cast<unsigned char>(bytes[pos + 3]) << 16 |
                              static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[pos + 4])) << 24;
    out.push_back(bytes.substr(pos, 1 + 4 + len + 32));
    pos += out.back().size();
  }
  return out;
}

// Makes an edited format-2 frame consistent again the way an attacker who knows the public format
// would: the body digest recomputed from the (edited) body, the leaf from the (edited) header. The
// authenticator is keyed with the log's signing key, so it stays what it was (or `auth` if given).
inline void reforge(std::string& frame, const tenantai::audit::Hash* auth = nullptr) {
  const std::size_t len = frame.size() - 5 - 32;
  auto header = tenantai::audit::detail::decode_payload(std::string_view(frame).substr(5, len));
  REQUIRE(header.has_value());
  REQUIRE(header->format == tenantai::audit::detail::kRecordFormat);
  const std::size_t header_size = header->header_bytes.size();
  const std::size_t digest_at = 5 + header_size - 32 - (header->clear_digest ? 32 : 0) - 32;
  if (!header->body.empty()) {
    crypto_hash_sha256(reinterpret_cast<unsigned char*>(frame.data() + digest_at),
                       reinterpret_cast<const unsigned char*>(frame.data() + 5 + header_size), len - header_size);
  }
  if (auth != nullptr) std::copy(auth->begin(), auth->end(), frame.begin() + static_cast<std::ptrdiff_t>(5 + header_size - 32));
  const tenantai::audit::Hash leaf = tenantai::audit::leaf_hash(std::string_view(frame).substr(5, header_size));
  std::copy(leaf.begin(), leaf.end(), frame.begin() + static_cast<std::ptrdiff_t>(5 + len));
}

struct AuditFixture {
  explicit AuditFixture(bool seal_bodies = true, AuditLogOptions base = {}, StorageKind kind = StorageKind::File) {
    keys = std::make_unique<crypto::LocalKeyProvider>(root() / "keys");
    sealer = std::make_unique<crypto::EnvelopeSealer>(*keys, root() / "keyrings", &key_observer);
    base.signer = &signer;
    base.body_sealer = seal_bodies ? sealer.get() : nullptr;
    if (kind == StorageKind::Memory) {
      base.storage = std::make_shared<MemoryLogStorage>();
      storage = base.storage;
    } else {
      storage = std::make_shared<FileLogStorage>(root() / "audit");  // the log uses its default
    }
    options = base;
    log = std::make_unique<AuditLog>(root() / "audit", base);
    key_observer.attach(*log);
  }
  std::filesystem::path root() const { return std::filesystem::path(dir.path()); }
  CheckpointVerifier verifier() const { return CheckpointVerifier::parse(signer.verifier_key()).value(); }

  // Closes the log and opens a new one over the same storage and options.
  void reopen() {
    log.reset();
    log = std::make_unique<AuditLog>(root() / "audit", options);
    key_observer.attach(*log);
  }
  // Every stored record of `tenant`, concatenated, read through the storage.
  std::string stored_records(const TenantId& tenant) {
    return storage->open(tenant, OpenMode::ReadOnly)->read_records(0, ~std::uint64_t{0});
  }
  // Lets `edit` change the stored frames of `tenant` (the log must be closed), as whoever holds
  // the storage could.
  void edit_records(const TenantId& tenant, const std::function<void(std::vector<std::string>&)>& edit) {
    auto frames = split_frames(stored_records(tenant));
    edit(frames);
    const std::vector<std::string_view> views(frames.begin(), frames.end());
    storage->open(tenant, OpenMode::ReadWrite)->replace_records(views);
  }
  Result<VerifyReport> verify(const TenantId& tenant) { return verify_log(*storage, tenant, verifier()); }

  test_support::TempDir dir;
  CheckpointSigner signer = CheckpointSigner::generate("test-log");
  AuditKeyAccessObserver key_observer;
  std::unique_ptr<crypto::LocalKeyProvider> keys;
  std::unique_ptr<crypto::EnvelopeSealer> sealer;
  std::shared_ptr<LogStorage> storage;
  AuditLogOptions options;
  std::unique_ptr<AuditLog> log;
  TenantContext a = test_support::context_for("tenant-a");
  TenantContext b = test_support::context_for("tenant-b");
};

}  // namespace audit_test

// Defines a test case that runs once per storage kind, its body being Fixture::run() of a
// fixture (an AuditFixture with sealed bodies) bound to that kind.
#define AUDIT_TEST_ON_BOTH_STORAGES(Fixture, ...)                                                    \
  namespace {                                                                                        \
  struct Fixture : audit_test::AuditFixture {                                                        \
    using AuditFixture::AuditFixture;                                                                \
    void run();                                                                                      \
  };                                                                                                 \
  }                                                                                                  \
  TEST_CASE(__VA_ARGS__) {                                                                           \
    const auto kind = GENERATE(audit_test::StorageKind::File, audit_test::StorageKind::Memory);     \
    INFO(audit_test::name_of(kind));                                                                 \
    Fixture(true, {}, kind).run();                                                                   \
  }                                                                                                  \
  void Fixture::run()

// Rotating a tenant log's signing key: the old key signs a statement naming the new one, so a
// verifier pinned to either key follows the chain (log and bundle), the log reopens with the new
// key, and a retired (stolen) key can sign nothing that is accepted after its rotation.
#include <catch2/catch.hpp>

#include <fstream>

#include "audit_fixture.h"
#include "support/error_code.h"

using namespace audit_test;
using tenantai::test_support::code_of;

namespace {

std::shared_ptr<const CheckpointSigner> signer_named_for(const std::string& tenant) {
  return std::make_shared<const CheckpointSigner>(CheckpointSigner::generate(origin_for(TenantId(tenant))));
}

struct Rotated {
  std::shared_ptr<const CheckpointSigner> old_key = signer_named_for("tenant-a");
  std::shared_ptr<const CheckpointSigner> new_key = signer_named_for("tenant-a");
  std::shared_ptr<const CheckpointSigner> current = old_key;
  AuditFixture f{false, options()};

  AuditLogOptions options() {
    AuditLogOptions opts;
    opts.signer_for = [this](const TenantId&) { return current; };
    return opts;
  }
  CheckpointVerifier pinned(const std::shared_ptr<const CheckpointSigner>& key) {
    return CheckpointVerifier::parse(key->verifier_key()).value();
  }
  Result<VerifyReport> verify_with(const std::shared_ptr<const CheckpointSigner>& key) {
    return verify_log(*f.storage, TenantId("tenant-a"), pinned(key));
  }
  void rotate() {
    with_tenant(f.a, [&](auto scope) { f.log->rotate_signing_key(scope, new_key); });
    current = new_key;
  }
};

}  // namespace

TEST_CASE("Key rotation: verifiers pinned to the old or the new key both follow the chain; the log reopens with the new key") {
  Rotated r;
  append_n(*r.f.log, r.f.a, 10, "before");
  with_tenant(r.f.a, [&](auto scope) { (void)r.f.log->checkpoint(scope); });
  r.rotate();
  append_n(*r.f.log, r.f.a, 10, "after");
  const Checkpoint cp = with_tenant(r.f.a, [&](auto scope) { return scope.release(r.f.log->checkpoint(scope)); });
  CHECK(r.pinned(r.new_key).verify(cp.note, origin_for(TenantId("tenant-a"))).ok());
  CHECK_FALSE(r.pinned(r.old_key).verify(cp.note, origin_for(TenantId("tenant-a"))).ok());
  for (const auto& key : {r.old_key, r.new_key}) {
    auto report = r.verify_with(key);
    INFO((report ? "" : report.error().message()));
    REQUIRE(report.ok());
    CHECK(report->latest.size == cp.size);
  }
  CHECK_FALSE(r.verify_with(signer_named_for("tenant-a")).ok());  // a key outside the chain
  // The KeyRotate event is in the log, and the log reopens (and appends) with the new key.
  r.f.reopen();
  append_n(*r.f.log, r.f.a, 3, "reopened");
  with_tenant(r.f.a, [&](auto scope) { (void)r.f.log->checkpoint(scope); });
  CHECK(r.verify_with(r.old_key).ok());
  bool rotate_event = false;
  for (const auto& rec : with_tenant(r.f.a, [&](auto scope) { return scope.release(r.f.log->read(scope, 0, 100)); })) {
    if (rec.event && rec.event->operation == Operation::KeyRotate) rotate_event = true;
  }
  CHECK(rotate_event);
  // A bundle verifies against the old pinned key too (the rotation statement travels with it).
  std::string bundle;
  {
    const auto path = r.f.root() / "a.jsonl";
    with_tenant(r.f.a, [&](auto scope) {
      FileSink sink(path);
      (void)r.f.log->export_bundle(scope, sink);
    });
    std::ifstream in(path, std::ios::binary);
    bundle.assign(std::istreambuf_iterator<char>(in), {});
  }
  CHECK(verify_bundle(bundle, TenantId("tenant-a"), r.pinned(r.old_key)).ok());
  CHECK(verify_bundle(bundle, TenantId("tenant-a"), r.pinned(r.new_key)).ok());
}

TEST_CASE("Key rotation: a checkpoint signed by the retired key after its rotation is refused") {
  Rotated r;
  append_n(*r.f.log, r.f.a, 5, "before");
  r.rotate();
  append_n(*r.f.log, r.f.a, 5, "after");
  const Checkpoint last = with_tenant(r.f.a, [&](auto scope) { return scope.release(r.f.log->checkpoint(scope)); });
  r.f.log.reset();
  // Whoever stole the old key signs the same tree with it and appends that to the stream.
  const Checkpoint forged = r.old_key->sign(origin_for(TenantId("tenant-a")), last.size, last.root);
  r.f.storage->open(TenantId("tenant-a"), OpenMode::ReadWrite)->append_checkpoint(forged.note);
  for (const auto& key : {r.old_key, r.new_key}) {
    auto report = r.verify_with(key);
    REQUIRE_FALSE(report.ok());
    CHECK(report.error().code() == ErrorCode::Tampered);
  }
  r.f.reopen();
  CHECK(code_of([&] { append_n(*r.f.log, r.f.a, 1, "x"); }) == ErrorCode::Tampered);
}

TEST_CASE("Key rotation: a rotation statement not signed by the previous key breaks the chain") {
  Rotated r;
  append_n(*r.f.log, r.f.a, 5, "before");
  r.rotate();
  r.f.log.reset();
  // A statement naming an attacker's key, signed by the attacker's key (claiming to be the old).
  const auto attacker = signer_named_for("tenant-a");
  const std::string forged = sign_key_rotation(*attacker, origin_for(TenantId("tenant-a")),
                                             signer_named_for("tenant-a")->verifier_key());
  r.f.storage->open(TenantId("tenant-a"), OpenMode::ReadWrite)->append_checkpoint(forged);
  auto report = r.verify_with(r.old_key);
  REQUIRE_FALSE(report.ok());
  CHECK(report.error().code() == ErrorCode::Tampered);
}

TEST_CASE("Key rotation: a log signed by an earlier release's single key is linked to its own key by that key") {
  AuditFixture f(false);  // signs with f.signer ("test-log"), like the single key of earlier releases
  append_n(*f.log, f.a, 6, "legacy");
  with_tenant(f.a, [&](auto scope) { (void)f.log->checkpoint(scope); });
  const auto legacy = std::shared_ptr<const CheckpointSigner>(&f.signer, [](const CheckpointSigner*) {});
  const auto own = signer_named_for("tenant-a");
  f.options.signer_for = [own](const TenantId&) { return own; };
  f.options.previous_signers = {legacy};
  f.reopen();
  append_n(*f.log, f.a, 4, "own-key");
  const Checkpoint cp = with_tenant(f.a, [&](auto scope) { return scope.release(f.log->checkpoint(scope)); });
  CHECK(CheckpointVerifier::parse(own->verifier_key())->verify(cp.note, origin_for(TenantId("tenant-a"))).ok());
  const auto notes = f.storage->open(TenantId("tenant-a"), OpenMode::ReadOnly)->read_checkpoints().notes;
  REQUIRE(notes.size() == 3);  // legacy checkpoint, rotation statement, own checkpoint
  CHECK(is_key_rotation(notes[1]));
  for (const auto& key : {legacy->verifier_key(), own->verifier_key()}) {
    auto report = verify_log(*f.storage, TenantId("tenant-a"), CheckpointVerifier::parse(key).value());
    INFO((report ? "" : report.error().message()));
    CHECK(report.ok());
  }
  f.reopen();  // linked once: reopening adds no second statement
  append_n(*f.log, f.a, 1, "again");
  with_tenant(f.a, [&](auto scope) { (void)f.log->checkpoint(scope); });
  CHECK(f.storage->open(TenantId("tenant-a"), OpenMode::ReadOnly)->read_checkpoints().notes.size() == 4);
}

// The attacks of the audit-evidence issue, run by whoever holds the log's storage but not its
// signing key: each is detected when the log opens, named (tenant, index), never re-signed, and
// the other tenant keeps appending and signing.
#include <catch2/catch.hpp>

#include <fstream>

#include "audit_fixture.h"
#include "support/error_code.h"

using namespace audit_test;
using tenantai::test_support::code_of;
using tenantai::test_support::context_for;

namespace {

constexpr int kEvents = 40;  // five checkpoints of 8

AuditLogOptions every_8() {
  AuditLogOptions opts;
  opts.checkpoint_every_events = 8;
  return opts;
}

std::uint64_t stored_checkpoints(AuditFixture& f, const TenantId& tenant) {
  return f.storage->open(tenant, OpenMode::ReadOnly)->read_checkpoints().notes.size();
}

// Reopens the log and checks that tenant-a's log refuses every use with Tampered naming `index`,
// signs nothing, and that tenant-b still appends and signs.
void require_refused_at(AuditFixture& f, std::uint64_t index) {
  const TenantId a("tenant-a");
  const auto before = stored_checkpoints(f, a);
  f.reopen();
  std::string message;
  try {
    with_tenant(f.a, [&](auto scope) { (void)f.log->size(scope); });
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Tampered);
    message = e.message();
  }
  INFO(message);
  CHECK_THAT(message, Catch::Contains("tenant-a"));
  CHECK_THAT(message, Catch::Contains("first bad index " + std::to_string(index) + ":"));
  CHECK(code_of([&] { append_n(*f.log, f.a, 1, "after-attack"); }) == ErrorCode::Tampered);
  CHECK(code_of([&] { with_tenant(f.a, [&](auto scope) { (void)f.log->checkpoint(scope); }); }) ==
        ErrorCode::Tampered);
  CHECK(stored_checkpoints(f, a) == before);  // never re-signed
  append_n(*f.log, f.b, 3, "b-still-serving");
  const Checkpoint b_cp = with_tenant(f.b, [&](auto scope) { return scope.release(f.log->checkpoint(scope)); });
  CHECK(b_cp.size > 0);
  CHECK(f.verify(TenantId("tenant-b")).ok());
}

struct Attacked : AuditFixture {
  Attacked() : AuditFixture(false, every_8()) {
    append_n(*log, a, kEvents, "event");
    append_n(*log, b, 5, "b-event");
    log.reset();
  }
  void cut_checkpoints_to(std::uint64_t keep) {
    storage->open(TenantId("tenant-a"), OpenMode::ReadWrite)->truncate_checkpoints(keep);
  }
  void rewrite_target(std::uint64_t index, const std::string& from, const std::string& to) {
    edit_records(TenantId("tenant-a"), [&](std::vector<std::string>& frames) {
      std::string& frame = frames[index];
      const auto pos = frame.find(from);
      REQUIRE(pos != std::string::npos);
      REQUIRE(from.size() == to.size());
      frame.replace(pos, from.size(), to);
      reforge(frame);
    });
  }
};

}  // namespace

TEST_CASE_METHOD(Attacked, "Disk attacker: checkpoints cut back and an unsigned record rewritten with recomputed hashes") {
  cut_checkpoints_to(1);  // only the size-8 checkpoint remains
  rewrite_target(20, "event-20", "evil-op0");
  require_refused_at(*this, 20);
}

TEST_CASE_METHOD(Attacked, "Disk attacker: a junk entry in the checkpoints file does not launder a rewrite") {
  cut_checkpoints_to(1);
  {
    std::ofstream out(root() / "audit" / "tenant-a.checkpoints", std::ios::app | std::ios::binary);
    out << "note 9999\njunk";  // looks like a torn entry, so it is cut on open
  }
  rewrite_target(20, "event-20", "evil-op0");
  require_refused_at(*this, 20);
}

TEST_CASE_METHOD(Attacked, "Disk attacker: junk between checkpoint entries is refused, naming the file") {
  const auto path = root() / "audit" / "tenant-a.checkpoints";
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto second = bytes.find("note ", bytes.find("note ") + 1);
  REQUIRE(second != std::string::npos);
  bytes.insert(second, "garbage line\n");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  reopen();
  std::string message;
  try {
    with_tenant(a, [&](auto scope) { (void)log->size(scope); });
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Tampered);
    message = e.message();
  }
  CHECK_THAT(message, Catch::Contains("tenant-a.checkpoints"));
}

TEST_CASE_METHOD(Attacked, "Disk attacker: a record forged after the last checkpoint is refused (no valid authenticator)") {
  // The attacker appends a well-formed record (right index, tenant, digests and leaf) but cannot
  // compute its authenticator without the log's signing key.
  edit_records(TenantId("tenant-a"), [&](std::vector<std::string>& frames) {
    audit::detail::RecordHeader h;
    h.index = kEvents;
    h.timestamp_ms = 1;
    h.event_id = 7;
    h.tenant = "tenant-a";
    AuditEvent grant;
    grant.operation = Operation::GrantOperatorAccess;
    grant.actor = "alice";
    grant.target = "evil-op";
    grant.detail = "until_ms 99999999999999";
    const std::string body = audit::detail::encode_body(grant);
    h.body = body;
    const auto wrong_key = crypto::KeyLease::random();
    const std::string payload = audit::detail::encode_record(h, wrong_key);
    std::string frame;
    audit::detail::append_frame(frame, audit::detail::kFullTag, payload, leaf_hash(audit::detail::leaf_preimage(payload)));
    frames.push_back(frame);
  });
  require_refused_at(*this, kEvents);
}

TEST_CASE_METHOD(Attacked, "Disk attacker: a format-1 record appended after the last checkpoint is refused") {
  edit_records(TenantId("tenant-a"), [&](std::vector<std::string>& frames) {
    audit::detail::RecordHeader h;
    h.format = audit::detail::kLegacyFormat;
    h.index = kEvents;
    h.tenant = "tenant-a";
    AuditEvent e;
    e.operation = Operation::Infer;
    const std::string body = audit::detail::encode_body(e);
    h.body = body;
    const std::string payload = audit::detail::encode_payload(h);
    std::string frame;
    audit::detail::append_frame(frame, audit::detail::kFullTag, payload, leaf_hash(payload));
    frames.push_back(frame);
  });
  require_refused_at(*this, kEvents);
}

TEST_CASE_METHOD(Attacked, "Disk attacker: a checkpointed record pruned and backdated fails verification") {
  // Drop record 5's body as retention would, and move its header 115 days back.
  edit_records(TenantId("tenant-a"), [&](std::vector<std::string>& frames) {
    std::string& frame = frames[5];
    const std::size_t len = frame.size() - 5 - 32;
    auto header = audit::detail::decode_payload(std::string_view(frame).substr(5, len));
    REQUIRE(header.has_value());
    std::string payload(header->header_bytes);
    std::int64_t ts = header->timestamp_ms - std::int64_t{115} * 24 * 3600 * 1000;
    for (int i = 0; i < 8; ++i) payload[10 + static_cast<std::size_t>(i)] = static_cast<char>((static_cast<std::uint64_t>(ts) >> (8 * i)) & 0xff);
    std::string pruned;
    audit::detail::append_frame(pruned, audit::detail::kPrunedTag, payload, leaf_hash(payload));
    frame = pruned;
  });
  auto report = verify(TenantId("tenant-a"));
  REQUIRE_FALSE(report.ok());
  CHECK(report.error().code() == ErrorCode::Tampered);
  CHECK_THAT(report.error().message(), Catch::Contains("first bad index 0:"));  // the size-8 interval
  require_refused_at(*this, 0);
}

TEST_CASE_METHOD(AuditFixture, "A pruned record keeps its covered header: retention verifies, a changed header does not") {
  append_n(*log, a, 10, "event");
  with_tenant(a, [&](auto scope) { (void)log->checkpoint(scope); });
  options.retention = [](const TenantId&) { return std::optional<std::chrono::hours>(std::chrono::hours(1)); };
  options.clock = [] { return std::chrono::system_clock::now() + std::chrono::hours(2); };
  reopen();
  CHECK(with_tenant(a, [&](auto scope) { return log->prune(scope); }) == 10);
  with_tenant(a, [&](auto scope) { (void)log->checkpoint(scope); });
  log.reset();
  auto report = verify(TenantId("tenant-a"));
  REQUIRE(report.ok());
  CHECK(report->pruned == 10);
  edit_records(TenantId("tenant-a"), [&](std::vector<std::string>& frames) {
    frames[3][20] = static_cast<char>(frames[3][20] ^ 1);  // a timestamp byte of a pruned header
  });
  CHECK(code_of([&] { (void)verify(TenantId("tenant-a")).value(); }) == ErrorCode::Tampered);
}

TEST_CASE_METHOD(AuditFixture, "A log accepts its own unsigned tail after a restart and signs over it") {
  append_n(*log, a, 5, "event");
  with_tenant(a, [&](auto scope) { (void)log->checkpoint(scope); });
  append_n(*log, a, 7, "tail");
  with_tenant(a, [&](auto scope) { log->sync(scope); });
  reopen();
  const Checkpoint cp = with_tenant(a, [&](auto scope) { return scope.release(log->checkpoint(scope)); });
  CHECK(cp.size == 12);
  CHECK(verify(TenantId("tenant-a")).ok());
}

TEST_CASE("Grants are log facts: a grant added, removed or reordered outside the log is detected") {
  const auto admin = context_for("tenant-a", "admin", {}, {"admin:audit"});
  const auto attack = GENERATE(as<std::string>{}, "removed", "reordered", "added-after-checkpoint");
  INFO(attack);
  AuditFixture f(false, every_8());
  append_n(*f.log, f.a, 3, "event");
  with_tenant(admin, [&](auto scope) {
    f.log->grant_operator_access(scope, "ops-alice", std::chrono::system_clock::now() + std::chrono::hours(1));
  });  // index 3, checkpointed at once
  with_tenant(admin, [&](auto scope) { f.log->revoke_operator_access(scope, "ops-alice"); });  // index 4
  append_n(*f.log, f.a, 2, "event");
  f.log.reset();
  std::uint64_t expected = 0;
  f.edit_records(TenantId("tenant-a"), [&](std::vector<std::string>& frames) {
    if (attack == "removed") {  // drop the revocation, so the grant would stand again
      frames.erase(frames.begin() + 4);
      expected = 4;
    } else if (attack == "reordered") {  // revocation before the grant
      std::swap(frames[3], frames[4]);
      expected = 3;
    } else {  // a copy of the grant, renumbered and reforged, after the last checkpoint
      std::string copy = frames[3];
      const std::uint64_t index = frames.size();
      for (int i = 0; i < 8; ++i) copy[5 + 2 + static_cast<std::size_t>(i)] = static_cast<char>((index >> (8 * i)) & 0xff);
      reforge(copy);
      frames.push_back(copy);
      expected = index;
    }
  });
  require_refused_at(f, expected);
}

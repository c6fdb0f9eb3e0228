#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <tenantai/audit/witness.h>

#include "audit_fixture.h"

using namespace audit_test;

namespace {
struct CliRun {
  int code;
  std::string out;
  std::string err;
};
CliRun cli(std::vector<std::string> args) {
  std::ostringstream out;
  std::ostringstream err;
  const int code = run_audit_cli(args, out, err);
  return {code, out.str(), err.str()};
}
}  // namespace

TEST_CASE_METHOD(AuditFixture, "tenantai-audit verifies, proves and exports against a pinned key") {
  append_n(*log, a, 30, "cli");
  with_tenant(a, [&](auto scope) { (void)log->checkpoint(scope); });
  const std::string dir = (root() / "audit").string();
  const std::string vkey = signer.verifier_key();

  auto ok = cli({"verify", "--root", dir, "--tenant", "tenant-a", "--key", vkey});
  INFO(ok.err);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("30 events"));

  // Key from a file; a different key fails.
  { std::ofstream(root() / "vkey") << vkey << "\n"; }
  CHECK(cli({"verify", "--root", dir, "--tenant", "tenant-a", "--key", "@" + (root() / "vkey").string()}).code == 0);
  const auto stranger = CheckpointSigner::generate("test-log");
  CHECK(cli({"verify", "--root", dir, "--tenant", "tenant-a", "--key", stranger.verifier_key()}).code == 1);

  auto proof = cli({"prove", "--root", dir, "--tenant", "tenant-a", "--key", vkey, "--index", "17"});
  CHECK(proof.code == 0);
  CHECK_THAT(proof.out, Catch::Contains("\"verified\": true"));
  CHECK_THAT(proof.out, Catch::Contains("\"tree_size\": 30"));

  const std::string bundle = (root() / "offline.jsonl").string();
  CHECK(cli({"export", "--root", dir, "--tenant", "tenant-a", "--key", vkey, "--out", bundle}).code == 0);
  CHECK(cli({"verify", "--bundle", bundle, "--tenant", "tenant-a", "--key", vkey}).code == 0);
  CHECK(cli({"verify", "--bundle", bundle, "--tenant", "tenant-b", "--key", vkey}).code == 1);

  // Drop one record line from the bundle: the omission is named.
  std::ifstream in(bundle);
  std::string line;
  std::string edited;
  while (std::getline(in, line)) {
    if (line.find("\"index\":12,") == std::string::npos || line.find("\"record\"") == std::string::npos) edited += line + "\n";
  }
  { std::ofstream(root() / "edited.jsonl") << edited; }
  auto bad = cli({"verify", "--bundle", (root() / "edited.jsonl").string(), "--tenant", "tenant-a", "--key", vkey});
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Catch::Contains("first bad index 12"));

  CHECK(cli({}).code == 2);
  CHECK(cli({"verify", "--root"}).code == 2);
  CHECK(cli({"frobnicate", "--x", "y"}).code == 2);
  CHECK(cli({"verify", "--root", dir, "--tenant", "Not A Tenant", "--key", vkey}).code == 2);
}

// ---- what a tenant relies on beyond the log's signature: witnesses, saved checkpoints, rotation

namespace {

// One tenant's real log (key named after its origin) in a temporary directory, which the tests
// close, edit through its storage (as whoever holds the disk could) and reopen.
struct TenantLogFixture {
  TenantLogFixture() { open(); }

  std::string dir() const { return (std::filesystem::path(tmp.path()) / "audit").string(); }
  std::string file(const std::string& name) const { return (std::filesystem::path(tmp.path()) / name).string(); }
  void open(const CheckpointSigner* with = nullptr, std::vector<std::string> previous_keys = {}) {
    log.reset();
    log = std::make_unique<AuditLog>(dir(), AuditLogOptions{.signer = with ? with : &signer,
                                                            .previous_verifier_keys = std::move(previous_keys),
                                                            .storage = storage});
  }
  void close() { log.reset(); }
  // Appends `n` events tagged `tag` and signs a checkpoint over everything.
  Checkpoint grow(int n, const std::string& tag = "event") {
    return with_tenant(ctx, [&](auto scope) {
      for (int i = 0; i < n; ++i) {
        log->append(scope, AuditEvent{.operation = Operation::Infer, .target = tag + "-" + std::to_string(i)});
      }
      return scope.release(log->checkpoint(scope));
    });
  }
  // Appends a cosigned copy of `cp` to the checkpoints stream, as the log does for a witnessed
  // checkpoint (the log must be closed).
  void append_note(const std::string& note) { storage->open(ctx.tenant(), OpenMode::ReadWrite)->append_checkpoint(note); }
  std::string save(const std::string& name, const std::string& text) const {
    std::ofstream(file(name), std::ios::binary) << text;
    return file(name);
  }
  std::vector<std::string> args(std::vector<std::string> extra, const std::string& source = "") const {
    std::vector<std::string> a = {"verify"};
    if (source.empty()) {
      a.insert(a.end(), {"--root", dir()});
    } else {
      a.insert(a.end(), {"--bundle", source});
    }
    a.insert(a.end(), {"--tenant", ctx.tenant().str(), "--key", signer.verifier_key()});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // "--witness <key>" for each of `witnesses`, then `extra`.
  static std::vector<std::string> witness_args(std::initializer_list<const CosignatureSigner*> witnesses,
                                               std::vector<std::string> extra = {}) {
    std::vector<std::string> a;
    for (const auto* w : witnesses) a.insert(a.end(), {"--witness", w->verifier_key()});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // Exports the log offline (tenantai-audit export) and returns the bundle's path.
  std::string export_bundle(const std::string& name, std::vector<std::string> keys = {}) const {
    std::vector<std::string> a = {"export", "--root", dir(), "--tenant", ctx.tenant().str(), "--out", file(name)};
    if (keys.empty()) keys.push_back(signer.verifier_key());
    for (const auto& k : keys) a.insert(a.end(), {"--key", k});
    const auto run = cli(a);
    INFO(run.err);
    REQUIRE(run.code == 0);
    return file(name);
  }

  test_support::TempDir tmp;
  TenantContext ctx = test_support::context_for("acme");
  CheckpointSigner signer = CheckpointSigner::generate(origin_for(ctx.tenant()));
  std::shared_ptr<LogStorage> storage = std::make_shared<FileLogStorage>(dir());
  std::unique_ptr<AuditLog> log;
  CosignatureSigner w1 = CosignatureSigner::generate("witness.example/w1");
  CosignatureSigner w2 = CosignatureSigner::generate("witness.example/w2");
};

constexpr std::uint64_t kCosignedAt = 1700000000;

std::string cosigned(const Checkpoint& cp, std::initializer_list<const CosignatureSigner*> witnesses) {
  std::string note = cp.note;
  for (const auto* w : witnesses) note += w->cosign(cp, kCosignedAt);
  return note;
}

// `w`'s cosignature line for `cp` with one signature byte flipped (key ID and name intact).
std::string forged_line(const CosignatureSigner& w, const Checkpoint& cp) {
  std::string line = w.cosign(cp, kCosignedAt);
  const std::size_t at = line.rfind(' ') + 1;
  std::string raw = from_base64(line.substr(at, line.size() - at - 1)).value();
  raw.back() = static_cast<char>(raw.back() ^ 1);
  return line.substr(0, at) + to_base64(reinterpret_cast<const unsigned char*>(raw.data()), raw.size()) + "\n";
}

}  // namespace

TEST_CASE("tenantai-audit verify reports the newest checkpoint cosigned by a quorum of witnesses") {
  TenantLogFixture f;
  const Checkpoint first = f.grow(10);
  f.close();
  f.append_note(cosigned(first, {&f.w1, &f.w2}));
  f.open();
  const Checkpoint second = f.grow(5);
  f.close();
  f.append_note(cosigned(second, {&f.w1}));
  const std::string bundle = f.export_bundle("witnessed.jsonl");

  for (const std::string& source : {std::string(), bundle}) {
    INFO((source.empty() ? "log" : "bundle"));
    auto all = cli(f.args(f.witness_args({&f.w1, &f.w2}), source));  // quorum: both witnesses
    INFO(all.err);
    CHECK(all.code == 0);
    CHECK_THAT(all.out, Catch::Contains("published up to size 10, root " + to_base64(first.root.data(), 32) +
                                        ", cosigned by witness.example/w1, witness.example/w2 (quorum 2 of 2)"));
    CHECK_THAT(all.out, Catch::Contains("not yet published: records 10 to 14"));

    auto one = cli(f.args(f.witness_args({&f.w1, &f.w2}, {"--quorum", "1"}), source));
    INFO(one.err);
    CHECK(one.code == 0);
    CHECK_THAT(one.out, Catch::Contains("published up to size 15"));
    CHECK_THAT(one.out, Catch::Contains("cosigned by witness.example/w1 (quorum 1 of 2)"));
    CHECK_THAT(one.out, !Catch::Contains("not yet published"));
  }
  CHECK(cli(f.args({"--quorum", "1"})).code == 2);                                 // no witness
  CHECK(cli(f.args(f.witness_args({&f.w1}, {"--quorum", "2"}))).code == 2);  // above the witnesses
  CHECK(cli(f.args({"--witnes", f.w1.verifier_key()})).code == 2);                 // a misspelt check is not skipped
}

TEST_CASE("tenantai-audit verify fails when no checkpoint reaches the witness quorum") {
  TenantLogFixture f;
  const Checkpoint cp = f.grow(10);
  f.close();
  f.append_note(cosigned(cp, {&f.w1}));
  const std::string bundle = f.export_bundle("one-witness.jsonl");
  const auto w3 = CosignatureSigner::generate("witness.example/w3");

  for (const std::string& source : {std::string(), bundle}) {
    INFO((source.empty() ? "log" : "bundle"));
    auto two = cli(f.args(f.witness_args({&f.w1, &f.w2}), source));
    CHECK(two.code == 1);
    CHECK_THAT(two.err, Catch::Contains("not published: no checkpoint reaches the witness quorum of 2"));
    CHECK_THAT(two.err, Catch::Contains("1 of 2 cosignatures"));
    auto never = cli(f.args(f.witness_args({&w3}), source));  // a witness that never cosigned
    CHECK(never.code == 1);
    CHECK_THAT(never.err, Catch::Contains("not published"));
    CHECK(cli(f.args(f.witness_args({&f.w1}), source)).code == 0);
  }
}

TEST_CASE("tenantai-audit verify fails naming the witness whose cosignature line does not verify") {
  TenantLogFixture f;
  const Checkpoint first = f.grow(10);
  f.close();
  f.append_note(cosigned(first, {&f.w1}) + forged_line(f.w2, first));  // an older checkpoint's line
  f.open();
  const Checkpoint second = f.grow(5);
  f.close();
  f.append_note(cosigned(second, {&f.w1, &f.w2}));  // the newest one meets the quorum
  const std::string bundle = f.export_bundle("forged.jsonl");

  for (const std::string& source : {std::string(), bundle}) {
    INFO((source.empty() ? "log" : "bundle"));
    auto run = cli(f.args(f.witness_args({&f.w1, &f.w2}), source));
    CHECK(run.code == 1);
    CHECK_THAT(run.err, Catch::Contains("cosignature by \"witness.example/w2\" rejected"));
    CHECK_THAT(run.err, Catch::Contains("size 10"));
    CHECK(cli(f.args(f.witness_args({&f.w1}), source)).code == 0);  // w2 not relied on
  }
}

TEST_CASE("tenantai-audit verify detects a rollback against a checkpoint the tenant saved") {
  TenantLogFixture f;
  const Checkpoint earlier = f.grow(10);
  const Checkpoint later = f.grow(10);
  const std::string saved_later = f.save("later.checkpoint", later.note);
  const std::string saved_earlier = f.save("earlier.checkpoint", earlier.note);
  f.close();
  // Whoever holds the disk cuts records and checkpoints back to the earlier checkpoint: the
  // shorter log is a valid older log.
  {
    auto streams = f.storage->open(f.ctx.tenant(), OpenMode::ReadWrite);
    const auto notes = streams->read_checkpoints().notes;
    std::uint64_t keep = 0;
    while (keep < notes.size() && notes[keep] != earlier.note) ++keep;
    REQUIRE(keep < notes.size());
    streams->truncate_checkpoints(keep + 1);
    streams->truncate_records(earlier.size);
  }
  const std::string bundle = f.export_bundle("rolled-back.jsonl");

  for (const std::string& source : {std::string(), bundle}) {
    INFO((source.empty() ? "log" : "bundle"));
    CHECK(cli(f.args({}, source)).code == 0);  // invisible without the saved checkpoint
    auto run = cli(f.args({"--trusted-checkpoint", saved_later}, source));
    CHECK(run.code == 1);
    CHECK_THAT(run.err, Catch::Contains("rolled back"));
    CHECK_THAT(run.err, Catch::Contains("holds 10 records, fewer than the trusted checkpoint " + saved_later +
                                        " of size 20"));
    auto older = cli(f.args({"--trusted-checkpoint", saved_earlier}, source));
    INFO(older.err);
    CHECK(older.code == 0);
    CHECK_THAT(older.out, Catch::Contains("trusted checkpoint " + saved_earlier + ": size 10 is contained"));
  }
}

TEST_CASE("tenantai-audit verify detects a rewritten history (fork) against a checkpoint the tenant saved") {
  TenantLogFixture original;
  const Checkpoint seen = original.grow(10, "original");
  const std::string saved = original.save("seen.checkpoint", seen.note);
  // The same key (held by whoever holds the disk) signs another history of the same events count.
  TenantLogFixture rewritten;
  rewritten.open(&original.signer);
  rewritten.grow(12, "rewritten");
  rewritten.close();
  const std::string bundle = rewritten.export_bundle("rewritten.jsonl", {original.signer.verifier_key()});

  for (const std::string& source : {std::string(), bundle}) {
    INFO((source.empty() ? "log" : "bundle"));
    auto args = original.args({"--trusted-checkpoint", saved}, source);
    if (source.empty()) args[2] = rewritten.dir();
    auto clean = args;
    clean.resize(clean.size() - 2);
    CHECK(cli(clean).code == 0);  // a valid log on its own
    auto run = cli(args);
    CHECK(run.code == 1);
    CHECK_THAT(run.err, Catch::Contains("forked: the " + std::string(source.empty() ? "log" : "bundle") +
                                        "'s tree of size 10 has root"));
    CHECK_THAT(run.err, Catch::Contains("signed root " + to_base64(seen.root.data(), 32)));
  }
  // A saved checkpoint must verify under one of the keys given.
  const auto stranger = CheckpointSigner::generate(origin_for(original.ctx.tenant()));
  const std::string foreign = original.save("foreign.checkpoint", stranger.sign(seen.origin, seen.size, seen.root).note);
  auto run = cli(original.args({"--trusted-checkpoint", foreign}));
  CHECK(run.code == 2);
  CHECK_THAT(run.err, Catch::Contains("does not verify under any --key"));
}

TEST_CASE("tenantai-audit accepts every --key a rotated log has been signed with") {
  TenantLogFixture f;
  f.grow(10);
  const auto next = CheckpointSigner::generate(origin_for(f.ctx.tenant()));
  f.open(&next, {f.signer.verifier_key()});
  f.grow(10);
  f.close();
  const std::string old_key = f.signer.verifier_key();
  const std::string new_key = next.verifier_key();
  const std::vector<std::string> base = {"--root", f.dir(), "--tenant", "acme"};
  auto with = [&](std::string command, std::vector<std::string> keys, std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {std::move(command)};
    a.insert(a.end(), base.begin(), base.end());
    for (const auto& k : keys) a.insert(a.end(), {"--key", k});
    a.insert(a.end(), extra.begin(), extra.end());
    return cli(a);
  };
  CHECK(with("verify", {old_key}).code == 1);
  CHECK(with("verify", {new_key}).code == 1);
  auto both = with("verify", {old_key, new_key});
  INFO(both.err);
  CHECK(both.code == 0);
  CHECK_THAT(both.out, Catch::Contains("20 events"));
  CHECK(with("prove", {old_key, new_key}, {"--index", "3"}).code == 0);
  const std::string bundle = f.file("rotated.jsonl");
  CHECK(with("export", {new_key, old_key}, {"--out", bundle}).code == 0);
  CHECK(cli({"verify", "--bundle", bundle, "--tenant", "acme", "--key", old_key, "--key", new_key}).code == 0);
  CHECK(cli({"verify", "--bundle", bundle, "--tenant", "acme", "--key", new_key}).code == 1);
  CHECK(cli({"verify", "--root", f.dir(), "--bundle", bundle, "--tenant", "acme", "--key", new_key}).code == 2);
  CHECK(cli({"verify", "--root", f.dir(), "--tenant", "acme", "--tenant", "acme", "--key", new_key}).code == 2);
}

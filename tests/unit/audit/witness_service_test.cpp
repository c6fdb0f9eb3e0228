// WitnessService (C2SP tlog-witness add-checkpoint) over a real AuditLog's checkpoints and
// consistency proofs, with its state in a real file.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>

#include "support/error_code.h"
#include "unit/audit/witness_fixture.h"

using namespace witness_test;
using tenantai::test_support::code_of;
using tenantai::test_support::TempDir;

namespace {

constexpr std::uint64_t kTime = 1700000000;

struct ServiceFixture {
  TempDir dir;
  TenantLogUnderTest acme{"acme"};
  TenantLogUnderTest globex{"globex"};
  std::string key_path = dir.path() + "/witness.key";
  std::string state_path = dir.path() + "/state.json";
  std::unique_ptr<WitnessService> service;

  ServiceFixture() {
    CosignatureSigner::generate("witness.example/w1").save(key_path);
    restart();
  }
  // A new service over the same key and state file, as after a process restart.
  void restart() {
    service.reset();
    service = std::make_unique<WitnessService>(CosignatureSigner::load(key_path),
                                               std::vector<WitnessedLog>{acme.witnessed(), globex.witnessed()},
                                               state_path, [] { return kTime; });
  }
  WitnessService::Response submit(std::uint64_t old_size, const std::vector<Hash>& proof, const std::string& note) {
    return service->add_checkpoint(request_body(old_size, proof, note));
  }
  // Grows acme by `n` events and has the witness cosign the checkpoint from what it holds.
  Checkpoint grow_cosigned(int n) {
    const Checkpoint cp = acme.grow(n);
    REQUIRE(submit(acme_held, acme.proof(acme_held, cp.size), cp.note).status == 200);
    acme_held = cp.size;
    return cp;
  }
  std::uint64_t acme_held = 0;
  CosignatureVerifier verifier() const { return CosignatureVerifier::parse(service->signer().verifier_key()).value(); }
};

}  // namespace

TEST_CASE("Witness service: first checkpoint, then growth with a valid proof, are cosigned") {
  ServiceFixture f;
  const Checkpoint first = f.acme.grow(5);
  auto r = f.submit(0, {}, first.note);
  REQUIRE(r.status == 200);
  CHECK(r.content_type.rfind("text/plain", 0) == 0);
  CHECK(f.verifier().verify(first.note + r.body).value() == kTime);
  CHECK(f.service->latest(f.acme.origin()) == first.body());
  CHECK(f.service->latest_note(f.acme.origin()) == first.note + r.body);
  CHECK(f.service->latest(f.globex.origin()).empty());

  const Checkpoint next = f.acme.grow(7);
  r = f.submit(first.size, f.acme.proof(first.size, next.size), next.note);
  REQUIRE(r.status == 200);
  CHECK(f.verifier().verify(next.note + r.body).ok());
  CHECK(f.service->latest(f.acme.origin()) == next.body());
  // The same checkpoint again (old == size, same root, no proof) is cosigned again.
  CHECK(f.submit(next.size, {}, next.note).status == 200);
  // Logs are independent: globex starts at 0 while acme is held at 12.
  CHECK(f.submit(0, {}, f.globex.grow(1).note).status == 200);
}

TEST_CASE("Witness service: rollback, fork and rewrite of witnessed history are refused") {
  ServiceFixture f;
  const Checkpoint old_cp = f.grow_cosigned(5);
  const Checkpoint held = f.grow_cosigned(5);

  SECTION("rollback: a smaller, validly signed checkpoint") {
    CHECK(f.submit(10, {}, old_cp.note).status == 400);  // old > size
    auto r = f.submit(5, {}, old_cp.note);               // what a rolled-back log believes
    CHECK(r.status == 409);
    CHECK(r.content_type == "text/x.tlog.size");
    CHECK(r.body == "10\n");
  }
  SECTION("fork: same size, another root, signed by the log's own (stolen) key") {
    TenantLogUnderTest forked("acme", &f.acme);
    const Checkpoint other = forked.grow(10, "forged");
    REQUIRE(other.size == 10);
    REQUIRE(other.root != held.root);
    auto r = f.submit(10, {}, other.note);
    CHECK(r.status == 422);
    CHECK(r.body.find("fork") != std::string::npos);
  }
  SECTION("rewrite: a longer rewritten log with a proof from its own tree") {
    TenantLogUnderTest rewritten("acme", &f.acme);
    rewritten.grow(10, "forged");
    const Checkpoint longer = rewritten.grow(6, "forged-more");
    CHECK(f.submit(10, rewritten.proof(10, 16), longer.note).status == 422);
    // Nor with the honest log's proof, nor with none.
    f.acme.grow(6);
    CHECK(f.submit(10, f.acme.proof(10, 16), longer.note).status == 422);
    CHECK(f.submit(10, {}, longer.note).status == 422);
  }
  // Whatever was refused, the witness still holds the honest size-10 checkpoint.
  CHECK(f.service->latest(f.acme.origin()) == held.body());
}

TEST_CASE("Witness service: signatures and origins are checked against the configured log keys") {
  ServiceFixture f;
  const Checkpoint cp = f.acme.grow(3);
  SECTION("a tampered note: 403") {
    std::string note = cp.note;
    note.replace(note.find("\n3\n"), 3, "\n4\n");
    CHECK(f.submit(0, {}, note).status == 403);
  }
  SECTION("a valid checkpoint signed by another configured log's key: 403") {
    const Checkpoint forged = f.globex.signer().sign(f.acme.origin(), cp.size, cp.root);
    CHECK(f.submit(0, {}, forged.note).status == 403);
  }
  SECTION("an unknown origin: 404") {
    TenantLogUnderTest stranger("initech");
    CHECK(f.submit(0, {}, stranger.grow(1).note).status == 404);
  }
  SECTION("wrong old size: 409 with the held size") {
    REQUIRE(f.submit(0, {}, cp.note).status == 200);
    const Checkpoint next = f.acme.grow(2);
    auto r = f.submit(1, f.acme.proof(1, 5), next.note);
    CHECK(r.status == 409);
    CHECK(r.body == "3\n");
  }
  SECTION("size 0 needs the empty tree's root; a proof from 0 must be empty") {
    CHECK(f.submit(0, {}, f.acme.signer().sign(f.acme.origin(), 0, leaf_hash("x")).note).status == 422);
    CHECK(f.submit(0, {}, f.acme.signer().sign(f.acme.origin(), 0, root_of(nullptr, 0)).note).status == 200);
    CHECK(f.submit(0, {leaf_hash("x")}, cp.note).status == 422);
  }
  SECTION("a log key or origin that is malformed or listed twice is refused at construction") {
    auto make = [&](std::vector<WitnessedLog> logs) {
      WitnessService(CosignatureSigner::generate("w"), std::move(logs), f.dir.path() + "/other.json");
    };
    CHECK(code_of([&] { make({{f.acme.origin(), "not-a-key"}}); }) == ErrorCode::InvalidArgument);
    CHECK(code_of([&] { make({f.acme.witnessed(), f.acme.witnessed()}); }) == ErrorCode::InvalidArgument);
  }
}

TEST_CASE("Witness service: the state file survives a restart and still refuses the rollback") {
  ServiceFixture f;
  const Checkpoint small = f.grow_cosigned(4);
  const Checkpoint big = f.grow_cosigned(4);
  f.restart();
  CHECK(f.service->latest(f.acme.origin()) == big.body());
  auto r = f.submit(0, {}, small.note);
  CHECK(r.status == 409);
  CHECK(r.body == "8\n");
  CHECK(f.submit(8, {}, small.note).status == 400);
  const Checkpoint bigger = f.acme.grow(1);
  CHECK(f.submit(8, f.acme.proof(8, 9), bigger.note).status == 200);

  SECTION("a log dropped from the configuration is remembered, not forgotten") {
    f.service.reset();
    f.service = std::make_unique<WitnessService>(CosignatureSigner::load(f.key_path),
                                                 std::vector<WitnessedLog>{f.globex.witnessed()}, f.state_path);
    CHECK(f.submit(0, {}, small.note).status == 404);
    REQUIRE(f.submit(0, {}, f.globex.grow(1).note).status == 200);
    f.restart();
    CHECK(f.submit(0, {}, small.note).status == 409);
  }
  SECTION("a damaged state file is Tampered, never read as empty") {
    f.service.reset();
    std::ofstream(f.state_path, std::ios::trunc) << R"({"format":"tenantai.witness.state/v1","logs":[{"origin":1}]})";
    CHECK(code_of([&] { f.restart(); }) == ErrorCode::Tampered);
    std::ofstream(f.state_path, std::ios::trunc) << "{not json";
    CHECK(code_of([&] { f.restart(); }) == ErrorCode::Tampered);
  }
}

TEST_CASE("Witness service: nothing is cosigned when the state cannot be written") {
  TempDir dir;
  TenantLogUnderTest acme("acme");
  WitnessService service(CosignatureSigner::generate("w"), {acme.witnessed()}, dir.path() + "/no/such/dir/state.json");
  auto r = service.add_checkpoint(request_body(0, {}, acme.grow(1).note));
  CHECK(r.status == 500);
  CHECK(service.latest(acme.origin()).empty());
}

TEST_CASE("Witness service: malformed bodies are 400, and no mutation of a valid body is cosigned") {
  ServiceFixture f;
  const Checkpoint cp = f.acme.grow(3);
  const std::string note = cp.note;
  const std::vector<std::string> malformed = {std::string(), std::string("old 0\n"), "old\n\n" + note, "old 00\n\n" + note, "old -1\n\n" + note,
        "old 0" + note, "Old 0\n\n" + note, "old 0\nnot-base64!\n\n" + note, "old 0\nAAAA\n\n" + note,
        std::string("old 0\n\n"), std::string("old 0\n\ngarbage\n"), "old 0\n\n" + note.substr(0, note.size() - 1),
        "old 0\n\n" + std::string("tenantai.audit/acme\x01\n3\n") + note.substr(note.find("\n3\n") + 3),
        "old 18446744073709551616\n\n" + note};
  for (const auto& body : malformed) {
    INFO(body);
    CHECK(f.service->add_checkpoint(body).status == 400);
  }
  std::string many = "old 1\n";
  for (int i = 0; i < 64; ++i) many += to_base64(cp.root.data(), cp.root.size()) + "\n";
  CHECK(f.service->add_checkpoint(many + "\n" + note).status == 400);

  const std::string valid = request_body(0, {}, note);
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string body = valid;
    const auto at = rng() % body.size();
    switch (rng() % 3) {
      case 0: body[at] = static_cast<char>(rng()); break;
      case 1: body.erase(at, 1 + rng() % 8); break;
      default: body.insert(at, 1, static_cast<char>(rng())); break;
    }
    if (body == valid) continue;
    const int status = f.service->add_checkpoint(body).status;
    INFO(body);
    CHECK((status == 400 || status == 403 || status == 404 || status == 409 || status == 422));
  }
  CHECK(f.service->latest(f.acme.origin()).empty());
}

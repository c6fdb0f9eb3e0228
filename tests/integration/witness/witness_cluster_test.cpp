// Two tenantai-witness processes on random loopback ports; a real AuditLog submits its
// checkpoints through make_http_witness as a log would (start from the size it believes each
// witness holds, follow a 409 once).
#include <tenantai/server/http_witness.h>
#include <catch2/catch.hpp>

#include "integration/witness/witness_process.h"
#include "unit/audit/witness_fixture.h"

using namespace witness_test;
using Reply = WitnessReply::Status;

namespace {

// The log side: one HTTP client per witness and the size each is believed to hold.
struct Submitter {
  std::vector<std::shared_ptr<Witness>> witnesses;
  std::vector<std::uint64_t> believed;

  void add(const WitnessProcess& process, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    witnesses.push_back(server::make_http_witness(
        {.host = "127.0.0.1", .port = process.port(), .timeout = timeout, .verifier_key = process.verifier_key()}));
    believed.push_back(0);
  }
  // Submits `cp` of `log` to witness i; a Conflict is followed once from the witness's size.
  WitnessReply submit(std::size_t i, TenantLogUnderTest& log, const Checkpoint& cp) {
    WitnessReply r = send(i, log, cp);
    if (r.status == Reply::Conflict) {
      believed[i] = r.witness_size;
      r = send(i, log, cp);
    }
    if (r.status == Reply::Cosigned) believed[i] = cp.size;
    return r;
  }

 private:
  WitnessReply send(std::size_t i, TenantLogUnderTest& log, const Checkpoint& cp) {
    const std::uint64_t old = believed[i];
    return witnesses[i]->add_checkpoint(old, old <= cp.size ? log.proof(old, cp.size) : std::vector<Hash>{}, cp.note);
  }
};

struct Cluster {
  TenantLogUnderTest log{"acme"};
  WitnessProcess w1{"witness.example/w1", {log.origin() + "=" + log.signer().verifier_key()}};
  WitnessProcess w2{"witness.example/w2", {log.origin() + "=" + log.signer().verifier_key()}};
  Submitter submitter;

  Cluster() {
    w1.start();
    w2.start();
    submitter.add(w1, std::chrono::milliseconds(1000));
    submitter.add(w2, std::chrono::milliseconds(1000));
  }
  std::vector<CosignatureVerifier> verifiers() const {
    return {submitter.witnesses[0]->verifier(), submitter.witnesses[1]->verifier()};
  }
};

// Grows the log by `n` events and requires both witnesses to cosign the checkpoint.
Checkpoint grow_cosigned_by_both(Cluster& c, int n) {
  const Checkpoint cp = c.log.grow(n);
  std::string note = cp.note;
  for (std::size_t i = 0; i < 2; ++i) {
    const auto r = c.submitter.submit(i, c.log, cp);
    INFO(r.message);
    REQUIRE(r.status == Reply::Cosigned);
    note += r.cosignature;
  }
  CHECK(verify_cosignatures(note, c.verifiers(), 2).value() == 2);
  return cp;
}

void check_refused_by_both(Cluster& c, TenantLogUnderTest& from, const Checkpoint& cp) {
  for (std::size_t i = 0; i < 2; ++i) {
    const auto r = c.submitter.submit(i, from, cp);
    INFO(r.message);
    CHECK(r.status == Reply::Refused);
    CHECK((r.http_status == 400 || r.http_status == 422));
  }
}

}  // namespace

TEST_CASE("two witnesses cosign normal growth and both refuse rollback, fork and rewrite") {
  Cluster c;
  const Checkpoint small = grow_cosigned_by_both(c, 4);
  grow_cosigned_by_both(c, 6);

  check_refused_by_both(c, c.log, small);  // rollback to a real, older checkpoint
  TenantLogUnderTest forked("acme", &c.log);
  check_refused_by_both(c, forked, forked.grow(10, "forged"));  // fork: same size, other root
  check_refused_by_both(c, forked, forked.grow(5, "forged-more"));  // rewrite: proof from its own tree

  // The honest log still grows, cosigned by both.
  grow_cosigned_by_both(c, 3);
  CHECK(c.w1.stop() == 0);  // SIGTERM: clean exit
  CHECK(c.w2.stop() == 0);
}

TEST_CASE("with one witness killed, the other still cosigns and the dead one is Unavailable quickly") {
  Cluster c;
  grow_cosigned_by_both(c, 2);
  c.w1.kill_now();
  const Checkpoint next = c.log.grow(3);
  const auto start = std::chrono::steady_clock::now();
  const auto dead = c.submitter.submit(0, c.log, next);
  CHECK(dead.status == Reply::Unavailable);
  CHECK(dead.http_status == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));
  const auto alive = c.submitter.submit(1, c.log, next);
  REQUIRE(alive.status == Reply::Cosigned);
  CHECK(verify_cosignatures(next.note + alive.cosignature, c.verifiers(), 1).value() == 1);
  CHECK(verify_cosignatures(next.note + alive.cosignature, c.verifiers(), 2).error().code() == ErrorCode::NotFound);
}

TEST_CASE("a restarted witness still refuses the rollback (its state file)") {
  Cluster c;
  const Checkpoint small = grow_cosigned_by_both(c, 3);
  const Checkpoint held = grow_cosigned_by_both(c, 3);
  CHECK(c.w1.stop() == 0);
  c.w1.start();  // same key and state file, a new port
  c.submitter.witnesses[0] = server::make_http_witness(
      {.host = "127.0.0.1", .port = c.w1.port(), .verifier_key = c.w1.verifier_key()});
  c.submitter.believed[0] = 0;  // a log that lost its own memory of the witness, too
  const auto r = c.submitter.submit(0, c.log, small);
  INFO(r.message);
  CHECK(r.status == Reply::Refused);
  CHECK(c.submitter.believed[0] == held.size);  // learnt from the 409
  const Checkpoint next = c.log.grow(1);
  CHECK(c.submitter.submit(0, c.log, next).status == Reply::Cosigned);
}

// make_http_witness against a real HttpServer on loopback: a real WitnessService behind it for
// the protocol, and answers a broken or hostile witness could give for the mapping.
#include <catch2/catch.hpp>
#include <tenantai/server/http_client.h>
#include <tenantai/server/http_server.h>
#include <tenantai/server/http_witness.h>

#include <atomic>
#include <thread>

#include "support/error_code.h"
#include "unit/audit/witness_fixture.h"

using namespace witness_test;
using namespace tenantai::server;
using tenantai::test_support::code_of;
using tenantai::test_support::TempDir;

namespace {

// A WitnessService served at /w/add-checkpoint; `misbehave` replaces its answer when set.
struct ServedWitness {
  TempDir dir;
  TenantLogUnderTest acme{"acme"};
  WitnessService service{CosignatureSigner::generate("witness.example/w1"), {acme.witnessed()},
                         dir.path() + "/state.json"};
  std::function<HttpResponse(const HttpRequest&)> misbehave;
  std::string last_content_type;
  HttpServer server;

  ServedWitness() {
    server.route("POST", "/w/add-checkpoint", [this](const HttpRequest& request) {
      last_content_type = request.header("content-type");
      if (misbehave) return misbehave(request);
      auto r = service.add_checkpoint(request.body);
      HttpResponse response;
      response.status = r.status;
      response.content_type = r.content_type;
      response.body = r.body;
      return response;
    });
    server.start();
  }
  std::shared_ptr<Witness> client(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return make_http_witness({.host = "127.0.0.1", .port = server.port(), .path_prefix = "/w", .timeout = timeout,
                              .verifier_key = service.signer().verifier_key()});
  }
};

HttpResponse plain(int status, std::string body, std::string type = "text/plain") {
  HttpResponse response;
  response.status = status;
  response.content_type = std::move(type);
  response.body = std::move(body);
  return response;
}

}  // namespace

TEST_CASE("HTTP witness: growth is cosigned and verified, conflicts and refusals are mapped") {
  ServedWitness w;
  auto witness = w.client();
  const Checkpoint first = w.acme.grow(3);
  auto r = witness->add_checkpoint(0, {}, first.note);
  REQUIRE(r.status == WitnessReply::Status::Cosigned);
  CHECK(r.http_status == 200);
  CHECK(witness->verifier().verify(first.note + r.cosignature).ok());
  CHECK(w.last_content_type.rfind("text/plain", 0) == 0);

  const Checkpoint next = w.acme.grow(2);
  r = witness->add_checkpoint(0, {}, next.note);  // stale belief: the witness holds 3
  CHECK(r.status == WitnessReply::Status::Conflict);
  CHECK(r.witness_size == 3);
  r = witness->add_checkpoint(r.witness_size, w.acme.proof(3, 5), next.note);
  CHECK(r.status == WitnessReply::Status::Cosigned);

  r = witness->add_checkpoint(5, {}, first.note);  // rollback
  CHECK(r.status == WitnessReply::Status::Refused);
  CHECK(r.http_status == 400);
  TenantLogUnderTest forked("acme", &w.acme);
  r = witness->add_checkpoint(5, {}, forked.grow(5, "forged").note);  // fork
  CHECK(r.status == WitnessReply::Status::Refused);
  CHECK(r.http_status == 422);
  r = witness->add_checkpoint(5, std::vector<Hash>(64), next.note);
  CHECK(r.status == WitnessReply::Status::Refused);
  CHECK(r.http_status == 0);  // not sent
}

TEST_CASE("HTTP witness: a reply that does not verify, or no answer, is never Cosigned") {
  ServedWitness w;
  auto witness = w.client(std::chrono::milliseconds(400));
  const Checkpoint cp = w.acme.grow(2);
  const auto impostor = CosignatureSigner::generate("witness.example/w1");

  SECTION("a line by another key of the same name") {
    w.misbehave = [&](const HttpRequest&) { return plain(200, impostor.cosign(cp, 1700000000)); };
    CHECK(witness->add_checkpoint(0, {}, cp.note).status == WitnessReply::Status::Refused);
  }
  SECTION("a line over another checkpoint") {
    w.misbehave = [&](const HttpRequest&) {
      return plain(200, w.service.signer().cosign(w.acme.signer().sign(cp.origin, 1, cp.root), 1700000000));
    };
    CHECK(witness->add_checkpoint(0, {}, cp.note).status == WitnessReply::Status::Refused);
  }
  SECTION("garbage, a 409 without a size, other statuses") {
    w.misbehave = [](const HttpRequest&) { return plain(200, "hello\n"); };
    CHECK(witness->add_checkpoint(0, {}, cp.note).status == WitnessReply::Status::Refused);
    w.misbehave = [](const HttpRequest&) { return plain(409, "many\n", "text/x.tlog.size"); };
    CHECK(witness->add_checkpoint(0, {}, cp.note).status == WitnessReply::Status::Refused);
    w.misbehave = [](const HttpRequest&) { return plain(503, "busy"); };
    auto r = witness->add_checkpoint(0, {}, cp.note);
    CHECK(r.status == WitnessReply::Status::Unavailable);
    CHECK(r.http_status == 503);
    w.misbehave = [](const HttpRequest&) { return plain(404, "unknown log"); };
    CHECK(witness->add_checkpoint(0, {}, cp.note).status == WitnessReply::Status::Refused);
  }
  SECTION("a witness that never answers: Unavailable within the timeout") {
    w.misbehave = [](const HttpRequest& request) {
      while (!request.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return plain(503, "stopping");
    };
    const auto start = std::chrono::steady_clock::now();
    auto r = witness->add_checkpoint(0, {}, cp.note);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(r.status == WitnessReply::Status::Unavailable);
    CHECK(r.http_status == 0);
    CHECK(took < std::chrono::seconds(3));
    w.server.stop(std::chrono::milliseconds(50));
  }
  SECTION("nobody listening") {
    w.server.stop();
    CHECK(witness->add_checkpoint(0, {}, cp.note).status == WitnessReply::Status::Unavailable);
  }
  CHECK(w.service.latest(cp.origin).empty());
}

TEST_CASE("HTTP witness: options are checked, and http_call honours its timeout and content type") {
  ServedWitness w;
  CHECK(code_of([&] { make_http_witness({.port = 0, .verifier_key = w.service.signer().verifier_key()}); }) ==
        ErrorCode::InvalidArgument);
  CHECK(code_of([&] { make_http_witness({.port = 1, .verifier_key = "bad"}); }) == ErrorCode::InvalidArgument);

  std::atomic<bool> release{false};
  w.misbehave = [&](const HttpRequest& request) {
    while (!release && !request.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return plain(200, request.header("content-type"));
  };
  HttpCallOptions options;
  options.timeout = std::chrono::milliseconds(200);
  const auto start = std::chrono::steady_clock::now();
  CHECK(http_call("127.0.0.1", w.server.port(), "POST", "/w/add-checkpoint", "x", options).status == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  release = true;
  options.timeout = std::chrono::seconds(5);
  options.content_type = "text/x.test";
  auto r = http_call("localhost", w.server.port(), "POST", "/w/add-checkpoint", "x", options);
  CHECK(r.status == 200);
  CHECK(r.body == "text/x.test");
}

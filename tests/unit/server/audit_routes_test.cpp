// Tenant-held verification over HTTP, on real sockets: the signed checkpoint (text/plain, or
// JSON on request), inclusion and consistency proofs, and the streamed export bundle, each
// checked with the verifier a tenant's auditor would use and the key it pinned; bad parameters
// are 400s; one tenant's key never reaches another tenant's log.
#include <catch2/catch.hpp>
#include <tenantai/audit/checkpoint.h>
#include <tenantai/audit/merkle.h>
#include <tenantai/audit/verify.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "audit/record_codec.h"
#include "support/api_server.h"
#include "support/http_client.h"
#include "support/test_auth.h"

using namespace tenantai;
using nlohmann::json;
using tenantai::test_support::fixed_secret;

namespace {

using Server = test_support::ApiServer;

audit::Hash hash_of(const std::string& b64) {
  auto bytes = audit::from_base64(b64).value();
  REQUIRE(bytes.size() == 32);
  audit::Hash h{};
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

std::vector<audit::Hash> path_of(const json& path) {
  std::vector<audit::Hash> out;
  for (const auto& h : path) out.push_back(hash_of(h.get<std::string>()));
  return out;
}

// The auditor's pinned verifier: the platform's key, known out of band (never the header's).
audit::CheckpointVerifier pinned(Server& s, const std::string& tenant) {
  return audit::CheckpointVerifier::parse(s.platform->audit_verifier_key(TenantId(tenant))).value();
}

// GET /v1/audit/checkpoint as text, verified against the pinned key and the tenant's origin.
audit::Checkpoint fetch_checkpoint(Server& s, const std::string& key, const std::string& tenant) {
  auto r = s.call(key, "GET", "/v1/audit/checkpoint");
  REQUIRE(r.status == 200);
  auto checkpoint = pinned(s, tenant).verify(r.body, audit::origin_for(TenantId(tenant)));
  INFO(r.body);
  REQUIRE(checkpoint.ok());
  return *checkpoint;
}

// GET /v1/audit/bundle over a raw socket, as it arrives.
test_support::ChunkedResponse fetch_bundle(Server& s, const std::string& key) {
  test_support::RawConnection client(s.port);
  client.send("GET /v1/audit/bundle HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key + "\r\nConnection: close\r\n\r\n");
  client.read_to_end(20000);
  return test_support::parse_chunked(client.received());
}

// The leaf hash of each record line of a bundle, recomputed from the stored frame
// (tag:u8 len:u32le payload[len] leaf:32; leaf = SHA-256(0x00 || payload)).
std::vector<audit::Hash> bundle_leaves(const std::string& bundle) {
  std::vector<audit::Hash> leaves;
  std::istringstream lines(bundle);
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line);
    if (j["type"] != "record") continue;
    const std::string frame = audit::from_base64(j["frame"].get<std::string>()).value();
    REQUIRE(frame.size() > 5 + 32);
    // What the leaf hashes is the record's header (docs/audit-format.md), as leaf_preimage says.
    leaves.push_back(audit::leaf_hash(audit::detail::leaf_preimage(std::string_view(frame).substr(5, frame.size() - 5 - 32))));
  }
  return leaves;
}

void post_document(Server& s, const std::string& key, const std::string& id) {
  REQUIRE(s.call(key, "POST", "/v1/documents", {{"documents", {{{"id", id}, {"title", id}, {"text", "text of " + id}}}}}).status ==
          200);
}

std::string code_of(const test_support::HttpResult& r) {
  auto body = json::parse(r.body, nullptr, false);
  return body.is_object() && body.contains("error") ? body["error"].value("code", "") : "";
}

}  // namespace

TEST_CASE("audit over http: the checkpoint is the signed note as text/plain, JSON on request, with the verifier key",
          "[server][audit_http]") {
  Server s;
  const auto viewer = fixed_secret("alphaViewer");
  post_document(s, fixed_secret("alphaAdmin"), "a1");

  auto text = s.call(viewer, "GET", "/v1/audit/checkpoint");
  REQUIRE(text.status == 200);
  CHECK(text.headers["content-type"] == "text/plain; charset=utf-8");
  CHECK(text.headers["x-tenantai-verifier-key"] == s.platform->audit_verifier_key(TenantId("alpha")));
  auto checkpoint = pinned(s, "alpha").verify(text.body, audit::origin_for(TenantId("alpha")));
  REQUIRE(checkpoint.ok());
  CHECK(checkpoint->note == text.body);  // the note exactly
  CHECK(checkpoint->size > 0);
  // Pinned to alpha's origin, the note is no good as beta's.
  CHECK_FALSE(pinned(s, "alpha").verify(text.body, audit::origin_for(TenantId("beta"))).ok());

  for (const std::string accept : {"text/plain", "*/*", "text/*;q=0.9, application/json;q=0.5", ""}) {
    auto r = s.call(viewer, "GET", "/v1/audit/checkpoint", nullptr, {{"Accept", accept}});
    INFO(accept);
    CHECK(r.status == 200);
    CHECK(r.headers["content-type"] == "text/plain; charset=utf-8");
  }
  for (const std::string accept : {"application/json", "text/plain;q=0.1, application/json", "application/*"}) {
    auto r = s.call(viewer, "GET", "/v1/audit/checkpoint", nullptr, {{"Accept", accept}});
    INFO(accept);
    REQUIRE(r.status == 200);
    CHECK(r.headers["content-type"] == "application/json");
    auto body = json::parse(r.body);
    CHECK(body["tenant"] == "alpha");
    CHECK(body["verifier_key"] == s.platform->audit_verifier_key(TenantId("alpha")));
    CHECK(r.headers["x-tenantai-verifier-key"] == s.platform->audit_verifier_key(TenantId("alpha")));
    auto parsed = pinned(s, "alpha").verify(body["checkpoint"].get<std::string>(), audit::origin_for(TenantId("alpha")));
    REQUIRE(parsed.ok());
    CHECK(body["size"] == parsed->size);
  }
  auto refused = s.call(viewer, "GET", "/v1/audit/checkpoint", nullptr, {{"Accept", "image/png"}});
  CHECK(refused.status == 406);
}

TEST_CASE("audit over http: inclusion and consistency proofs verify against the served checkpoints", "[server][audit_http]") {
  Server s;
  const auto admin = fixed_secret("alphaAdmin");
  post_document(s, admin, "a1");
  const auto old_cp = fetch_checkpoint(s, admin, "alpha");
  for (int i = 0; i < 5; ++i) post_document(s, admin, "more-" + std::to_string(i));
  const auto new_cp = fetch_checkpoint(s, admin, "alpha");
  REQUIRE(new_cp.size > old_cp.size);

  // Leaves recomputed from the stored records, independently of the proofs.
  const auto bundle = fetch_bundle(s, admin);
  REQUIRE(bundle.complete);
  const auto leaves = bundle_leaves(bundle.body());
  REQUIRE(leaves.size() >= new_cp.size);

  for (std::uint64_t i = 0; i < new_cp.size; ++i) {
    auto r = s.call(admin, "GET", "/v1/audit/proof/inclusion?index=" + std::to_string(i) + "&size=" + std::to_string(new_cp.size));
    REQUIRE(r.status == 200);
    auto proof = json::parse(r.body);
    CHECK(proof["index"] == i);
    CHECK(proof["tree_size"] == new_cp.size);
    const auto leaf = hash_of(proof["leaf"]);
    CHECK(leaf == leaves[i]);
    CHECK(audit::verify_inclusion(leaf, i, new_cp.size, path_of(proof["path"]), new_cp.root));
    // The same proof does not show another leaf there.
    CHECK_FALSE(audit::verify_inclusion(leaves[(i + 1) % new_cp.size], i, new_cp.size, path_of(proof["path"]), new_cp.root));
  }
  auto r = s.call(admin, "GET",
                  "/v1/audit/proof/consistency?old=" + std::to_string(old_cp.size) + "&new=" + std::to_string(new_cp.size));
  REQUIRE(r.status == 200);
  auto proof = json::parse(r.body);
  CHECK(proof["old_size"] == old_cp.size);
  CHECK(proof["new_size"] == new_cp.size);
  CHECK(audit::verify_consistency(old_cp.size, new_cp.size, old_cp.root, new_cp.root, path_of(proof["path"])));
  audit::Hash forged = old_cp.root;
  forged[0] ^= 1;
  CHECK_FALSE(audit::verify_consistency(old_cp.size, new_cp.size, forged, new_cp.root, path_of(proof["path"])));
}

TEST_CASE("audit over http: bad proof parameters are 400 naming the problem, a missing key 401", "[server][audit_http]") {
  Server s;
  const auto viewer = fixed_secret("alphaViewer");
  const auto size = fetch_checkpoint(s, viewer, "alpha").size;
  REQUIRE(size > 0);
  const std::string n = std::to_string(size);
  const std::string over = std::to_string(size + 1000);
  const std::vector<std::string> bad = {
       "/v1/audit/proof/inclusion", "/v1/audit/proof/inclusion?size=" + n, "/v1/audit/proof/inclusion?index=0",
        "/v1/audit/proof/inclusion?index=abc&size=" + n, "/v1/audit/proof/inclusion?index=-1&size=" + n,
        "/v1/audit/proof/inclusion?index=0&size=1e3", "/v1/audit/proof/inclusion?index=0&size=",
        "/v1/audit/proof/inclusion?index=" + n + "&size=" + n, "/v1/audit/proof/inclusion?index=0&size=0",
        "/v1/audit/proof/inclusion?index=0&size=" + over, "/v1/audit/proof/inclusion?index=0&size=99999999999999999999999",
        "/v1/audit/proof/inclusion?index=0&index=1&size=" + n, "/v1/audit/proof/consistency",
        "/v1/audit/proof/consistency?old=1", "/v1/audit/proof/consistency?new=" + n,
        "/v1/audit/proof/consistency?old=0&new=" + n, "/v1/audit/proof/consistency?old=" + n + "&new=1",
        "/v1/audit/proof/consistency?old=1&new=" + over, "/v1/audit/proof/consistency?old=x&new=" + n};
  for (const std::string& target : bad) {
    auto r = s.call(viewer, "GET", target);
    INFO(target << " -> " << r.status << " " << r.body);
    CHECK(r.status == 400);
    CHECK(code_of(r) == "InvalidArgument");
  }
  auto missing = s.call(viewer, "GET", "/v1/audit/proof/inclusion?index=0");
  CHECK(json::parse(missing.body)["error"]["message"].get<std::string>().find("\"size\"") != std::string::npos);
  auto beyond = s.call(viewer, "GET", "/v1/audit/proof/inclusion?index=0&size=" + over);
  CHECK(json::parse(beyond.body)["error"]["message"].get<std::string>().find("log's size") != std::string::npos);

  for (const std::string target : {"/v1/audit/checkpoint", "/v1/audit/proof/inclusion?index=0&size=1",
                                   "/v1/audit/proof/consistency?old=1&new=1", "/v1/audit/bundle"}) {
    INFO(target);
    CHECK(test_support::http_call(s.port, "GET", target).status == 401);
    CHECK(s.call(fixed_secret("nobody"), "GET", target).status == 401);
  }
  CHECK(s.call(viewer, "GET", "/v1/audit/bundle").status == 403);  // needs admin:export
}

TEST_CASE("audit over http: the bundle streams chunked and verifies; each tenant's key sees only its own log",
          "[server][audit_http][isolation]") {
  Server s;
  const std::string alpha_canary = "alpha-canary-" + std::to_string(std::random_device{}());
  const std::string beta_canary = "beta-canary-" + std::to_string(std::random_device{}());
  post_document(s, fixed_secret("alphaAdmin"), alpha_canary);
  post_document(s, fixed_secret("betaAdmin"), beta_canary);

  struct Seen {
    std::string bundle;
    std::vector<audit::Hash> leaves;
    std::set<audit::Hash> proof_hashes;  // every leaf and path hash its proofs served
    std::uint64_t canary_index = 0;
  };
  std::map<std::string, Seen> seen;
  for (const std::string tenant : {"alpha", "beta"}) {
    const auto admin = fixed_secret(tenant + "Admin");
    auto streamed = fetch_bundle(s, admin);
    INFO(streamed.head);
    REQUIRE(streamed.complete);
    CHECK(streamed.head.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(streamed.head.find("Transfer-Encoding: chunked") != std::string::npos);
    CHECK(streamed.head.find("Content-Type: application/x-ndjson") != std::string::npos);
    CHECK(streamed.head.find(std::string(server::kVerifierKeyHeader) + ": " + s.platform->audit_verifier_key(TenantId(tenant))) !=
          std::string::npos);
    CHECK(streamed.chunks.size() >= 3);  // header, checkpoints, records: written as they are made
    Seen& mine = seen[tenant];
    mine.bundle = streamed.body();
    auto report = audit::verify_bundle(mine.bundle, TenantId(tenant), pinned(s, tenant));
    INFO((report ? "" : report.error().message()));
    REQUIRE(report.ok());
    CHECK_FALSE(audit::verify_bundle(mine.bundle, TenantId(tenant == "alpha" ? "beta" : "alpha"), pinned(s, tenant)).ok());
    // A whole-body client gets the same bundle (but for the Export events appended meanwhile).
    auto whole = s.call(admin, "GET", "/v1/audit/bundle");
    CHECK(whole.status == 200);
    CHECK(audit::verify_bundle(whole.body, TenantId(tenant), pinned(s, tenant)).ok());

    mine.leaves = bundle_leaves(mine.bundle);
    const auto cp = fetch_checkpoint(s, admin, tenant);
    for (std::uint64_t i = 0; i < cp.size; ++i) {
      auto r = s.call(admin, "GET", "/v1/audit/proof/inclusion?index=" + std::to_string(i) + "&size=" + std::to_string(cp.size));
      REQUIRE(r.status == 200);
      auto proof = json::parse(r.body);
      mine.proof_hashes.insert(hash_of(proof["leaf"]));
      for (const auto& h : path_of(proof["path"])) mine.proof_hashes.insert(h);
    }
  }
  // Find each canary's record: the event line naming it, and that record's leaf.
  auto canary_leaf = [&](const std::string& tenant, const std::string& canary) {
    std::istringstream lines(seen[tenant].bundle);
    for (std::string line; std::getline(lines, line);) {
      auto j = json::parse(line);
      if (j["type"] == "event" && line.find(canary) != std::string::npos) return seen[tenant].leaves.at(j["index"].get<std::size_t>());
    }
    FAIL("canary " << canary << " is not in " << tenant << "'s own bundle");
    return audit::Hash{};
  };
  const auto alpha_leaf = canary_leaf("alpha", alpha_canary);
  const auto beta_leaf = canary_leaf("beta", beta_canary);
  CHECK(seen["alpha"].proof_hashes.count(alpha_leaf) == 1);
  CHECK(seen["beta"].proof_hashes.count(beta_leaf) == 1);
  // Never the other's: not its text, not its record, not its leaf in any proof served.
  CHECK(seen["alpha"].bundle.find(beta_canary) == std::string::npos);
  CHECK(seen["beta"].bundle.find(alpha_canary) == std::string::npos);
  CHECK(seen["alpha"].bundle.find(audit::to_base64(beta_leaf.data(), beta_leaf.size())) == std::string::npos);
  CHECK(seen["alpha"].proof_hashes.count(beta_leaf) == 0);
  CHECK(seen["beta"].proof_hashes.count(alpha_leaf) == 0);
  CHECK(std::find(seen["alpha"].leaves.begin(), seen["alpha"].leaves.end(), beta_leaf) == seen["alpha"].leaves.end());
  CHECK(std::find(seen["beta"].leaves.begin(), seen["beta"].leaves.end(), alpha_leaf) == seen["beta"].leaves.end());
}

TEST_CASE("audit over http: a client that disconnects mid-bundle leaves the server serving", "[server][audit_http][concurrency]") {
  Server s;
  const auto admin = fixed_secret("alphaAdmin");
  // A log large enough that its bundle (several MB) cannot sit in the socket buffers at once.
  auto context = s.platform->authenticator().authenticate(admin).value();
  with_tenant(context, [&](auto scope) {
    for (int i = 0; i < 30000; ++i) {
      audit::AuditEvent e;
      e.target = "bulk-" + std::to_string(i);
      e.detail = std::string(64, 'd');
      (void)scope.release(s.platform->audit().append(scope, std::move(e)));
    }
  });
  for (int attempt = 0; attempt < 3; ++attempt) {
    test_support::RawConnection client(s.port);
    client.send("GET /v1/audit/bundle HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin + "\r\n\r\n");
    REQUIRE(client.read_until("\"type\":\"header\""));
    client.abort();
  }
  // The next requests work, and a complete bundle still verifies.
  CHECK(s.call(admin, "GET", "/v1/audit/checkpoint").status == 200);
  auto whole = s.call(admin, "GET", "/v1/audit/bundle");
  REQUIRE(whole.status == 200);
  auto report = audit::verify_bundle(whole.body, TenantId("alpha"), pinned(s, "alpha"));
  REQUIRE(report.ok());
  CHECK(report->events >= 30000);
}

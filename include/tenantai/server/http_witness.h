// The HTTP transport of a witness (C2SP tlog-witness): the audit layer's Witness reached with
// POST <path_prefix>/add-checkpoint over tenantai's HTTP client. In the server layer because the
// audit layer carries no transport (it builds and is fuzzed without one).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <functional>

#include "tenantai/audit/witness.h"
#include "tenantai/pipeline/tenant_config.h"
#include "tenantai/server/http_server.h"

namespace tenantai::server {

struct HttpWitnessOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string path_prefix{};  // e.g. "" or "/witness"
  std::chrono::milliseconds timeout{5000};  // connect + request + response
  std::string verifier_key{};               // the witness's cosigner key (required)
};

// A thread-safe Witness that never throws for a witness that is down or answers badly (see
// audit::Witness). InvalidArgument for a malformed verifier key or a zero port.
std::shared_ptr<audit::Witness> make_http_witness(HttpWitnessOptions options);

// Serves `service` on `http` as C2SP tlog-witness does: POST <prefix>/add-checkpoint, and for each
// of `logs` the monitoring GET <prefix>/<hex SHA-256 of origin>/checkpoint (the last cosigned
// note; 404 before one). `service` must outlive `http`'s serving. Call before http.start().
void add_witness_routes(HttpServer& http, audit::WitnessService& service, const std::vector<audit::WitnessedLog>& logs,
                        const std::string& prefix = "");

// A PlatformOptions::witness_connector reaching each witness a tenant's config names over HTTP.
std::function<std::shared_ptr<audit::Witness>(const pipeline::AuditWitnessConfig&)> http_witness_connector(
    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

}  // namespace tenantai::server

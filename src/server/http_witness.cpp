// A witness reached over HTTP (C2SP tlog-witness): POST <prefix>/add-checkpoint, then map the
// answer to a WitnessReply. A 200's signature lines are verified against the pinned witness key
// before they are returned; lines by other keys are dropped, as the spec asks of clients.
#include <sodium.h>

#include "audit/note_keys.h"
#include "audit/witness_request.h"
#include "tenantai/server/http_witness.h"
#include "tenantai/core/tenant_id.h"
#include "tenantai/server/http_client.h"

namespace tenantai::server {

using namespace tenantai::audit;

namespace {

using Status = WitnessReply::Status;

WitnessReply reply(Status status, int http_status, std::string message) {
  WitnessReply r;
  r.status = status;
  r.http_status = http_status;
  r.message = std::move(message);
  return r;
}

class HttpWitness final : public Witness {
 public:
  HttpWitness(HttpWitnessOptions options, CosignatureVerifier verifier)
      : options_(std::move(options)), verifier_(std::move(verifier)) {}

  const CosignatureVerifier& verifier() const override { return verifier_; }

  WitnessReply add_checkpoint(std::uint64_t old_size, const std::vector<Hash>& proof, std::string_view note) override {
    if (proof.size() > detail::kMaxProofLines) {
      return reply(Status::Refused, 0, "a consistency proof has at most 63 hashes, got " + std::to_string(proof.size()));
    }
    server::HttpCallOptions call;
    call.timeout = options_.timeout;
    call.content_type = "text/plain; charset=utf-8";
    const auto res = server::http_call(options_.host, options_.port, "POST", options_.path_prefix + "/add-checkpoint",
                                       detail::encode_add_checkpoint(old_size, proof, note), call);
    return interpret(res, note);
  }

 private:
  std::string who() const { return "witness " + verifier_.name() + " (" + options_.host + ":" + std::to_string(options_.port) + ")"; }

  WitnessReply interpret(const server::HttpCallResult& res, std::string_view note) const {
    const std::string detail = " " + escape_for_message(res.body, 200);
    if (res.status == 0) return reply(Status::Unavailable, 0, who() + ": no answer (down, unreachable or timed out)");
    if (res.status >= 500) return reply(Status::Unavailable, res.status, who() + ": server error" + detail);
    if (res.status == 200) return cosigned(res.body, note);
    if (res.status == 409) return conflict(res.body);
    return reply(Status::Refused, res.status, who() + " refused the checkpoint (HTTP " + std::to_string(res.status) + "):" + detail);
  }

  WitnessReply conflict(const std::string& body) const {
    std::uint64_t size = 0;
    if (body.empty() || body.back() != '\n' || !detail::parse_u64(std::string_view(body).substr(0, body.size() - 1), size)) {
      return reply(Status::Refused, 409, who() + ": 409 without a tree size body");
    }
    WitnessReply r = reply(Status::Conflict, 409, who() + " holds size " + std::to_string(size));
    r.witness_size = size;
    return r;
  }

  // Keeps the response lines by this witness's key that verify over `note`; Refused when a line
  // by this key does not verify, carries no timestamp, or none is there.
  WitnessReply cosigned(const std::string& body, std::string_view note) const {
    auto lines = detail::parse_signature_lines(body);
    if (!lines) return reply(Status::Refused, 200, who() + ": response is not signature lines");
    std::string ours;
    for (const auto& line : *lines) {
      const std::string text = std::string(detail::kSignatureLineStart) + std::string(line.name) + " " +
                               std::string(line.base64) + "\n";
      auto checked = verifier_.verify(std::string(note) + text);
      if (!checked && checked.error().code() == ErrorCode::NotFound) continue;  // another key's line
      if (!checked) return reply(Status::Refused, 200, who() + ": " + checked.error().message());
      if (*checked == 0) return reply(Status::Refused, 200, who() + ": cosignature without a timestamp");
      ours += text;
    }
    if (ours.empty()) return reply(Status::Refused, 200, who() + ": no cosignature by its key in the response");
    WitnessReply r = reply(Status::Cosigned, 200, who() + " cosigned");
    r.cosignature = std::move(ours);
    return r;
  }

  HttpWitnessOptions options_;
  CosignatureVerifier verifier_;
};

}  // namespace

std::shared_ptr<Witness> make_http_witness(HttpWitnessOptions options) {
  if (options.port == 0) throw Error(ErrorCode::InvalidArgument, "an HTTP witness needs a port");
  auto verifier = CosignatureVerifier::parse(options.verifier_key);
  if (!verifier) throw Error(ErrorCode::InvalidArgument, "witness key: " + verifier.error().message());
  return std::make_shared<HttpWitness>(std::move(options), std::move(*verifier));
}

std::function<std::shared_ptr<audit::Witness>(const pipeline::AuditWitnessConfig&)> http_witness_connector(
    std::chrono::milliseconds timeout) {
  return [timeout](const pipeline::AuditWitnessConfig& w) {
    return make_http_witness(
        {.host = w.host, .port = w.port, .path_prefix = w.path_prefix, .timeout = timeout, .verifier_key = w.verifier_key});
  };
}

namespace {

std::string origin_hash_hex(const std::string& origin) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(origin.data()), origin.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

HttpResponse plain(int status, std::string content_type, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

}  // namespace

void add_witness_routes(HttpServer& http, audit::WitnessService& service, const std::vector<audit::WitnessedLog>& logs,
                        const std::string& prefix) {
  http.route("POST", prefix + "/add-checkpoint", [&service](const HttpRequest& request) {
    auto r = service.add_checkpoint(request.body);
    return plain(r.status, r.content_type, r.body);
  });
  for (const auto& log : logs) {  // tlog-witness's monitoring GET
    const std::string origin = log.origin;
    http.route("GET", prefix + "/" + origin_hash_hex(origin) + "/checkpoint", [&service, origin](const HttpRequest&) {
      const std::string note = service.latest_note(origin);
      if (note.empty()) return plain(404, "text/plain; charset=utf-8", "no checkpoint cosigned yet\n");
      return plain(200, "text/plain; charset=utf-8", note);
    });
  }
}

}  // namespace tenantai::server

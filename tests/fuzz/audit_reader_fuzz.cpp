// libFuzzer target for everything that parses untrusted audit input: log bytes, export bundles,
// signed checkpoint notes, verifier keys and sealed-box headers. Must never crash or trip a
// sanitizer; every rejection is an ordinary tenantai error.
#include <tenantai/audit.h>
#include <tenantai/crypto/envelope_sealer.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace tenantai;
using namespace tenantai::audit;

// A fixed key, so the seed corpus (tests/fuzz/corpus, made with the same seed) has valid signatures.
const CheckpointSigner& signer() {
  static const CheckpointSigner s = CheckpointSigner::from_seed(std::string(32, '\x42'), "fuzz-log");
  return s;
}

const CheckpointVerifier& verifier() {
  static const CheckpointVerifier v = CheckpointVerifier::parse(signer().verifier_key()).value();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const TenantId tenant("fuzz-tenant");
  try {
    (void)verify_bundle(input, tenant, verifier());
    const Checkpoint trusted = signer().sign(origin_for(tenant), 3, leaf_hash(input.substr(0, 8)));
    (void)verify_log_bytes(input, tenant, trusted);
    (void)verifier().verify(input, origin_for(tenant));
    (void)CheckpointVerifier::parse(input);
    (void)crypto::EnvelopeSealer::version_of(input);
    (void)from_base64(input);
  } catch (const Error&) {
    // A thrown tenantai::Error is an accepted way to reject input.
  }
  return 0;
}

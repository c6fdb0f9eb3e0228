// Keyed BLAKE2b-256, eight messages per AVX-512 vector (see blake2b_lanes.h). avx512vl gives
// the single-instruction 64-bit rotate (vprorq).
#include "cache/blake2b_lanes.h"

namespace tenantai::cache::detail {

namespace {
typedef std::uint64_t LaneVec __attribute__((vector_size(64)));
constexpr std::size_t kLaneCount = 8;
}  // namespace

__attribute__((target("avx512f,avx512vl"))) void blake2b256_lanes_avx512(const std::uint64_t* chain,
                                                                          const std::string_view* messages,
                                                                          std::size_t count, Digest* out) noexcept {
#include "cache/blake2b_lanes_body.inc"
}

}  // namespace tenantai::cache::detail

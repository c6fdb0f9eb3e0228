// Keyed BLAKE2b-256, four messages per AVX2 vector (see blake2b_lanes.h).
#include "cache/blake2b_lanes.h"

namespace tenantai::cache::detail {

namespace {
typedef std::uint64_t LaneVec __attribute__((vector_size(32)));
constexpr std::size_t kLaneCount = 4;
}  // namespace

__attribute__((target("avx2"))) void blake2b256_lanes_avx2(const std::uint64_t* chain,
                                                            const std::string_view* messages, std::size_t count,
                                                            Digest* out) noexcept {
#include "cache/blake2b_lanes_body.inc"
}

}  // namespace tenantai::cache::detail

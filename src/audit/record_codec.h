// The stored record format of audit logs (internal; documented in docs/audit-format.md).
//
//   frame   := tag:u8 ('E' full | 'P' pruned) len:u32le payload[len] leaf:32
//   payload := format:u8(=1) flags:u8 (bit0 sealed) index:u64le time_ms:i64le event_id:u64le
//              tenant_len:u16le tenant body_len:u32le body
//   body    := sealed box, or clear: operation:u8 then 9 fields (actor, target, model, prompt
//              version, request id, status, input digest, output digest, detail), each
//              kind:u8 (0 raw: varint len + bytes | 1 lower hex: varint n + n bytes |
//              2 "sha256:"+hex64: 32 bytes)
// leaf = SHA-256(0x00 || payload) of the full record; a pruned frame keeps the payload header
// with body_len 0 and the original leaf.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/audit/event.h"
#include "tenantai/audit/merkle.h"

namespace tenantai::audit::detail {

inline constexpr char kFullTag = 'E';
inline constexpr char kPrunedTag = 'P';
inline constexpr std::size_t kFrameOverhead = 1 + 4 + 32;
inline constexpr std::uint32_t kMaxPayload = 16u << 20;  // 16 MiB: larger lengths are corruption

struct RecordHeader {
  bool sealed = false;
  std::uint64_t index = 0;
  std::int64_t timestamp_ms = 0;
  std::uint64_t event_id = 0;
  std::string_view tenant;
  std::string_view body;
};

// The clear body encoding of an event (timestamp excluded: it is in the header).
std::string encode_body(const AuditEvent& event);
// Decodes a clear body; nullopt when malformed.
std::optional<AuditEvent> decode_body(std::string_view body, std::int64_t timestamp_ms);

// Payload bytes for a record.
std::string encode_payload(const RecordHeader& header);
// Parses a payload; nullopt when malformed.
std::optional<RecordHeader> decode_payload(std::string_view payload);

// The bytes whose leaf_hash() is the record's Merkle leaf (what independent verifiers hash
// with RFC 6962 / tlog.RecordHash). Format 1: the payload of the full record.
std::string leaf_preimage(std::string_view payload);

// Appends a frame to `out`.
void append_frame(std::string& out, char tag, std::string_view payload, const Hash& leaf);

// One frame found by scan().
struct Frame {
  char tag = kFullTag;
  std::uint64_t offset = 0;  // of the tag byte
  std::string_view payload;
  Hash leaf{};
  RecordHeader header;
};

// Result of scanning a log's bytes.
struct Scan {
  std::vector<Frame> frames;      // the verified prefix (only when scanned with keep_frames)
  std::vector<Hash> leaves;       // leaf hash of every verified record
  std::uint64_t pruned = 0;       // verified records that are pruned
  std::uint64_t good_bytes = 0;   // bytes covered by `frames`
  bool torn = false;              // the bytes end in an incomplete or zero-filled frame
  std::optional<std::string> error;  // first integrity failure ("first bad index N: why")
  std::uint64_t error_index = 0;
};

// The framing of the frame that starts `bytes` (non-empty): tag and length only, no hashing.
struct FrameExtent {
  enum Kind { Complete, Torn, Bad } kind = Bad;
  std::size_t size = 0;  // Complete: the frame's byte length
  std::string why;       // Bad: what is wrong
};
FrameExtent frame_extent(std::string_view bytes);

// Checks records one by one, in index order, as scan() does; used over any LogStorage.
class Scanner {
 public:
  Scanner(std::string_view tenant, bool keep_frames) : tenant_(tenant), keep_frames_(keep_frames) {}
  // Checks one stored record (exactly one frame): framing, stored leaf == recomputed leaf (full
  // frames), index == position, tenant. Returns the frame (views into `frame`), or nullopt after
  // recording the failure in result().error; later calls then return nullopt.
  std::optional<Frame> add(std::string_view frame, std::uint64_t offset = 0);
  // Records a failure at the next index (e.g. unreadable framing reported by the storage).
  void fail(const std::string& why);
  bool failed() const noexcept { return scan_.error.has_value(); }
  Scan& result() noexcept { return scan_; }

 private:
  std::string_view tenant_;
  bool keep_frames_;
  Scan scan_;
};

// Checks every frame: framing, stored leaf == recomputed leaf (full frames), index == position,
// tenant == `tenant`. Stops at the first failure. An incomplete last frame (or a zero-filled
// tail) is reported as torn, not as an error. keep_frames=false keeps only leaves (faster).
Scan scan(std::string_view bytes, std::string_view tenant, bool keep_frames = true);

// Splits bytes already verified by scan() into frames (no hash or index checks). Throws
// Tampered if the framing is broken.
std::vector<Frame> split_frames(std::string_view bytes);

}  // namespace tenantai::audit::detail

// The stored record format of audit logs (internal; documented in docs/audit-format.md).
//
//   frame   := tag:u8 ('E' full | 'P' pruned) len:u32le payload[len] leaf:32
//   payload := header body            (a pruned frame keeps the header alone)
//   header (format 2, written since tenantai 0.4):
//              format:u8(=2) flags:u8 (bit0 sealed, bit1 clear digest) index:u64le
//              time_ms:i64le event_id:u64le tenant_len:u16le tenant body_len:u32le
//              body_digest:32 (SHA-256 of the stored body) [clear_digest:32 (SHA-256 of
//              salt || clear body, for sealed bodies)] auth:32 (keyed BLAKE2b-256 of the
//              header bytes before it, with the log's record key)
//   leaf    := SHA-256(0x00 || header), so the tree commits to every header field, the body
//              through its digest and the authenticator; pruning drops the body only.
//   format 1 (read only): payload := format:u8(=1) flags index time event_id tenant_len tenant
//              body_len body; leaf = SHA-256(0x00 || payload); a pruned frame's header is not
//              covered by its leaf.
//   body    := sealed box (of salt:16 || clear body, format 2), or clear: operation:u8 then 9
//              fields (actor, target, model, prompt version, request id, status, input
//              digest, output digest, detail), each kind:u8 (0 raw: varint len + bytes |
//              1 lower hex: varint n + n bytes | 2 "sha256:"+hex64: 32 bytes)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/audit/event.h"
#include "tenantai/audit/merkle.h"
#include "tenantai/crypto/key_lease.h"

namespace tenantai::audit::detail {

inline constexpr char kFullTag = 'E';
inline constexpr char kPrunedTag = 'P';
inline constexpr std::size_t kFrameOverhead = 1 + 4 + 32;
inline constexpr std::uint32_t kMaxPayload = 16u << 20;  // 16 MiB: larger lengths are corruption

inline constexpr std::uint8_t kLegacyFormat = 1;
inline constexpr std::uint8_t kRecordFormat = 2;
inline constexpr std::size_t kSaltSize = 16;  // prefix of a format-2 sealed body's clear text

struct RecordHeader {
  std::uint8_t format = kRecordFormat;
  bool sealed = false;
  std::uint64_t index = 0;
  std::int64_t timestamp_ms = 0;
  std::uint64_t event_id = 0;
  std::string_view tenant;
  std::string_view body;             // empty in a pruned record
  std::uint32_t body_len = 0;        // format 2: the stored body's length, also when pruned
  Hash body_digest{};                // format 2
  std::optional<Hash> clear_digest;  // format 2, sealed bodies: SHA-256(salt || clear body)
  Hash auth{};                       // format 2
  std::string_view header_bytes;     // format 2: the bytes the leaf hashes (views the payload)
};

// The bytes of a format-2 header before its authenticator are authenticated with this key
// (derived from the log's signing key, so whoever cannot sign cannot forge a record either).
Hash record_auth(const crypto::KeyLease& key, std::string_view header_before_auth) noexcept;
// Whether a format-2 record's authenticator is right under `key` (format 1: always false).
bool authentic(const RecordHeader& header, const crypto::KeyLease& key) noexcept;

// Format-2 payload (header + body) of a record: body digest computed here, authenticator under
// `key`. header.body, clear_digest and the fixed fields are read; the rest is ignored.
std::string encode_record(const RecordHeader& header, const crypto::KeyLease& key);
// The payload a pruned frame keeps: the header alone (format 2) or the header with body_len 0
// (format 1, whose leaf is then carried over, not recomputable).
std::string pruned_payload(const RecordHeader& header);

// The clear body encoding of an event (timestamp excluded: it is in the header).
std::string encode_body(const AuditEvent& event);
// Decodes a clear body; nullopt when malformed.
std::optional<AuditEvent> decode_body(std::string_view body, std::int64_t timestamp_ms);

// Format-1 payload bytes (no longer written by the log; kept for tests of old logs).
std::string encode_payload(const RecordHeader& header);
// Parses a payload; nullopt when malformed.
std::optional<RecordHeader> decode_payload(std::string_view payload);

// The bytes whose leaf_hash() is the record's Merkle leaf (what independent verifiers hash
// with RFC 6962 / tlog.RecordHash): format 2, the header; format 1, the full record's payload.
// Empty for a malformed payload.
std::string leaf_preimage(std::string_view payload);

// Appends a frame to `out`.
void append_frame(std::string& out, char tag, std::string_view payload, const Hash& leaf);

// One frame found by scan().
struct Frame {
  char tag = kFullTag;
  std::uint64_t offset = 0;  // of the tag byte
  std::size_t size() const noexcept { return kFrameOverhead + payload.size(); }
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
  // Checks one stored record (exactly one frame): framing, stored leaf == recomputed leaf (every
  // format-2 frame, format-1 full frames), body digest, index == position, tenant. Returns the frame (views into `frame`), or nullopt after
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

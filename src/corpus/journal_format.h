// The corpus journal's byte format (internal; docs/corpus-format.md is the contract).
//
//   file    := header frame* zero*   (the end is preallocated in chunks and zero until written)
//   header  := "TAICORP" 0x00 | version:u32le (= 1) | tenant_len:u16le | tenant
//   frame   := length:u32le | check:16 (BLAKE2b-128 of payload) | payload[length]
//   payload := kind:u8 (1 put, 2 remove) | flags:u8 (bit0 sealed) | sequence:u64le | body
//   body    := clear: KeyEncoder fields; sealed: an EnvelopeSealer box of the clear fields,
//              kind "corpus-record", object id = the sequence as 16 hex digits
//   put     := id, title, text, ACL set, metadata list (key, "i"|"s", value)*, vector bytes
//              (little-endian IEEE floats), content digest
//   remove  := id
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/corpus/corpus_store.h"

namespace tenantai::corpus::detail {

inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kCheckBytes = 16;
inline constexpr std::size_t kFrameOverhead = 4 + kCheckBytes;
inline constexpr std::uint32_t kMaxPayload = 64u << 20;  // larger lengths are corruption

// Little-endian integers, the frame check (BLAKE2b-128), zero runs: shared with the WAL.
void put_u16(std::string& out, std::uint16_t v);
void put_u32(std::string& out, std::uint32_t v);
void put_u64(std::string& out, std::uint64_t v);
template <typename T>
T get_le(std::string_view bytes, std::size_t at) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return v;
}
bool all_zero(std::string_view bytes);
void check_of(std::string_view payload, unsigned char* out);  // writes kCheckBytes bytes

enum class RecordKind : std::uint8_t { Put = 1, Remove = 2 };

std::string encode_header(std::string_view tenant);
// The header's length, or an error message (bad magic, unknown version, other tenant).
std::optional<std::size_t> decode_header(std::string_view bytes, std::string_view tenant, std::string& why);

// One record before framing.
struct Record {
  RecordKind kind = RecordKind::Put;
  bool sealed = false;
  std::uint64_t sequence = 0;
  std::string body;  // clear fields, or the sealed box
};
void append_frame(std::string& out, const Record& record);
// The bytes append_frame() writes for `record`.
inline std::size_t frame_size(const Record& record) { return kFrameOverhead + 10 + record.body.size(); }

// The result of scanning the frames after the header.
struct FrameScan {
  std::vector<Record> records;
  std::uint64_t good_bytes = 0;    // header + every complete, verified frame
  bool torn = false;               // the bytes end in an incomplete or unverifiable last frame
                                   // (only zeros, if anything, behind it)
  std::optional<std::string> error;  // a damaged frame with more data behind it
};
FrameScan scan_frames(std::string_view bytes, std::size_t header_bytes);

// Clear bodies.
std::string encode_put(const CorpusDocument& document, const std::string& digest);
std::string encode_remove(std::string_view id);
// nullopt when the fields do not form a record of that kind.
std::optional<std::pair<CorpusDocument, std::string>> decode_put(std::string_view body);
std::optional<std::string> decode_remove(std::string_view body);

// The sealed object id of a record (its sequence as 16 lower-case hex digits).
std::string object_id(std::uint64_t sequence);

}  // namespace tenantai::corpus::detail

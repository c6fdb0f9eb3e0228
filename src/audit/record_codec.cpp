#include "audit/record_codec.h"

#include <sodium.h>

#include <cstring>

namespace tenantai::audit::detail {

namespace {

template <typename T>
void put(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
}

template <typename T>
bool get(std::string_view& in, T& v) {
  if (in.size() < sizeof(T)) return false;
  std::uint64_t x = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) x |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  v = static_cast<T>(x);
  in.remove_prefix(sizeof(T));
  return true;
}

bool get_bytes(std::string_view& in, std::size_t n, std::string_view& out) {
  if (in.size() < n) return false;
  out = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool get_varint(std::string_view& in, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (in.empty()) return false;
    const auto byte = static_cast<unsigned char>(in[0]);
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (hex_value(c) < 0) return false;
  }
  return true;
}

void put_hex_bytes(std::string& out, std::string_view hex) {
  for (std::size_t i = 0; i < hex.size(); i += 2) out.push_back(static_cast<char>(hex_value(hex[i]) * 16 + hex_value(hex[i + 1])));
}

void get_hex_bytes(std::string_view raw, std::string& out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
}

constexpr std::string_view kSha256Prefix = "sha256:";

// Field encoding: kind byte, then 0 = varint length + bytes; 1 = lower-case hex stored as bytes
// (varint byte count); 2 = "sha256:" + 64 lower-case hex stored as 32 bytes. Digests and ids
// are most of an event, so this halves what is hashed and sealed per record. Exact round trip.
void put_string(std::string& out, std::string_view s) {
  if (s.size() == kSha256Prefix.size() + 64 && s.substr(0, kSha256Prefix.size()) == kSha256Prefix &&
      is_lower_hex(s.substr(kSha256Prefix.size()))) {
    out.push_back(2);
    put_hex_bytes(out, s.substr(kSha256Prefix.size()));
  } else if (s.size() >= 16 && s.size() % 2 == 0 && is_lower_hex(s)) {
    out.push_back(1);
    put_varint(out, s.size() / 2);
    put_hex_bytes(out, s);
  } else {
    out.push_back(0);
    put_varint(out, s.size());
    out.append(s);
  }
}

bool get_string(std::string_view& in, std::string& out) {
  std::uint8_t kind = 0;
  std::uint64_t n = 0;
  std::string_view bytes;
  if (!get(in, kind)) return false;
  switch (kind) {
    case 0:
      if (!get_varint(in, n) || !get_bytes(in, n, bytes)) return false;
      out.assign(bytes);
      return true;
    case 1:
      if (!get_varint(in, n) || n < 8 || !get_bytes(in, n, bytes)) return false;
      out.clear();
      get_hex_bytes(bytes, out);
      return true;
    case 2:
      if (!get_bytes(in, 32, bytes)) return false;
      out.assign(kSha256Prefix);
      get_hex_bytes(bytes, out);
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string encode_body(const AuditEvent& e) {
  std::string out;
  out.reserve(64 + e.actor.size() + e.target.size() + e.model_id.size() + e.prompt_version.size() +
              e.request_id.size() + e.status.size() + e.input_digest.size() + e.output_digest.size() + e.detail.size());
  out.push_back(static_cast<char>(e.operation));
  for (const std::string* s : {&e.actor, &e.target, &e.model_id, &e.prompt_version, &e.request_id, &e.status,
                               &e.input_digest, &e.output_digest, &e.detail}) {
    put_string(out, *s);
  }
  return out;
}

std::optional<AuditEvent> decode_body(std::string_view body, std::int64_t timestamp_ms) {
  AuditEvent e;
  std::uint8_t op = 0;
  if (!get(body, op) || op < static_cast<std::uint8_t>(Operation::Read) || op > static_cast<std::uint8_t>(Operation::Other)) {
    return std::nullopt;
  }
  e.operation = static_cast<Operation>(op);
  for (std::string* s : {&e.actor, &e.target, &e.model_id, &e.prompt_version, &e.request_id, &e.status,
                         &e.input_digest, &e.output_digest, &e.detail}) {
    if (!get_string(body, *s)) return std::nullopt;
  }
  if (!body.empty()) return std::nullopt;
  e.timestamp = std::chrono::system_clock::time_point(std::chrono::milliseconds(timestamp_ms));
  return e;
}

namespace {

Hash sha256(std::string_view bytes) noexcept {
  Hash out{};
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return out;
}

bool get_hash(std::string_view& in, Hash& out) {
  std::string_view bytes;
  if (!get_bytes(in, out.size(), bytes)) return false;
  std::memcpy(out.data(), bytes.data(), out.size());
  return true;
}

void put_hash(std::string& out, const Hash& h) { out.append(reinterpret_cast<const char*>(h.data()), h.size()); }

constexpr unsigned kSealedFlag = 1u;
constexpr unsigned kClearDigestFlag = 2u;

// The fields every format shares, up to the tenant id; `in` is left after them.
bool get_common(std::string_view& in, RecordHeader& h, std::uint8_t& flags) {
  std::uint64_t ts = 0;
  std::uint16_t tenant_len = 0;
  if (!get(in, h.format) || !get(in, flags) || !get(in, h.index) || !get(in, ts) || !get(in, h.event_id) ||
      !get(in, tenant_len) || !get_bytes(in, tenant_len, h.tenant)) {
    return false;
  }
  h.sealed = (flags & kSealedFlag) != 0;
  h.timestamp_ms = static_cast<std::int64_t>(ts);
  return true;
}

void put_common(std::string& out, std::uint8_t format, std::uint8_t flags, const RecordHeader& h) {
  out.push_back(static_cast<char>(format));
  out.push_back(static_cast<char>(flags));
  put<std::uint64_t>(out, h.index);
  put<std::uint64_t>(out, static_cast<std::uint64_t>(h.timestamp_ms));
  put<std::uint64_t>(out, h.event_id);
  put<std::uint16_t>(out, static_cast<std::uint16_t>(h.tenant.size()));
  out.append(h.tenant);
}

std::optional<RecordHeader> decode_legacy(std::string_view in) {
  RecordHeader h;
  std::uint8_t flags = 0;
  std::uint32_t body_len = 0;
  if (!get_common(in, h, flags) || (flags & ~kSealedFlag) != 0 || !get(in, body_len) ||
      !get_bytes(in, body_len, h.body) || !in.empty()) {
    return std::nullopt;
  }
  h.body_len = body_len;
  return h;
}

std::optional<RecordHeader> decode_v2(std::string_view payload) {
  RecordHeader h;
  std::string_view in = payload;
  std::uint8_t flags = 0;
  Hash clear{};
  if (!get_common(in, h, flags) || (flags & ~(kSealedFlag | kClearDigestFlag)) != 0 || !get(in, h.body_len) ||
      !get_hash(in, h.body_digest) || ((flags & kClearDigestFlag) != 0 && !get_hash(in, clear)) ||
      !get_hash(in, h.auth)) {
    return std::nullopt;
  }
  if ((flags & kClearDigestFlag) != 0) {
    if (!h.sealed) return std::nullopt;  // only a sealed body has a clear digest
    h.clear_digest = clear;
  }
  h.header_bytes = payload.substr(0, payload.size() - in.size());
  if (!in.empty() && in.size() != h.body_len) return std::nullopt;  // a body is whole or absent
  h.body = in;
  return h;
}

}  // namespace

std::string encode_payload(const RecordHeader& h) {
  std::string out;
  out.reserve(32 + h.tenant.size() + h.body.size());
  put_common(out, kLegacyFormat, h.sealed ? kSealedFlag : 0u, h);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(h.body.size()));
  out.append(h.body);
  return out;
}

std::optional<RecordHeader> decode_payload(std::string_view in) {
  if (in.empty()) return std::nullopt;
  if (static_cast<std::uint8_t>(in[0]) == kLegacyFormat) return decode_legacy(in);
  if (static_cast<std::uint8_t>(in[0]) == kRecordFormat) return decode_v2(in);
  return std::nullopt;
}

Hash record_auth(const crypto::KeyLease& key, std::string_view header_before_auth) noexcept {
  Hash out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(header_before_auth.data()),
                     header_before_auth.size(), key.data(), key.size());
  return out;
}

bool authentic(const RecordHeader& h, const crypto::KeyLease& key) noexcept {
  if (h.format != kRecordFormat || h.header_bytes.size() < 32) return false;
  const Hash expected = record_auth(key, h.header_bytes.substr(0, h.header_bytes.size() - 32));
  return sodium_memcmp(expected.data(), h.auth.data(), expected.size()) == 0;
}

std::string encode_record(const RecordHeader& h, const crypto::KeyLease& key) {
  std::string out;
  out.reserve(128 + h.tenant.size() + h.body.size());
  const std::uint8_t flags = static_cast<std::uint8_t>((h.sealed ? kSealedFlag : 0u) |
                                                       (h.clear_digest ? kClearDigestFlag : 0u));
  put_common(out, kRecordFormat, flags, h);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(h.body.size()));
  put_hash(out, sha256(h.body));
  if (h.clear_digest) put_hash(out, *h.clear_digest);
  put_hash(out, record_auth(key, out));
  out.append(h.body);
  return out;
}

std::string pruned_payload(const RecordHeader& h) {
  if (h.format == kRecordFormat) return std::string(h.header_bytes);
  RecordHeader legacy = h;
  legacy.body = {};
  return encode_payload(legacy);
}

std::string leaf_preimage(std::string_view payload) {
  const auto header = decode_payload(payload);
  if (!header) return {};
  return std::string(header->format == kRecordFormat ? header->header_bytes : payload);
}

void append_frame(std::string& out, char tag, std::string_view payload, const Hash& leaf) {
  out.push_back(tag);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(payload.size()));
  out.append(payload);
  out.append(reinterpret_cast<const char*>(leaf.data()), leaf.size());
}

FrameExtent frame_extent(std::string_view bytes) {
  FrameExtent x;
  const char tag = bytes[0];
  if (tag == '\0' && bytes.find_first_not_of('\0') == std::string_view::npos) {
    x.kind = FrameExtent::Torn;  // zero-filled tail left by a crash
    return x;
  }
  if (tag != kFullTag && tag != kPrunedTag) {
    x.why = "unknown record tag";
    return x;
  }
  std::string_view cursor = bytes.substr(1);
  std::uint32_t len = 0;
  if (!get(cursor, len)) {
    x.kind = FrameExtent::Torn;
    return x;
  }
  if (len > kMaxPayload) {
    x.why = "record length " + std::to_string(len) + " is implausible";
    return x;
  }
  x.kind = cursor.size() < static_cast<std::size_t>(len) + 32 ? FrameExtent::Torn : FrameExtent::Complete;
  x.size = kFrameOverhead + len;
  return x;
}

namespace {

// What is wrong with a decoded frame's hashes, if anything.
std::optional<std::string> integrity_error(char tag, std::string_view payload, const Hash& stored_leaf,
                                           const RecordHeader& h) {
  const bool pruned = tag == kPrunedTag;
  if (h.format == kLegacyFormat) {
    if (!pruned && leaf_hash(payload) != stored_leaf) return "stored bytes do not match the record's leaf hash";
    if (pruned && !h.body.empty()) return "pruned record still has a body";
    return std::nullopt;
  }
  if (leaf_hash(h.header_bytes) != stored_leaf) return "stored header does not match the record's leaf hash";
  if (pruned != h.body.empty() && h.body_len > 0) {
    return pruned ? "pruned record still has a body" : "record lost its body without being pruned";
  }
  if (!pruned && sha256(h.body) != h.body_digest) return "stored body does not match the digest its header commits to";
  return std::nullopt;
}

}  // namespace

void Scanner::fail(const std::string& why) {
  if (failed()) return;
  scan_.error_index = scan_.leaves.size();
  scan_.error = "first bad index " + std::to_string(scan_.leaves.size()) + ": " + why;
}

std::optional<Frame> Scanner::add(std::string_view bytes, std::uint64_t offset) {
  if (failed()) return std::nullopt;
  if (bytes.empty()) {
    fail("empty record");
    return std::nullopt;
  }
  const FrameExtent extent = frame_extent(bytes);
  if (extent.kind != FrameExtent::Complete || extent.size != bytes.size()) {
    fail(extent.kind == FrameExtent::Bad ? extent.why : "record framing does not match its stored size");
    return std::nullopt;
  }
  Frame f;
  f.tag = bytes[0];
  f.offset = offset;
  f.payload = bytes.substr(5, bytes.size() - kFrameOverhead);
  std::memcpy(f.leaf.data(), bytes.data() + 5 + f.payload.size(), 32);
  if (!f.payload.empty() && f.payload[0] != kLegacyFormat && f.payload[0] != kRecordFormat) {
    fail("record format version " + std::to_string(static_cast<unsigned char>(f.payload[0])) +
         " is not supported (this build reads versions 1 and 2)");
    return std::nullopt;
  }
  auto header = decode_payload(f.payload);
  if (!header) {
    fail("malformed record");
    return std::nullopt;
  }
  if (auto why = integrity_error(f.tag, f.payload, f.leaf, *header)) {
    fail(*why);
    return std::nullopt;
  }
  if (header->index != scan_.leaves.size()) {
    fail("record says index " + std::to_string(header->index) + " (deleted, duplicated or reordered)");
    return std::nullopt;
  }
  if (header->tenant != tenant_) {
    fail("record belongs to tenant \"" + escape_for_message(header->tenant) + "\"");
    return std::nullopt;
  }
  f.header = *header;
  scan_.leaves.push_back(f.leaf);
  if (f.tag == kPrunedTag) ++scan_.pruned;
  if (keep_frames_) scan_.frames.push_back(f);
  scan_.good_bytes = offset + bytes.size();
  return f;
}

Scan scan(std::string_view bytes, std::string_view tenant, bool keep_frames) {
  Scanner scanner(tenant, keep_frames);
  scanner.result().leaves.reserve(bytes.size() / (kFrameOverhead + 64));  // records are rarely smaller
  std::uint64_t pos = 0;
  while (pos < bytes.size() && !scanner.failed()) {
    const FrameExtent extent = frame_extent(bytes.substr(pos));
    if (extent.kind == FrameExtent::Torn) {
      scanner.result().torn = true;
      break;
    }
    if (extent.kind == FrameExtent::Bad) {
      scanner.fail(extent.why + " at byte " + std::to_string(pos));
      break;
    }
    scanner.add(bytes.substr(pos, extent.size), pos);
    pos += extent.size;
  }
  return std::move(scanner.result());
}

std::vector<Frame> split_frames(std::string_view bytes) {
  std::vector<Frame> out;
  std::uint64_t pos = 0;
  while (pos < bytes.size()) {
    std::string_view cursor = bytes.substr(pos + 1);
    std::uint32_t len = 0;
    Frame f;
    f.tag = bytes[pos];
    f.offset = pos;
    if (!get(cursor, len) || cursor.size() < static_cast<std::size_t>(len) + 32) {
      throw Error(ErrorCode::Tampered, "audit record framing broken at byte " + std::to_string(pos));
    }
    f.payload = cursor.substr(0, len);
    std::memcpy(f.leaf.data(), cursor.data() + len, 32);
    auto header = decode_payload(f.payload);
    if (!header) throw Error(ErrorCode::Tampered, "malformed audit record at byte " + std::to_string(pos));
    f.header = *header;
    out.push_back(f);
    pos += kFrameOverhead + len;
  }
  return out;
}

}  // namespace tenantai::audit::detail

#include "corpus/journal_format.h"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "tenantai/core/key_encoding.h"

namespace tenantai::corpus::detail {

void put_u16(std::string& out, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
bool all_zero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == '\0'; });
}

void check_of(std::string_view payload, unsigned char* out) {
  crypto_generichash(out, kCheckBytes, reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), nullptr, 0);
}

namespace {

constexpr std::string_view kMagic{"TAICORP\0", 8};

// The canonical content fields, shared by the digest and the stored body.
KeyEncoder content_fields(const CorpusDocument& d) {
  KeyEncoder e("tenantai.corpus.document/v1");
  e.add(d.id).add(d.title).add(d.text).add_set(d.acl_groups);
  std::vector<std::string> metadata;
  for (const auto& [key, value] : d.metadata) {
    metadata.push_back(key);
    if (const auto* n = std::get_if<std::int64_t>(&value)) {
      metadata.push_back("i");
      metadata.push_back(std::to_string(*n));
    } else {
      metadata.push_back("s");
      metadata.push_back(std::get<std::string>(value));
    }
  }
  e.add_list(metadata);
  std::string vector(d.vector.size() * sizeof(float), '\0');
  for (std::size_t i = 0; i < d.vector.size(); ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &d.vector[i], sizeof bits);
    for (int b = 0; b < 4; ++b) vector[i * 4 + static_cast<std::size_t>(b)] = static_cast<char>(bits >> (8 * b));
  }
  e.add(vector);
  return e;
}

bool parse_count(const std::string& field, std::size_t& out) {
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), out);
  return error == std::errc() && end == field.data() + field.size();
}

// Reads a counted list starting at fields[at]; advances `at`.
bool take_list(const std::vector<std::string>& fields, std::size_t& at, std::vector<std::string>& out) {
  std::size_t count = 0;
  if (at >= fields.size() || !parse_count(fields[at], count) || count > fields.size() - at - 1) return false;
  out.assign(fields.begin() + static_cast<std::ptrdiff_t>(at + 1), fields.begin() + static_cast<std::ptrdiff_t>(at + 1 + count));
  at += 1 + count;
  return true;
}

bool decode_vector(const std::string& bytes, std::vector<float>& out) {
  if (bytes.size() % 4 != 0) return false;
  out.resize(bytes.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) bits |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i * 4 + static_cast<std::size_t>(b)])) << (8 * b);
    std::memcpy(&out[i], &bits, sizeof bits);
  }
  return true;
}

bool decode_metadata(const std::vector<std::string>& flat, retrieval::Metadata& out) {
  if (flat.size() % 3 != 0) return false;
  for (std::size_t i = 0; i < flat.size(); i += 3) {
    if (flat[i + 1] == "i") {
      std::int64_t n = 0;
      const auto& text = flat[i + 2];
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (error != std::errc() || end != text.data() + text.size()) return false;
      out.emplace(flat[i], n);
    } else if (flat[i + 1] == "s") {
      out.emplace(flat[i], flat[i + 2]);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string encode_header(std::string_view tenant) {
  std::string out(kMagic);
  put_u32(out, kFormatVersion);
  put_u16(out, static_cast<std::uint16_t>(tenant.size()));
  out.append(tenant);
  return out;
}

std::optional<std::size_t> decode_header(std::string_view bytes, std::string_view tenant, std::string& why) {
  if (bytes.size() < kMagic.size() + 6 || bytes.substr(0, kMagic.size()) != kMagic) {
    why = "not a tenantai corpus journal (bad magic)";
    return std::nullopt;
  }
  const auto version = get_le<std::uint32_t>(bytes, kMagic.size());
  if (version != kFormatVersion) {
    why = "corpus format version " + std::to_string(version) + " is not supported (this build reads version " +
          std::to_string(kFormatVersion) + ")";
    return std::nullopt;
  }
  const std::size_t length = get_le<std::uint16_t>(bytes, kMagic.size() + 4);
  const std::size_t header = kMagic.size() + 6 + length;
  if (bytes.size() < header || bytes.substr(kMagic.size() + 6, length) != tenant) {
    why = "the journal belongs to another tenant";
    return std::nullopt;
  }
  return header;
}

void append_frame(std::string& out, const Record& record) {
  std::string payload;
  payload.reserve(10 + record.body.size());
  payload.push_back(static_cast<char>(record.kind));
  payload.push_back(static_cast<char>(record.sealed ? 1 : 0));
  put_u64(payload, record.sequence);
  payload += record.body;
  unsigned char check[kCheckBytes];
  check_of(payload, check);
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  out.append(reinterpret_cast<const char*>(check), kCheckBytes);
  out += payload;
}

FrameScan scan_frames(std::string_view bytes, std::size_t header_bytes) {
  FrameScan scan;
  std::size_t at = header_bytes;
  scan.good_bytes = at;
  while (at < bytes.size()) {
    if (all_zero(bytes.substr(at))) break;  // the preallocated, never written end of the file
    if (bytes.size() - at < kFrameOverhead + 10) {
      scan.torn = true;
      break;
    }
    const std::uint32_t length = get_le<std::uint32_t>(bytes, at);
    const bool fits = length >= 10 && length <= kMaxPayload && bytes.size() - at - kFrameOverhead >= length;
    std::string_view payload = fits ? bytes.substr(at + kFrameOverhead, length) : std::string_view();
    unsigned char check[kCheckBytes];
    if (fits) check_of(payload, check);
    const bool verified = fits && std::memcmp(check, bytes.data() + at + 4, kCheckBytes) == 0;
    const std::size_t end = fits ? at + kFrameOverhead + length : bytes.size();
    if (!verified) {
      // The last frame of the file may be half-written (a crash mid-append); one with more
      // frames behind it is damage, not a crash.
      if (end >= bytes.size() || all_zero(bytes.substr(end))) scan.torn = true;
      else scan.error = "record at byte " + std::to_string(at) + " fails its checksum";
      break;
    }
    const auto kind = static_cast<unsigned char>(payload[0]);
    if (kind != static_cast<unsigned char>(RecordKind::Put) && kind != static_cast<unsigned char>(RecordKind::Remove)) {
      scan.error = "record at byte " + std::to_string(at) + " has unknown kind " + std::to_string(kind);
      break;
    }
    Record record;
    record.kind = static_cast<RecordKind>(kind);
    record.sealed = (static_cast<unsigned char>(payload[1]) & 1) != 0;
    record.sequence = get_le<std::uint64_t>(payload, 2);
    record.body = std::string(payload.substr(10));
    scan.records.push_back(std::move(record));
    at = end;
    scan.good_bytes = at;
  }
  return scan;
}

std::string encode_put(const CorpusDocument& document, const std::string& digest) {
  return content_fields(document).add(digest).take();
}

std::string encode_remove(std::string_view id) { return KeyEncoder("tenantai.corpus.remove/v1").add(id).take(); }

std::optional<std::pair<CorpusDocument, std::string>> decode_put(std::string_view body) {
  std::vector<std::string> fields;
  if (!decode_fields(body, fields) || fields.size() < 6 || fields[0] != "tenantai.corpus.document/v1") return std::nullopt;
  CorpusDocument d;
  d.id = fields[1];
  d.title = fields[2];
  d.text = fields[3];
  std::size_t at = 4;
  std::vector<std::string> metadata;
  if (!take_list(fields, at, d.acl_groups) || !take_list(fields, at, metadata)) return std::nullopt;
  if (fields.size() != at + 2 || !decode_metadata(metadata, d.metadata) || !decode_vector(fields[at], d.vector)) {
    return std::nullopt;
  }
  return std::make_pair(std::move(d), fields[at + 1]);
}

std::optional<std::string> decode_remove(std::string_view body) {
  std::vector<std::string> fields;
  if (!decode_fields(body, fields) || fields.size() != 2 || fields[0] != "tenantai.corpus.remove/v1") return std::nullopt;
  return fields[1];
}

std::string object_id(std::uint64_t sequence) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, sequence >>= 4) out[static_cast<std::size_t>(i)] = kDigits[sequence & 15];
  return out;
}

}  // namespace tenantai::corpus::detail

namespace tenantai::corpus {

std::string content_digest(const CorpusDocument& document) {
  const std::string bytes = detail::content_fields(document).take();
  unsigned char digest[32];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex, 64);
}

}  // namespace tenantai::corpus

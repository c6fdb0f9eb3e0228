#include "audit/file_format.h"

#include <charconv>

namespace tenantai::audit::detail {

namespace {

constexpr std::string_view kLogMagic = "\x89TAUDIT\n";
constexpr std::string_view kCheckpointsMagic = "tenantai.audit.checkpoints ";

std::uint16_t get_u16(std::string_view bytes, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[at]) |
                                    static_cast<unsigned char>(bytes[at + 1]) << 8);
}

void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}

[[noreturn]] void unknown_version(const std::filesystem::path& path, std::string_view what, std::uint64_t found,
                                  std::uint16_t newest) {
  throw Error(ErrorCode::StorageFailure, std::string(what) + " " + path.string() + " has format version " +
                                             std::to_string(found) + "; this build reads versions 0 to " +
                                             std::to_string(newest) + " (written by a newer release?)");
}

void check_tenant(std::string_view found, const TenantId& tenant, const std::filesystem::path& path) {
  if (found != tenant.view()) {
    throw Error(ErrorCode::IsolationViolation, path.string() + " belongs to tenant \"" + escape_for_message(found) +
                                                   "\", not \"" + tenant.str() + "\" (copied or renamed?)");
  }
}

}  // namespace

std::string log_header(const TenantId& tenant) {
  std::string out(kLogMagic);
  put_u16(out, kLogFormat);
  put_u16(out, static_cast<std::uint16_t>(tenant.str().size()));
  out += tenant.str();
  return out;
}

std::string checkpoints_header(const TenantId& tenant) {
  return std::string(kCheckpointsMagic) + std::to_string(kCheckpointsFormat) + " " + tenant.str() + "\n";
}

FileHeader parse_log_header(std::string_view bytes, const TenantId& tenant, const std::filesystem::path& path) {
  if (bytes.substr(0, kLogMagic.size()) != kLogMagic) return {};  // format 0: records from byte 0
  constexpr std::size_t kFixed = kLogMagic.size() + 4;
  if (bytes.size() < kFixed) throw Error(ErrorCode::Tampered, "audit log " + path.string() + ": truncated header");
  const std::uint16_t version = get_u16(bytes, kLogMagic.size());
  if (version == 0 || version > kLogFormat) unknown_version(path, "audit log", version, kLogFormat);
  const std::size_t tenant_len = get_u16(bytes, kLogMagic.size() + 2);
  if (bytes.size() < kFixed + tenant_len) {
    throw Error(ErrorCode::Tampered, "audit log " + path.string() + ": truncated header");
  }
  check_tenant(bytes.substr(kFixed, tenant_len), tenant, path);
  return {version, kFixed + tenant_len};
}

FileHeader parse_checkpoints_header(std::string_view bytes, const TenantId& tenant,
                                    const std::filesystem::path& path) {
  if (bytes.substr(0, kCheckpointsMagic.size()) != kCheckpointsMagic) return {};  // format 0
  const auto nl = bytes.find('\n');
  const auto line = bytes.substr(kCheckpointsMagic.size(), nl == std::string_view::npos ? 0 : nl - kCheckpointsMagic.size());
  const auto space = line.find(' ');
  std::uint64_t version = 0;
  const auto digits = line.substr(0, space);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (nl == std::string_view::npos || space == std::string_view::npos || digits.empty() || ec != std::errc() ||
      end != digits.data() + digits.size()) {
    throw Error(ErrorCode::Tampered, "audit checkpoints " + path.string() + ": malformed header");
  }
  if (version == 0 || version > kCheckpointsFormat) unknown_version(path, "audit checkpoints", version, kCheckpointsFormat);
  check_tenant(line.substr(space + 1), tenant, path);
  return {static_cast<std::uint16_t>(version), nl + 1};
}

}  // namespace tenantai::audit::detail

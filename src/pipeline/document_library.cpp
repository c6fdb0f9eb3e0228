#include "tenantai/pipeline/document_library.h"

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

namespace tenantai::pipeline {

namespace {
constexpr std::string_view kKind = "document";

bool visible_to(const TenantContext& context, const std::vector<std::string>& acl_groups) {
  if (acl_groups.empty()) return true;
  return std::any_of(acl_groups.begin(), acl_groups.end(),
                     [&](const std::string& group) { return context.in_group(group); });
}

bool may_write_any(const TenantContext& context) {
  return context.is_system() || context.has_capability(kWriteAnyCapability);
}

// Throws PermissionDenied when the actor lacks one of `acl_groups`.
void require_groups(const TenantContext& context, const std::string& id, const std::vector<std::string>& acl_groups,
                    std::string_view which) {
  for (const auto& group : acl_groups) {
    if (!context.in_group(group)) {
      throw Error(ErrorCode::PermissionDenied,
                  "actor \"" + escape_for_message(context.actor()) + "\" may not write document \"" +
                      escape_for_message(id) + "\": " + std::string(which) + " ACL group \"" + escape_for_message(group) +
                      "\" is not one of the actor's groups (capability " + std::string(kWriteAnyCapability) +
                      " lifts this)");
    }
  }
}
}  // namespace

void DocumentLibrary::check_write_locked(const TenantContext& context, const Partition& partition, const std::string& id,
                                         const std::vector<std::string>& acl_groups) {
  if (may_write_any(context)) return;
  require_groups(context, id, acl_groups, "its");
  auto existing = partition.entries.find(id);
  if (existing != partition.entries.end()) require_groups(context, id, existing->second.acl_groups, "the existing document's");
}

void DocumentLibrary::check_write_impl(const TenantContext& context, const Partition* partition, const std::string& id,
                                       const std::vector<std::string>& acl_groups) {
  if (partition == nullptr) {
    if (!may_write_any(context)) require_groups(context, id, acl_groups, "its");
    return;
  }
  std::shared_lock lock(partition->mutex);
  check_write_locked(context, *partition, id, acl_groups);
}

void DocumentLibrary::put_impl(const TenantContext& context, Partition& partition, StoredText document,
                               bool seal) {
  if (document.id.empty()) throw Error(ErrorCode::InvalidArgument, "document id must not be empty");
  Entry entry;
  entry.acl_groups = std::move(document.acl_groups);
  if (seal) {
    if (sealer_ == nullptr) {
      throw Error(ErrorCode::CryptoFailure, "document library has no sealer but the tenant requires encryption");
    }
    const std::string plain = nlohmann::json{{"title", document.title}, {"text", document.text}}.dump();
    entry.body = sealer_->seal(context, kKind, document.id, plain);
    entry.sealed = true;
  } else {
    entry.title = std::move(document.title);
    entry.body = std::move(document.text);
  }
  std::unique_lock lock(partition.mutex);
  check_write_locked(context, partition, document.id, entry.acl_groups);
  partition.entries.insert_or_assign(document.id, std::move(entry));
}

StoredText DocumentLibrary::open_entry(const TenantContext& context, const std::string& id,
                                       const Entry& entry) const {
  StoredText out;
  out.id = id;
  out.acl_groups = entry.acl_groups;
  if (!entry.sealed) {
    out.title = entry.title;
    out.text = entry.body;
    return out;
  }
  if (sealer_ == nullptr) throw Error(ErrorCode::CryptoFailure, "document library has no sealer to open " + id);
  auto plain = sealer_->open(context, kKind, id, entry.body);
  if (!plain) throw plain.error();
  const auto json = nlohmann::json::parse(*plain, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("text")) {
    throw Error(ErrorCode::Tampered, "sealed document " + id + " does not hold a document");
  }
  out.title = json.value("title", "");
  out.text = json["text"].get<std::string>();
  return out;
}

std::vector<StoredText> DocumentLibrary::get_impl(const TenantContext& context, const Partition& partition,
                                                  const std::vector<std::string>& ids) const {
  std::vector<std::pair<std::string, Entry>> found;
  {
    std::shared_lock lock(partition.mutex);
    for (const auto& id : ids) {
      auto it = partition.entries.find(id);
      if (it != partition.entries.end() && visible_to(context, it->second.acl_groups)) found.emplace_back(id, it->second);
    }
  }
  std::vector<StoredText> out;
  out.reserve(found.size());
  for (const auto& [id, entry] : found) out.push_back(open_entry(context, id, entry));
  return out;
}

std::vector<StoredText> DocumentLibrary::all_impl(const TenantContext& context, const Partition& partition) const {
  std::vector<std::pair<std::string, Entry>> found;
  {
    std::shared_lock lock(partition.mutex);
    found.assign(partition.entries.begin(), partition.entries.end());
  }
  std::vector<StoredText> out;
  out.reserve(found.size());
  for (const auto& [id, entry] : found) out.push_back(open_entry(context, id, entry));
  return out;
}

bool DocumentLibrary::remove_impl(const TenantContext& context, Partition& partition, const std::string& id) {
  std::unique_lock lock(partition.mutex);
  auto it = partition.entries.find(id);
  if (it == partition.entries.end()) return false;
  check_write_locked(context, partition, id, {});
  partition.entries.erase(it);
  return true;
}

std::size_t DocumentLibrary::size_of(const Partition& partition) {
  std::shared_lock lock(partition.mutex);
  return partition.entries.size();
}

}  // namespace tenantai::pipeline

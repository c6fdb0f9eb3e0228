// DocumentLibrary: the text of each tenant's ingested documents (the vectors live in the
// VectorStore under the same ids). One hard partition per tenant; texts of tenants that
// require encryption are stored sealed with the tenant's key, so crypto-shredding the key makes
// them unreadable even before the partition is dropped.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/scope.h"
#include "tenantai/core/tenant_partitions.h"
#include "tenantai/crypto/sealer.h"

namespace tenantai::pipeline {

// Capability that lets an actor write documents of ACL groups it does not hold (bulk loaders).
inline constexpr std::string_view kWriteAnyCapability = "documents:write-any";

// One document as the library returns it. Plain value type.
struct StoredText {
  std::string id;
  std::string title;
  std::string text;
  std::vector<std::string> acl_groups;  // empty: every actor of the tenant may read it
};

// Thread-safe (one lock per tenant partition). Not copyable.
class DocumentLibrary {
 public:
  // `sealer` (not owned, must outlive the library) is used for tenants whose `seal` flag is set
  // in put(); nullptr: nothing can be sealed (put with seal = true throws CryptoFailure).
  explicit DocumentLibrary(crypto::Sealer* sealer) : sealer_(sealer) {}

  // Writes are access-checked like reads: the scope's actor may create or replace a document
  // only when it holds every ACL group of the new document and of the one it replaces (an empty
  // ACL needs none), or has kWriteAnyCapability, or is a system visit. Throws PermissionDenied
  // naming the document and the missing group otherwise; nothing changes then.
  template <typename Tag>
  void check_write(const TenantScope<Tag>& scope, const std::string& id, const std::vector<std::string>& acl_groups) const {
    auto partition = partitions_.find(scope);
    check_write_impl(scope.context(), partition.get(), id, acl_groups);
  }

  // Stores (or replaces) a document of the scope's tenant after check_write's check, made
  // atomically with the write. With `seal`, the text and title are sealed with the tenant's key
  // (kind "document", object id = the document id). Throws PermissionDenied or the sealer's
  // CryptoFailure (e.g. destroyed key); nothing changes then.
  template <typename Tag>
  void put(const TenantScope<Tag>& scope, StoredText document, bool seal) {
    put_impl(scope.context(), *partitions_.get_or_create(scope), std::move(document), seal);
  }

  // The documents with these ids that the scope's actor may read (ACL), in the order asked;
  // ids that do not exist or are not visible are skipped. Sealed texts are opened (Tampered /
  // CryptoFailure thrown, never skipped silently).
  template <typename Tag>
  Scoped<std::vector<StoredText>, Tag> get(const TenantScope<Tag>& scope, const std::vector<std::string>& ids) const {
    auto partition = partitions_.find(scope);
    if (!partition) return scope.bind(std::vector<StoredText>{});
    return scope.bind(get_impl(scope.context(), *partition, ids));
  }

  // Every document of the tenant regardless of ACL, for export by a tenant admin (the caller
  // checks the capability). Sorted by id.
  template <typename Tag>
  Scoped<std::vector<StoredText>, Tag> all(const TenantScope<Tag>& scope) const {
    auto partition = partitions_.find(scope);
    if (!partition) return scope.bind(std::vector<StoredText>{});
    return scope.bind(all_impl(scope.context(), *partition));
  }

  // Removes one document if the scope's actor may write it (check_write's rule, against the
  // document's ACL); false when there was none. Throws PermissionDenied, removing nothing.
  template <typename Tag>
  bool remove(const TenantScope<Tag>& scope, const std::string& id) {
    auto partition = partitions_.find(scope);
    return partition && remove_impl(scope.context(), *partition, id);
  }

  // Drops the tenant's whole partition; returns the number of documents it held.
  template <typename Tag>
  std::size_t erase_tenant(const TenantScope<Tag>& scope) {
    auto partition = partitions_.erase(scope);
    return partition ? size_of(*partition) : 0;
  }

  template <typename Tag>
  std::size_t size(const TenantScope<Tag>& scope) const {
    auto partition = partitions_.find(scope);
    return partition ? size_of(*partition) : 0;
  }

 private:
  struct Entry {
    std::string title;
    std::string body;  // the text, or sealed title+text
    std::vector<std::string> acl_groups;
    bool sealed = false;
  };
  struct Partition {
    mutable std::shared_mutex mutex;
    std::map<std::string, Entry> entries;
  };

  void put_impl(const TenantContext& context, Partition& partition, StoredText document, bool seal);
  std::vector<StoredText> get_impl(const TenantContext& context, const Partition& partition,
                                   const std::vector<std::string>& ids) const;
  std::vector<StoredText> all_impl(const TenantContext& context, const Partition& partition) const;
  StoredText open_entry(const TenantContext& context, const std::string& id, const Entry& entry) const;
  static void check_write_impl(const TenantContext& context, const Partition* partition, const std::string& id,
                               const std::vector<std::string>& acl_groups);
  static void check_write_locked(const TenantContext& context, const Partition& partition, const std::string& id,
                                 const std::vector<std::string>& acl_groups);
  static bool remove_impl(const TenantContext& context, Partition& partition, const std::string& id);
  static std::size_t size_of(const Partition& partition);

  crypto::Sealer* sealer_;
  mutable TenantPartitions<Partition> partitions_;
};

}  // namespace tenantai::pipeline

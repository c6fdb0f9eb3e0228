// MemoryStore: the per-tenant conversation memory interface (messages, facts, summaries).
//
//   memory.append(scope, {user, agent, session}, {"user", "hello"});
//   auto history = memory.messages(scope, {user, agent, session}, 20);  // Scoped<vector<Message>>
//
// Every call takes the TenantScope; implementations keep tenants hard-separated. Inside a
// tenant, who may touch a user's records:
//   - the user itself (context actor == MemoryScope::user);
//   - an actor holding capability "memory:any-user" (a trusted service acting for users);
//   - for reads only, an actor the user granted read access with grant_read().
// Erasing a whole tenant, retention and export need capability "memory:admin".
// Everything else gets PermissionDenied. Reads never combine several users' records.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/memory/memory_types.h"

namespace tenantai::memory {

// Capabilities checked by MemoryStore (see the header comment).
inline constexpr std::string_view kAnyUserCapability = "memory:any-user";
inline constexpr std::string_view kAdminCapability = "memory:admin";

// Implementations must be thread-safe. Failures throw tenantai::Error: InvalidArgument (bad
// scope parts, role, sizes), PermissionDenied (see above), StorageFailure (I/O, corrupt file),
// IsolationViolation (a tenant's storage turned out to belong to another tenant).
// A failed write changes nothing (each call is one transaction).
class MemoryStore {
 public:
  virtual ~MemoryStore() = default;

  // Appends one message; returns its id.
  template <typename Tag>
  Scoped<std::int64_t, Tag> append(const TenantScope<Tag>& scope, const MemoryScope& where, const MessageInput& message) {
    return scope.bind(do_append(scope.context(), where, std::vector<MessageInput>{message}).front());
  }

  // Appends several messages in one transaction (all or nothing); returns their ids in order.
  template <typename Tag>
  Scoped<std::vector<std::int64_t>, Tag> append_batch(const TenantScope<Tag>& scope, const MemoryScope& where,
                                                      const std::vector<MessageInput>& messages) {
    return scope.bind(do_append(scope.context(), where, messages));
  }

  // The session's messages, oldest first; with last_n > 0 only the newest last_n of them.
  template <typename Tag>
  Scoped<std::vector<Message>, Tag> messages(const TenantScope<Tag>& scope, const MemoryScope& where,
                                             std::size_t last_n = 0) {
    return scope.bind(do_messages(scope.context(), where, last_n));
  }

  // Records a fact about `user` for `agent`; returns its id.
  template <typename Tag>
  Scoped<std::int64_t, Tag> add_fact(const TenantScope<Tag>& scope, std::string_view user, std::string_view agent,
                                     std::string_view content, const Provenance& provenance) {
    return scope.bind(do_add_fact(scope.context(), user, agent, content, provenance));
  }

  // The user's facts for `agent`, oldest first.
  template <typename Tag>
  Scoped<std::vector<Fact>, Tag> facts(const TenantScope<Tag>& scope, std::string_view user, std::string_view agent) {
    return scope.bind(do_facts(scope.context(), user, agent));
  }

  // Replaces the session's summary.
  template <typename Tag>
  void put_summary(const TenantScope<Tag>& scope, const MemoryScope& where, std::string_view content,
                   std::int64_t covers_up_to) {
    do_put_summary(scope.context(), where, content, covers_up_to);
  }
  template <typename Tag>
  Scoped<std::optional<Summary>, Tag> summary(const TenantScope<Tag>& scope, const MemoryScope& where) {
    return scope.bind(do_summary(scope.context(), where));
  }

  // Lets `grantee` (an actor of the same tenant) read the calling user's records
  // (where the context actor is the user). revoke_read undoes it.
  template <typename Tag>
  void grant_read(const TenantScope<Tag>& scope, std::string_view grantee) {
    do_set_grant(scope.context(), grantee, true);
  }
  template <typename Tag>
  void revoke_read(const TenantScope<Tag>& scope, std::string_view grantee) {
    do_set_grant(scope.context(), grantee, false);
  }

  // Deletes every record of `user` (messages, facts, summaries, grants both ways); returns the
  // number of rows removed. The user itself, "memory:any-user" or "memory:admin" may do this.
  template <typename Tag>
  std::size_t erase_user(const TenantScope<Tag>& scope, std::string_view user) {
    return do_erase_user(scope.context(), user);
  }

  // Removes the scope tenant's whole memory (for SqliteMemoryStore: its database file).
  // Needs "memory:admin".
  template <typename Tag>
  void erase_tenant(const TenantScope<Tag>& scope) {
    do_erase_tenant(scope.context());
  }

  // Deletes messages, facts and summaries older than `max_age`; returns rows removed.
  // Needs "memory:admin". InvalidArgument for a negative age.
  template <typename Tag>
  std::size_t apply_retention(const TenantScope<Tag>& scope, std::chrono::hours max_age) {
    return do_apply_retention(scope.context(), max_age);
  }

  // The tenant's memory as JSON Lines: a {"type":"meta"} line, then one line per message,
  // fact and summary. Needs "memory:admin". Release it explicitly to let it leave the scope.
  template <typename Tag>
  Scoped<std::string, Tag> export_jsonl(const TenantScope<Tag>& scope) {
    return scope.bind(do_export_jsonl(scope.context()));
  }

  // Checks the scope tenant's stored memory before its first use after a start (the platform
  // calls it once per tenant, lazily): opens it and checks its format and integrity. Throws
  // StorageFailure / Tampered naming the file on damage; a tenant with no stored memory passes.
  template <typename Tag>
  void verify(const TenantScope<Tag>& scope) {
    do_verify(scope.context());
  }

 protected:
  // Default: nothing to check (a store whose backend verifies itself).
  virtual void do_verify(const TenantContext& /*context*/) {}
  virtual std::vector<std::int64_t> do_append(const TenantContext& context, const MemoryScope& where,
                                              const std::vector<MessageInput>& messages) = 0;
  virtual std::vector<Message> do_messages(const TenantContext& context, const MemoryScope& where,
                                           std::size_t last_n) = 0;
  virtual std::int64_t do_add_fact(const TenantContext& context, std::string_view user, std::string_view agent,
                                   std::string_view content, const Provenance& provenance) = 0;
  virtual std::vector<Fact> do_facts(const TenantContext& context, std::string_view user, std::string_view agent) = 0;
  virtual void do_put_summary(const TenantContext& context, const MemoryScope& where, std::string_view content,
                              std::int64_t covers_up_to) = 0;
  virtual std::optional<Summary> do_summary(const TenantContext& context, const MemoryScope& where) = 0;
  virtual void do_set_grant(const TenantContext& context, std::string_view grantee, bool granted) = 0;
  virtual std::size_t do_erase_user(const TenantContext& context, std::string_view user) = 0;
  virtual void do_erase_tenant(const TenantContext& context) = 0;
  virtual std::size_t do_apply_retention(const TenantContext& context, std::chrono::hours max_age) = 0;
  virtual std::string do_export_jsonl(const TenantContext& context) = 0;
};

}  // namespace tenantai::memory

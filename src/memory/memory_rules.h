// Internal: input validation and access rules of the conversation memory.
#pragma once

#include <string_view>

#include "tenantai/core/tenant_context.h"
#include "tenantai/memory/memory_types.h"

namespace tenantai::memory::detail {

inline constexpr std::size_t kMaxScopePart = 256;
inline constexpr std::size_t kMaxContent = 1024 * 1024;

// InvalidArgument naming the bad part unless 1..256 bytes without NUL.
void check_scope_part(std::string_view part, std::string_view name);
void check_scope(const MemoryScope& where);
// InvalidArgument for an unknown role, oversize content or negative token counts.
void check_message(const MessageInput& message);
void check_content(std::string_view content, std::string_view what);

// The context acts for `user` itself or holds "memory:any-user".
bool acts_for(const TenantContext& context, std::string_view user);
bool is_admin(const TenantContext& context);
// PermissionDenied naming the actor, the user and the operation.
[[noreturn]] void deny(const TenantContext& context, std::string_view user, std::string_view operation);
[[noreturn]] void deny_admin(const TenantContext& context, std::string_view operation);

}  // namespace tenantai::memory::detail

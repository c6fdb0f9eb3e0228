#include "memory/memory_rules.h"

#include <string>

#include "tenantai/core/error.h"
#include "tenantai/memory/memory_store.h"

namespace tenantai::memory::detail {

void check_scope_part(std::string_view part, std::string_view name) {
  if (part.empty() || part.size() > kMaxScopePart || part.find('\0') != std::string_view::npos) {
    throw Error(ErrorCode::InvalidArgument, "memory " + std::string(name) + " \"" + escape_for_message(part) +
                                                "\" must be 1.." + std::to_string(kMaxScopePart) +
                                                " bytes without NUL");
  }
}

void check_scope(const MemoryScope& where) {
  check_scope_part(where.user, "user");
  check_scope_part(where.agent, "agent");
  check_scope_part(where.session, "session");
}

void check_content(std::string_view content, std::string_view what) {
  if (content.size() > kMaxContent) {
    throw Error(ErrorCode::InvalidArgument, std::string(what) + " of " + std::to_string(content.size()) +
                                                " bytes exceeds the limit of " + std::to_string(kMaxContent));
  }
}

void check_message(const MessageInput& message) {
  const std::string_view role = message.role;
  if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
    throw Error(ErrorCode::InvalidArgument, "message role \"" + escape_for_message(role) +
                                                "\" is not one of system, user, assistant, tool");
  }
  check_content(message.content, "message content");
  if (message.input_tokens < 0 || message.output_tokens < 0) {
    throw Error(ErrorCode::InvalidArgument, "message token counts must not be negative");
  }
}

bool acts_for(const TenantContext& context, std::string_view user) {
  return context.actor() == user || context.has_capability(kAnyUserCapability);
}

bool is_admin(const TenantContext& context) { return context.is_system() || context.has_capability(kAdminCapability); }

void deny(const TenantContext& context, std::string_view user, std::string_view operation) {
  throw Error(ErrorCode::PermissionDenied, "actor \"" + escape_for_message(context.actor()) + "\" of tenant \"" +
                                               context.tenant().str() + "\" may not " + std::string(operation) +
                                               " memory of user \"" + escape_for_message(user) + "\"");
}

void deny_admin(const TenantContext& context, std::string_view operation) {
  throw Error(ErrorCode::PermissionDenied, "actor \"" + escape_for_message(context.actor()) + "\" of tenant \"" +
                                               context.tenant().str() + "\" needs capability \"" +
                                               std::string(kAdminCapability) + "\" to " + std::string(operation));
}

}  // namespace tenantai::memory::detail

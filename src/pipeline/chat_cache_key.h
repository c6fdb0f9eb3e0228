// Internal: what a cached chat answer is keyed on, in one place and one encoding.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tenantai/cache/response_key.h"
#include "tenantai/cache/semantic_cache.h"
#include "tenantai/core/tenant_id.h"
#include "tenantai/inference/backend.h"

namespace tenantai::pipeline::detail {

// Everything that changes a chat answer. Every field is part of the key; the actor's groups
// are because retrieval (and so the answer) depends on them. Plain data (views into the caller's
// values, which must outlive it).
struct ChatCacheInputs {
  const TenantId& tenant;
  const std::vector<std::string>& groups;  // the actor's ACL groups (any order, duplicates allowed)
  const std::string& model;
  const std::string& adapter;
  const std::string& prompt_version;
  std::size_t max_tokens;
  std::size_t k;
  const std::vector<inference::ChatMessage>& messages;
};

// The encoded key of one chat answer (core/key_encoding.h, so no two inputs share a key):
//   answer_context = (domain, tenant, canonical group set, model, adapter, prompt version,
//                     max_tokens, k): which answers are comparable at all;
//   conversation   = (count, then role and whitespace-normalised content of each message).
// Never throws except std::bad_alloc.
struct ChatCacheKey {
  std::string model;
  std::string prompt_version;
  std::string answer_context;
  std::string conversation;

  // The exact-cache key (views into this object). The prompt version stays its own field, so
  // invalidate_prompt_version() still finds the entry.
  cache::ResponseKey response_key() const {
    return {model, prompt_version, answer_context, conversation};
  }
  // The semantic cache compares only answers stored under the same answer context.
  cache::SemanticKey semantic_key() const { return {model, answer_context}; }
};

ChatCacheKey chat_cache_key(const ChatCacheInputs& inputs);

}  // namespace tenantai::pipeline::detail

#include "pipeline/chat_cache_key.h"

#include "tenantai/core/key_encoding.h"

namespace tenantai::pipeline::detail {

namespace {
constexpr std::string_view kDomain = "tenantai.pipeline.chat-cache/v1";
}  // namespace

ChatCacheKey chat_cache_key(const ChatCacheInputs& inputs) {
  ChatCacheKey key;
  key.model = inputs.model;
  key.prompt_version = inputs.prompt_version;
  key.answer_context = KeyEncoder(kDomain)
                           .add(inputs.tenant.view())
                           .add_set(inputs.groups)
                           .add(inputs.model)
                           .add(inputs.adapter)
                           .add(inputs.prompt_version)
                           .add(static_cast<std::uint64_t>(inputs.max_tokens))
                           .add(static_cast<std::uint64_t>(inputs.k))
                           .take();
  // Contents are normalised before framing, so the framed whole is already normalised and the
  // cache's own input normalisation leaves it unchanged.
  KeyEncoder conversation;
  conversation.add(static_cast<std::uint64_t>(inputs.messages.size()));
  for (const auto& message : inputs.messages) conversation.add(message.role).add(cache::normalise_input(message.content));
  key.conversation = conversation.take();
  return key;
}

}  // namespace tenantai::pipeline::detail

// Internal: the retrieval step of a request (embedding through the tenant's embedding cache,
// then the ACL-filtered vector search and the texts), shared by the Pipeline and the
// search_docs tool, so a tool's retrieval is a step of the chat that called it — no second
// admission, meter record or audit event.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/pipeline/pipeline.h"

namespace tenantai::pipeline::detail {

inline constexpr std::string_view kEmbeddingModel = "tenantai.embedder";

template <typename Tag>
std::vector<float> embed_text(const PipelineLayers& layers, const TenantScope<Tag>& scope, const std::string& text) {
  auto cached = layers.embedding_cache.lookup(scope, kEmbeddingModel, text);
  if (scope.view(cached)) return *scope.view(cached);
  auto vectors = layers.embedder.embed({text});
  if (vectors.size() != 1) throw Error(ErrorCode::Unavailable, "the embedder returned no vector");
  (void)layers.embedding_cache.store(scope, kEmbeddingModel, text, vectors.front());
  return std::move(vectors.front());
}

template <typename Tag>
std::vector<Passage> retrieve(const PipelineLayers& layers, const TenantScope<Tag>& scope, const std::vector<float>& query,
                              std::size_t k, const retrieval::Filter& filter) {
  if (k == 0) return {};
  auto hits = layers.vectors.search(scope, query, k, filter);
  std::vector<std::string> ids;
  for (const auto& hit : scope.view(hits)) ids.push_back(hit.id);
  auto texts = layers.documents.get(scope, ids);
  std::vector<Passage> out;
  for (const auto& hit : scope.view(hits)) {
    const auto& docs = scope.view(texts);
    auto it = std::find_if(docs.begin(), docs.end(), [&](const StoredText& d) { return d.id == hit.id; });
    if (it == docs.end()) continue;  // removed between the two reads
    out.push_back({it->id, it->title, it->text, hit.score});
  }
  return out;
}

}  // namespace tenantai::pipeline::detail

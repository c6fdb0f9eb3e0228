// SearchDocumentsTool: the built-in tool every tenant gets at onboarding. It searches the
// calling tenant's own documents (with the actor's ACL) — there is no argument that could name
// another tenant; the ToolRegistry refuses calls that try.
#pragma once

#include <string>
#include <vector>

#include "tenantai/pipeline/pipeline_layers.h"
#include "tenantai/tools/tool.h"

namespace tenantai::pipeline {

// Arguments: {"query": "<text>", "k": 1..8 (default 3)}. Output: {"results": [{"id", "title",
// "score"}]}. Needs capability "tool:search_docs". InvalidArgument for a missing/empty query.
// Thread-safe; the layers must outlive the tool.
class SearchDocumentsTool final : public tools::Tool {
 public:
  explicit SearchDocumentsTool(PipelineLayers layers) : layers_(layers) {}
  std::string name() const override { return "search_docs"; }
  std::vector<std::string> required_capabilities() const override { return {"tool:search_docs"}; }
  nlohmann::json invoke(const TenantContext& context, const nlohmann::json& arguments) override;

 private:
  PipelineLayers layers_;
};

}  // namespace tenantai::pipeline

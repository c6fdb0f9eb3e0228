#include "tenantai/pipeline/search_documents_tool.h"

#include "pipeline/retrieval_step.h"

namespace tenantai::pipeline {

nlohmann::json SearchDocumentsTool::invoke(const TenantContext& context, const nlohmann::json& arguments) {
  if (!arguments.is_object() || !arguments.contains("query") || !arguments["query"].is_string() ||
      arguments["query"].get<std::string>().empty()) {
    throw Error(ErrorCode::InvalidArgument, "search_docs needs a non-empty string argument \"query\"");
  }
  QueryRequest request;
  request.text = arguments["query"].get<std::string>();
  request.k = 3;
  if (arguments.contains("k")) {
    if (!arguments["k"].is_number_unsigned()) throw Error(ErrorCode::InvalidArgument, "search_docs \"k\" must be a positive integer");
    request.k = arguments["k"].get<std::size_t>();
  }
  if (request.k == 0 || request.k > layers_.max_retrieved_passages) {
    throw Error(ErrorCode::InvalidArgument, "search_docs \"k\" must be between 1 and " +
                                                std::to_string(layers_.max_retrieved_passages));
  }
  // A step of the calling request (its admission, metering and audit event cover it).
  const auto passages = with_tenant(context, [&](auto scope) {
    return detail::retrieve(layers_, scope, detail::embed_text(layers_, scope, request.text), request.k, {});
  });
  nlohmann::json results = nlohmann::json::array();
  for (const auto& passage : passages) {
    results.push_back({{"id", passage.id}, {"title", passage.title}, {"score", passage.score}});
  }
  return {{"results", results}};
}

}  // namespace tenantai::pipeline

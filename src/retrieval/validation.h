// Internal: input checks of the vector store. Each throws Error(InvalidArgument) naming the
// offending input; nothing is stored when one fails.
#pragma once

#include <span>
#include <vector>

#include "tenantai/retrieval/document.h"
#include "tenantai/retrieval/vector_store_options.h"

namespace tenantai::retrieval::detail {

void validate_options(const VectorStoreOptions& options);

// Checks one document; for Cosine normalises its vector in place.
void prepare_document(Document& document, const VectorStoreOptions& options);

// A checked copy of the query (normalised for Cosine).
std::vector<float> prepare_query(std::span<const float> query, const VectorStoreOptions& options);

void validate_k(std::size_t k, const VectorStoreOptions& options);
void validate_filter(const Filter& filter, const VectorStoreOptions& options);

// Scales v to unit length (a zero vector stays zero).
void normalise(float* v, std::size_t dim) noexcept;

}  // namespace tenantai::retrieval::detail

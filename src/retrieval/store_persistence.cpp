#include "retrieval/store_impl.h"

namespace tenantai::retrieval {

void VectorStore::save(const std::string& directory) const {
  throw Error(ErrorCode::Internal, "save not implemented: " + directory);
}

std::unique_ptr<VectorStore> VectorStore::open(const std::string& directory, const AnnOptions&) {
  throw Error(ErrorCode::Internal, "open not implemented: " + directory);
}

}  // namespace tenantai::retrieval

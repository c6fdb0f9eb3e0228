// Shared set-up for pipeline tests: platform options on the embedded defaults with the
// deterministic echo model and hashing embedder.
#pragma once

#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>
#include <tenantai/pipeline.h>

#include <filesystem>

namespace pipeline_test {

// Options for a Platform whose state lives under `data_dir` (created by the platform).
inline tenantai::pipeline::PlatformOptions echo_options(const std::filesystem::path& data_dir) {
  tenantai::pipeline::PlatformOptions options;
  options.data_dir = data_dir;
  options.backend = std::make_shared<tenantai::inference::EchoModel>();
  options.embedder = std::make_shared<tenantai::inference::HashingEmbedder>();
  return options;
}

}  // namespace pipeline_test

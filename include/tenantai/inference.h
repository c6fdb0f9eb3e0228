// Umbrella header for the inference layer: backend interfaces, shipped backends, ModelRouter.
#pragma once

#include "tenantai/inference/backend.h"
#include "tenantai/inference/echo_model.h"
#include "tenantai/inference/hashing_embedder.h"
#include "tenantai/inference/model_router.h"
#include "tenantai/inference/openai_backend.h"

// Umbrella header for the prompt layer.
#pragma once

#include "tenantai/prompt/prompt_registry.h"

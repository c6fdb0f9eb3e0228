// Umbrella header for the tools layer.
#pragma once

#include "tenantai/tools/tool.h"
#include "tenantai/tools/tool_registry.h"

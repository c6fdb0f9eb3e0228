// Shared declarations for the compile-fail programs (compiled with -fsyntax-only, never linked).
#pragma once
#include <tenantai/core.h>

// Some authenticated context; how it was obtained does not matter to these programs.
const tenantai::TenantContext& authenticated_context(int which);

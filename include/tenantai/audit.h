// Umbrella header for tenantai's audit layer: per-tenant tamper-evident logs, checkpoints,
// proofs, verification, export sinks and the recorders feeding them.
#pragma once

#include "tenantai/audit/audit_log.h"
#include "tenantai/audit/checkpoint.h"
#include "tenantai/audit/cli.h"
#include "tenantai/audit/event.h"
#include "tenantai/audit/key_rotation.h"
#include "tenantai/audit/log_storage.h"
#include "tenantai/audit/merkle.h"
#include "tenantai/audit/recorders.h"
#include "tenantai/audit/sink.h"
#include "tenantai/audit/verify.h"
#include "tenantai/audit/witness.h"

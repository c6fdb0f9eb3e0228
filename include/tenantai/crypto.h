// Umbrella header for tenantai's crypto layer: key providers, leases, envelope encryption.
#pragma once

#include "tenantai/crypto/envelope_sealer.h"
#include "tenantai/crypto/key_access_observer.h"
#include "tenantai/crypto/key_lease.h"
#include "tenantai/crypto/key_provider.h"
#include "tenantai/crypto/local_key_provider.h"
#include "tenantai/crypto/sealer.h"

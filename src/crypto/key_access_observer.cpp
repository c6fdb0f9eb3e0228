#include "tenantai/crypto/key_access_observer.h"

namespace tenantai::crypto {

const char* to_string(KeyAccess access) noexcept {
  switch (access) {
    case KeyAccess::Unwrap: return "unwrap";
    case KeyAccess::Decrypt: return "decrypt";
    case KeyAccess::Rotate: return "rotate";
    case KeyAccess::Destroy: return "destroy";
  }
  return "unknown";
}

}  // namespace tenantai::crypto

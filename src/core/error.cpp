#include "tenantai/core/error.h"

namespace tenantai {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::Unauthenticated: return "Unauthenticated";
    case ErrorCode::PermissionDenied: return "PermissionDenied";
    case ErrorCode::IsolationViolation: return "IsolationViolation";
    case ErrorCode::NotFound: return "NotFound";
    case ErrorCode::InvalidArgument: return "InvalidArgument";
    case ErrorCode::RateLimited: return "RateLimited";
    case ErrorCode::BudgetExceeded: return "BudgetExceeded";
    case ErrorCode::Tampered: return "Tampered";
    case ErrorCode::CryptoFailure: return "CryptoFailure";
    case ErrorCode::StorageFailure: return "StorageFailure";
    case ErrorCode::AlreadyExists: return "AlreadyExists";
    case ErrorCode::Unavailable: return "Unavailable";
    case ErrorCode::DeadlineExceeded: return "DeadlineExceeded";
    case ErrorCode::TenantUnavailable: return "TenantUnavailable";
    case ErrorCode::Internal: return "Internal";
  }
  return "Unknown";
}

Error::Error(ErrorCode code, std::string message)
    : code_(code), message_(std::move(message)) {
  what_.reserve(message_.size() + 24);
  what_.append(to_string(code_));
  what_.append(": ");
  what_.append(message_);
}

Error::Error(ErrorCode code, std::string message, std::chrono::milliseconds retry_after)
    : Error(code, std::move(message)) {
  retry_after_ = retry_after.count() > 0 ? retry_after : std::chrono::milliseconds(0);
}

}  // namespace tenantai

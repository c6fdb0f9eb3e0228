// Money as integer micro-units and the per-model price table used to estimate and charge costs.
#pragma once

#include <cstdint>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "tenantai/core/error.h"

namespace tenantai::metering {

// Money in integer micro-units of the billing currency (1'000'000 = one unit, e.g. $1). Integer
// arithmetic only, so sums never drift.
using Micros = std::int64_t;

// Price of one model in micro-units per million tokens (e.g. $2.50 / 1M tokens = 2'500'000).
struct ModelPrice {
  Micros input_per_million = 0;
  Micros output_per_million = 0;
  std::string tier = "default";  // model tier label for metering (e.g. "small", "large")
};

// Cost of `tokens` at `per_million`, rounded up to a whole micro-unit (so an estimate is never
// below the charge of fewer tokens). Throws InvalidArgument on negative input or overflow.
Micros cost_of(std::int64_t tokens, Micros per_million);

// Largest token count whose cost_of(.., per_million) fits in `budget` (0 if none; a free price
// yields `cap`). Never throws.
std::int64_t affordable_tokens(Micros budget, Micros per_million, std::int64_t cap) noexcept;

// Model name → price. Thread-safe (shared lock for reads). Unknown models are an error, never a
// default price: callers fail closed when a cost cannot be estimated.
class PriceTable {
 public:
  // Adds or replaces a price. InvalidArgument for an empty model name or negative prices.
  void set(std::string model, ModelPrice price);
  // The price of `model`, or NotFound.
  Result<ModelPrice> find(std::string_view model) const;
  std::size_t size() const;

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, ModelPrice, std::less<>> prices_;
};

}  // namespace tenantai::metering

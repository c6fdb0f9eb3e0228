#include "tenantai/metering/price_table.h"

#include <limits>
#include <mutex>

#include "tenantai/core/tenant_id.h"

namespace tenantai::metering {

__extension__ typedef __int128 Int128;  // exact intermediate products of money arithmetic

Micros cost_of(std::int64_t tokens, Micros per_million) {
  if (tokens < 0 || per_million < 0) {
    throw Error(ErrorCode::InvalidArgument, "token counts and prices must not be negative");
  }
  const Int128 product = static_cast<Int128>(tokens) * per_million;
  const Int128 cost = (product + 999'999) / 1'000'000;
  if (cost > std::numeric_limits<Micros>::max()) {
    throw Error(ErrorCode::InvalidArgument, "cost overflows 64-bit micro-units");
  }
  return static_cast<Micros>(cost);
}

std::int64_t affordable_tokens(Micros budget, Micros per_million, std::int64_t cap) noexcept {
  if (budget <= 0 && per_million > 0) return 0;
  if (cap < 0) return 0;
  if (per_million <= 0) return cap;
  // ceil(t * p / 1e6) <= budget  <=>  t * p <= budget * 1e6
  const Int128 t = static_cast<Int128>(budget) * 1'000'000 / per_million;
  return t > cap ? cap : static_cast<std::int64_t>(t);
}

void PriceTable::set(std::string model, ModelPrice price) {
  if (model.empty()) throw Error(ErrorCode::InvalidArgument, "model name must not be empty");
  if (price.input_per_million < 0 || price.output_per_million < 0) {
    throw Error(ErrorCode::InvalidArgument,
                "prices of model \"" + escape_for_message(model) + "\" must not be negative");
  }
  std::unique_lock lock(mutex_);
  prices_[std::move(model)] = std::move(price);
}

Result<ModelPrice> PriceTable::find(std::string_view model) const {
  std::shared_lock lock(mutex_);
  auto it = prices_.find(model);
  if (it == prices_.end()) {
    return Error(ErrorCode::NotFound, "no price for model \"" + escape_for_message(model) +
                                          "\": cost cannot be estimated, refusing the call");
  }
  return it->second;
}

std::size_t PriceTable::size() const {
  std::shared_lock lock(mutex_);
  return prices_.size();
}

}  // namespace tenantai::metering

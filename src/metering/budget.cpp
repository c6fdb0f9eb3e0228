#include "tenantai/metering/budget.h"

#include <algorithm>
#include <mutex>

namespace tenantai::metering {

__extension__ typedef __int128 Int128;  // exact intermediate products of money arithmetic
namespace {

struct Period {
  std::string day;
  std::string month;
};

Period period_of(std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  const auto day = floor<days>(now);
  const year_month_day ymd{day};
  const int month_index = static_cast<int>(ymd.year()) * 100 + static_cast<int>(static_cast<unsigned>(ymd.month()));
  return {std::to_string(day.time_since_epoch().count()), std::to_string(month_index)};
}

// Account keys are names inside the tenant's partition; the actor is length-prefixed so no
// actor name can collide with another account's key.
std::string actor_prefix(const std::string& actor) {
  return "actor:" + std::to_string(actor.size()) + ":" + actor;
}

std::string display_name(const std::string& key) {
  // "tenant/day/20414" → "tenant/day"; "actor:5:alice/month/202611" → "actor:alice/month"
  const auto last = key.rfind('/');
  std::string base = key.substr(0, last);
  if (base.rfind("actor:", 0) == 0) {
    const auto colon = base.find(':', 6);
    base = "actor:" + base.substr(colon + 1);
  }
  return base;
}

Status validate_caps(const Caps& caps, const std::string& who) {
  if ((caps.daily && *caps.daily < 0) || (caps.monthly && *caps.monthly < 0)) {
    return Error(ErrorCode::InvalidArgument, "budget caps of " + who + " must not be negative");
  }
  return {};
}

}  // namespace

BudgetManager::BudgetManager(CounterStore& store, const PriceTable& prices, BudgetOptions options)
    : store_(store), prices_(prices), options_(std::move(options)) {
  if (!options_.clock) throw Error(ErrorCode::InvalidArgument, "BudgetOptions::clock must be set");
  if (options_.max_hold.count() <= 0) throw Error(ErrorCode::InvalidArgument, "max_hold must be positive");
}

Status BudgetManager::set_policy_impl(const TenantContext& context, BudgetPolicy policy) {
  if (auto s = validate_caps(policy.tenant, "the tenant"); !s) return s;
  if (auto s = validate_caps(policy.per_actor, "actors"); !s) return s;
  for (const auto& [actor, caps] : policy.actor_overrides) {
    if (auto s = validate_caps(caps, "actor \"" + escape_for_message(actor) + "\""); !s) return s;
  }
  for (int p : policy.alert_permille) {
    if (p < 1 || p > 1000) return Error(ErrorCode::InvalidArgument, "alert thresholds must be in 1..1000 permille");
  }
  std::sort(policy.alert_permille.begin(), policy.alert_permille.end());
  auto shared = std::make_shared<const BudgetPolicy>(std::move(policy));
  auto slot = with_tenant(context, [&](auto scope) { return policies_.get_or_create(scope); });
  std::unique_lock lock(slot->mutex);
  slot->policy = std::move(shared);
  return {};
}

std::shared_ptr<const BudgetPolicy> BudgetManager::policy_of(const TenantContext& context) const {
  auto slot = with_tenant(context, [&](auto scope) { return policies_.find(scope); });
  if (!slot) return nullptr;
  std::shared_lock lock(slot->mutex);
  return slot->policy;
}

std::vector<LedgerAccount> BudgetManager::accounts_for(const BudgetPolicy& policy, const std::string& actor) const {
  const Period period = period_of(options_.clock());
  std::vector<LedgerAccount> out;
  if (policy.tenant.daily) out.push_back({"tenant/day/" + period.day, *policy.tenant.daily});
  if (policy.tenant.monthly) out.push_back({"tenant/month/" + period.month, *policy.tenant.monthly});
  auto it = policy.actor_overrides.find(actor);
  const Caps& caps = it == policy.actor_overrides.end() ? policy.per_actor : it->second;
  if (caps.daily) out.push_back({actor_prefix(actor) + "/day/" + period.day, *caps.daily});
  if (caps.monthly) out.push_back({actor_prefix(actor) + "/month/" + period.month, *caps.monthly});
  return out;
}

Result<Reservation> BudgetManager::reserve_impl(const TenantContext& context, const CallEstimate& estimate) {
  auto policy = policy_of(context);
  if (!policy) {
    return Error(ErrorCode::NotFound, "tenant \"" + context.tenant().str() +
                                          "\" has no budget policy; refusing the call (fail closed)");
  }
  if (estimate.input_tokens < 0 || estimate.max_output_tokens < 0 || estimate.min_output_tokens < 0) {
    return Error(ErrorCode::InvalidArgument, "token counts must not be negative");
  }
  if (estimate.min_output_tokens > estimate.max_output_tokens) {
    return Error(ErrorCode::InvalidArgument, "min_output_tokens exceeds max_output_tokens");
  }
  auto price = prices_.find(estimate.model);
  if (!price) return price.error();
  Micros input_cost = 0;
  Micros want = 0;
  Micros min = 0;
  try {
    input_cost = cost_of(estimate.input_tokens, price->input_per_million);
    want = input_cost + cost_of(estimate.max_output_tokens, price->output_per_million);
    const std::int64_t min_tokens = estimate.allow_clamp ? estimate.min_output_tokens : estimate.max_output_tokens;
    min = input_cost + cost_of(min_tokens, price->output_per_million);
  } catch (const Error& e) {
    return e;
  }

  const auto now = TenantContext::Clock::now();
  auto expires = context.deadline();
  if (expires <= now || expires - now > options_.max_hold) expires = now + options_.max_hold;

  HoldRequest request;
  request.hold_id = context.request_id();
  if (!estimate.call_id.empty()) request.hold_id += "/" + estimate.call_id;
  request.accounts = accounts_for(*policy, context.actor());
  request.want = want;
  request.min = min;
  request.expires_at = expires;
  auto granted = store_.reserve(context, request);
  if (!granted) return granted.error();

  Reservation r;
  r.hold_id = request.hold_id;
  r.model = estimate.model;
  r.input_tokens = estimate.input_tokens;
  r.held = *granted;
  r.max_output_tokens =
      affordable_tokens(*granted - input_cost, price->output_per_million, estimate.max_output_tokens);
  r.clamped = r.max_output_tokens < estimate.max_output_tokens;
  return r;
}

Result<SettleReceipt> BudgetManager::settle_impl(const TenantContext& context, const Reservation& reservation,
                                                 const CallUsage& usage) {
  if (usage.input_tokens < 0 || usage.output_tokens < 0) {
    return Error(ErrorCode::InvalidArgument, "usage token counts must not be negative");
  }
  auto price = prices_.find(reservation.model);
  if (!price) return price.error();
  Micros cost = 0;
  try {
    cost = cost_of(usage.input_tokens, price->input_per_million) +
           cost_of(usage.output_tokens, price->output_per_million);
  } catch (const Error& e) {
    return e;
  }
  auto outcome = store_.settle(context, reservation.hold_id, cost);
  if (!outcome) return outcome.error();
  SettleReceipt receipt{cost, outcome->charged, outcome->overage, outcome->replay};
  if (outcome->replay) {
    receipt.cost = outcome->charged + outcome->overage;
    return receipt;
  }
  if (options_.on_alert) {
    auto policy = policy_of(context);
    const std::vector<int> thresholds = policy ? policy->alert_permille : std::vector<int>{};
    for (const auto& change : outcome->changes) {
      if (change.cap <= 0) continue;
      for (int permille : thresholds) {
        const Int128 line = static_cast<Int128>(change.cap) * permille;  // crossing spent*1000 >= line
        const bool before = static_cast<Int128>(change.spent_before) * 1000 >= line;
        const bool after = static_cast<Int128>(change.spent_after) * 1000 >= line;
        if (!before && after) {
          options_.on_alert(BudgetAlert{context.tenant(), display_name(change.key), permille, change.cap,
                                        change.spent_after});
        }
      }
    }
  }
  return receipt;
}

BudgetManager::Summary BudgetManager::summary_impl(const TenantContext& context,
                                                   std::optional<std::string> actor) const {
  const Period period = period_of(options_.clock());
  const std::string base = actor ? actor_prefix(*actor) : std::string("tenant");
  return Summary{store_.balance(context, base + "/day/" + period.day),
                 store_.balance(context, base + "/month/" + period.month)};
}

}  // namespace tenantai::metering

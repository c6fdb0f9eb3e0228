// Umbrella header for tenantai's metering layer: prices, tiers, counter storage, budgets, rate
// limits, the fair scheduler, the meter and noisy-neighbour detection.
#pragma once

#include "tenantai/metering/budget.h"
#include "tenantai/metering/counter_store.h"
#include "tenantai/metering/fair_scheduler.h"
#include "tenantai/metering/meter.h"
#include "tenantai/metering/noisy_neighbour.h"
#include "tenantai/metering/price_table.h"
#include "tenantai/metering/rate_limiter.h"
#include "tenantai/metering/tiers.h"

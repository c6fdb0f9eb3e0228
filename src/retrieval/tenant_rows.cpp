#include "retrieval/tenant_rows.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "retrieval/kernel_table.h"

namespace tenantai::retrieval::detail {
namespace {

constexpr std::size_t kChunk = 64;

std::size_t words_for(std::size_t rows) noexcept { return (rows + 63) / 64; }

void set_bit(std::vector<std::uint64_t>& bits, std::size_t row, bool on) noexcept {
  const std::uint64_t b = std::uint64_t{1} << (row % 64);
  if (on) {
    bits[row / 64] |= b;
  } else {
    bits[row / 64] &= ~b;
  }
}

}  // namespace

TenantRows::TenantRows(std::size_t dim, Metric metric) : dim_(dim), metric_(metric), block_(0, dim) {}

void TenantRows::ensure_words(std::size_t rows) {
  const std::size_t words = words_for(rows);
  if (public_bits_.size() >= words) return;
  public_bits_.resize(words, 0);
  if (acl_) {
    for (auto& bits : acl_->bits) bits.resize(words, 0);
  }
}

void TenantRows::reserve_more(std::size_t extra) {
  const std::size_t want = size() + extra;
  if (want > block_.capacity()) block_.resize_for(want, size());
  // Geometric growth: reserving exactly `want` would reallocate (and move every id) on each
  // one-document upsert, quadratic in the tenant's size.
  if (want > ids_.capacity()) {
    const std::size_t grown = std::max(want, ids_.capacity() * 2);
    ids_.reserve(grown);
    extras_.reserve(grown);
  }
  index_.reserve(want);
}

std::unique_ptr<TenantRows::Extras> TenantRows::make_extras(Document& document) {
  if (document.acl_groups.empty() && document.metadata.empty()) return nullptr;
  auto extras = std::make_unique<Extras>();
  if (!document.acl_groups.empty() && !acl_) acl_ = std::make_unique<AclState>();
  for (auto& group : document.acl_groups) {
    auto it = acl_->numbers.find(group);
    if (it == acl_->numbers.end()) {
      const auto number = static_cast<std::uint32_t>(acl_->names.size());
      acl_->names.push_back(group);
      acl_->bits.emplace_back(public_bits_.size(), 0);
      it = acl_->numbers.emplace(std::move(group), number).first;
    }
    extras->groups.push_back(it->second);
  }
  std::sort(extras->groups.begin(), extras->groups.end());
  extras->groups.erase(std::unique(extras->groups.begin(), extras->groups.end()), extras->groups.end());
  for (auto& [key, value] : document.metadata) extras->metadata.emplace_back(key, std::move(value));
  return extras;
}

void TenantRows::set_acl_bits(std::uint32_t row, const Extras* extras, bool on) {
  const bool has_groups = extras != nullptr && !extras->groups.empty();
  if (!has_groups) {
    set_bit(public_bits_, row, on);
    return;
  }
  for (std::uint32_t g : extras->groups) set_bit(acl_->bits[g], row, on);
  if (on) {
    ++acl_->acl_rows;
  } else {
    --acl_->acl_rows;
  }
}

void TenantRows::append(Document&& document) {
  const std::size_t row = size();
  if (row + 1 > block_.capacity()) block_.resize_for(row + 1, row);
  std::memcpy(block_.row(row), document.vector.data(), dim_ * sizeof(float));
  ensure_words(row + 1);
  auto extras = make_extras(document);
  ids_.push_back(std::move(document.id));
  extras_.push_back(std::move(extras));
  index_.insert(static_cast<std::uint32_t>(row));
  set_acl_bits(static_cast<std::uint32_t>(row), extras_.back().get(), true);
}

void TenantRows::replace(std::uint32_t row, Document&& document) {
  std::memcpy(block_.row(row), document.vector.data(), dim_ * sizeof(float));
  set_acl_bits(row, extras_[row].get(), false);
  extras_[row] = make_extras(document);
  set_acl_bits(row, extras_[row].get(), true);
}

void TenantRows::remove(std::uint32_t row) {
  const auto last = static_cast<std::uint32_t>(size() - 1);
  index_.erase(ids_[row]);
  set_acl_bits(row, extras_[row].get(), false);
  if (row != last) {
    std::memcpy(block_.row(row), block_.row(last), dim_ * sizeof(float));
    set_acl_bits(last, extras_[last].get(), false);
    ids_[row] = std::move(ids_[last]);
    extras_[row] = std::move(extras_[last]);
    set_acl_bits(row, extras_[row].get(), true);
    index_.move(last, row);
  }
  ids_.pop_back();
  extras_.pop_back();
  // Give memory back when the tenant shrank well below its size class.
  if (size() * 2 < block_.capacity()) {
    block_.resize_for(size(), size());
    ids_.shrink_to_fit();
    extras_.shrink_to_fit();
  }
  if (size() == 0) {
    index_.clear();
    public_bits_ = {};
    acl_.reset();
  }
}

bool TenantRows::matches(const Extras* extras, const Filter& filter) {
  if (extras == nullptr) return false;
  for (const Condition& c : filter.conditions) {
    auto it = std::lower_bound(extras->metadata.begin(), extras->metadata.end(), c.key,
                               [](const auto& entry, const std::string& key) { return entry.first < key; });
    if (it == extras->metadata.end() || it->first != c.key) return false;
    const MetadataValue& v = it->second;
    switch (c.op) {
      case Condition::Op::Equals:
        if (!(v == c.value)) return false;
        break;
      case Condition::Op::AtLeast:
        if (!std::holds_alternative<std::int64_t>(v) || std::get<std::int64_t>(v) < std::get<std::int64_t>(c.value))
          return false;
        break;
      case Condition::Op::AtMost:
        if (!std::holds_alternative<std::int64_t>(v) || std::get<std::int64_t>(v) > std::get<std::int64_t>(c.value))
          return false;
        break;
    }
  }
  return true;
}

RowMask TenantRows::visibility(const TenantContext& context, const Filter& filter) const {
  RowMask mask;
  const std::size_t n = size();
  if (acl_rows() == 0 && filter.empty()) {
    mask.visible = n;
    return mask;
  }
  mask.all = false;
  const std::size_t words = words_for(n);
  if (acl_rows() == 0) {
    mask.words.assign(words, ~std::uint64_t{0});
    if (n % 64 != 0) mask.words.back() = (std::uint64_t{1} << (n % 64)) - 1;
  } else {
    mask.words.assign(public_bits_.begin(), public_bits_.begin() + static_cast<std::ptrdiff_t>(words));
    for (const std::string& group : context.groups()) {
      auto it = acl_->numbers.find(group);
      if (it == acl_->numbers.end()) continue;
      const auto& bits = acl_->bits[it->second];
      for (std::size_t w = 0; w < words; ++w) mask.words[w] |= bits[w];
    }
  }
  if (!filter.empty()) {
    for (std::size_t w = 0; w < words; ++w) {
      std::uint64_t bits = mask.words[w];
      while (bits != 0) {
        const int b = std::countr_zero(bits);
        bits &= bits - 1;
        if (!matches(extras_[w * 64 + static_cast<std::size_t>(b)].get(), filter)) {
          mask.words[w] &= ~(std::uint64_t{1} << b);
        }
      }
    }
  }
  for (std::uint64_t w : mask.words) mask.visible += static_cast<std::size_t>(std::popcount(w));
  return mask;
}

float TenantRows::score(const float* query, std::uint32_t row) const noexcept {
  const KernelTable& k = active_kernels();
  return metric_ == Metric::L2 ? -k.l2_squared(query, block_.row(row), dim_)
                               : k.inner_product(query, block_.row(row), dim_);
}

void TenantRows::scan(const float* query, const RowMask& mask, TopK& top) const {
  const KernelTable& k = active_kernels();
  const bool l2 = metric_ == Metric::L2;
  const std::size_t n = size();
  float scores[kChunk];
  auto score_chunk = [&](std::size_t first, std::size_t count) {
    if (l2) {
      k.l2_squared_many(query, block_.row(first), count, dim_, scores);
      for (std::size_t i = 0; i < count; ++i) scores[i] = -scores[i];
    } else {
      k.inner_products(query, block_.row(first), count, dim_, scores);
    }
  };
  if (mask.all || mask.visible == n) {
    for (std::size_t first = 0; first < n; first += kChunk) {
      const std::size_t count = std::min(kChunk, n - first);
      score_chunk(first, count);
      top.push_chunk(scores, static_cast<std::uint32_t>(first), count);
    }
    return;
  }
  for (std::size_t w = 0; w < mask.words.size(); ++w) {
    std::uint64_t bits = mask.words[w];
    if (bits == 0) continue;  // 64 rows skipped at once
    const std::size_t first = w * 64;
    if (bits == ~std::uint64_t{0}) {  // all 64 rows visible
      score_chunk(first, kChunk);
      top.push_chunk(scores, static_cast<std::uint32_t>(first), kChunk);
    } else if (std::popcount(bits) >= 16) {
      score_chunk(first, std::min(kChunk, n - first));
      while (bits != 0) {
        const int b = std::countr_zero(bits);
        bits &= bits - 1;
        top.push(scores[b], static_cast<std::uint32_t>(first + static_cast<std::size_t>(b)));
      }
    } else {
      while (bits != 0) {
        const int b = std::countr_zero(bits);
        bits &= bits - 1;
        const auto row = static_cast<std::uint32_t>(first + static_cast<std::size_t>(b));
        top.push(score(query, row), row);
      }
    }
  }
}

Document TenantRows::document(std::uint32_t row) const {
  Document d;
  d.id = ids_[row];
  d.vector.assign(block_.row(row), block_.row(row) + dim_);
  if (const Extras* e = extras_[row].get()) {
    for (std::uint32_t g : e->groups) d.acl_groups.push_back(acl_->names[g]);
    for (const auto& [key, value] : e->metadata) d.metadata.emplace(key, value);
  }
  return d;
}

std::size_t TenantRows::total_bytes() const noexcept {
  std::size_t bytes = sizeof(*this) + block_.bytes() + index_.bytes();
  bytes += ids_.capacity() * sizeof(std::string) + extras_.capacity() * sizeof(std::unique_ptr<Extras>);
  for (std::size_t r = 0; r < ids_.size(); ++r) {
    if (ids_[r].capacity() > 15) bytes += ids_[r].capacity() + 1;
    if (const Extras* e = extras_[r].get()) {
      bytes += sizeof(Extras) + e->groups.capacity() * sizeof(std::uint32_t);
      for (const auto& [key, value] : e->metadata) {
        bytes += sizeof(std::pair<std::string, MetadataValue>) + key.size();
        if (const auto* s = std::get_if<std::string>(&value)) bytes += s->size();
      }
    }
  }
  bytes += public_bits_.capacity() * 8;
  if (acl_) {
    bytes += sizeof(AclState);
    for (std::size_t g = 0; g < acl_->names.size(); ++g) {
      bytes += acl_->bits[g].capacity() * 8 + acl_->names[g].capacity() + 64;
    }
  }
  return bytes;
}

}  // namespace tenantai::retrieval::detail

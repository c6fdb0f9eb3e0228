// Adversarial integrity test: random mutations of a checkpointed log must all be detected, each
// with an error naming the first bad index.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>

#include "audit_fixture.h"

using namespace audit_test;

namespace {

std::string join(const std::vector<std::string>& frames) {
  std::string out;
  for (const auto& f : frames) out += f;
  return out;
}

}  // namespace

TEST_CASE("Tamper test: 10,000 random mutations are all detected at the first bad index") {
  AuditFixture f(true);
  constexpr int kEvents = 48;
  append_n(*f.log, f.a, kEvents, "a-event");
  append_n(*f.log, f.b, kEvents, "b-event");
  const Checkpoint cp = with_tenant(f.a, [&](auto scope) { return scope.release(f.log->checkpoint(scope)); });
  with_tenant(f.b, [&](auto scope) { (void)f.log->checkpoint(scope); });  // writes B's buffered records
  const TenantId tenant("tenant-a");
  const std::string original = f.stored_records(tenant);  // the records, without the file header
  const auto frames = split_frames(original);
  const auto foreign = split_frames(f.stored_records(TenantId("tenant-b")));
  REQUIRE(frames.size() == kEvents);
  REQUIRE(foreign.size() == kEvents);
  REQUIRE(verify_log_bytes(original, tenant, cp).ok());
  std::vector<std::size_t> starts;
  for (std::size_t i = 0, pos = 0; i < frames.size(); pos += frames[i].size(), ++i) starts.push_back(pos);
  auto record_at = [&](std::size_t byte) {
    return static_cast<std::uint64_t>(std::upper_bound(starts.begin(), starts.end(), byte) - starts.begin() - 1);
  };

  std::mt19937_64 rng(20261123);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  int detected = 0;
  int exact = 0;
  constexpr int kMutations = 10000;
  std::string first_miss;
  for (int m = 0; m < kMutations; ++m) {
    std::string mutated;
    std::uint64_t expected = 0;
    std::string kind;
    switch (m % 5) {
      case 0: {  // bit flip anywhere
        mutated = original;
        const std::size_t byte = pick(mutated.size());
        mutated[byte] = static_cast<char>(mutated[byte] ^ (1 << pick(8)));
        expected = record_at(byte);
        kind = "bit flip at byte " + std::to_string(byte);
        break;
      }
      case 1: {  // delete one record
        auto copy = frames;
        const std::size_t i = pick(copy.size());
        copy.erase(copy.begin() + static_cast<std::ptrdiff_t>(i));
        mutated = join(copy);
        expected = i;
        kind = "delete " + std::to_string(i);
        break;
      }
      case 2: {  // swap two records
        auto copy = frames;
        std::size_t i = pick(copy.size());
        std::size_t j = pick(copy.size());
        while (j == i) j = pick(copy.size());
        std::swap(copy[i], copy[j]);
        mutated = join(copy);
        expected = std::min(i, j);
        kind = "swap " + std::to_string(i) + "," + std::to_string(j);
        break;
      }
      case 3: {  // truncate
        const std::size_t at = pick(original.size());
        mutated = original.substr(0, at);
        expected = record_at(at);
        kind = "truncate at " + std::to_string(at);
        break;
      }
      case 4: {  // replace with another tenant's event (same position or another)
        auto copy = frames;
        const std::size_t i = pick(copy.size());
        copy[i] = foreign[m % 2 == 0 ? i : pick(foreign.size())];
        mutated = join(copy);
        expected = i;
        kind = "replace " + std::to_string(i) + " with tenant-b's event";
        break;
      }
    }
    auto result = verify_log_bytes(mutated, tenant, cp);
    if (!result.ok() && result.error().code() == ErrorCode::Tampered) {
      ++detected;
      if (result.error().message().find("first bad index " + std::to_string(expected) + ":") != std::string::npos) {
        ++exact;
      } else if (first_miss.empty()) {
        first_miss = kind + " -> " + result.error().message();
      }
    } else if (first_miss.empty()) {
      first_miss = kind + " -> not detected";
    }
  }
  INFO(first_miss);
  CHECK(detected == kMutations);
  CHECK(exact == kMutations);
}

TEST_CASE("Tamper test: edited export bundles are refused (deleted, swapped, foreign or flipped records)") {
  AuditFixture f(true);
  append_n(*f.log, f.a, 24, "a-event");
  append_n(*f.log, f.b, 24, "b-event");
  auto export_of = [&](const TenantContext& ctx, const std::string& name) {
    const auto path = f.root() / name;
    with_tenant(ctx, [&](auto scope) {
      FileSink sink(path);
      (void)f.log->export_bundle(scope, sink);
    });
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  };
  const auto lines = export_of(f.a, "a.jsonl");
  const auto foreign = export_of(f.b, "b.jsonl");
  std::vector<std::size_t> record_lines;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("\"type\":\"record\"") != std::string::npos) record_lines.push_back(i);
  }
  REQUIRE(record_lines.size() == 24);
  const TenantId tenant("tenant-a");
  auto join_lines = [](const std::vector<std::string>& ls) {
    std::string out;
    for (const auto& l : ls) out += l + "\n";
    return out;
  };
  REQUIRE(verify_bundle(join_lines(lines), tenant, f.verifier()).ok());

  std::mt19937_64 rng(7);
  int detected = 0;
  constexpr int kMutations = 1000;
  std::string first_miss;
  for (int m = 0; m < kMutations; ++m) {
    auto copy = lines;
    const std::size_t r = record_lines[rng() % record_lines.size()];
    std::string kind;
    switch (m % 4) {
      case 0:
        copy.erase(copy.begin() + static_cast<std::ptrdiff_t>(r));
        kind = "delete line " + std::to_string(r);
        break;
      case 1: {
        const std::size_t other = record_lines[(r - record_lines[0] + 1) % record_lines.size()];
        std::swap(copy[r], copy[other]);
        kind = "swap lines " + std::to_string(r) + "," + std::to_string(other);
        break;
      }
      case 2: {  // B's record with the same index
        copy[r] = foreign[r];
        kind = "foreign record at line " + std::to_string(r);
        break;
      }
      case 3: {  // flip one character inside the base64 frame
        const auto start = copy[r].find("\"frame\":\"") + 9;
        const std::size_t pos = start + rng() % (copy[r].size() - start - 2);
        copy[r][pos] = copy[r][pos] == 'A' ? 'B' : 'A';
        kind = "flip in line " + std::to_string(r);
        break;
      }
    }
    auto result = verify_bundle(join_lines(copy), tenant, f.verifier());
    if (!result.ok()) {
      ++detected;
    } else if (first_miss.empty()) {
      first_miss = kind;
    }
  }
  INFO(first_miss);
  CHECK(detected == kMutations);
}

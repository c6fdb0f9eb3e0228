// Property test of the chat cache key (finding 1 of the adversarial review): distinct inputs
// never encode to the same bytes, compared before hashing (the bytes the keyed BLAKE2b takes).
// Random tuples alone would pass on a comma-joined encoding too; the adversarial pairs first.
#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <unordered_map>

#include "cache/keyed_digest.h"
#include "pipeline/chat_cache_key.h"

using namespace tenantai;
using tenantai::pipeline::detail::ChatCacheKey;

namespace {

struct Tuple {
  std::string tenant;
  std::vector<std::string> groups;
  std::string model;
  std::string adapter;
  std::string prompt_version;
  std::size_t max_tokens = 256;
  std::size_t k = 4;
  std::vector<inference::ChatMessage> messages;
};

ChatCacheKey key_of(const Tuple& t) {
  const TenantId tenant(t.tenant);
  return pipeline::detail::chat_cache_key(
      {tenant, t.groups, t.model, t.adapter, t.prompt_version, t.max_tokens, t.k, t.messages});
}

// What the exact cache hashes.
std::string exact_bytes(const Tuple& t) { return cache::detail::response_key_bytes(key_of(t).response_key()); }
// What makes two semantic entries comparable.
std::string semantic_bytes(const Tuple& t) {
  const auto key = key_of(t);
  const auto semantic = key.semantic_key();
  return cache::detail::response_key_bytes({semantic.model_id, semantic.prompt_version, "", ""});
}

// The identity the key must respect: group sets are sets, and message contents are compared
// after the documented whitespace normalisation (cache::normalise_input).
std::string identity_of(const Tuple& t, bool with_messages) {
  std::set<std::string> groups(t.groups.begin(), t.groups.end());
  std::string out = "tenant=" + t.tenant + "\x1f";
  for (const auto& g : groups) out += "group=" + std::to_string(g.size()) + ":" + g + "\x1f";
  out += "model=" + std::to_string(t.model.size()) + ":" + t.model + "\x1f";
  out += "adapter=" + std::to_string(t.adapter.size()) + ":" + t.adapter + "\x1f";
  out += "prompt=" + std::to_string(t.prompt_version.size()) + ":" + t.prompt_version + "\x1f";
  out += "max=" + std::to_string(t.max_tokens) + "\x1fk=" + std::to_string(t.k) + "\x1f";
  if (with_messages) {
    for (const auto& m : t.messages) {
      const auto content = cache::normalise_input(m.content);
      out += "msg=" + std::to_string(m.role.size()) + ":" + m.role + std::to_string(content.size()) + ":" + content + "\x1f";
    }
  }
  return out;
}

Tuple base() {
  Tuple t;
  t.tenant = "acme-bank";
  t.groups = {"staff"};
  t.model = "echo-small";
  t.adapter = "acme-lora";
  t.prompt_version = "tenantai.answer@1+acme-bank@1";
  t.messages = {{"user", "What does the risk memo say?"}};
  return t;
}

// Pairs an attacker would try: a field's tail moved into the next field, a list split or merged,
// empty fields, and every separator a join could have used.
std::vector<std::pair<Tuple, Tuple>> adversarial_pairs() {
  std::vector<std::pair<Tuple, Tuple>> pairs;
  auto pair = [&](auto&& change_a, auto&& change_b) {
    Tuple a = base();
    Tuple b = base();
    change_a(a);
    change_b(b);
    pairs.emplace_back(std::move(a), std::move(b));
  };
  for (const std::string& sep : std::vector<std::string>{",", ":", "#", std::string("\0", 1), "|", ";", "=", "\n", "\xc3\xa9", "\xe2\x80\x8b"}) {
    pair([&](Tuple& t) { t.groups = {"risk" + sep + "staff"}; }, [&](Tuple& t) { t.groups = {"risk", "staff"}; });
    pair([&](Tuple& t) { t.groups = {"risk" + sep, "staff"}; }, [&](Tuple& t) { t.groups = {"risk", sep + "staff"}; });
    pair([&](Tuple& t) { t.model = "echo" + sep; t.adapter = "small"; }, [&](Tuple& t) { t.model = "echo"; t.adapter = sep + "small"; });
    pair([&](Tuple& t) { t.adapter = "lora" + sep; t.prompt_version = "v1"; },
         [&](Tuple& t) { t.adapter = "lora"; t.prompt_version = sep + "v1"; });
    pair([&](Tuple& t) { t.prompt_version = "v1" + sep + "groups=risk"; t.groups = {}; },
         [&](Tuple& t) { t.prompt_version = "v1"; t.groups = {"risk"}; });
    pair([&](Tuple& t) { t.messages = {{"user", "a" + sep + "user:b"}}; },
         [&](Tuple& t) { t.messages = {{"user", "a"}, {"user", "b"}}; });
    pair([&](Tuple& t) { t.messages = {{"user", "hi" + sep}, {"assistant", "x"}}; },
         [&](Tuple& t) { t.messages = {{"user", "hi"}, {"assistant", sep + "x"}}; });
  }
  pair([](Tuple& t) { t.groups = {"risk,staff"}; }, [](Tuple& t) { t.groups = {"risk", "staff", ""}; });
  pair([](Tuple& t) { t.groups = {}; }, [](Tuple& t) { t.groups = {""}; });
  pair([](Tuple& t) { t.adapter = ""; }, [](Tuple& t) { t.adapter = "-"; });
  pair([](Tuple& t) { t.messages = {{"user", "hi\n"}}; }, [](Tuple& t) { t.messages = {{"user", "hi"}, {"user", ""}}; });
  pair([](Tuple& t) { t.max_tokens = 12; t.k = 3; }, [](Tuple& t) { t.max_tokens = 1; t.k = 23; });
  pair([](Tuple& t) { t.tenant = "acme"; t.groups = {"bank-staff"}; }, [](Tuple& t) { t.tenant = "acme-bank"; t.groups = {"staff"}; });
  return pairs;
}

std::string random_text(std::mt19937_64& rng, std::size_t max_length) {
  // A tiny alphabet with every separator, so random tuples collide often if the encoding allows it.
  static const std::vector<std::string> kAlphabet = {"a", "b", ",", ":", "#", "|", ";", "=", " ", "\n",
                                                     std::string("\0", 1), "1", "\xc3\xa9"};
  std::uniform_int_distribution<std::size_t> length(0, max_length);
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string out;
  for (std::size_t n = length(rng); n > 0; --n) out += kAlphabet[pick(rng)];
  return out;
}

Tuple random_tuple(std::mt19937_64& rng) {
  static const std::vector<std::string> kTenants = {"acme", "acme-bank", "a.b", "a-b"};
  static const std::vector<std::string> kRoles = {"user", "assistant", "system"};
  Tuple t;
  t.tenant = kTenants[rng() % kTenants.size()];
  for (std::size_t n = rng() % 3; n > 0; --n) t.groups.push_back(random_text(rng, 3));
  t.model = random_text(rng, 2);
  t.adapter = random_text(rng, 2);
  t.prompt_version = random_text(rng, 2);
  t.max_tokens = rng() % 3;
  t.k = rng() % 3;
  for (std::size_t n = 1 + rng() % 2; n > 0; --n) t.messages.push_back({kRoles[rng() % kRoles.size()], random_text(rng, 3)});
  return t;
}

}  // namespace

TEST_CASE("chat cache key: adversarial split and merge pairs never encode equally", "[pipeline][cache_key]") {
  const auto pairs = adversarial_pairs();
  REQUIRE(pairs.size() >= 70);
  std::size_t equal = 0;
  std::size_t distinct = 0;
  for (const auto& [a, b] : pairs) {
    if (identity_of(a, true) == identity_of(b, true)) continue;  // e.g. "\n" vs "": equal once normalised
    ++distinct;
    if (exact_bytes(a) == exact_bytes(b)) {
      ++equal;
      UNSCOPED_INFO("exact keys equal: " << identity_of(a, true) << " vs " << identity_of(b, true));
    }
    if (identity_of(a, false) != identity_of(b, false) && semantic_bytes(a) == semantic_bytes(b)) {
      ++equal;
      UNSCOPED_INFO("semantic keys equal: " << identity_of(a, false) << " vs " << identity_of(b, false));
    }
  }
  CHECK(distinct >= 70);
  CHECK(equal == 0);
}

TEST_CASE("chat cache key: one group set has one encoding whatever its order and duplicates", "[pipeline][cache_key]") {
  Tuple a = base();
  Tuple b = base();
  a.groups = {"staff", "risk", "risk"};
  b.groups = {"risk", "staff"};
  CHECK(exact_bytes(a) == exact_bytes(b));
  b.messages = {{"user", "  What does   the risk memo say?\n"}};  // whitespace-normalised input
  CHECK(exact_bytes(a) == exact_bytes(b));
}

TEST_CASE("chat cache key: 100,000 random tuples plus the adversarial pairs, 0 equal encodings of distinct tuples",
          "[pipeline][cache_key]") {
  std::mt19937_64 rng(20261201);
  std::unordered_map<std::string, std::string> exact_owner;     // encoding -> identity
  std::unordered_map<std::string, std::string> semantic_owner;
  std::size_t collisions = 0;
  std::size_t tuples = 0;
  auto check = [&](const Tuple& t) {
    ++tuples;
    const auto identity = identity_of(t, true);
    auto [it, inserted] = exact_owner.emplace(exact_bytes(t), identity);
    if (!inserted && it->second != identity) ++collisions;
    const auto context_identity = identity_of(t, false);
    auto [sit, sinserted] = semantic_owner.emplace(semantic_bytes(t), context_identity);
    if (!sinserted && sit->second != context_identity) ++collisions;
  };
  for (const auto& [a, b] : adversarial_pairs()) {
    check(a);
    check(b);
  }
  for (int i = 0; i < 100'000; ++i) check(random_tuple(rng));
  INFO(tuples << " tuples, " << exact_owner.size() << " distinct exact encodings");
  CHECK(tuples >= 100'000);
  CHECK(collisions == 0);
  CHECK(exact_owner.size() > 50'000);  // the generator really produced many distinct tuples
}

// Shared by the corpus tests: a FileCorpusStore on a temp dir with real keys and a real sealer.
#pragma once

#include <catch2/catch.hpp>
#include <tenantai/audit.h>
#include <tenantai/corpus.h>
#include <tenantai/crypto.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "support/error_code.h"
#include "support/test_auth.h"

namespace tenantai::corpus_test {

using namespace tenantai;
using namespace tenantai::corpus;
using tenantai::test_support::context_for;

inline CorpusDocument document(const std::string& id, const std::string& text, std::vector<std::string> acl = {}) {
  CorpusDocument d;
  d.id = id;
  d.title = "title of " + id;
  d.text = text;
  d.acl_groups = std::move(acl);
  d.metadata = {{"lang", std::string("en")}, {"year", std::int64_t{2026}}};
  d.vector = {0.25f, -1.5f, 3.0f, 1e-7f};
  return d;
}

// prefix + n (built by appending: g++ 12 warns falsely on "literal" + std::to_string()).
inline std::string numbered(std::string prefix, int n) {
  prefix += std::to_string(n);
  return prefix;
}

inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// End of the written records: the journal preallocates zeros past it.
inline std::size_t written_end(const std::string& bytes) { return bytes.find_last_not_of('\0') + 1; }

struct Fixture {
  test_support::TempDir dir;
  crypto::LocalKeyProvider keys{std::filesystem::path(dir.path()) / "keys"};
  crypto::EnvelopeSealer sealer{keys, std::filesystem::path(dir.path()) / "keyrings"};
  std::unique_ptr<FileCorpusStore> store;
  std::set<std::string> sealed_tenants;
  std::uint64_t wal_bytes = 256u << 20;
  std::uint64_t compact_dead_bytes = 8u << 20;

  Fixture() { reopen(); }
  std::filesystem::path root() const { return std::filesystem::path(dir.path()) / "corpus"; }
  std::filesystem::path wal() const { return root() / "shared.wal"; }
  void reopen() {
    store.reset();
    FileCorpusOptions options;
    options.root = root();
    options.sealer = &sealer;
    options.seal = [this](const TenantId& t) { return sealed_tenants.count(t.str()) > 0; };
    options.wal_bytes = wal_bytes;
    options.compact_dead_bytes = compact_dead_bytes;
    store = std::make_unique<FileCorpusStore>(options);
  }
  std::map<std::string, CorpusDocument> load(const TenantContext& ctx, LoadReport* report = nullptr) {
    std::map<std::string, CorpusDocument> out;
    auto r = with_tenant(ctx, [&](auto scope) {
      return store->load(scope, [&](CorpusDocument&& d) { out[d.id] = std::move(d); });
    });
    if (report != nullptr) *report = r;
    return out;
  }
  std::size_t put(const TenantContext& ctx, const std::vector<CorpusDocument>& docs) {
    return with_tenant(ctx, [&](auto scope) { return store->put(scope, docs); });
  }
  std::size_t remove(const TenantContext& ctx, const std::vector<std::string>& ids) {
    return with_tenant(ctx, [&](auto scope) { return store->remove(scope, ids); });
  }
};

}  // namespace tenantai::corpus_test

// quickstart: two tenants, one shared process. Authenticate API keys into tenant contexts,
// keep each tenant's notes in a tenant-partitioned store, and show that neither can see the
// other's data, that a forged/unknown key is refused, and that cross-tenant work needs an
// audited SystemScope.
#include <tenantai/core.h>
#include <tenantai/version.h>

#include <iostream>
#include <mutex>
#include <string>
#include <vector>

namespace {

// A minimal tenant-partitioned store built the way every tenantai store is: the partition is
// reached only through a TenantScope, values go in and come out as Scoped<...>.
class NoteStore {
 public:
  template <typename Tag>
  void add(const tenantai::TenantScope<Tag>& scope, std::string note) {
    auto part = partitions_.get_or_create(scope);
    std::lock_guard lock(part->mutex);
    part->notes.push_back(std::move(note));
  }
  template <typename Tag>
  auto list(const tenantai::TenantScope<Tag>& scope) const {
    std::vector<std::string> notes;
    if (auto part = partitions_.find(scope)) {
      std::lock_guard lock(part->mutex);
      notes = part->notes;
    }
    return scope.bind(std::move(notes));
  }

 private:
  struct Partition {
    std::mutex mutex;
    std::vector<std::string> notes;
  };
  tenantai::TenantPartitions<Partition> partitions_;
};

}  // namespace

int main() {
  using namespace tenantai;
  std::cout << "tenantai " << version() << " quickstart\n\n";

  ApiKeyAuthenticator auth;
  const IssuedKey acme_key = auth.issue({TenantId("acme"), "alice", {"staff"}, {}});
  const IssuedKey globex_key = auth.issue({TenantId("globex"), "bob", {"staff"}, {}});

  NoteStore store;
  for (const auto& [key, note] : {std::pair{acme_key.secret, std::string("acme: Q3 launch is on the 14th")},
                                  std::pair{globex_key.secret, std::string("globex: merger code name BLUEBIRD")}}) {
    TenantContext ctx = auth.authenticate(key).value();
    with_tenant(ctx, [&](auto scope) { store.add(scope, note); });
  }

  for (const auto* key : {&acme_key.secret, &globex_key.secret}) {
    TenantContext ctx = auth.authenticate(*key).value();
    auto notes = with_tenant(ctx, [&](auto scope) { return scope.release(store.list(scope), "notes"); });
    std::cout << "[" << ctx.tenant().str() << " as " << ctx.actor() << "] sees " << notes.size() << " note(s):\n";
    for (const auto& n : notes) std::cout << "    " << n << "\n";
  }

  auto forged = auth.authenticate("tai_this-key-was-never-issued-and-must-be-refused-0");
  std::cout << "\nunknown key -> " << (forged.ok() ? std::string("ACCEPTED (bug!)") : forged.error().what()) << "\n";
  auto bad_id = TenantId::parse("../etc/passwd");
  std::cout << "bad tenant id -> " << bad_id.error().what() << "\n";

  InMemoryAccessRecorder recorder;
  SystemScope ops(recorder, "oncall@vendor", "count notes for capacity planning");
  std::size_t total = 0;
  for (const char* t : {"acme", "globex"}) {
    total += ops.visit(TenantId(t), [&](auto scope) { return scope.release(store.list(scope)).size(); });
  }
  std::cout << "\nSystemScope counted " << total << " notes across tenants; recorded accesses:\n";
  for (const auto& r : recorder.records()) {
    std::cout << "    tenant=" << r.tenant.str() << " operator=" << r.operator_id << " reason=\"" << r.reason << "\"\n";
  }
  return forged.ok() ? 1 : 0;
}

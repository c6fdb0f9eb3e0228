#include "backup_fixture.h"

#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <cstdio>

#include "file_copy.h"
#include "layout.h"
#include "support/tenant_configs.h"
#include "support/test_auth.h"
#include "unit/pipeline/platform_fixture.h"

namespace backup_test {

using namespace tenantai;
using namespace tenantai::pipeline;
using tenantai::test_support::fixed_secret;

namespace {

TenantConfig config_of(const std::string& id, bool sealed) {
  return tenantai::test_support::roomy_tenant_config(id, sealed);
}

const memory::MemoryScope kChat{"teller", "bot", "s1"};

std::string quoted(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

}  // namespace

Life::Life(const fs::path& data_dir) {
  platform = std::make_unique<Platform>(pipeline_test::echo_options(data_dir));
  registry = std::make_unique<TenantRegistry>(*platform);
  pipeline = std::make_unique<Pipeline>(*platform);
  auto system = platform->system_scope("test-operator", "provision backup test tenants");
  for (const auto& [id, sealed] : kTenants) registry->onboard(system, config_of(id, sealed));
}

Life::~Life() {
  pipeline.reset();
  registry.reset();
  platform.reset();
}

TenantContext Life::login(const std::string& tenant, const std::string& actor) const {
  auto context = platform->authenticator().authenticate(fixed_secret(tenant + actor));
  if (!context) throw context.error();
  return *context;
}

void Life::ingest(const std::string& tenant, const std::string& doc_id, const std::string& text) {
  std::vector<IngestDocument> documents{{doc_id, "title of " + doc_id, text, {}, {}}};
  with_tenant(login(tenant, "Admin"), [&](auto scope) { pipeline->ingest(scope, documents); });
}

std::string Life::query(const std::string& tenant, const std::string& text) {
  auto passages = with_tenant(login(tenant, "Teller"), [&](auto scope) {
    return scope.release(pipeline->query(scope, {text, 8, {}}));
  });
  std::string out;
  for (const auto& p : passages) out += p.id + "\n";
  return out;
}

void Life::remember(const std::string& tenant, const std::string& content) {
  with_tenant(login(tenant, "Teller"), [&](auto scope) { platform->memory().append(scope, kChat, {"user", content}); });
}

std::vector<std::string> Life::memories(const std::string& tenant) {
  return with_tenant(login(tenant, "Teller"), [&](auto scope) {
    std::vector<std::string> out;
    const auto messages = platform->memory().messages(scope, kChat);  // keep the Scoped alive while reading
    for (const auto& m : scope.view(messages)) out.push_back(m.content);
    return out;
  });
}

Result<audit::VerifyReport> Life::verify_audit(const std::string& tenant) {
  return audit::verify_log(platform->audit().root(), TenantId(tenant), platform->audit_verifier(TenantId(tenant)));
}

void populate(const fs::path& data_dir) {
  Life life(data_dir);
  for (const auto& [id, sealed] : kTenants) {
    life.ingest(id, id + "-policy", "Refund policy of " + id + ": CANARY-" + id + "-DOC");
    life.remember(id, "memory of " + id + " before the backup");
  }
}

Run run_tool(const std::vector<std::string>& args) {
  std::string command = quoted(TENANTAI_BACKUP_BIN);
  for (const auto& a : args) command += " " + quoted(a);
  command += " 2>&1";
  Run run;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::map<std::string, std::string> digests_under(const fs::path& dir) {
  std::map<std::string, std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& relative : tenantai::backup::list_files(dir)) {
    out[relative] = tenantai::backup::digest_file(dir / relative).blake2b;
  }
  return out;
}

}  // namespace backup_test

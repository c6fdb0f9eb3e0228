// tenantai-audit: verify a tenant's audit log or exported bundle, prove inclusion, export.
#include <tenantai/audit/cli.h>

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return tenantai::audit::run_audit_cli(args, std::cout, std::cerr);
}

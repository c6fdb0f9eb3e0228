// The tenantai-audit command line, as a function (so it is testable in-process).
//
//   tenantai-audit verify --root DIR --tenant T --key VKEY
//   tenantai-audit verify --bundle FILE --tenant T --key VKEY
//   tenantai-audit prove  --root DIR --tenant T --key VKEY --index I
//   tenantai-audit export --root DIR --tenant T --key VKEY --out FILE
//
// VKEY is a signed-note verifier key ("name+hash+base64") or "@file" holding one. Everything is
// checked against that pinned key and the origin tenantai.audit/<T>; no tenant key is needed.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace tenantai::audit {

// Runs one command; returns the process exit code: 0 ok, 1 verification failed (message names
// the first bad index), 2 usage or input error. Never throws (errors are printed to `err`).
int run_audit_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tenantai::audit

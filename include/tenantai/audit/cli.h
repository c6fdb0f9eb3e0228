// The tenantai-audit command line, as a function (so it is testable in-process).
//
//   tenantai-audit verify --root DIR --tenant T --key VKEY... [--witness WKEY... [--quorum N]]
//                         [--trusted-checkpoint FILE...]
//   tenantai-audit verify --bundle FILE --tenant T --key VKEY... [same options]
//   tenantai-audit prove  --root DIR --tenant T --key VKEY... --index I
//   tenantai-audit export --root DIR --tenant T --key VKEY... --out FILE
//
// VKEY is a signed-note verifier key ("name+hash+base64") or "@file" holding one; --key may be
// repeated (key rotation: a checkpoint signed by any of them is accepted). Everything is checked
// against those pinned keys and the origin tenantai.audit/<T>; no tenant key is needed.
// verify also checks what a tenant relies on beyond the log's own signature:
//   --witness WKEY (repeatable; C2SP cosigner keys) and --quorum N (default: all of them): the
//     newest checkpoint with >= N valid cosignatures is the published one; verify fails when no
//     checkpoint reaches N or when any line by a given witness does not verify. Records after the
//     published size are reported as not yet published (not an error).
//   --trusted-checkpoint FILE (repeatable): a checkpoint note saved earlier, which must verify
//     under one of the --key; verify fails ("rolled back") when the log or bundle is shorter than
//     it and ("forked") when its tree of that size has another root.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace tenantai::audit {

// Runs one command; returns the process exit code: 0 ok, 1 verification failed (message names
// the first bad index, the witness, or "rolled back" / "forked"), 2 usage or input error (an
// unknown option, a trusted checkpoint that no --key signed). Never throws (errors are printed
// to `err`). Thread-safe: reads only the files named in `args`.
int run_audit_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tenantai::audit

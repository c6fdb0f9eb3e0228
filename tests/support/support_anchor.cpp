// Keeps the support library non-empty when a layer has no helpers of its own.
namespace tenantai::test_support {
int anchor() { return 0; }
}  // namespace tenantai::test_support

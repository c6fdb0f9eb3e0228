// PromptRegistry: versioned base templates (fmt named arguments) shared by all tenants, and a
// per-tenant overlay that fills declared slots and may replace unlocked sections only.
//
//   registry.publish(base);                              // returns the base version, e.g. 1
//   registry.set_overlay(scope, {.base = "support", .slots = {{"company_name", "Acme"}}});
//   auto prompt = registry.render(scope, "support", {{"question", q}, {"context", passages}});
//   scope.view(prompt).version_id  // "support@1+acme.1"
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"

namespace tenantai::prompt {

// One section of a base template: fmt text with named arguments ({company_name}, {context}).
// A locked section (safety rules, output format) cannot be replaced by an overlay. Plain data.
struct Section {
  std::string name;
  std::string text;
  bool locked = false;
};

// A slot a tenant overlay may fill (company name, terminology, tone, prohibited topics,
// escalation rules...). An unfilled slot renders as `default_value`. Plain data.
struct SlotSpec {
  std::string name;
  std::string default_value;
  std::size_t max_length = 2000;
};

// A base template. `inputs` name the per-request arguments the Pipeline supplies at render
// time (question, context, memory); overlays cannot set them. Every {name} in a section must be
// a slot or an input. Plain data.
struct BaseTemplate {
  std::string name;
  std::vector<Section> sections;
  std::vector<SlotSpec> slots;
  std::vector<std::string> inputs;
};

// A tenant's overlay over one base template. `base_version` 0 follows the newest base.
// `section_overrides` replace unlocked sections' text; that text is taken literally (braces are
// escaped), so an overlay can never add placeholders or reach request inputs. Plain data.
struct Overlay {
  std::string base;
  std::uint32_t base_version = 0;
  std::map<std::string, std::string> slots;
  std::map<std::string, std::string> section_overrides;
};

// A rendered prompt with the ids that produced it (recorded in the audit event and used in
// cache keys). Plain data.
struct RenderedPrompt {
  std::string text;                  // sections in order, separated by blank lines
  std::string base_name;
  std::uint32_t base_version = 0;
  std::uint32_t overlay_version = 0;  // 0 = the tenant has no overlay for this base
  std::string version_id;             // "<base>@<base_version>" or "<base>@<v>+<tenant>.<overlay_version>"
};

// Thread-safe (one shared_mutex: shared for render, exclusive for changes). Base templates are
// shared vendor data; overlays are per tenant, each tenant's in its own partition keyed by the
// TenantId from its scope. Failures throw tenantai::Error:
//   publish: bad template (no sections, duplicate names, a {placeholder} that is neither slot
//            nor input, bad fmt syntax) → InvalidArgument
//   set_overlay: unknown base or base version → NotFound; undeclared slot, unknown section,
//            over-long value → InvalidArgument; replacing a locked section → PermissionDenied
//   render: unknown base → NotFound; a missing or undeclared input → InvalidArgument; an
//            overlay that no longer fits the pinned/newest base → InvalidArgument (fail closed)
class PromptRegistry {
 public:
  PromptRegistry() = default;

  // Publishes a new version of `base.name` (1 for the first). Returns the version.
  std::uint32_t publish(const BaseTemplate& base);

  // Newest published version of `name`; NotFound if none.
  std::uint32_t latest_version(const std::string& name) const;

  // Sets (replaces) the scope tenant's overlay for overlay.base. Returns the new overlay
  // version (1, 2, ... per tenant and base).
  template <typename Tag>
  std::uint32_t set_overlay(const TenantScope<Tag>& scope, const Overlay& overlay) {
    return set_overlay_impl(scope.tenant(), overlay);
  }

  // Renders `base_name` for the scope tenant with per-request `inputs`. Input values, like slot
  // values, are substituted as arguments and never parsed as template syntax.
  template <typename Tag>
  Scoped<RenderedPrompt, Tag> render(const TenantScope<Tag>& scope, const std::string& base_name,
                                     const std::map<std::string, std::string>& inputs = {}) const {
    return scope.bind(render_impl(scope.tenant(), base_name, inputs));
  }

  // Offboarding: drops every overlay of the scope tenant; returns how many there were.
  template <typename Tag>
  std::size_t erase_tenant(const TenantScope<Tag>& scope) {
    return erase_impl(scope.tenant());
  }

 private:
  struct StoredOverlay {
    Overlay overlay;
    std::uint32_t version = 0;
  };
  using TenantOverlays = std::map<std::string, StoredOverlay>;  // base name → overlay

  std::uint32_t set_overlay_impl(const TenantId& tenant, const Overlay& overlay);
  RenderedPrompt render_impl(const TenantId& tenant, const std::string& base_name,
                             const std::map<std::string, std::string>& inputs) const;
  std::size_t erase_impl(const TenantId& tenant);
  const BaseTemplate& base_locked(const std::string& name, std::uint32_t version) const;

  mutable std::shared_mutex mutex_;
  std::map<std::string, std::vector<BaseTemplate>> bases_;  // name → versions (index = version - 1)
  std::unordered_map<TenantId, std::shared_ptr<TenantOverlays>> overlays_;
};

// Doubles every '{' and '}' so `text` is literal inside an fmt format string.
std::string escape_braces(std::string_view text);

}  // namespace tenantai::prompt

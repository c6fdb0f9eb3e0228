#include "tenantai/prompt/prompt_registry.h"

#include <fmt/args.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <set>

namespace tenantai::prompt {

namespace {

const SlotSpec* find_slot(const BaseTemplate& base, const std::string& name) {
  for (const auto& s : base.slots) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const Section* find_section(const BaseTemplate& base, const std::string& name) {
  for (const auto& s : base.sections) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// Every overlay rule, checked when the overlay is set and again at render time (the base it
// follows may have changed since).
void validate_overlay(const BaseTemplate& base, const Overlay& overlay) {
  for (const auto& [name, value] : overlay.slots) {
    const SlotSpec* slot = find_slot(base, name);
    if (slot == nullptr) {
      throw Error(ErrorCode::InvalidArgument, "prompt \"" + base.name + "\" declares no slot \"" + name + "\"");
    }
    if (value.size() > slot->max_length) {
      throw Error(ErrorCode::InvalidArgument, "value for slot \"" + name + "\" is longer than " +
                                                  std::to_string(slot->max_length) + " bytes");
    }
  }
  for (const auto& [name, text] : overlay.section_overrides) {
    const Section* section = find_section(base, name);
    if (section == nullptr) {
      throw Error(ErrorCode::InvalidArgument, "prompt \"" + base.name + "\" has no section \"" + name + "\"");
    }
    if (section->locked) {
      throw Error(ErrorCode::PermissionDenied,
                  "section \"" + name + "\" of prompt \"" + base.name + "\" is locked and cannot be replaced");
    }
  }
}

// Rejects positional fields ({}, {0}): every field must be named, so values cannot be reached
// by position. Returns the named fields used.
std::set<std::string> named_fields(const std::string& text, const std::string& where) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{') {
      if (i + 1 < text.size() && text[i + 1] == '{') {
        ++i;
        continue;
      }
      std::size_t end = text.find_first_of(":}", i + 1);
      if (end == std::string::npos) throw Error(ErrorCode::InvalidArgument, where + ": unterminated '{'");
      std::string name = text.substr(i + 1, end - i - 1);
      bool ok = !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) != 0 || name[0] == '_') &&
                std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; });
      if (!ok) throw Error(ErrorCode::InvalidArgument, where + ": field \"{" + name + "}\" is not a named argument");
      names.insert(name);
    }
  }
  return names;
}

std::string format_section(const std::string& text, const std::map<std::string, std::string>& args,
                           const std::string& where) {
  fmt::dynamic_format_arg_store<fmt::format_context> store;
  for (const auto& [name, value] : args) store.push_back(fmt::arg(name.c_str(), value));
  try {
    return fmt::vformat(text, store);
  } catch (const fmt::format_error& e) {
    throw Error(ErrorCode::InvalidArgument, where + ": " + e.what());
  }
}

}  // namespace

std::string escape_braces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    out.push_back(c);
    if (c == '{' || c == '}') out.push_back(c);
  }
  return out;
}

std::uint32_t PromptRegistry::publish(const BaseTemplate& base) {
  if (base.name.empty() || base.sections.empty()) {
    throw Error(ErrorCode::InvalidArgument, "a base template needs a name and at least one section");
  }
  std::set<std::string> declared;
  for (const auto& s : base.slots) {
    if (!declared.insert(s.name).second) throw Error(ErrorCode::InvalidArgument, "duplicate slot/input \"" + s.name + "\"");
  }
  for (const auto& i : base.inputs) {
    if (!declared.insert(i).second) throw Error(ErrorCode::InvalidArgument, "duplicate slot/input \"" + i + "\"");
  }
  std::set<std::string> section_names;
  std::map<std::string, std::string> dummy;
  for (const auto& name : declared) dummy[name] = "";
  for (const auto& section : base.sections) {
    const std::string where = "prompt \"" + base.name + "\" section \"" + section.name + "\"";
    if (section.name.empty() || !section_names.insert(section.name).second) {
      throw Error(ErrorCode::InvalidArgument, where + ": section names must be unique and non-empty");
    }
    for (const auto& field : named_fields(section.text, where)) {
      if (declared.count(field) == 0) throw Error(ErrorCode::InvalidArgument, where + ": {" + field + "} is neither a slot nor an input");
    }
    (void)format_section(section.text, dummy, where);  // catches bad format specs now, not per request
  }
  std::unique_lock lock(mutex_);
  auto& versions = bases_[base.name];
  versions.push_back(base);
  return static_cast<std::uint32_t>(versions.size());
}

std::uint32_t PromptRegistry::latest_version(const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto it = bases_.find(name);
  if (it == bases_.end()) throw Error(ErrorCode::NotFound, "no prompt template \"" + name + "\"");
  return static_cast<std::uint32_t>(it->second.size());
}

const BaseTemplate& PromptRegistry::base_locked(const std::string& name, std::uint32_t version) const {
  auto it = bases_.find(name);
  if (it == bases_.end()) throw Error(ErrorCode::NotFound, "no prompt template \"" + name + "\"");
  if (version == 0) return it->second.back();
  if (version > it->second.size()) {
    throw Error(ErrorCode::NotFound, "prompt template \"" + name + "\" has no version " + std::to_string(version));
  }
  return it->second[version - 1];
}

std::uint32_t PromptRegistry::set_overlay_impl(const TenantId& tenant, const Overlay& overlay) {
  std::unique_lock lock(mutex_);
  validate_overlay(base_locked(overlay.base, overlay.base_version), overlay);
  auto& slot = overlays_[tenant];
  if (!slot) slot = std::make_shared<TenantOverlays>();
  auto& stored = (*slot)[overlay.base];
  stored.overlay = overlay;
  stored.version += 1;
  return stored.version;
}

RenderedPrompt PromptRegistry::render_impl(const TenantId& tenant, const std::string& base_name,
                                           const std::map<std::string, std::string>& inputs) const {
  std::shared_lock lock(mutex_);
  const StoredOverlay* stored = nullptr;
  if (auto t = overlays_.find(tenant); t != overlays_.end()) {
    if (auto o = t->second->find(base_name); o != t->second->end()) stored = &o->second;
  }
  const std::uint32_t pinned = stored != nullptr ? stored->overlay.base_version : 0;
  const BaseTemplate& base = base_locked(base_name, pinned);
  const std::uint32_t base_version =
      pinned != 0 ? pinned : static_cast<std::uint32_t>(bases_.find(base_name)->second.size());
  if (stored != nullptr) validate_overlay(base, stored->overlay);

  std::map<std::string, std::string> args;
  for (const auto& slot : base.slots) {
    std::string value = slot.default_value;
    if (stored != nullptr) {
      if (auto v = stored->overlay.slots.find(slot.name); v != stored->overlay.slots.end()) value = v->second;
    }
    args[slot.name] = std::move(value);
  }
  for (const auto& name : base.inputs) {
    auto v = inputs.find(name);
    if (v == inputs.end()) throw Error(ErrorCode::InvalidArgument, "prompt \"" + base_name + "\" needs input \"" + name + "\"");
    args[name] = v->second;
  }
  for (const auto& [name, value] : inputs) {
    if (std::find(base.inputs.begin(), base.inputs.end(), name) == base.inputs.end()) {
      throw Error(ErrorCode::InvalidArgument, "prompt \"" + base_name + "\" declares no input \"" + name + "\"");
    }
  }

  RenderedPrompt out;
  out.base_name = base_name;
  out.base_version = base_version;
  out.overlay_version = stored != nullptr ? stored->version : 0;
  out.version_id = base_name + "@" + std::to_string(base_version);
  if (stored != nullptr) out.version_id += "+" + tenant.str() + "." + std::to_string(stored->version);
  for (const auto& section : base.sections) {
    std::string text = section.text;
    if (stored != nullptr && !section.locked) {
      if (auto o = stored->overlay.section_overrides.find(section.name); o != stored->overlay.section_overrides.end()) {
        text = escape_braces(o->second);
      }
    }
    if (!out.text.empty()) out.text += "\n\n";
    out.text += format_section(text, args, "prompt \"" + base_name + "\" section \"" + section.name + "\"");
  }
  return out;
}

std::size_t PromptRegistry::erase_impl(const TenantId& tenant) {
  std::unique_lock lock(mutex_);
  auto it = overlays_.find(tenant);
  if (it == overlays_.end()) return 0;
  std::size_t n = it->second->size();
  overlays_.erase(it);
  return n;
}

}  // namespace tenantai::prompt

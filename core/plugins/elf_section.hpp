// Reads one named section out of an ELF shared object on disk, without loading it: how the plugin
// loader reads a plugin's ABI record before any of the plugin's code can run.
#pragma once

#include <optional>
#include <string>

namespace parley::core {

// The bytes of section `name` in the ELF64 file at `path`; nullopt when the file has no such
// section. Throws std::runtime_error saying why when the file cannot be read or is not a
// well-formed ELF64 object (every offset and size is checked against the file).
std::optional<std::string> readElfSection(const std::string& path, const std::string& name);

}  // namespace parley::core

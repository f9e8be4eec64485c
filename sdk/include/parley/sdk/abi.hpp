// The binary contract between parleyd and a plugin library.
//
// A plugin carries an AbiRecord in an ELF section of its own, `parley_abi`, and exports the
// Boost.DLL alias `parley_plugin_factory`, a function returning a new Plugin. The loader reads the
// record from the file, before the library is loaded and any of its code (static initialisers
// included) runs, and refuses it if the record does not match the core's own (see sdk/README.md,
// "ABI policy"). The record is plain data so that reading it is safe whatever SDK built the file.
// (SDK 1.1 plugins export the record as the alias `parley_plugin_abi` instead; they still load.)
#pragma once

#include <cstdint>

#include <Poco/Version.h>
#include <boost/version.hpp>

#define PARLEY_SDK_VERSION_MAJOR 1
#define PARLEY_SDK_VERSION_MINOR 2

#define PARLEY_SDK_STR2(x) #x
#define PARLEY_SDK_STR(x) PARLEY_SDK_STR2(x)

// Only what changes the C++ ABI goes into the signature: compiler family and major version, and
// the standard library's string/list ABI. A patch release of the compiler does not refuse a plugin.
#if defined(__clang__)
#define PARLEY_SDK_COMPILER "clang-" PARLEY_SDK_STR(__clang_major__)
#elif defined(__GNUC__)
#define PARLEY_SDK_COMPILER "gcc-" PARLEY_SDK_STR(__GNUC__)
#else
#define PARLEY_SDK_COMPILER "unknown"
#endif

#if defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI
#define PARLEY_SDK_STDLIB "libstdc++-cxx11"
#elif defined(__GLIBCXX__)
#define PARLEY_SDK_STDLIB "libstdc++-legacy"
#elif defined(_LIBCPP_VERSION)
#define PARLEY_SDK_STDLIB "libc++"
#else
#define PARLEY_SDK_STDLIB "unknown"
#endif

#define PARLEY_SDK_TOOLCHAIN PARLEY_SDK_COMPILER "/" PARLEY_SDK_STDLIB
#define PARLEY_SDK_BOOST BOOST_LIB_VERSION

namespace parley::sdk {

inline constexpr std::uint32_t kAbiMagic = 0x50524C59;  // "PRLY"
inline constexpr const char* kAbiSection = "parley_abi";

struct AbiRecord {
  std::uint32_t magic;
  std::uint32_t sdk_major;
  std::uint32_t sdk_minor;
  char toolchain[48];
  char boost[16];
  char poco[16];
};

// The Poco series as "major.minor", computed at compile time of whoever includes this header.
struct PocoSeries {
  char text[16];
};
constexpr PocoSeries pocoSeries(unsigned version) {
  PocoSeries s{};
  unsigned major = version >> 24, minor = (version >> 16) & 0xFF;
  int i = 0;
  if (major >= 10) s.text[i++] = static_cast<char>('0' + major / 10);
  s.text[i++] = static_cast<char>('0' + major % 10);
  s.text[i++] = '.';
  if (minor >= 10) s.text[i++] = static_cast<char>('0' + minor / 10);
  s.text[i++] = static_cast<char>('0' + minor % 10);
  return s;
}

// The record of whoever compiles this line: the core uses it as "expected", a plugin exports it.
constexpr AbiRecord currentAbiRecord() {
  AbiRecord r{kAbiMagic, PARLEY_SDK_VERSION_MAJOR, PARLEY_SDK_VERSION_MINOR, {}, {}, {}};
  constexpr const char toolchain[] = PARLEY_SDK_TOOLCHAIN;
  constexpr const char boost[] = PARLEY_SDK_BOOST;
  for (unsigned i = 0; i < sizeof(toolchain) && i + 1 < sizeof(r.toolchain); ++i)
    r.toolchain[i] = toolchain[i];
  for (unsigned i = 0; i < sizeof(boost) && i + 1 < sizeof(r.boost); ++i) r.boost[i] = boost[i];
  constexpr PocoSeries poco = pocoSeries(POCO_VERSION);
  for (unsigned i = 0; i < sizeof(poco.text); ++i) r.poco[i] = poco.text[i];
  return r;
}

}  // namespace parley::sdk

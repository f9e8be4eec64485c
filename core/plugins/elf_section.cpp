#include "core/plugins/elf_section.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace parley::core {

namespace {

class File {
 public:
  explicit File(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    struct stat st {};
    if (fd_ < 0 || fstat(fd_, &st) != 0) fail(std::string("cannot read: ") + std::strerror(errno));
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[noreturn]] void fail(const std::string& why) const { throw std::runtime_error(why); }

  // Exactly `size` bytes at `offset`, all inside the file.
  void read(std::uint64_t offset, void* out, std::uint64_t size) const {
    if (offset > size_ || size > size_ - offset) fail("not a valid ELF file (truncated)");
    auto* p = static_cast<char*>(out);
    while (size > 0) {
      const ssize_t n = ::pread(fd_, p, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail(std::string("cannot read: ") + std::strerror(errno));
      p += n;
      offset += static_cast<std::uint64_t>(n);
      size -= static_cast<std::uint64_t>(n);
    }
  }

 private:
  int fd_;
  std::uint64_t size_ = 0;
};

}  // namespace

std::optional<std::string> readElfSection(const std::string& path, const std::string& name) {
  File file(path);
  Elf64_Ehdr eh{};
  file.read(0, &eh, sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) file.fail("not an ELF file");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    file.fail("not a 64-bit little-endian ELF file");
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum)
    file.fail("not a valid ELF file (section headers)");
  std::vector<Elf64_Shdr> sections(eh.e_shnum);
  file.read(eh.e_shoff, sections.data(), sizeof(Elf64_Shdr) * eh.e_shnum);
  const Elf64_Shdr& names = sections[eh.e_shstrndx];
  if (names.sh_size > (1u << 20)) file.fail("not a valid ELF file (section names)");
  std::string table(names.sh_size, '\0');
  file.read(names.sh_offset, table.data(), names.sh_size);
  for (const Elf64_Shdr& s : sections) {
    if (s.sh_name >= table.size() ||
        table.compare(s.sh_name, name.size() + 1, std::string(name.c_str(), name.size() + 1)) != 0)
      continue;
    if (s.sh_type == SHT_NOBITS || s.sh_size > (1u << 16))
      file.fail("section " + name + " is not a plain data section");
    std::string bytes(s.sh_size, '\0');
    file.read(s.sh_offset, bytes.data(), s.sh_size);
    return bytes;
  }
  return std::nullopt;
}

}  // namespace parley::core

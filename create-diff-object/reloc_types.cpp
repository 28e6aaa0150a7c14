#include "reloc_types.h"

#include <elf.h>

#include "error.h"

namespace klp {

namespace {

// 0 for types outside the table.
unsigned known_width(uint32_t type) {
  switch (type) {
  case R_X86_64_64:
  case R_X86_64_PC64:
  case R_X86_64_GOTOFF64:
  case R_X86_64_GOTPC64:
  case R_X86_64_SIZE64:
  case R_X86_64_DTPOFF64:
  case R_X86_64_TPOFF64:
    return 8;
  case R_X86_64_PC32:
  case R_X86_64_PLT32:
  case R_X86_64_32:
  case R_X86_64_32S:
  case R_X86_64_GOT32:
  case R_X86_64_GOTPCREL:
  case R_X86_64_GOTPCRELX:
  case R_X86_64_REX_GOTPCRELX:
  case R_X86_64_GOTPC32:
  case R_X86_64_SIZE32:
  case R_X86_64_TLSGD:
  case R_X86_64_TLSLD:
  case R_X86_64_GOTTPOFF:
    return 4;
  case R_X86_64_16:
  case R_X86_64_PC16:
    return 2;
  case R_X86_64_8:
  case R_X86_64_PC8:
    return 1;
  }
  return 0;
}

} // namespace

unsigned reloc_width(uint32_t type) {
  if (type == R_X86_64_NONE)
    return 0;
  unsigned w = known_width(type);
  return w ? w : 4;
}

unsigned reloc_width(uint32_t type, const std::string &where) {
  if (type == R_X86_64_NONE)
    return 0;
  unsigned w = known_width(type);
  if (!w)
    throw Error(where + ": relocation type " + std::to_string(type) + " is not supported");
  return w;
}

bool reloc_supported(uint32_t type) { return type == R_X86_64_NONE || known_width(type) != 0; }

bool reloc_is_pc_relative(uint32_t type) {
  switch (type) {
  case R_X86_64_PC8:
  case R_X86_64_PC16:
  case R_X86_64_PC32:
  case R_X86_64_PC64:
  case R_X86_64_PLT32:
  case R_X86_64_GOTPCREL:
  case R_X86_64_GOTPCRELX:
  case R_X86_64_REX_GOTPCRELX:
  case R_X86_64_GOTPC32:
  case R_X86_64_TLSGD:
  case R_X86_64_TLSLD:
  case R_X86_64_GOTTPOFF:
    return true;
  }
  return false;
}

} // namespace klp

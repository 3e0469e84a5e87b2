// The nothrow operator new and delete through the plain ones, for a test unit that replaces
// `operator new(std::size_t)` and `operator delete(void*)` to watch allocations: include it once,
// in that unit, after those replacements. The standard's own nothrow forms would call them too,
// but where a sanitizer supplies the allocator (ASan), its nothrow new allocates apart and then
// meets the replaced delete's free() (alloc-dealloc mismatch); std::stable_sort's buffer takes
// that path.
#pragma once

#include <cstddef>
#include <new>

void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return operator new(size);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void operator delete(void* p, const std::nothrow_t&) noexcept { operator delete(p); }

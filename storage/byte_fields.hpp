// Big-endian fields of the store's records and of other messages Arbor frames itself (the
// replication log): fixed-width integers and u32-length-prefixed byte strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace arbor::storage::codec {

void append_u8(std::string& out, uint8_t value);
void append_u16(std::string& out, uint16_t value);
void append_u32(std::string& out, uint32_t value);
void append_u64(std::string& out, uint64_t value);
void append_bytes(std::string& out, std::string_view bytes);  // u32 length + bytes
uint64_t read_u64(std::string_view bytes);                    // first 8 bytes, big-endian

// Reads the fields of an encoded record, remembering the first shortfall: once a field is
// missing or too long, every later read returns zero or empty and ok() is false. A length is
// checked against its limit and against what is left before anything is copied, so a hostile
// length costs nothing.
class FieldReader {
 public:
  explicit FieldReader(std::string_view bytes) : rest_(bytes) {}

  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  // A u32 length (at most `limit`) and that many bytes.
  std::string bytes(size_t limit);
  // `count` bytes as they are.
  std::string raw(size_t count);
  // The same, as a view into the input.
  std::string_view raw_view(size_t count);
  size_t remaining() const { return ok_ ? rest_.size() : 0; }
  bool ok() const { return ok_; }
  bool finished_cleanly() const { return ok_ && rest_.empty(); }

 private:
  bool take(size_t count);
  uint64_t take_big_endian(size_t width);

  std::string_view rest_;
  std::string_view last_;
  bool ok_ = true;
};

}  // namespace arbor::storage::codec

#include "storage/byte_fields.hpp"

namespace arbor::storage::codec {

void append_u8(std::string& out, uint8_t value) { out.push_back(static_cast<char>(value)); }

void append_u16(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value));
}

void append_u32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

void append_u64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

void append_bytes(std::string& out, std::string_view bytes) {
  append_u32(out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes);
}

uint64_t read_u64(std::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

bool FieldReader::take(size_t count) {
  if (!ok_ || rest_.size() < count) {
    ok_ = false;
    return false;
  }
  last_ = rest_.substr(0, count);
  rest_.remove_prefix(count);
  return true;
}

uint64_t FieldReader::take_big_endian(size_t width) {
  if (!take(width)) return 0;
  uint64_t value = 0;
  for (char c : last_) value = (value << 8) | static_cast<uint8_t>(c);
  return value;
}

uint8_t FieldReader::u8() { return static_cast<uint8_t>(take_big_endian(1)); }
uint16_t FieldReader::u16() { return static_cast<uint16_t>(take_big_endian(2)); }
uint32_t FieldReader::u32() { return static_cast<uint32_t>(take_big_endian(4)); }
uint64_t FieldReader::u64() { return take_big_endian(8); }

std::string FieldReader::bytes(size_t limit) {
  const uint32_t length = u32();
  if (!ok_) return {};
  if (length > limit) {
    ok_ = false;
    return {};
  }
  return raw(length);
}

std::string FieldReader::raw(size_t count) { return std::string(raw_view(count)); }

std::string_view FieldReader::raw_view(size_t count) {
  if (!take(count)) return {};
  return last_;
}

}  // namespace arbor::storage::codec

// fleetpoll::uplink::keys — AES-256 batch keys and the key file.
//
// Key file format (docs/security.md): one key per line, "ID HEX64" — a decimal key id
// (1..4294967295) and 32 bytes as 64 hex digits; blank lines and lines starting with '#' are
// ignored. The LAST key in the file is the sender's current key; a receiver accepts every key
// listed (rotation: append a new line on both sides — receiver first — then drop old lines once
// nothing in flight uses them). The file must be readable by its owner only: a file with any
// group or other permission bit is refused (error::key_file_permissions), before it is read.
//
// Thread safety: a keyring is immutable after loading; share it freely.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <system_error>

namespace fleetpoll::uplink {

struct aes_key {
  std::uint32_t id = 0;
  std::array<unsigned char, 32> bytes{};
};

class keyring {
 public:
  // Adds or replaces the key with that id; it becomes current.
  void add(const aes_key& key);
  const aes_key* find(std::uint32_t id) const noexcept;
  // The key new batches are sealed with (the last added), or nullptr when empty.
  const aes_key* current() const noexcept;
  std::size_t size() const noexcept { return keys_.size(); }

 private:
  std::map<std::uint32_t, aes_key> keys_;
  std::uint32_t current_ = 0;
};

// Loads `path` into `out` (replacing its contents). Refuses group/other-accessible files.
std::error_code load_key_file(const std::string& path, keyring& out);

// Reads a small secret file (a password) that must be accessible by its owner only, like the key
// file. A trailing newline is removed.
std::error_code read_secret_file(const std::string& path, std::string& out);

// A fresh random key line "ID HEX64\n" (for tests and for `openssl rand -hex 32`-less set-ups).
std::string generate_key_line(std::uint32_t id);

}  // namespace fleetpoll::uplink

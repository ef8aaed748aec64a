#include "fleetpoll/uplink/keys.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <string_view>

#include "fleetpoll/uplink/error.hpp"

namespace fleetpoll::uplink {

void keyring::add(const aes_key& key) {
  keys_[key.id] = key;
  current_ = key.id;
}

const aes_key* keyring::find(std::uint32_t id) const noexcept {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

const aes_key* keyring::current() const noexcept {
  return find(current_);
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

namespace {
std::error_code read_owner_only(const std::string& path, std::string& text) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return {errno, std::generic_category()};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return error::io_error;
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    ::close(fd);
    return error::key_file_permissions;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      ::close(fd);
      return error::io_error;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > std::size_t{1024} * 1024) {
      ::close(fd);
      return error::key_file_syntax;
    }
  }
  ::close(fd);
  return {};
}
}  // namespace

std::error_code read_secret_file(const std::string& path, std::string& out) {
  std::string text;
  if (auto ec = read_owner_only(path, text)) return ec;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  out = std::move(text);
  return {};
}

std::error_code load_key_file(const std::string& path, keyring& out) {
  out = keyring{};
  std::string text;
  if (auto ec = read_owner_only(path, text)) return ec;
  std::error_code result;
  std::string_view rest = text;
  while (!rest.empty() && !result) {
    auto nl = rest.find('\n');
    std::string_view line = trim(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos) {
      result = error::key_file_syntax;
      break;
    }
    std::string_view id_text = line.substr(0, sp);
    std::string_view hex = trim(line.substr(sp + 1));
    aes_key key;
    auto [p, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), key.id);
    if (ec != std::errc{} || p != id_text.data() + id_text.size() || key.id == 0 ||
        hex.size() != 64) {
      result = error::key_file_syntax;
      break;
    }
    for (std::size_t i = 0; i < 32; ++i) {
      int hi = hex_value(hex[2 * i]);
      int lo = hex_value(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        result = error::key_file_syntax;
        break;
      }
      key.bytes[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    if (!result) out.add(key);
    OPENSSL_cleanse(key.bytes.data(), key.bytes.size());
  }
  OPENSSL_cleanse(text.data(), text.size());
  if (result) {
    out = keyring{};
    return result;
  }
  if (out.size() == 0) return error::key_file_empty;
  return {};
}

std::string generate_key_line(std::uint32_t id) {
  std::array<unsigned char, 32> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) return {};
  static constexpr char digits[] = "0123456789abcdef";
  std::string line = std::to_string(id) + " ";
  for (unsigned char b : raw) {
    line += digits[b >> 4];
    line += digits[b & 15];
  }
  OPENSSL_cleanse(raw.data(), raw.size());
  return line + "\n";
}

}  // namespace fleetpoll::uplink

// libFuzzer: the receiver's batch decoder (uplink/batch_codec.hpp: open_batch), past the tag.
// Random bytes almost never pass AES-GCM, so the harness seals the input itself with a fixed
// key and lets the fuzzer choose what lies underneath:
//   mode 0: the input is the base64 payload as received (base64 and tag paths);
//   mode 1: the input is the zstd frame, encrypted here (decompression, then verification);
//   mode 2: the input is the plaintext Batch flatbuffer, compressed and encrypted here
//           (flatbuffers verifier, envelope match, sequence checks, ChangeRecord verifier).
// First byte: mode; next 3 bytes: first seq and record count of the envelope.
#include <openssl/evp.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fleetpoll/uplink/batch_codec.hpp"
#include "fleetpoll/uplink/sasl.hpp"

using namespace fleetpoll::uplink;

namespace {
std::string encrypt(const aes_key& key, const batch_envelope& env, const std::string& plain) {
  std::string ad = batch_associated_data(env);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::string out(plain.size() + 16, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int len = 0, total = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.bytes.data(), env.nonce.data());
  EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(ad.data()),
                    static_cast<int>(ad.size()));
  EVP_EncryptUpdate(ctx, o, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                    static_cast<int>(plain.size()));
  total = len;
  EVP_EncryptFinal_ex(ctx, o + total, &len);
  total += len;
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, o + total);
  EVP_CIPHER_CTX_free(ctx);
  return base64_encode(out);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  aes_key key;
  key.id = 1;
  key.bytes.fill(0x42);
  keyring keys;
  keys.add(key);
  batch_envelope env;
  env.site = "fuzz-site";
  env.key_id = 1;
  env.first_seq = 1 + data[1];
  env.count = 1 + (static_cast<std::uint32_t>(data[2]) << 8 | data[3]) % 4096;
  env.last_seq = env.first_seq + env.count - 1;
  env.nonce.fill(7);
  std::string body(reinterpret_cast<const char*>(data + 4), size - 4);
  std::string payload;
  switch (data[0] % 3) {
    case 0:
      payload = body;
      break;
    case 1:
      payload = encrypt(key, env, body);
      break;
    default: {
      std::string z(ZSTD_compressBound(body.size()), '\0');
      std::size_t n = ZSTD_compress(z.data(), z.size(), body.data(), body.size(), 1);
      if (ZSTD_isError(n)) return 0;
      z.resize(n);
      payload = encrypt(key, env, z);
    }
  }
  batch_limits limits;
  limits.max_plain_bytes = 1 << 20;
  std::vector<outbox_record> out;
  if (!open_batch(env, payload, keys, out, limits)) {
    // Accepted: exactly the envelope's consecutive records.
    if (out.size() != env.count || out.front().seq != env.first_seq ||
        out.back().seq != env.last_seq)
      __builtin_trap();
  }
  return 0;
}

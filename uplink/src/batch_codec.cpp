#include "fleetpoll/uplink/batch_codec.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zstd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>

#include "fleetpoll/codecs/change_record.hpp"
#include "fleetpoll/uplink/batch_generated.h"
#include "fleetpoll/uplink/error.hpp"
#include "fleetpoll/uplink/sasl.hpp"
#include "fleetpoll/uplink/xml_stream.hpp"
#include "wall_clock.hpp"

namespace fleetpoll::uplink {
namespace {

constexpr std::size_t tag_bytes = 16;

struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

void put_be(std::string& s, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

template <typename T>
bool parse_uint(std::string_view text, T& out) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && p == text.data() + text.size();
}

}  // namespace

bool valid_site_id(std::string_view site) {
  if (site.empty() || site.size() > 64) return false;
  for (char c : site) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string batch_associated_data(const batch_envelope& e) {
  // "fleetpoll-batch-1" NUL site NUL key_id(4) first(8) last(8) count(4), integers big-endian.
  std::string ad = "fleetpoll-batch-1";
  ad += '\0';
  ad += e.site;
  ad += '\0';
  put_be(ad, e.key_id, 4);
  put_be(ad, e.first_seq, 8);
  put_be(ad, e.last_seq, 8);
  put_be(ad, e.count, 4);
  return ad;
}

std::error_code seal_batch(std::span<const outbox_record> records, std::string_view site,
                           const aes_key& key, sealed_batch& out, std::uint64_t sealed_ms,
                           int zstd_level) {
  if (records.empty() || !valid_site_id(site)) return error::config_invalid;
  // 1. flatbuffers Batch (columnar: sizes, ages, concatenated changes)
  const std::uint64_t sealed_at = sealed_ms != 0 ? sealed_ms : detail::wall_ms();
  std::size_t raw = 0;
  std::vector<std::uint32_t> sizes, ages;
  sizes.reserve(records.size());
  ages.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    if (r.seq != records.front().seq + i || r.bytes.size() > UINT32_MAX)
      return error::config_invalid;
    raw += r.bytes.size();
    sizes.push_back(static_cast<std::uint32_t>(r.bytes.size()));
    std::uint64_t age = sealed_at > r.created_ms ? sealed_at - r.created_ms : 0;
    ages.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(age, UINT32_MAX)));
  }
  flatbuffers::FlatBufferBuilder fbb(raw + 8 * records.size() + 256);
  std::uint8_t* dst = nullptr;
  auto changes = fbb.CreateUninitializedVector(raw, &dst);
  for (const auto& r : records) dst = std::copy(r.bytes.begin(), r.bytes.end(), dst);
  auto ages_off = fbb.CreateVector(ages);
  auto sizes_off = fbb.CreateVector(sizes);
  auto site_off = fbb.CreateString(site.data(), site.size());
  fbb.Finish(wire::CreateBatch(fbb, site_off, records.front().seq, records.back().seq, sealed_at,
                               sizes_off, ages_off, changes),
             "FPB1");
  const char* plain = reinterpret_cast<const char*>(fbb.GetBufferPointer());
  const std::size_t plain_size = fbb.GetSize();

  // 2. zstd (content size recorded in the frame header; the receiver requires it)
  std::string compressed(ZSTD_compressBound(plain_size), '\0');
  std::size_t csize =
      ZSTD_compress(compressed.data(), compressed.size(), plain, plain_size, zstd_level);
  if (ZSTD_isError(csize)) return error::batch_decompress;
  compressed.resize(csize);

  // 3. AES-256-GCM
  batch_envelope env;
  env.site = std::string(site);
  env.key_id = key.id;
  env.first_seq = records.front().seq;
  env.last_seq = records.back().seq;
  env.count = static_cast<std::uint32_t>(records.size());
  if (RAND_bytes(env.nonce.data(), static_cast<int>(env.nonce.size())) != 1)
    return error::crypto_failure;
  std::string ad = batch_associated_data(env);
  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  std::string sealed(csize + tag_bytes, '\0');
  int len = 0;
  int total = 0;
  auto* outp = reinterpret_cast<unsigned char*>(sealed.data());
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.bytes.data(),
                         env.nonce.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(ad.data()),
                        static_cast<int>(ad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), outp, &len,
                        reinterpret_cast<const unsigned char*>(compressed.data()),
                        static_cast<int>(csize)) != 1)
    return error::crypto_failure;
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), outp + total, &len) != 1) return error::crypto_failure;
  total += len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes),
                          outp + total) != 1)
    return error::crypto_failure;

  // 4. base64
  out.envelope = std::move(env);
  out.payload = base64_encode(sealed);
  out.plain_bytes = plain_size;
  out.compressed_bytes = csize;
  return {};
}

std::string batch_element_xml(const sealed_batch& b) {
  const auto& e = b.envelope;
  std::string x;
  x.reserve(b.payload.size() + 200);
  x += "<batch xmlns='";
  x += ns_batch;
  x += "' site='" + e.site + "' key='" + std::to_string(e.key_id) + "' first='" +
       std::to_string(e.first_seq) + "' last='" + std::to_string(e.last_seq) + "' n='" +
       std::to_string(e.count) + "' iv='" +
       base64_encode({reinterpret_cast<const char*>(e.nonce.data()), e.nonce.size()}) + "'>";
  x += b.payload;
  x += "</batch>";
  return x;
}

std::error_code parse_batch_envelope(const element& batch, batch_envelope& out) {
  if (batch.ns != ns_batch || batch.name != "batch") return error::batch_malformed;
  const std::string* site = batch.attribute("site");
  const std::string* key = batch.attribute("key");
  const std::string* first = batch.attribute("first");
  const std::string* last = batch.attribute("last");
  const std::string* n = batch.attribute("n");
  const std::string* iv = batch.attribute("iv");
  if (!site || !key || !first || !last || !n || !iv || !valid_site_id(*site))
    return error::batch_malformed;
  batch_envelope e;
  e.site = *site;
  if (!parse_uint(*key, e.key_id) || !parse_uint(*first, e.first_seq) ||
      !parse_uint(*last, e.last_seq) || !parse_uint(*n, e.count))
    return error::batch_malformed;
  if (e.first_seq == 0 || e.last_seq < e.first_seq || e.count == 0 ||
      e.count - 1 != e.last_seq - e.first_seq)
    return error::batch_malformed;
  auto nonce = base64_decode(*iv);
  if (!nonce || nonce->size() != e.nonce.size()) return error::batch_malformed;
  std::copy(nonce->begin(), nonce->end(), e.nonce.begin());
  out = std::move(e);
  return {};
}

std::error_code open_batch(const batch_envelope& env, std::string_view payload, const keyring& keys,
                           std::vector<outbox_record>& out, const batch_limits& limits) {
  if (payload.size() > limits.max_payload_chars) return error::batch_too_large;
  if (env.count > limits.max_records) return error::batch_too_large;
  const aes_key* key = keys.find(env.key_id);
  if (key == nullptr) return error::batch_unknown_key;
  auto sealed = base64_decode(payload);
  if (!sealed || sealed->size() < tag_bytes + 1) return error::batch_malformed;

  // AES-256-GCM: the tag is checked before anything looks at the plaintext.
  const std::size_t csize = sealed->size() - tag_bytes;
  std::string compressed(csize, '\0');
  std::string ad = batch_associated_data(env);
  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  auto* inp = reinterpret_cast<unsigned char*>(sealed->data());
  auto* outp = reinterpret_cast<unsigned char*>(compressed.data());
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key->bytes.data(),
                         env.nonce.data()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(ad.data()),
                        static_cast<int>(ad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), outp, &len, inp, static_cast<int>(csize)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes),
                          inp + csize) != 1)
    return error::crypto_failure;
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), outp + len, &final_len) != 1) return error::batch_bad_tag;

  // zstd: the frame must declare its size, within the limit; decompress into exactly that.
  unsigned long long declared = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN)
    return error::batch_decompress;
  if (declared > limits.max_plain_bytes) return error::batch_too_large;
  std::string plain(static_cast<std::size_t>(declared), '\0');
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  if (!dctx) return error::crypto_failure;
  ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, 23);
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  ZSTD_outBuffer o{plain.data(), plain.size(), 0};
  std::size_t rc = ZSTD_decompressStream(dctx.get(), &o, &in);
  if (ZSTD_isError(rc) || rc != 0 || o.pos != plain.size() || in.pos != in.size)
    return error::batch_decompress;

  // flatbuffers Batch, then each ChangeRecord.
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(plain.data());
  flatbuffers::Verifier v(bytes, plain.size(), 8, limits.max_records * 2 + 16);
  if (!wire::VerifyBatchBuffer(v)) return error::batch_malformed;
  const wire::Batch* batch = wire::GetBatch(bytes);
  if (batch->site() == nullptr || batch->site()->string_view() != env.site ||
      batch->first_seq() != env.first_seq || batch->last_seq() != env.last_seq ||
      batch->sizes() == nullptr || batch->sizes()->size() != env.count ||
      batch->ages_ms() == nullptr || batch->ages_ms()->size() != env.count ||
      batch->changes() == nullptr)
    return error::batch_header_mismatch;
  std::vector<outbox_record> records;
  records.reserve(env.count);
  const std::uint8_t* data = batch->changes()->data();
  const std::size_t total = batch->changes()->size();
  std::size_t offset = 0;
  for (std::uint32_t i = 0; i < env.count; ++i) {
    std::size_t size = batch->sizes()->Get(i);
    if (size > total - offset) return error::batch_bad_record;
    std::span<const std::uint8_t> change(data + offset, size);
    offset += size;
    if (!codecs::verify_change_record(change)) return error::batch_bad_record;
    std::uint64_t age = batch->ages_ms()->Get(i);
    records.push_back({env.first_seq + i, batch->sealed_ms() > age ? batch->sealed_ms() - age : 0,
                       std::string(reinterpret_cast<const char*>(change.data()), change.size())});
  }
  if (offset != total) return error::batch_bad_record;
  out = std::move(records);
  return {};
}

}  // namespace fleetpoll::uplink

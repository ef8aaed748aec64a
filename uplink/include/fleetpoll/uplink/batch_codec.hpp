// fleetpoll::uplink::batch_codec — seals change records into an encrypted batch and opens it.
//
//   records -> flatbuffers Batch (uplink/schema/batch.fbs) -> zstd -> AES-256-GCM -> base64
//
// The envelope (site, key id, sequence range, record count, nonce) travels in clear as XML
// attributes and is bound to the ciphertext as AES-GCM associated data, so none of it can be
// altered without the tag failing. Byte layout: docs/wire-format.md. No I/O.
//
// open_batch is the decoder of hostile input: every size is bounded before memory is taken
// (encoded text, compressed frame, declared plain size, record count), the plaintext must pass
// the flatbuffers verifier, match the envelope, hold exactly the consecutive sequence numbers
// first..last, and each record must verify as a ChangeRecord.
//
// Thread safety: pure functions; seal_batch draws the nonce from OpenSSL's RAND_bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fleetpoll/uplink/keys.hpp"
#include "fleetpoll/uplink/record_source.hpp"

namespace fleetpoll::uplink {

inline constexpr std::string_view ns_batch = "urn:fleetpoll:batch:1";

struct batch_envelope {
  std::string site;                       // [A-Za-z0-9._-]{1,64}
  std::uint32_t key_id = 0;               // which key sealed it
  std::uint64_t first_seq = 0;            // first record's seq
  std::uint64_t last_seq = 0;             // last record's seq
  std::uint32_t count = 0;                // records in the batch
  std::array<unsigned char, 12> nonce{};  // AES-GCM IV, random per batch
};

struct sealed_batch {
  batch_envelope envelope;
  std::string payload;          // base64(ciphertext || 16-byte tag)
  std::size_t plain_bytes = 0;  // flatbuffer size before compression
  std::size_t compressed_bytes = 0;
};

struct batch_limits {
  // Largest base64 payload accepted. Default: 1 MiB
  std::size_t max_payload_chars = std::size_t{1024} * 1024;
  // Largest declared decompressed size. Default: 4 MiB
  std::size_t max_plain_bytes = std::size_t{4} * 1024 * 1024;
  // Records in one batch. Default: 20000
  std::size_t max_records = 20000;
};

// True for a valid site id: 1..64 of [A-Za-z0-9._-].
bool valid_site_id(std::string_view site);

// Seals `records` (consecutive sequence numbers, at least one). zstd level 3 by default.
std::error_code seal_batch(std::span<const outbox_record> records, std::string_view site,
                           const aes_key& key, sealed_batch& out, std::uint64_t sealed_ms = 0,
                           int zstd_level = 3);

// The <batch xmlns='urn:fleetpoll:batch:1' .../> element of a sealed batch (no message wrapper).
std::string batch_element_xml(const sealed_batch& batch);

// Parses the envelope attributes (site, key, first, last, n, iv) of a <batch/> element.
struct element;
std::error_code parse_batch_envelope(const element& batch, batch_envelope& out);

// Opens a batch: decodes, decrypts, decompresses and verifies. On success `out` holds the
// records in ascending seq order.
std::error_code open_batch(const batch_envelope& envelope, std::string_view payload,
                           const keyring& keys, std::vector<outbox_record>& out,
                           const batch_limits& limits = {});

// The associated data bound to a batch's ciphertext (exposed for docs and tests).
std::string batch_associated_data(const batch_envelope& envelope);

}  // namespace fleetpoll::uplink

// fleetpoll::uplink::config — TOML configuration of the receiver (provider.toml) and the sender.
//
// Both files share an [xmpp] table; docs/wire-format.md ("Configuration") shows complete
// examples. Secrets come from files that must be accessible by their owner only
// (password_file, key_file); an inline `password` is accepted for throw-away set-ups.
//
//   [xmpp]  jid, password | password_file, resource, host, port, direct_tls_port, ca_file,
//           tls_server_name, allow_plain, proxy, proxy_credentials, keepalive_s, idle_timeout_s
//   receiver:  [output] path, state, sync   and one [[site]] per site: id, jid, key_file
//   sender:    [uplink] receiver, site, key_file, pool_size, max_batch_bytes, max_delay_ms,
//              routine_delay_ms, window, ack_timeout_ms, server_stanza_limit, audit_path,
//              audit_records
//
// Errors: error::config_invalid (or the key/secret file's error) with a sentence in `why` that
// names the key at fault; unknown keys in [xmpp] and [uplink] are errors (a typo must not fall
// back to a default). Thread safety: pure functions of the files they read.
#pragma once

#include <string>
#include <system_error>

#include <toml++/toml.h>

#include "fleetpoll/uplink/receiver.hpp"
#include "fleetpoll/uplink/sender.hpp"

namespace fleetpoll::uplink {

std::error_code load_receiver_config(const std::string& path, receiver_options& out,
                                     std::string& why);
std::error_code load_sender_config(const std::string& path, sender_options& out, keyring& keys,
                                   std::string& why);
// The same from a parsed document (`root` holds [xmpp] and [uplink], e.g. fleetpoll.toml);
// relative paths resolve against the folder of `path`, which is not read.
std::error_code sender_config_from(const toml::table& root, const std::string& path,
                                   sender_options& out, keyring& keys, std::string& why);
// The first key of an [xmpp] (or [uplink], sender side) table that the parsers do not know, or
// "" — for `fleetpoll run --check`, which judges the keys without reading the secret files.
std::string unknown_xmpp_key(const toml::table& xmpp);
std::string unknown_uplink_key(const toml::table& uplink);

}  // namespace fleetpoll::uplink

// Test helper: one prosody with a site account and a provider account, a key file, and the
// options a sender and a receiver need to use them. Passwords and keys are generated per run.
#pragma once

#include <memory>
#include <string>

#include "fleetpoll/uplink/receiver.hpp"
#include "fleetpoll/uplink/sender.hpp"
#include "prosody.hpp"

namespace fleetpoll::uplink::test {

std::string random_hex(std::size_t bytes);

class uplink_env {
 public:
  explicit uplink_env(prosody_options options = {});
  ~uplink_env();
  // Registers "site" and "provider", writes the key file, starts prosody. Empty on success.
  std::string setup();

  prosody_server& prosody() { return *prosody_; }
  const std::string& dir() const { return dir_; }
  const std::string& key_file() const { return key_file_; }
  const keyring& keys() const { return keys_; }
  const std::string& site_password() const { return site_password_; }
  const std::string& provider_password() const { return provider_password_; }

  // An account on this prosody: 127.0.0.1, its STARTTLS and direct-TLS ports, the test CA,
  // short timeouts and backoff suited to tests.
  xmpp_options account(const std::string& user, const std::string& password) const;
  sender_options sender_opts() const;
  receiver_options receiver_opts(const std::string& output) const;

 private:
  std::unique_ptr<prosody_server> prosody_;
  std::string dir_;
  std::string key_file_;
  keyring keys_;
  std::string site_password_;
  std::string provider_password_;
};

}  // namespace fleetpoll::uplink::test

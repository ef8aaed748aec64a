// fleetpoll::uplink::xml_stream — a strict, size-limited parser for an XMPP XML stream.
//
// Bytes from the server are fed in whatever chunks the socket delivers; the parser reports the
// stream header (<stream:stream ...>), each complete top-level element (a stanza or a nonza such
// as <stream:features/>, <r/>) as an `element` tree, and the stream's end. It does no I/O.
//
// Strictness (RFC 6120 §11.1 plus limits): any DOCTYPE, entity declaration, processing
// instruction or comment is an error; non-whitespace text between stanzas is an error
// (whitespace is a keep-alive and ignored); a stanza larger than max_stanza_bytes (counted in
// input bytes from its '<' on), deeper than max_depth, with more than max_attributes on one
// element or more than max_elements in total is an error. After an error the parser stays
// failed until reset() (but see set_skip_oversized). Names are namespace-resolved: element::ns
// holds the namespace URI and element::name the local name; attributes without a prefix keep their
// plain name, prefixed ones are "URI local" (e.g. the xml:lang attribute is
// "http://www.w3.org/XML/1998/namespace lang").
//
// Thread safety: one parser per stream, used by one thread at a time.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace fleetpoll::uplink {

struct element {
  std::string ns;    // namespace URI ("jabber:client", "urn:xmpp:sm:3", ...)
  std::string name;  // local name
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string text;  // character data directly inside this element (concatenated)
  std::vector<element> children;

  // The value of attribute `key`, or nullptr.
  const std::string* attribute(std::string_view key) const noexcept;
  // The first child with that namespace and local name, or nullptr. An empty ns matches any.
  const element* child(std::string_view child_ns, std::string_view child_name) const noexcept;
  bool is(std::string_view element_ns, std::string_view element_name) const noexcept {
    return name == element_name && ns == element_ns;
  }
};

struct xml_limits {
  // Largest stanza in input bytes. Default: 256 KiB (prosody's own c2s default limit).
  std::size_t max_stanza_bytes = std::size_t{256} * 1024;
  // Deepest nesting below the stream root. Default: 32
  std::size_t max_depth = 32;
  // Attributes on one element. Default: 32
  std::size_t max_attributes = 32;
  // Elements in one stanza, itself included. Default: 4096
  std::size_t max_elements = 4096;
};

inline constexpr std::string_view ns_streams = "http://etherx.jabber.org/streams";
inline constexpr std::string_view ns_client = "jabber:client";

class xml_stream_parser {
 public:
  struct handlers {
    std::function<void(const element& header)> on_stream_open;  // header has no children
    std::function<void(element&& stanza)> on_element;           // each top-level element
    std::function<void()> on_stream_close;                      // </stream:stream>
    // With skip_oversized: a stanza over max_stanza_bytes was discarded (argument: its size).
    std::function<void(std::size_t bytes)> on_oversized;
  };

  xml_stream_parser(handlers h, xml_limits limits = {});
  ~xml_stream_parser();
  xml_stream_parser(const xml_stream_parser&) = delete;
  xml_stream_parser& operator=(const xml_stream_parser&) = delete;

  // Parses the next bytes of the stream; handlers run before it returns. Returns the first
  // error (and every later call returns it too, until reset()).
  std::error_code feed(std::string_view bytes);

  // Starts a fresh stream (after STARTTLS or SASL success the stream restarts).
  void reset();

  // false (the default): an oversized stanza is an error that ends the stream.
  // true: it is parsed on without being stored (memory stays bounded), then discarded and
  // reported through on_oversized; the stream goes on. For an authenticated session, where a
  // stanza re-delivered after a reconnect (XEP-0198) would otherwise end every new session too.
  void set_skip_oversized(bool skip) noexcept;

  // Bytes of the stanza being parsed so far (0 between stanzas).
  std::size_t pending_stanza_bytes() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// XML-escapes text or an attribute value (& < > ' ").
std::string xml_escape(std::string_view text);

}  // namespace fleetpoll::uplink

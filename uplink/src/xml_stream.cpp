#include "fleetpoll/uplink/xml_stream.hpp"

#include <expat.h>

#include <cstring>

#include "fleetpoll/uplink/error.hpp"

namespace fleetpoll::uplink {

const std::string* element::attribute(std::string_view key) const noexcept {
  for (const auto& [k, v] : attributes)
    if (k == key) return &v;
  return nullptr;
}

const element* element::child(std::string_view child_ns,
                              std::string_view child_name) const noexcept {
  for (const auto& c : children)
    if (c.name == child_name && (child_ns.empty() || c.ns == child_ns)) return &c;
  return nullptr;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {
constexpr char ns_separator = '\x01';  // cannot occur in a name or a namespace URI we accept

void split_name(const XML_Char* qname, std::string& ns, std::string& local) {
  const char* sep = std::strchr(qname, ns_separator);
  if (sep == nullptr) {
    ns.clear();
    local = qname;
  } else {
    ns.assign(qname, sep);
    local = sep + 1;
  }
}
}  // namespace

struct xml_stream_parser::impl {
  handlers h;
  xml_limits limits;
  XML_Parser parser = nullptr;
  std::error_code failed;
  // depth 0: outside the root; 1: inside <stream:stream>, between stanzas; >= 2: inside a stanza.
  std::size_t depth = 0;
  std::vector<element*> stack;  // open elements of the current stanza
  element current;
  std::size_t elements = 0;
  XML_Index stanza_start = -1;  // byte index of the current stanza's '<'
  XML_Index fed = 0;            // total bytes fed since reset
  bool skip_oversized = false;
  bool skipping = false;  // inside an oversized stanza being discarded

  impl(handlers hh, xml_limits l) : h(std::move(hh)), limits(l) { create(); }
  ~impl() {
    if (parser != nullptr) XML_ParserFree(parser);
  }

  void create() {
    if (parser != nullptr) XML_ParserFree(parser);
    parser = XML_ParserCreateNS("UTF-8", ns_separator);
    XML_SetUserData(parser, this);
    XML_SetElementHandler(parser, &impl::start_cb, &impl::end_cb);
    XML_SetCharacterDataHandler(parser, &impl::text_cb);
    XML_SetDoctypeDeclHandler(parser, &impl::doctype_cb, nullptr);
    XML_SetEntityDeclHandler(parser, &impl::entity_cb);
    XML_SetProcessingInstructionHandler(parser, &impl::pi_cb);
    XML_SetCommentHandler(parser, &impl::comment_cb);
    // No external entities, ever; the default handler is not set so predefined entities expand.
    XML_SetParamEntityParsing(parser, XML_PARAM_ENTITY_PARSING_NEVER);
    failed = {};
    skipping = false;
    depth = 0;
    stack.clear();
    current = element{};
    elements = 0;
    stanza_start = -1;
    fed = 0;
  }

  void fail(error e) {
    if (!failed) failed = e;
    XML_StopParser(parser, XML_FALSE);
  }

  static impl* self(void* p) { return static_cast<impl*>(p); }

  static void start_cb(void* p, const XML_Char* name, const XML_Char** atts) {
    impl* s = self(p);
    if (s->failed) return;
    if (s->skipping) {
      ++s->depth;
      return;
    }
    std::size_t natts = 0;
    for (const XML_Char** a = atts; *a != nullptr; a += 2) ++natts;
    if (natts > s->limits.max_attributes) return s->fail(error::xml_too_many_attributes);
    element e;
    split_name(name, e.ns, e.name);
    e.attributes.reserve(natts);
    for (const XML_Char** a = atts; *a != nullptr; a += 2) {
      std::string key = a[0];
      if (auto pos = key.find(ns_separator); pos != std::string::npos) key[pos] = ' ';
      e.attributes.emplace_back(std::move(key), a[1]);
    }
    if (s->depth == 0) {
      if (e.name != "stream" || e.ns != ns_streams) return s->fail(error::xml_bad_stream_header);
      s->depth = 1;
      if (s->h.on_stream_open) s->h.on_stream_open(e);
      return;
    }
    if (s->depth - 1 >= s->limits.max_depth) return s->fail(error::xml_too_deep);
    if (++s->elements > s->limits.max_elements) return s->fail(error::xml_too_many_elements);
    if (s->depth == 1) {
      s->stanza_start = XML_GetCurrentByteIndex(s->parser);
      s->current = std::move(e);
      s->stack.assign(1, &s->current);
    } else {
      element* parent = s->stack.back();
      parent->children.push_back(std::move(e));
      s->stack.push_back(&parent->children.back());
    }
    ++s->depth;
  }

  static void end_cb(void* p, const XML_Char*) {
    impl* s = self(p);
    if (s->failed) return;
    if (s->depth == 1) {  // </stream:stream>
      s->depth = 0;
      if (s->h.on_stream_close) s->h.on_stream_close();
      return;
    }
    --s->depth;
    if (s->skipping) {
      if (s->depth == 1) s->end_skip();
      return;
    }
    s->stack.pop_back();
    if (s->depth == 1) {
      if (XML_GetCurrentByteIndex(s->parser) - s->stanza_start >
          static_cast<XML_Index>(s->limits.max_stanza_bytes)) {
        if (!s->skip_oversized) return s->fail(error::xml_stanza_too_large);
        s->begin_skip();
        return s->end_skip();
      }
      element done = std::move(s->current);
      s->current = element{};
      s->elements = 0;
      s->stanza_start = -1;
      if (s->h.on_element) s->h.on_element(std::move(done));
    }
  }

  static void text_cb(void* p, const XML_Char* text, int len) {
    impl* s = self(p);
    if (s->failed) return;
    if (s->depth <= 1) {
      for (int i = 0; i < len; ++i) {
        char c = text[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
          return s->fail(error::xml_text_outside_stanza);
      }
      return;
    }
    if (s->skipping) return;
    s->stack.back()->text.append(text, static_cast<std::size_t>(len));
  }

  void begin_skip() {
    skipping = true;
    current = element{};
    stack.clear();
  }
  void end_skip() {
    std::size_t size = static_cast<std::size_t>(XML_GetCurrentByteIndex(parser) - stanza_start);
    skipping = false;
    elements = 0;
    stanza_start = -1;
    if (h.on_oversized) h.on_oversized(size);
  }

  static void doctype_cb(void* p, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    self(p)->fail(error::xml_forbidden);
  }
  static void entity_cb(void* p, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                        const XML_Char*, const XML_Char*, const XML_Char*) {
    self(p)->fail(error::xml_forbidden);
  }
  static void pi_cb(void* p, const XML_Char*, const XML_Char*) {
    self(p)->fail(error::xml_forbidden);
  }
  static void comment_cb(void* p, const XML_Char*) { self(p)->fail(error::xml_forbidden); }

  std::size_t pending() const noexcept {
    if (stanza_start < 0) return 0;
    return static_cast<std::size_t>(fed - stanza_start);
  }

  std::error_code feed(std::string_view bytes) {
    if (failed) return failed;
    // Feed in slices so that an oversized stanza is caught after at most one slice beyond the
    // limit, whatever the caller's chunk size.
    constexpr std::size_t slice = std::size_t{16} * 1024;
    while (!bytes.empty()) {
      std::string_view part = bytes.substr(0, slice);
      bytes.remove_prefix(part.size());
      fed += static_cast<XML_Index>(part.size());
      if (XML_Parse(parser, part.data(), static_cast<int>(part.size()), XML_FALSE) !=
          XML_STATUS_OK) {
        if (!failed) failed = error::xml_malformed;
        return failed;
      }
      if (failed) return failed;
      if (pending() > limits.max_stanza_bytes && !skipping) {
        if (!skip_oversized) {
          failed = error::xml_stanza_too_large;
          return failed;
        }
        begin_skip();
      }
    }
    return {};
  }
};

xml_stream_parser::xml_stream_parser(handlers h, xml_limits limits)
    : impl_(std::make_unique<impl>(std::move(h), limits)) {}
xml_stream_parser::~xml_stream_parser() = default;

std::error_code xml_stream_parser::feed(std::string_view bytes) {
  return impl_->feed(bytes);
}
void xml_stream_parser::reset() {
  bool skip = impl_->skip_oversized;
  impl_->create();
  impl_->skip_oversized = skip;
}
void xml_stream_parser::set_skip_oversized(bool skip) noexcept {
  impl_->skip_oversized = skip;
}
std::size_t xml_stream_parser::pending_stanza_bytes() const noexcept {
  return impl_->pending();
}

}  // namespace fleetpoll::uplink

#include <gtest/gtest.h>

#include "fleetpoll/uplink/error.hpp"
#include "fleetpoll/uplink/xml_stream.hpp"

using namespace fleetpoll::uplink;

namespace {

struct collector {
  std::vector<element> stanzas;
  int opens = 0;
  int closes = 0;
  xml_stream_parser parser;
  explicit collector(xml_limits l = {})
      : parser({[this](const element&) { ++opens; },
                [this](element&& e) { stanzas.push_back(std::move(e)); }, [this] { ++closes; },
                nullptr},
               l) {}
};

constexpr const char* header =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' id='abc' version='1.0' xml:lang='en'>";

TEST(XmlStream, StanzasSplitAcrossArbitraryChunksAreReassembled) {
  std::string input = std::string(header) +
                      "<message from='a@b/c' id='m1'><body>hi &amp; bye</body>"
                      "<batch xmlns='urn:fleetpoll:batch:1' site='s'>QUJD</batch></message> \n"
                      "<r xmlns='urn:xmpp:sm:3'/></stream:stream>";
  for (std::size_t chunk : {1u, 2u, 7u, 64u, 4096u}) {
    collector c;
    for (std::size_t i = 0; i < input.size(); i += chunk)
      ASSERT_FALSE(c.parser.feed(std::string_view(input).substr(i, chunk))) << "chunk " << chunk;
    ASSERT_EQ(c.opens, 1);
    ASSERT_EQ(c.closes, 1);
    ASSERT_EQ(c.stanzas.size(), 2u);
    const element& m = c.stanzas[0];
    EXPECT_TRUE(m.is(ns_client, "message"));
    EXPECT_EQ(*m.attribute("from"), "a@b/c");
    EXPECT_EQ(m.child("", "body")->text, "hi & bye");
    const element* b = m.child("urn:fleetpoll:batch:1", "batch");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->text, "QUJD");
    EXPECT_TRUE(c.stanzas[1].is("urn:xmpp:sm:3", "r"));
  }
}

TEST(XmlStream, WhitespaceKeepAlivesBetweenStanzasAreIgnored) {
  collector c;
  ASSERT_FALSE(c.parser.feed(header));
  ASSERT_FALSE(c.parser.feed("   \n\t "));
  ASSERT_FALSE(c.parser.feed("<presence/>  "));
  EXPECT_EQ(c.stanzas.size(), 1u);
}

TEST(XmlStream, DoctypeIsForbidden) {
  collector c;
  EXPECT_EQ(c.parser.feed("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><stream:stream/>"),
            make_error_code(error::xml_forbidden));
}

TEST(XmlStream, CommentsAndProcessingInstructionsAreForbidden) {
  collector c1;
  EXPECT_EQ(c1.parser.feed(std::string(header) + "<!-- hi -->"),
            make_error_code(error::xml_forbidden));
  collector c2;
  EXPECT_EQ(c2.parser.feed(std::string(header) + "<message><?php x ?></message>"),
            make_error_code(error::xml_forbidden));
}

TEST(XmlStream, ErrorIsStickyUntilReset) {
  collector c;
  EXPECT_TRUE(c.parser.feed("<notastream/>"));
  EXPECT_EQ(c.parser.feed(header), make_error_code(error::xml_bad_stream_header));
  c.parser.reset();
  EXPECT_FALSE(c.parser.feed(header));
}

TEST(XmlStream, OversizedStanzaFailsEvenWhenItArrivesInOneChunk) {
  xml_limits l;
  l.max_stanza_bytes = 1000;
  collector c(l);
  ASSERT_FALSE(c.parser.feed(header));
  EXPECT_EQ(c.parser.feed("<message><body>" + std::string(2000, 'x') + "</body></message>"),
            make_error_code(error::xml_stanza_too_large));
  EXPECT_TRUE(c.stanzas.empty());
}

TEST(XmlStream, OversizedStanzaFailsWhileStillOpen) {
  xml_limits l;
  l.max_stanza_bytes = 20'000;
  collector c(l);
  ASSERT_FALSE(c.parser.feed(header));
  ASSERT_FALSE(c.parser.feed("<message><body>"));
  std::error_code ec;
  for (int i = 0; i < 100 && !ec; ++i) ec = c.parser.feed(std::string(1000, 'y'));
  EXPECT_EQ(ec, make_error_code(error::xml_stanza_too_large));
  EXPECT_LT(c.parser.pending_stanza_bytes(), 40'000u);
}

TEST(XmlStream, DepthAttributeAndElementLimitsHold) {
  xml_limits l;
  l.max_depth = 4;
  l.max_attributes = 3;
  l.max_elements = 10;
  collector deep(l);
  ASSERT_FALSE(deep.parser.feed(header));
  EXPECT_EQ(deep.parser.feed("<a><b><c><d><e/></d></c></b></a>"),
            make_error_code(error::xml_too_deep));
  collector attrs(l);
  ASSERT_FALSE(attrs.parser.feed(header));
  EXPECT_EQ(attrs.parser.feed("<a w='1' x='1' y='1' z='1'/>"),
            make_error_code(error::xml_too_many_attributes));
  collector many(l);
  ASSERT_FALSE(many.parser.feed(header));
  std::string s = "<a>";
  for (int i = 0; i < 12; ++i) s += "<b/>";
  EXPECT_EQ(many.parser.feed(s + "</a>"), make_error_code(error::xml_too_many_elements));
}

TEST(XmlStream, TextOutsideStanzasAndBadUtf8AreRefused) {
  collector c;
  ASSERT_FALSE(c.parser.feed(header));
  EXPECT_EQ(c.parser.feed("junk"), make_error_code(error::xml_text_outside_stanza));
  collector u;
  ASSERT_FALSE(u.parser.feed(header));
  EXPECT_EQ(u.parser.feed("<message>\xff\xfe</message>"), make_error_code(error::xml_malformed));
}

TEST(XmlStream, EscapeCoversAllFiveCharacters) {
  EXPECT_EQ(xml_escape("<a href=\"x\">'&'"), "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;");
}

}  // namespace

namespace {
TEST(XmlStream, SkipModeDiscardsOversizedStanzasAndGoesOn) {
  xml_limits l;
  l.max_stanza_bytes = 1000;
  std::vector<std::size_t> dropped;
  std::vector<element> got;
  xml_stream_parser p({nullptr, [&](element&& e) { got.push_back(std::move(e)); }, nullptr,
                       [&](std::size_t n) { dropped.push_back(n); }},
                      l);
  p.set_skip_oversized(true);
  ASSERT_FALSE(p.feed(header));
  ASSERT_FALSE(p.feed("<message><body>" + std::string(5000, 'x') +
                      "</body><a><b/></a></message><presence/>"));
  std::string big = "<message><body>";
  ASSERT_FALSE(p.feed(big));
  for (int i = 0; i < 50; ++i) ASSERT_FALSE(p.feed(std::string(1000, 'z')));
  ASSERT_FALSE(p.feed("</body></message><iq type='get' id='1'/>"));
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_GT(dropped[0], 5000u);
  EXPECT_GT(dropped[1], 50000u);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, "presence");
  EXPECT_EQ(got[1].name, "iq");
}
}  // namespace

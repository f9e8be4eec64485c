// RFC 6455 conformance of /ws/voice against a real parleyd, in the case groups of the Autobahn
// testsuite: framing, pings, reserved bits, opcodes, fragmentation, UTF-8, limits, masking, the
// closing handshake, then the core's own JSON messages and the upgrade itself. parleyd has no
// echo, so "accepted" is proven by the connection answering a {"type":"ping"} afterwards; every
// failure is asserted with its exact close code and the TCP close that must follow it.
#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/support/parleyd_process.hpp"
#include "tests/support/ws_client.hpp"

namespace parley::test {
namespace {

using ws_op::kBinary;
using ws_op::kClose;
using ws_op::kContinuation;
using ws_op::kPing;
using ws_op::kPong;
using ws_op::kText;

constexpr std::size_t kLimit = 65536;  // ws.max_message_bytes for the suite
constexpr char kJsonPing[] = R"({"type":"ping"})";

// A JSON {"type":"ping"} of exactly `size` bytes (at least 24), so that a frame of a chosen
// length gets an answer that proves the server read all of it.
std::string paddedPing(std::size_t size) {
  const std::string head = R"({"type":"ping","pad":")", tail = R"("})";
  return head + std::string(size - head.size() - tail.size(), 'x') + tail;
}

std::string bytePattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>(i & 0xFF);
  return s;
}

// The next data message as a JSON object; null, with a failure recorded, for anything else.
Poco::JSON::Object::Ptr nextJson(WsClient& c) {
  const WsFrame f = c.readText();
  if (!f.ok() || f.opcode != kText || !f.fin) {
    ADD_FAILURE() << "expected a text message, got " << f.describe();
    return nullptr;
  }
  try {
    return Poco::JSON::Parser().parse(f.payload).extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
    ADD_FAILURE() << "not a JSON object: " << f.payload;
    return nullptr;
  }
}

std::string nextType(WsClient& c) {
  auto o = nextJson(c);
  return o ? o->optValue<std::string>("type", "<no type>") : "<no message>";
}

void expectError(WsClient& c, const std::string& code) {
  auto o = nextJson(c);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->optValue<std::string>("type", ""), "error");
  EXPECT_EQ(o->optValue<std::string>("code", ""), code);
}

// Everything sent so far was consumed and the connection is still open.
void expectAlive(WsClient& c) {
  ASSERT_TRUE(c.sendText(kJsonPing));
  EXPECT_EQ(nextType(c), "pong");
}

// The server failed the connection: a close frame with `code`, nothing else, then the TCP close.
void expectFailed(WsClient& c, int code) {
  const WsClose got = c.expectClose();
  ASSERT_TRUE(got.received) << "no close frame; TCP closed: " << got.tcp_closed;
  EXPECT_EQ(got.code, code) << "reason: " << got.reason;
  EXPECT_EQ(got.frames_before, 0);
  EXPECT_TRUE(got.tcp_closed);
}

class WsConformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ =
        new Parleyd(fixtureArgs("", {"-D", "ws.max_message_bytes=" + std::to_string(kLimit)}));
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::uint16_t port() { return server_->port(); }
  static std::string path() { return std::string("/ws/voice?token=") + kOperatorToken; }
  static WsClient open() { return WsClient::connect(port(), path()); }

  // A fresh connection sent `bytes` must be failed with `code`.
  static void expectFailure(const std::string& bytes, int code) {
    WsClient c = open();
    c.sendRaw(bytes);  // may fail part-way: the server can reset before it has read everything
    expectFailed(c, code);
  }

  // The refusal of an upgrade; status 0 if the upgrade was accepted.
  static WsRefused refusal(const WsHeaders& headers, const std::string& path_and_query,
                           const std::string& method = "GET") {
    try {
      WsClient::connect(port(), path_and_query, headers, "", method);
    } catch (const WsRefused& r) {
      return r;
    }
    return WsRefused(0, "", "");
  }

  static Parleyd* server_;
};
Parleyd* WsConformance::server_ = nullptr;

// --- Framing (Autobahn 1.x): the three length encodings at their edges. ---

TEST_F(WsConformance, FramingTextOfEveryLengthEncoding) {
  for (std::size_t size :
       {std::size_t{0}, std::size_t{125}, std::size_t{126}, std::size_t{65535}}) {
    SCOPED_TRACE("text of " + std::to_string(size) + " bytes");
    WsClient c = open();
    if (size == 0) {
      ASSERT_TRUE(c.sendText(""));
      expectError(c, "invalid_json");  // an empty text is not JSON, and the error proves receipt
    } else {
      ASSERT_TRUE(c.sendText(paddedPing(size)));
      EXPECT_EQ(nextType(c), "pong");
    }
    expectAlive(c);
  }
}

TEST_F(WsConformance, FramingBinaryOfEveryLengthEncoding) {
  for (std::size_t size :
       {std::size_t{0}, std::size_t{125}, std::size_t{126}, std::size_t{65535}}) {
    SCOPED_TRACE("binary of " + std::to_string(size) + " bytes");
    WsClient c = open();
    ASSERT_TRUE(c.sendFrame(kBinary, bytePattern(size)));  // not UTF-8: binary is never checked
    expectAlive(c);
  }
}

TEST_F(WsConformance, FramingFrameWrittenOneByteAtATime) {
  // A frame split over many reads must be reassembled from the server's partial-frame buffer.
  WsClient c = open();
  const std::string frame = WsClient::encode(kText, paddedPing(200));
  for (char b : frame) {
    ASSERT_TRUE(c.sendRaw(std::string(1, b)));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_EQ(nextType(c), "pong");
}

TEST_F(WsConformance, FramingManyFramesInOneWrite) {
  WsClient c = open();
  std::string batch;
  for (int i = 0; i < 10; ++i) batch += WsClient::encode(kText, kJsonPing);
  ASSERT_TRUE(c.sendRaw(batch));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(nextType(c), "pong") << "message " << i;
}

TEST_F(WsConformance, FramingLengthWithTheTopBitSetFailsWith1002) {
  // RFC 6455 5.2: the most significant bit of a 64-bit length must be 0.
  expectFailure(std::string("\x82\xFF\x80\x00\x00\x00\x00\x00\x00\x01", 10) + "mask", 1002);
}

// --- Pings and pongs (Autobahn 2.x). ---

TEST_F(WsConformance, PingsPongCarriesThePingPayload) {
  for (const std::string& payload : {std::string(), std::string("hello"), bytePattern(125)}) {
    SCOPED_TRACE("ping of " + std::to_string(payload.size()) + " bytes");
    WsClient c = open();
    ASSERT_TRUE(c.sendFrame(kPing, payload));
    const WsFrame f = c.readFrame();
    ASSERT_TRUE(f.ok()) << f.describe();
    EXPECT_EQ(f.opcode, kPong);
    EXPECT_TRUE(f.fin);
    EXPECT_FALSE(f.masked);
    EXPECT_EQ(f.payload, payload);
  }
}

TEST_F(WsConformance, PingsTenInOneWriteGetTenPongsInOrder) {
  WsClient c = open();
  std::string batch;
  for (int i = 0; i < 10; ++i) batch += WsClient::encode(kPing, "ping-" + std::to_string(i));
  ASSERT_TRUE(c.sendRaw(batch));
  for (int i = 0; i < 10; ++i) {
    const WsFrame f = c.readFrame();
    ASSERT_TRUE(f.ok()) << f.describe();
    EXPECT_EQ(f.opcode, kPong);
    EXPECT_EQ(f.payload, "ping-" + std::to_string(i));
  }
}

TEST_F(WsConformance, PingsOf126BytesFailWith1002) {
  expectFailure(WsClient::encode(kPing, std::string(126, 'p')), 1002);
}

TEST_F(WsConformance, PingsUnsolicitedPongIsIgnored) {
  WsClient c = open();
  ASSERT_TRUE(c.sendFrame(kPong, "unsolicited"));
  ASSERT_TRUE(c.sendFrame(kPong, ""));
  expectAlive(c);
}

// --- Reserved bits (Autobahn 3.x): no extension was negotiated, so any RSV bit is an error. ---

TEST_F(WsConformance, ReservedBitsFailWith1002) {
  for (std::uint8_t rsv : {1, 2, 3, 4, 5, 6, 7}) {
    for (std::uint8_t opcode : {kText, kBinary, kPing}) {
      SCOPED_TRACE("rsv " + std::to_string(rsv) + " on opcode " + std::to_string(opcode));
      const std::string payload = opcode == kText ? kJsonPing : "data";
      expectFailure(WsClient::encode(opcode, payload, true, rsv), 1002);
    }
  }
}

TEST_F(WsConformance, ReservedBitsAfterAGoodFrameStillFail) {
  // The valid message first must be handled, and the bad frame then fail the connection.
  WsClient c = open();
  ASSERT_TRUE(
      c.sendRaw(WsClient::encode(kText, kJsonPing) + WsClient::encode(kText, kJsonPing, true, 4)));
  EXPECT_EQ(nextType(c), "pong");
  expectFailed(c, 1002);
}

// --- Opcodes (Autobahn 4.x). ---

TEST_F(WsConformance, ReservedOpcodesFailWith1002) {
  for (std::uint8_t opcode : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    SCOPED_TRACE("opcode " + std::to_string(opcode));
    expectFailure(WsClient::encode(opcode, "x"), 1002);
  }
}

// --- Fragmentation (Autobahn 5.x). ---

TEST_F(WsConformance, FragmentationJsonInThreeFragments) {
  WsClient c = open();
  ASSERT_TRUE(c.sendFrame(kText, R"({"type")", false));
  ASSERT_TRUE(c.sendFrame(kContinuation, R"(:"pi)", false));
  ASSERT_TRUE(c.sendFrame(kContinuation, R"(ng"})", true));
  EXPECT_EQ(nextType(c), "pong");
}

TEST_F(WsConformance, FragmentationEmptyFragmentsAreAllowed) {
  WsClient c = open();
  ASSERT_TRUE(c.sendFrame(kText, "", false));
  ASSERT_TRUE(c.sendFrame(kContinuation, kJsonPing, false));
  ASSERT_TRUE(c.sendFrame(kContinuation, "", true));
  EXPECT_EQ(nextType(c), "pong");
}

TEST_F(WsConformance, FragmentationPingBetweenFragmentsIsAnsweredFirst) {
  // Control frames may be interleaved with fragments; their answer must not wait for the message.
  WsClient c = open();
  ASSERT_TRUE(c.sendFrame(kText, R"({"type":)", false));
  ASSERT_TRUE(c.sendFrame(kPing, "between"));
  const WsFrame pong = c.readFrame();
  ASSERT_TRUE(pong.ok()) << pong.describe();
  EXPECT_EQ(pong.opcode, kPong);
  EXPECT_EQ(pong.payload, "between");
  ASSERT_TRUE(c.sendFrame(kContinuation, R"("ping"})", true));
  EXPECT_EQ(nextType(c), "pong");
}

TEST_F(WsConformance, FragmentationBinaryMessageIsAccepted) {
  WsClient c = open();
  ASSERT_TRUE(c.sendFrame(kBinary, bytePattern(1000), false));
  ASSERT_TRUE(c.sendFrame(kContinuation, bytePattern(1000), true));
  expectAlive(c);
}

TEST_F(WsConformance, FragmentationContinuationWithoutStartFailsWith1002) {
  for (bool fin : {false, true}) {
    SCOPED_TRACE(fin ? "with FIN" : "without FIN");
    expectFailure(WsClient::encode(kContinuation, "orphan", fin), 1002);
  }
}

TEST_F(WsConformance, FragmentationFragmentedControlFramesFailWith1002) {
  for (std::uint8_t opcode : {kPing, kPong, kClose}) {
    SCOPED_TRACE("opcode " + std::to_string(opcode));
    const std::string payload = opcode == kClose ? std::string("\x03\xE8", 2) : "frag";
    expectFailure(
        WsClient::encode(opcode, payload, false) + WsClient::encode(kContinuation, "ment", true),
        1002);
  }
}

TEST_F(WsConformance, FragmentationNewMessageInsideAFragmentedOneFailsWith1002) {
  for (std::uint8_t opcode : {kText, kBinary}) {
    SCOPED_TRACE("opcode " + std::to_string(opcode));
    expectFailure(WsClient::encode(kText, R"({"type":)", false) + WsClient::encode(opcode, "x"),
                  1002);
  }
}

// --- UTF-8 (Autobahn 6.x). ---

TEST_F(WsConformance, Utf8MultiByteTextIsHandled) {
  WsClient c = open();
  // 2-, 3- and 4-byte sequences, and the largest code point.
  ASSERT_TRUE(c.sendText(R"({"type":"ping","text":"κόσμε € 𝄞 )"
                         "\xF4\x8F\xBF\xBF"
                         R"("})"));
  EXPECT_EQ(nextType(c), "pong");
}

TEST_F(WsConformance, Utf8CodePointsSplitAcrossFragmentsAreHandled) {
  // One byte per fragment: every multi-byte sequence is cut at every position.
  WsClient c = open();
  const std::string text = R"({"type":"ping","text":"κόσμε € 𝄞"})";
  for (std::size_t i = 0; i < text.size(); ++i)
    ASSERT_TRUE(
        c.sendFrame(i == 0 ? kText : kContinuation, text.substr(i, 1), i + 1 == text.size()));
  EXPECT_EQ(nextType(c), "pong");
}

TEST_F(WsConformance, Utf8InvalidSequencesFailWith1007) {
  const std::vector<std::string> invalid = {
      "\x80",                  // a lone continuation byte
      "\xC0\xAF",              // overlong '/'
      "\xE0\x80\xAF",          // overlong '/' in 3 bytes
      "\xED\xA0\x80",          // a UTF-16 surrogate
      "\xF4\x90\x80\x80",      // above U+10FFFF
      "\xF8\x88\x80\x80\x80",  // a 5-byte form
      "\xFE",
      "\xFF",
      "\xCE\xBA\xE1\xBD",  // truncated at the end of the message
  };
  for (const std::string& bad : invalid) {
    SCOPED_TRACE("sequence of " + std::to_string(bad.size()) + " bytes starting " +
                 std::to_string(static_cast<std::uint8_t>(bad[0])));
    expectFailure(WsClient::encode(kText, R"({"type":"ping","text":")" + bad), 1007);
  }
}

TEST_F(WsConformance, Utf8InvalidAcrossFragmentsFailsWith1007) {
  // Each fragment is fine alone; only their junction is invalid (a lead byte, then ASCII).
  expectFailure(
      WsClient::encode(kText, "\"\xCE", false) + WsClient::encode(kContinuation, "A\"", true),
      1007);
}

TEST_F(WsConformance, Utf8InvalidFragmentFailsBeforeTheMessageEnds) {
  // No final fragment ever comes: the server must fail on the fragment carrying the bad byte.
  WsClient c = open();
  ASSERT_TRUE(c.sendFrame(kText, "\"ok\xFF", false));
  expectFailed(c, 1007);
}

TEST_F(WsConformance, Utf8InvalidCloseReasonFailsWith1007) {
  // RFC 6455 8.1: a close reason that is not UTF-8 is invalid data, so 1007, not an echo.
  expectFailure(WsClient::encode(kClose, std::string("\x03\xE8", 2) + "bye\xFF"), 1007);
}

// --- Limits: ws.max_message_bytes = 65536. ---

TEST_F(WsConformance, LimitsMessageAtTheLimitIsAccepted) {
  WsClient c = open();
  ASSERT_TRUE(c.sendText(paddedPing(kLimit)));
  EXPECT_EQ(nextType(c), "pong");
  ASSERT_TRUE(c.sendFrame(kBinary, bytePattern(kLimit)));
  expectAlive(c);
}

TEST_F(WsConformance, LimitsFragmentedMessageAtTheLimitIsAccepted) {
  WsClient c = open();
  const std::string text = paddedPing(kLimit);
  ASSERT_TRUE(c.sendFrame(kText, text.substr(0, 40000), false));
  ASSERT_TRUE(c.sendFrame(kContinuation, text.substr(40000), true));
  EXPECT_EQ(nextType(c), "pong");
}

TEST_F(WsConformance, LimitsSingleFrameOverTheLimitFailsWith1009) {
  for (std::uint8_t opcode : {kText, kBinary}) {
    SCOPED_TRACE("opcode " + std::to_string(opcode));
    expectFailure(WsClient::encode(opcode, std::string(kLimit + 1, 'x')), 1009);
  }
}

TEST_F(WsConformance, LimitsFragmentsOverTheLimitFailWith1009) {
  expectFailure(WsClient::encode(kText, std::string(40000, 'x'), false) +
                    WsClient::encode(kContinuation, std::string(40000, 'x'), true),
                1009);
}

TEST_F(WsConformance, LimitsOversizedFrameFailsOnItsHeader) {
  // Only the header of a 1 GiB frame is sent: the server must not wait for (or buffer) the rest.
  WsClient c = open();
  const std::string header("\x82\xFF\x00\x00\x00\x00\x40\x00\x00\x00", 10);  // masked, 2^30
  ASSERT_TRUE(c.sendRaw(header + "mask"));
  expectFailed(c, 1009);
}

// --- Masking (RFC 6455 5.1): a client frame that is not masked fails the connection. ---

TEST_F(WsConformance, MaskingUnmaskedClientFramesFailWith1002) {
  for (std::uint8_t opcode : {kText, kBinary, kPing, kClose}) {
    SCOPED_TRACE("opcode " + std::to_string(opcode));
    const std::string payload = opcode == kClose ? std::string("\x03\xE8", 2) : kJsonPing;
    expectFailure(WsClient::encode(opcode, payload, true, 0, false), 1002);
  }
}

// --- The closing handshake (Autobahn 7.x). ---

TEST_F(WsConformance, ClosingNormalCloseIsEchoedThenTcpCloses) {
  WsClient c = open();
  ASSERT_TRUE(c.sendClose(1000, "bye"));
  const WsClose got = c.expectClose();
  ASSERT_TRUE(got.received);
  EXPECT_EQ(got.code, 1000);
  EXPECT_EQ(got.frames_before, 0);
  EXPECT_TRUE(got.tcp_closed);
}

TEST_F(WsConformance, ClosingEmptyCloseGetsAnEmptyClose) {
  WsClient c = open();
  ASSERT_TRUE(c.sendClose(-1));
  const WsClose got = c.expectClose();
  ASSERT_TRUE(got.received);
  EXPECT_EQ(got.code, -1) << "1005 means 'no code' and must never be sent";
  EXPECT_TRUE(got.tcp_closed);
}

TEST_F(WsConformance, ClosingDataAfterCloseIsIgnored) {
  // After its close frame a client may send nothing more; what it does send gets no answer.
  WsClient c = open();
  ASSERT_TRUE(c.sendRaw(WsClient::encode(kClose, std::string("\x03\xE8", 2)) +
                        WsClient::encode(kText, kJsonPing) + WsClient::encode(kPing, "late")));
  const WsClose got = c.expectClose();
  ASSERT_TRUE(got.received);
  EXPECT_EQ(got.code, 1000);
  EXPECT_EQ(got.frames_before, 0);
  EXPECT_TRUE(got.tcp_closed);
}

TEST_F(WsConformance, ClosingOneBytePayloadFailsWith1002) {
  expectFailure(WsClient::encode(kClose, "\x03"), 1002);
}

TEST_F(WsConformance, ClosingPayloadOver125BytesFailsWith1002) {
  expectFailure(WsClient::encode(kClose, std::string("\x03\xE8", 2) + std::string(124, 'r')), 1002);
}

TEST_F(WsConformance, ClosingInvalidCodesFailWith1002) {
  // 1004-1006 and 1015 are reserved and never sent; 0-999, unassigned 1016-2999 and >= 5000 are
  // not close codes at all.
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
    SCOPED_TRACE("code " + std::to_string(code));
    WsClient c = open();
    c.sendClose(code, "x");
    expectFailed(c, 1002);
  }
}

TEST_F(WsConformance, ClosingValidCodesAreEchoed) {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
    SCOPED_TRACE("code " + std::to_string(code));
    WsClient c = open();
    ASSERT_TRUE(c.sendClose(code, "κόσμε"));
    const WsClose got = c.expectClose();
    ASSERT_TRUE(got.received);
    EXPECT_EQ(got.code, code);
    EXPECT_TRUE(got.tcp_closed);
  }
}

TEST_F(WsConformance, ClosingLongestValidReasonIsAccepted) {
  WsClient c = open();
  ASSERT_TRUE(c.sendClose(1000, std::string(123, 'r')));
  const WsClose got = c.expectClose();
  ASSERT_TRUE(got.received);
  EXPECT_EQ(got.code, 1000);
  EXPECT_TRUE(got.tcp_closed);
}

TEST_F(WsConformance, ClosingInsideAFragmentedMessageIsEchoed) {
  // A close may come between fragments (it is a control frame); the partial message is dropped.
  WsClient c = open();
  ASSERT_TRUE(c.sendFrame(kText, R"({"type":)", false));
  ASSERT_TRUE(c.sendClose(1000));
  const WsClose got = c.expectClose();
  ASSERT_TRUE(got.received);
  EXPECT_EQ(got.code, 1000);
  EXPECT_EQ(got.frames_before, 0);
  EXPECT_TRUE(got.tcp_closed);
}

TEST_F(WsConformance, ClosingAbruptDisconnectsLeaveTheServerServing) {
  {
    WsClient c = open();
    c.sendFrame(kText, R"({"type":)", false);
    c.closeTcp();  // FIN in the middle of a fragmented message
  }
  {
    WsClient c = open();
    c.sendRaw(WsClient::encode(kBinary, bytePattern(1000)).substr(0, 500));
    c.reset();  // RST in the middle of a frame
  }
  WsClient c = open();
  expectAlive(c);
}

// --- The core's JSON messages. ---

TEST_F(WsConformance, CorePingGetsPongWithSessionId) {
  WsClient c = open();
  ASSERT_TRUE(c.sendText(kJsonPing));
  auto pong = nextJson(c);
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->optValue<std::string>("type", ""), "pong");
  EXPECT_FALSE(pong->optValue<std::string>("session_id", "").empty());
  EXPECT_TRUE(pong->has("ts"));
}

TEST_F(WsConformance, CoreInvalidJsonIsAnError) {
  for (const std::string& text : {std::string("not json"), std::string(R"({"type":)"),
                                  std::string("[1,2]"), std::string("\"ping\"")}) {
    SCOPED_TRACE(text);
    WsClient c = open();
    ASSERT_TRUE(c.sendText(text));
    expectError(c, "invalid_json");
    expectAlive(c);
  }
}

TEST_F(WsConformance, CoreUnknownOrMissingTypeIsAnError) {
  for (const std::string& text :
       {std::string(R"({"type":"no_such_type"})"), std::string("{}"),
        std::string(R"({"kind":"ping"})"), std::string(R"({"type":5})")}) {
    SCOPED_TRACE(text);
    WsClient c = open();
    ASSERT_TRUE(c.sendText(text));
    expectError(c, "unknown_type");
    expectAlive(c);
  }
}

TEST_F(WsConformance, CoreStopClosesWith1000) {
  WsClient c = open();
  ASSERT_TRUE(c.sendText(R"({"type":"stop"})"));
  const WsClose got = c.expectClose(WsClient::kTimeout, /*answer=*/true);
  ASSERT_TRUE(got.received);
  EXPECT_EQ(got.code, 1000);
  EXPECT_TRUE(got.tcp_closed);
}

// A client that sends its close right behind a stop (one write) still gets what was queued for
// it first: the pong, then the server's close.
TEST_F(WsConformance, CoreStopAndCloseInOneWriteStillGetTheQueuedReplies) {
  WsClient c = open();
  ASSERT_TRUE(c.sendRaw(WsClient::encode(ws_op::kText, R"({"type":"ping"})") +
                        WsClient::encode(ws_op::kText, R"({"type":"stop"})") +
                        WsClient::encode(ws_op::kClose, std::string("\x03\xe8", 2))));
  const WsFrame pong = c.readText();
  ASSERT_EQ(pong.result, WsFrame::Result::kFrame);
  EXPECT_NE(pong.payload.find("\"pong\""), std::string::npos) << pong.payload;
  const WsClose got = c.expectClose();
  ASSERT_TRUE(got.received);
  EXPECT_EQ(got.code, 1000);
  EXPECT_TRUE(got.tcp_closed);
}

TEST_F(WsConformance, CoreFirstFramePipelinedWithTheHandshake) {
  // The frame arrives in the same segment as the request: the HTTP layer reads it with the
  // headers, and it must still reach the websocket.
  WsClient c = WsClient::connect(port(), path(), {}, WsClient::encode(kText, kJsonPing));
  EXPECT_EQ(nextType(c), "pong");
}

TEST_F(WsConformance, CoreHalfAFramePipelinedWithTheHandshake) {
  // The early bytes end mid-frame: they must be kept and completed by the next read.
  const std::string frame = WsClient::encode(kText, kJsonPing);
  WsClient c = WsClient::connect(port(), path(), {}, frame.substr(0, 7));
  ASSERT_TRUE(c.sendRaw(frame.substr(7)));
  EXPECT_EQ(nextType(c), "pong");
}

TEST_F(WsConformance, CoreBadFramePipelinedWithTheHandshakeFailsWith1002) {
  WsClient c = WsClient::connect(port(), path(), {}, WsClient::encode(kText, kJsonPing, true, 4));
  expectFailed(c, 1002);
}

// --- The upgrade handshake. ---

TEST_F(WsConformance, HandshakeAuthorizationHeaderWorksToo) {
  WsClient c = WsClient::connect(port(), "/ws/voice",
                                 {{"Authorization", std::string("Bearer ") + kOperatorToken}});
  expectAlive(c);
}

TEST_F(WsConformance, HandshakeWithoutTokenIs401) {
  const WsRefused r = refusal({}, "/ws/voice");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.header("WWW-Authenticate").find("Bearer"), std::string::npos) << r.head;
}

TEST_F(WsConformance, HandshakeWithBadTokenIs401) {
  const WsRefused r = refusal({}, "/ws/voice?token=wrong-token");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.header("WWW-Authenticate").find("invalid_token"), std::string::npos) << r.head;
}

TEST_F(WsConformance, HandshakeOtherVersionIs426) {
  const WsRefused r = refusal({{"Sec-WebSocket-Version", "12"}}, path());
  EXPECT_EQ(r.status, 426) << r.body;
  EXPECT_EQ(r.header("Sec-WebSocket-Version"), "13") << r.head;
}

TEST_F(WsConformance, HandshakeWithoutKeyIs400) {
  const WsRefused r = refusal({{"Sec-WebSocket-Key", ""}}, path());
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(WsConformance, HandshakeWithoutUpgradeHeaderIs400) {
  const WsRefused r = refusal({{"Upgrade", ""}}, path());
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(WsConformance, HandshakePostIs405) {
  const WsRefused r = refusal({}, path(), "POST");
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_EQ(r.header("Allow"), "GET") << r.head;
}

}  // namespace
}  // namespace parley::test

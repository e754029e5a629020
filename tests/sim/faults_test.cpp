// The link fault injector: drop, duplicate, corrupt, delay, reorder; deterministic by seed.
#include <gtest/gtest.h>

#include "chargehub/frame.hpp"
#include "chargehub/sim/faults.hpp"

using namespace chargehub::sim;
using namespace chargehub::proto;

namespace {
std::vector<uint8_t> frame(uint16_t seq) {
  return encode_frame(Frame{861234567890123ULL, seq, Cmd::Heartbeat, 0, {20, 0, 0, 0, 0, 0, 0, 0}});
}
uint16_t seq_of(const std::vector<uint8_t>& b) { return static_cast<uint16_t>(b[13] | b[14] << 8); }
}  // namespace

TEST(Faults, NoFaultsPassesEverythingInOrder) {
  FaultInjector f;
  for (uint16_t i = 1; i <= 5; ++i) f.push(frame(i), 0);
  auto out = f.pop_ready(0);
  ASSERT_EQ(out.size(), 5u);
  for (uint16_t i = 0; i < 5; ++i) EXPECT_EQ(seq_of(out[i]), i + 1);
}

TEST(Faults, DropAll) {
  FaultInjector f({.drop = 1});
  f.push(frame(1), 0);
  EXPECT_TRUE(f.pop_ready(100000).empty());
  EXPECT_EQ(f.stats().dropped, 1u);
}

TEST(Faults, DuplicateDeliversTwice) {
  FaultInjector f({.duplicate = 1});
  f.push(frame(1), 0);
  auto out = f.pop_ready(0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], out[1]);
}

TEST(Faults, CorruptIsRejectedByTheReceiversCrc) {
  FaultInjector f({.corrupt = 1}, 3);
  for (uint16_t i = 1; i <= 20; ++i) f.push(frame(i), 0);
  FrameDecoder dec;
  for (auto& b : f.pop_ready(0)) dec.feed(b);
  int good = 0;
  while (dec.next()) ++good;
  EXPECT_EQ(good, 0);
  EXPECT_GT(dec.stats().bad_frames + dec.stats().dropped_bytes, 0u);
}

TEST(Faults, DelayHoldsUntilDue) {
  FaultInjector f({.delay = 1, .delay_ms = 100});
  f.push(frame(1), 0);
  EXPECT_TRUE(f.pop_ready(99).empty());
  EXPECT_EQ(f.pop_ready(100).size(), 1u);
}

TEST(Faults, ReorderLetsTheNextFrameOvertake) {
  FaultInjector f({.reorder = 1, .delay_ms = 1000});
  f.push(frame(1), 0);
  EXPECT_TRUE(f.pop_ready(0).empty());
  f.push(frame(2), 10);
  auto out = f.pop_ready(10);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(seq_of(out[0]), 2);
  EXPECT_EQ(seq_of(out[1]), 1);
}

TEST(Faults, ReorderedFrameIsReleasedAfterAtMostDelay) {
  FaultInjector f({.reorder = 1, .delay_ms = 50});
  f.push(frame(1), 0);
  EXPECT_EQ(f.pop_ready(50).size(), 1u);
}

TEST(Faults, RatesAreStatisticalAndSeeded) {
  auto run = [](uint64_t seed) {
    FaultInjector f({.drop = 0.2}, seed);
    for (uint16_t i = 0; i < 2000; ++i) f.push(frame(i), 0);
    return f.pop_ready(0).size();
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NEAR(static_cast<double>(run(5)), 1600, 80);
}

TEST(Faults, ParseSpec) {
  auto r = parse_fault_rates("drop=0.05,dup=0.01,corrupt=0.02,delay=0.1,reorder=0.03,delay-ms=1500");
  EXPECT_DOUBLE_EQ(r.drop, 0.05);
  EXPECT_DOUBLE_EQ(r.duplicate, 0.01);
  EXPECT_DOUBLE_EQ(r.corrupt, 0.02);
  EXPECT_DOUBLE_EQ(r.delay, 0.1);
  EXPECT_DOUBLE_EQ(r.reorder, 0.03);
  EXPECT_EQ(r.delay_ms, 1500);
  EXPECT_THROW(parse_fault_rates("drop=2"), std::invalid_argument);
  EXPECT_THROW(parse_fault_rates("flood=0.1"), std::invalid_argument);
}

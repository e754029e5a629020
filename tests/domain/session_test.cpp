// The session state machine: every allowed transition and the refused ones.
#include <gtest/gtest.h>

#include "chargehub/session.hpp"

using namespace chargehub::session;
using S = State;
using E = Event;

TEST(Session, HappyPath) {
  S s = S::Requested;
  for (auto [e, want] : std::vector<std::pair<E, S>>{{E::StartSent, S::Starting},
                                                     {E::StartAccepted, S::Charging},
                                                     {E::StopRequested, S::Stopping},
                                                     {E::EndReported, S::Ended},
                                                     {E::Settled, S::Settled}}) {
    auto n = next(s, e);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, want);
    s = *n;
  }
  EXPECT_TRUE(is_final(s));
}

TEST(Session, ChargerStopsByItself) {
  EXPECT_EQ(next(S::Charging, E::EndReported), S::Ended);
  EXPECT_EQ(next(S::Starting, E::EndReported), S::Ended);   // reply lost, end arrived first
  EXPECT_EQ(next(S::Requested, E::EndReported), S::Ended);  // core died between publishing START and recording it
}

TEST(Session, RefusedAndTimedOutStarts) {
  EXPECT_EQ(next(S::Starting, E::StartRefused), S::Rejected);
  EXPECT_EQ(next(S::Requested, E::StartRefused), S::Rejected);
  EXPECT_EQ(next(S::Starting, E::StartTimeout), S::StartTimedOut);
  EXPECT_EQ(next(S::StartTimedOut, E::EndReported), S::Ended);
  EXPECT_FALSE(holds_port(S::StartTimedOut));
  EXPECT_FALSE(holds_port(S::Rejected));
}

TEST(Session, LostSessionsSettleFromTheLastMeter) {
  EXPECT_EQ(next(S::Charging, E::ChargerLost), S::Lost);
  EXPECT_EQ(next(S::Lost, E::Settled), S::Settled);
}

TEST(Session, NothingHappensTwice) {
  EXPECT_FALSE(next(S::Settled, E::Settled));
  EXPECT_FALSE(next(S::Settled, E::EndReported));
  EXPECT_FALSE(next(S::Ended, E::EndReported));
  EXPECT_FALSE(next(S::Rejected, E::StartAccepted));
  EXPECT_FALSE(next(S::Requested, E::Settled));
  EXPECT_EQ(next(S::Charging, E::StartAccepted), S::Charging);   // a repeated START reply changes nothing
}

TEST(Session, NamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(S::Lost); ++i) {
    auto s = static_cast<S>(i);
    EXPECT_EQ(parse_state(state_name(s)), s);
  }
  EXPECT_FALSE(parse_state("charging "));
}

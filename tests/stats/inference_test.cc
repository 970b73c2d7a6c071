// The statistics against published figures (Hillstrom's MineThatData experiment, textbook
// examples) and against independent computations done here: erfc for normal tails,
// numerical integration of Student's t density, Monte Carlo for Bayesian chances.
#include "stats/inference.h"

#include <cmath>
#include <map>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/hillstrom.h"

namespace segmenta {
namespace {

// Two-sided normal tail, independently of Boost.
double NormalTwoSided(double z) { return std::erfc(std::fabs(z) / std::sqrt(2.0)); }

// Two-sided Student-t tail by Simpson's rule over the density, independently of Boost.
double StudentTwoSided(double t, double df) {
  auto density = [&](double x) {
    return std::exp(std::lgamma((df + 1) / 2) - std::lgamma(df / 2)) / std::sqrt(df * M_PI) *
           std::pow(1 + x * x / df, -(df + 1) / 2);
  };
  const double a = 0, b = std::fabs(t);
  const int n = 20000;
  const double h = (b - a) / n;
  double sum = density(a) + density(b);
  for (int i = 1; i < n; ++i) sum += density(a + i * h) * (i % 2 ? 4 : 2);
  return 2 * (0.5 - sum * h / 3);
}

struct Arm {
  double customers = 0, visits = 0, conversions = 0;
  Moments spend;
};

// Hillstrom's CSV, per arm.
std::map<std::string, Arm> HillstromArms() {
  std::map<std::string, Arm> arms;
  for (const HillstromRow& r : ReadHillstrom()) {
    Arm& a = arms[r.segment];
    a.customers += 1;
    a.visits += r.visit;
    a.conversions += r.conversion;
    a.spend.Add(r.spend);
  }
  return arms;
}

TEST(InferenceTest, HillstromMatchesThePublishedFigures) {
  std::map<std::string, Arm> arms = HillstromArms();
  ASSERT_EQ(arms.size(), 3u)
      << "hillstrom.csv not found (../shared/data): set SEGMENTA_SHARED_DATA";
  const Arm& mens = arms["Mens E-Mail"];
  const Arm& womens = arms["Womens E-Mail"];
  const Arm& control = arms["No E-Mail"];
  EXPECT_EQ(mens.customers, 21307);
  EXPECT_EQ(womens.customers, 21387);
  EXPECT_EQ(control.customers, 21306);
  EXPECT_NEAR(ProportionEstimate(mens.conversions, mens.customers).value, 0.012531, 1e-6);
  EXPECT_NEAR(MeanEstimate(mens.spend).value, 1.422617, 1e-6);
  EXPECT_NEAR(MeanEstimate(control.spend).value, 0.652789, 1e-6);

  Difference conv =
      CompareProportions(mens.conversions, mens.customers, control.conversions, control.customers);
  EXPECT_NEAR(conv.absolute, 0.00681, 1e-5);
  EXPECT_NEAR(conv.relative, 1.188, 1e-3);
  EXPECT_NEAR(conv.statistic, 7.385, 1e-3);
  EXPECT_NEAR(conv.p_value / NormalTwoSided(conv.statistic), 1, 1e-6);
  EXPECT_NEAR(conv.p_value, 1.5e-13, 0.1e-13);
  Difference wconv = CompareProportions(womens.conversions, womens.customers, control.conversions,
                                        control.customers);
  EXPECT_NEAR(wconv.statistic, 3.780, 1e-3);
  EXPECT_NEAR(wconv.p_value, 1.6e-4, 0.05e-4);

  Difference spend = CompareMeans(mens.spend, control.spend);
  EXPECT_NEAR(spend.absolute, 0.769827, 1e-6);
  EXPECT_NEAR(spend.ci.low, 0.485, 1e-3);
  EXPECT_NEAR(spend.ci.high, 1.054, 1e-3);
  EXPECT_NEAR(spend.p_value, StudentTwoSided(spend.statistic, spend.df), 1e-9);
  Difference wspend = CompareMeans(womens.spend, control.spend);
  EXPECT_NEAR(wspend.absolute, 0.424412, 1e-6);
  EXPECT_NEAR(wspend.ci.low, 0.169, 1e-3);
  EXPECT_NEAR(wspend.ci.high, 0.680, 1e-3);

  // The random split has no sample ratio mismatch.
  std::vector<double> observed = {mens.customers, womens.customers, control.customers};
  std::vector<double> weights = {1, 1, 1};
  EXPECT_GT(SampleRatioMismatchP(observed, weights), 0.5);
}

TEST(InferenceTest, IntervalsAndTestsOnTextbookCases) {
  Estimate half = ProportionEstimate(5, 10);
  EXPECT_NEAR(half.ci.low, 0.2366, 1e-4);
  EXPECT_NEAR(half.ci.high, 0.7634, 1e-4);
  Estimate none = ProportionEstimate(0, 10);
  EXPECT_EQ(none.ci.low, 0);
  EXPECT_NEAR(none.ci.high, 0.2775, 1e-4);
  Moments m;
  for (double x : {2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0}) m.Add(x);
  EXPECT_DOUBLE_EQ(m.mean(), 5);
  EXPECT_NEAR(m.variance(), 32.0 / 7, 1e-12);
  Estimate mean = MeanEstimate(m);
  EXPECT_NEAR(mean.ci.high - 5, 2.3646 * std::sqrt(32.0 / 7 / 8), 1e-3);  // t(7) = 2.3646
  // A clear mismatch: 1,000 against 1,200 where halves were meant.
  std::vector<double> observed = {1000, 1200}, weights = {1, 1};
  EXPECT_LT(SampleRatioMismatchP(observed, weights), 0.001);
}

TEST(InferenceTest, ChanceToBeatControlAgreesWithMonteCarlo) {
  std::mt19937_64 rng(7);
  auto beta = [&](double a, double b) {
    std::gamma_distribution<double> ga(a, 1), gb(b, 1);
    double x = ga(rng), y = gb(rng);
    return x / (x + y);
  };
  for (auto [x1, n1, x0, n0] :
       {std::array<double, 4>{30, 1000, 25, 1000}, std::array<double, 4>{12, 100, 15, 110},
        std::array<double, 4>{267, 21307, 122, 21306}}) {
    int wins = 0;
    const int draws = 200000;
    for (int i = 0; i < draws; ++i) wins += beta(1 + x1, 1 + n1 - x1) > beta(1 + x0, 1 + n0 - x0);
    EXPECT_NEAR(ChanceToBeatControl(x1, n1, x0, n0), static_cast<double>(wins) / draws, 0.005)
        << x1 << "/" << n1 << " vs " << x0 << "/" << n0;
  }
  EXPECT_NEAR(ChanceToBeatControl(10, 100, 10, 100), 0.5, 1e-6);
}

TEST(InferenceTest, CupedReducesVarianceAndKeepsTheDifference) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> pre(100, 20), noise(0, 5);
  JointMoments arms[2];
  std::vector<double> adjusted[2];
  std::vector<std::pair<double, double>> rows[2];
  for (int arm = 0; arm < 2; ++arm) {
    for (int i = 0; i < 5000; ++i) {
      const double x = pre(rng);
      const double y = x + noise(rng) + (arm == 1 ? 2.0 : 0.0);  // treatment adds 2
      arms[arm].Add(y, x);
      rows[arm].push_back({y, x});
    }
  }
  const double theta = CupedTheta(arms);
  EXPECT_NEAR(theta, 1.0, 0.02);
  const double x_mean = (arms[0].x.sum + arms[1].x.sum) / (arms[0].x.n + arms[1].x.n);
  Moments adj[2];
  for (int arm = 0; arm < 2; ++arm) {
    adj[arm] = CupedAdjusted(arms[arm], theta, x_mean);
    // The same as adjusting each row.
    Moments direct;
    for (auto [y, x] : rows[arm]) direct.Add(y - theta * (x - x_mean));
    EXPECT_NEAR(adj[arm].mean(), direct.mean(), 1e-9);
    EXPECT_NEAR(adj[arm].variance(), direct.variance(), 1e-6);
  }
  Difference raw = CompareMeans(arms[1].y, arms[0].y);
  Difference cuped = CompareMeans(adj[1], adj[0]);
  EXPECT_NEAR(cuped.absolute, 2.0, 0.3);
  EXPECT_LT(cuped.standard_error, raw.standard_error / 3);  // 1 - rho² ≈ 0.06
}

TEST(InferenceTest, AlwaysValidIntervalsAreWiderAndConsistentWithTheirPValues) {
  const double diff = 0.8, variance = 0.02, tau_sq = 0.02;
  Interval av = AlwaysValidInterval(diff, variance, tau_sq, 0.05);
  const double fixed_half = 1.959964 * std::sqrt(variance);
  EXPECT_GT(av.high - av.low, 2 * fixed_half);
  const double p = AlwaysValidPValue(diff, variance, tau_sq);
  EXPECT_GE(p, NormalTwoSided(diff / std::sqrt(variance)));
  // 0 is outside the interval exactly when the p-value is below alpha.
  for (double d : {0.1, 0.3, 0.5, 0.6, 0.7, 1.0}) {
    Interval i = AlwaysValidInterval(d, variance, tau_sq, 0.05);
    EXPECT_EQ(i.low > 0, AlwaysValidPValue(d, variance, tau_sq) < 0.05) << d;
  }
}

TEST(InferenceTest, HolmAndBenjaminiHochberg) {
  std::vector<double> p = {0.01, 0.04, 0.03, 0.005};
  std::vector<double> holm = HolmAdjust(p);
  std::vector<double> bh = BenjaminiHochbergAdjust(p);
  for (auto [got, want] : {std::pair{holm[0], 0.03}, std::pair{holm[1], 0.06},
                           std::pair{holm[2], 0.06}, std::pair{holm[3], 0.02}}) {
    EXPECT_NEAR(got, want, 1e-12);
  }
  for (auto [got, want] : {std::pair{bh[0], 0.02}, std::pair{bh[1], 0.04}, std::pair{bh[2], 0.04},
                           std::pair{bh[3], 0.02}}) {
    EXPECT_NEAR(got, want, 1e-12);
  }
}

}  // namespace
}  // namespace segmenta

// Frequentist and Bayesian inference for experiments: intervals for rates and means,
// two-proportion z-tests, Welch's t-tests, the sample-ratio-mismatch check, the chance to
// beat control, CUPED, always-valid (sequential) intervals, and multiple-comparison
// corrections. The formulas are in docs/statistics.md. Distributions come from Boost.Math.
// All functions are pure and thread-safe.
#pragma once

#include <span>
#include <vector>

#include "stats/moments.h"

namespace segmenta {

struct Interval {
  double low = 0;
  double high = 0;
};

struct Estimate {
  double value = 0;
  Interval ci;
};

// A rate `successes / n` with its Wilson score interval.
Estimate ProportionEstimate(double successes, double n, double confidence = 0.95);

// A mean with its Student-t interval (n - 1 degrees of freedom).
Estimate MeanEstimate(const Moments& m, double confidence = 0.95);

// A ratio of two per-unit sums (revenue ÷ orders: the average order value) with its
// delta-method interval; y is the numerator, x the denominator.
Estimate RatioEstimate(const JointMoments& m, double confidence = 0.95);

// Treatment against control.
struct Difference {
  double absolute = 0;        // treatment - control
  Interval ci;                // of `absolute`
  double relative = 0;        // absolute / control (0 when control is 0)
  Interval relative_ci;       // delta method
  double statistic = 0;       // z or t
  double df = 0;              // Welch's degrees of freedom (0 for z)
  double p_value = 1;         // two-sided
  double standard_error = 0;  // of `absolute` (unpooled)
};

// Two-proportion z-test: pooled standard error for the statistic, unpooled for the interval.
Difference CompareProportions(double x1, double n1, double x0, double n0, double confidence = 0.95);

// Two ratios (average order values) compared with the delta method and a z-test.
Difference CompareRatios(const JointMoments& treatment, const JointMoments& control,
                         double confidence = 0.95);

// Welch's unequal-variances t-test on means.
Difference CompareMeans(const Moments& treatment, const Moments& control, double confidence = 0.95);

// The p-value of Pearson's chi-square goodness-of-fit test of `observed` counts against
// the `expected` shares (any positive weights); a sample ratio mismatch when below 0.001.
double SampleRatioMismatchP(std::span<const double> observed, std::span<const double> expected);

// P(treatment's rate > control's rate) with uniform Beta(1, 1) priors: Beta(1 + x, 1 + n - x)
// posteriors, integrated numerically.
double ChanceToBeatControl(double x1, double n1, double x0, double n0);
// P(treatment's mean > control's) under the normal approximation of the difference.
double ChanceToBeatControl(const Difference& difference);

// CUPED: theta = cov(y, x) / var(x) over all arms pooled.
double CupedTheta(std::span<const JointMoments> arms);
// The moments of y - theta * (x - x_mean) for one arm: the variance-reduced metric whose
// means compare as the raw ones do (x_mean is the covariate's mean over all arms).
Moments CupedAdjusted(const JointMoments& arm, double theta, double x_mean);

// Always-valid inference for a difference with estimated variance `variance` (of the
// difference), from the normal-mixture sequential probability ratio test with mixing
// variance `tau_sq` (Johari et al. 2017): an interval that holds at every peek with
// probability 1 - alpha, and its p-value.
Interval AlwaysValidInterval(double difference, double variance, double tau_sq, double alpha);
double AlwaysValidPValue(double difference, double variance, double tau_sq);

// Adjusted p-values (same order as given) controlling the family-wise error (Holm) or the
// false discovery rate (Benjamini-Hochberg).
std::vector<double> HolmAdjust(std::span<const double> p);
std::vector<double> BenjaminiHochbergAdjust(std::span<const double> p);

}  // namespace segmenta

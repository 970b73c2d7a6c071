#include "stats/inference.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "boost/math/distributions/beta.hpp"
#include "boost/math/distributions/chi_squared.hpp"
#include "boost/math/distributions/normal.hpp"
#include "boost/math/distributions/students_t.hpp"

namespace segmenta {
namespace {

double NormalQuantile(double p) {
  return boost::math::quantile(boost::math::normal_distribution<double>(), p);
}

// 2 * (1 - Φ(|z|)), accurate far in the tail.
double TwoSidedNormalP(double z) {
  return 2 * boost::math::cdf(
                 boost::math::complement(boost::math::normal_distribution<double>(), std::fabs(z)));
}

// The relative difference and its delta-method interval, from each side's estimate and
// the variance of that estimate.
void Relative(double m1, double v1, double m0, double v0, double z, Difference* d) {
  if (m0 == 0) return;
  d->relative = (m1 - m0) / m0;
  const double se = std::sqrt(v1 / (m0 * m0) + m1 * m1 * v0 / (m0 * m0 * m0 * m0));
  d->relative_ci = {d->relative - z * se, d->relative + z * se};
}

}  // namespace

double Moments::variance() const {
  if (n < 2) return 0;
  return std::max(0.0, (sum_sq - sum * sum / n) / (n - 1));
}

double JointMoments::covariance() const {
  if (y.n < 2) return 0;
  return (sum_xy - y.sum * x.sum / y.n) / (y.n - 1);
}

Estimate ProportionEstimate(double successes, double n, double confidence) {
  Estimate e;
  if (n <= 0) return e;
  const double p = successes / n;
  const double z = NormalQuantile(0.5 + confidence / 2);
  const double z2 = z * z;
  const double center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  e.value = p;
  e.ci = {std::max(0.0, center - half), std::min(1.0, center + half)};
  return e;
}

Estimate MeanEstimate(const Moments& m, double confidence) {
  Estimate e;
  e.value = m.mean();
  if (m.n < 2) {
    e.ci = {e.value, e.value};
    return e;
  }
  const double t = boost::math::quantile(boost::math::students_t_distribution<double>(m.n - 1),
                                         0.5 + confidence / 2);
  const double se = std::sqrt(m.variance() / m.n);
  e.ci = {e.value - t * se, e.value + t * se};
  return e;
}

namespace {

// The ratio of means and the variance of that estimate (delta method).
std::pair<double, double> RatioAndVariance(const JointMoments& m) {
  const double n = m.y.n;
  const double mx = m.x.mean(), my = m.y.mean();
  if (n < 2 || mx == 0) return {0, 0};
  const double r = my / mx;
  const double v =
      (m.y.variance() - 2 * r * m.covariance() + r * r * m.x.variance()) / (n * mx * mx);
  return {r, std::max(0.0, v)};
}

}  // namespace

Estimate RatioEstimate(const JointMoments& m, double confidence) {
  auto [r, v] = RatioAndVariance(m);
  const double z = NormalQuantile(0.5 + confidence / 2);
  return {r, {r - z * std::sqrt(v), r + z * std::sqrt(v)}};
}

Difference CompareRatios(const JointMoments& treatment, const JointMoments& control,
                         double confidence) {
  Difference d;
  auto [r1, v1] = RatioAndVariance(treatment);
  auto [r0, v0] = RatioAndVariance(control);
  d.absolute = r1 - r0;
  d.standard_error = std::sqrt(v1 + v0);
  const double z = NormalQuantile(0.5 + confidence / 2);
  d.ci = {d.absolute - z * d.standard_error, d.absolute + z * d.standard_error};
  d.statistic = d.standard_error > 0 ? d.absolute / d.standard_error : 0;
  d.p_value = d.standard_error > 0 ? TwoSidedNormalP(d.statistic) : 1;
  Relative(r1, v1, r0, v0, z, &d);
  return d;
}

Difference CompareProportions(double x1, double n1, double x0, double n0, double confidence) {
  Difference d;
  if (n1 <= 0 || n0 <= 0) return d;
  const double p1 = x1 / n1, p0 = x0 / n0;
  d.absolute = p1 - p0;
  const double v1 = p1 * (1 - p1) / n1, v0 = p0 * (1 - p0) / n0;
  d.standard_error = std::sqrt(v1 + v0);
  const double z = NormalQuantile(0.5 + confidence / 2);
  d.ci = {d.absolute - z * d.standard_error, d.absolute + z * d.standard_error};
  const double pooled = (x1 + x0) / (n1 + n0);
  const double se_pooled = std::sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0));
  d.statistic = se_pooled > 0 ? d.absolute / se_pooled : 0;
  d.p_value = se_pooled > 0 ? TwoSidedNormalP(d.statistic) : 1;
  Relative(p1, v1, p0, v0, z, &d);
  return d;
}

Difference CompareMeans(const Moments& treatment, const Moments& control, double confidence) {
  Difference d;
  if (treatment.n < 2 || control.n < 2) return d;
  const double m1 = treatment.mean(), m0 = control.mean();
  const double v1 = treatment.variance() / treatment.n, v0 = control.variance() / control.n;
  d.absolute = m1 - m0;
  d.standard_error = std::sqrt(v1 + v0);
  if (d.standard_error == 0) {
    d.ci = {d.absolute, d.absolute};
    d.p_value = d.absolute == 0 ? 1 : 0;
    return d;
  }
  d.df = (v1 + v0) * (v1 + v0) / (v1 * v1 / (treatment.n - 1) + v0 * v0 / (control.n - 1));
  boost::math::students_t_distribution<double> t(d.df);
  d.statistic = d.absolute / d.standard_error;
  d.p_value = 2 * boost::math::cdf(boost::math::complement(t, std::fabs(d.statistic)));
  const double q = boost::math::quantile(t, 0.5 + confidence / 2);
  d.ci = {d.absolute - q * d.standard_error, d.absolute + q * d.standard_error};
  Relative(m1, v1, m0, v0, NormalQuantile(0.5 + confidence / 2), &d);
  return d;
}

double SampleRatioMismatchP(std::span<const double> observed, std::span<const double> expected) {
  if (observed.size() < 2 || observed.size() != expected.size()) return 1;
  const double total = std::accumulate(observed.begin(), observed.end(), 0.0);
  const double weights = std::accumulate(expected.begin(), expected.end(), 0.0);
  if (total <= 0 || weights <= 0) return 1;
  double chi2 = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    const double e = total * expected[i] / weights;
    if (e <= 0) continue;
    chi2 += (observed[i] - e) * (observed[i] - e) / e;
  }
  boost::math::chi_squared_distribution<double> dist(static_cast<double>(observed.size() - 1));
  return boost::math::cdf(boost::math::complement(dist, chi2));
}

double ChanceToBeatControl(double x1, double n1, double x0, double n0) {
  boost::math::beta_distribution<double> b1(1 + x1, 1 + n1 - x1), b0(1 + x0, 1 + n0 - x0);
  // ∫ f0(p) · P(p1 > p) dp over where the posteriors have mass (Simpson's rule).
  const double m1 = boost::math::mean(b1), m0 = boost::math::mean(b0);
  const double s =
      std::max(boost::math::standard_deviation(b1), boost::math::standard_deviation(b0));
  const double lo = std::max(0.0, std::min(m1, m0) - 12 * s);
  const double hi = std::min(1.0, std::max(m1, m0) + 12 * s);
  const int steps = 4000;
  const double h = (hi - lo) / steps;
  double sum = 0;
  for (int i = 0; i <= steps; ++i) {
    const double p = std::clamp(lo + i * h, 0.0, 1.0);
    const double f = boost::math::pdf(b0, p) * boost::math::cdf(boost::math::complement(b1, p));
    sum += f * (i == 0 || i == steps ? 1 : (i % 2 == 1 ? 4 : 2));
  }
  return std::clamp(sum * h / 3, 0.0, 1.0);
}

double ChanceToBeatControl(const Difference& difference) {
  if (difference.standard_error <= 0) return difference.absolute > 0 ? 1 : 0;
  return boost::math::cdf(boost::math::normal_distribution<double>(),
                          difference.absolute / difference.standard_error);
}

double CupedTheta(std::span<const JointMoments> arms) {
  JointMoments all;
  for (const JointMoments& a : arms) {
    all.y.n += a.y.n;
    all.y.sum += a.y.sum;
    all.y.sum_sq += a.y.sum_sq;
    all.x.n += a.x.n;
    all.x.sum += a.x.sum;
    all.x.sum_sq += a.x.sum_sq;
    all.sum_xy += a.sum_xy;
  }
  const double var_x = all.x.variance();
  return var_x > 0 ? all.covariance() / var_x : 0;
}

Moments CupedAdjusted(const JointMoments& arm, double theta, double x_mean) {
  // y' = y - theta (x - x_mean), summed exactly from the arm's sums.
  Moments m;
  m.n = arm.y.n;
  const double shift = theta * x_mean;
  m.sum = arm.y.sum - theta * arm.x.sum + m.n * shift;
  m.sum_sq = arm.y.sum_sq + theta * theta * arm.x.sum_sq + m.n * shift * shift -
             2 * theta * arm.sum_xy + 2 * shift * arm.y.sum - 2 * theta * shift * arm.x.sum;
  return m;
}

Interval AlwaysValidInterval(double difference, double variance, double tau_sq, double alpha) {
  if (variance <= 0 || tau_sq <= 0) return {difference, difference};
  const double half = std::sqrt(variance * (variance + tau_sq) / tau_sq *
                                (std::log((variance + tau_sq) / variance) - 2 * std::log(alpha)));
  return {difference - half, difference + half};
}

double AlwaysValidPValue(double difference, double variance, double tau_sq) {
  if (variance <= 0 || tau_sq <= 0) return 1;
  const double log_lambda = 0.5 * std::log(variance / (variance + tau_sq)) +
                            tau_sq * difference * difference / (2 * variance * (variance + tau_sq));
  return std::min(1.0, std::exp(-log_lambda));
}

std::vector<double> HolmAdjust(std::span<const double> p) {
  const size_t m = p.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> out(m);
  double running = 0;
  for (size_t i = 0; i < m; ++i) {
    running = std::max(running, std::min(1.0, static_cast<double>(m - i) * p[order[i]]));
    out[order[i]] = running;
  }
  return out;
}

std::vector<double> BenjaminiHochbergAdjust(std::span<const double> p) {
  const size_t m = p.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> out(m);
  double running = 1;
  for (size_t i = m; i-- > 0;) {
    running = std::min(
        running, std::min(1.0, static_cast<double>(m) * p[order[i]] / static_cast<double>(i + 1)));
    out[order[i]] = running;
  }
  return out;
}

}  // namespace segmenta

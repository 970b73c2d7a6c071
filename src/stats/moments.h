// Sums over units (contacts) of a metric, and of a metric with a covariate: all that the
// tests and intervals of inference.h need, mergeable across partitions.
#pragma once

namespace segmenta {

struct Moments {
  double n = 0;
  double sum = 0;
  double sum_sq = 0;

  void Add(double x) {
    n += 1;
    sum += x;
    sum_sq += x * x;
  }
  double mean() const { return n > 0 ? sum / n : 0; }
  // The unbiased sample variance (0 below two units).
  double variance() const;
};

// A metric y with a covariate x measured before exposure (CUPED).
struct JointMoments {
  Moments y;
  Moments x;
  double sum_xy = 0;

  void Add(double y_value, double x_value) {
    y.Add(y_value);
    x.Add(x_value);
    sum_xy += y_value * x_value;
  }
  // The unbiased sample covariance of x and y.
  double covariance() const;
};

}  // namespace segmenta

#include "eval/aggregate_accumulators.h"

#include <cmath>

namespace segmenta {

AggregateAccumulators::AggregateAccumulators(Aggregate aggregate, size_t slots)
    : aggregate_(aggregate),
      numeric_(aggregate == Aggregate::kSum || aggregate == Aggregate::kAvg ||
               aggregate == Aggregate::kMin || aggregate == Aggregate::kMax),
      ordered_(aggregate == Aggregate::kFirst || aggregate == Aggregate::kLast),
      counts_(slots, 0),
      sums_(aggregate == Aggregate::kSum || aggregate == Aggregate::kAvg ? slots : 0, 0.0),
      extremes_(aggregate == Aggregate::kMin || aggregate == Aggregate::kMax ? slots : 0, 0.0),
      times_(ordered_ ? slots : 0, 0),
      refs_(ordered_ ? slots : 0, 0) {}

std::vector<double> AggregateAccumulators::Values(const RowBits* live) const {
  std::vector<double> values(counts_.size(), std::nan(""));
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (live != nullptr && !live->get(i)) continue;
    const uint32_t count = counts_[i];
    double& v = values[i];
    switch (aggregate_) {
      case Aggregate::kCount:
        v = static_cast<double>(count);
        break;
      case Aggregate::kSum:
        if (count) v = sums_[i];
        break;
      case Aggregate::kAvg:
        if (count) v = sums_[i] / static_cast<double>(count);
        break;
      case Aggregate::kMin:
      case Aggregate::kMax:
        if (count) v = extremes_[i];
        break;
      case Aggregate::kFirst:
      case Aggregate::kLast:
        if (count) v = static_cast<double>(times_[i]);
        break;
    }
  }
  return values;
}

std::shared_ptr<const SparseNumbers> AggregateAccumulators::Sparse(
    const std::vector<double>& values, const RowBits& live) const {
  size_t with_events = 0;
  for (uint32_t c : counts_) with_events += c != 0;
  if (with_events * 4 > counts_.size()) return nullptr;
  auto out = std::make_shared<SparseNumbers>();
  out->fill = std::nan("");
  out->rows.reserve(with_events);
  out->values.reserve(with_events);
  for (size_t c = 0; c < counts_.size(); ++c) {
    if (counts_[c] == 0) {
      if (live.get(c) && !std::isnan(values[c])) out->fill = values[c];  // a count: 0
      continue;
    }
    if (!live.get(c)) continue;
    out->rows.push_back(static_cast<uint32_t>(c));
    out->values.push_back(values[c]);
  }
  return out;
}

double AggregateAccumulators::EmptyValue(Aggregate aggregate) {
  return aggregate == Aggregate::kCount ? 0.0 : std::nan("");
}

ValueType AggregateAccumulators::NumberType(Aggregate aggregate) {
  return aggregate == Aggregate::kFirst || aggregate == Aggregate::kLast ? ValueType::kTime
                                                                         : ValueType::kNumber;
}

}  // namespace segmenta

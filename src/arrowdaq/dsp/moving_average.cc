#include "arrowdaq/dsp/moving_average.h"

#include <vector>

namespace arrowdaq::dsp {

template <typename T>
Result<MovingAverage<T>> MovingAverage<T>::Make(int window) {
  if (window < 1 || window > (1 << 24)) {
    return Status::Invalid("MovingAverage: window must be in [1, 2^24], got ", window);
  }
  ARROW_ASSIGN_OR_RAISE(auto fir, FirFilter<T>::Make(std::vector<double>(window, 1.0 / window)));
  return MovingAverage(std::move(fir));
}

template class MovingAverage<double>;
template class MovingAverage<float>;

}  // namespace arrowdaq::dsp

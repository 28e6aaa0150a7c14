#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace klp {

void parallel_for(size_t n, unsigned threads, const std::function<void(size_t)> &fn) {
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex mu;
  auto work = [&] {
    for (size_t i; (i = next++) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failure)
          failure = std::current_exception();
        next = n;
      }
    }
  };
  size_t count = std::min<size_t>(std::max(threads, 1u), n);
  std::vector<std::thread> workers;
  for (size_t t = 1; t < count; t++)
    workers.emplace_back(work);
  work();
  for (std::thread &t : workers)
    t.join();
  if (failure)
    std::rethrow_exception(failure);
}

} // namespace klp

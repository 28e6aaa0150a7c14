// Running independent work items on a few threads.
#pragma once

#include <cstddef>
#include <functional>

namespace klp {

// Calls fn(i) for every i in [0, n) on up to `threads` threads, the caller's among them; each
// thread takes the next item. After the first exception no new item starts, and it is rethrown
// once every thread has stopped.
void parallel_for(size_t n, unsigned threads, const std::function<void(size_t)> &fn);

} // namespace klp

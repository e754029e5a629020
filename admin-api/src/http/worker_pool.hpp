// A fixed set of threads running jobs from one bounded queue. try_post never blocks: a full queue is the
// caller's signal to shed the request (503), so an I/O thread never waits for a worker.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace chargehub::http::detail {

class WorkerPool {
 public:
  using Job = std::function<void()>;

  // `waiting` is the gauge of jobs not yet taken by a thread (ServerStats::queued).
  WorkerPool(int threads, size_t max_waiting, std::atomic<int64_t>& waiting)
      : max_waiting_(max_waiting), waiting_(waiting) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~WorkerPool() { stop(); }

  // False when max_waiting jobs already wait (running jobs do not count) or the pool is stopping.
  bool try_post(Job job) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || jobs_.size() >= max_waiting_) return false;
      jobs_.push_back(std::move(job));
      ++waiting_;
    }
    cv_.notify_one();
    return true;
  }

  // Lets running jobs finish, drops the waiting ones, joins the threads. Idempotent.
  void stop() {
    std::deque<Job> dropped;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      dropped.swap(jobs_);
      waiting_ -= static_cast<int64_t>(dropped.size());
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
    // `dropped` goes here, outside the lock: its jobs may own connections whose destructors take locks.
  }

 private:
  void run() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
        --waiting_;
      }
      job();
    }
  }

  size_t max_waiting_;
  std::atomic<int64_t>& waiting_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace chargehub::http::detail

#include "chargehub/sim/faults.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace chargehub::sim {

FaultRates parse_fault_rates(const std::string& spec) {
  FaultRates r;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("fault '" + item + "': expected name=value");
    std::string k = item.substr(0, eq);
    double v = std::stod(item.substr(eq + 1));
    if (k == "delay-ms" || k == "delay_ms") { r.delay_ms = static_cast<int64_t>(v); continue; }
    if (v < 0 || v > 1) throw std::invalid_argument("fault '" + k + "': a probability is 0..1");
    if (k == "drop") r.drop = v;
    else if (k == "dup" || k == "duplicate") r.duplicate = v;
    else if (k == "corrupt") r.corrupt = v;
    else if (k == "delay") r.delay = v;
    else if (k == "reorder") r.reorder = v;
    else throw std::invalid_argument("unknown fault '" + k + "' (drop dup corrupt delay reorder delay-ms)");
  }
  return r;
}

void FaultInjector::push(std::vector<uint8_t> frame, int64_t now_ms) {
  if (roll(rates_.drop)) { ++stats_.dropped; return; }
  if (roll(rates_.corrupt) && !frame.empty()) {
    ++stats_.corrupted;
    size_t i = std::uniform_int_distribution<size_t>(0, frame.size() - 1)(rng_);
    frame[i] ^= static_cast<uint8_t>(1u << std::uniform_int_distribution<int>(0, 7)(rng_));
  }
  int copies = roll(rates_.duplicate) ? 2 : 1;
  if (copies == 2) ++stats_.duplicated;
  if (roll(rates_.delay)) {
    ++stats_.delayed;
    for (int c = 0; c < copies; ++c) {
      Held h{now_ms + rates_.delay_ms, frame};
      auto it = std::upper_bound(held_.begin(), held_.end(), h.due, [](int64_t d, const Held& x) { return d < x.due; });
      held_.insert(it, std::move(h));
    }
    return;
  }
  if (!reorder_slot_ && roll(rates_.reorder)) {
    ++stats_.reordered;
    reorder_slot_ = Held{now_ms + rates_.delay_ms, frame};
    if (copies == 2) ready_.push_back(std::move(frame));
    return;
  }
  ++stats_.passed;
  for (int c = 0; c < copies; ++c) ready_.push_back(frame);
  if (reorder_slot_) {   // overtaken: the held frame goes right after
    ready_.push_back(std::move(reorder_slot_->bytes));
    reorder_slot_.reset();
  }
}

std::vector<std::vector<uint8_t>> FaultInjector::pop_ready(int64_t now_ms) {
  while (!held_.empty() && held_.front().due <= now_ms) {
    ready_.push_back(std::move(held_.front().bytes));
    held_.pop_front();
  }
  if (reorder_slot_ && reorder_slot_->due <= now_ms) {
    ready_.push_back(std::move(reorder_slot_->bytes));
    reorder_slot_.reset();
  }
  return std::exchange(ready_, {});
}

}  // namespace chargehub::sim

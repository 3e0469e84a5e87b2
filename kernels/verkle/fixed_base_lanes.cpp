// The lane fixed-base update (fixed_base_lanes.hpp): scalar recoding and the assignment of runs to
// lanes here, in portable code; the additions in fixed_base_lanes_impl.hpp, emulated here or
// through the AVX-512 unit (fixed_base_lanes_avx512.cpp).
#include "kernels/verkle/fixed_base_lanes.hpp"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "kernels/field/arith_dispatch.hpp"
#include "kernels/verkle/fixed_base.hpp"
#include "kernels/verkle/fixed_base_lanes_impl.hpp"

namespace arbor::verkle {
namespace {

using field::kLanes;
using lanes_detail::kEntryWords;
using lanes_detail::LaneAccumulators;
using lanes_detail::LanePoints;
using lanes_detail::LaneRound;

static_assert(lanes_detail::kMaxLaneWindows == fixed_base_detail::kMaxWindows);
static_assert(kFixedBaseRunsInFlight == kLanes * lanes_detail::kMaxGroups);
static_assert(sizeof(PrecomputedPoint) == kEntryWords * sizeof(std::uint64_t));

constexpr std::uint64_t kAllOnes = ~std::uint64_t{0};

void run_rounds(LaneImpl impl, int groups, const LaneRound* const* rounds,
                LaneAccumulators* const* states, LanePoints* const* outs) {
  using Emulated = lanes_detail::LaneFixedBase<field::EmulatedLanes>;
  if (impl == LaneImpl::kAvx512) {
    lanes_detail::run_rounds_avx512(groups, rounds, states, outs);
  } else if (groups == 2) {
    Emulated::run<2>(rounds, states, outs);
  } else {
    Emulated::run<1>(rounds, states, outs);
  }
}

// A lane's share of the work: deltas [begin, end), all of one target, summed into *into (the
// target itself for a run's first piece, a scratch point starting at the identity for the others).
struct Piece {
  std::size_t begin = 0;
  std::size_t end = 0;
  Point* into = nullptr;
};

// Cuts the runs of equal target into pieces of at most max(kMinPiece, deltas / runs in flight)
// deltas, so that one long run (a node many of whose children changed) does not keep a single
// lane busy while the others idle. `scratch` receives the extra pieces' sums, `folds` says which
// target each one is added to afterwards (in order).
constexpr std::size_t kMinPiece = 4;  // each extra piece costs one point addition, ~10 products
std::vector<Piece> cut_pieces(std::span<Point> commitments, std::span<const CommitmentDelta> deltas,
                              std::vector<Point>& scratch,
                              std::vector<std::pair<std::size_t, std::uint32_t>>& folds) {
  const std::size_t longest =
      std::max(kMinPiece, (deltas.size() + kFixedBaseRunsInFlight - 1) / kFixedBaseRunsInFlight);
  std::vector<Piece> pieces;
  std::size_t extra = 0;
  for (std::size_t begin = 0; begin < deltas.size();) {
    std::size_t end = begin + 1;
    while (end < deltas.size() && deltas[end].target == deltas[begin].target) ++end;
    extra += (end - begin - 1) / longest;
    begin = end;
  }
  scratch.assign(extra, Point::identity());  // not resized below: pointers into it stay valid
  std::size_t next_scratch = 0;
  for (std::size_t begin = 0; begin < deltas.size();) {
    std::size_t end = begin + 1;
    while (end < deltas.size() && deltas[end].target == deltas[begin].target) ++end;
    const std::uint32_t target = deltas[begin].target;
    const std::size_t parts = (end - begin + longest - 1) / longest;
    for (std::size_t k = 0; k < parts; ++k) {
      // Near-equal parts rather than full ones and a short last one.
      const std::size_t from = begin + (end - begin) * k / parts;
      const std::size_t to = begin + (end - begin) * (k + 1) / parts;
      Point* into = &commitments[target];
      if (k > 0) {
        folds.emplace_back(next_scratch, target);
        into = &scratch[next_scratch++];
      }
      pieces.push_back(Piece{from, to, into});
    }
    begin = end;
  }
  return pieces;
}

// A lane's progress through its piece.
struct LaneRun {
  std::size_t next = 0;
  std::size_t end = 0;
  Point* into = nullptr;
  bool active = false;
};

class RoundPlanner {
 public:
  explicit RoundPlanner(const PedersenTables& tables)
      : window_bits_(tables.window_bits()),
        half_(tables.entries_per_window()),
        per_generator_(static_cast<std::size_t>(tables.windows()) * tables.entries_per_window()) {
    round_->table = reinterpret_cast<const std::uint64_t*>(tables.lane_entries().data());
    round_->windows = tables.windows();
  }

  LaneRound& round() { return *round_; }

  // Lane `lane` adds scalar * G_generator this round: signed digits as fixed_base_accumulate's.
  void plan(int lane, std::uint32_t generator, const Fr& scalar) {
    using namespace fixed_base_detail;
    std::uint64_t e[4];
    to_canonical_limbs(scalar, e);
    std::uint64_t carry = 0;
    const std::size_t base = generator * per_generator_;
    for (int j = 0; j < round_->windows; ++j) {
      std::uint64_t negative = 0;
      const std::uint64_t d = recode_digit(
          window_bits_at(e, j * window_bits_, window_bits_) + carry, half_, negative, carry);
      // A zero digit still names an entry in range (the window's first), whose sum is dropped.
      const std::size_t entry = base + static_cast<std::size_t>(j) * half_ + (d != 0 ? d - 1 : 0);
      round_->entry[j][lane] = entry * kEntryWords;
      round_->negate[j][lane] = negative != 0 ? kAllOnes : 0;
      round_->skip[j][lane] = d == 0 ? kAllOnes : 0;
    }
  }

  // Lane `lane` does nothing this round.
  void idle(int lane) {
    for (int j = 0; j < round_->windows; ++j) {
      round_->entry[j][lane] = 0;
      round_->negate[j][lane] = 0;
      round_->skip[j][lane] = kAllOnes;
    }
  }

  void start_from(int lane, const Point* p) {
    round_->start[lane] = p != nullptr ? kAllOnes : 0;
    if (p == nullptr) return;
    const Fp* coordinates[4] = {&p->X, &p->Y, &p->T, &p->Z};
    for (int c = 0; c < 4; ++c) {
      for (int w = 0; w < 4; ++w) round_->start_point[c][w][lane] = coordinates[c]->limb[w];
    }
  }

 private:
  int window_bits_;
  std::uint64_t half_;
  std::size_t per_generator_;
  // About 25 KiB: on the heap rather than a worker thread's stack.
  std::unique_ptr<LaneRound> round_ = std::make_unique<LaneRound>();
};

Point lane_point(const LanePoints& out, int lane) {
  Point p;
  Fp* coordinates[4] = {&p.X, &p.Y, &p.T, &p.Z};
  for (int c = 0; c < 4; ++c) {
    for (int w = 0; w < 4; ++w) coordinates[c]->limb[w] = out.word[c][w][lane];
  }
  return p;
}

}  // namespace

void fixed_base_update_lanes(const PedersenTables& tables, std::span<Point> commitments,
                             std::span<const CommitmentDelta> deltas, LaneImpl impl) {
  if (impl == LaneImpl::kAvx512)
    field::lanes_detail::require_avx512_ifma("fixed_base_update_lanes");
  if (deltas.empty()) return;
  constexpr int kGroups = lanes_detail::kMaxGroups;
  struct Group {
    explicit Group(const PedersenTables& tables) : planner(tables) {}
    RoundPlanner planner;
    std::unique_ptr<LaneAccumulators> state = std::make_unique<LaneAccumulators>();
    LanePoints out;
    LaneRun runs[kLanes];
  };
  std::vector<Point> scratch;
  std::vector<std::pair<std::size_t, std::uint32_t>> folds;
  const std::vector<Piece> pieces = cut_pieces(commitments, deltas, scratch, folds);
  std::vector<std::unique_ptr<Group>> groups;
  for (int g = 0; g < kGroups; ++g) groups.push_back(std::make_unique<Group>(tables));
  std::size_t unassigned = 0;
  for (;;) {
    // Idle lanes take the next piece; a group with no busy lane sits the round out.
    const LaneRound* rounds[kGroups];
    LaneAccumulators* states[kGroups];
    LanePoints* outs[kGroups];
    int busy_groups = 0;
    for (const std::unique_ptr<Group>& group : groups) {
      bool busy = false;
      for (int lane = 0; lane < kLanes; ++lane) {
        LaneRun& run = group->runs[lane];
        const Point* start = nullptr;
        if (!run.active && unassigned < pieces.size()) {
          const Piece& piece = pieces[unassigned++];
          run = LaneRun{piece.begin, piece.end, piece.into, true};
          start = piece.into;
        }
        group->planner.start_from(lane, start);
        if (run.active) {
          group->planner.plan(lane, deltas[run.next].generator, deltas[run.next].scalar);
          busy = true;
        } else {
          group->planner.idle(lane);
        }
      }
      if (!busy) continue;
      rounds[busy_groups] = &group->planner.round();
      states[busy_groups] = group->state.get();
      outs[busy_groups] = &group->out;
      ++busy_groups;
    }
    if (busy_groups == 0) break;
    run_rounds(impl, busy_groups, rounds, states, outs);
    for (const std::unique_ptr<Group>& group : groups) {
      for (int lane = 0; lane < kLanes; ++lane) {
        LaneRun& run = group->runs[lane];
        if (!run.active || ++run.next < run.end) continue;
        *run.into = lane_point(group->out, lane);
        run.active = false;
      }
    }
  }
  field::with_fastest_arith([&]<class Arith>() {
    for (const auto& [from, target] : folds) {
      commitments[target] = add<Arith>(commitments[target], scratch[from]);
    }
  });
}

}  // namespace arbor::verkle

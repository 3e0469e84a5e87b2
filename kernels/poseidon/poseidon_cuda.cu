#include <atomic>
#include <cstdint>

#include "kernels/poseidon/poseidon_cuda.hpp"
#include "kernels/poseidon/poseidon_params.hpp"

namespace arbor::poseidon {
namespace {

// Wide states keep 4*T 64-bit limbs live per thread; 128 threads keeps occupancy without spills.
constexpr int kThreadsPerBlock = 128;
// Widths up to this get a kernel of their own (the SMT hashes t = 3 nodes and t = 4 leaves);
// wider ones share the run-time-width kernel.
constexpr int kWidestSpecialised = 6;

// PoseidonLayout::for_width(T) at compile time, for the constant-memory widths. The partial round
// counts repeat partial_rounds_for_width (poseidon_params.cpp); upload_poseidon_constants checks
// the two agree before anything reads these tables.
template <int T>
struct ConstantLayout {
  static_assert(T >= kMinWidth && T <= kMaxConstantMemoryWidth);
  static constexpr int kHalf = kFullRounds / 2;
  static constexpr int kPartialRounds = T == 3 ? 57 : 56;
  static constexpr int kFirstFull = 0;
  static constexpr int kPartial = kFirstFull + kHalf * T;
  static constexpr int kSecondFull = kPartial + kPartialRounds;
  static constexpr int kMds = kSecondFull + kHalf * T;
  static constexpr int kPreSparse = kMds + T * T;
  static constexpr int kSparse = kPreSparse + T * T;
  static constexpr int kTotal = kSparse + kPartialRounds * (2 * T - 1);
};

__constant__ Fr g_constants_t2[ConstantLayout<2>::kTotal];
__constant__ Fr g_constants_t3[ConstantLayout<3>::kTotal];
__constant__ Fr g_constants_t4[ConstantLayout<4>::kTotal];
static_assert((ConstantLayout<2>::kTotal + ConstantLayout<3>::kTotal + ConstantLayout<4>::kTotal) *
                      sizeof(Fr) <=
                  60 * 1024,
              "the constant bank holds 64 KiB");

// Per width, a bit per device whose constant memory holds the width's tables.
constexpr int kMaxTrackedDevices = 64;
std::atomic<std::uint64_t> g_uploaded[kMaxConstantMemoryWidth + 1];

const void* constant_symbol(int t) {
  switch (t) {
    case 2:
      return &g_constants_t2;
    case 3:
      return &g_constants_t3;
    default:
      return &g_constants_t4;
  }
}

bool layout_matches(const PoseidonLayout& l, int total, int partial_rounds, int t) {
  constexpr std::size_t kHalf = kFullRounds / 2;
  const auto ut = static_cast<std::size_t>(t);
  const auto rp = static_cast<std::size_t>(partial_rounds);
  return l.width == t && l.rounds_partial == partial_rounds && l.first_full == 0 &&
         l.partial == kHalf * ut && l.second_full == l.partial + rp &&
         l.mds == l.second_full + kHalf * ut && l.pre_sparse == l.mds + ut * ut &&
         l.sparse == l.pre_sparse + ut * ut && l.sparse + rp * (2 * ut - 1) == l.total &&
         l.total == static_cast<std::size_t>(total);
}

bool uploaded_on_current_device(int t) {
  if (t < kMinWidth || t > kMaxConstantMemoryWidth) return false;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxTrackedDevices) {
    return false;
  }
  return (g_uploaded[t].load(std::memory_order_acquire) >> device) & 1;
}

// The tables of a constant-memory width, at compile-time offsets into its __constant__ array.
template <int T>
__device__ PoseidonTables constant_tables() {
  using L = ConstantLayout<T>;
  const Fr* base;
  if constexpr (T == 2) {
    base = g_constants_t2;
  } else if constexpr (T == 3) {
    base = g_constants_t3;
  } else {
    base = g_constants_t4;
  }
  return PoseidonTables{base + L::kFirstFull,
                        base + L::kPartial,
                        base + L::kSecondFull,
                        base + L::kMds,
                        base + L::kPreSparse,
                        base + L::kSparse,
                        T,
                        L::kPartialRounds};
}

template <int T, bool kConstantMemory>
__global__ void __launch_bounds__(kThreadsPerBlock)
    poseidon_hash_kernel(PoseidonTables global_tables, const Fr* __restrict__ in,
                         Fr* __restrict__ out, std::size_t count) {
  PoseidonTables tables = global_tables;
  if constexpr (kConstantMemory) tables = constant_tables<T>();
  const int t = runtime_width<T>(tables);
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    Fr state[kStateCapacity<T>];
    state[0] = Fr::zero();
    ARBOR_UNROLL_STATE
    for (int j = 1; j < t; ++j) state[j] = in[i * (t - 1) + (j - 1)];
    permute<T>(state, tables);
    out[i] = state[0];
  }
}

}  // namespace

cudaError_t upload_poseidon_constants(const PoseidonParams& params) {
  const int t = params.width;
  if (t < kMinWidth || t > kMaxConstantMemoryWidth) return cudaSuccess;
  if (uploaded_on_current_device(t)) return cudaSuccess;
  int device = 0;
  if (cudaError_t e = cudaGetDevice(&device); e != cudaSuccess) return e;
  if (device < 0 || device >= kMaxTrackedDevices) return cudaErrorInvalidDevice;
  const int total = t == 2   ? ConstantLayout<2>::kTotal
                    : t == 3 ? ConstantLayout<3>::kTotal
                             : ConstantLayout<4>::kTotal;
  const int partial = t == 2   ? ConstantLayout<2>::kPartialRounds
                      : t == 3 ? ConstantLayout<3>::kPartialRounds
                               : ConstantLayout<4>::kPartialRounds;
  if (!layout_matches(params.layout, total, partial, t) ||
      params.optimized.size() != static_cast<std::size_t>(total)) {
    return cudaErrorInvalidValue;
  }
  if (cudaError_t e = cudaMemcpyToSymbol(constant_symbol(t), params.optimized.data(),
                                         params.optimized.size() * sizeof(Fr));
      e != cudaSuccess) {
    return e;
  }
  // The lanes' non-blocking streams do not wait for the legacy stream the copy went on.
  if (cudaError_t e = cudaDeviceSynchronize(); e != cudaSuccess) return e;
  g_uploaded[t].fetch_or(std::uint64_t{1} << device, std::memory_order_acq_rel);
  return cudaSuccess;
}

cudaError_t launch_poseidon_hash(int t, const PoseidonTables& device_tables, const Fr* in, Fr* out,
                                 std::size_t count, cudaStream_t stream) {
  if (t < kMinWidth || t > kMaxWidth || t != device_tables.width) return cudaErrorInvalidValue;
  if (count == 0) return cudaSuccess;
  const std::size_t blocks_needed = (count + kThreadsPerBlock - 1) / kThreadsPerBlock;
  // Grid-stride loop: cap the grid, the loop covers the rest.
  const auto blocks =
      static_cast<unsigned>(blocks_needed < (1u << 20) ? blocks_needed : (1u << 20));
  if (t <= kMaxConstantMemoryWidth && !uploaded_on_current_device(t)) {
    // First use without the caller's upload: do it here (a synchronous copy, once per device).
    if (cudaError_t e = upload_poseidon_constants(poseidon_params(t)); e != cudaSuccess) return e;
    if (!uploaded_on_current_device(t)) return cudaErrorInvalidDevice;  // device id beyond 63
  }
  auto launch = [&]<int T>() {
    constexpr bool kConstantMemory = T > 0 && T <= kMaxConstantMemoryWidth;
    poseidon_hash_kernel<T, kConstantMemory>
        <<<blocks, kThreadsPerBlock, 0, stream>>>(device_tables, in, out, count);
  };
  // An error left pending by earlier, already handled work (a failed allocation, say) would
  // otherwise be reported as this launch's.
  (void)cudaGetLastError();
  static_assert(kWidestSpecialised == 6, "the switch below lists the specialised widths");
  switch (t) {
    case 2:
      launch.template operator()<2>();
      break;
    case 3:
      launch.template operator()<3>();
      break;
    case 4:
      launch.template operator()<4>();
      break;
    case 5:
      launch.template operator()<5>();
      break;
    case 6:
      launch.template operator()<6>();
      break;
    default:
      launch.template operator()<0>();
      break;
  }
  return cudaGetLastError();
}

}  // namespace arbor::poseidon

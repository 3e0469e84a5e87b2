// arbor_soak: mixed load on arbord with a SIGKILL about every 30 s, every acknowledged write
// checked (soak_run.hpp says what). Exit 0: every check held; 1: one failed; 2: bad usage.
#include <iostream>

#include "tests/crash/soak/soak_options.hpp"
#include "tests/crash/soak/soak_run.hpp"

int main(int argc, char** argv) {
  absl::StatusOr<arbor::soak::SoakOptions> options = arbor::soak::parse_soak_options(argc, argv);
  if (absl::IsNotFound(options.status())) {
    std::cout << arbor::soak::kUsage;
    return 0;
  }
  if (!options.ok()) {
    std::cerr << "arbor_soak: " << options.status().message() << "\n" << arbor::soak::kUsage;
    return 2;
  }
  return arbor::soak::run_soak(*options);
}

#include "tests/crash/soak/soak_keys.hpp"

#include <map>
#include <set>

#include "rpc/server/wire.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/verkle_keys.hpp"

namespace arbor::soak {
namespace {

class SmtKeys final : public KeySpace {
 public:
  std::string new_key(std::mt19937_64& rng) override {
    while (true) {
      std::string key = rpc::field_to_wire(testing::random_fr(rng));
      if (taken_.insert(key).second) return key;
    }
  }
  std::string new_value(std::mt19937_64& rng) override {
    return rpc::field_to_wire(testing::random_fr(rng));
  }
  bool deletable(const std::string&) const override { return true; }

 private:
  std::set<std::string> taken_;
};

class VerkleKeys final : public KeySpace {
 public:
  std::string new_key(std::mt19937_64& rng) override {
    while (true) {
      verkle::Key32 key = draw(rng);
      std::string wire(verkle::as_view(key));
      if (taken_.count(wire) > 0) continue;
      const std::string stem = wire.substr(0, 31);
      auto anchor = anchors_.find(stem);
      if (anchor == anchors_.end()) {
        anchors_.emplace(stem, Anchor{wire, false});
      } else if (!anchor->second.acknowledged) {
        continue;  // the stem may not exist yet: a key on it could later be its only one
      }
      taken_.insert(wire);
      recent_.push_back(key);
      if (recent_.size() > 16) recent_.erase(recent_.begin());
      return wire;
    }
  }
  std::string new_value(std::mt19937_64& rng) override {
    std::string value(32, '\0');
    for (char& c : value) c = static_cast<char>(rng());
    return value;
  }
  bool deletable(const std::string& key) const override {
    auto anchor = anchors_.find(key.substr(0, 31));
    return anchor != anchors_.end() && anchor->second.key != key;
  }
  void acknowledged(const std::vector<crash::Mutation>& ops) override {
    for (const crash::Mutation& op : ops) {
      auto anchor = anchors_.find(op.key.substr(0, 31));
      if (anchor != anchors_.end() && anchor->second.key == op.key && op.value) {
        anchor->second.acknowledged = true;
      }
    }
  }

 private:
  struct Anchor {
    std::string key;
    bool acknowledged = false;
  };

  // Near this writer's recent keys now and then (shared first bytes: deep leaves and splits;
  // a shared stem: several values on one leaf).
  verkle::Key32 draw(std::mt19937_64& rng) const {
    verkle::Key32 key = testing::random_verkle_key(rng, recent_, 2);
    if (!recent_.empty() && rng() % 3 == 0) {
      std::copy_n(recent_[rng() % recent_.size()].begin(), 31, key.begin());
    }
    return key;
  }

  std::set<std::string> taken_;
  std::map<std::string, Anchor> anchors_;  // by stem
  std::vector<verkle::Key32> recent_;
};

}  // namespace

std::unique_ptr<KeySpace> make_key_space(std::string_view scheme) {
  if (scheme == "verkle") return std::make_unique<VerkleKeys>();
  return std::make_unique<SmtKeys>();
}

}  // namespace arbor::soak

#pragma once
// KVM user memory slots mirroring GuestMemory: one slot per host-backed
// segment (RAM writable, ROM read-only so guest writes exit as MMIO).
// Everything else (MMIO, holes, unaligned edges) has no slot, so the guest
// reaches it through KVM_EXIT_MMIO.

#include <cstdint>
#include <mutex>
#include <vector>

namespace sable {
class GuestMemory;
}

namespace sable::kvm {

class KvmMemorySlots {
public:
  KvmMemorySlots(int vm_fd, unsigned max_slots)
      : vm_fd_(vm_fd), max_slots_(max_slots) {}

  // Brings the slots in line with memory.segments(); call after every
  // layout change. Safe from any thread.
  void sync(const GuestMemory &memory);

  struct Slot {
    uint32_t id;
    uint64_t gpa;
    uint64_t size;
    uint8_t *host;
    bool read_only;
    bool operator==(const Slot &o) const {
      return gpa == o.gpa && size == o.size && host == o.host &&
             read_only == o.read_only;
    }
  };
  std::vector<Slot> slots() const;

private:
  void set_region(const Slot &slot, uint64_t size);

  int vm_fd_;
  unsigned max_slots_;
  mutable std::mutex lock_;
  std::vector<Slot> slots_;
};

} // namespace sable::kvm

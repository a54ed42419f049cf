#include "accel/kvm_memory.h"

#include <algorithm>
#include <stdexcept>

#include <linux/kvm.h>

#include "accel/kvm_system.h"
#include "machine/memory.h"

namespace sable::kvm {

namespace {
constexpr uint64_t kPageMask = 0xfff;

std::vector<KvmMemorySlots::Slot> wanted_slots(const GuestMemory &memory) {
  std::vector<KvmMemorySlots::Slot> wanted;
  for (const GuestMemory::Segment &segment : memory.segments()) {
    if (!segment.host || segment.kind == GuestMemory::Kind::Mmio)
      continue;
    // KVM maps whole pages; partial pages at the edges stay MMIO exits,
    // which GuestMemory::read/write serve from the same host memory.
    uint64_t start = (segment.base + kPageMask) & ~kPageMask;
    uint64_t end = (segment.base + segment.length) & ~kPageMask;
    if (end <= start)
      continue;
    uint8_t *host = segment.host + (start - segment.base);
    if (reinterpret_cast<uintptr_t>(host) & kPageMask)
      continue;
    wanted.push_back(
        {0, start, end - start, host, segment.kind == GuestMemory::Kind::Rom});
  }
  return wanted;
}
} // namespace

void KvmMemorySlots::set_region(const Slot &slot, uint64_t size) {
  kvm_userspace_memory_region region{};
  region.slot = slot.id;
  region.flags = slot.read_only ? KVM_MEM_READONLY : 0;
  region.guest_phys_addr = slot.gpa;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(slot.host);
  checked_ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &region,
                "KVM_SET_USER_MEMORY_REGION");
}

void KvmMemorySlots::sync(const GuestMemory &memory) {
  std::vector<Slot> wanted = wanted_slots(memory);
  std::lock_guard guard(lock_);
  // Remove first: KVM refuses overlapping slots.
  std::vector<Slot> kept;
  for (const Slot &slot : slots_) {
    if (std::find(wanted.begin(), wanted.end(), slot) != wanted.end())
      kept.push_back(slot);
    else
      set_region(slot, 0);
  }
  slots_ = std::move(kept);
  for (Slot slot : wanted) {
    if (std::find(slots_.begin(), slots_.end(), slot) != slots_.end())
      continue;
    uint32_t id = 0;
    while (std::any_of(slots_.begin(), slots_.end(),
                       [id](const Slot &s) { return s.id == id; }))
      ++id;
    if (id >= max_slots_)
      throw std::runtime_error("KVM: more memory regions than the " +
                               std::to_string(max_slots_) +
                               " memory slots KVM offers");
    slot.id = id;
    set_region(slot, slot.size);
    slots_.push_back(slot);
  }
}

std::vector<KvmMemorySlots::Slot> KvmMemorySlots::slots() const {
  std::lock_guard guard(lock_);
  return slots_;
}

} // namespace sable::kvm

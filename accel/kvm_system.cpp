#include "accel/kvm_system.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cpu/cpuid.h"

namespace sable::kvm {

namespace {
constexpr int kExpectedApiVersion = 12;

std::string open_error(const std::string &device, int error) {
  switch (error) {
  case ENOENT:
    return "KVM is not available: " + device +
           " does not exist (is the kvm module loaded?)";
  case EACCES:
  case EPERM:
    return "KVM is not available: no permission to open " + device +
           " (is the user in the kvm group?)";
  default:
    return "KVM is not available: cannot open " + device + ": " +
           std::strerror(error);
  }
}
} // namespace

UniqueFd::~UniqueFd() {
  if (fd_ >= 0)
    close(fd_);
}

UniqueFd &UniqueFd::operator=(UniqueFd &&other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      close(fd_);
    fd_ = other.release();
  }
  return *this;
}

int checked_ioctl(int fd, unsigned long request, void *arg, const char *what) {
  int result;
  do
    result = ioctl(fd, request, arg);
  while (result < 0 && errno == EINTR);
  if (result < 0)
    throw std::runtime_error(std::string(what) +
                             " failed: " + std::strerror(errno));
  return result;
}

int checked_ioctl(int fd, unsigned long request, unsigned long arg,
                  const char *what) {
  return checked_ioctl(fd, request, reinterpret_cast<void *>(arg), what);
}

KvmSystem::KvmSystem(const std::string &device) {
  int fd = open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error(open_error(device, errno));
  fd_ = UniqueFd(fd);

  int version = ioctl(fd, KVM_GET_API_VERSION, 0);
  if (version < 0)
    throw std::runtime_error("KVM is not available: " + device +
                             " is not a KVM device (KVM_GET_API_VERSION: " +
                             std::strerror(errno) + ")");
  if (version != kExpectedApiVersion)
    throw std::runtime_error("KVM API version " + std::to_string(version) +
                             " is not supported (expected 12)");

  int mmap_size =
      checked_ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0ul, "KVM_GET_VCPU_MMAP_SIZE");
  vcpu_mmap_size_ = static_cast<size_t>(mmap_size);

  require(KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID");
  // KVM says how many entries it needs only by failing with E2BIG.
  for (unsigned entries = 128;; entries *= 2) {
    FlexArray<kvm_cpuid_entry2> cpuid(c_abi::kCpuidHeader, entries);
    if (ioctl(fd, c_abi::GET_SUPPORTED_CPUID, cpuid.data()) == 0) {
      supported_cpuid_.assign(cpuid.entries(), cpuid.entries() + cpuid.count());
      break;
    }
    if (errno != E2BIG || entries >= 4096)
      throw std::runtime_error(std::string("KVM_GET_SUPPORTED_CPUID failed: ") +
                               std::strerror(errno));
  }

  FlexArray<uint32_t> probe(c_abi::kMsrListHeader, 0);
  if (ioctl(fd, c_abi::GET_MSR_INDEX_LIST, probe.data()) < 0 && errno != E2BIG)
    throw std::runtime_error(std::string("KVM_GET_MSR_INDEX_LIST failed: ") +
                             std::strerror(errno));
  FlexArray<uint32_t> list(c_abi::kMsrListHeader, probe.count());
  checked_ioctl(fd, c_abi::GET_MSR_INDEX_LIST, list.data(),
                "KVM_GET_MSR_INDEX_LIST");
  msr_indices_.assign(list.entries(), list.entries() + list.count());
}

int KvmSystem::extension(int capability) const {
  int result = ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
  return result < 0 ? 0 : result;
}

void KvmSystem::require(int capability, const char *name) const {
  if (extension(capability) <= 0)
    throw std::runtime_error(std::string("KVM lacks the required capability ") +
                             name);
}

namespace {

constexpr uint32_t kLeafFeatures = 1, kLeafCacheParameters = 4,
                   kLeafTopology = 0xb, kLeafTopologyV2 = 0x1f,
                   kLeafKvmSignature = 0x40000000,
                   kLeafKvmFeatures = 0x40000001;

// Leaf 0xB (and 0x1F) as one package of `count` cores with one thread
// each (Intel SDM, CPUID leaf 0BH): an SMT level, a core level, then an
// invalid level ending the list. EDX of every subleaf is the x2APIC ID.
void add_topology(std::vector<kvm_cpuid_entry2> &table, uint32_t leaf,
                  unsigned index, unsigned count) {
  constexpr uint32_t kLevelSmt = 1, kLevelCore = 2;
  uint32_t core_bits = cpu::core_id_bits(count);
  struct Level {
    uint32_t shift, processors, type;
  };
  const Level levels[] = {
      {0, 1, kLevelSmt}, {core_bits, count, kLevelCore}, {0, 0, 0}};
  for (uint32_t sub = 0; sub < 3; ++sub) {
    kvm_cpuid_entry2 entry{};
    entry.function = leaf;
    entry.index = sub;
    entry.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    entry.eax = levels[sub].shift;
    entry.ebx = levels[sub].processors;
    entry.ecx = levels[sub].type << 8 | sub;
    entry.edx = index;
    table.push_back(entry);
  }
}

} // namespace

std::vector<kvm_cpuid_entry2>
guest_cpuid(const std::vector<kvm_cpuid_entry2> &supported, unsigned index,
            unsigned count, bool in_kernel_apic) {
  constexpr uint32_t kEcxX2Apic = 1u << 21, kEcxTscDeadline = 1u << 24,
                     kEcxHypervisor = 1u << 31, kEdxHtt = 1u << 28;
  constexpr uint32_t kKvmClock = 1u << 0, kKvmNopIoDelay = 1u << 1,
                     kKvmClock2 = 1u << 3, kKvmPvEoi = 1u << 6,
                     kKvmClockStable = 1u << 24;
  constexpr unsigned kMaxCoresField = 64; // CPUID.4:EAX[31:26] + 1
  count = std::max(count, 1u);
  // Leaves 1 and 4 count addressable IDs, a power of two.
  unsigned addressable = 1u << cpu::core_id_bits(count);

  std::vector<kvm_cpuid_entry2> table;
  bool has_topology = false, has_topology_v2 = false;
  for (const kvm_cpuid_entry2 &entry : supported) {
    if (entry.function == kLeafTopology)
      has_topology = true;
    else if (entry.function == kLeafTopologyV2)
      has_topology_v2 = true;
    else if (entry.function < kLeafKvmSignature ||
             entry.function > kLeafKvmFeatures)
      table.push_back(entry);
  }

  for (kvm_cpuid_entry2 &entry : table) {
    if (entry.function == kLeafFeatures) {
      entry.ebx = (entry.ebx & 0xffff) | addressable << 16 | index << 24;
      entry.ecx |= kEcxHypervisor;
      if (!in_kernel_apic)
        entry.ecx &= ~(kEcxX2Apic | kEcxTscDeadline);
      if (count > 1)
        entry.edx |= kEdxHtt;
    } else if (entry.function == kLeafCacheParameters) {
      entry.eax = (entry.eax & 0x03ffffff) |
                  (std::min(addressable, kMaxCoresField) - 1) << 26;
    }
  }
  if (has_topology)
    add_topology(table, kLeafTopology, index, count);
  if (has_topology_v2)
    add_topology(table, kLeafTopologyV2, index, count);

  kvm_cpuid_entry2 signature{};
  signature.function = kLeafKvmSignature;
  signature.eax = kLeafKvmFeatures;
  std::memcpy(&signature.ebx, "KVMK", 4);
  std::memcpy(&signature.ecx, "VMKV", 4);
  std::memcpy(&signature.edx, "M\0\0\0", 4);
  table.push_back(signature);

  uint32_t offered = 0;
  for (const kvm_cpuid_entry2 &entry : supported)
    if (entry.function == kLeafKvmFeatures)
      offered = entry.eax;
  uint32_t wanted = kKvmClock | kKvmNopIoDelay | kKvmClock2 | kKvmClockStable |
                    (in_kernel_apic ? kKvmPvEoi : 0);
  kvm_cpuid_entry2 features{};
  features.function = kLeafKvmFeatures;
  features.eax = offered & wanted;
  table.push_back(features);
  return table;
}

bool kvm_usable(std::string &reason) {
  try {
    KvmSystem system;
    return true;
  } catch (const std::runtime_error &error) {
    reason = error.what();
    return false;
  }
}

} // namespace sable::kvm

#pragma once
// The host side of KVM: /dev/kvm, its API version and capabilities, and
// the lists KVM reports about itself (supported CPUID, saved MSRs). Every
// failure is a std::runtime_error with a one-line message the command line
// can show as it is.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <linux/kvm.h>

namespace sable::kvm {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd &&other) noexcept : fd_(other.release()) {}
  UniqueFd &operator=(UniqueFd &&other) noexcept;
  UniqueFd(const UniqueFd &) = delete;
  UniqueFd &operator=(const UniqueFd &) = delete;

  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

private:
  int fd_ = -1;
};

// linux/kvm.h declares its variable-length arrays behind an empty struct,
// which C++ (unlike C) sizes as one byte: in C++ the arrays move and the
// sizes encoded in the ioctl numbers change. The kernel expects C's
// layout, so these structures are built as FlexArray with C's numbers.
namespace c_abi {
constexpr unsigned long with_size(unsigned long request, unsigned long size) {
  return (request &
          ~(static_cast<unsigned long>(_IOC_SIZEMASK) << _IOC_SIZESHIFT)) |
         size << _IOC_SIZESHIFT;
}
constexpr size_t kCpuidHeader = 8;    // nent, padding
constexpr size_t kMsrsHeader = 8;     // nmsrs, pad
constexpr size_t kMsrListHeader = 4;  // nmsrs
constexpr size_t kRoutingHeader = 8;  // nr, flags
constexpr size_t kXsaveRegion = 4096; // region[1024]
constexpr unsigned long GET_SUPPORTED_CPUID =
    with_size(KVM_GET_SUPPORTED_CPUID, kCpuidHeader);
constexpr unsigned long SET_CPUID2 = with_size(KVM_SET_CPUID2, kCpuidHeader);
constexpr unsigned long GET_MSRS = with_size(KVM_GET_MSRS, kMsrsHeader);
constexpr unsigned long SET_MSRS = with_size(KVM_SET_MSRS, kMsrsHeader);
constexpr unsigned long GET_MSR_INDEX_LIST =
    with_size(KVM_GET_MSR_INDEX_LIST, kMsrListHeader);
constexpr unsigned long SET_GSI_ROUTING =
    with_size(KVM_SET_GSI_ROUTING, kRoutingHeader);
constexpr unsigned long GET_XSAVE = with_size(KVM_GET_XSAVE, kXsaveRegion);
constexpr unsigned long GET_XSAVE2 = with_size(KVM_GET_XSAVE2, kXsaveRegion);
constexpr unsigned long SET_XSAVE = with_size(KVM_SET_XSAVE, kXsaveRegion);
} // namespace c_abi

// A 32-bit count at offset 0, then `header` bytes in, an array of Entry:
// the C layout of kvm_cpuid2, kvm_msrs, kvm_msr_list and kvm_irq_routing.
template <typename Entry> class FlexArray {
public:
  FlexArray(size_t header, size_t count)
      : header_(header), buffer_(header + count * sizeof(Entry)) {
    set_count(static_cast<uint32_t>(count));
  }
  void *data() { return buffer_.data(); }
  uint32_t count() const {
    uint32_t count;
    std::memcpy(&count, buffer_.data(), sizeof count);
    return count;
  }
  void set_count(uint32_t count) {
    std::memcpy(buffer_.data(), &count, sizeof count);
  }
  Entry *entries() { return reinterpret_cast<Entry *>(&buffer_[header_]); }

private:
  size_t header_;
  std::vector<uint8_t> buffer_;
};

// ioctl that retries on EINTR and throws "<what> failed: <errno text>".
int checked_ioctl(int fd, unsigned long request, void *arg, const char *what);
int checked_ioctl(int fd, unsigned long request, unsigned long arg,
                  const char *what);

class KvmSystem {
public:
  // Opens the device and checks KVM_GET_API_VERSION.
  explicit KvmSystem(const std::string &device = "/dev/kvm");

  int fd() const { return fd_.get(); }
  // KVM_CHECK_EXTENSION on the system fd: 0 when absent.
  int extension(int capability) const;
  // Throws "KVM lacks <name>" unless the capability is present.
  void require(int capability, const char *name) const;

  size_t vcpu_mmap_size() const { return vcpu_mmap_size_; }
  const std::vector<kvm_cpuid_entry2> &supported_cpuid() const {
    return supported_cpuid_;
  }
  // MSRs KVM saves and restores (KVM_GET_MSR_INDEX_LIST).
  const std::vector<uint32_t> &msr_indices() const { return msr_indices_; }

private:
  UniqueFd fd_;
  size_t vcpu_mmap_size_ = 0;
  std::vector<kvm_cpuid_entry2> supported_cpuid_;
  std::vector<uint32_t> msr_indices_;
};

// The CPUID table vCPU `index` of `count` sees: what KVM supports, with
// this VM's topology (one package of `count` single-thread cores; APIC IDs
// in leaves 1, 0xB and 0x1F), the hypervisor bit, and KVM's paravirtual leaves
// limited to kvmclock, the no-op I/O delay and (with the in-kernel APIC) PV
// EOI. Without the in-kernel APIC x2APIC and the TSC-deadline timer are hidden.
std::vector<kvm_cpuid_entry2>
guest_cpuid(const std::vector<kvm_cpuid_entry2> &supported, unsigned index,
            unsigned count, bool in_kernel_apic);

// Whether KVM can be used here; when not, `reason` says why (for tests
// and for the kvm:tcg fallback).
bool kvm_usable(std::string &reason);

} // namespace sable::kvm

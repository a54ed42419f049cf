#include "machine/memory.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/mman.h>

#include "machine/io_bus.h"
#include "machine/log.h"

namespace sable {

namespace {
constexpr uint64_t kPageShift = 12;
// Page flags always cover the 32-bit address space, so device RAM mapped
// there while vCPUs run (a BAR) never reallocates them under their feet.
constexpr uint64_t k4GiB = uint64_t{1} << 32;

uint8_t *map_anonymous(uint64_t size, const std::string &name) {
  void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw std::runtime_error("cannot allocate " + std::to_string(size >> 20) +
                             " MiB for " + name + ": " + std::strerror(errno));
  return static_cast<uint8_t *>(p);
}
} // namespace

GuestMemory::GuestMemory(MmioBus &mmio) : mmio_(mmio) {
  views_.push_back(std::make_unique<std::vector<Segment>>());
  flat_.store(views_.back().get(), std::memory_order_release);
  grow_page_flags(k4GiB);
}

GuestMemory::~GuestMemory() {
  for (Region &r : regions_)
    if (r.owns_host)
      munmap(r.host, r.size);
}

uint8_t *GuestMemory::add_ram(const std::string &name, uint64_t base,
                              uint64_t size) {
  uint8_t *host = map_anonymous(size, name);
  regions_.push_back({name, base, size, Kind::Ram, host, true});
  ram_size_ += size;
  grow_page_flags(base + size);
  rebuild();
  return host;
}

void GuestMemory::add_device_ram(const std::string &name, uint64_t base,
                                 uint64_t size, uint8_t *host) {
  regions_.push_back({name, base, size, Kind::Ram, host, false});
  grow_page_flags(base + size);
  rebuild();
}

void GuestMemory::grow_page_flags(uint64_t end) {
  uint64_t pages = end >> kPageShift;
  if (pages <= flag_pages_)
    return;
  auto grown = std::make_unique<std::atomic<uint8_t>[]>(pages);
  for (uint64_t i = 0; i < flag_pages_; ++i)
    grown[i].store(flags_[i].load());
  flags_ = std::move(grown);
  flag_pages_ = pages;
}

uint8_t *GuestMemory::add_rom(const std::string &name, uint64_t base,
                              const std::vector<uint8_t> &content) {
  uint64_t size = (content.size() + 0xfff) & ~uint64_t{0xfff};
  uint8_t *host = map_anonymous(size, name);
  std::memcpy(host, content.data(), content.size());
  regions_.push_back({name, base, size, Kind::Rom, host, true});
  rebuild();
  return host;
}

void GuestMemory::add_mmio(const std::string &name, uint64_t base,
                           uint64_t size) {
  regions_.push_back({name, base, size, Kind::Mmio, nullptr, false});
  rebuild();
}

void GuestMemory::add_alias(const std::string &name, uint64_t base,
                            uint64_t size, const std::string &target,
                            uint64_t target_offset, Kind kind) {
  Region &t = named(target);
  if (!t.host || target_offset + size > t.size)
    throw std::logic_error("alias " + name + " outside " + target);
  regions_.push_back({name, base, size, kind, t.host + target_offset, false});
  rebuild();
}

void GuestMemory::remove_region(const std::string &name) {
  auto at = std::find_if(regions_.begin(), regions_.end(),
                         [&](const Region &r) { return r.name == name; });
  if (at == regions_.end())
    return;
  if (at->owns_host) {
    munmap(at->host, at->size);
    if (at->kind == Kind::Ram)
      ram_size_ -= at->size;
  }
  regions_.erase(at);
  rebuild();
}

GuestMemory::Region &GuestMemory::named(const std::string &name) {
  for (Region &r : regions_)
    if (r.name == name)
      return r;
  throw std::logic_error("no memory region " + name);
}

void GuestMemory::rebuild() {
  // Paint regions in order onto a list of disjoint segments; later ones win.
  std::vector<Segment> flat;
  for (const Region &r : regions_) {
    uint64_t start = r.base, end = r.base + r.size;
    std::vector<Segment> next;
    for (const Segment &s : flat) {
      uint64_t s_end = s.base + s.length;
      if (s_end <= start || s.base >= end) {
        next.push_back(s);
        continue;
      }
      if (s.base < start)
        next.push_back({s.base, start - s.base, s.kind, s.host});
      if (s_end > end)
        next.push_back({end, s_end - end, s.kind,
                        s.host ? s.host + (end - s.base) : nullptr});
    }
    next.push_back({start, r.size, r.kind, r.host});
    std::sort(next.begin(), next.end(), [](const Segment &a, const Segment &b) {
      return a.base < b.base;
    });
    flat = std::move(next);
  }
  views_.push_back(std::make_unique<std::vector<Segment>>(std::move(flat)));
  flat_.store(views_.back().get(), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  for (auto &listener : listeners_)
    listener();
}

const GuestMemory::Segment *GuestMemory::find(uint64_t gpa) const {
  const std::vector<Segment> &flat = segments();
  auto at =
      std::upper_bound(flat.begin(), flat.end(), gpa,
                       [](uint64_t a, const Segment &s) { return a < s.base; });
  if (at == flat.begin())
    return nullptr;
  --at;
  return gpa - at->base < at->length ? &*at : nullptr;
}

uint8_t *GuestMemory::host_pointer(uint64_t gpa, bool for_write) const {
  const Segment *s = find(gpa);
  if (!s || !s->host)
    return nullptr;
  if (for_write && s->kind != Kind::Ram)
    return nullptr;
  return s->host + (gpa - s->base);
}

void GuestMemory::read(uint64_t gpa, void *data, size_t size) const {
  auto out = static_cast<uint8_t *>(data);
  while (size > 0) {
    const Segment *s = find(gpa);
    size_t chunk = size;
    if (s)
      chunk = std::min<uint64_t>(size, s->base + s->length - gpa);
    else
      chunk = 1;
    if (s && s->host) {
      std::memcpy(out, s->host + (gpa - s->base), chunk);
    } else if (s) {
      for (size_t done = 0; done < chunk;) {
        unsigned step = chunk - done >= 8 && ((gpa + done) & 7) == 0   ? 8
                        : chunk - done >= 4 && ((gpa + done) & 3) == 0 ? 4
                        : chunk - done >= 2 && ((gpa + done) & 1) == 0 ? 2
                                                                       : 1;
        uint64_t v = mmio_.read(gpa + done, step);
        std::memcpy(out + done, &v, step);
        done += step;
      }
    } else {
      std::memset(out, 0xff, chunk);
    }
    out += chunk;
    gpa += chunk;
    size -= chunk;
  }
}

void GuestMemory::write(uint64_t gpa, const void *data, size_t size) {
  auto in = static_cast<const uint8_t *>(data);
  while (size > 0) {
    const Segment *s = find(gpa);
    size_t chunk = s ? std::min<uint64_t>(size, s->base + s->length - gpa) : 1;
    if (s && s->kind == Kind::Ram) {
      std::memcpy(s->host + (gpa - s->base), in, chunk);
      note_store(gpa, chunk);
    } else if (s && s->kind == Kind::Mmio) {
      for (size_t done = 0; done < chunk;) {
        unsigned step = chunk - done >= 8 && ((gpa + done) & 7) == 0   ? 8
                        : chunk - done >= 4 && ((gpa + done) & 3) == 0 ? 4
                        : chunk - done >= 2 && ((gpa + done) & 1) == 0 ? 2
                                                                       : 1;
        uint64_t v = 0;
        std::memcpy(&v, in + done, step);
        mmio_.write(gpa + done, step, v);
        done += step;
      }
    } else if (s) {
      SABLE_LOG_ONCE(LOG_GUEST_ERRORS, "guest write to ROM at 0x%llx dropped\n",
                     static_cast<unsigned long long>(gpa));
    }
    in += chunk;
    gpa += chunk;
    size -= chunk;
  }
}

uint8_t GuestMemory::page_flags(uint64_t gpa) const {
  uint64_t page = gpa >> kPageShift;
  return page < flag_pages_ ? flags_[page].load(std::memory_order_relaxed) : 0;
}

void GuestMemory::set_page_flags(uint64_t gpa, uint8_t flags) {
  uint64_t page = gpa >> kPageShift;
  if (page < flag_pages_)
    flags_[page].fetch_or(flags, std::memory_order_acq_rel);
}

void GuestMemory::clear_page_flags(uint64_t gpa, uint8_t flags) {
  uint64_t page = gpa >> kPageShift;
  if (page < flag_pages_)
    flags_[page].fetch_and(uint8_t(~flags), std::memory_order_acq_rel);
}

void GuestMemory::mark_dirty(uint64_t gpa, size_t size) {
  if (size == 0)
    return;
  for (uint64_t page = gpa >> kPageShift;
       page <= (gpa + size - 1) >> kPageShift && page < flag_pages_; ++page)
    flags_[page].fetch_or(PAGE_DIRTY, std::memory_order_acq_rel);
}

bool GuestMemory::test_and_clear_dirty(uint64_t gpa) {
  uint64_t page = gpa >> kPageShift;
  if (page >= flag_pages_)
    return false;
  if (!(flags_[page].fetch_and(uint8_t(~PAGE_DIRTY)) & PAGE_DIRTY))
    return false;
  // Stores to the page must set the bit again.
  tracking_epoch_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

GuestMemory::HandlerId
GuestMemory::add_code_write_handler(std::function<void(uint64_t)> handler) {
  code_write_handlers_.emplace_back(next_handler_id_, std::move(handler));
  return next_handler_id_++;
}

void GuestMemory::remove_code_write_handler(HandlerId id) {
  std::erase_if(code_write_handlers_,
                [id](const auto &entry) { return entry.first == id; });
}

// The flag RMWs are acquire-release: a store noted before a decoder marks
// the page is visible to that decoder, and one noted after sees the mark.
// Every store that sees PAGE_HAS_CODE runs the handlers itself, after its
// bytes are in memory, so no store slips between a clear and a re-mark.
void GuestMemory::note_store(uint64_t gpa, size_t size) {
  if (size == 0)
    return;
  for (uint64_t page = gpa >> kPageShift;
       page <= (gpa + size - 1) >> kPageShift && page < flag_pages_; ++page) {
    uint8_t old = flags_[page].fetch_or(PAGE_DIRTY, std::memory_order_acq_rel);
    if (!(old & PAGE_HAS_CODE))
      continue;
    flags_[page].fetch_and(uint8_t(~PAGE_HAS_CODE), std::memory_order_acq_rel);
    for (const auto &[id, handler] : code_write_handlers_)
      handler(page << kPageShift);
  }
}

void GuestMemory::mark_code_page(uint64_t gpa) {
  uint64_t page = gpa >> kPageShift;
  if (page >= flag_pages_)
    return;
  uint8_t old = flags_[page].fetch_or(PAGE_HAS_CODE, std::memory_order_acq_rel);
  if (!(old & PAGE_HAS_CODE))
    tracking_epoch_.fetch_add(1, std::memory_order_acq_rel);
}

} // namespace sable

#pragma once
// A raw disk or CD image file behind an emulated drive (-drive file=...).
// Guest writes reach the file with pwrite before the drive reports the
// command done; flush() makes them durable (fdatasync).
//
// Snapshot mode (-snapshot) opens the file read-only and keeps every
// written sector in memory, so reads see the guest's writes and the file is
// never modified. That overlay is lost when the process exits and is not
// part of saved machine state: a snapshot-mode VM restored elsewhere sees
// the unmodified file.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace sable {

class DiskImage {
public:
  static constexpr size_t kSectorSize = 512;

  enum class Mode { ReadWrite, ReadOnly, Snapshot };

  // Throws std::runtime_error with one line, "-drive file=PATH: problem",
  // when the file is missing, unreadable, empty, or not a whole number of
  // 512-byte sectors.
  DiskImage(const std::string &path, Mode mode);
  ~DiskImage();
  DiskImage(const DiskImage &) = delete;
  DiskImage &operator=(const DiskImage &) = delete;

  const std::string &path() const { return path_; }
  Mode mode() const { return mode_; }
  bool writable() const { return mode_ != Mode::ReadOnly; }
  uint64_t size() const { return size_; }

  // Both return false, transferring nothing, when the range leaves the
  // image, the image is read-only (write), or the host reports an error.
  bool read(uint64_t offset, void *data, size_t length) const;
  bool write(uint64_t offset, const void *data, size_t length);
  // Returns false when the host cannot make the writes durable.
  bool flush();

private:
  using Sector = std::array<uint8_t, kSectorSize>;

  bool contains(uint64_t offset, size_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }
  bool read_file(uint64_t offset, uint8_t *data, size_t length) const;
  bool write_file(uint64_t offset, const uint8_t *data, size_t length);
  bool read_snapshot(uint64_t offset, uint8_t *data, size_t length) const;
  bool write_snapshot(uint64_t offset, const uint8_t *data, size_t length);

  std::string path_;
  Mode mode_;
  int fd_ = -1;
  uint64_t size_ = 0;
  // Snapshot mode: written sectors by sector number.
  std::map<uint64_t, Sector> overlay_;
};

} // namespace sable

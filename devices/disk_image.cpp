#include "devices/disk_image.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace sable {

namespace {

[[noreturn]] void fail(const std::string &path, const std::string &problem) {
  throw std::runtime_error("-drive file=" + path + ": " + problem);
}

} // namespace

DiskImage::DiskImage(const std::string &path, Mode mode)
    : path_(path), mode_(mode) {
  int flags = (mode == Mode::ReadWrite ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  fd_ = ::open(path.c_str(), flags);
  if (fd_ < 0) {
    int error = errno;
    std::string problem = std::string("cannot open: ") + std::strerror(error);
    if (error == EISDIR)
      problem = "is a directory, not an image file";
    else if ((error == EACCES || error == EROFS) && mode == Mode::ReadWrite)
      problem += " (try readonly=on or -snapshot)";
    fail(path, problem);
  }
  struct stat info {};
  if (::fstat(fd_, &info) != 0 || S_ISDIR(info.st_mode)) {
    ::close(fd_);
    fail(path, "is a directory, not an image file");
  }
  // lseek also sizes block devices, whose st_size is zero.
  off_t end = ::lseek(fd_, 0, SEEK_END);
  if (end < 0) {
    int error = errno;
    ::close(fd_);
    fail(path,
         std::string("cannot determine the size: ") + std::strerror(error));
  }
  size_ = uint64_t(end);
  if (size_ == 0) {
    ::close(fd_);
    fail(path, "the image is empty");
  }
  if (size_ % kSectorSize != 0) {
    ::close(fd_);
    fail(path, "size " + std::to_string(size_) +
                   " bytes is not a multiple of 512 (a raw image is whole "
                   "sectors)");
  }
  uint8_t probe[kSectorSize];
  if (!read_file(0, probe, sizeof probe)) {
    int error = errno;
    ::close(fd_);
    fail(path, std::string("cannot read: ") + std::strerror(error));
  }
}

DiskImage::~DiskImage() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool DiskImage::read(uint64_t offset, void *data, size_t length) const {
  if (!contains(offset, length))
    return false;
  auto *bytes = static_cast<uint8_t *>(data);
  if (mode_ == Mode::Snapshot)
    return read_snapshot(offset, bytes, length);
  return read_file(offset, bytes, length);
}

bool DiskImage::write(uint64_t offset, const void *data, size_t length) {
  if (mode_ == Mode::ReadOnly || !contains(offset, length))
    return false;
  auto *bytes = static_cast<const uint8_t *>(data);
  if (mode_ == Mode::Snapshot)
    return write_snapshot(offset, bytes, length);
  return write_file(offset, bytes, length);
}

bool DiskImage::flush() {
  if (mode_ != Mode::ReadWrite)
    return true;
  return ::fdatasync(fd_) == 0;
}

bool DiskImage::read_file(uint64_t offset, uint8_t *data, size_t length) const {
  while (length > 0) {
    ssize_t done = ::pread(fd_, data, length, off_t(offset));
    if (done < 0 && errno == EINTR)
      continue;
    if (done <= 0) // an error, or the file shrank under us
      return false;
    data += done;
    offset += uint64_t(done);
    length -= size_t(done);
  }
  return true;
}

bool DiskImage::write_file(uint64_t offset, const uint8_t *data,
                           size_t length) {
  while (length > 0) {
    ssize_t done = ::pwrite(fd_, data, length, off_t(offset));
    if (done < 0 && errno == EINTR)
      continue;
    if (done <= 0)
      return false;
    data += done;
    offset += uint64_t(done);
    length -= size_t(done);
  }
  return true;
}

// Reads runs of sectors absent from the overlay with one pread each.
bool DiskImage::read_snapshot(uint64_t offset, uint8_t *data,
                              size_t length) const {
  uint64_t end = offset + length;
  auto next = overlay_.lower_bound(offset / kSectorSize);
  while (offset < end) {
    uint64_t sector = offset / kSectorSize;
    uint64_t within = offset % kSectorSize;
    if (next != overlay_.end() && next->first == sector) {
      size_t chunk =
          size_t(std::min<uint64_t>(kSectorSize - within, end - offset));
      std::memcpy(data, next->second.data() + within, chunk);
      data += chunk;
      offset += chunk;
      ++next;
      continue;
    }
    uint64_t gap_end =
        next == overlay_.end() ? end : std::min(end, next->first * kSectorSize);
    size_t chunk = size_t(gap_end - offset);
    if (!read_file(offset, data, chunk))
      return false;
    data += chunk;
    offset += chunk;
  }
  return true;
}

bool DiskImage::write_snapshot(uint64_t offset, const uint8_t *data,
                               size_t length) {
  uint64_t end = offset + length;
  while (offset < end) {
    uint64_t sector = offset / kSectorSize;
    uint64_t within = offset % kSectorSize;
    size_t chunk =
        size_t(std::min<uint64_t>(kSectorSize - within, end - offset));
    auto found = overlay_.find(sector);
    if (found == overlay_.end()) {
      Sector fresh;
      if (chunk < kSectorSize &&
          !read_file(sector * kSectorSize, fresh.data(), kSectorSize))
        return false;
      found = overlay_.emplace(sector, fresh).first;
    }
    std::memcpy(found->second.data() + within, data, chunk);
    data += chunk;
    offset += chunk;
  }
  return true;
}

} // namespace sable

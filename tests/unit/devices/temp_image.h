#pragma once
// Image files for the disk tests: a temporary file filled with a pattern
// that differs in every byte of every sector, removed when the test ends.

#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace sable::test {

inline uint8_t pattern_byte(uint64_t offset) {
  return uint8_t((offset >> 9) * 37 + (offset & 511) * 5 + 1);
}

class TempImage {
public:
  // `size` bytes of pattern; with `sparse_size` the file is then extended
  // to that size with a hole (reads of it return zeros).
  explicit TempImage(uint64_t size, uint64_t sparse_size = 0) {
    std::string name =
        (std::filesystem::temp_directory_path() / "sable-ide-XXXXXX").string();
    std::vector<char> buffer(name.begin(), name.end());
    buffer.push_back('\0');
    int fd = ::mkstemp(buffer.data());
    if (fd < 0)
      throw std::runtime_error("mkstemp failed");
    path_ = buffer.data();
    std::vector<uint8_t> data(size);
    for (uint64_t i = 0; i < size; ++i)
      data[i] = pattern_byte(i);
    bool ok = ::pwrite(fd, data.data(), data.size(), 0) == ssize_t(size);
    if (sparse_size > size)
      ok = ok && ::ftruncate(fd, off_t(sparse_size)) == 0;
    ::close(fd);
    if (!ok)
      throw std::runtime_error("cannot write " + path_);
  }
  ~TempImage() { ::unlink(path_.c_str()); }
  TempImage(const TempImage &) = delete;
  TempImage &operator=(const TempImage &) = delete;

  const std::string &path() const { return path_; }

  std::vector<uint8_t> read(uint64_t offset, size_t length) const {
    std::vector<uint8_t> data(length);
    int fd = ::open(path_.c_str(), O_RDONLY);
    ssize_t done = ::pread(fd, data.data(), length, off_t(offset));
    ::close(fd);
    if (done != ssize_t(length))
      throw std::runtime_error("cannot read " + path_);
    return data;
  }

  void write(uint64_t offset, const std::vector<uint8_t> &data) const {
    int fd = ::open(path_.c_str(), O_WRONLY);
    ssize_t done = ::pwrite(fd, data.data(), data.size(), off_t(offset));
    ::close(fd);
    if (done != ssize_t(data.size()))
      throw std::runtime_error("cannot write " + path_);
  }

private:
  std::string path_;
};

inline std::vector<uint8_t> pattern(uint64_t offset, size_t length) {
  std::vector<uint8_t> data(length);
  for (size_t i = 0; i < length; ++i)
    data[i] = pattern_byte(offset + i);
  return data;
}

} // namespace sable::test

#include "ui/file_backend.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

namespace sable {

FileBackend::FileBackend(const std::string &path)
    : fd_(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {
  if (fd_ < 0)
    throw std::runtime_error("-serial file:" + path + ": " +
                             std::strerror(errno));
}

FileBackend::~FileBackend() {
  close(fd_);
}

void FileBackend::write(const uint8_t *data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd_, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

} // namespace sable

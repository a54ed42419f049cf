#pragma once
// -serial file:PATH (output only) and -serial null.

#include <string>

#include "machine/char_backend.h"

namespace sable {

class FileBackend : public CharBackend {
public:
  // Throws std::runtime_error with a one-line reason.
  explicit FileBackend(const std::string &path);
  ~FileBackend() override;
  void write(const uint8_t *data, size_t size) override;

private:
  int fd_;
};

class NullBackend : public CharBackend {
public:
  void write(const uint8_t *, size_t) override {}
};

} // namespace sable

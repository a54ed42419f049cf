#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>

#include "devices/disk_image.h"
#include "temp_image.h"

using namespace sable;
using test::pattern;
using test::TempImage;

namespace {

std::string open_error(const std::string &path, DiskImage::Mode mode) {
  try {
    DiskImage image(path, mode);
  } catch (const std::runtime_error &error) {
    return error.what();
  }
  return "";
}

} // namespace

TEST_CASE("disk image reads and writes reach the file", "[disk-image]") {
  TempImage file(8 * 512);
  DiskImage image(file.path(), DiskImage::Mode::ReadWrite);
  CHECK(image.size() == 8 * 512);
  CHECK(image.writable());

  std::vector<uint8_t> data(700);
  REQUIRE(image.read(1000, data.data(), data.size()));
  CHECK(data == pattern(1000, 700));

  std::vector<uint8_t> written(600, 0xa5);
  REQUIRE(image.write(300, written.data(), written.size()));
  CHECK(file.read(300, 600) == written);
  CHECK(file.read(0, 300) == pattern(0, 300));
  CHECK(image.flush());
}

TEST_CASE("disk image refuses ranges beyond its end", "[disk-image]") {
  TempImage file(4 * 512);
  DiskImage image(file.path(), DiskImage::Mode::ReadWrite);
  uint8_t data[512] = {};
  CHECK_FALSE(image.read(4 * 512, data, 1));
  CHECK_FALSE(image.read(3 * 512 + 1, data, 512));
  CHECK_FALSE(image.write(~uint64_t{0} - 10, data, 512));
  CHECK(image.read(3 * 512, data, 512));
}

TEST_CASE("read-only disk image refuses writes", "[disk-image]") {
  TempImage file(4 * 512);
  DiskImage image(file.path(), DiskImage::Mode::ReadOnly);
  CHECK_FALSE(image.writable());
  std::vector<uint8_t> data(512, 0x11);
  CHECK_FALSE(image.write(0, data.data(), data.size()));
  CHECK(file.read(0, 4 * 512) == pattern(0, 4 * 512));
}

TEST_CASE("snapshot disk image keeps writes in memory", "[disk-image]") {
  TempImage file(16 * 512);
  DiskImage image(file.path(), DiskImage::Mode::Snapshot);
  CHECK(image.writable());

  // A partial sector, one spanning two sectors, and a whole one.
  std::vector<uint8_t> small(10, 0x11), spanning(600, 0x22), whole(512, 0x33);
  REQUIRE(image.write(5, small.data(), small.size()));
  REQUIRE(image.write(3 * 512 + 200, spanning.data(), spanning.size()));
  REQUIRE(image.write(8 * 512, whole.data(), whole.size()));

  std::vector<uint8_t> expected = pattern(0, 16 * 512);
  std::copy(small.begin(), small.end(), expected.begin() + 5);
  std::copy(spanning.begin(), spanning.end(), expected.begin() + 3 * 512 + 200);
  std::copy(whole.begin(), whole.end(), expected.begin() + 8 * 512);
  std::vector<uint8_t> seen(16 * 512);
  REQUIRE(image.read(0, seen.data(), seen.size()));
  CHECK(seen == expected);

  std::vector<uint8_t> middle(100);
  REQUIRE(image.read(4 * 512 + 250, middle.data(), middle.size()));
  CHECK(std::vector<uint8_t>(expected.begin() + 4 * 512 + 250,
                             expected.begin() + 4 * 512 + 350) == middle);

  CHECK(image.flush());
  CHECK(file.read(0, 16 * 512) == pattern(0, 16 * 512));
}

TEST_CASE("bad image files give one-line errors", "[disk-image]") {
  auto missing =
      (std::filesystem::temp_directory_path() / "sable-no-such-image.img")
          .string();
  CHECK(open_error(missing, DiskImage::Mode::ReadWrite) ==
        "-drive file=" + missing + ": cannot open: No such file or directory");

  auto directory = std::filesystem::temp_directory_path().string();
  CHECK(open_error(directory, DiskImage::Mode::ReadOnly) ==
        "-drive file=" + directory + ": is a directory, not an image file");
  CHECK(open_error(directory, DiskImage::Mode::ReadWrite) ==
        "-drive file=" + directory + ": is a directory, not an image file");

  TempImage empty(0);
  CHECK(open_error(empty.path(), DiskImage::Mode::Snapshot) ==
        "-drive file=" + empty.path() + ": the image is empty");

  TempImage ragged(1000);
  CHECK(open_error(ragged.path(), DiskImage::Mode::ReadOnly) ==
        "-drive file=" + ragged.path() +
            ": size 1000 bytes is not a multiple of 512 (a raw image is "
            "whole sectors)");

  for (const std::string &message :
       {open_error(missing, DiskImage::Mode::ReadOnly),
        open_error(ragged.path(), DiskImage::Mode::ReadWrite)})
    CHECK(message.find('\n') == std::string::npos);
}

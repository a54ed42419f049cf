#include <catch2/catch.hpp>

#include "machine/options.h"

using namespace sable;

namespace {
Options parse(std::vector<std::string> args) {
  return parse_options(args);
}

std::string error_of(std::vector<std::string> args) {
  try {
    parse_options(args);
  } catch (const UsageError &e) {
    return e.what();
  }
  return "";
}
} // namespace

TEST_CASE("a typical QEMU Linux command line parses") {
  Options o = parse({"-accel", "tcg", "-m", "256", "-nographic", "-no-reboot",
                     "-kernel", "/bin/sh", "-initrd", "/bin/sh", "-append",
                     "console=ttyS0 quiet", "-smp", "2"});
  CHECK(o.accelerators == std::vector<std::string>{"tcg"});
  CHECK(o.ram_bytes == 256ull << 20);
  CHECK(o.nographic);
  CHECK(o.no_reboot);
  CHECK(o.kernel == "/bin/sh");
  CHECK(o.append == "console=ttyS0 quiet");
  CHECK(o.cpus == 2);
  REQUIRE(o.serials.size() == 1);
  CHECK(o.serials[0].kind == SerialOptions::Kind::MonStdio);
}

TEST_CASE("memory sizes take QEMU's suffixes and reject impossible ones") {
  CHECK(parse({"-m", "1G"}).ram_bytes == 1ull << 30);
  CHECK(parse({"-m", "512M"}).ram_bytes == 512ull << 20);
  CHECK(parse({"-m", "size=64"}).ram_bytes == 64ull << 20);
  CHECK(parse({"-m", "1.5G"}).ram_bytes == 3ull << 29);
  CHECK(error_of({"-m", "0"}).find("impossible memory size") !=
        std::string::npos);
  CHECK(error_of({"-m", "4T"}).find("impossible") != std::string::npos);
  CHECK(error_of({"-m", "lots"}).find("-m: invalid size") != std::string::npos);
}

TEST_CASE("accelerator lists and -enable-kvm") {
  CHECK(parse({"-accel", "kvm:tcg"}).accelerators ==
        std::vector<std::string>{"kvm", "tcg"});
  CHECK(parse({"-enable-kvm"}).accelerators ==
        std::vector<std::string>{"kvm", "tcg"});
  CHECK_FALSE(parse({"-accel", "kvm,kernel-irqchip=off"}).kernel_irqchip);
  CHECK_FALSE(parse({"-machine", "pc,kernel-irqchip=off"}).kernel_irqchip);
  CHECK(parse({"-M", "pc,accel=kvm"}).accelerators ==
        std::vector<std::string>{"kvm"});
  CHECK(error_of({"-accel", "hvf"}) ==
        "-accel: unknown accelerator 'hvf' (kvm or tcg)");
}

TEST_CASE("unknown options, missing arguments and missing files are errors") {
  CHECK(error_of({"-bogus-option"}) ==
        "unknown option '-bogus-option' (see --help)");
  CHECK(error_of({"-kernel"}) == "-kernel: missing argument");
  CHECK(error_of({"-kernel", "/nonexistent/kernel"}) ==
        "-kernel: '/nonexistent/kernel': No such file or directory");
  CHECK(error_of({"-bios", "/"}) == "-bios: '/' is a directory");
  CHECK(error_of({"disk.img"}).find("unexpected argument") == 0);
}

TEST_CASE("drives, CD-ROMs and boot order") {
  Options o =
      parse({"-drive", "file=/bin/sh,format=raw,if=ide,index=1,readonly=on",
             "-cdrom", "/bin/ls", "-boot", "order=dc"});
  REQUIRE(o.drives.size() == 2);
  CHECK(o.drives[0].index == 1);
  CHECK(o.drives[0].read_only);
  CHECK(o.drives[1].media == "cdrom");
  CHECK(o.drives[1].index == 2);
  CHECK(o.boot_order == "dc");
  CHECK(
      error_of({"-drive", "file=/bin/sh,format=qcow2"}).find("not supported") !=
      std::string::npos);
  CHECK(error_of({"-boot", "z"}).find("invalid boot order") !=
        std::string::npos);
}

TEST_CASE("serial backends as QEMU spells them") {
  Options o = parse({"-serial", "file:/tmp/x", "-serial",
                     "tcp:127.0.0.1:4555,server,nowait", "-serial", "null"});
  REQUIRE(o.serials.size() == 3);
  CHECK(o.serials[0].kind == SerialOptions::Kind::File);
  CHECK(o.serials[0].path == "/tmp/x");
  CHECK(o.serials[1].kind == SerialOptions::Kind::Tcp);
  CHECK(o.serials[1].port == 4555);
  CHECK(o.serials[1].server);
  CHECK_FALSE(o.serials[1].wait);
  CHECK(o.serials[2].kind == SerialOptions::Kind::Null);
  CHECK(error_of({"-serial", "pty"}).find("unknown character device") !=
        std::string::npos);
}

TEST_CASE("isa-debug-exit, gdb and display options") {
  Options o = parse({"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-s",
                     "-S", "-display", "vnc=:3"});
  REQUIRE(o.debug_exit.has_value());
  CHECK(o.debug_exit->iobase == 0xf4);
  CHECK(o.debug_exit->iosize == 4);
  CHECK(o.gdb == "tcp::1234");
  CHECK(o.start_paused);
  CHECK(o.display.kind == DisplayOptions::Kind::Vnc);
  CHECK(o.display.vnc == ":3");
  // QEMU's character-device flags after the port are accepted and dropped.
  CHECK(parse({"-gdb", "tcp::1234,server,nowait"}).gdb == "tcp::1234");
  CHECK(parse({"-gdb", "tcp:0.0.0.0:5555"}).gdb == "tcp:0.0.0.0:5555");
  CHECK(error_of({"-gdb", "stdio"}) ==
        "-gdb: only tcp:[HOST]:PORT is supported");
  CHECK(error_of({"-device", "e1000"}) == "-device: unknown device 'e1000'");
  CHECK(error_of({"-device", "isa-debug-exit,iosize=3"}) ==
        "-device: iosize must be 1, 2 or 4");
}

TEST_CASE("VNC address and password options") {
  Options o = parse({"-vnc", "127.0.0.1:7,password=on"});
  CHECK(o.display.kind == DisplayOptions::Kind::Vnc);
  CHECK(o.display.vnc_host == "127.0.0.1");
  CHECK(o.display.vnc_display == 7);
  CHECK(o.display.vnc_password);
  CHECK(o.display.vnc_password_file.empty());
  o = parse({"-display", "vnc=:0"});
  CHECK(o.display.vnc_host.empty());
  CHECK(o.display.vnc_display == 0);
  CHECK_FALSE(o.display.vnc_password);
  o = parse({"-vnc", ":1,password-file=/dev/null"});
  CHECK(o.display.vnc_password);
  CHECK(o.display.vnc_password_file == "/dev/null");
  CHECK(error_of({"-vnc", "5"}) == "-vnc: '5' is not HOST:N or :N");
  CHECK(error_of({"-vnc", ":1,password=secret"}) ==
        "-vnc: 'password' takes on or off, not 'secret'");
  CHECK(error_of({"-vnc", ":1,share=on"}).find("unknown VNC property") !=
        std::string::npos);
  CHECK(error_of({"-vnc", ":1,password-file=/nonexistent"})
            .find("/nonexistent") != std::string::npos);
}

TEST_CASE("log items are checked") {
  Options o = parse({"-d", "int,guest_errors", "-D", "/tmp/log"});
  CHECK(o.log_mask != 0);
  CHECK(o.log_file == "/tmp/log");
  CHECK(error_of({"-d", "nonsense"}).find("unknown log item 'nonsense'") !=
        std::string::npos);
}

TEST_CASE("help lists every documented option") {
  std::string help = usage_text();
  for (const char *option : {"-accel",       "-enable-kvm",
                             "-m ",          "-smp",
                             "-kernel",      "-initrd",
                             "-append",      "-bios",
                             "-drive",       "-hda",
                             "-cdrom",       "-boot",
                             "-serial",      "-nographic",
                             "-display",     "-vnc",
                             "-gdb",         "-s ",
                             "-S ",          "-no-reboot",
                             "-no-shutdown", "-device isa-debug-exit",
                             "-machine",     "-name",
                             "-d ITEMS",     "-D FILE",
                             "--help",       "--version"})
    CHECK(help.find(option) != std::string::npos);
}

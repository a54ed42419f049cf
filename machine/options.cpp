#include "machine/options.h"

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <sys/stat.h>

#include "machine/log.h"

namespace sable {

namespace {

[[noreturn]] void fail(const std::string &option, const std::string &problem) {
  throw UsageError(option + ": " + problem);
}

void require_file(const std::string &option, const std::string &path) {
  struct stat st;
  if (path.empty())
    fail(option, "needs a file name");
  if (stat(path.c_str(), &st) != 0)
    fail(option, "'" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    fail(option, "'" + path + "' is a directory");
}

std::vector<std::string> split(const std::string &text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t at = text.find(separator, start);
    parts.push_back(text.substr(start, at - start));
    if (at == std::string::npos)
      return parts;
    start = at + 1;
  }
}

// "a=1,b,c=x" -> ordered key/value pairs; a bare first item is returned as
// `head` when the option has one (e.g. "-accel kvm,kernel-irqchip=off").
struct PropertyList {
  std::string head;
  std::vector<std::pair<std::string, std::string>> properties;
};

PropertyList parse_properties(const std::string &text, bool has_head) {
  PropertyList list;
  std::vector<std::string> items = split(text, ',');
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string &item = items[i];
    size_t eq = item.find('=');
    if (i == 0 && has_head && eq == std::string::npos) {
      list.head = item;
      continue;
    }
    if (eq == std::string::npos)
      list.properties.emplace_back(item, "on");
    else
      list.properties.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return list;
}

bool parse_bool(const std::string &option, const std::string &key,
                const std::string &value) {
  if (value == "on" || value == "yes" || value == "true")
    return true;
  if (value == "off" || value == "no" || value == "false")
    return false;
  fail(option, "'" + key + "' takes on or off, not '" + value + "'");
}

uint64_t parse_number(const std::string &option, const std::string &text,
                      uint64_t max) {
  if (text.empty())
    fail(option, "missing number");
  errno = 0;
  char *end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, 0);
  if (errno || *end || text[0] == '-' || value > max)
    fail(option, "invalid number '" + text + "'");
  return value;
}

void parse_accel_list(Options &options, const std::string &option,
                      const std::string &text) {
  PropertyList list = parse_properties(text, true);
  options.accelerators = split(list.head, ':');
  for (const std::string &accel : options.accelerators)
    if (accel != "kvm" && accel != "tcg")
      fail(option, "unknown accelerator '" + accel + "' (kvm or tcg)");
  for (auto &[key, value] : list.properties) {
    if (key == "kernel-irqchip")
      options.kernel_irqchip =
          value == "split" || parse_bool(option, key, value);
    else if (key != "thread")
      fail(option, "unknown property '" + key + "'");
  }
}

void parse_machine(Options &options, const std::string &option,
                   const std::string &text) {
  PropertyList list = parse_properties(text, true);
  if (!list.head.empty())
    options.machine_type = list.head;
  for (auto &[key, value] : list.properties) {
    if (key == "type")
      options.machine_type = value;
    else if (key == "accel")
      parse_accel_list(options, option, value);
    else if (key == "kernel-irqchip" || key == "kernel_irqchip")
      options.kernel_irqchip =
          value == "split" || parse_bool(option, key, value);
    else
      fail(option, "unknown property '" + key + "'");
  }
  if (options.machine_type == "help")
    throw UsageError("supported machines: pc (i440FX + PIIX3)");
}

void parse_drive(Options &options, const std::string &option,
                 const std::string &text) {
  DriveOptions drive;
  for (auto &[key, value] : parse_properties(text, false).properties) {
    if (key == "file")
      drive.file = value;
    else if (key == "format") {
      if (value != "raw")
        fail(option, "format '" + value + "' is not supported (raw only)");
      drive.format = value;
    } else if (key == "if") {
      if (value != "ide" && value != "virtio")
        fail(option,
             "interface '" + value + "' is not supported (ide, virtio)");
      drive.interface = value;
    } else if (key == "index")
      drive.index = static_cast<int>(parse_number(option, value, 3));
    else if (key == "media") {
      if (value != "disk" && value != "cdrom")
        fail(option, "media '" + value + "' (disk or cdrom)");
      drive.media = value;
    } else if (key == "readonly")
      drive.read_only = parse_bool(option, key, value);
    else if (key == "snapshot")
      options.snapshot = parse_bool(option, key, value);
    else if (key != "cache" && key != "id")
      fail(option, "unknown property '" + key + "'");
  }
  require_file(option, drive.file);
  options.drives.push_back(drive);
}

SerialOptions parse_serial(const std::string &option, const std::string &text) {
  SerialOptions serial;
  if (text == "stdio")
    serial.kind = SerialOptions::Kind::Stdio;
  else if (text == "mon:stdio")
    serial.kind = SerialOptions::Kind::MonStdio;
  else if (text == "null")
    serial.kind = SerialOptions::Kind::Null;
  else if (text == "none")
    serial.kind = SerialOptions::Kind::None;
  else if (text.rfind("file:", 0) == 0) {
    serial.kind = SerialOptions::Kind::File;
    serial.path = text.substr(5);
    if (serial.path.empty())
      fail(option, "file: needs a path");
  } else if (text.rfind("tcp:", 0) == 0) {
    serial.kind = SerialOptions::Kind::Tcp;
    PropertyList list = parse_properties(text.substr(4), true);
    size_t colon = list.head.rfind(':');
    if (colon == std::string::npos)
      fail(option, "tcp: needs HOST:PORT");
    serial.host = list.head.substr(0, colon);
    serial.port = static_cast<uint16_t>(
        parse_number(option, list.head.substr(colon + 1), 65535));
    for (auto &[key, value] : list.properties) {
      if (key == "server")
        serial.server = parse_bool(option, key, value);
      else if (key == "nowait")
        serial.wait = !parse_bool(option, key, value);
      else if (key == "wait")
        serial.wait = parse_bool(option, key, value);
      else
        fail(option, "unknown property '" + key + "'");
    }
    if (!serial.server)
      fail(option, "tcp client mode is not supported yet (use ,server)");
  } else {
    fail(option, "unknown character device '" + text +
                     "' (stdio, mon:stdio, null, none, file:PATH, "
                     "tcp:HOST:PORT,server[,nowait])");
  }
  return serial;
}

// "[HOST]:N[,password=on|off][,password-file=PATH]"
void parse_vnc(DisplayOptions &display, const std::string &option,
               const std::string &text) {
  display.kind = DisplayOptions::Kind::Vnc;
  display.vnc = text;
  PropertyList list = parse_properties(text, true);
  size_t colon = list.head.rfind(':');
  if (colon == std::string::npos)
    fail(option, "'" + list.head + "' is not HOST:N or :N");
  display.vnc_host = list.head.substr(0, colon);
  display.vnc_display = static_cast<unsigned>(
      parse_number(option, list.head.substr(colon + 1), 65535 - 5900));
  for (const auto &[key, value] : list.properties) {
    if (key == "password") {
      display.vnc_password = parse_bool(option, key, value);
    } else if (key == "password-file") {
      require_file(option, value);
      display.vnc_password_file = value;
      display.vnc_password = true;
    } else {
      fail(option, "unknown VNC property '" + key +
                       "' (password=on, password-file=PATH)");
    }
  }
}

void parse_display(Options &options, const std::string &option,
                   const std::string &text) {
  if (text == "none")
    options.display.kind = DisplayOptions::Kind::None;
  else if (text == "sdl" || text.rfind("sdl,", 0) == 0)
    options.display.kind = DisplayOptions::Kind::Sdl;
  else if (text.rfind("vnc=", 0) == 0)
    parse_vnc(options.display, option, text.substr(4));
  else
    fail(option, "unknown display '" + text + "' (none, sdl, vnc=HOST:N)");
}

void parse_device(Options &options, const std::string &option,
                  const std::string &text) {
  PropertyList list = parse_properties(text, true);
  if (list.head == "help")
    throw UsageError("supported devices: isa-debug-exit");
  if (list.head != "isa-debug-exit")
    fail(option, "unknown device '" + list.head + "'");
  DebugExitOptions exit;
  for (auto &[key, value] : list.properties) {
    if (key == "iobase")
      exit.iobase = static_cast<uint16_t>(parse_number(option, value, 0xffff));
    else if (key == "iosize") {
      exit.iosize = static_cast<uint16_t>(parse_number(option, value, 4));
      if (exit.iosize != 1 && exit.iosize != 2 && exit.iosize != 4)
        fail(option, "iosize must be 1, 2 or 4");
    } else if (key != "id")
      fail(option, "unknown property '" + key + "' of isa-debug-exit");
  }
  options.debug_exit = exit;
}

void parse_gdb(Options &options, const std::string &option,
               const std::string &argument) {
  if (argument.rfind("tcp:", 0) != 0)
    fail(option, "only tcp:[HOST]:PORT is supported");
  // QEMU's character-device options (server, nowait, server=on, wait=off,
  // ipv4) describe what a gdbstub always is: a listening server.
  std::string text = argument.substr(0, argument.find(','));
  size_t colon = text.rfind(':');
  parse_number(option, text.substr(colon + 1), 65535);
  options.gdb = text;
}

struct OptionSpec {
  bool takes_argument;
  std::function<void(Options &, const std::string &option,
                     const std::string &argument)>
      apply;
};

const std::map<std::string, OptionSpec> &option_table() {
  static const std::map<std::string, OptionSpec>
      table =
          {
              {"accel",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  parse_accel_list(o, opt, a);
                }}},
              {"enable-kvm",
               {false,
                [](Options &o, auto &, auto &) {
                  o.accelerators = {"kvm", "tcg"};
                }}},
              {"machine", {true, parse_machine}},
              {"M", {true, parse_machine}},
              {"m",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  std::string size = a.rfind("size=", 0) == 0 ? a.substr(5) : a;
                  try {
                    o.ram_bytes = parse_size(size, 'M');
                  } catch (const UsageError &e) {
                    fail(opt, e.what());
                  }
                  if (o.ram_bytes < (2ull << 20) || o.ram_bytes > (1ull << 40))
                    fail(opt,
                         "impossible memory size '" + a + "' (from 2M to 1T)");
                }}},
              {"smp",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  PropertyList list = parse_properties(a, true);
                  std::string count = list.head;
                  for (auto &[key, value] : list.properties) {
                    if (key == "cpus")
                      count = value;
                    else if (key != "maxcpus" && key != "sockets" &&
                             key != "cores" && key != "threads")
                      fail(opt, "unknown property '" + key + "'");
                  }
                  o.cpus = static_cast<unsigned>(parse_number(opt, count, 255));
                  if (o.cpus == 0)
                    fail(opt, "needs at least one CPU");
                }}},
              {"kernel",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  require_file(opt, a);
                  o.kernel = a;
                }}},
              {"initrd",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  // Multiboot modules: "file args,file2 args"; check each file.
                  for (const std::string &module : split(a, ','))
                    require_file(opt, module.substr(0, module.find(' ')));
                  o.initrd = a;
                }}},
              {"append",
               {true, [](Options &o, auto &,
                         const std::string &a) { o.append = a; }}},
              {"bios",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  require_file(opt, a);
                  o.bios = a;
                }}},
              {"drive", {true, parse_drive}},
              {"hda",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  parse_drive(o, opt, "file=" + a + ",index=0,media=disk");
                }}},
              {"hdb",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  parse_drive(o, opt, "file=" + a + ",index=1,media=disk");
                }}},
              {"cdrom",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  parse_drive(o, opt, "file=" + a + ",index=2,media=cdrom");
                }}},
              {"boot",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  PropertyList list = parse_properties(a, true);
                  std::string order = list.head;
                  for (auto &[key, value] : list.properties) {
                    if (key == "order" || key == "once")
                      order = value;
                    else if (key != "menu" && key != "strict")
                      fail(opt, "unknown property '" + key + "'");
                  }
                  if (order.empty() ||
                      order.find_first_not_of("acdn") != std::string::npos)
                    fail(opt, "invalid boot order '" + order +
                                  "' (letters a c d n)");
                  o.boot_order = order;
                }}},
              {"snapshot",
               {false, [](Options &o, auto &, auto &) { o.snapshot = true; }}},
              {"serial",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  if (o.serials.size() == 4)
                    fail(opt, "at most 4 serial ports");
                  o.serials.push_back(parse_serial(opt, a));
                }}},
              {"nographic",
               {false, [](Options &o, auto &, auto &) { o.nographic = true; }}},
              {"display", {true, parse_display}},
              {"vnc",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  parse_display(o, opt, "vnc=" + a);
                }}},
              {"gdb", {true, parse_gdb}},
              {"s",
               {false, [](Options &o, const std::string &opt,
                          auto &) { parse_gdb(o, opt, "tcp::1234"); }}},
              {"S",
               {false,
                [](Options &o, auto &, auto &) { o.start_paused = true; }}},
              {"no-reboot",
               {false, [](Options &o, auto &, auto &) { o.no_reboot = true; }}},
              {"no-shutdown",
               {false,
                [](Options &o, auto &, auto &) { o.no_shutdown = true; }}},
              {"device", {true, parse_device}},
              {"name",
               {true,
                [](Options &o, auto &, const std::string &a) {
                  o.name = a.substr(0, a.find(','));
                }}},
              {"d",
               {true,
                [](Options &o, const std::string &opt, const std::string &a) {
                  if (a == "help")
                    throw UsageError(log_items_help());
                  std::string error;
                  if (!parse_log_items(a, o.log_mask, error))
                    fail(opt, error);
                }}},
              {"D",
               {true, [](Options &o, auto &,
                         const std::string &a) { o.log_file = a; }}},
              {"help",
               {false, [](Options &o, auto &, auto &) { o.show_help = true; }}},
              {"h",
               {false, [](Options &o, auto &, auto &) { o.show_help = true; }}},
              {"version",
               {false,
                [](Options &o, auto &, auto &) { o.show_version = true; }}},
          };
  return table;
}

} // namespace

uint64_t parse_size(const std::string &text, char default_suffix) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])))
    throw UsageError("invalid size '" + text + "'");
  char *end = nullptr;
  errno = 0;
  double value = std::strtod(text.c_str(), &end);
  std::string suffix = end;
  char unit = suffix.empty() ? default_suffix
                             : static_cast<char>(std::toupper(suffix[0]));
  if (errno || suffix.size() > 1 ||
      std::string("BKMGT").find(unit) == std::string::npos)
    throw UsageError("invalid size '" + text + "'");
  int shift = static_cast<int>(std::string("BKMGT").find(unit)) * 10;
  double bytes = value * static_cast<double>(1ull << shift);
  if (bytes >= 18446744073709551616.0)
    throw UsageError("invalid size '" + text + "'");
  return static_cast<uint64_t>(bytes);
}

Options parse_options(const std::vector<std::string> &args) {
  Options options;
  const auto &table = option_table();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &arg = args[i];
    if (arg.size() < 2 || arg[0] != '-')
      throw UsageError("unexpected argument '" + arg +
                       "' (options start with '-'; a disk image is -hda FILE)");
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    auto spec = table.find(name);
    if (spec == table.end())
      throw UsageError("unknown option '" + arg + "' (see --help)");
    std::string argument;
    if (spec->second.takes_argument) {
      if (i + 1 >= args.size())
        throw UsageError(arg + ": missing argument");
      argument = args[++i];
    }
    spec->second.apply(options, "-" + name, argument);
  }
  if (options.nographic && options.serials.empty())
    options.serials.push_back(parse_serial("-serial", "mon:stdio"));
  if (options.serials.empty())
    options.serials.push_back(SerialOptions{});
  return options;
}

std::string usage_text() {
  return R"(usage: sable [options]
A full-system x86 PC emulator and VMM. QEMU's options, for the common subset.

Machine:
  -accel kvm|tcg|kvm:tcg[,kernel-irqchip=on|off]  engine, in fallback order (default tcg)
  -enable-kvm                  same as -accel kvm:tcg
  -M, -machine pc[,accel=..][,kernel-irqchip=on|off]
  -m SIZE                      guest RAM, MiB or with a K/M/G suffix (default 128M)
  -smp N                       number of vCPUs
  -name NAME                   guest name
Boot:
  -kernel FILE                 Linux bzImage or multiboot kernel, booted directly
                               (with -bios: a bzImage loaded by the firmware)
  -initrd FILE                 initial ramdisk (multiboot: "mod1 args,mod2 args")
  -append CMDLINE              kernel command line
  -bios FILE                   firmware image (default: SeaBIOS bios.bin)
  -boot [order=]DRIVES         boot order: c disk, d CD-ROM, a floppy, n network
  -no-reboot                   exit instead of rebooting
  -no-shutdown                 stop instead of exiting when the guest powers off
Storage:
  -drive file=F[,format=raw][,if=ide|virtio][,index=N][,media=disk|cdrom][,readonly=on]
  -hda FILE, -hdb FILE         IDE disk images
  -cdrom FILE                  CD-ROM image
  -snapshot                    keep disk writes in memory
Console and display:
  -serial DEV                  stdio | mon:stdio | null | none | file:PATH |
                               tcp:HOST:PORT,server[,nowait]  (repeat for COM2..COM4)
  -nographic                   no display; serial on mon:stdio (Ctrl-A x quits, Ctrl-A h helps)
  -display none|sdl|vnc=HOST:N
                               sdl: a window (Ctrl-Alt-G releases the mouse,
                               Ctrl-Alt-F fullscreen; closing it presses the
                               ACPI power button, closing again quits)
  -vnc [HOST]:N[,password=on][,password-file=FILE]
                               VNC server on port 5900+N of HOST (default
                               127.0.0.1); password=on takes the password from
                               $SABLE_VNC_PASSWORD, password-file from FILE
Debugging:
  -gdb tcp:[HOST]:PORT         GDB remote stub
  -s                           same as -gdb tcp::1234
  -S                           stop before the first instruction
  -d ITEMS                     log items (-d help lists them)
  -D FILE                      write the log to FILE
Devices:
  -device isa-debug-exit[,iobase=0xf4][,iosize=4]
                               a guest write of V ends sable with status (V << 1) | 1
  -h, --help                   this text
  --version                    version
)";
}

} // namespace sable

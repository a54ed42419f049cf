#pragma once

namespace sable {
// Parses the command line, builds the machine, runs it; returns the exit
// status of the process.
int sable_main(int argc, char **argv);
} // namespace sable

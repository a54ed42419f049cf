#pragma once
// Puts the controlling terminal in raw mode for the serial console and
// restores it on every way out: normal exit, error exit and fatal signals.

namespace sable {

// `keep_signals`: Ctrl-C still signals sable (plain -serial stdio, as in
// QEMU); without it Ctrl-C goes to the guest (mon:stdio).
void terminal_enter_raw(bool keep_signals);
void terminal_restore();

} // namespace sable

/* The guest the gdbstub test debugs: a multiboot kernel built with -g -O0
 * so GDB sees functions, arguments and variables. It calls add(), stores
 * the result in `counter` twice (42, then 43), spins until the debugger
 * sets `go_on`, then exits through isa-debug-exit (port 0xf4) with
 * status (43 << 1) | 1 = 87. */

volatile unsigned counter;
volatile unsigned go_on;
volatile unsigned spins;

static void outl(unsigned short port, unsigned value) {
  __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

int add(int a, int b) {
  return a + b;
}

void kmain(void) {
  counter = add(40, 2);
  counter = counter + 1;
  while (!go_on)
    spins++;
  outl(0xf4, counter);
  for (;;)
    __asm__ volatile("cli; hlt");
}

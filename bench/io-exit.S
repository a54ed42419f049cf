/* Benchmark guest: EXITS port writes to port 0x80 (a userspace device in
 * both sable and QEMU), then isa-debug-exit (status 67). With KVM each write
 * is one exit to the VMM and back. */
        .set MAGIC, 0x1badb002
        .set FLAGS, 0
        .section .multiboot, "a"
        .align 4
        .long MAGIC, FLAGS, -(MAGIC + FLAGS)

        .ifndef EXITS
        .set EXITS, 100000
        .endif

        .text
        .code32
        .globl _start
_start:
        mov $EXITS, %ecx
        jecxz 3f
1:      out %al, $0x80
        dec %ecx
        jnz 1b
3:
        mov $0xf4, %dx
        mov $0x21, %eax
        out %eax, %dx
2:      hlt
        jmp 2b

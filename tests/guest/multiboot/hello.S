/* A multiboot v1 kernel: prints a line on COM1, then writes 0x21 to the
 * isa-debug-exit port 0xf4, so sable (and QEMU) exit with (0x21 << 1) | 1 = 67.
 * If the exit device is missing it halts forever. */
        .set MAGIC, 0x1badb002
        .set FLAGS, 0
        .section .multiboot, "a"
        .align 4
        .long MAGIC, FLAGS, -(MAGIC + FLAGS)

        .text
        .code32
        .globl _start
_start:
        cmpl $0x2badb002, %eax
        jne fail
        mov $stack_top, %esp
        mov $message, %esi
1:      lodsb
        test %al, %al
        jz 2f
        mov %al, %bl
3:      mov $0x3fd, %dx         /* wait for THR empty */
        in %dx, %al
        test $0x20, %al
        jz 3b
        mov $0x3f8, %dx
        mov %bl, %al
        out %al, %dx
        jmp 1b
2:      mov $0xf4, %dx
        mov $0x21, %eax
        out %eax, %dx
fail:   cli
        hlt
        jmp fail

        .section .rodata
message:
        .asciz "sable multiboot test: hello from COM1\r\n"

        .bss
        .align 16
        .skip 4096
stack_top:

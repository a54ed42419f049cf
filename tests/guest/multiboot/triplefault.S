/* A multiboot v1 kernel that triple-faults: it prints a line, loads an
 * empty IDT and raises #BP, whose delivery faults, whose #DF delivery
 * faults again. A PC resets (and this kernel runs again); with -no-reboot
 * sable exits with status 0, as QEMU does. */
        .set MAGIC, 0x1badb002
        .set FLAGS, 0
        .section .multiboot, "a"
        .align 4
        .long MAGIC, FLAGS, -(MAGIC + FLAGS)

        .text
        .code32
        .globl _start
_start:
        mov $message, %esi
1:      lodsb
        test %al, %al
        jz 2f
        mov $0x3f8, %dx
        out %al, %dx
        jmp 1b
2:      lidt empty_idt
        int3
3:      hlt
        jmp 3b

        .section .rodata
message:
        .asciz "triple fault test: faulting now\r\n"
        .align 8
empty_idt:
        .word 0
        .long 0

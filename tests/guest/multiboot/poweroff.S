/* A multiboot v1 kernel that powers the machine off through ACPI, as an OS
 * does for S5: SLP_TYP (0, what the DSDT's \_S5 names) with SLP_EN in the
 * PM1a control block at 0x604. sable must exit with status 0. */
        .set MAGIC, 0x1badb002
        .set FLAGS, 0
        .section .multiboot, "a"
        .align 4
        .long MAGIC, FLAGS, -(MAGIC + FLAGS)

        .text
        .code32
        .globl _start
_start:
        mov $0x3f8, %dx
        mov $'S', %al
        out %al, %dx
        mov $'5', %al
        out %al, %dx
        mov $'\n', %al
        out %al, %dx
        mov $0x604, %dx
        mov $(0 << 10 | 1 << 13), %ax
        out %ax, %dx
        /* Still running: leave through isa-debug-exit with a failure code. */
        mov $0xf4, %dx
        mov $0x7f, %eax
        out %eax, %dx
1:      hlt
        jmp 1b

/* Multiboot v1 entry of the gdbstub test kernel (target.c): a stack, then
 * kmain. */
        .set MAGIC, 0x1badb002
        .set FLAGS, 0
        .section .multiboot, "a"
        .align 4
        .long MAGIC, FLAGS, -(MAGIC + FLAGS)

        .text
        .code32
        .globl _start
_start:
        mov $stack_top, %esp
        call kmain
1:      cli
        hlt
        jmp 1b

        .bss
        .align 16
        .globl stack_bottom, stack_top
stack_bottom:
        .skip 8192
stack_top:

        .section .note.GNU-stack, "", @progbits

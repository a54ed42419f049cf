# expect: eax=0x2d ecx=0 edx=0x12345678 esi=0xffffff86 edi=0x1234 ebp=0x7ffc
# Flat protected mode: arithmetic, 16-bit operand-size prefixes, PUSHA/POPA,
# MOVSX/MOVZX and a BCD adjust.
        .include "harness.inc"
        .code32
        xor %eax, %eax
        mov $9, %ecx
1:      add %ecx, %eax
        loop 1b
        mov $0x12345678, %edx
        pusha
        xor %edx, %edx
        popa
        movsbl 0x2013, %esi
        movzwl %dx, %edi
        mov $0x1234, %di
        mov %esp, %ebp
        push %ebp
        mov %esp, %ebp
        pop %ecx
        xor %ecx, %ecx
        done

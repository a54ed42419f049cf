# oracle: host
# MUL/IMUL in all forms and DIV/IDIV for each size.
        .include "harness.inc"
        .code64
        mov $0x123456789abcdef1, %rax
        mov $0xfedcba9876543210, %rcx
        mul %rcx
        mov %rax, %r8
        mov %rdx, %r9
        mov $-7, %rax
        mov $3, %rcx
        imul %rcx
        mov %rax, %r10
        imul $-1000, %r9, %r11
        imul %r8, %r11
        mov $0, %edx
        mov $1000003, %eax
        mov $97, %ecx
        div %ecx
        mov %eax, %r12d
        mov %edx, %r13d
        mov $-1000003, %eax
        cdq
        idiv %ecx
        mov %eax, %r14d
        mov %edx, %r15d
        mov $200, %ax
        mov $7, %cl
        div %cl
        movzx %ax, %esi
        mov $-3, %al
        mov $5, %cl
        imul %cl
        movzx %ax, %edi
        done

# oracle: host
# Logic ops, shifts and rotates with counts 0, 1 and n, SHLD/SHRD.
        .include "harness.inc"
        .code64
        mov $0x8000000000000001, %rax
        rol $1, %rax
        pushfq
        pop %r8
        mov $0x81, %cl
        mov $0x1234, %dx
        shl %cl, %dx
        pushfq
        pop %r9
        mov $0, %cl
        sar %cl, %rdx
        mov $-12345, %rsi
        sar $3, %rsi
        pushfq
        pop %r10
        mov $0xf0f0f0f0, %edi
        rcr $5, %edi
        xor %edi, %esi
        or $0x55, %sil
        test %rsi, %rsi
        pushfq
        pop %r11
        mov $0x1122334455667788, %r12
        mov $0x99aabbccddeeff00, %r13
        shld $12, %r13, %r12
        shrd $20, %r12, %r13
        pushfq
        pop %r14
        mov $0xc5, %r15b
        ror $3, %r15b
        and $0x8d5, %r8
        and $0x8c5, %r9
        and $0x8c5, %r10
        and $0x8c4, %r11
        and $0x0c5, %r14
        done

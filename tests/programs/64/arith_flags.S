# oracle: host
# ADD/ADC/SUB/SBB/NEG/INC/DEC/CMP across sizes, flags folded into registers.
        .include "harness.inc"
        .code64
        mov $0x7fffffffffffffff, %rax
        add $1, %rax
        pushfq
        pop %rcx
        mov $0xff, %dl
        add $1, %dl
        adc $0x10, %dl
        pushfq
        pop %rsi
        mov $0x8000, %r8w
        sub $1, %r8w
        sbb $0, %r8w
        pushfq
        pop %rdi
        mov $5, %r9d
        neg %r9d
        inc %r10
        dec %r11b
        cmp %r9d, %r10d
        pushfq
        pop %r12
        and $0x8d5, %rcx
        and $0x8d5, %rsi
        and $0x8d5, %rdi
        and $0x8d5, %r12
        done

# oracle: host
# BT/BTS/BTR/BTC on registers and memory (with a register offset that
# reaches past the operand), BSF/BSR, BSWAP, SETcc, CMOVcc.
        .include "harness.inc"
        .code64
        mov $0x8000000000010010, %rax
        bsf %rax, %rcx
        bsr %rax, %rdx
        bt $4, %rax
        setc %sil
        bts $63, %rax
        setc %dil
        btr $16, %rax
        btc $0, %rax
        mov $100, %r8
        bts %r8, (%rbx)
        btrq $3, 4(%rbx)
        mov 12(%rbx), %r9
        mov 0(%rbx), %r10
        mov $0x0102030405060708, %r11
        bswap %r11
        mov $0x11223344, %r12d
        bswap %r12d
        cmp $5, %r8
        cmova %r11, %r13
        cmovb %r12, %r14
        setg %r15b
        done

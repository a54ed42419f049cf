# oracle: host
# REP MOVS/STOS/LODS, REPE CMPS, REPNE SCAS, forwards and backwards.
        .include "harness.inc"
        .code64
        cld
        lea 256(%rbx), %rdi
        mov %rbx, %rsi
        mov $37, %rcx
        rep movsb
        lea 512(%rbx), %rdi
        mov $0x4142434445464748, %rax
        mov $9, %rcx
        rep stosq
        lea 256(%rbx), %rsi
        mov %rbx, %rdi
        mov $64, %rcx
        repe cmpsb
        mov %rcx, %r8
        pushfq
        pop %r9
        lea 512(%rbx), %rdi
        mov $0x43, %al
        mov $100, %rcx
        repne scasb
        mov %rcx, %r10
        std
        lea 700(%rbx), %rsi
        lea 900(%rbx), %rdi
        mov $5, %rcx
        rep movsw
        lodsl
        cld
        mov %eax, %r11d
        sub %rbx, %rsi
        sub %rbx, %rdi
        and $0x8d5, %r9
        done

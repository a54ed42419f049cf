# oracle: host
# pvm: kvm_pvm fails to emulate LOCK CMPXCHG16B ("instruction emulation failed")
# XCHG, XADD, CMPXCHG (success and failure), CMPXCHG16B, LOCK forms.
        .include "harness.inc"
        .code64
        mov $0x55, %rax
        xchg %rax, 16(%rbx)
        mov $10, %rcx
        lock xadd %rcx, 24(%rbx)
        mov 24(%rbx), %rdx
        mov 32(%rbx), %rax
        mov $0x777, %rsi
        lock cmpxchg %rsi, 32(%rbx)
        pushfq
        pop %r8
        mov $1, %rax
        lock cmpxchg %rsi, 40(%rbx)
        pushfq
        pop %r9
        mov %rax, %r10
        lock incl 48(%rbx)
        lock negw 52(%rbx)
        lock orb $0x80, 54(%rbx)
        mov 64(%rbx), %rax
        mov 72(%rbx), %rdx
        mov %rbx, %rdi
        mov $0xaaaa, %rcx
        mov $0xbbbb, %rbx
        lock cmpxchg16b 64(%rdi)
        pushfq
        pop %r11
        mov 64(%rdi), %r12
        mov 72(%rdi), %r13
        mov %rdi, %rbx
        xor %edi, %edi
        and $0x8d5, %r8
        and $0x8d5, %r9
        and $0x040, %r11
        done

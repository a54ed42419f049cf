# oracle: host
# pvm: kvm_pvm hands x87 and SSE instructions to its instruction emulator, which fails them ("instruction emulation failed"; QEMU hangs on the same guest)
# SSE/SSE2/SSE3/SSE4.1 floating point: packed and scalar arithmetic with
# NaN, signed zero, denormal and overflowing operands; MIN/MAX operand
# order; compares, COMISD/UCOMISD flags; conversions (CVT and CVTT) under
# each MXCSR rounding mode; flush-to-zero and denormals-are-zero; ROUNDPS,
# DPPS, HADDPS, ADDSUBPD, BLENDVPS, INSERTPS; the host processor's own
# RCPPS/RSQRTPS approximations; and the MXCSR flags after each group.
# Results go to the data area from 0x400 in 16-byte slots.
        .include "harness.inc"
        .code64
        .set slot, 0x400
.macro op2 insn:vararg
        movaps %xmm0, %xmm2
        \insn %xmm1, %xmm2
        movups %xmm2, slot(%rbx)
        .set slot, slot + 16
.endm
.macro flags
        stmxcsr slot(%rbx)
        .set slot, slot + 4
.endm
        movl $0x1f80, 0x100(%rbx)
        ldmxcsr 0x100(%rbx)
        movl $0x3fc00000, 0x110(%rbx)   # 1.5
        movl $0x80000000, 0x114(%rbx)   # -0
        movl $0x7f7fffff, 0x118(%rbx)   # FLT_MAX
        movl $0x00011de4, 0x11c(%rbx)   # a denormal
        movl $0x40e00000, 0x120(%rbx)   # 7
        movl $0x7fc00001, 0x124(%rbx)   # quiet NaN, payload 1
        movl $0xbf800000, 0x128(%rbx)   # -1
        movl $0x3dcccccd, 0x12c(%rbx)   # 0.1
        movups 0x110(%rbx), %xmm0
        movups 0x120(%rbx), %xmm1
        op2 addps
        op2 subps
        op2 mulps
        op2 divps
        op2 minps
        op2 maxps
        op2 sqrtps
        op2 cmpltps
        op2 cmpunordps
        op2 cmpnleps
        op2 addss
        op2 divss
        op2 sqrtss
        op2 rcpps
        op2 rsqrtps
        op2 rcpss
        op2 unpcklps
        op2 movhlps
        flags
        movl $0x1f80, 0x100(%rbx)
        ldmxcsr 0x100(%rbx)

        movabs $0x3fd5555555555555, %rax   # 1/3
        mov %rax, 0x130(%rbx)
        movabs $0x7e37e43c8800759c, %rax   # 1e300
        mov %rax, 0x138(%rbx)
        movabs $0xc004000000000000, %rax   # -2.5
        mov %rax, 0x140(%rbx)
        movabs $0x0000000000000003, %rax   # a denormal
        mov %rax, 0x148(%rbx)
        movupd 0x130(%rbx), %xmm0
        movupd 0x140(%rbx), %xmm1
        op2 addpd
        op2 mulpd
        op2 divpd
        op2 sqrtpd
        op2 minpd
        op2 maxpd
        op2 cmplepd
        op2 mulsd
        op2 divsd
        op2 subsd
        op2 addsubpd
        op2 haddpd
        op2 unpckhpd
        op2 cvtpd2ps
        op2 cvtps2pd
        flags
        comisd %xmm1, %xmm0
        pushfq
        pop %r8
        and $0x8d5, %r8
        movl $0x7ff80000, 0x154(%rbx)
        movl $0, 0x150(%rbx)
        movsd 0x150(%rbx), %xmm3        # quiet NaN
        ucomisd %xmm3, %xmm0
        pushfq
        pop %r9
        and $0x8d5, %r9
        flags

        # Conversions under each rounding mode.
        movl $0x40200000, 0x160(%rbx)   # 2.5f
        movl $0xc0600000, 0x164(%rbx)   # -3.5f
        movl $0x4f000000, 0x168(%rbx)   # 2^31 (out of int32 range)
        movl $0x3f000001, 0x16c(%rbx)   # just above 0.5
        movups 0x160(%rbx), %xmm4
        movabs $0x4004000000000000, %rax   # 2.5
        mov %rax, 0x170(%rbx)
        movabs $0xc1dfffffffe00000, %rax   # -2147483647.5
        mov %rax, 0x178(%rbx)
        movupd 0x170(%rbx), %xmm5
        movabs $0x123456789abcdef1, %r10
        lea slot(%rbx), %rdi
        xor %ecx, %ecx
1:      mov %ecx, %eax
        shl $13, %eax
        or $0x1f80, %eax
        mov %eax, 0x100(%rbx)
        ldmxcsr 0x100(%rbx)
        cvtps2dq %xmm4, %xmm2
        movdqu %xmm2, (%rdi)
        cvttps2dq %xmm4, %xmm2
        movdqu %xmm2, 16(%rdi)
        cvtpd2dq %xmm5, %xmm2
        movq %xmm2, 32(%rdi)
        cvttpd2dq %xmm5, %xmm2
        movq %xmm2, 40(%rdi)
        cvtss2si %xmm4, %eax
        mov %eax, 48(%rdi)
        cvtsd2si %xmm5, %rax
        mov %rax, 52(%rdi)
        cvttsd2si %xmm5, %eax
        mov %eax, 60(%rdi)
        cvtsi2ss %r10, %xmm2
        movd %xmm2, 64(%rdi)
        cvtsi2sd %r10, %xmm2
        movq %xmm2, 68(%rdi)
        cvtsd2ss %xmm0, %xmm2
        movd %xmm2, 76(%rdi)
        roundps $4, %xmm4, %xmm2        # the MXCSR mode
        movdqu %xmm2, 80(%rdi)
        roundsd $4, %xmm5, %xmm2
        movq %xmm2, 96(%rdi)
        roundpd $1, %xmm5, %xmm2        # floor, whatever the mode
        movdqu %xmm2, 104(%rdi)
        divsd %xmm0, %xmm5
        movq %xmm5, 120(%rdi)
        movupd 0x170(%rbx), %xmm5
        stmxcsr 128(%rdi)
        add $132, %rdi
        inc %ecx
        cmp $4, %ecx
        jne 1b
        .set slot, slot + 132 * 4

        # Flush-to-zero and denormals-are-zero.
        movups 0x110(%rbx), %xmm0
        movl $0x9fc0, 0x100(%rbx)
        ldmxcsr 0x100(%rbx)
        movl $0x00800000, 0x180(%rbx)   # FLT_MIN
        movl $0x3f000000, 0x184(%rbx)   # 0.5
        movss 0x180(%rbx), %xmm6
        mulss 0x184(%rbx), %xmm6        # underflows: flushed
        movss %xmm6, slot(%rbx)
        movaps %xmm0, %xmm2
        addps %xmm0, %xmm2              # the denormal operand reads as zero
        movups %xmm2, slot+4(%rbx)
        stmxcsr slot+20(%rbx)
        .set slot, slot + 24
        movl $0x1f80, 0x100(%rbx)
        ldmxcsr 0x100(%rbx)

        # SSE3/SSE4.1 forms.
        movl $0x3fc00000, 0x190(%rbx)   # 1.5
        movl $0x40200000, 0x194(%rbx)   # 2.5
        movl $0xc0600000, 0x198(%rbx)   # -3.5
        movl $0x3dcccccd, 0x19c(%rbx)   # 0.1
        movups 0x190(%rbx), %xmm0
        movups 0x120(%rbx), %xmm1
        op2 haddps
        op2 hsubps
        op2 addsubps
        op2 dpps $0xf3,
        op2 insertps $0x9a,
        op2 roundps $0,
        op2 roundps $3,
        op2 blendps $5,
        op2 movshdup
        op2 movsldup
        movaps %xmm1, %xmm3
        movaps %xmm0, %xmm2
        movaps %xmm1, %xmm0
        blendvps %xmm0, %xmm3, %xmm2
        movups %xmm2, slot(%rbx)
        .set slot, slot + 16
        extractps $2, %xmm3, %eax
        mov %eax, %r11d
        movmskps %xmm3, %r12d
        flags
        sub %rbx, %rdi                  # an offset, not a host pointer
        done

# oracle: host
# pvm: kvm_pvm hands x87 and SSE instructions to its instruction emulator, which fails them ("instruction emulation failed"; QEMU hangs on the same guest)
# SSE2/SSSE3/SSE4.1/SSE4.2 integer SIMD on the data area's bytes: add and
# subtract with saturation, multiplies, SAD, averages, packs, unpacks,
# shuffles, byte shifts, compares, min/max, sign and absolute value,
# blends, extensions, PTEST, MPSADBW, PHMINPOSUW, PCMPISTRI, CRC32, and
# moves between XMM and general registers. Each result vector is stored to
# the next 16-byte slot from 0x400.
        .include "harness.inc"
        .code64
        .set slot, 0x400
.macro op2 insn:vararg
        movdqa %xmm0, %xmm2
        \insn %xmm1, %xmm2
        movdqu %xmm2, slot(%rbx)
        .set slot, slot + 16
.endm
.macro op2i insn, imm
        movdqa %xmm0, %xmm2
        \insn $\imm, %xmm1, %xmm2
        movdqu %xmm2, slot(%rbx)
        .set slot, slot + 16
.endm
.macro op1i insn, imm
        movdqa %xmm0, %xmm2
        \insn $\imm, %xmm2
        movdqu %xmm2, slot(%rbx)
        .set slot, slot + 16
.endm
        movdqu 0(%rbx), %xmm0
        movdqu 21(%rbx), %xmm1
        op2 paddb
        op2 paddw
        op2 paddd
        op2 paddq
        op2 paddsb
        op2 paddusw
        op2 psubsw
        op2 psubusb
        op2 pmullw
        op2 pmulhw
        op2 pmulhuw
        op2 pmuludq
        op2 pmaddwd
        op2 psadbw
        op2 pavgb
        op2 pavgw
        op2 packsswb
        op2 packuswb
        op2 packssdw
        op2 punpcklbw
        op2 punpckhwd
        op2 punpckldq
        op2 punpckhqdq
        op2 pcmpeqb
        op2 pcmpgtw
        op2 pcmpgtd
        op2 pminub
        op2 pmaxsw
        op2 pand
        op2 pandn
        op2 por
        op2 pxor
        op2 psllw
        op2 psrld
        op2 psraw
        op2i pshufd, 0x1b
        op2i pshuflw, 0x9c
        op2i pshufhw, 0x4e
        op1i pslldq, 5
        op1i psrldq, 11
        op1i psllq, 13
        op1i psrad, 9
        op1i psrlw, 3
        op2i shufps, 0xb1
        op2i shufpd, 1
        op2 pshufb
        op2 phaddw
        op2 phsubsw
        op2 pmaddubsw
        op2 pmulhrsw
        op2 psignb
        op2 psignd
        op2 pabsb
        op2 pabsd
        op2i palignr, 7
        op2 pminsd
        op2 pmaxud
        op2 pminuw
        op2 pmulld
        op2 pmuldq
        op2 packusdw
        op2 pcmpeqq
        op2 pcmpgtq
        op2 pmovzxbw
        op2 pmovsxwd
        op2 pmovsxbq
        op2i pblendw, 0xa5
        op2i mpsadbw, 5
        op2 phminposuw
        movdqa %xmm1, %xmm3
        movdqa %xmm0, %xmm2
        pblendvb %xmm0, %xmm3, %xmm2    # mask: XMM0's byte tops
        movdqu %xmm2, slot(%rbx)
        .set slot, slot + 16

        pmovmskb %xmm0, %eax
        pextrw $5, %xmm1, %ecx
        pextrb $13, %xmm0, %edx
        pextrd $2, %xmm1, %esi
        pextrq $1, %xmm0, %rdi
        movq %xmm1, %r8
        movd %xmm0, %r9d
        ptest %xmm1, %xmm0
        setz %r10b
        setc %r11b
        ptest %xmm0, %xmm0
        setc %r12b
        movdqa %xmm0, %xmm4
        pinsrw $3, %eax, %xmm4
        pinsrd $1, %ecx, %xmm4
        pinsrq $1, %rdx, %xmm4
        pinsrb $15, %esi, %xmm4
        movdqu %xmm4, slot(%rbx)
        .set slot, slot + 16
        # PCMPISTRI: the first byte of a string in a set of ranges.
        movabs $0x7a615a41, %rax       # ranges a-z and A-Z
        movq %rax, %xmm5
        movabs $0x006f6c6c65482031, %rax   # "1 Hello", NUL-terminated
        movq %rax, %xmm6
        pcmpistri $0x04, %xmm6, %xmm5
        mov %ecx, %r13d
        pcmpistrm $0x44, %xmm6, %xmm5
        movdqu %xmm0, slot(%rbx)
        .set slot, slot + 16
        mov $0xffffffff, %r14d
        crc32b 3(%rbx), %r14d
        crc32l 8(%rbx), %r14d
        crc32q 16(%rbx), %r14
        popcnt 24(%rbx), %r15
        done

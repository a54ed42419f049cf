# oracle: host
# pvm: kvm_pvm hands x87 and SSE instructions to its instruction emulator, which fails them ("instruction emulation failed"; QEMU hangs on the same guest)
# x87 arithmetic: FILD/FLD/FST/FSTP in every width, FADD/FMUL/FDIV/FSQRT,
# FXCH, FPREM/FPREM1, FRNDINT and FIST under each rounding control, FBSTP
# and FBLD, precision control, FCOM/FUCOMI/FTST/FXAM condition codes, the
# exception flags of the status word (masked responses: indefinite, inf),
# FSCALE and FXTRACT. Every result lands in the data area or a register.
# Status words keep only the bits defined after each instruction: after
# arithmetic C0, C2 and C3 are undefined, so those are masked off.
        .include "harness.inc"
        .code64
        fninit
        movl $3, 0x100(%rbx)
        movl $7, 0x104(%rbx)
        movl $100, 0x108(%rbx)
        fildl 0x100(%rbx)
        fildl 0x104(%rbx)
        fdiv %st(1), %st                # 7/3
        fld %st(0)
        fstpt 0x200(%rbx)               # 80-bit 7/3
        fld %st(0)
        fstpl 0x20a(%rbx)               # double 7/3
        fsts 0x212(%rbx)                # single 7/3, stays on the stack
        fnstsw %ax
        and $0x3eff, %ax                # C1: the store rounded up or not
        mov %ax, 0x216(%rbx)
        fstp %st(0)
        fld1
        fadd %st(1), %st                # 4
        fsqrt                           # 2
        fxch %st(1)                     # st0 = 3, st1 = 2
        fmul %st(1), %st                # 6
        fsubrp %st, %st(1)              # 6 - 2 = 4
        fidivl 0x104(%rbx)              # 4/7
        fstpt 0x218(%rbx)
        fnstsw %ax
        and $0x3eff, %ax
        mov %ax, %r8w                   # TOP back to 0, flags so far

        # FPREM and FPREM1: 100 rem 7 and a remainder needing several steps.
        fninit
        fildl 0x104(%rbx)
        fildl 0x108(%rbx)
        fprem
        fnstsw %ax
        and $0x4700, %ax                # C3 C2 C1 C0: quotient bits, done
        mov %ax, 0x222(%rbx)
        fstpt 0x224(%rbx)
        fstp %st(0)
        fldpi
        movabs $0x4415af1d78b58c40, %rax   # 1e20
        mov %rax, 0x110(%rbx)
        fldl 0x110(%rbx)
        xor %ecx, %ecx
1:      fprem1
        inc %ecx
        fnstsw %ax
        test $0x400, %ax
        jnz 1b
        mov %ecx, %r9d                  # partial-remainder rounds
        and $0x4700, %ax
        mov %ax, 0x22e(%rbx)
        fstpt 0x230(%rbx)
        fstp %st(0)

        # Rounding control: FRNDINT and FISTP of -2.5, 2.5, 3.5, -0.1.
        lea 0x240(%rbx), %rdi
        mov $0, %ecx
2:      mov %ecx, %eax
        shl $10, %eax
        or $0x37f, %eax
        mov %ax, 0x118(%rbx)
        fldcw 0x118(%rbx)
        movabs $0xc004000000000000, %rax   # -2.5
        mov %rax, 0x120(%rbx)
        movabs $0x4004000000000000, %rax   # 2.5
        mov %rax, 0x128(%rbx)
        movabs $0x400c000000000000, %rax   # 3.5
        mov %rax, 0x130(%rbx)
        movabs $0xbfb999999999999a, %rax   # -0.1
        mov %rax, 0x138(%rbx)
        fldl 0x120(%rbx)
        frndint
        fistps (%rdi)
        fldl 0x128(%rbx)
        fistpl 2(%rdi)
        fldl 0x130(%rbx)
        fistpq 6(%rdi)
        fldl 0x138(%rbx)
        fistps 14(%rdi)
        fildl 0x104(%rbx)
        fidivl 0x100(%rbx)              # 7/3 rounded by RC
        fstps 16(%rdi)
        fld1
        fchs
        fidivl 0x100(%rbx)              # -1/3 rounded by RC
        fstpl 20(%rdi)
        add $28, %rdi
        inc %ecx
        cmp $4, %ecx
        jne 2b
        fninit

        # FBSTP/FBLD: packed BCD of 1234567890123457 (rounded from .5) and
        # back.
        movabs $0x43118b54f22aeb02, %rax   # 1234567890123456.5 as a double
        mov %rax, 0x140(%rbx)
        fldl 0x140(%rbx)
        fbstp 0x2b0(%rbx)
        fbld 0x2b0(%rbx)
        fchs
        fistpq 0x2ba(%rbx)

        # Precision control: 1/3 at 24, 53 and 64 bits.
        mov $0x007f, %ax
        mov %ax, 0x148(%rbx)
        fldcw 0x148(%rbx)
        fld1
        fidivl 0x100(%rbx)
        fstpt 0x2c2(%rbx)
        movw $0x027f, 0x148(%rbx)
        fldcw 0x148(%rbx)
        fld1
        fidivl 0x100(%rbx)
        fstpt 0x2cc(%rbx)
        fninit

        # Comparisons and classes: status word condition codes, EFLAGS.
        fld1
        fldz
        fcom %st(1)
        fnstsw %ax
        mov %ax, 0x2d6(%rbx)
        fucomi %st(1), %st
        setb %r10b
        setz %r13b
        pushfq
        pop %r11
        and $0x8d5, %r11
        ftst
        fnstsw %ax
        mov %ax, 0x2d8(%rbx)
        fxam
        fnstsw %ax
        mov %ax, 0x2da(%rbx)
        fchs
        fxam                            # negative zero
        fnstsw %ax
        mov %ax, 0x2dc(%rbx)
        fstp %st(0)
        fstp %st(0)
        fxam                            # empty
        fnstsw %ax
        mov %ax, 0x2de(%rbx)

        # Masked exceptions: 0/0 (invalid, indefinite), 1/0 (divide by zero,
        # infinity), overflow into single, FIST of a value out of range,
        # stack underflow.
        fninit
        fldz
        fldz
        fdivrp
        fstpt 0x2e0(%rbx)
        fnstsw %ax
        and $0x3eff, %ax
        mov %ax, 0x2ea(%rbx)
        fnclex
        fld1
        fldz
        fdivrp
        fstpt 0x2ec(%rbx)
        fnstsw %ax
        and $0x3eff, %ax
        mov %ax, 0x2f6(%rbx)
        fnclex
        movabs $0x7fe0000000000000, %rax   # 2^1023
        mov %rax, 0x150(%rbx)
        fldl 0x150(%rbx)
        fsts 0x2f8(%rbx)
        fistpl 0x2fc(%rbx)
        fnstsw %ax
        and $0x3eff, %ax
        mov %ax, 0x300(%rbx)
        fnclex
        fadd %st(0), %st                # empty register: stack underflow
        fnstsw %ax
        and $0x3eff, %ax
        mov %ax, 0x302(%rbx)
        fstpt 0x304(%rbx)

        # FSCALE and FXTRACT.
        fninit
        fildl 0x104(%rbx)
        fildl 0x108(%rbx)
        fscale                          # 100 * 2^7
        fstpt 0x310(%rbx)
        fstp %st(0)
        fildl 0x108(%rbx)
        fxtract
        fstpt 0x31a(%rbx)               # significand
        fstpt 0x324(%rbx)               # exponent
        fnstsw %ax
        and $0x3eff, %ax
        mov %ax, %r12w
        fninit
        sub %rbx, %rdi                  # an offset, not a host pointer
        done

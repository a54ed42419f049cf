/* Benchmark guest: the inner loops of an LZMA decoder, the work of the
 * Linux kernel's XZ decompressor (which takes most of a direct Linux boot
 * on the software CPU), in 64-bit code: a binary range decoder updating
 * 11-bit probabilities, with byte-wise normalisation from an input buffer
 * of pseudo-random bytes (so its branches are unpredictable), and a short
 * match copy after every decoded literal. Multiboot enters in 32-bit
 * protected mode; the kernel maps 1 GiB with 2 MiB pages, enters long mode,
 * runs the loop a fixed number of times and leaves through isa-debug-exit
 * (status 67). */
        .set MAGIC, 0x1badb002
        .set FLAGS, 0
        .section .multiboot, "a"
        .align 4
        .long MAGIC, FLAGS, -(MAGIC + FLAGS)
        .set ITERATIONS, 20000000
        .text
        .code32
        .globl _start
_start:
        /* Identity map of the first 1 GiB with 2 MiB pages. */
        mov $pd, %edi
        mov $0x83, %eax
        xor %ecx, %ecx
1:      mov %eax, (%edi,%ecx,8)
        movl $0, 4(%edi,%ecx,8)
        add $0x200000, %eax
        inc %ecx
        cmp $512, %ecx
        jne 1b
        mov $pd, %eax
        or $3, %eax
        mov %eax, pdpt
        mov $pdpt, %eax
        or $3, %eax
        mov %eax, pml4
        mov %cr4, %eax
        or $0x20, %eax
        mov %eax, %cr4
        mov $pml4, %eax
        mov %eax, %cr3
        mov $0xc0000080, %ecx
        rdmsr
        or $0x100, %eax
        wrmsr
        lgdt gdtr
        mov %cr0, %eax
        or $0x80000001, %eax
        mov %eax, %cr0
        ljmp $0x08, $long_entry
        .code64
long_entry:
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        /* Input bytes from a xorshift generator. */
        lea input(%rip), %rdi
        mov $0x9e3779b97f4a7c15, %rax
        mov $65536, %ecx
2:      mov %rax, %rdx
        shl $13, %rdx
        xor %rdx, %rax
        mov %rax, %rdx
        shr $7, %rdx
        xor %rdx, %rax
        mov %rax, %rdx
        shl $17, %rdx
        xor %rdx, %rax
        mov %al, (%rdi)
        inc %rdi
        dec %ecx
        jnz 2b
        /* Every probability starts at one half (0x400 of 0x800). */
        lea probs(%rip), %rdi
        mov $2048, %ecx
3:      movw $0x400, (%rdi)
        add $2, %rdi
        dec %ecx
        jnz 3b
        lea rc(%rip), %rbx
        movl $0xffffffff, (%rbx)
        movl $0x12345678, 4(%rbx)
        lea input(%rip), %rax
        mov %rax, 0x10(%rbx)
        movq $0, 0x18(%rbx)
        lea probs(%rip), %r15
        mov $1, %r10d
        mov $ITERATIONS, %edi
        /* The range coder: range at 0(%rbx), code at 4, input at 0x10,
         * input position at 0x18, match position at 0x20. */
loop:
        mov (%rbx), %r9d
        mov 4(%rbx), %r8d
        cmp $0xffffff, %r9d
        ja 4f
        shl $8, %r9d
        shl $8, %r8d
        mov 0x18(%rbx), %rax
        mov 0x10(%rbx), %rdx
        lea 1(%rax), %rsi
        and $0xffff, %esi
        mov %rsi, 0x18(%rbx)
        movzbl (%rdx,%rax,1), %eax
        add %eax, %r8d
        mov %r9d, (%rbx)
4:      mov %r10d, %eax
        and $0x7ff, %eax
        lea (%r15,%rax,2), %rsi
        movzwl (%rsi), %ecx
        mov %r9d, %edx
        shr $11, %edx
        imul %ecx, %edx
        cmp %edx, %r8d
        jae 5f
        mov %edx, %r9d
        mov $0x800, %eax
        sub %ecx, %eax
        sar $5, %eax
        add %eax, %ecx
        mov %cx, (%rsi)
        lea (%r10,%r10,1), %r10d
        jmp 6f
5:      sub %edx, %r9d
        sub %edx, %r8d
        mov %ecx, %eax
        shr $5, %eax
        sub %eax, %ecx
        mov %cx, (%rsi)
        lea 1(%r10,%r10,1), %r10d
6:      mov %r9d, (%rbx)
        mov %r8d, 4(%rbx)
        cmp $0x800, %r10d
        jb 7f
        /* A literal (8 bits) decoded: copy a short match. */
        lea out(%rip), %r11
        mov %r10d, %ecx
        and $7, %ecx
        add $2, %ecx
        mov 0x20(%rbx), %rdx
8:      mov %rdx, %rsi
        sub $5, %rsi
        and $0xfff, %esi
        movzbl (%r11,%rsi,1), %eax
        add %dl, %al
        mov %al, (%r11,%rdx,1)
        lea 1(%rdx), %rdx
        and $0xfff, %edx
        dec %ecx
        jne 8b
        mov %rdx, 0x20(%rbx)
        mov $1, %r10d
7:      dec %edi
        jnz loop
        mov $0xf4, %dx
        mov $0x21, %eax
        out %eax, %dx
9:      hlt
        jmp 9b

        .data
        .align 8
gdt:    .quad 0
        .quad 0x00af9a000000ffff
        .quad 0x00cf92000000ffff
gdtr:   .word gdtr - gdt - 1
        .long gdt
        .bss
        .align 4096
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4096
        .align 4096
rc:     .skip 4096
probs:  .skip 4096
out:    .skip 4096
input:  .skip 65536

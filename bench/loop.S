/* Benchmark guest: a multiboot kernel running an integer loop (adds, xors,
 * shifts, a multiply and a memory load/store per iteration) a fixed number
 * of times, then leaving through isa-debug-exit (status 67). */
        .set MAGIC, 0x1badb002
        .set FLAGS, 0
        .section .multiboot, "a"
        .align 4
        .long MAGIC, FLAGS, -(MAGIC + FLAGS)

        .set ITERATIONS, 10000000
        .set INSTRUCTIONS_PER_ITERATION, 10

        .text
        .code32
        .globl _start
_start:
        mov $ITERATIONS, %ecx
        xor %eax, %eax
        mov $0x12345678, %ebx
        mov $buffer, %edi
1:      add %ecx, %eax
        xor %ebx, %eax
        rol $3, %ebx
        imul $17, %eax, %edx
        mov %edx, (%edi)
        add (%edi), %ebx
        shr $1, %edx
        sub %edx, %eax
        dec %ecx
        jnz 1b
        mov $0xf4, %dx
        mov $0x21, %eax
        out %eax, %dx
2:      hlt
        jmp 2b

        /* On its own page, as a linker places data apart from code: a store
         * into a page holding code invalidates its decoded blocks. */
        .bss
        .align 4096
buffer: .skip 64

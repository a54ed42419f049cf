/* A multiboot v1 kernel that waits in HLT for timer interrupts: ten PIT
 * ticks through the 8259 (which reaches the CPU through the local APIC's
 * LINT0 in virtual-wire mode), then ten local APIC timer ticks. It prints
 * a line after each and exits through isa-debug-exit with 0x21 (status
 * 67); if interrupts never come, it waits forever and the test times out. */
        .set MAGIC, 0x1badb002
        .set FLAGS, 0
        .section .multiboot, "a"
        .align 4
        .long MAGIC, FLAGS, -(MAGIC + FLAGS)

        .set APIC, 0xfee00000
        .set PIT_VECTOR, 0x20
        .set APIC_TIMER_VECTOR, 0x40
        .set SPURIOUS_VECTOR, 0xff

        .text
        .code32
        .globl _start
_start:
        mov $stack_top, %esp
        /* Every vector ignores the interrupt; the two timers count. */
        mov $idt, %edi
        xor %ecx, %ecx
1:      mov $ignore, %eax
        cmp $PIT_VECTOR, %ecx
        jne 2f
        mov $pit_tick, %eax
2:      cmp $APIC_TIMER_VECTOR, %ecx
        jne 3f
        mov $apic_tick, %eax
3:      mov %ax, (%edi)
        mov %cs, %dx
        mov %dx, 2(%edi)
        movw $0x8e00, 4(%edi)          /* present, DPL 0, 32-bit interrupt gate */
        shr $16, %eax
        mov %ax, 6(%edi)
        add $8, %edi
        inc %ecx
        cmp $256, %ecx
        jne 1b
        lidt idt_pointer

        /* 8259: vectors 0x20-0x2f, only IRQ0 unmasked. */
        mov $0x11, %al
        out %al, $0x20
        out %al, $0xa0
        mov $PIT_VECTOR, %al
        out %al, $0x21
        mov $PIT_VECTOR + 8, %al
        out %al, $0xa1
        mov $4, %al
        out %al, $0x21
        mov $2, %al
        out %al, $0xa1
        mov $1, %al
        out %al, $0x21
        out %al, $0xa1
        mov $0xfe, %al
        out %al, $0x21
        mov $0xff, %al
        out %al, $0xa1

        /* PIT channel 0, mode 2, 1000 Hz. */
        mov $0x34, %al
        out %al, $0x43
        mov $1193, %ax
        out %al, $0x40
        mov %ah, %al
        out %al, $0x40

        sti
4:      hlt
        cmpl $10, pit_ticks
        jb 4b
        mov $pit_message, %esi
        call print

        /* Mask the PIC; the local APIC timer, periodic, about 1 ms. */
        cli
        mov $0xff, %al
        out %al, $0x21
        mov $APIC, %edi
        mov $(0x100 | SPURIOUS_VECTOR), %eax
        mov %eax, 0xf0(%edi)
        mov $0xb, %eax                  /* divide by 1 */
        mov %eax, 0x3e0(%edi)
        mov $(0x20000 | APIC_TIMER_VECTOR), %eax
        mov %eax, 0x320(%edi)
        mov $1000000, %eax
        mov %eax, 0x380(%edi)
        sti
5:      hlt
        cmpl $10, apic_ticks
        jb 5b
        mov $apic_message, %esi
        call print

        mov $0xf4, %dx
        mov $0x21, %eax
        out %eax, %dx
6:      cli
        hlt
        jmp 6b

pit_tick:
        incl pit_ticks
        push %eax
        mov $0x20, %al
        out %al, $0x20
        pop %eax
        iret
apic_tick:
        incl apic_ticks
        push %eax
        xor %eax, %eax
        mov %eax, APIC + 0xb0
        pop %eax
        iret
ignore:
        iret

print:  lodsb
        test %al, %al
        jz 8f
        mov %al, %bl
7:      mov $0x3fd, %dx
        in %dx, %al
        test $0x20, %al
        jz 7b
        mov $0x3f8, %dx
        mov %bl, %al
        out %al, %dx
        jmp print
8:      ret

        .section .rodata
pit_message:
        .asciz "timer test: 10 PIT interrupts through the 8259\r\n"
apic_message:
        .asciz "timer test: 10 local APIC timer interrupts\r\n"
        .align 8
idt_pointer:
        .word 256 * 8 - 1
        .long idt

        .bss
        .align 8
idt:    .skip 256 * 8
pit_ticks:
        .long 0
apic_ticks:
        .long 0
        .align 16
        .skip 4096
stack_top:

# expect: ax=0x1234 bx=0x2000 cx=0 dx=0x5678 si=0x0003 di=0x2010 bp=0x0042
# pvm: kvm_pvm does not deliver real-mode software interrupts through the IVT (the guest never returns from INT)
# expect-mem: 0x2010=0x34 0x12 0x78 0x56
# Real mode: segment arithmetic, 16-bit addressing forms, string store,
# a near call and an interrupt through the IVT.
        .include "harness.inc"
        .code16
        movw $handler, 0x80 * 4
        movw $0, 0x80 * 4 + 2
        mov $0x1234, %ax
        mov $0x5678, %dx
        mov $0x2010, %di
        cld
        stosw
        xchg %ax, %dx
        stosw
        xchg %ax, %dx
        mov $0x2010, %di
        mov $3, %si
        xor %cx, %cx
        int $0x80
        done
handler:
        mov $0x42, %bp
        iret

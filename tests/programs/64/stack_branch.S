# oracle: host
# PUSH/POP, CALL/RET, Jcc over both polarities, LOOP, ENTER/LEAVE.
        .include "harness.inc"
        .code64
        mov %rsp, %r15
        xor %eax, %eax
        mov $10, %ecx
1:      add %ecx, %eax
        loop 1b
        call add_five
        call add_five
        mov $3, %edx
        cmp $2, %edx
        jg 2f
        mov $0xbad, %eax
2:      jl 3f
        push $-2
        pop %rsi
        pushw $0x1234
        popw %di
3:      enter $32, $0
        mov %rbp, %r8
        sub %rsp, %r8
        leave
        mov %r15, %r9
        sub %rsp, %r9
        xor %r15d, %r15d
        done
add_five:
        add $5, %eax
        ret

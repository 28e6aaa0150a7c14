/* The patched group gains a member: the running kernel's one copy of the group cannot change. */
asm(".section .text.klp_grp,\"axG\",@progbits,klp_grp,comdat\n"
    ".globl klp_grp\n"
    ".type klp_grp, @function\n"
    "klp_grp:\n"
    "\tret\n"
    ".size klp_grp, .-klp_grp\n"
    ".section .rodata.klp_grp,\"aG\",@progbits,klp_grp,comdat\n"
    "\t.byte 1\n"
    ".previous\n");

int grp_user(void)
{
	return 1;
}

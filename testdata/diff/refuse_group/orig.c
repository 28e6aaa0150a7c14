/* A COMDAT section group, as assembler stubs (and C++ inline functions) make: the group's
 * signature symbol klp_grp and one member, its code. */
asm(".section .text.klp_grp,\"axG\",@progbits,klp_grp,comdat\n"
    ".globl klp_grp\n"
    ".type klp_grp, @function\n"
    "klp_grp:\n"
    "\tret\n"
    ".size klp_grp, .-klp_grp\n"
    ".previous\n");

int grp_user(void)
{
	return 1;
}

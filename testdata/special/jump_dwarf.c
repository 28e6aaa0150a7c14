// Jump labels as Linux 6.1's arch/x86/include/asm/jump_label.h emits them, plus the struct that
// describes an entry, so that a -g build has `struct jump_entry` in its DWARF.
struct jump_entry {
	int code;
	int target;
	long key;
};
struct static_key {
	int enabled;
};

struct jump_entry *jump_entry_in_dwarf; // makes GCC emit the type
extern struct static_key dw_key;

static inline __attribute__((always_inline)) int branch(struct static_key *key)
{
	asm goto("1: .byte 0x0f,0x1f,0x44,0x00,0x00\n\t"
		 ".pushsection __jump_table, \"aw\"\n\t"
		 ".balign 8\n\t"
		 ".long 1b - .\n\t"
		 ".long %l[l_yes] - .\n\t"
		 ".quad %c0 + %c1 - .\n\t"
		 ".popsection\n\t"
		 : : "i"(key), "i"(0) : : l_yes);
	return 0;
l_yes:
	return 1;
}

int dw_a(int x) { return branch(&dw_key) ? x : x + 1; }
int dw_b(int x) { return branch(&dw_key) ? x * 2 : x; }

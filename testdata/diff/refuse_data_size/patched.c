/*
 * The patch grows a static array. The running kernel's object keeps its size; code using the
 * larger one would overrun it: refused (exit 2), naming the symbol. (slot_owner_of() reads the
 * array so that GCC keeps it.)
 */
static int slot_owner[8];

int claim_slot(int slot, int owner)
{
	if (slot < 0 || slot >= (int)(sizeof(slot_owner) / sizeof(slot_owner[0])))
		return -22;
	slot_owner[slot] = owner;
	return 0;
}

int slot_owner_of(int slot)
{
	return slot_owner[slot & 3];
}

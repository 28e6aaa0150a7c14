/*
 * klp-diff golden case "refuse": the patch changes the initial value of a global. The running
 * kernel's copy cannot be re-initialised by a livepatch: refused (exit 2), and the report names
 * the data and the functions that use it.
 */
int max_sessions = 16;

int session_allowed(int n)
{
	return n < max_sessions;
}

int sessions_left(int n)
{
	return max_sessions - n;
}

int unrelated(int n)
{
	return n * 2;
}

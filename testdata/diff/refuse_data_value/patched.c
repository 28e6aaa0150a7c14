/*
 * The patch changes the initial value of a global. The running kernel's copy already holds its
 * (possibly modified) value and cannot be re-initialised by a livepatch: refused (exit 2); the
 * message names the symbol and points at shadow variables or callbacks.
 */
int max_sessions = 20;

int session_allowed(int n)
{
	return n < max_sessions;
}

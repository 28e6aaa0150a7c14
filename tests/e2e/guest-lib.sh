# Guest-side helpers of the e2e tests (busybox ash). lib.sh puts this file at
# /e2e/guest-lib.sh in the initramfs and /init sources it.
#
# Every result is one serial-console line
#   E2E <case> <check> PASS|FAIL <detail>
# that the host collects (lib.sh: e2e_report). Case and check names have no
# spaces. Cases run in subshells: e2e_fatal ends the current case only.
#
# Livepatch modules are named after their corpus case: case "replace-1" is
# /lib/modules/livepatch-replace-1.ko, module and sysfs name
# livepatch_replace_1. The helpers below take the case name.

E2E_MODDIR=/lib/modules
E2E_LP=/sys/kernel/livepatch
E2E_TIMEOUT=${E2E_TIMEOUT:-30}	# seconds for a transition or an unload
E2E_CASE=none

e2e_modname() { echo "livepatch_$1" | tr -- - _; }
e2e_kofile() { echo "$E2E_MODDIR/livepatch-$1.ko"; }

# e2e_result CHECK PASS|FAIL DETAIL...
e2e_result() {
	_c=$1 _r=$2
	shift 2
	echo "E2E $E2E_CASE $_c $_r $*"
}
e2e_pass() { _c=$1; shift; e2e_result "$_c" PASS "$@"; }
e2e_fail() { _c=$1; shift; e2e_result "$_c" FAIL "$@"; }
# e2e_fatal CHECK DETAIL: fail and end the current case.
e2e_fatal() { e2e_fail "$@"; exit 1; }

# e2e_out CMD: the output of shell command CMD (stdout and stderr), lines
# joined by single spaces, without a trailing space.
e2e_out() {
	eval "$1" 2>&1 | tr '\n' ' ' | sed 's/ *$//'
}

# e2e_match STRING PATTERN: shell glob match (an empty pattern matches only "").
e2e_match() {
	case $1 in
	$2) return 0 ;;
	esac
	return 1
}

# e2e_expect CHECK PATTERN CMD: CMD's output (see e2e_out) must match PATTERN.
e2e_expect() {
	_o=$(e2e_out "$3")
	if e2e_match "$_o" "$2"; then
		e2e_pass "$1" "'$_o'"
	else
		e2e_fail "$1" "got '$_o', want '$2' (from: $3)"
	fi
}

# e2e_run CHECK CMD: CMD must succeed (fatal otherwise).
e2e_run() {
	if _o=$(eval "$2" 2>&1); then
		e2e_pass "$1" "$2"
	else
		e2e_fatal "$1" "'$2' failed: $(echo "$_o" | tr '\n' ' ')"
	fi
}

# e2e_poll SECONDS CMD...: run CMD every 0.1 s until it succeeds; status 1
# once SECONDS have passed.
e2e_poll() {
	_i=0 _n=$(($1 * 10))
	shift
	until "$@"; do
		_i=$((_i + 1))
		[ $_i -le $_n ] || return 1
		sleep 0.1
	done
}
e2e_reads() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
e2e_absent() { [ ! -e "$1" ]; }
# A patch's transition is over when its transition file reads 0, or when the
# patch is gone (a disabled patch's directory goes away as its transition
# ends, and with it the file).
e2e_settled() { e2e_absent "$1" || e2e_reads "$1/transition" 0; }

# e2e_wait_value FILE VALUE [SECONDS]: until FILE reads VALUE.
e2e_wait_value() { e2e_poll "${3:-$E2E_TIMEOUT}" e2e_reads "$1" "$2"; }
# e2e_wait_settled PATCH_DIR [SECONDS]: until the patch's transition is over.
e2e_wait_settled() { e2e_poll "${2:-$E2E_TIMEOUT}" e2e_settled "$1"; }
# e2e_wait_gone PATH [SECONDS]: until PATH no longer exists.
e2e_wait_gone() { e2e_poll "${2:-$E2E_TIMEOUT}" e2e_absent "$1"; }

e2e_loaded() { grep -q "^$1 " /proc/modules; }

# e2e_load_started CASE: insmod the case's module; it must be enabled (its
# transition may still be going on). Checks: load:CASE, enabled:CASE.
e2e_load_started() {
	_m=$(e2e_modname "$1")
	if _o=$(insmod "$(e2e_kofile "$1")" 2>&1); then
		e2e_pass "load:$1" "insmod $(e2e_kofile "$1")"
	else
		e2e_fatal "load:$1" "insmod failed: $_o"
	fi
	_e=$(cat "$E2E_LP/$_m/enabled" 2>&1)
	if [ "$_e" = 1 ]; then
		e2e_pass "enabled:$1" "$E2E_LP/$_m/enabled=1"
	else
		e2e_fatal "enabled:$1" "$E2E_LP/$_m/enabled is '$_e'"
	fi
}

# e2e_load CASE: insmod the case's module; it must be enabled and finish its
# transition. Checks: load:CASE, enabled:CASE, transition:CASE.
e2e_load() {
	e2e_load_started "$1"
	_m=$(e2e_modname "$1")
	if e2e_wait_value "$E2E_LP/$_m/transition" 0; then
		e2e_pass "transition:$1" "transition=0"
	else
		e2e_fatal "transition:$1" "transition still $(cat "$E2E_LP/$_m/transition") after ${E2E_TIMEOUT}s"
	fi
}

# e2e_load_fails CASE [ERROR]: insmod must fail (with ERROR in its message if
# given) and leave nothing behind. Checks: refused:CASE, nothing-left:CASE.
e2e_load_fails() {
	_m=$(e2e_modname "$1")
	if _o=$(insmod "$(e2e_kofile "$1")" 2>&1); then
		e2e_fatal "refused:$1" "insmod succeeded"
	fi
	_o=$(echo "$_o" | tr '\n' ' ')
	if [ -n "$2" ] && ! e2e_match "$_o" "*$2*"; then
		e2e_fail "refused:$1" "insmod failed, but not with '$2': $_o"
	else
		e2e_pass "refused:$1" "$_o"
	fi
	if [ -e "$E2E_LP/$_m" ]; then
		e2e_fail "nothing-left:$1" "$E2E_LP/$_m exists"
	elif e2e_loaded "$_m"; then
		e2e_fail "nothing-left:$1" "$_m in /proc/modules"
	else
		e2e_pass "nothing-left:$1" "no sysfs entry, not loaded"
	fi
}

# e2e_disable CASE: echo 0 > enabled, wait for the transition and for the
# patch to go away. Check: disable:CASE.
e2e_disable() {
	_m=$(e2e_modname "$1")
	echo 0 >"$E2E_LP/$_m/enabled" 2>/tmp/e2e.err ||
		e2e_fatal "disable:$1" "echo 0 > $E2E_LP/$_m/enabled: $(cat /tmp/e2e.err)"
	if ! e2e_wait_settled "$E2E_LP/$_m"; then
		e2e_fatal "disable:$1" "transition still $(cat "$E2E_LP/$_m/transition") after ${E2E_TIMEOUT}s"
	fi
	if e2e_wait_gone "$E2E_LP/$_m"; then
		e2e_pass "disable:$1" "transition=0, $E2E_LP/$_m gone"
	else
		e2e_fatal "disable:$1" "$E2E_LP/$_m still there after ${E2E_TIMEOUT}s"
	fi
}

# e2e_gone CASE: the case's patch went away by itself (replaced). Check:
# replaced:CASE.
e2e_gone() {
	_m=$(e2e_modname "$1")
	if e2e_wait_gone "$E2E_LP/$_m"; then
		e2e_pass "replaced:$1" "$E2E_LP/$_m gone"
	else
		e2e_fail "replaced:$1" "$E2E_LP/$_m still there (enabled=$(cat "$E2E_LP/$_m/enabled"))"
	fi
}

# e2e_unload CASE: rmmod; the module must be gone. Check: rmmod:CASE.
e2e_unload() {
	_m=$(e2e_modname "$1")
	if ! _o=$(rmmod "$_m" 2>&1); then
		e2e_fatal "rmmod:$1" "rmmod $_m failed: $_o"
	elif e2e_loaded "$_m"; then
		e2e_fatal "rmmod:$1" "$_m still in /proc/modules"
	else
		e2e_pass "rmmod:$1" "rmmod $_m"
	fi
}

# e2e_enabled_is CASE VALUE: the patch's enabled file reads VALUE. Check:
# still-enabled:CASE.
e2e_enabled_is() {
	_m=$(e2e_modname "$1")
	_e=$(cat "$E2E_LP/$_m/enabled" 2>&1)
	if [ "$_e" = "$2" ]; then
		e2e_pass "still-enabled:$1" "enabled=$_e"
	else
		e2e_fail "still-enabled:$1" "enabled is '$_e', want $2"
	fi
}

# e2e_funcs CASE "OBJ:FUNC,FUNC OBJ:FUNC": the functions the patch lists in
# sysfs (/sys/kernel/livepatch/<mod>/<obj>/<func>,<sympos>), objects and
# functions sorted. Check: sysfs-funcs:CASE.
e2e_funcs() {
	_m=$(e2e_modname "$1")
	_got=$(cd "$E2E_LP/$_m" 2>/dev/null && for _o in $(ls); do
		[ -d "$_o" ] || continue
		case $_o in power) continue ;; esac
		printf '%s:%s\n' "$_o" "$(ls "$_o" | grep , | sed 's/,[0-9]*$//' | sort | tr '\n' ',' | sed 's/,$//')"
	done | sort | tr '\n' ' ' | sed 's/ $//')
	if [ "$_got" = "$2" ]; then
		e2e_pass "sysfs-funcs:$1" "$_got"
	else
		e2e_fail "sysfs-funcs:$1" "got '$_got', want '$2'"
	fi
}

# e2e_dmesg_has CHECK TEXT / e2e_dmesg_lacks CHECK TEXT: the case's kernel
# log (cleared when the case starts) has / lacks a line containing TEXT.
e2e_dmesg_has() {
	if dmesg | grep -qF -- "$2"; then
		e2e_pass "$1" "log has '$2'"
	else
		e2e_fail "$1" "no '$2' in the kernel log"
	fi
}
e2e_dmesg_lacks() {
	if dmesg | grep -qF -- "$2"; then
		e2e_fail "$1" "log has '$(dmesg | grep -F -- "$2" | head -n 1)'"
	else
		e2e_pass "$1" "no '$2' in the log"
	fi
}

# e2e_wait_expect CHECK PATTERN CMD [SECONDS]: like e2e_expect, but polls
# until CMD's output matches (E2E_TIMEOUT seconds by default).
e2e_wait_expect() {
	if e2e_poll "${4:-$E2E_TIMEOUT}" e2e_matches "$2" "$3"; then
		e2e_pass "$1" "'$(e2e_out "$3")'"
	else
		e2e_fail "$1" "got '$(e2e_out "$3")' for ${4:-$E2E_TIMEOUT}s, want '$2' (from: $3)"
	fi
}
e2e_matches() { e2e_match "$(e2e_out "$2")" "$1"; }

# ---- tasks parked in a patched function (per-task consistency) ----
#
# A parked task is a subshell looping on "read <FIFO": the shell opens the
# FIFO for reading in its own process, so it sleeps in the kernel's
# fifo_open() (wait_for_partner(), an interruptible sleep) until a writer
# opens the FIFO. It then appends the line it read to FIFO.log, closes the
# FIFO and opens it again: the same task calls fifo_open() anew.

# e2e_park CHECK FIFO: create FIFO, start a task parked on it and wait until
# it sleeps in fifo_open(). E2E_PARKED is its pid (also in /tmp/e2e.parked,
# for e2e_cleanup).
e2e_park() {
	rm -f "$2" "$2.log"
	mkfifo "$2" || e2e_fatal "$1" "mkfifo $2 failed"
	: >"$2.log"
	(while :; do read -r _x <"$2" && echo "$_x" >>"$2.log"; done) &
	E2E_PARKED=$!
	echo "$E2E_PARKED" >>/tmp/e2e.parked
	if e2e_poll 10 e2e_in_fifo_open "$E2E_PARKED"; then
		e2e_pass "$1" "pid $E2E_PARKED sleeps in $(cat "/proc/$E2E_PARKED/wchan")"
	else
		e2e_fatal "$1" "pid $E2E_PARKED is not in fifo_open(): wchan '$(cat "/proc/$E2E_PARKED/wchan" 2>&1)'"
	fi
}
e2e_in_fifo_open() {
	case $(cat "/proc/$1/wchan" 2>/dev/null) in
	fifo_open | wait_for_partner) return 0 ;;
	esac
	return 1
}

# e2e_unpark CHECK FIFO WORD: write WORD to FIFO: the parked task leaves
# fifo_open(), logs WORD and opens the FIFO again; waits until it is back
# in fifo_open().
e2e_unpark() {
	echo "$3" >"$2"
	if e2e_poll 10 grep -qx "$3" "$2.log" && e2e_poll 10 e2e_in_fifo_open "$E2E_PARKED"; then
		e2e_pass "$1" "pid $E2E_PARKED read '$3' and sleeps in fifo_open() again"
	else
		e2e_fail "$1" "pid $E2E_PARKED: log '$(tr '\n' ' ' <"$2.log")', wchan '$(cat "/proc/$E2E_PARKED/wchan" 2>&1)'"
	fi
}

# e2e_unpark_kill: end the parked task (SIGKILL) and reap it.
e2e_unpark_kill() {
	kill -9 "$E2E_PARKED" 2>/dev/null
	wait "$E2E_PARKED" 2>/dev/null
	sed -i "/^$E2E_PARKED\$/d" /tmp/e2e.parked
}

# e2e_fifo_reader FIFO: a new task opens FIFO for reading once (a writer is
# started for it); prints the reader's pid.
e2e_fifo_reader() {
	[ -p "$1" ] || mkfifo "$1"
	(echo x >"$1") &
	sh -c 'echo $$; read -r _x <"$1"' _ "$1"
	wait $!
}

# e2e_tasks_in PATCH_STATE: the pids whose /proc/<pid>/patch_state reads
# PATCH_STATE (-1 no transition, 0 unpatched, 1 patched), space-separated.
# The listing's own tasks are forks of this shell and share its state.
e2e_tasks_in() {
	for _d in /proc/[0-9]*; do
		[ "$(cat "$_d/patch_state" 2>/dev/null)" = "$1" ] && echo "${_d#/proc/}"
	done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# e2e_wait_tasks_in CHECK PATCH_STATE PIDS [SECONDS]: until exactly PIDS
# are in PATCH_STATE (10 s by default: well before the kernel's fake
# signals, 15 s into a transition).
e2e_wait_tasks_in() {
	if e2e_poll "${4:-10}" e2e_reads_tasks_in "$2" "$3"; then
		e2e_pass "$1" "patch_state $2: pid $3 only"
	else
		e2e_fail "$1" "patch_state $2: pids '$(e2e_tasks_in "$2")', want '$3'"
	fi
}
e2e_reads_tasks_in() { [ "$(e2e_tasks_in "$1")" = "$2" ]; }

# e2e_keep_module CASE: the case's module stays loaded for the rest of the
# boot (the kernel keeps a reference on a patch whose disabling was forced);
# e2e_cleanup leaves it.
e2e_keep_module() { e2e_modname "$1" >>/tmp/e2e.keep; }

# ---- used by /init (generated by lib.sh) ----

E2E_BAD_LOG='Call Trace|WARNING:|BUG:|Oops|general protection|Kernel panic'

# e2e_log_check NAME FILE: FILE (a kernel log) has no trace, warning or bug.
e2e_log_check() {
	if grep -Eq "$E2E_BAD_LOG" "$2"; then
		e2e_fail kernel-log "$(grep -Em1 "$E2E_BAD_LOG" "$2")"
	else
		e2e_pass kernel-log "no Call Trace/WARNING:/BUG: ($(wc -l <"$2") lines)"
	fi
}

# e2e_cleanup: disable and remove whatever a case left behind, so that the
# next case starts clean. Check: clean.
e2e_cleanup() {
	_left=
	touch /tmp/e2e.keep /tmp/e2e.parked
	for _p in $(cat /tmp/e2e.parked); do
		_left="$_left parked:$_p"
		kill -9 "$_p" 2>/dev/null
	done
	: >/tmp/e2e.parked
	for _p in $(ls "$E2E_LP" 2>/dev/null); do
		_left="$_left $_p"
	done
	for _try in 1 2 3 4 5; do
		for _p in $(ls "$E2E_LP" 2>/dev/null); do
			[ "$(cat "$E2E_LP/$_p/transition" 2>/dev/null)" = 1 ] && continue
			echo 0 >"$E2E_LP/$_p/enabled" 2>/dev/null
		done
		for _p in $(ls "$E2E_LP" 2>/dev/null); do
			e2e_wait_settled "$E2E_LP/$_p" 10
			e2e_wait_gone "$E2E_LP/$_p" 10
		done
		[ -z "$(ls "$E2E_LP" 2>/dev/null)" ] && break
	done
	for _m in $(awk '{ print $1 }' /proc/modules); do
		grep -qx "$_m" /tmp/e2e.keep && continue
		_left="$_left module:$_m"
		rmmod "$_m" 2>/dev/null
	done
	if [ -n "$_left" ]; then
		e2e_fail clean "left behind:$_left; still there: $(ls "$E2E_LP" 2>/dev/null | tr '\n' ' ')$(awk '{ print $1 }' /proc/modules | grep -vxF -f /tmp/e2e.keep | tr '\n' ' ')"
	else
		e2e_pass clean "no livepatch, no module loaded"
	fi
}

# e2e_case NAME FUNCTION: run FUNCTION as case NAME in a subshell, then clean
# up, check and print the case's kernel log.
e2e_case() {
	E2E_CASE=$1
	echo "E2E-CASE $1 begin"
	dmesg -c >/dev/null
	("$2")
	echo "E2E-CASE $1 exit $?"
	e2e_cleanup
	dmesg -c >"/tmp/e2e-log.$1"
	cat "/tmp/e2e-log.$1" >>/tmp/e2e-log.all
	sed "s/^/E2E-LOG $1 | /" "/tmp/e2e-log.$1"
	e2e_log_check "$1" "/tmp/e2e-log.$1"
	echo "E2E-CASE $1 end"
	E2E_CASE=none
}

# testdata/patches/cmdline.patch, the case every stock-kernel run starts with (e2e_case cmdline
# case_cmdline): /proc/cmdline says it was live patched while the module is enabled, and is the
# boot command line again once it is disabled.
case_cmdline() {
	orig=$(cat /proc/cmdline)
	e2e_expect before "$orig" "cat /proc/cmdline"
	e2e_load cmdline
	e2e_funcs cmdline "vmlinux:cmdline_proc_show"
	e2e_expect during "this has been live patched" "cat /proc/cmdline"
	e2e_disable cmdline
	e2e_expect after "$orig" "cat /proc/cmdline"
	e2e_unload cmdline
}

#!/bin/sh
# PID 1 after switch_root: the host's own userland (overlay over 9p) is now / .
# Runs the script named by lvsd.run= on the kernel command line, framed by marker lines
# the host parses (test/vm/console.ts), then powers the VM off.

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

run=
for a in $(cat /proc/cmdline); do
	case "$a" in lvsd.run=*) run="${a#lvsd.run=}" ;; esac
done

ip link set lo up
hostname lvsd-vm 2>/dev/null

if [ -z "$run" ] || [ ! -r "$run" ]; then
	echo "@@LVSD-VM-INIT-ERROR@@ run script '$run' not readable in the guest"
else
	# The empty line first ends whatever the firmware left on the console line (escape codes).
	printf '\n@@LVSD-VM-BEGIN@@\n'
	/bin/sh "$run" </dev/null >/dev/console 2>&1
	status=$?
	# The empty line first ends a last line the script left unterminated; the host drops it.
	printf '\n@@LVSD-VM-EXIT %d@@\n' "$status"
fi
sync
echo o >/proc/sysrq-trigger
# PID 1 must not exit: the kernel would panic instead of powering off.
while :; do sleep 60; done

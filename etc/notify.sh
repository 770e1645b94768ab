#!/bin/sh
# /etc/lvsd/notify.sh: a sample lvsd notify hook. It logs how it was called
# (its arguments and the LVSD_* variables) to syslog/the journal with
# logger(1), tag "lvsd-notify", and always exits 0. Copy it and add your own
# actions where marked below.
#
# lvsd runs hooks without a shell, as root, with stdin and stdout on
# /dev/null; their stderr is kept and shown in lvsd's log only when a hook
# fails (exits non-zero) or times out (30 s: its process group is killed).
# Hooks of one instance, group or real server run one at a time, in event
# order; a slow hook never holds VRRP up. With enable_script_security = true
# this file and every directory above it must be owned by root and not
# writable by group or others.
#
# How lvsd calls it (the same forms as keepalived):
#
#   notify = /etc/lvsd/notify.sh            ([global], [vrrp_instance.*] or
#                                            [vrrp_sync_group.*]) gets these
#                                            four words appended:
#     INSTANCE NAME MASTER|BACKUP|FAULT|STOP PRIORITY   a VRRP instance
#     GROUP    NAME MASTER|BACKUP|FAULT|STOP 0          a sync group, once all
#                                                       its members agree
#   and, from [global] notify only (an lvsd addition; keepalived reports real
#   servers only on its notify_fifo):
#     RS [REAL_IP]:PROTO:PORT [VIP]:PROTO:PORT UP|DOWN  e.g.
#        RS [198.51.100.1]:tcp:80 [192.0.2.100]:tcp:80 DOWN
#     (a firewall-mark service is written fwmark:N)
#
#   notify_master = /etc/lvsd/notify.sh master   notify_backup, notify_fault,
#   notify_stop, notify_up, notify_down, quorum_up, quorum_down: exactly the
#   arguments written in the configuration, nothing appended (keepalived's
#   rule), so "master" above arrives as $1.
#
# The environment of every hook also holds (unset ones are absent):
#   LVSD_TYPE            INSTANCE | GROUP | RS | VS (VS: quorum_up/quorum_down)
#   LVSD_STATE           MASTER | BACKUP | FAULT | STOP, or UP | DOWN
#   LVSD_PREVIOUS_STATE  the state left (INIT, BACKUP, MASTER, FAULT, UP, DOWN)
#   LVSD_REASON          why, e.g. "master down timer expired", "ECONNREFUSED"
#   LVSD_NAME            the instance or group name
#   LVSD_INSTANCE        the instance name (INSTANCE events)
#   LVSD_GROUP           the sync group name (GROUP events)
#   LVSD_PRIORITY        the effective priority (INSTANCE), 0 (GROUP)
#   LVSD_REAL_SERVER     [ip]:proto:port (RS events)
#   LVSD_VIRTUAL_SERVER  [vip]:proto:port or fwmark:N (RS events); the
#                        [virtual_server.NAME] name (VS events)

tag=lvsd-notify

case ${1-} in
INSTANCE | GROUP)
	what="$(printf '%s' "$1" | tr 'A-Z' 'a-z') ${2-?} is now ${3-?} (priority ${4-?})"
	;;
RS)
	what="real server ${2-?} of ${3-?} is ${4-?}"
	;;
'')
	what="called without arguments"
	;;
*)
	what="called with: $*"
	;;
esac

vars=""
for v in LVSD_TYPE LVSD_STATE LVSD_PREVIOUS_STATE LVSD_REASON LVSD_NAME LVSD_INSTANCE LVSD_GROUP \
	LVSD_PRIORITY LVSD_REAL_SERVER LVSD_VIRTUAL_SERVER; do
	eval "set_=\${$v+x} val_=\${$v-}"
	[ -n "$set_" ] && vars="$vars $v=\"$val_\""
done

msg="$what;${vars:- no LVSD_* variables}"

# logger talks to /dev/log (the journal under systemd). Where it is missing or
# fails, stderr is the fallback (seen in lvsd's log only if the hook fails).
if ! logger -t "$tag" -p daemon.notice -- "$msg" 2>/dev/null; then
	printf '%s: %s\n' "$tag" "$msg" >&2
fi

# --- your actions ------------------------------------------------------------
# Examples (keep them quick: a hook that takes over 30 s is killed):
#
# case "${1-}:${3-}" in
# INSTANCE:MASTER) ;;   # e.g. start a service that must run on the master only
# INSTANCE:BACKUP | INSTANCE:FAULT | INSTANCE:STOP) ;;
# RS:*) ;;              # $4 is UP or DOWN
# esac

exit 0

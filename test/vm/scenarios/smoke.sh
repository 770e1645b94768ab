#!/bin/sh
# Smallest guest check: who we are, which kernel, whether the IPVS modules are in.
echo "kernel $(uname -r)"
echo "uid $(id -u)"
echo "cwd $(pwd)"
echo "LVSD_VM=$LVSD_VM"
lsmod | awk 'NR>1 {print $1}' | sort | tr '\n' ' '; echo
ls /proc/net/ip_vs

#!/bin/busybox sh
# /etc/minihv/check.sh (minihv.run=check): what a user's first commands in
# the shell would be; the smoke test greps for the last line.
uname -a
cat /proc/cpuinfo
ls /proc
echo "minihv-check: ok"

#!/bin/sh
# Checks the Debian packages minihv needs; installs the missing ones when run
# as root (apt-get update first), otherwise prints the exact command and fails.
set -eu
PKGS="gcc make nasm binutils grub-common grub-pc-bin xorriso mtools qemu-system-x86 \
bochs bochsbios vgabios bochs-term gdb python3 spin"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q </dev/null
	apt-get install -y -q --no-install-recommends $missing </dev/null
else
	echo "deps: missing Debian packages:$missing"
	echo "deps: run as root:  apt-get update && apt-get install -y$missing"
	exit 1
fi

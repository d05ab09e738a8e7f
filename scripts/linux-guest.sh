#!/bin/bash
# Usage: linux-guest.sh OUTDIR
# The Linux guest of `make run-linux`: Debian's cloud kernel and a busybox
# initramfs. Downloads, without installing, the package that
# linux-image-cloud-amd64 depends on (linux-image-6.1.0-NN-cloud-amd64) and
# busybox-static into OUTDIR/debs (kept: a later run downloads nothing while
# they are apt's candidates), then writes
#   OUTDIR/vmlinuz     the bzImage from the kernel package's /boot
#   OUTDIR/initrd.img  an uncompressed newc cpio (scripts/mkinitramfs.py):
#                      /bin/busybox, guest/linux/init as /init, its inittab,
#                      its scripts in /etc/minihv, /dev/console and /dev/null
# Each is replaced only when its content changes. Without apt's package lists
# it runs `apt-get update` as root, or names the command and fails.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
[ $# = 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
umask 022
mkdir -p "$out/debs"

META=linux-image-cloud-amd64
BUSYBOX=busybox-static
root=false
[ "$(id -u)" = 0 ] && root=true
updated=false

say() { echo "linux-guest: $*" >&2; }
die() { say "$*"; exit 1; }

update_lists() {
	$updated && return 1
	$root || return 1
	say "apt-get update"
	apt-get update -q </dev/null >&2
	updated=true
}

# apt's candidate version of package $1, empty when apt does not know it.
candidate() {
	apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1
}

# Sets KPKG, KVER, BVER from apt's lists; fails when they lack a package.
KPKG=
resolve() {
	local pkg kver bver
	pkg=$(apt-cache show --no-all-versions "$META" 2>/dev/null |
		sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*-cloud-amd64\).*/\1/p' | head -n 1)
	[ -n "$pkg" ] || return 1
	kver=$(candidate "$pkg")
	bver=$(candidate "$BUSYBOX")
	[ -n "$kver" ] && [ -n "$bver" ] || return 1
	KPKG=$pkg KVER=$kver BVER=$bver
}

# The .deb of package $1 at version $2 in OUTDIR/debs, if there is one.
have_deb() {
	local f
	for f in "$out/debs/$1"_*.deb; do
		[ -f "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$2" ] && { echo "$f"; return 0; }
	done
	return 1
}

# Downloads package $1 at version $2 unless it is there; prints its path.
fetch() {
	local f
	if f=$(have_deb "$1" "$2"); then
		echo "$f"
		return 0
	fi
	say "apt-get download $1=$2"
	# As root apt would warn that its _apt user cannot write to OUTDIR.
	local opt=()
	$root && opt=(-o APT::Sandbox::User=root)
	(cd "$out/debs" && apt-get download -q "${opt[@]}" "$1=$2" </dev/null >&2) || return 1
	have_deb "$1" "$2"
}

if ! resolve; then
	if update_lists; then
		resolve || die "apt knows no $META or $BUSYBOX: is Debian bookworm's main in /etc/apt/sources.list?"
	else
		# No lists and no root: use what an earlier run downloaded.
		KDEB=$(find "$out/debs" -name 'linux-image-*-cloud-amd64_*.deb' | sort -V | tail -n 1)
		BDEB=$(find "$out/debs" -name "${BUSYBOX}_*.deb" | sort -V | tail -n 1)
		if [ -z "$KDEB" ] || [ -z "$BDEB" ]; then
			die "apt's package lists do not have $META; run as root:  apt-get update"
		fi
		say "no apt lists: using $(basename "$KDEB") and $(basename "$BDEB") from $out/debs"
	fi
fi
if [ -n "$KPKG" ]; then
	# Stale lists name versions the mirror no longer has: update once, retry.
	if ! { KDEB=$(fetch "$KPKG" "$KVER") && BDEB=$(fetch "$BUSYBOX" "$BVER"); }; then
		update_lists || die "apt-get download failed$($root || echo "; as root:  apt-get update")"
		resolve || die "apt knows no $META after apt-get update"
		KDEB=$(fetch "$KPKG" "$KVER") || die "apt-get download $KPKG failed after apt-get update"
		BDEB=$(fetch "$BUSYBOX" "$BVER") || die "apt-get download $BUSYBOX failed after apt-get update"
	fi
fi

# Extract each package once per .deb: the kernel's /boot only (its modules
# are not needed: the initramfs loads none), busybox-static whole.
extract() { # DEB DIR [MEMBER...]
	local deb=$1 dir=$2
	shift 2
	[ "$(cat "$dir/.deb" 2>/dev/null)" = "$(basename "$deb")" ] && return 0
	rm -rf "$dir" && mkdir -p "$dir"
	if [ $# = 0 ]; then
		dpkg-deb -x "$deb" "$dir"
	else
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards "$@"
	fi
	basename "$deb" > "$dir/.deb"
}
extract "$KDEB" "$out/kernel" './boot/vmlinuz-*'
extract "$BDEB" "$out/root"

# Replace $2 by $1 only when they differ: make's timestamps stay honest.
install_new() {
	if cmp -s "$1" "$2"; then rm -f "$1"; else mv -f "$1" "$2"; fi
}

set -- "$out"/kernel/boot/vmlinuz-*
if [ $# != 1 ] || [ ! -f "$1" ]; then
	die "$(basename "$KDEB"): want one boot/vmlinuz-*, found: $*"
fi
cp "$1" "$out/vmlinuz.new"
install_new "$out/vmlinuz.new" "$out/vmlinuz"

stage=$out/initramfs
rm -rf "$stage"
mkdir -p "$stage"
for d in bin dev etc etc/minihv proc root sys tmp; do
	mkdir -p "$stage/$d"
done
chmod 0700 "$stage/root"
chmod 1777 "$stage/tmp"
install -m 0755 "$out/root/bin/busybox" "$stage/bin/busybox"
install -m 0755 "$top/guest/linux/init" "$stage/init"
install -m 0644 "$top/guest/linux/inittab" "$stage/etc/inittab"
install -m 0755 "$top/guest/linux/e2e.sh" "$stage/etc/minihv/e2e.sh"
install -m 0755 "$top/guest/linux/shell-check.sh" "$stage/etc/minihv/check.sh"
# /dev/kmsg and /dev/ttyS0 as well: the guest's devtmpfs provides them,
# these stand in when it cannot be mounted.
python3 "$here/mkinitramfs.py" --node dev/console:c:5:1:600 --node dev/null:c:1:3:666 \
	--node dev/kmsg:c:1:11:644 --node dev/ttyS0:c:4:64:660 "$stage" > "$out/initrd.img.new"
install_new "$out/initrd.img.new" "$out/initrd.img"
say "$out/vmlinuz: $(basename "$KDEB"), $(stat -c %s "$out/vmlinuz") bytes"
say "$out/initrd.img: $(basename "$BDEB"), $(stat -c %s "$out/initrd.img") bytes"

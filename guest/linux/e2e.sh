#!/bin/busybox sh
# shellcheck disable=SC3040,SC3057 # busybox ash: pipefail, ${var:offset:len}
# /etc/minihv/e2e.sh (minihv.run=e2e): the Linux guest's end-to-end
# workload. (a) At least 1000 fork+execs, counted by the kernel itself
# (/proc/stat "processes"); (b) a 64 MiB file on a tmpfs written from a
# deterministic generator through tee, its MD5 taken from the stream, then
# from the file read back: both must equal the value computed on the host
# (EXPECT below). (A third read cost the suite a 64 MiB MD5 under nested
# emulation and checked nothing the second does not.) Prints one "minihv-e2e: forks=N checksum=HEX ok" or
# "minihv-e2e: FAIL reason" line, then "minihv-e2e: done".
#
# It runs under an emulator in an emulator: no per-byte shell loops; the
# bytes come from tail and tr. On a Linux host the same script checks the
# generator without a tmpfs mount:
#   E2E_DIR=/tmp/e2e build/linux/root/bin/busybox sh guest/linux/e2e.sh
# (the commands run by name are then the host's, or busybox's in PATH).
set -o pipefail
EXPECT=461889150b43721d555cbab9d3638963
MIB=64
dir=${E2E_DIR:-/mnt}

fail() {
	echo "minihv-e2e: FAIL $*"
	echo "minihv-e2e: done"
	exit 1
}

forks() { awk '$1 == "processes" { print $2 }' /proc/stat; }
start=$(forks)

# (a) Processes: plain fork+exec (an explicit path is never a shell
# builtin), then pipelines whose output is checked.
i=0
while [ $i -lt 1000 ]; do
	/bin/true || fail "/bin/true exited $? (run $i)"
	i=$((i + 1))
done
i=0
while [ $i -lt 50 ]; do
	got=$(/bin/echo "$i" | /bin/sed 's/$/x/' | /bin/cat) || fail "pipeline $i exited $?"
	[ "$got" = "${i}x" ] || fail "pipeline $i printed '$got'"
	i=$((i + 1))
done

# (b) The data. A 64 KiB base of LCG numbers, 16 bytes a line, repeated to
# 1 MiB; block k is the line "%015x\n" of k, then the base less its first
# line with its hex digits rotated by k % 16: exactly 1 MiB that depends on k.
if [ -z "${E2E_DIR:-}" ]; then
	mkdir -p "$dir"
	mount -t tmpfs -o size=96M tmpfs "$dir" || fail "mount tmpfs on $dir"
fi
mkdir -p "$dir" || fail "mkdir $dir"
awk 'BEGIN { x = 1; for (i = 0; i < 4096; i++) {
	x = (x * 69069 + 1) % 2147483648; printf "%08x%07x\n", x, i * 65521 % 268435456 } }' \
	> "$dir/base64k" || fail "awk"
b=$dir/base64k
cat "$b" "$b" "$b" "$b" "$b" "$b" "$b" "$b" "$b" "$b" "$b" "$b" "$b" "$b" "$b" "$b" \
	> "$dir/base1m" || fail "cat"

gen() {
	hex=0123456789abcdef
	k=0
	while [ $k -lt $MIB ]; do
		r=$((k % 16))
		printf '%015x\n' $k
		tail -c +17 "$dir/base1m" | tr "$hex" "${hex:$r}${hex:0:$r}"
		k=$((k + 1))
	done
}
sum_stream=$(gen | tee "$dir/data" | md5sum) || fail "generator or tee exited $?"
sum_stream=${sum_stream%% *}
size=$(stat -c %s "$dir/data")
[ "$size" = $((MIB << 20)) ] || fail "$dir/data is $size bytes, not $((MIB << 20))"
sum_file=$(md5sum "$dir/data") || fail "md5sum $dir/data"
sum_file=${sum_file%% *}
n=$(($(forks) - start))

[ "$sum_stream" = "$EXPECT" ] || fail "stream md5 $sum_stream, expected $EXPECT"
[ "$sum_file" = "$EXPECT" ] || fail "file md5 $sum_file (stream $sum_stream)"
[ "$n" -ge 1000 ] || fail "only $n processes forked"
rm -f "$dir/data" "$dir/base64k" "$dir/base1m"
[ -z "${E2E_DIR:-}" ] && umount "$dir"
echo "minihv-e2e: forks=$n checksum=$EXPECT ok"
echo "minihv-e2e: done"

# A job pool for test.sh and bench.sh (sourced, not run): independent
# emulator runs side by side, one per core, their lines in a fixed order.
#
# job COST CMD...: add a run. CMD is a function of the caller with its
# arguments; COST its usual seconds, for the start order only: the dearest
# start first, so that the last to finish is a short one.
# pool: run them, POOL_JOBS at a time, each with its output buffered under
# $POOL_DIR; print each one's output in the order the jobs were added, as
# soon as those before it are done. A job that sets P, F and S (test.sh's
# tally) adds them to the caller's; one that dies before its end counts
# as a failure.
POOL_JOBS=${POOL_JOBS:-$(nproc 2>/dev/null || echo 2)}
JOB_COST=() JOB_CMD=()
job() {
	local cost=$1
	shift
	JOB_COST+=("$cost") JOB_CMD+=("$*")
}

# PID and its descendants, deepest first: an emulator runs under timeout(1)
# in a process group of its own, out of reach of a signal to ours.
kill_tree() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$c"; done
	kill -TERM "$1" 2>/dev/null
}

pool() {
	local n=${#JOB_CMD[@]} i next=0 printed=0 p f s
	local -a order pids
	rm -rf "$POOL_DIR" && mkdir -p "$POOL_DIR"
	mapfile -t order < <(for i in "${!JOB_COST[@]}"; do echo "${JOB_COST[$i]} $i"; done |
		sort -s -k1,1nr -k2,2n | cut -d' ' -f2)
	trap 'for i in "${pids[@]}"; do kill_tree "$i"; done; exit 130' INT TERM
	while [ "$printed" -lt "$n" ]; do
		while [ "$next" -lt "$n" ] && [ "$(jobs -pr | wc -l)" -lt "$POOL_JOBS" ]; do
			i=${order[$next]}
			next=$((next + 1))
			# The counts file is written last: it says the job reached its end.
			# N.cpu: the CPU time it took (times: user and system, its own
			# and its children's), for sizing the runs.
			(
				P=0 F=0 S=0
				eval "${JOB_CMD[$i]}"
				{ echo "${JOB_CMD[$i]}"; times; } > "$POOL_DIR/$i.cpu"
				echo "$P $F $S" > "$POOL_DIR/$i.counts"
			) > "$POOL_DIR/$i.out" 2>&1 </dev/null &
			pids[$i]=$!
		done
		while [ "$printed" -lt "$n" ] && [ -n "${pids[$printed]:-}" ] &&
			{ [ -e "$POOL_DIR/$printed.counts" ] || ! kill -0 "${pids[$printed]}" 2>/dev/null; }; do
			wait "${pids[$printed]}" 2>/dev/null
			cat "$POOL_DIR/$printed.out"
			if read -r p f s < "$POOL_DIR/$printed.counts" 2>/dev/null; then
				P=$((${P:-0} + p)) F=$((${F:-0} + f)) S=$((${S:-0} + s))
			else
				echo "job '${JOB_CMD[$printed]}' died before its end (output: $POOL_DIR/$printed.out)"
				F=$((${F:-0} + 1))
			fi
			printed=$((printed + 1))
		done
		[ "$printed" -lt "$n" ] && { wait -n 2>/dev/null || sleep 0.2; }
	done
	trap - INT TERM
	JOB_COST=() JOB_CMD=()
}

#!/bin/bash
# make model: check the Promela models of model/ exhaustively with Spin, then
# each model mutant of model/mutants.txt, which must give a counter-example
# (docs/model.md).
#
# For each run: spin -a writes the verifier (pan.c) into a work folder under
# $BUILD/model, gcc compiles it, pan searches the whole state space. Safety
# runs (assertions, invalid end states) use -DSAFETY; the progress run
# (invalidation: no fault retries forever) looks for non-progress cycles
# under weak fairness (-DNP, pan -l -f). Never -DCOLLAPSE, bitstate or
# -DHC: a "no error" verdict is only given for an exhaustive search, so a
# search that did not complete (depth limit, memory) fails.
#
# Prints TAP lines, a table (model, states, depth, seconds, result; mutant,
# killed by which run, counter-example length in steps), the error trail of
# the swapped seq++/in_progress-- mutant in C function names (every step
# line of a model carries a "C: file: function" comment; MODEL_TRAILS=all
# prints every mutant's), and last "N passed, N failed, N skipped". Exits
# non-zero on any failure: a model with an error, a mutant that survives,
# a model over MODEL_LIMIT seconds (default 30), spin or gcc missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$root/$BUILD ;; esac
WORK=$BUILD/model
MODELS="invalidation remote_flush gpc unsync"
MODEL_LIMIT=${MODEL_LIMIT:-30}
MODEL_TRAILS=${MODEL_TRAILS:-swap_seq_inprogress}
CCOPT=${MODEL_CCOPT:--O1}

n=0 P=0 F=0
TABLE=() MTABLE=() TRAILS=()
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
ok() { n=$((n + 1)); P=$((P + 1)); echo "ok $n $*"; }
notok() { n=$((n + 1)); F=$((F + 1)); echo "not ok $n $*"; }

for tool in spin gcc; do
	if ! command -v "$tool" > /dev/null; then
		notok "model_tools # $tool is missing: scripts/deps.sh installs it (Debian package $tool)"
		echo "$P passed, $F failed, 0 skipped"
		exit 1
	fi
done

# The runs of each model: NAME SPIN_DEFINES GCC_DEFINES PAN_FLAGS.
checks_of() {
	case "$1" in
	invalidation)
		echo "safety||-DSAFETY|"
		# The lockless user of mmu_invalidate_retry() (RETRY_READER in the model).
		echo "reader|-DRETRY_READER|-DSAFETY|"
		# No livelock: non-progress cycles under weak fairness (6 processes).
		echo "progress||-DNP -DNFAIR=3|-l -f"
		;;
	*) echo "safety||-DSAFETY|" ;;
	esac
}

# run MODEL CHECK-LINE DIR [MUTANT]: sets R_STATES R_DEPTH R_ERRORS R_SECS
# R_DONE (exhaustive: yes/no) R_WHY, leaves pan's output in DIR/pan.out.
run() {
	local model=$1 spec=$2 dir=$3 mutant=${4:-} sdef gdef pflags start
	IFS='|' read -r _ sdef gdef pflags <<< "$spec"
	rm -rf "$dir" && mkdir -p "$dir"
	cp "$root/model/$model.pml" "$dir/"
	R_STATES=- R_DEPTH=- R_ERRORS=- R_SECS=- R_DONE=no R_WHY=
	start=$(now)
	# shellcheck disable=SC2086 # the defines are words
	if ! (cd "$dir" && spin $sdef ${mutant:+-DMUTANT_$mutant} -a "$model.pml") > "$dir/spin.out" 2>&1; then
		R_WHY="spin -a failed: $(tail -n 2 "$dir/spin.out" | tr '\n' ' ')"
		return
	fi
	# shellcheck disable=SC2086
	if ! (cd "$dir" && gcc -w $CCOPT $gdef -o pan pan.c) > "$dir/gcc.out" 2>&1; then
		R_WHY="gcc failed: $(tail -n 2 "$dir/gcc.out" | tr '\n' ' ')"
		return
	fi
	# shellcheck disable=SC2086
	(cd "$dir" && timeout -k 5 $((MODEL_LIMIT * 4)) ./pan -m1000000 $pflags) > "$dir/pan.out" 2>&1
	R_SECS=$(secs "$start")
	local o=$dir/pan.out
	R_STATES=$(awk '/states, stored/ { print $1; exit }' "$o")
	R_DEPTH=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$o" | head -1)
	R_ERRORS=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$o" | head -1)
	: "${R_STATES:=-}" "${R_DEPTH:=-}" "${R_ERRORS:=-}"
	local short
	short=$(grep -m1 -E 'Search not completed|max search depth too small|out of memory|too many processes' "$o")
	if [ -n "$short" ]; then
		R_WHY="search not exhaustive: $short"
	elif [ "$R_ERRORS" = - ]; then
		R_WHY="pan did not finish: $(tail -n 2 "$o" | tr '\n' ' ')"
	else
		R_DONE=yes
	fi
}

# The trail of DIR's last run as the interleaving of C functions: each step
# is "proc N (name:i) model.pml:LINE ... [statement]"; LINE's "C:" comment
# names the function.
c_trail() {
	local model=$1 dir=$2 sdef=$3 mutant=$4
	# shellcheck disable=SC2086
	(cd "$dir" && spin $sdef -DMUTANT_$mutant -t -p -k "$model.pml.trail" "$model.pml") 2>&1 |
		awk -v src="$dir/$model.pml" '
		BEGIN { while ((getline l < src) > 0) { ++ln; if (match(l, /C: [^*]*\*\//)) c[ln] = substr(l, RSTART + 3, RLENGTH - 6) } }
		/^ *[0-9]+:[ \t]+proc/ {
			if (!match($0, /proc +[0-9]+ \([^)]*\)/)) next
			p = substr($0, RSTART, RLENGTH); sub(/proc +/, "", p)
			if (!match($0, /\.pml:[0-9]+/)) next
			line = substr($0, RSTART + 5, RLENGTH - 5) + 0
			stmt = $0; sub(/.*\(state [0-9]+\)[ \t]*/, "", stmt)
			if (!(line in c)) next # a step of the model alone (a lock, a loop counter)
			fn = c[line]
			if (p == lastp && fn == lastfn) { # one C step, several Promela statements
				if (line == errline) { print "      ^ assertion violated here"; exit }
				next
			}
			lastp = p; lastfn = fn
			printf "%4d  %-16s %s\n", ++k, p, fn
			if (line == errline) { print "      ^ assertion violated here"; exit }
		}
		/Error: assertion violated/ { if (match($0, /\.pml:[0-9]+/)) errline = substr($0, RSTART + 5, RLENGTH - 5) + 0 }
		/<<<<<START OF CYCLE>>>>>/ { print "      -- the cycle starts here, and repeats forever" }'
}

# What the counter-example of DIR breaks: the "C:" comment of the line of
# the failed assertion (spin -t replays the trail), or pan's own words
# (a non-progress cycle, an invalid end state).
c_what() {
	local model=$1 dir=$2 sdef=$3 mutant=$4 line
	# shellcheck disable=SC2086
	line=$( (cd "$dir" && spin $sdef -DMUTANT_$mutant -t "$model.pml") 2>&1 |
		sed -n 's/.*\.pml:\([0-9]*\), Error: assertion violated.*/\1/p' | head -1)
	if [ -n "$line" ]; then
		sed -n "${line}s/.*C: \(.*\) \*\/.*/\1/p" "$dir/$model.pml"
	else
		grep -m1 -oE 'non-progress cycle|acceptance cycle|invalid end state' "$dir/pan.out"
	fi
}

echo "# Spin: $(spin -V 2>&1 | head -1); pan built with gcc $CCOPT; work folder $WORK"
mkdir -p "$WORK"
START=$(now)
for model in $MODELS; do
	while read -r spec; do
		check=${spec%%|*}
		case "$check" in
		safety) label=model_$model ;;
		reader) label=model_${model}_retry_reader ;;
		*) label=model_${model}_$check ;;
		esac
		run "$model" "$spec" "$WORK/$model-$check"
		result=ok
		if [ "$R_DONE" != yes ]; then
			result="FAIL ($R_WHY)"
		elif [ "$R_ERRORS" != 0 ]; then
			result="FAIL ($R_ERRORS error(s): $(grep -m1 -E 'assertion violated|acceptance cycle|non-progress cycle|invalid end state' "$WORK/$model-$check/pan.out" | sed 's/^pan:[0-9]*: *//'))"
		elif awk -v s="$R_SECS" -v l="$MODEL_LIMIT" 'BEGIN { exit !(s > l) }'; then
			result="FAIL (${R_SECS}s, over the ${MODEL_LIMIT}s limit)"
		fi
		TABLE+=("$(printf '%-28s %10s %6s %7s  %s' "$model/$check" "$R_STATES" "$R_DEPTH" "$R_SECS" "$result")")
		if [ "$result" = ok ]; then ok "$label"; else notok "$label # $result"; fi
	done < <(checks_of "$model")
done
MODEL_SECS=$(secs "$START")

while read -r model mutant checks cname; do
	case "$model" in '' | '#'*) continue ;; esac
	label=model_${model}_mutant_$mutant
	killed='' len='' why=''
	for check in ${checks//,/ }; do
		spec=$(checks_of "$model" | grep "^$check|")
		if [ -z "$spec" ]; then why="no run '$check' for $model"; break; fi
		run "$model" "$spec" "$WORK/mut-$model-$mutant" "$mutant"
		if [ -n "$R_WHY" ] && [ "$R_ERRORS" = - ]; then
			why=$R_WHY
			break
		fi
		if [ "$R_ERRORS" != - ] && [ "$R_ERRORS" != 0 ]; then
			killed=$check
			# Steps in the counter-example (a cycle's "-N:-N:-N" markers are not steps).
			len=$(grep -cv '^-' "$WORK/mut-$model-$mutant/$model.pml.trail" 2>/dev/null)
			IFS='|' read -r _ sdef _ _ <<< "$spec"
			what=$(c_what "$model" "$WORK/mut-$model-$mutant" "$sdef" "$mutant")
			case " $MODEL_TRAILS " in *" all "* | *" $mutant "*) trail=1 ;; *) trail= ;; esac
			if [ -n "$trail" ]; then
				TRAILS+=("$model mutant $mutant ($check run, $len steps): $what"
					"$(c_trail "$model" "$WORK/mut-$model-$mutant" "$sdef" "$mutant")")
			fi
			break
		fi
	done
	if [ -n "$killed" ]; then
		ok "$label # killed by $killed, counter-example of $len steps"
		MTABLE+=("$(printf '%-50s %-8s %5s  %-38s %s' "$model/$mutant" "$killed" "$len" "${cname:--}" "$what")")
	else
		notok "$label # SURVIVED${why:+: $why}"
		MTABLE+=("$(printf '%-50s %-8s %5s  %-38s %s' "$model/$mutant" SURVIVED - "${cname:--}" "$why")")
	fi
done < "$root/model/mutants.txt"

echo "#"
printf '# %-28s %10s %6s %7s  %s\n' model states depth seconds result
for l in "${TABLE[@]}"; do echo "# $l"; done
echo "# models: ${MODEL_SECS}s"
echo "#"
printf '# %-50s %-8s %5s  %-38s %s\n' mutant "found by" steps "C mutant (make mutants)" "what the counter-example breaks"
for l in "${MTABLE[@]}"; do echo "# $l"; done
echo "# all: $(secs "$START")s"
for ((i = 0; i < ${#TRAILS[@]}; i += 2)); do
	echo "#"
	echo "# trail: ${TRAILS[$i]}"
	sed 's/^/#   /' <<< "${TRAILS[$((i + 1))]}"
done
echo "$P passed, $F failed, 0 skipped"
[ "$F" = 0 ]

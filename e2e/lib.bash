# shellcheck shell=bash
# Shared by e2e/run.sh (and so by the cluster providers it sources) and by the scenarios' helpers.

kctl() { "$TOOLS_BIN/kubectl" "$@"; }

# eventually SECONDS COMMAND...: succeeds once COMMAND does, polling every 0.1 s; otherwise fails,
# naming COMMAND and showing its last output.
eventually() {
	local seconds=$1 out
	shift
	local deadline=$((SECONDS + seconds))
	while :; do
		if out=$("$@" 2>&1); then return 0; fi
		if ((SECONDS >= deadline)); then
			echo "not within ${seconds}s: $*" >&2
			[[ -z $out ]] || echo "last output: $out" >&2
			return 1
		fi
		sleep 0.1
	done
}

#!/usr/bin/env bats
# Scenario 2: the serving CSR is approved late. The kubelet writes its certificate; the agent sees it,
# removes the taint within 2 s of the file appearing, turns Ready, and the apiserver→kubelet TLS path
# (kubectl logs) works.

setup() {
	load helpers
}

@test "approving the pending CSR gets the kubelet its serving certificate" {
	local csrs
	mapfile -t csrs < <(serving_csrs pending)
	((${#csrs[@]} > 0))
	kctl certificate approve "${csrs[@]}"
	eventually 30 node_sh "test -s $SERVING_PEM"
}

@test "the taint is gone within 2 s of the certificate appearing" {
	eventually 10 no_our_taint
	# The agent posts its Event right after reading the node back without the taint; its eventTime
	# (microseconds, the node's clock) is when the removal was confirmed.
	eventually 10 has_event StartupTaintRemoved
	local appeared removed latency
	# The symlink's own mtime: the kubelet renames it into place once the new PEM is complete.
	appeared=$(node_sh "stat -c %.9Y $SERVING_PEM")
	removed=$(event_time StartupTaintRemoved)
	latency=$(awk -v a="$appeared" -v r="$removed" 'BEGIN { printf "%.3f", r - a }')
	echo "pass=$E2E_PASS cert_appeared=$appeared taint_removed=$removed latency_s=$latency" |
		tee -a "$E2E_OUT/latency.txt"
	awk -v l="$latency" 'BEGIN { exit !(l > 0 && l <= 2.0) }'
}

@test "the agent turns Ready" {
	eventually 20 agent_ready
}

@test "kubectl logs of a pod on the node works: the apiserver trusts the kubelet's certificate" {
	run kctl -n "$NS" logs "$(agent_pod)"
	echo "$output" | tail -n 5
	((status == 0))
	[[ $output == *StartupTaintRemoved* ]]
	# The JVM says nothing about its AOT cache when it maps it; it complains when it rejects it.
	[[ $output != *"[aot]"* ]]
}

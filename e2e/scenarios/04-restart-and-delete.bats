#!/usr/bin/env bats
# Scenario 4: once the taint is gone, a restarted agent has nothing to do (it patches nothing and
# records no removal), and `kubectl delete -k` takes away everything the install created.

setup() {
	load helpers
}

@test "a restarted agent finds nothing to do and turns Ready" {
	local old removals
	old=$(agent_pod)
	removals=$(event_count StartupTaintRemoved)
	kctl -n "$NS" delete pod "$old" --wait=true
	eventually 60 agent_ready
	[[ $(agent_pod) != "$old" ]]
	eventually 10 agent_log_has "nothing to remove"
	refute has_our_taint
	[[ $(event_count StartupTaintRemoved) == "$removals" ]]
}

@test "kubectl delete -k leaves nothing behind and the node untainted" {
	kctl delete -k "$E2E_DEPLOY" --wait=true
	# The DaemonSet's pods go after it (garbage collection), so wait for the last object to go.
	eventually 60 nothing_installed
	refute has_our_taint
}

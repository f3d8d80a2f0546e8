#!/usr/bin/env bash
# Runs COMMAND while process PARENT lives: polls PARENT every second, forwards TERM and INT, and
# escalates to KILL after 5 s. The JVM cannot set PR_SET_PDEATHSIG on its children, and a shutdown hook
# does not run on kill -9, so ControlPlane.java starts every server under this guard: not even a killed
# test JVM leaves an apiserver or etcd behind.
#
# Usage: scaffolding/guard.sh PARENT_PID COMMAND [ARG...]
set -uo pipefail
parent=${1:?usage: guard.sh PARENT_PID COMMAND [ARG...]}
shift
"$@" &
child=$!
stop() {
	kill -TERM "$child" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$child" 2>/dev/null || exit 0
		sleep 0.5
	done
	kill -KILL "$child" 2>/dev/null
	exit 0
}
trap stop TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do
	sleep 1 &
	wait $!
done
kill -0 "$child" 2>/dev/null && stop
wait "$child"

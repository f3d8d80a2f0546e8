#!/usr/bin/env bash
# Trains an AOT cache for a runtime where no API server is reachable (the Dockerfile's builder stage):
# the agent starts with the production options and the manifests' default certificate source (the
# kubelet's port, closed here), builds its TLS clients and retries against closed ports until it is
# stopped. That covers start-up, configuration, logging, the probe and the HTTP stack; `make runtime`
# (AotTraining) trains on a full run against a real apiserver instead, and is what the benchmarks
# measure. The kubeconfig comes from e2e/kubeconfig.sh, the one writer of kubeconfigs.
#
# Usage: jlink/train-offline.sh RUNTIME_DIR [ROOT]   (writes RUNTIME_DIR/app/app.aot)
#   ROOT  an image root file system: RUNTIME_DIR is then a path inside it (/opt/kscu), and the agent
#         runs chrooted there, so the cache records the paths the container will use. The e2e image
#         build (e2e/image/build-oci.sh) trains this way; it needs root.
set -euo pipefail
root=${2:-}
if [[ -n $root ]]; then
	root=$(cd "$root" && pwd)
	runtime=${1:?usage: train-offline.sh RUNTIME_DIR [ROOT]}
	[[ $runtime == /* && -x $root$runtime/jre/bin/java ]] || {
		echo "train-offline.sh: $root$runtime/jre/bin/java is missing (RUNTIME_DIR is a path inside ROOT)" >&2
		exit 1
	}
	mkdir -p "$root/tmp" "$root/dev" "$root/proc"
	inside=$(mktemp -d "$root/tmp/training.XXXXXX")
	work=$inside
	inside=${inside#"$root"}
	# Runs in the background (exec keeps $! the JVM's pid, for the SIGTERM below). A private mount
	# namespace: the /dev and /proc mounts vanish with the process, even if it is killed.
	# shellcheck disable=SC2016 # expanded by the inner sh
	exec_agent() { exec unshare --mount --propagation private -- sh -c 'r=$1; shift; mount --rbind /dev "$r/dev" &&
		mount -t proc proc "$r/proc" && exec chroot "$r" "$@"' sh "$root" "$@"; }
else
	runtime=$(cd "${1:?usage: train-offline.sh RUNTIME_DIR [ROOT]}" && pwd)
	work=$(mktemp -d)
	inside=$work
	exec_agent() { exec "$@"; }
fi
java=$runtime/jre/bin/java
trap 'rm -rf "$work"' EXIT

bash "$(dirname "${BASH_SOURCE[0]}")/../e2e/kubeconfig.sh" https://127.0.0.1:9 insecure training token=training \
	>"$work/kubeconfig"

# Settings in the environment and no arguments, as the DaemonSet runs it: that path skips picocli.
NODE_NAME=training KUBECONFIG=$inside/kubeconfig CERT_SOURCE=kubelet KUBELET_ADDRESS=127.0.0.1:9 \
	KUBELET_CA_FILE=none STARTUP_JITTER=0 \
	HEALTH_ADDR=127.0.0.1:0 LOG_FORMAT=json exec_agent "$java" "@$runtime/app/jvm.options" \
	"-XX:AOTCacheOutput=$runtime/app/app.aot" -jar "$runtime/app/kubelet-server-cert-untaint.jar" \
	>"$work/agent.log" 2>&1 &
pid=$!
sleep 4
kill -TERM "$pid"
if ! wait "$pid"; then
	cat "$work/agent.log" >&2
	echo "train-offline.sh: the training run did not exit 0" >&2
	exit 1
fi
cache=$root$runtime/app/app.aot
[[ -s $cache ]] || { echo "train-offline.sh: no AOT cache written" >&2; exit 1; }
echo "train-offline.sh: $cache ($(du -h "$cache" | cut -f1))" >&2

#!/usr/bin/env bash
# Trains an AOT cache for a runtime where no API server is reachable (the Dockerfile's builder stage):
# the agent starts with the production options and the manifests' default certificate source (the
# kubelet's port, closed here), builds its TLS clients and retries against closed ports until it is
# stopped. That covers start-up, configuration, logging, the probe and the HTTP stack; `make runtime`
# (AotTraining) trains on a full run against a real apiserver instead, and is what the benchmarks
# measure. The kubeconfig comes from scaffolding/kubeconfig.sh, the one writer of kubeconfigs.
#
# Usage: jlink/train-offline.sh RUNTIME_DIR   (writes RUNTIME_DIR/app/app.aot)
#   Train where the image will run it (the Dockerfile trains at /opt/kscu): a cache is tied to the
#   runtime's path.
set -euo pipefail
runtime=$(cd "${1:?usage: train-offline.sh RUNTIME_DIR}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
java=$runtime/jre/bin/java
trap 'rm -rf "$work"' EXIT

bash "$here/../scaffolding/kubeconfig.sh" https://127.0.0.1:9 insecure training token=training \
	>"$work/kubeconfig"

# The image's command (jlink/launch), writing the cache instead of reading it.
mapfile -t command < <(grep -v '^#' "$here/launch" | sed -e "s#{runtime}#$runtime#g" \
	-e 's#^-XX:AOTCache=#-XX:AOTCacheOutput=#')
[[ ${command[0]} == "$java" ]] || { echo "train-offline.sh: jlink/launch does not start with $java" >&2; exit 1; }

# Settings in the environment and no arguments, as the DaemonSet runs it: that path skips picocli.
NODE_NAME=training KUBECONFIG=$work/kubeconfig CERT_SOURCE=kubelet KUBELET_ADDRESS=127.0.0.1:9 \
	KUBELET_CA_FILE=none STARTUP_JITTER=0 HEALTH_ADDR=127.0.0.1:0 LOG_FORMAT=json "${command[@]}" \
	>"$work/agent.log" 2>&1 &
pid=$!
sleep 4
kill -TERM "$pid"
if ! wait "$pid"; then
	cat "$work/agent.log" >&2
	echo "train-offline.sh: the training run did not exit 0" >&2
	exit 1
fi
cache=$runtime/app/app.aot
[[ -s $cache ]] || { echo "train-offline.sh: no AOT cache written" >&2; exit 1; }
echo "train-offline.sh: $cache ($(du -h "$cache" | cut -f1))" >&2

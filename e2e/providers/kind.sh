# shellcheck shell=bash disable=SC2034 # its variables are read by e2e/run.sh and the scenarios
# Cluster provider `kind`, sourced by e2e/run.sh (`make e2e`): a control plane and one worker from
# e2e/providers/kind-config.yaml. The worker registers with the startup taint and its kubelet-serving
# CSR stays pending until a scenario approves it. The agent's image is built with the user-facing
# Dockerfile and loaded with `kind load`.
#
# Two ways, chosen by KIND_OFFLINE (auto: offline when Docker Hub does not answer):
# - stock: kind's own node image (or KIND_NODE_IMAGE), kindnetd, CoreDNS, `docker build`; what users
#   run on a laptop with Docker.
# - offline (no registry, as on our CI machines): the node image e2e/image/kind-node.sh builds here,
#   kind-config.offline.yaml appended to the config (etcd's tag, no CoreDNS, cgroup v1, no default
#   CNI; this file gives each node a bridge network), and the Dockerfile built with buildah
#   (e2e/image/build.sh) and handed to Docker as an archive.
#
# Docker: the engine `docker info` reaches (DOCKER_HOST honoured). With none, as root with dockerd
# installed, this provider runs one of its own for the run: a socket under $KIND_STATE, its images in
# $KIND_CACHE/docker (the node image is built once per version and kept there, like the tools), no
# iptables, masquerading, forwarding or default bridge on the host. `provider_down` stops it and puts
# the host back as it found it: links, sysctls (a kind node's kubelet and systemd set the kernel-wide
# ones), and /lib/modules, which Docker creates to bind-mount it when the host has none.

KIND_CLUSTER=kscu-e2e
KIND=$TOOLS_BIN/kind
E2E_NODE=$KIND_CLUSTER-worker
KUBECONFIG=$E2E_OUT/kind.kubeconfig
POD_LOGS_DIR=/var/log/pods
AGENT_IMAGE=localhost/kubelet-server-cert-untaint:e2e
KIND_OFFLINE=${KIND_OFFLINE:-auto}
KIND_CACHE=${KSCU_KIND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubelet-server-cert-untaint/kind}
# The run's own Docker engine and what the host looked like before it; tmpfs, like what it records
# (sysctls, links).
KIND_STATE=/run/kscu-e2e-kind
((EUID == 0)) || KIND_STATE=${XDG_RUNTIME_DIR:-/tmp}/kscu-e2e-kind
KIND_SOCKET=$KIND_STATE/docker.sock
# Sysctls that change by themselves; never restored nor reported.
KIND_VOLATILE_SYSCTLS='kernel/ns_last_pid|kernel/random/|fs/(dentry-state|file-nr|inode-nr|inode-state|quota/)|net/netfilter/nf_conntrack_count|kernel/pty/nr|kernel/tainted'
# The scenarios run in processes of their own: they find the engine this way.
if [[ -S $KIND_SOCKET ]]; then export DOCKER_HOST=unix://$KIND_SOCKET; fi

# What this machine must have before anything is built.
provider_preflight() {
	if ! docker info >/dev/null 2>&1 && ! kind_own_docker_possible; then
		die "kind needs a Docker engine: none answers (docker info), and this provider can start one only as root with dockerd installed (apt-get install docker.io); or use make e2e-node"
	fi
	grep -q "key: $E2E_TAINT_KEY\$" "$E2E_REPO/e2e/providers/kind-config.yaml" ||
		die "e2e/providers/kind-config.yaml must register the worker with TAINT_KEY $E2E_TAINT_KEY"
	if kind_offline; then
		((EUID == 0)) || die "the offline node image is built as root (mmdebstrap, buildah); or run where a registry answers"
		local tool missing=()
		for tool in mmdebstrap buildah gcc jq; do command -v "$tool" >/dev/null || missing+=("$tool"); done
		((${#missing[@]} == 0)) || die "offline kind needs: ${missing[*]} (apt-get install mmdebstrap buildah gcc jq)"
	fi
}

kind_own_docker_possible() { ((EUID == 0)) && command -v dockerd >/dev/null && command -v docker >/dev/null; }

# offline: KIND_OFFLINE=true, or auto and Docker Hub (kind's node images) does not answer.
kind_offline() {
	case $KIND_OFFLINE in
	true) return 0 ;;
	false) return 1 ;;
	auto)
		[[ -z ${KIND_REGISTRY_ANSWERS:-} ]] &&
			KIND_REGISTRY_ANSWERS=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' https://registry-1.docker.io/v2/ || true)
		[[ $KIND_REGISTRY_ANSWERS == 000 || -z $KIND_REGISTRY_ANSWERS ]]
		;;
	*) die "KIND_OFFLINE must be auto, true or false (got '$KIND_OFFLINE')" ;;
	esac
}

# The tools of make kind-tools.
provider_check() {
	local tool
	for tool in kubectl kind; do
		[[ -x $TOOLS_BIN/$tool ]] || die "$TOOLS_BIN/$tool is missing: run make kind-tools"
	done
}

# kind_node_image: the offline node image's reference, which names what it is built from.
kind_node_image() {
	local k8s inputs
	k8s=$("$TOOLS_BIN/kubelet" --version)
	inputs=$(
		cat "$E2E_REPO"/e2e/image/{kind-node.sh,packages.bash,pause.c}
		readlink -f "$TOOLS_BIN"/{kubeadm,kubelet,kubectl,kube-proxy,kube-apiserver,kube-controller-manager,kube-scheduler,etcd,crictl,kind-base-files}
	)
	echo "localhost/kscu-kind-node:${k8s#Kubernetes }-$(sha256sum <<<"$inputs" | cut -c1-12)"
}

# Docker, then the node image (offline, once per version) and the agent's image. First what a killed
# run left, and a record of the host as it is.
provider_build_images() {
	provider_down
	rm -f "$KIND_STATE.leftovers"
	mkdir -p "$KIND_STATE"
	kind_record_host
	kind_docker_up
	if ! kind_offline; then
		docker build -t "$AGENT_IMAGE" --build-arg "GIT_COMMIT=$(git -C "$E2E_REPO" rev-parse --short HEAD)" "$E2E_REPO"
		return
	fi
	# The agent's image, and the pause image the node image preloads.
	bash "$E2E_REPO/e2e/image/build.sh" "$E2E_IMAGES"
	local node_image
	node_image=$(kind_node_image)
	if docker image inspect "$node_image" >/dev/null 2>&1; then
		log "node image $node_image: built before"
	else
		TOOLS_BIN=$TOOLS_BIN bash "$E2E_REPO/e2e/image/kind-node.sh" "$node_image" "$E2E_IMAGES/pause.tar"
	fi
	# Node images of other versions or inputs would only fill the disk.
	docker images --format '{{.Repository}}:{{.Tag}}' "${node_image%:*}" | grep -vxF "$node_image" |
		xargs -r docker image rm >/dev/null || true
	buildah --storage-driver vfs push --quiet "$AGENT_IMAGE" "docker-archive:$E2E_IMAGES/agent.docker.tar:$AGENT_IMAGE" >/dev/null
	docker load -q -i "$E2E_IMAGES/agent.docker.tar" >/dev/null
}

kind_docker_up() {
	if docker info >/dev/null 2>&1; then return 0; fi
	kind_own_docker_possible || die "no Docker engine answers (docker info)"
	mkdir -p "$KIND_STATE" "$KIND_CACHE/docker"
	echo '{}' >"$KIND_STATE/daemon.json"
	# No iptables, masquerading, forwarding or docker0 on the host: the nodes reach each other on
	# their own bridge and the host reaches the API server through docker-proxy. Its runtime clamps
	# privileged containers' capabilities to the host's (e2e/providers/kind-runc.sh).
	setsid dockerd --host "unix://$KIND_SOCKET" --config-file "$KIND_STATE/daemon.json" \
		--data-root "$KIND_CACHE/docker" --exec-root "$KIND_STATE/exec" --pidfile "$KIND_STATE/dockerd.pid" \
		--iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
		--userland-proxy=true --add-runtime "kscu-runc=$E2E_REPO/e2e/providers/kind-runc.sh" \
		--default-runtime kscu-runc >>"$E2E_LOGS/dockerd.log" 2>&1 </dev/null &
	export DOCKER_HOST=unix://$KIND_SOCKET
	eventually 60 docker info || die "dockerd did not start (see $E2E_LOGS/dockerd.log)"
	log "started dockerd $(docker version -f '{{.Server.Version}}') at $KIND_SOCKET"
}

# What the host looks like before the run's Docker engine and nodes touch it.
kind_record_host() {
	[[ -f $KIND_STATE/links ]] && return 0
	# Only root can put sysctls back; without root the nodes change what stock kind changes.
	if ((EUID == 0)); then kind_sysctls >"$KIND_STATE/sysctls"; fi
	kind_links >"$KIND_STATE/links"
	[[ -e /lib/modules ]] || touch "$KIND_STATE/no-lib-modules"
}

# The host's writable sysctls, one PATH:VALUE line each (files of one line only).
kind_sysctls() {
	# Some files cannot be read (grep and so xargs fail): what can be read is the record.
	{ find /proc/sys -type f -perm -u+w -print0 2>/dev/null | xargs -0 grep -sH '' || true; } |
		grep -Ev "^/proc/sys/($KIND_VOLATILE_SYSCTLS)" | sort | awk -F: '{ n[$1]++; l[$1] = $0 } END { for (p in n) if (n[p] == 1) print l[p] }' | sort
}

# kind_config FILE: the kind config for this run.
kind_config() {
	local base=$E2E_REPO/e2e/providers/kind-config.yaml
	if ! kind_offline; then
		cp "$base" "$1"
		return
	fi
	# Appending works only while the cluster-level patches are the base's last key.
	[[ $(grep -E '^[a-zA-Z]+:' "$base" | tail -n 1) == kubeadmConfigPatches: ]] ||
		die "kind-config.yaml must end with its cluster-level kubeadmConfigPatches (kind-config.offline.yaml is appended)"
	! grep -q '^networking:' "$base" || die "kind-config.yaml has networking: kind-config.offline.yaml sets it"
	local etcd
	etcd=$("$TOOLS_BIN/etcd" --version)
	etcd=${etcd%%$'\n'*}
	cat "$base" - <<<"$(sed "s/@ETCD_TAG@/${etcd#etcd Version: }-0/" "$E2E_REPO/e2e/providers/kind-config.offline.yaml")" >"$1"
}

provider_up() {
	"$KIND" delete cluster --name "$KIND_CLUSTER" >/dev/null 2>&1 || true
	local args=(--name "$KIND_CLUSTER" --config "$E2E_OUT/kind-config.yaml" --kubeconfig "$KUBECONFIG")
	kind_config "$E2E_OUT/kind-config.yaml"
	if kind_offline; then
		# The nodes turn Ready only once kind_cni gives them a network: wait below, not in kind.
		"$KIND" create cluster "${args[@]}" --image "$(kind_node_image)"
		local node
		for node in $("$KIND" get nodes --name "$KIND_CLUSTER"); do kind_cni "$node"; done
		eventually 180 kind_nodes_ready
	else
		local image_args=()
		[[ -z ${KIND_NODE_IMAGE:-} ]] || image_args=(--image "$KIND_NODE_IMAGE")
		"$KIND" create cluster "${args[@]}" --wait 180s "${image_args[@]}"
	fi
	# The control plane's kubelet asks for its serving certificate the same way; it is not the node
	# under test, so it gets it now (its agent turns Ready; kubectl logs works there).
	eventually 60 kind_approve_serving_csr "$KIND_CLUSTER-control-plane"
	# Every node: the DaemonSet runs on the control plane too.
	"$KIND" load docker-image "$AGENT_IMAGE" --name "$KIND_CLUSTER"
}

kind_approve_serving_csr() {
	local csrs
	mapfile -t csrs < <(kctl get csr -o json | jq -r --arg u "system:node:$1" '.items[]
		| select(.spec.signerName == "kubernetes.io/kubelet-serving" and .spec.username == $u
			and (.status.conditions // []) == []) | .metadata.name')
	((${#csrs[@]})) && kctl certificate approve "${csrs[@]}" >/dev/null
}

kind_nodes_ready() {
	local ready
	ready=$(kctl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}') &&
		[[ -n $ready ]] && ! grep -qv '^True$' <<<"$ready"
}

# kind_cni NODE: a bridge network on the node's podCIDR, from Debian's CNI plugins (kindnetd's stand-in:
# pods reach the API server through kube-proxy and masquerading; no pod talks to another node's).
kind_cni() {
	local node=$1 cidr
	eventually 60 kctl get node "$node" >/dev/null
	eventually 60 test -n "$(kctl get node "$node" -o jsonpath='{.spec.podCIDR}')"
	cidr=$(kctl get node "$node" -o jsonpath='{.spec.podCIDR}')
	docker exec -i "$node" bash -c 'mkdir -p /etc/cni/net.d && cat >/etc/cni/net.d/10-kscu-bridge.conflist' <<EOF
{
  "cniVersion": "0.4.0",
  "name": "kscu-bridge",
  "plugins": [
    {"type": "bridge", "bridge": "kscu0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$cidr"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# The worker as a fresh node again: its kubelet restarts without a serving certificate and
# registers anew, with the startup taint (kubeadm's flags file keeps --register-with-taints).
provider_reset_node() {
	node_sh 'systemctl stop kubelet && crictl rmp --all --force >/dev/null 2>&1; rm -f /var/lib/kubelet/pki/kubelet-server-*'
	kctl delete node "$E2E_NODE" --wait=true >/dev/null
	kctl delete csr --all >/dev/null
	node_sh 'systemctl start kubelet'
	eventually 120 kctl get node "$E2E_NODE"
	# A new Node object may get another podCIDR.
	if kind_offline; then kind_cni "$E2E_NODE"; fi
}

node_sh() { docker exec "$E2E_NODE" bash -c "$1"; }

provider_down() {
	if docker info >/dev/null 2>&1; then
		[[ ! -x $KIND ]] || "$KIND" delete cluster --name "$KIND_CLUSTER" >/dev/null 2>&1 || true
	fi
	[[ -d $KIND_STATE ]] || return 0
	# Ours: the engine goes, with the network kind made in it.
	if [[ -S $KIND_SOCKET ]]; then
		DOCKER_HOST=unix://$KIND_SOCKET docker network rm kind >/dev/null 2>&1 || true
	fi
	local pid
	if [[ -f $KIND_STATE/dockerd.pid ]]; then
		pid=$(<"$KIND_STATE/dockerd.pid")
		if kill -TERM "$pid" 2>/dev/null; then
			for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	pkill -KILL -f "$KIND_STATE/" 2>/dev/null || true
	local target
	while read -r target; do umount -l "$target" 2>/dev/null || true; done < <(awk -v a="$KIND_STATE" -v b="$KIND_CACHE/docker" \
		'index($5, a) == 1 || index($5, b) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	kind_restore_host
	unset DOCKER_HOST
	rm -rf "$KIND_STATE"
}

# Puts back what the run changed on the host, and writes what it could not put back to
# $KIND_STATE.leftovers for provider_leftovers.
kind_restore_host() {
	local line path
	if [[ -f $KIND_STATE/sysctls ]]; then
		while IFS= read -r line; do
			path=${line%%:*}
			[[ ! -f $path ]] || printf '%s\n' "${line#*:}" >"$path" 2>/dev/null || true
		done < <(kind_sysctls_changed)
	fi
	if [[ -f $KIND_STATE/links ]]; then
		while read -r line; do ip link del "$line" 2>/dev/null || true; done < <(kind_links_added)
	fi
	if [[ -f $KIND_STATE/no-lib-modules && -d /lib/modules ]]; then rmdir /lib/modules 2>/dev/null || true; fi
	{
		if [[ -f $KIND_STATE/sysctls ]]; then
			kind_sysctls_changed | while IFS= read -r line; do
				path=${line%%:*}
				[[ ! -f $path ]] || echo "sysctl: ${path#/proc/sys/} is $(<"$path"), was ${line#*:}"
			done
		fi
		[[ ! -f $KIND_STATE/links ]] || kind_links_added | sed 's/^/link: /'
		[[ ! -f $KIND_STATE/no-lib-modules || ! -e /lib/modules ]] || echo "directory: /lib/modules"
	} >"$KIND_STATE.leftovers"
}

# Recorded values of the sysctls that differ now.
kind_sysctls_changed() { comm -23 "$KIND_STATE/sysctls" <(kind_sysctls); }
kind_links() { ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort; }
kind_links_added() { comm -13 "$KIND_STATE/links" <(kind_links); }

# Prints what a run left behind (nothing, after provider_down): the e2e runner fails on any line.
provider_leftovers() {
	if docker info >/dev/null 2>&1; then
		docker ps -a --filter "label=io.x-k8s.kind.cluster=$KIND_CLUSTER" --format 'container: {{.Names}}' 2>/dev/null || true
	fi
	pgrep -a -f "$KIND_STATE/" 2>/dev/null | sed 's/^/process: /' || true
	awk -v a="$KIND_STATE" -v b="$KIND_CACHE/docker" 'index($5, a) == 1 || index($5, b) == 1 { print "mount: " $5 }' \
		/proc/self/mountinfo
	[[ ! -d $KIND_STATE ]] || echo "directory: $KIND_STATE"
	if [[ -f $KIND_STATE.leftovers ]]; then
		cat "$KIND_STATE.leftovers"
		rm -f "$KIND_STATE.leftovers"
	fi
	return 0
}

provider_logs() {
	echo "--- kind: kubelet on $E2E_NODE (last 80 lines) ---"
	node_sh 'journalctl -u kubelet --no-pager | tail -n 80' 2>&1 || true
	echo "--- kind: containerd on $E2E_NODE (last 20 lines) ---"
	node_sh 'journalctl -u containerd --no-pager | tail -n 20' 2>&1 || true
}

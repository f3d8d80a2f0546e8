#!/usr/bin/env bash
# The OCI runtime of the Docker engine e2e/providers/kind.sh starts for itself: runc, after taking out
# of a new container's capabilities those the host's bounding set lacks. kind runs its nodes
# --privileged, for which Docker 20.10 (Debian 12's) asks for every capability it knows; where the host
# withholds one (CAP_SYS_RESOURCE in some sandboxed VMs) runc then fails with "unable to apply caps".
# Newer runtimes grant a privileged container what the host has, as containerd does for privileged
# pods; this does the same, and nothing else.
set -euo pipefail

# The spec to clamp: the bundle's config.json (create, run; capabilities under .process), or the
# process file of exec (docker exec --privileged; capabilities at the top).
args=("$@") bundle='' process='' command=''
for ((i = 0; i < ${#args[@]}; i++)); do
	case ${args[i]} in
	create | run | exec) [[ -n $command ]] || command=${args[i]} ;;
	--bundle | -b) bundle=${args[i + 1]:-} ;;
	--bundle=*) bundle=${args[i]#--bundle=} ;;
	--process | -p) process=${args[i + 1]:-} ;;
	--process=*) process=${args[i]#--process=} ;;
	esac
done
spec='' path=''
case $command in
create | run) [[ ! -f $bundle/config.json ]] || spec=$bundle/config.json path=.process.capabilities ;;
exec) [[ ! -f $process ]] || spec=$process path=.capabilities ;;
esac
if [[ -n $spec ]]; then
	# Capability numbers as <linux/capability.h> has them.
	names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
		NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT
		SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE
		AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
		PERFMON BPF CHECKPOINT_RESTORE)
	bounding=$((0x$(sed -n 's/^CapBnd:\t*//p' /proc/self/status)))
	missing=()
	for n in "${!names[@]}"; do
		((bounding >> n & 1)) || missing+=("CAP_${names[n]}")
	done
	if ((${#missing[@]})); then
		jq --argjson missing "$(printf '%s\n' "${missing[@]}" | jq -R . | jq -s .)" \
			"if $path then $path |= map_values(map(select(. as \$c | \$missing | index(\$c) | not))) else . end" \
			"$spec" >"$spec.kscu"
		mv "$spec.kscu" "$spec"
	fi
fi
exec runc "$@"

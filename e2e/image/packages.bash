# shellcheck shell=bash disable=SC2016 # dpkg-query formats are ${Field}, not shell expansions
# Image contents from installed Debian packages, for the images e2e/image builds without a registry:
# sourced by build.sh (the Dockerfile's base stand-ins, from this host) and kind-node.sh (kube-proxy's
# image, from the node's root filesystem). PKG_ROOT is the root whose dpkg database and files are
# read: / unless set. The caller defines die.

PKG_ROOT=${PKG_ROOT:-/}
pkg_query() { dpkg-query --admindir="$PKG_ROOT/var/lib/dpkg" "$@"; }

# copy_packages DIR PKG...: the files and symlinks of installed Debian packages, under DIR. Man pages,
# lintian overrides and changelogs are left out, as distroless does.
copy_packages() {
	local dir=$1 pkg
	shift
	for pkg; do
		pkg_query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
			die "Debian package $pkg is not installed in $PKG_ROOT (apt-get install $pkg)"
	done
	# The usr-merge targets first: the packages' /bin, /lib, /lib64 and /sbin are symlinks into /usr.
	mkdir -p "$dir/usr/bin" "$dir/usr/sbin" "$dir/usr/lib" "$dir/usr/lib64"
	pkg_query -L "$@" | while IFS= read -r f; do
		[[ $f == /usr/share/man/* || $f == /usr/share/lintian/* || $f == /usr/share/doc/* ]] && continue
		if [[ -L $PKG_ROOT$f || -f $PKG_ROOT$f ]]; then printf '%s\n' "${f#/}"; fi
	done | tar -C "$PKG_ROOT" --no-recursion -cf - -T - | tar -C "$dir" -xf -
}

# depends PKG...: PKG and every installed package it depends on, transitively (the first installed
# alternative of each dependency).
depends() {
	local -A seen=()
	local queue=("$@") pkg dep alt name
	while ((${#queue[@]})); do
		pkg=${queue[0]}
		queue=("${queue[@]:1}")
		[[ -n ${seen[$pkg]:-} ]] && continue
		seen[$pkg]=1
		printf '%s\n' "$pkg"
		while IFS= read -r dep; do
			for alt in ${dep//|/ }; do
				name=${alt%%:*}
				[[ $name == \(* || $name == *\) || -z $name ]] && continue
				if pkg_query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'ok installed'; then
					queue+=("$name")
					break
				fi
			done
		done < <(pkg_query -W -f='${Pre-Depends}, ${Depends}\n' "$pkg" | tr ',' '\n' |
			sed 's/([^)]*)//g; s/^ *//; s/ *$//' | grep -v '^$')
	done
}

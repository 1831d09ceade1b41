#!/bin/sh
# install.sh: lay out edgerun's installed files under $DESTDIR$PREFIX (make install, make deb).
#   BIN           the edgerun binary to install
#   HOSTBIN       an edgerun that runs on this machine, which writes the completion scripts
#                 (default BIN; make deb installs cross binaries with the host's)
#   MANDIR        the generated man pages (make man: out/man)
#   DESTDIR       staging root (default none); PREFIX (default /usr/local)
#   SYSTEMDUNITDIR, SYSTEMDUSERUNITDIR, INITDIR, ZSHCOMPDIR, DOCDIR: where units, the init
#                 script, zsh completion and the docs go (defaults below)
# Installs: bin/edgerun and the edgerun-oci link (docs/oci.md), the man pages (gzip -9n),
# bash, zsh and fish completion, contrib's systemd units (edgerun.service; the user unit as
# edgerun.service in the user unit directory) and init script with the paths of this
# installation, and the docs.
set -eu
: "${BIN:?set BIN}" "${MANDIR:?set MANDIR}"
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
HOSTBIN=${HOSTBIN:-$BIN}
SYSTEMDUNITDIR=${SYSTEMDUNITDIR:-$PREFIX/lib/systemd/system}
SYSTEMDUSERUNITDIR=${SYSTEMDUSERUNITDIR:-$PREFIX/lib/systemd/user}
INITDIR=${INITDIR:-/etc/init.d}
ZSHCOMPDIR=${ZSHCOMPDIR:-$PREFIX/share/zsh/site-functions}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/edgerun}
src=$(cd "$(dirname "$0")/.." && pwd)
d=$DESTDIR

ls "$MANDIR"/edgerun.1 >/dev/null || { echo "install: no man pages in $MANDIR: run make man" >&2; exit 1; }
install -D -m 0755 "$BIN" "$d$PREFIX/bin/edgerun"
ln -sfn edgerun "$d$PREFIX/bin/edgerun-oci"

install -d -m 0755 "$d$PREFIX/share/man/man1"
for p in "$MANDIR"/*.1; do
	gzip -9n -c "$p" >"$d$PREFIX/share/man/man1/${p##*/}.gz"
	chmod 0644 "$d$PREFIX/share/man/man1/${p##*/}.gz"
done

# Completion: cobra's scripts call `edgerun __complete` for the dynamic part.
install -d -m 0755 "$d$PREFIX/share/bash-completion/completions" "$d$ZSHCOMPDIR" \
	"$d$PREFIX/share/fish/vendor_completions.d"
"$HOSTBIN" completion bash >"$d$PREFIX/share/bash-completion/completions/edgerun"
"$HOSTBIN" completion zsh >"$d$ZSHCOMPDIR/_edgerun"
"$HOSTBIN" completion fish >"$d$PREFIX/share/fish/vendor_completions.d/edgerun.fish"
chmod 0644 "$d$PREFIX/share/bash-completion/completions/edgerun" "$d$ZSHCOMPDIR/_edgerun" \
	"$d$PREFIX/share/fish/vendor_completions.d/edgerun.fish"

# contrib's units name /usr/local/bin/edgerun and the docs under /usr/share/doc/edgerun.
paths="s|/usr/local/bin/edgerun|$PREFIX/bin/edgerun|g; s|file:///usr/share/doc/edgerun/|file://$DOCDIR/|g"
paths="$paths; s|^Documentation=|Documentation=man:edgerun-boot(1) |"
install -d -m 0755 "$d$SYSTEMDUNITDIR" "$d$SYSTEMDUSERUNITDIR" "$d$INITDIR"
sed "$paths" "$src/contrib/edgerun.service" >"$d$SYSTEMDUNITDIR/edgerun.service"
sed "$paths" "$src/contrib/edgerun-user.service" >"$d$SYSTEMDUSERUNITDIR/edgerun.service"
sed "$paths" "$src/contrib/edgerun.init" >"$d$INITDIR/edgerun"
chmod 0644 "$d$SYSTEMDUNITDIR/edgerun.service" "$d$SYSTEMDUSERUNITDIR/edgerun.service"
chmod 0755 "$d$INITDIR/edgerun"

install -d -m 0755 "$d$DOCDIR"
for f in README.md docs/cli.md docs/rootless.md docs/oci.md docs/platforms.md; do
	install -m 0644 "$src/$f" "$d$DOCDIR/${f##*/}"
done

#!/bin/bash
# The ldap-client-floor measurement (docs/bench/2026-12-01-round3/ldap-client-floor.md).
#
#   bench/ldap-floor/run.sh [ROUNDS]
#
# Needs slapd with the bench data on $URI (../shared/bench/gen_ldif.py + slapd.sh, see the
# report), ../shared/bench/ldapbind.c, and the binary built with
#   (cd bench/ldap-floor && cargo build --release)
# Every latency mode searches the same 5,000 distinct names (user005000..user009999), one
# search in flight, one kept connection; the modes are interleaved, ROUNDS times (default 7).
# PARTS (default "interleave latency throughput") picks what runs:
#   interleave  5 runs of `--mode interleave` (all clients in one process, alternated per
#               name): $OUT/il1..5.jsonl, the figures least disturbed by other load
#   latency     every mode in a process of its own, ROUNDS rounds: $OUT/latency.jsonl (with
#               the CPU time per operation)
#   throughput  4 and 16 searches in flight: $OUT/throughput.jsonl
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${1:-7}
PARTS=${PARTS:-interleave latency throughput}
WORK=${WORK:-/tmp/ldaprs-floor}
URI=${URI:-ldap://127.0.0.1:3391}
PEOPLE=${PEOPLE:-ou=people,dc=bench,dc=test}
KEYS=${KEYS:-$WORK/data/users.txt}
OUT=${OUT:-$WORK/results}
BIN=${BIN:-${CARGO_TARGET_DIR:-$HERE/target}/release/ldap-floor}
LDAPBIND_SRC=${LDAPBIND_SRC:-$HERE/../../../shared/bench/ldapbind.c}
case $WORK in /tmp/*) ;; *) echo "WORK must be under /tmp" >&2; exit 2 ;; esac
mkdir -p "$OUT"
[[ -x $BIN ]] || { echo "build first: $BIN missing" >&2; exit 2; }

# libldap: ldapbind.c as shipped (search mode asks for all attributes), and a copy that
# asks for the daemon's seven passwd attributes, so both clients get the same answer.
gcc -O2 -o "$WORK/ldapbind" "$LDAPBIND_SRC" -lldap -llber -lpthread
sed 's|rc = ldap_search_ext_s(ld, people, LDAP_SCOPE_SUBTREE, filt, NULL, 0,|char *pw[] = {"uid", "uidNumber", "gidNumber", "gecos", "cn", "homeDirectory", "loginShell", NULL}; rc = ldap_search_ext_s(ld, people, LDAP_SCOPE_SUBTREE, filt, pw, 0,|' \
    "$LDAPBIND_SRC" >"$WORK/ldapbind_attrs.c"
grep -q 'char \*pw\[\]' "$WORK/ldapbind_attrs.c" || { echo "patching ldapbind.c failed" >&2; exit 1; }
gcc -O2 -o "$WORK/ldapbind_attrs" "$WORK/ldapbind_attrs.c" -lldap -llber -lpthread

tail -n +5001 "$KEYS" | head -5000 >"$WORK/keys5000.txt"
K=$WORK/keys5000.txt
# slapd warm for every mode alike: one pass over the same names first.
"$WORK/ldapbind" -H "$URI" -b "$PEOPLE" -k "$K" -w x -m search -n 5000 >/dev/null

lib() { timeout 120 python3 "$HERE/cpuwrap.py" "$WORK/$1" -H "$URI" -b "$PEOPLE" -k "$K" -w x -m search -n 5000 -L "$2" "${@:3}"; }
rs() { timeout 120 "$BIN" --uri "$URI" --base "$PEOPLE" --keys "$K" -n 5000 "$@"; }

has() { [[ " $PARTS " == *" $1 "* ]]; }

if has interleave; then
    for i in 1 2 3 4 5; do rs --mode interleave --label "il$i" >"$OUT/il$i.jsonl"; done
    python3 "$HERE/il_table.py" "$OUT"/il[1-5].jsonl
fi

if has latency; then
: >"$OUT/latency.jsonl"
for r in $(seq 1 "$ROUNDS"); do
    lib ldapbind "r$r libldap-all-attrs" >>"$OUT/latency.jsonl"
    lib ldapbind_attrs "r$r libldap" >>"$OUT/latency.jsonl"
    for m in ct mt streaming sync spawned daemon daemon-ldap3to daemon-tokioto daemon-noto ldap-rs; do
        rs --mode $m --label "r$r" >>"$OUT/latency.jsonl"
    done
    rs --mode ct --nodelay 0 --label "r$r nodelay0" >>"$OUT/latency.jsonl"
done
python3 "$HERE/summary.py" "$OUT/latency.jsonl"
fi

if has throughput; then

: >"$OUT/throughput.jsonl"
for r in $(seq 1 "$ROUNDS"); do
    for k in 4 16; do
        lib ldapbind_attrs "r$r libldap threads" -t $k -n $((10000 / k)) >>"$OUT/throughput.jsonl"
        for c in $(printf "%s\n" 1 4 $k | sort -un); do
            rs --mode tput --inflight $k --conns $c -n 10000 --label "r$r" >>"$OUT/throughput.jsonl"
        done
        rs --mode tput-mt --inflight $k --conns $k -n 10000 --label "r$r" >>"$OUT/throughput.jsonl"
        rs --mode tput-rs --inflight $k --conns 1 -n 10000 --label "r$r" >>"$OUT/throughput.jsonl"
        rs --mode tput-rs --inflight $k --conns $k -n 10000 --label "r$r" >>"$OUT/throughput.jsonl"
    done
done
python3 "$HERE/summary.py" "$OUT/throughput.jsonl"
fi

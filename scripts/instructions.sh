#!/usr/bin/env bash
# Instructions per simulated request under callgrind (the steadier figure on a noisy machine):
# total Ir of two run lengths, differenced so start-up and parsing cancel out.
# usage: scripts/instructions.sh BIN FILE S1 S2   e.g. target/speed/tierlab mm4.ron 20 60
bin=$1; f=$2; s1=$3; s2=$4
ir() { valgrind --tool=callgrind --callgrind-out-file=${TMPDIR:-/tmp}/cg.$$.$1 "$bin" run "$f" --seconds "$1" --json 2>/dev/null >${TMPDIR:-/tmp}/out.$$.$1; grep -m1 "^summary:\|^totals:" ${TMPDIR:-/tmp}/cg.$$.$1 | awk '{print $2}'; }
req() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"]["arrived"])' ${TMPDIR:-/tmp}/out.$$.$1; }
a=$(ir $s1); b=$(ir $s2); ra=$(req $s1); rb=$(req $s2)
python3 -c "print('$f: %.0f instructions per request (%d - %d Ir over %d - %d requests)' % (($b-$a)/($rb-$ra), $b, $a, $rb, $ra))"

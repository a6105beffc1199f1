#!/bin/sh
# Every option of the table in config.c must appear in --help, in the doc page (as
# `name`) and in the sample config (as "name ="). Usage: check-options.sh EVENTLOGD DOC SAMPLE
set -eu
bin=$1 doc=$2 sample=$3
dir=$(dirname "$0")
help=$("$bin" --help)
opts=$(sed -n 's/^[[:space:]]*{"\([a-z_]*\)", CF_.*/\1/p' "$dir/config.c")
[ -n "$opts" ] || { echo "check-options: no options found in config.c"; exit 1; }
missing=0
n=0
for o in $opts; do
	n=$((n + 1))
	printf '%s\n' "$help" | grep -q "^  $o " || { echo "check-options: $o is not in --help"; missing=1; }
	grep -q "\`$o\`" "$doc" || { echo "check-options: $o is not documented in $doc"; missing=1; }
	grep -Eq "^;?$o =" "$sample" || { echo "check-options: $o is not in $sample"; missing=1; }
done
[ $missing -eq 0 ] && echo "check-options: all $n options are in --help, $doc and $sample"
exit $missing

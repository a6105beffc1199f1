# A short run of every libFuzzer target (test/fuzz: envelope validator, spool reader and
# recovery, request-target parsing), FUZZ_SECONDS each (20 short, 60 long; the long run is
# `make fuzz FUZZ_SECONDS=600`), from the committed seed corpus.
if [ "$FUZZ_SECONDS" = 0 ]; then
	:
elif ! command -v "${CLANG:-clang}" >/dev/null; then
	fault_not_run fuzz "libFuzzer targets" "clang is not installed (scripts/install-deps.sh installs it)"
else
	make -s -C "$ROOT/test/fuzz" PG_CONFIG="$PG_CONFIG" >"$WORK/fuzz-build.log" 2>&1 ||
		not_ok "fuzz: build" "$(tail -5 "$WORK/fuzz-build.log")"
	execs=
	for t in fuzz_envelope fuzz_spool fuzz_http; do
		if make -s -C "$ROOT/test/fuzz" "run-$t" PG_CONFIG="$PG_CONFIG" FUZZ_SECONDS="$FUZZ_SECONDS" \
			FUZZ_WORK="$WORK/fuzz" >"$WORK/fuzz-$t.out" 2>&1; then
			n=$(sed -n 's/.*stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$WORK/fuzz-$t.out")
			ok "fuzz: $t ran ${FUZZ_SECONDS} s, ${n:-?} inputs, no crash"
			execs="$execs ${t#fuzz_} ${n:-?}"
		else
			not_ok "fuzz: $t" "$(grep -m3 -E 'ERROR|SUMMARY|crash-' "$WORK/fuzz-$t.out" | tr '\n' ' ')"
		fi
	done
	fault_check_row fuzz "libFuzzer ${FUZZ_SECONDS} s per target (inputs:$execs)" 0
fi

# Soak (FAULTS=soak only): SOAK_SECONDS (1800) of load at half the peak end-to-end rate
# (events acknowledged and committed per second, measured first over SOAK_PEAK_SECONDS (60) of
# full load plus the flush of its backlog: a short burst measures how fast the spool takes
# events, not how fast PostgreSQL keeps committing them), sampling eventlogd's
# RSS, open fds and spool size every SOAK_SAMPLE (5) seconds. They must stay flat: the maximum
# of the last quarter within a bound of the first quarter's (RSS: x1.25 + 16 MB; fds: + 8;
# spool: x1.5 + 16 MB). Segments of 8 MB, so that the spool cycles; the dedup index capped
# at 200,000 ids (dedup_max_entries, about 40 bytes each) so that it is full within the first
# quarter: its growth up to the cap is by design, not a leak.
SOAK_SECONDS=${SOAK_SECONDS:-1800}
SOAK_SAMPLE=${SOAK_SAMPLE:-5}
SOAK_PEAK_SECONDS=${SOAK_PEAK_SECONDS:-60}
ev_term
ev_start --spool_segment_bytes=8M --dedup_max_entries=200000
next_run
t0=$(date +%s%N)
"$WORK/evload" -a "127.0.0.1:$HTTP" -l audit -c 8 -b 100 -d "$SOAK_PEAK_SECONDS" -s 200 -r "$r" -o "$WORK/acked.$r" >"$WORK/peak.out"
flush >/dev/null
peak=$(($(sort -u "$WORK/acked.$r" | wc -l) * 1000000000 / ($(date +%s%N) - t0)))
half=$((peak / 2))
next_run				# ids of their own: the dedup index has forgotten most of the peak run's
echo "# soak: peak $peak events/s, soaking at $half events/s for $SOAK_SECONDS s"
load_start "$r" "$SOAK_SECONDS" "-R $half -c 8 -b 20"
: >"$WORK/soak.tsv"
end=$(($(date +%s) + SOAK_SECONDS))
while [ "$(date +%s)" -lt "$end" ] && kill -0 "$LP" 2>/dev/null; do
	rss=$(awk '/^VmRSS/{print $2}' "/proc/$EVPID/status")
	fds=$(ls "/proc/$EVPID/fd" | wc -l)
	spool=$(du -sk "$WORK/spool" | cut -f1)
	echo "$(date +%s) $rss $fds $spool" >>"$WORK/soak.tsv"
	sleep "$SOAK_SAMPLE"
done
load_wait "$r"
read -r q1rss q1fds q1spool q4rss q4fds q4spool n <<<"$(awk '{ t[NR] = $0 } END {
	q = int(NR / 4); if (q < 1) q = 1
	for (i = 1; i <= NR; i++) { split(t[i], f, " ")
		if (i <= q) { if (f[2] > a) a = f[2]; if (f[3] > b) b = f[3]; if (f[4] > c) c = f[4] }
		if (i > NR - q) { if (f[2] > x) x = f[2]; if (f[3] > y) y = f[3]; if (f[4] > z) z = f[4] } }
	print a + 0, b + 0, c + 0, x + 0, y + 0, z + 0, NR }' "$WORK/soak.tsv")"
echo "# soak: $n samples; first quarter max: RSS $q1rss kB, fds $q1fds, spool $q1spool kB; last quarter max: RSS $q4rss kB, fds $q4fds, spool $q4spool kB"
[ -n "${SOAK_TSV:-}" ] && cp "$WORK/soak.tsv" "$SOAK_TSV"
soak_extra=
[ "$q4rss" -le $((q1rss * 5 / 4 + 16384)) ] || soak_extra="RSS grew: $q1rss -> $q4rss kB"
[ "$q4fds" -le $((q1fds + 8)) ] || soak_extra="${soak_extra:+$soak_extra; }fds grew: $q1fds -> $q4fds"
[ "$q4spool" -le $((q1spool * 3 / 2 + 16384)) ] || soak_extra="${soak_extra:+$soak_extra; }spool grew: $q1spool -> $q4spool kB"
fault_row soak "$SOAK_SECONDS s at $half ev/s (half of peak $peak); max RSS $q1rss->$q4rss kB, fds $q1fds->$q4fds, spool $q1spool->$q4spool kB" "$r" "$soak_extra"
ev_term
ev_start

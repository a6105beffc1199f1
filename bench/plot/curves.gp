# Charts of bench/curves.sh: gnuplot -c bench/plot/curves.gp RESULTS_DIR
# Draws one PNG per CSV file that RESULTS_DIR holds, next to it:
#   growth_ingest.csv  -> growth_ingest.png   (events/s and CPU per event vs rows in the log)
#   growth_latency.csv -> growth_latency.png  (events()/get_event() p50/p99 vs rows in the log)
#   sweep_batch.csv    -> sweep_batch.png     (events/s vs rows per copy_in call)
#   sweep_clients.csv  -> sweep_clients.png   (events/s vs clients: append, eventlogd)
#   sweep_tenants.csv  -> sweep_tenants.png   (events/s vs tenants: copy_in, eventlogd)
#   rss.csv            -> rss.png             (eventlogd RSS vs spool backlog)

dir = ARG1
if (strlen(dir) == 0) { print "usage: gnuplot -c curves.gp RESULTS_DIR"; exit }
file_ok(f) = system("test -s '" . f . "' && echo 1 || echo 0") + 0
# the rows of f whose column c is v (a series of a CSV that holds several), so
# that each series is drawn as one connected line
rows(f, c, v) = "< awk -F, '$" . c . " == \"" . v . "\"' '" . f . "'"

set datafile separator ","
set terminal pngcairo size 1000,600 font "sans,11" noenhanced
set grid
set key top right box opaque
set style data linespoints

# --- ingest rate while the log grows
f = dir . "/growth_ingest.csv"
if (file_ok(f)) {
	set output dir . "/growth_ingest.png"
	set title "Ingest rate of each chunk while the log grows (eventlog.copy_in, one log)"
	set xlabel "rows in the log (millions)"
	set ylabel "events/s (wall time)"
	set y2label "server CPU s per 1M events"
	set yrange [0:*]
	set y2range [0:*]
	set ytics nomirror
	set y2tics
	# backend_cpu_s_per_1m (column 11) is missing from runs made before it was added
	ncol = system("head -n1 '" . f . "' | awk -F, '{print NF}'") + 0
	if (ncol >= 11) {
		plot f using ($1 / 1e6):4 skip 1 title "events/s" pt 7 ps 0.6 lw 2, \
		     f using ($1 / 1e6):11 skip 1 axes x1y2 title "COPY backend CPU s per 1M events" pt 5 ps 0.6, \
		     f using ($1 / 1e6):5 skip 1 axes x1y2 title "server CPU s per 1M events (incl. autovacuum)" pt 6 ps 0.6 dt 2
	} else {
		plot f using ($1 / 1e6):4 skip 1 title "events/s" pt 7 ps 0.6 lw 2, \
		     f using ($1 / 1e6):5 skip 1 axes x1y2 title "server CPU s per 1M events (incl. autovacuum)" pt 6 ps 0.6 dt 2
	}
	unset y2label; unset y2tics; set ytics mirror; set autoscale
}

# --- read latency while the log grows
f = dir . "/growth_latency.csv"
if (file_ok(f)) {
	set output dir . "/growth_latency.png"
	set title "Read latency against log size (pgbench, 1 client, prepared)"
	set xlabel "rows in the log (millions)"
	set ylabel "latency (ms, log scale)"
	set logscale y
	plot rows(f, 2, "events") using ($1 / 1e6):4 title "events() page of 100, p50" pt 7 lw 2, \
	     rows(f, 2, "events") using ($1 / 1e6):5 title "events() page of 100, p99" pt 6 dt 2, \
	     rows(f, 2, "get_event") using ($1 / 1e6):4 title "get_event(), p50" pt 5 lw 2, \
	     rows(f, 2, "get_event") using ($1 / 1e6):5 title "get_event(), p99" pt 4 dt 2
	unset logscale y
}

# --- batch size
f = dir . "/sweep_batch.csv"
if (file_ok(f)) {
	set output dir . "/sweep_batch.png"
	set title "Throughput against batch size (eventlog.copy_in, 1 client, one transaction a call)"
	set xlabel "events per copy_in call (log scale)"
	set ylabel "events/s (log scale)"
	set logscale xy
	plot f using 1:4 skip 1 title "events/s" pt 7 lw 2
	unset logscale
}

# --- clients
f = dir . "/sweep_clients.csv"
if (file_ok(f)) {
	set output dir . "/sweep_clients.png"
	set title "Throughput against client count (one event per call or request)"
	set xlabel "clients (log scale)"
	set ylabel "events/s"
	set logscale x 2
	set yrange [0:*]
	plot rows(f, 1, "append") using 2:5 title "eventlog.append (pgbench, -M prepared)" pt 7 lw 2, \
	     rows(f, 1, "eventlogd") using 2:5 title "eventlogd acked (evload -b 1)" pt 5 lw 2, \
	     rows(f, 1, "eventlogd") using 2:8 title "eventlogd committed (to the end of the flush)" pt 4 dt 2
	unset logscale; set autoscale
}

# --- tenants
f = dir . "/sweep_tenants.csv"
if (file_ok(f)) {
	set output dir . "/sweep_tenants.png"
	set title "Throughput against tenant count"
	set xlabel "tenants (log scale)"
	set ylabel "events/s"
	set logscale x
	set yrange [0:*]
	set key bottom left box opaque
	# server CPU per 1M events (column 6) is missing from runs made before it was added
	ncol = system("head -n1 '" . f . "' | awk -F, '{print NF}'") + 0
	if (ncol >= 6) {
		set y2label "server CPU s per 1M events (dashed)"
		set ytics nomirror
		set y2tics
		set y2range [0:*]
		plot rows(f, 1, "copy_in") using 2:5 title "copy_in, 10,000 a call, 1 client" pt 7 lw 2, \
		     rows(f, 1, "eventlogd") using 2:5 title "eventlogd committed, 16 clients x 100" pt 5 lw 2, \
		     rows(f, 1, "copy_in") using 2:6 axes x1y2 title "copy_in: server CPU per 1M" pt 6 dt 2, \
		     rows(f, 1, "eventlogd") using 2:6 axes x1y2 title "eventlogd: server CPU per 1M" pt 4 dt 2
		unset y2label; unset y2tics; set ytics mirror
	} else {
		plot rows(f, 1, "copy_in") using 2:5 title "copy_in, 10,000 a call, 1 client" pt 7 lw 2, \
		     rows(f, 1, "eventlogd") using 2:5 title "eventlogd committed, 16 clients x 100" pt 5 lw 2
	}
	unset logscale; set autoscale
	set key top right box opaque
}

# --- eventlogd memory against backlog
f = dir . "/rss.csv"
if (file_ok(f)) {
	set output dir . "/rss.png"
	set title "eventlogd RSS against spool backlog (PostgreSQL down, then up and draining)"
	set xlabel "spool backlog: bytes of segments holding uncommitted events (MB)"
	set ylabel "RSS (MB)"
	set yrange [0:*]
	set xrange [0:*]
	plot "< awk -F, '$2 ~ /^(start|fill|full)$/' '" . f . "'" using ($3 / 1048576):($8 / 1024) title "filling (PostgreSQL down)" pt 7 ps 0.6, \
	     "< awk -F, '$2 ~ /^drain/' '" . f . "'" using ($3 / 1048576):($8 / 1024) title "draining (PostgreSQL up)" pt 6 ps 0.6
	set autoscale
}

# ipcbench chart: what it costs to start and finish one process or thread.
# ipcbench filled in the parameters below; re-render in this directory with:
#   gnuplot @SCRIPT@
# Data: one line per way of spawning, labelled with the spawns it timed (n);
# columns: label p50_ns p99_ns rgb_colour (p99_ns is NaN when not measured).
title    = '@TITLE@'
subtitle = '@SUBTITLE@'
method   = '@METHOD@'
datafile = '@DATA@'
outfile  = '@OUTPUT@'

set terminal pngcairo size 1200,680 font 'DejaVu Sans,11' noenhanced
set encoding utf8
set micro
set output outfile
set title title font ',15' noenhanced offset 0,2.5
set label 1 subtitle at screen 0.5, screen 0.905 center font ',10' textcolor rgb '#555555' noenhanced
# how this experiment took its figures, from its own JSON (not the mechanism rows' repetitions)
set label 2 method at screen 0.5, screen 0.875 center font ',10' textcolor rgb '#555555' noenhanced
set tmargin 6.5
set bmargin 7
set key inside left top noenhanced samplen 1.5
set border 3
set xtics nomirror rotate by 30 right
set ytics nomirror
set grid ytics lt 1 lc rgb '#d8d8d8' lw 1 dt solid
set logscale y
set format y '%.0s %cs'
ns(v) = v * 1e-9
stats datafile using (ns($2)) nooutput
# room below the shortest bar, so it does not sit on the axis
set yrange [STATS_min / 4 : *]
set xrange [-0.6 : STATS_records - 0.4]
set ylabel 'time to spawn and wait, log scale'
set style fill solid 0.85 border rgb '#444444'
set boxwidth 0.7

# the p50 as text, just above the whisker (or the bar when there is no p99)
label(v) = v >= 1e-3 ? sprintf('%.3g ms', v * 1e3) : v >= 1e-6 ? sprintf('%.3g µs', v * 1e6) : sprintf('%.0f ns', v * 1e9)
top(p50, p99) = (p99 > p50 ? p99 : p50) * 1.25
plot datafile using 0:(ns($2)):4:xtic(1) with boxes lc rgb variable notitle, \
     '' using 0:(ns($2)):(0):(ns($3 - $2)) with vectors head size screen 0.008,90 lc rgb '#333333' lw 1.5 notitle, \
     '' using 0:(valid(3) ? top(ns($2), ns($3)) : ns($2) * 1.25):(label(ns($2))) with labels font ',10' notitle, \
     NaN with boxes lc rgb '#0072B2' title 'processes', \
     NaN with boxes lc rgb '#E69F00' title 'threads'

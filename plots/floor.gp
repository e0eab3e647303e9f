# ipcbench chart: each mechanism's p50 round trip as a multiple of the floor of
# its kind, named in brackets, between the same two CPUs in the same run:
# cacheline (floor-cacheline, one cache line bounced by spinning) for mechanisms
# that spin, wake (floor-wake, a futex wake-up each way) for those that sleep.
# ipcbench filled in the parameters below; re-render in this directory with:
#   gnuplot @SCRIPT@
# Data: one line per mechanism, lowest first; columns:
#   mechanism floor_ratio rgb_colour
title    = '@TITLE@'
subtitle = '@SUBTITLE@'
datafile = '@DATA@'
outfile  = '@OUTPUT@'

set terminal pngcairo size 1200,680 font 'DejaVu Sans,11' noenhanced
set encoding utf8
set output outfile
set title title font ',15' noenhanced offset 0,1.4
set label 1 subtitle at screen 0.5, screen 0.905 center font ',10' textcolor rgb '#555555' noenhanced
set tmargin 5.5
set bmargin 7
unset key
set border 3
set xtics nomirror rotate by 30 right
set ytics nomirror
set grid ytics lt 1 lc rgb '#d8d8d8' lw 1 dt solid
set logscale y 2
set lmargin 12
set format y '%gx'
stats datafile using 2 nooutput
set yrange [(STATS_min < 1 ? STATS_min : 1) / 1.5 : STATS_max * 3]
set xrange [-0.6 : STATS_records - 0.4]
set ylabel 'p50 round-trip time / its floor p50 (times), log scale'
set style fill solid 0.85 border rgb '#444444'
set boxwidth 0.7
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb '#333333'

plot datafile using 0:2:3:xtic(1) with boxes lc rgb variable, \
     '' using 0:($2 * 1.12):(sprintf('%.1fx', $2)) with labels font ',10'

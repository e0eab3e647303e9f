# ipcbench chart: what a round trip costs against how long it takes, at one
# message size: both sides' CPU time per round trip (x) and the p50 round trip
# (y), log-log. The mechanisms on the Pareto front (no other is both faster and
# cheaper) are joined by a dashed line and named in bold.
# ipcbench filled in the parameters below; re-render in this directory with:
#   gnuplot @SCRIPT@
# Data: block 0 has one line per mechanism; columns:
#   mechanism cpu_per_rtt_ns p50_rtt_ns rgb_colour on_front (1 or 0) point_type
# blocks 1..@COUNT@ hold the same lines one each (for the key), block @FRONT@
# the front alone, by CPU time.
title    = '@TITLE@'
subtitle = '@SUBTITLE@'
datafile = '@DATA@'
outfile  = '@OUTPUT@'
count    = @COUNT@
names    = '@NAMES@'
colours  = '@COLOURS@'
points   = '@POINTS@'
front    = @FRONT@

set terminal pngcairo size 1200,760 font 'DejaVu Sans,11' noenhanced
set encoding utf8
set micro
set output outfile
set title title font ',15' noenhanced offset 0,1.4
set label 1 subtitle at screen 0.5, screen 0.915 center font ',10' textcolor rgb '#555555' noenhanced
set tmargin 5.5
set key outside right top vertical Left reverse noenhanced
set border 3
set xtics nomirror
set ytics nomirror
set grid xtics ytics lt 1 lc rgb '#e0e0e0' lw 1 dt solid
set logscale xy
set format x '%.0s %cs'
set format y '%.0s %cs'
set xlabel 'CPU time per round trip, both sides together, log scale'
set ylabel 'p50 round-trip time, log scale'
ns(v) = v * 1e-9
stats datafile index 0 using (ns($2)):(ns($3)) nooutput
set xrange [STATS_min_x / 2 : STATS_max_x * 2]
set yrange [STATS_min_y / 2 : STATS_max_y * 2]

plot datafile index front using (ns($2)):(ns($3)) with lines lw 1.5 dt 2 lc rgb '#333333' title 'Pareto front', \
     for [i=1:count] datafile index i using (ns($2)):(ns($3)) with points pt int(word(points, i)) ps 1.8 lw 1.5 \
         lc rgb word(colours, i) title word(names, i), \
     datafile index 0 using (ns($2)):($5 > 0 ? ns($3) : 1/0):1 with labels offset 1.2,0.9 left font ',11:Bold' notitle
